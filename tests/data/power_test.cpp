// The PJM power data: hand-checked feature rows and targets, calendar flags on known dates, split
// sizes, training-only standardisation. The literal numbers below were computed from the raw files
// by tests/data/reference_values.py (plain Python: zoneinfo for the local time, its own pivot and
// fill), independently of the C++ loader.
#include "diffdfl/data/power.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "data_test_util.h"
#include "diffdfl/core/error.h"

namespace diffdfl::data {
namespace {

class PowerData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PowerOptions o;
    o.data_dir = testing::shipped_data_dir().string();
    raw_ = std::make_unique<PowerSamples>(read_power_samples(o));
    ds_ = std::make_unique<Dataset>(load_power(o));
  }
  static void TearDownTestSuite() {
    raw_.reset();
    ds_.reset();
  }
  // Row of the sample whose target day is `date` in the raw (unstandardised) samples.
  static int64_t row_of(const std::string& date) {
    const auto it = std::find(raw_->dates.begin(), raw_->dates.end(), date);
    EXPECT_NE(it, raw_->dates.end()) << date;
    return it - raw_->dates.begin();
  }
  static double feature(const std::string& date, const std::string& name) {
    const auto& names = power_feature_names();
    const auto col = std::find(names.begin(), names.end(), name) - names.begin();
    return raw_->x[row_of(date)][col].item<double>();
  }
  static std::vector<double> block(int64_t row, int64_t begin, int64_t n, bool target = false) {
    const torch::Tensor t =
        (target ? raw_->y : raw_->x)[row].slice(0, begin, begin + n).contiguous();
    return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + n);
  }

  static std::unique_ptr<PowerSamples> raw_;
  static std::unique_ptr<Dataset> ds_;
};

std::unique_ptr<PowerSamples> PowerData::raw_;
std::unique_ptr<Dataset> PowerData::ds_;

TEST_F(PowerData, SampleCountsAndSplitSizes) {
  EXPECT_EQ(raw_->x.sizes(), torch::IntArrayRef({3192, 149}));
  EXPECT_EQ(raw_->samples_per_file, (std::vector<int64_t>{1459, 1733}));
  EXPECT_EQ(raw_->dates.front(), "2008-01-02");
  EXPECT_EQ(raw_->dates[1458], "2011-12-30");  // last sample of the first file
  EXPECT_EQ(raw_->dates[1459], "2012-01-01");  // 2011-12-31 starts the second file: no sample
  EXPECT_EQ(raw_->dates.back(), "2016-09-28");

  EXPECT_EQ(ds_->x_dim, 149);
  EXPECT_EQ(ds_->y_dim, 24);
  EXPECT_EQ(ds_->train.x.sizes(), torch::IntArrayRef({2042, 149}));
  EXPECT_EQ(ds_->hold.x.sizes(), torch::IntArrayRef({511, 149}));
  EXPECT_EQ(ds_->test.x.sizes(), torch::IntArrayRef({639, 149}));
  EXPECT_EQ(ds_->test.y.sizes(), torch::IntArrayRef({639, 24}));
  EXPECT_EQ(ds_->meta["first_date"], "2008-01-02");
  EXPECT_EQ(ds_->meta["last_date"], "2016-09-28");
  // Chronological test: the last 639 samples, starting at sample 2553.
  EXPECT_EQ(ds_->test.dates.front(), raw_->dates[2553]);
  EXPECT_EQ(ds_->test.dates.back(), "2016-09-28");
  // train ∪ hold = the first 2553 sample dates, disjoint, each in time order.
  std::set<std::string> th(ds_->train.dates.begin(), ds_->train.dates.end());
  th.insert(ds_->hold.dates.begin(), ds_->hold.dates.end());
  EXPECT_EQ(th.size(), 2553u);
  EXPECT_EQ(*th.rbegin(), raw_->dates[2552]);
  EXPECT_TRUE(std::is_sorted(ds_->train.dates.begin(), ds_->train.dates.end()));
  EXPECT_TRUE(std::is_sorted(ds_->hold.dates.begin(), ds_->hold.dates.end()));
}

