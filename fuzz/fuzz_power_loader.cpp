// Fuzzes the power dataset loader from its files' content (data/power.h): the holiday CSV, then
// one PJM load file, separated by "\n%%\n". Any content gives a dataset or a diffdfl::Error.
#include <cstdint>
#include <string>

#include "diffdfl/core/error.h"
#include "diffdfl/data/power.h"
#include "fuzz_dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = diffdfl::fuzzing::split_parts(data, size, 2);
  try {
    const diffdfl::data::PowerSamples s = diffdfl::data::power_samples(
        {"holidays.csv", parts[0]}, {{"pjm_load.txt", parts[1]}}, "America/New_York");
    diffdfl::data::PowerOptions o;
    const diffdfl::data::Dataset ds = diffdfl::data::power_dataset(s, o);
    diffdfl::fuzzing::trap_unless_finite(ds);
  } catch (const diffdfl::Error&) {
  }
  return 0;
}
