#include "diffdfl/data/power.h"

#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string_view>
#include <unordered_set>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/csv.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/core/tensor_checks.h"
#include "diffdfl/data/calendar.h"
#include "diffdfl/data/manifest.h"

namespace fs = std::filesystem;

namespace diffdfl::data {

namespace {

const char* const kPowerFiles[] = {"power_sched/pjm_load_data_2008-11.txt",
                                   "power_sched/pjm_load_data_2012-16.txt"};
const char* const kHolidayFile = "power_sched/us_federal_holidays_2008-2016.csv";
const char* const kFieldNames[] = {"time", "load", "temperature"};

struct HourRow {
  int64_t time;
  double load;
  double temp;
};

// Parses one number quickly; on failure (or NaN/Inf) lets parse_double build the named error.
double parse_number(std::string_view field, const std::string& path, size_t line, int col) {
  double v = 0;
  std::string_view s = field;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size() || !std::isfinite(v)) {
    parse_double(field, path + ":" + std::to_string(line) + ", field '" + kFieldNames[col] + "'");
  }
  return v;
}

// "<space><time> <load> <temp>" per line (the reference reads columns 1..3 of a space-separated
// file whose column 0 is the empty string before the leading space).
std::vector<HourRow> parse_pjm_file(const SourceText& file) {
  const std::string& p = file.name;
  const std::string& text = file.text;
  if (text.empty()) fail<DataError>(p, ": the file is empty");
  std::vector<HourRow> rows;
  rows.reserve(text.size() / 45 + 1);
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const bool terminated = end != std::string::npos;
    if (!terminated) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::array<std::string_view, 3> fields;
    size_t n = 0;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
        ++i;
      if (i == line.size()) break;
      const size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t')
        ++i;
      if (n < 3) fields[n] = line.substr(start, i - start);
      ++n;
    }
    if (n == 0) continue;  // blank line
    if (n != 3) {
      fail<DataError>(p, ":", line_no, ": expected 3 fields (time, load, temperature), found ", n,
                      terminated ? "" : " (the file is truncated)");
    }
    if (!terminated) {
      fail<DataError>(p, ":", line_no,
                      ": the last line has no newline; the file is probably truncated");
    }
    const double t = parse_number(fields[0], p, line_no, 0);
    if (t != std::floor(t) || t < 0 || t > 4.0e9) {
      fail<DataError>(p, ":", line_no, ", field 'time': '", fields[0],
                      "' is not a Unix time in whole seconds");
    }
    const double load = parse_number(fields[1], p, line_no, 1);
    const double temp = parse_number(fields[2], p, line_no, 2);
    if (load < 0 || load > kPowerMaxLoad) {
      fail<DataError>(p, ":", line_no, ", field 'load': ", load,
                      " GW is outside the plausible range [0, ", kPowerMaxLoad,
                      "]; correct or remove the line");
    }
    if (temp < kPowerMinTemperature || temp > kPowerMaxTemperature) {
      fail<DataError>(p, ":", line_no, ", field 'temperature': ", temp,
                      " °F is outside the plausible range [", kPowerMinTemperature, ", ",
                      kPowerMaxTemperature, "]; correct or remove the line");
    }
    rows.push_back(HourRow{static_cast<int64_t>(t), load, temp});
  }
  if (rows.size() < 48) {
    fail<DataError>(p, ": only ", rows.size(), " hourly rows; at least two days are needed");
  }
  return rows;
}

struct DayRow {
  CivilDate date;
  std::array<double, 24> load{};
  std::array<double, 24> temp{};
  std::array<bool, 24> present{};
};

// Backward fill along the hours of one day, then forward fill.
void fill_day(std::array<double, 24>& v, const std::array<bool, 24>& present) {
  std::array<bool, 24> have = present;
  int next = -1;
  for (int h = 23; h >= 0; --h) {
    if (have[h]) {
      next = h;
    } else if (next >= 0) {
      v[h] = v[next];
      have[h] = true;
    }
  }
  int prev = -1;
  for (int h = 0; h < 24; ++h) {
    if (have[h]) {
      prev = h;
    } else if (prev >= 0) {
      v[h] = v[prev];
      have[h] = true;
    }
  }
}