// 2009-03-09 (Monday): its previous day 2009-03-08 is the spring-forward day, whose hour 2 does not
// exist and is back-filled from hour 3; the file also repeats the 03:00 EDT row on that day.
TEST_F(PowerData, FeatureRowOf2009_03_09MatchesTheRawFile) {
  const int64_t r = row_of("2009-03-09");
  const std::vector<double> load_prev = {
      1.254495, 1.184315, 1.137371, 1.137371, 1.116674, 1.103609, 1.106695, 1.140094,
      1.182,    1.213992, 1.269664, 1.343565, 1.385004, 1.400809, 1.39725,  1.382024,
      1.379892, 1.410716, 1.447246, 1.463642, 1.496874, 1.488794, 1.444937, 1.379944};
  const std::vector<double> temp_prev = {
      66.765, 66.0,       65.115,     65.115,  59.47,  55.9,       55.9,       55.9,
      55.765, 55.0765957, 55.1714286, 54.2625, 55.0,   55.5684211, 57.1636364, 61.45,
      63.715, 62.4214286, 60.865,     59.935,  58.835, 58.065,     59.6,       63.0};
  const std::vector<double> temp = {62.565, 59.935,     59.0,   58.25,      53.565,     50.47,
                                    46.072, 42.9538462, 40.7,   39.0473684, 37.4603774, 38.835,
                                    38.065, 39.0,       39.135, 40.065,     41.45,      44.1,
                                    43.8,   41.935,     40.835, 39.765,     38.835,     37.615};
  const std::vector<double> y = {1.286918, 1.216173, 1.166275, 1.145483, 1.137028, 1.157595,
                                 1.236416, 1.393079, 1.515758, 1.567232, 1.590752, 1.621626,
                                 1.646346, 1.654187, 1.660743, 1.64912,  1.640658, 1.621958,
                                 1.580015, 1.564852, 1.641413, 1.681594, 1.630239, 1.537203};
  EXPECT_EQ(block(r, 0, 24), load_prev);
  EXPECT_EQ(block(r, 24, 24), temp_prev);
  EXPECT_EQ(block(r, 72, 24), temp);
  EXPECT_EQ(block(r, 0, 24, /*target=*/true), y);
  for (int h = 0; h < 24; ++h) {
    EXPECT_DOUBLE_EQ(raw_->x[r][48 + h].item<double>(), temp_prev[h] * temp_prev[h]) << h;
    EXPECT_DOUBLE_EQ(raw_->x[r][96 + h].item<double>(), temp[h] * temp[h]) << h;
    EXPECT_DOUBLE_EQ(raw_->x[r][120 + h].item<double>(), temp[h] * temp[h] * temp[h]) << h;
  }
  // weekend, holiday, dst, cos, sin (yday 68).
  EXPECT_EQ(raw_->x[r][144].item<double>(), 0.0);
  EXPECT_EQ(raw_->x[r][145].item<double>(), 0.0);
  EXPECT_EQ(raw_->x[r][146].item<double>(), 1.0);
  EXPECT_NEAR(raw_->x[r][147].item<double>(), 0.38963044953078796, 1e-15);
  EXPECT_NEAR(raw_->x[r][148].item<double>(), 0.9209712877166346, 1e-15);
}

// 2008-01-02: hour 0 of 2008-01-01 is absent from the file (it starts at 01:00) and is back-filled.
TEST_F(PowerData, FirstSampleBackFillsMidnight) {
  const int64_t r = row_of("2008-01-02");
  EXPECT_EQ(r, 0);
  EXPECT_EQ(raw_->x[r][0].item<double>(), 1.477345);
  EXPECT_EQ(raw_->x[r][1].item<double>(), 1.477345);
  EXPECT_EQ(raw_->x[r][2].item<double>(), 1.414483);
  EXPECT_EQ(raw_->x[r][24].item<double>(), 35.385);
  EXPECT_EQ(raw_->x[r][72].item<double>(), 20.6571429);
  EXPECT_EQ(raw_->y[r][0].item<double>(), 1.638353);
  EXPECT_EQ(raw_->y[r][23].item<double>(), 1.875147);
  EXPECT_NEAR(raw_->x[r][147].item<double>(), 0.9994074007397048, 1e-15);
  EXPECT_NEAR(raw_->x[r][148].item<double>(), 0.03442161162274574, 1e-15);
}

// 2016-09-28 has only its 00:00 row: all 24 target hours are forward-filled with 1.281; temperature
// is the upstream file's constant 1.4.
TEST_F(PowerData, LastDayIsForwardFilled) {
  const int64_t r = row_of("2016-09-28");
  EXPECT_EQ(r, 3191);
  EXPECT_EQ(block(r, 0, 24, true), std::vector<double>(24, 1.281));
  EXPECT_EQ(block(r, 0, 3), (std::vector<double>{1.342, 1.238, 1.191}));
  EXPECT_EQ(block(r, 72, 24), std::vector<double>(24, 1.4));
  EXPECT_EQ(raw_->x[r][146].item<double>(), 1.0);  // DST
}

