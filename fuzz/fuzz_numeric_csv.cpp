// Fuzzes the numeric CSV reader of `diffdfl solve` (core/csv.h): any bytes give a tensor or a
// DataError, never a crash, a hang or a silently dropped first row.
#include <cstdint>
#include <string>

#include "diffdfl/core/csv.h"
#include "diffdfl/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const bool header : {true, false}) {
    diffdfl::NumericCsvOptions o;
    o.allow_header = header;
    try {
      const torch::Tensor t = diffdfl::parse_numeric_csv(text, "fuzz.csv", o);
      // Every value is finite and the shape is [rows >= 1, cols >= 1].
      if (t.dim() != 2 || t.size(0) < 1 || t.size(1) < 1 || !torch::isfinite(t).all().item<bool>())
        __builtin_trap();
    } catch (const diffdfl::Error&) {
    }
  }
  return 0;
}
