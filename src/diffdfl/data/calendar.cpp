#include "diffdfl/data/calendar.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <optional>

#include "diffdfl/core/error.h"

namespace diffdfl::data {

namespace {

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Sets TZ for the lifetime of the object (under a process-wide mutex) and restores it afterwards.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const std::string& tz) : lock_(mutex()) {
    check_zone_exists(tz);
    if (const char* old = std::getenv("TZ")) previous_ = std::string(old);
    ::setenv("TZ", tz.c_str(), 1);
    ::tzset();
  }
  ~ScopedTimeZone() {
    if (previous_) {
      ::setenv("TZ", previous_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  ScopedTimeZone(const ScopedTimeZone&) = delete;
  ScopedTimeZone& operator=(const ScopedTimeZone&) = delete;

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  // glibc silently falls back to UTC for an unknown zone, so look for the zone file ourselves.
  static void check_zone_exists(const std::string& tz) {
    namespace fs = std::filesystem;
    if (tz.empty() || tz.find("..") != std::string::npos || tz.front() == '/') {
      fail<InvalidArgument>("time zone '", tz,
                            "' is not an IANA zone name such as America/New_York");
    }
    const char* dir = std::getenv("TZDIR");
    const fs::path root = dir && *dir ? fs::path(dir) : fs::path("/usr/share/zoneinfo");
    if (!fs::is_regular_file(root / tz)) {
      fail<DataError>("time zone '", tz, "' not found in the system time-zone database (",
                      root.string(), "); install the tzdata package (apt-get install tzdata)");
    }
  }

  std::unique_lock<std::mutex> lock_;
  std::optional<std::string> previous_;
};

}  // namespace

int64_t CivilDate::days() const {
  // H. Hinnant's days_from_civil.
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int mp = (month + 9) % 12;
  const int doy = (153 * mp + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + doe - 719468;
}

CivilDate CivilDate::from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  CivilDate d;
  d.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  d.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  d.year = static_cast<int>(yoe + era * 400 + (d.month <= 2 ? 1 : 0));
  return d;
}

int CivilDate::weekday() const {
  // 1970-01-01 was a Thursday (3 when Monday = 0).
  const int64_t w = (days() + 3) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}

int CivilDate::day_of_year() const {
  int n = day;
  for (int m = 1; m < month; ++m)
    n += days_in_month(year, m);
  return n;
}

std::string CivilDate::iso() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", year, month, day);
  return buf;
}

CivilDate parse_iso_date(std::string_view text, const std::string& where) {
  auto bad = [&]() {
    fail<DataError>(where, ": '", text, "' is not a date (expected YYYY-MM-DD)");
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') bad();
  auto digits = [&](size_t pos, size_t n) {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') bad();
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  CivilDate d;
  d.year = digits(0, 4);
  d.month = digits(5, 2);
  d.day = digits(8, 2);
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > days_in_month(d.year, d.month)) bad();
  return d;
}

std::vector<LocalTime> to_local_times(const std::vector<int64_t>& unix_seconds,
                                      const std::string& tz) {
  std::vector<LocalTime> out(unix_seconds.size());
  const ScopedTimeZone zone(tz);
  for (size_t i = 0; i < unix_seconds.size(); ++i) {
    const auto t = static_cast<std::time_t>(unix_seconds[i]);
    std::tm tm{};
    if (::localtime_r(&t, &tm) == nullptr) {
      fail<DataError>("cannot convert Unix time ", unix_seconds[i], " to local time in ", tz);
    }
    LocalTime& lt = out[i];
    lt.date.year = tm.tm_year + 1900;
    lt.date.month = tm.tm_mon + 1;
    lt.date.day = tm.tm_mday;
    lt.hour = tm.tm_hour;
    lt.minute = tm.tm_min;
    lt.second = tm.tm_sec;
    lt.dst = tm.tm_isdst > 0;
  }
  return out;
}

std::vector<bool> midnight_is_dst(const std::vector<CivilDate>& dates, const std::string& tz) {
  std::vector<bool> out(dates.size());
  const ScopedTimeZone zone(tz);
  for (size_t i = 0; i < dates.size(); ++i) {
    std::tm tm{};
    tm.tm_year = dates[i].year - 1900;
    tm.tm_mon = dates[i].month - 1;
    tm.tm_mday = dates[i].day;
    tm.tm_isdst = -1;  // let the database decide
    const std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) {
      fail<DataError>("cannot convert local midnight of ", dates[i].iso(), " in ", tz);
    }
    std::tm check{};
    ::localtime_r(&t, &check);
    out[i] = check.tm_isdst > 0;
  }
  return out;
}

}  // namespace diffdfl::data
