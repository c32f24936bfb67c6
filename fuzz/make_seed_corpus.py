#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target under fuzz/corpus/<target>/ (committed; rerun this
script only to change it). Inputs are small, valid or nearly valid files of each reader, cut from
the shipped data where a reader needs real structure. Run from the repository root."""
import gzip
import math
import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SEP = "\n%%\n"


def put(target, name, content):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(os.path.join(d, name), mode) as f:
        f.write(content)


def rows(m, n, f):
    return "".join(",".join(repr(f(i, j)) for j in range(n)) + "\n" for i in range(m))


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    # Numeric CSV (diffdfl solve --samples / --upstream).
    put("fuzz_numeric_csv", "header", "y0,y1,y2\n1,2,3\n4.5,-6e-3,7\n")
    put("fuzz_numeric_csv", "bare", rows(3, 4, lambda i, j: 0.1 * i - 0.2 * j))
    put("fuzz_numeric_csv", "typo_first_row", "0.01,0.02x\n0.03,0.01\n-0.02,0.04\n")
    put("fuzz_numeric_csv", "quoted_crlf", '"a","b"\r\n"1","2"\r\n3,+4\r\n')
    put("fuzz_numeric_csv", "nan_inf", "1,nan\ninf,-1e308\n1e999,0\n")
    # Gzip price file.
    table = "date,A,B\n2004-01-02,1.5,2\n2004-01-05,1.25,2.5\n2004-01-06,1.3,2.4\n"
    put("fuzz_price_file", "valid.gz", gzip.compress(table.encode(), mtime=0))
    put("fuzz_price_file", "two_members.gz",
        gzip.compress(b"date,A\n", mtime=0) + gzip.compress(b"2004-01-02,1\n", mtime=0))
    put("fuzz_price_file", "nan.gz", gzip.compress(b"date,A,B\n2004-01-02,1.5,NaN\n", mtime=0))
    put("fuzz_price_file", "truncated.gz", gzip.compress(table.encode(), mtime=0)[:30])
    # Configuration: a JSON document, then --set lines.
    put("fuzz_config", "sections",
        '{"train": {"lr": 1e-4, "epochs": 3}, "diffusion": {"T": 50, "width": 32}}' + SEP +
        "train.batch_size=64\nprogram.ramp=0.3\nsolver.tol=1e-9\n")
    put("fuzz_config", "method", '{"method": "dfl-diffusion-sf", "task": "portfolio"}' + SEP +
        "data.n_assets=10\neval.samples=8\nprogram.alpha=1e-5\n")
    put("fuzz_config", "bad", '{"train": {"lrr": 1}}' + SEP + "policy.batch_norm=true\n=x\n")
    put("fuzz_config", "policy", '{"method": "policy", "task": "synthetic"}' + SEP +
        "shuffle_targets=true\nprogram.capacity=3\nprogram.pooled=false\n")
    # Power loader: the holiday CSV, then a PJM load file (three days from the shipped file).
    holidays = open("data/power_sched/us_federal_holidays_2008-2016.csv").read().splitlines()
    load = open("data/power_sched/pjm_load_data_2008-11.txt").read().splitlines()
    hol = "\n".join(holidays[:6]) + "\n"
    put("fuzz_power_loader", "four_days", hol + SEP + "\n".join(load[:96]) + "\n")
    put("fuzz_power_loader", "ten_days", hol + SEP + "\n".join(load[:240]) + "\n")
    put("fuzz_power_loader", "no_newline", hol + SEP + "\n".join(load[:60]))
    # Portfolio loader: a first byte (assets, universe), the ticker list, then a price CSV long
    # enough for a split (365 rows of history + dates + 10 tail rows).
    tickers = ("symbol,in_adj_close_file,verified\nA,true,true\nB,true,false\nC,true,true\n")
    lines = ["date,A,B,C"]
    for d in range(400):
        y, rest = 2004 + d // 300, d % 300
        date = "%04d-%02d-%02d" % (y, 1 + rest // 28, 1 + rest % 28)
        lines.append(date + "," + ",".join(
            "%.4f" % (10 + k + math.sin(d * (k + 1) / 17.0)) for k in range(3)))
    prices = "\n".join(lines) + "\n"
    put("fuzz_portfolio_loader", "three_assets", b"\x02" + (tickers + SEP + prices).encode())
    put("fuzz_portfolio_loader", "verified", b"\x81" + (tickers + SEP + prices).encode())
    put("fuzz_portfolio_loader", "short", b"\x00" + (tickers + SEP + "\n".join(lines[:50]) +
                                                   "\n").encode())
    # Synthetic options from raw bytes (seed, variant, sizes, then eight doubles).
    import struct
    base = struct.pack("<QBqqq", 1, 0, 301 + 100, 20 + 26, 10 + 14)
    doubles = struct.pack("<8d", 0.8, 0.2, 0.1, 1.0, -3.0, 0.15, 0.5, 1.5)
    put("fuzz_synthetic_loader", "defaults", base + doubles)
    put("fuzz_synthetic_loader", "contextual", struct.pack("<QBqqq", 7, 1, 50, 5, 3) + doubles)
    put("fuzz_synthetic_loader", "nan", base + struct.pack("<8d", float("nan"), 0.2, 0.1, 1.0,
                                                           -3.0, 0.15, 0.5, float("inf")))
    # solve: first byte = task (low 2 bits) and gradient mode, then --set lines, samples, upstream.
    power = rows(4, 24, lambda i, h: round(1.6 + 0.5 * math.sin(h * 2 * math.pi / 24) +
                                           0.05 * i * (h % 3 - 1), 6))
    u24 = ",".join("1" if h == 7 else "0" for h in range(24)) + "\n"
    put("fuzz_solve", "power", b"\x02" + ("program.ramp=0.3" + SEP + power + SEP + u24).encode())
    put("fuzz_solve", "power_smoothed",
        b"\x52" + ("solver.tol=1e-9" + SEP + power + SEP + u24).encode())
    alloc = rows(5, 10, lambda i, j: round(0.5 - 2.0 * ((i + j) % 4 == 0), 3))
    put("fuzz_solve", "allocation", b"\x00" + ("program.capacity=2" + SEP + alloc + SEP +
                                               "1,0,0,0,1,0,0,0,0,1\n").encode())
    port = rows(6, 5, lambda i, j: round(0.01 * math.sin(i + 2 * j), 5))
    put("fuzz_solve", "portfolio", b"\x03" + ("program.alpha=1e-6" + SEP + "a0,a1,a2,a3,a4\n" +
                                              port + SEP + "1,0,0,0,-1\n").encode())
    put("fuzz_solve", "huge", b"\x02" + ("" + SEP + rows(2, 24, lambda i, j: 1e300) + SEP +
                                         u24).encode())


if __name__ == "__main__":
    main()
