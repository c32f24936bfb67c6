#!/usr/bin/env python3
"""Independent computation of the literal values asserted in power_test.cpp and portfolio_test.cpp.

Plain Python 3.9+ (zoneinfo, gzip; no pandas, no numpy), reading the raw files in data/. It follows
the reference pipeline described in docs/data.md without sharing any code with the C++ loaders.
Run from the repository root:  python3 tests/data/reference_values.py
"""
import datetime as dt
import gzip
import math
import zoneinfo

TZ = zoneinfo.ZoneInfo("America/New_York")


def power_days(path):
    """Local date -> (load[24], temp[24]) after drop_duplicates, pivot and bfill/ffill per day."""
    seen, days = set(), {}
    for line in open(path):
        f = line.split()
        t = int(float(f[0]))
        if t in seen:
            continue
        seen.add(t)
        local = dt.datetime.fromtimestamp(t, TZ)
        load, temp = days.setdefault(local.date(), ([None] * 24, [None] * 24))
        if load[local.hour] is None:
            load[local.hour], temp[local.hour] = float(f[1]), float(f[2])
    for load, temp in days.values():
        for arr in (load, temp):
            nxt = None
            for h in range(23, -1, -1):
                if arr[h] is None:
                    arr[h] = nxt
                else:
                    nxt = arr[h]
            prv = None
            for h in range(24):
                if arr[h] is None:
                    arr[h] = prv
                else:
                    prv = arr[h]
    return days


def power_row(days, holidays, d):
    prev = sorted(k for k in days if k < d)[-1]
    lp, tp = days[prev]
    load, temp = days[d]
    midnight = dt.datetime(d.year, d.month, d.day, tzinfo=TZ)
    yday = d.timetuple().tm_yday
    x = (lp + tp + [v * v for v in tp] + temp + [v * v for v in temp] + [v ** 3 for v in temp] +
         [float(d.weekday() >= 5), float(d.isoformat() in holidays),
          float(midnight.dst() != dt.timedelta(0)),
          math.cos(2 * math.pi * yday / 365), math.sin(2 * math.pi * yday / 365)])
    return prev, x, load


def contextual_intercept(p=0.1, s=1.5):
    """The a with E[sigmoid(a + s xi)] = p, xi ~ N(0, 1), and the quantiles of sigmoid(a + s xi)."""
    from statistics import NormalDist

    def mean(a, n=8001):
        h = 20 / (n - 1)
        return sum(math.exp(-x * x / 2) / math.sqrt(2 * math.pi) * h / (1 + math.exp(-(a + s * x)))
                   for x in (-10 + h * k for k in range(n)))

    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mean(mid) < p else (lo, mid)
    a = (lo + hi) / 2
    q = {u: 1 / (1 + math.exp(-(a + s * NormalDist().inv_cdf(u)))) for u in (0.1, 0.5, 0.9, 0.99)}
    return a, q


def main():
    print("synthetic-contextual: intercept a and quantiles of p_low(x):", contextual_intercept())
    holidays = {line.split(",")[0] for line in open("data/power_sched/us_federal_holidays_2008-2016.csv")
                if line[0].isdigit()}
    d1 = power_days("data/power_sched/pjm_load_data_2008-11.txt")
    d2 = power_days("data/power_sched/pjm_load_data_2012-16.txt")
    print("power: dates per file", len(d1), len(d2), "samples", len(d1) - 1 + len(d2) - 1)
    for days, d in ((d1, dt.date(2009, 3, 9)), (d1, dt.date(2008, 1, 2)), (d2, dt.date(2016, 9, 28))):
        prev, x, y = power_row(days, holidays, d)
        print(f"power sample {d} (previous pivot day {prev}):")
        print("  load_prev =", x[0:24])
        print("  temp_prev =", x[24:48])
        print("  temp      =", x[72:96])
        print("  flags     =", [repr(v) for v in x[144:149]])
        print("  y         =", y)
    for s in ("2008-03-09", "2008-03-10", "2008-11-02", "2008-11-03", "2015-03-08", "2015-11-01"):
        d = dt.date.fromisoformat(s)
        print("  dst at midnight", s, dt.datetime(d.year, d.month, d.day, tzinfo=TZ).dst() != dt.timedelta(0))

    with gzip.open("data/stock_portfolio/sp500_adj_close_2004-2016.csv.gz", "rt") as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f]
    dates = [r[0] for r in rows]
    print("portfolio: rows", len(rows), "tickers", len(header) - 1, "valid dates", 3262 - 365 + 1,
          dates[365], dates[3262])
    for ticker, date in (("AAPL", "2010-06-15"), ("XOM", "2008-10-10")):
        a = header.index(ticker)
        c = [float(r[a]) for r in rows]
        t = dates.index(date)
        r = [None] + [c[i] / c[i - 1] - 1 for i in range(1, len(c))]

        def mv(v):
            m = sum(v) / len(v)
            return m, sum((u - m) ** 2 for u in v) / (len(v) - 1)

        feats = [r[t - k] for k in range(11)]
        feats += [c[t] / c[t - k] - 1 for k in (365, 120, 30, 7)]
        feats += list(mv(r[t - 6:t + 1]))
        for k in (365, 120, 30, 7, 3):
            feats += list(mv(c[t - k + 1:t + 1]))
        feats.append(c[t])
        print(f"portfolio {ticker} {date} (price row {t}, date index {t - 365}):")
        print("  features =", [repr(v) for v in feats])
        print("  target   =", repr(c[t + 1] / c[t] - 1), "next close", c[t + 1])


if __name__ == "__main__":
    main()