TEST_F(PowerData, HolidayAndWeekendFlagsOnKnownDates) {
  // Federal holidays (observed dates), from the statutory rules.
  for (const char* d : {"2008-07-04", "2008-11-27", "2008-12-25", "2009-01-19", "2010-12-31",
                        "2010-12-24", "2012-01-16", "2015-07-03", "2016-09-05"}) {
    EXPECT_EQ(feature(d, "holiday"), 1.0) << d;
  }
  // 2015-07-04 is a Saturday (observed on Friday 07-03); 2010-12-23 is an ordinary Thursday (the
  // Saturday Christmas 2010 is observed on Friday 12-24).
  for (const char* d : {"2015-07-04", "2010-12-23", "2009-03-09", "2016-09-28"}) {
    EXPECT_EQ(feature(d, "holiday"), 0.0) << d;
  }
  EXPECT_EQ(feature("2008-07-05", "weekend"), 1.0);  // Saturday
  EXPECT_EQ(feature("2008-07-06", "weekend"), 1.0);  // Sunday
  EXPECT_EQ(feature("2008-07-04", "weekend"), 0.0);  // Friday
  EXPECT_EQ(feature("2008-07-07", "weekend"), 0.0);  // Monday
}

TEST_F(PowerData, DstFlagIsLocalMidnightInDaylightTime) {
  // Spring forward 2008-03-09 at 02:00: midnight of that day is still EST.
  EXPECT_EQ(feature("2008-03-09", "dst"), 0.0);
  EXPECT_EQ(feature("2008-03-10", "dst"), 1.0);
  // Fall back 2008-11-02 at 02:00: midnight of that day is still EDT.
  EXPECT_EQ(feature("2008-11-02", "dst"), 1.0);
  EXPECT_EQ(feature("2008-11-03", "dst"), 0.0);
  EXPECT_EQ(feature("2015-03-08", "dst"), 0.0);
  EXPECT_EQ(feature("2015-11-01", "dst"), 1.0);
  EXPECT_EQ(feature("2015-01-15", "dst"), 0.0);
  EXPECT_EQ(feature("2015-07-15", "dst"), 1.0);
  // Day of year: 2012-12-31 is day 366 (leap year) -> cos(2π·366/365).
  EXPECT_NEAR(feature("2012-12-31", "cos_doy"), std::cos(2 * M_PI * 366 / 365.0), 1e-15);
}

TEST_F(PowerData, StandardisedWithTrainHoldStatisticsOnly) {
  const auto& st = ds_->meta["standardization"];
  ASSERT_TRUE(st.is_object());
  const torch::Tensor mean = torch::tensor(st["mean"].get<std::vector<double>>(), torch::kDouble);
  const torch::Tensor sd = torch::tensor(st["std"].get<std::vector<double>>(), torch::kDouble);
  const torch::Tensor th = raw_->x.slice(0, 0, 2553);
  EXPECT_TRUE(torch::allclose(mean, th.mean(0), 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(sd, th.std(0, /*unbiased=*/false), 1e-12, 1e-12));
  // Not the statistics of all rows (the reference's choice), e.g. the constant-1.4 temperature tail
  // of the test period shifts the temperature mean.
  EXPECT_GT((mean - raw_->x.mean(0)).abs().max().item<double>(), 0.1);
  // Test features are (raw - mean) / std with those statistics; targets stay raw.
  const torch::Tensor expected = (raw_->x.slice(0, 2553) - mean) / sd;
  EXPECT_TRUE(torch::allclose(ds_->test.x, expected, 1e-12, 1e-12));
  EXPECT_TRUE(torch::equal(ds_->test.y, raw_->y.slice(0, 2553)));
  // Over train ∪ hold every column has mean 0 and population std 1.
  const torch::Tensor z = torch::cat({ds_->train.x, ds_->hold.x});
  EXPECT_LT(z.mean(0).abs().max().item<double>(), 1e-10);
  EXPECT_LT((z.std(0, false) - 1).abs().max().item<double>(), 1e-10);
}

TEST_F(PowerData, SeedChoosesTheHoldSet) {
  PowerOptions o;
  o.data_dir = testing::shipped_data_dir().string();
  o.seed = 2;
  const Dataset other = load_power(o);
  EXPECT_NE(other.hold.dates, ds_->hold.dates);
  EXPECT_EQ(other.test.dates, ds_->test.dates);
  EXPECT_TRUE(torch::equal(other.test.x, ds_->test.x));  // same statistics: same train+hold rows
  o.seed = 1;
  EXPECT_EQ(load_power(o).hold.dates, ds_->hold.dates);
}

}  // namespace
}  // namespace diffdfl::data
