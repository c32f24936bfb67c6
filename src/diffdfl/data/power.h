// The power-scheduling task: PJM (Duquesne zone) hourly load, day-ahead (as in the authors' code).
//
// Pipeline, per file (power_sched/pjm_load_data_2008-11.txt, then pjm_load_data_2012-16.txt):
//   1. parse "<space><unix time> <load> <temp>" rows (three numbers; errors name file and line);
//   2. convert each Unix time to America/New_York local time with the system tz database;
//   3. drop duplicate timestamps (first kept), pivot to local date × hour 0..23 (load, temp);
//   4. fill holes along each day: backward fill first, then forward fill;
//   5. one sample per consecutive pair of pivot rows (d−1, d):
//        x_d = [load_{d−1}(24), temp_{d−1}(24), temp_{d−1}²(24),
//               temp_d(24), temp_d²(24), temp_d³(24),
//               weekend_d, holiday_d, dst_d, cos(2π·yday_d/365), sin(2π·yday_d/365)]   (149)
//        y_d = load_d (24, GW, raw)
//      weekend: Saturday or Sunday; holiday: listed in us_federal_holidays_2008-2016.csv (observed
//      dates); dst: local midnight of d in daylight time; yday 1..366.
// The two files' samples are concatenated (1,459 + 1,733 = 3,192). The first int(0.8·N) = 2,553 in
// time order are train+hold, the last 639 test; train+hold is split by the seed (stream
// "power.hold_split") into 2,042 train / 511 hold. Each feature column is standardised with the
// mean and population std of the 2,553 train+hold rows (the reference used all 3,192 rows, test
// included).
//
// Example:
//   PowerOptions o;
//   o.data_dir = "data";
//   Dataset ds = load_power(o);          // ds.x_dim == 149, ds.y_dim == 24
//   ds.test.dates.front();               // "2014-12-30", the first test day
//   PowerSamples raw = read_power_samples(o);   // all 3,192 samples, features not standardised
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "diffdfl/data/dataset.h"

namespace diffdfl::data {

inline constexpr int64_t kPowerXDim = 149;
inline constexpr int64_t kPowerYDim = 24;

/// Options of load_power.
///
/// Example:
///   PowerOptions o;
///   o.data_dir = "/path/to/data";
///   o.standardize = false;   // raw features, e.g. to inspect them
///   Dataset ds = load_power(o);
struct PowerOptions {
  std::string data_dir = "data";
  uint64_t seed = 1;
  bool standardize = true;          ///< false: raw features (for inspection and tests)
  bool verify_checksums = true;     ///< check the files against <data_dir>/SHA256SUMS
  double trainhold_fraction = 0.8;  ///< the first int(f·N) samples in time order are train+hold
  double hold_fraction = 0.2;  ///< hold = n_th − int((1 − f)·n_th) of the n_th train+hold rows
  std::string time_zone = "America/New_York";

  /// Throws InvalidArgument naming the bad field.
  void validate() const;
};

/// Every sample in time order (file 2008-11 first), features not standardised.
///
/// Example:
///   PowerSamples s = read_power_samples(PowerOptions{});
///   s.x.sizes();             // [3192, 149]
///   s.samples_per_file;      // {1459, 1733}
struct PowerSamples {
  torch::Tensor x;                 ///< [N, 149] float64
  torch::Tensor y;                 ///< [N, 24] float64 (GW)
  std::vector<std::string> dates;  ///< target date d of each sample
  std::vector<int64_t> samples_per_file;
};

/// The 149 feature names, e.g. "load_prev_h00", ..., "temp_cube_h23", "weekend", ..., "sin_doy".
const std::vector<std::string>& power_feature_names();

/// The plausible range of the load column (GW) and of the temperature column (°F). A value outside
/// is a DataError naming the file, line and field: such a value would pass the parser but overflow
/// the features or the decision costs far from where it was read.
inline constexpr double kPowerMaxLoad = 1e4;
inline constexpr double kPowerMinTemperature = -100;
inline constexpr double kPowerMaxTemperature = 150;

/// Reads and verifies the three files and builds every sample (steps 1–5 above).
PowerSamples read_power_samples(const PowerOptions& options);

/// Steps 1–5 from the files' content: the holiday CSV and the load files in time order.
PowerSamples power_samples(const SourceText& holidays, const std::vector<SourceText>& load_files,
                           const std::string& time_zone);

/// The split and standardised dataset from samples (what load_power does after reading).
Dataset power_dataset(const PowerSamples& samples, const PowerOptions& options);

/// The power dataset. meta: seed, first_date, last_date (target dates of the first and last
/// sample), samples_per_file, feature_names, standardization {"fit_rows", "mean", "std"} (or null),
/// time_zone.
Dataset load_power(const PowerOptions& options);

}  // namespace diffdfl::data
