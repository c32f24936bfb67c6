// Fuzzes the synthetic dataset generator's options (data/synthetic.h): raw bytes become every field
// of SyntheticOptions (sizes kept small, doubles unrestricted: NaN, Inf and denormals included).
// Invalid options give an InvalidArgument naming the field; valid ones a finite dataset.
#include <cstdint>

#include "diffdfl/core/error.h"
#include "diffdfl/data/synthetic.h"
#include "fuzz_dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  diffdfl::fuzzing::Bytes in(data, size);
  diffdfl::data::SyntheticOptions o;
  o.seed = in.take<uint64_t>();
  o.contextual = (in.take<uint8_t>() & 1) != 0;
  o.n_samples = in.in_range(-2, 300);
  o.x_dim = in.in_range(-1, 24);
  o.y_dim = in.in_range(-1, 12);
  o.trainhold_fraction = in.take<double>();
  o.hold_fraction = in.take<double>();
  o.p_low = in.take<double>();
  o.high = in.take<double>();
  o.low = in.take<double>();
  o.noise = in.take<double>();
  o.scale = in.take<double>();
  o.context_strength = in.take<double>();
  try {
    const diffdfl::data::Dataset ds = diffdfl::data::make_synthetic(o);
    for (const auto* split : {&ds.train, &ds.hold, &ds.test}) {
      if (split->size() < 1) __builtin_trap();
    }
    diffdfl::fuzzing::trap_unless_finite(ds);
  } catch (const diffdfl::Error&) {
  }
  return 0;
}
