// Calendar helpers for the dated tasks: civil (proleptic Gregorian) dates, ISO parsing, and
// conversion of UTC instants to local time through the system time-zone database (tzdata).
//
// Example:
//   CivilDate d = parse_iso_date("2008-07-04", "holidays.csv:3");
//   d.weekday();        // 4 (Friday; Monday = 0)
//   d.day_of_year();    // 186
//   std::vector<LocalTime> t = to_local_times({1199167200}, "America/New_York");
//   t[0].date.iso();    // "2008-01-01", t[0].hour == 1, t[0].dst == false
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace diffdfl::data {

/// A calendar date. Comparable, printable as ISO "YYYY-MM-DD".
///
/// Example:
///   CivilDate d{2016, 2, 29};
///   CivilDate::from_days(d.days() + 1).iso();   // "2016-03-01"
struct CivilDate {
  int year = 1970;
  int month = 1;  ///< 1..12
  int day = 1;    ///< 1..31

  /// Days since 1970-01-01 (negative before).
  int64_t days() const;
  static CivilDate from_days(int64_t days);
  /// 0 = Monday ... 6 = Sunday.
  int weekday() const;
  /// 1..366.
  int day_of_year() const;
  std::string iso() const;
  /// A sortable integer yyyymmdd.
  int key() const { return year * 10000 + month * 100 + day; }
  bool operator==(const CivilDate& o) const { return key() == o.key(); }
  bool operator!=(const CivilDate& o) const { return key() != o.key(); }
  bool operator<(const CivilDate& o) const { return key() < o.key(); }
};

/// Parses "YYYY-MM-DD" (a real date). Throws DataError "<where>: '<text>' is not a date
/// (YYYY-MM-DD)".
CivilDate parse_iso_date(std::string_view text, const std::string& where);

/// A local wall-clock time.
///
/// Example:
///   LocalTime t = to_local_times({1215000000}, "America/New_York")[0];
///   // t.date.iso() == "2008-07-02", t.hour == 8, t.dst == true
struct LocalTime {
  CivilDate date;
  int hour = 0;
  int minute = 0;
  int second = 0;
  bool dst = false;  ///< daylight saving time in effect
};

/// Converts Unix times (UTC seconds) to local time in `tz` (an IANA name such as
/// "America/New_York") with the system time-zone database. Throws DataError if the database has no
/// such zone (install the `tzdata` package). Sets the process's TZ temporarily under a mutex and
/// restores it afterwards; other threads calling localtime() at the same moment may observe `tz`.
std::vector<LocalTime> to_local_times(const std::vector<int64_t>& unix_seconds,
                                      const std::string& tz);

/// For each date, whether local midnight at its start is in daylight saving time in `tz`.
std::vector<bool> midnight_is_dst(const std::vector<CivilDate>& dates, const std::string& tz);

}  // namespace diffdfl::data