// Steps 2–4: local time, duplicate removal, pivot to date × hour, fill.
std::vector<DayRow> pivot_days(const std::vector<HourRow>& rows, const std::string& tz) {
  std::vector<int64_t> times;
  times.reserve(rows.size());
  for (const auto& r : rows)
    times.push_back(r.time);
  const std::vector<LocalTime> local = to_local_times(times, tz);

  std::unordered_set<int64_t> seen;
  seen.reserve(rows.size() * 2);
  std::map<int, size_t> index;  // date key -> position in days
  std::vector<DayRow> days;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!seen.insert(rows[i].time).second) continue;  // drop_duplicates("time"), first kept
    const LocalTime& lt = local[i];
    auto it = index.find(lt.date.key());
    if (it == index.end()) {
      it = index.emplace(lt.date.key(), days.size()).first;
      days.emplace_back();
      days.back().date = lt.date;
    }
    DayRow& d = days[it->second];
    if (d.present[lt.hour]) continue;  // two instants on one wall-clock hour: the first is kept
    d.load[lt.hour] = rows[i].load;
    d.temp[lt.hour] = rows[i].temp;
    d.present[lt.hour] = true;
  }
  std::vector<DayRow> sorted;
  sorted.reserve(days.size());
  for (const auto& [key, pos] : index)
    sorted.push_back(days[pos]);
  for (auto& d : sorted) {
    fill_day(d.load, d.present);
    fill_day(d.temp, d.present);
  }
  return sorted;
}

std::set<int> read_holidays(const SourceText& file) {
  const CsvTable table = parse_csv(file.text, file.name);
  const size_t col = table.column("date");
  std::set<int> out;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    out.insert(parse_iso_date(table.rows[r][col], table.where(r, col)).key());
  }
  if (out.empty()) fail<DataError>(file.name, ": no holiday rows");
  return out;
}

}  // namespace

void PowerOptions::validate() const {
  DIFFDFL_CHECK(!data_dir.empty(), "PowerOptions.data_dir must not be empty");
  DIFFDFL_CHECK(trainhold_fraction > 0 && trainhold_fraction < 1,
                "PowerOptions.trainhold_fraction must be in (0, 1), got ", trainhold_fraction);
  DIFFDFL_CHECK(hold_fraction > 0 && hold_fraction < 1,
                "PowerOptions.hold_fraction must be in (0, 1), got ", hold_fraction);
  DIFFDFL_CHECK(!time_zone.empty(), "PowerOptions.time_zone must not be empty");
}

const std::vector<std::string>& power_feature_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    const char* blocks[] = {"load_prev", "temp_prev", "temp_prev_sq",
                            "temp",      "temp_sq",   "temp_cube"};
    for (const char* b : blocks) {
      for (int h = 0; h < 24; ++h) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%s_h%02d", b, h);
        out.emplace_back(buf);
      }
    }
    for (const char* f : {"weekend", "holiday", "dst", "cos_doy", "sin_doy"})
      out.emplace_back(f);
    return out;
  }();
  return names;
}

PowerSamples read_power_samples(const PowerOptions& options) {
  options.validate();
  const fs::path dir = options.data_dir;
  const auto read = [&](const char* rel) {
    const fs::path path = verify_data_file(dir, rel, options.verify_checksums);
    return SourceText{path.string(), read_file(path)};
  };
  const SourceText holidays = read(kHolidayFile);
  std::vector<SourceText> loads;
  for (const char* rel : kPowerFiles)
    loads.push_back(read(rel));
  return power_samples(holidays, loads, options.time_zone);
}

PowerSamples power_samples(const SourceText& holiday_file,
                           const std::vector<SourceText>& load_files,
                           const std::string& time_zone) {
  DIFFDFL_CHECK(!time_zone.empty(), "power_samples: the time zone must not be empty");
  const std::set<int> holidays = read_holidays(holiday_file);

  PowerSamples out;
  std::vector<double> xs, ys;
  for (const SourceText& file : load_files) {
    const std::vector<DayRow> days = pivot_days(parse_pjm_file(file), time_zone);
    std::vector<CivilDate> dates;
    dates.reserve(days.size());
    for (const auto& d : days)
      dates.push_back(d.date);
    const std::vector<bool> dst = midnight_is_dst(dates, time_zone);

    for (size_t i = 1; i < days.size(); ++i) {
      const DayRow& prev = days[i - 1];
      const DayRow& cur = days[i];
      for (int h = 0; h < 24; ++h)
        xs.push_back(prev.load[h]);
      for (int h = 0; h < 24; ++h)
        xs.push_back(prev.temp[h]);
      for (int h = 0; h < 24; ++h)
        xs.push_back(prev.temp[h] * prev.temp[h]);
      for (int h = 0; h < 24; ++h)
        xs.push_back(cur.temp[h]);
      for (int h = 0; h < 24; ++h)
        xs.push_back(cur.temp[h] * cur.temp[h]);
      for (int h = 0; h < 24; ++h)
        xs.push_back(cur.temp[h] * cur.temp[h] * cur.temp[h]);
      const double yday = cur.date.day_of_year();
      xs.push_back(cur.date.weekday() >= 5 ? 1.0 : 0.0);
      xs.push_back(holidays.count(cur.date.key()) ? 1.0 : 0.0);
      xs.push_back(dst[i] ? 1.0 : 0.0);
      xs.push_back(std::cos(2.0 * M_PI * yday / 365.0));
      xs.push_back(std::sin(2.0 * M_PI * yday / 365.0));
      for (int h = 0; h < 24; ++h)
        ys.push_back(cur.load[h]);
      out.dates.push_back(cur.date.iso());
    }
    out.samples_per_file.push_back(static_cast<int64_t>(days.size()) - 1);
  }
  const auto n = static_cast<int64_t>(out.dates.size());
  out.x = torch::from_blob(xs.data(), {n, kPowerXDim}, torch::kDouble).clone();
  out.y = torch::from_blob(ys.data(), {n, kPowerYDim}, torch::kDouble).clone();
  return out;
}

Dataset load_power(const PowerOptions& options) {
  options.validate();
  return power_dataset(read_power_samples(options), options);
}

Dataset power_dataset(const PowerSamples& s, const PowerOptions& options) {
  options.validate();
  check_shape(s.x, "PowerSamples.x", {-1, kPowerXDim});
  check_shape(s.y, "PowerSamples.y", {s.x.size(0), kPowerYDim});
  DIFFDFL_CHECK(static_cast<int64_t>(s.dates.size()) == s.x.size(0),
                "PowerSamples: ", s.dates.size(), " dates for ", s.x.size(0), " samples");
  const int64_t n = s.x.size(0);
  const auto n_th = static_cast<int64_t>(options.trainhold_fraction * static_cast<double>(n));
  const auto n_fit =
      static_cast<int64_t>((1.0 - options.hold_fraction) * static_cast<double>(n_th));
  if (n_fit < 1 || n_th - n_fit < 1 || n - n_th < 1) {
    fail<DataError>("power data: ", n, " samples leave an empty split (train ", n_fit, ", hold ",
                    n_th - n_fit, ", test ", n - n_th, ")");
  }

  Dataset ds;
  ds.task = "power";
  ds.x_dim = kPowerXDim;
  ds.y_dim = kPowerYDim;
  nlohmann::json& meta = ds.meta;
  meta["task"] = ds.task;
  meta["seed"] = options.seed;
  meta["first_date"] = s.dates.front();
  meta["last_date"] = s.dates.back();
  meta["samples_per_file"] = s.samples_per_file;
  meta["time_zone"] = options.time_zone;
  meta["feature_names"] = power_feature_names();
  meta["y_units"] = "GW (raw, not standardised)";
  meta["test_first_date"] = s.dates[static_cast<size_t>(n_th)];

  torch::Tensor x = s.x;
  if (options.standardize) {
    const Standardizer st = Standardizer::fit(s.x.slice(0, 0, n_th));
    x = st.apply(s.x);
    meta["standardization"] = st.to_json();
    meta["standardization"]["fit_rows"] =
        "train+hold: the first " + std::to_string(n_th) + " samples in time order (test excluded)";
  } else {
    meta["standardization"] = nullptr;
  }

  auto [fit_idx, hold_idx] =
      random_holdout(n_th, n_fit, derive_seed(options.seed, "power.hold_split"));
  ds.train = take_rows(x, s.y, s.dates, fit_idx);
  ds.hold = take_rows(x, s.y, s.dates, hold_idx);
  ds.test = slice_rows(x, s.y, s.dates, n_th, n);
  return ds;
}

}  // namespace diffdfl::data
