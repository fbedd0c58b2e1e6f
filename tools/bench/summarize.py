#!/usr/bin/env python3
"""Tables and ratios from the RESULT lines of tools/bench/run_benchmarks.sh (standard library
only, so it runs without PyTorch).

  summarize.py WORK/results.log
"""

import json
import statistics
import sys


def load(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("RESULT "):
                out.append(json.loads(line[len("RESULT "):]))
    return out


def pick(results, **match):
    return [r for r in results if all(r.get(k) == v for k, v in match.items())]


def one(results, **match):
    found = pick(results, **match)
    return found[-1] if found else None


def verdict(value, target, higher=True):
    if value is None:
        return "n/a"
    ok = value >= target if higher else value <= target
    return "met" if ok else "NOT met"


def main():
    results = load(sys.argv[1])
    loads = pick(results, kind="load")
    peaks = pick(results, kind="peak")
    peak32 = max((p["f32"] for p in peaks), default=None)
    peak16 = max((p["bf16"] for p in peaks), default=None)
    print("## Machine state")
    print()
    for l in loads:
        print(f"- load average {l['when']}: {l['load1']} (1 min), {l['load5']} (5 min)")
    if peaks:
        print(f"- matmul peak measured in this run: f32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} "
              f"GFLOP/s (best of {len(peaks)} measurements, "
              + ", ".join(f"{p['f32']:.0f}/{p['bf16']:.0f}" for p in peaks) + ")")
    print()

    print("## Training (median over the measured updates, batches of 64 sentences)")
    print()
    print("| impl | cell | precision | tok/s (median) | tok/s (mean) | ms/update | model GFLOP/s "
          "| % of f32 peak | peak RSS MB | loss first 20 -> last 20 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in pick(results, kind="train"):
        frac = 100 * r["gflops_model"] / peak32 if peak32 else float("nan")
        print(f"| {r['impl']} | {r['cell']} | {r['precision']} | {r['tok_s_median']:.0f} | "
              f"{r['tok_s_mean']:.0f} | {r['ms_update_median']:.1f} | {r['gflops_model']:.1f} | "
              f"{frac:.0f}% | {r['peak_rss'] / 1e6:.0f} | {r['loss_first20']:.2f} -> "
              f"{r['loss_last20']:.2f} |")
    print()

    def train_rate(impl, cell, precision="fp32"):
        r = one(results, kind="train", impl=impl, cell=cell, precision=precision)
        return r["tok_s_median"] if r else None

    print("| ratio | value | target | |")
    print("|---|---|---|---|")
    for cell, base, target in (("gru", "gru", 2.0), ("lstm", "lstm", None),
                               ("revgru", "gru", 1.6), ("revlstm", "lstm", 1.6)):
        for precision in ("fp32", "bf16"):
            a, b = train_rate("revnmt", cell, precision), train_rate("pytorch", base)
            if a is None or b is None:
                continue
            v = a / b
            t = f">= {target}" if target else "-"
            print(f"| revnmt {cell} {precision} / PyTorch {base} | {v:.2f}x | {t} | "
                  f"{verdict(v, target) if target else ''} |")
    gru = one(results, kind="train", impl="revnmt", cell="gru", precision="fp32")
    if gru and peak32:
        v = gru["gflops_model"] / peak32
        print(f"| revnmt gru fp32 GFLOP/s / f32 matmul peak | {100 * v:.0f}% | >= 45% | "
              f"{verdict(v, 0.45)} |")
    print()

    print("## Translation of test2016 (1000 sentences; median of the timed passes)")
    print()
    print("| impl | model | precision | beam | batch | sentences/s | target tokens/s | tokens "
          "| peak RSS MB | vs PyTorch | identical to revnmt |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in pick(results, kind="translate"):
        torch = one(results, kind="translate", impl="pytorch", beam=r["beam"], batch=r["batch"])
        ratio = (f"{r['sent_s'] / torch['sent_s']:.2f}x"
                 if torch and r["impl"] == "revnmt" else "")
        same = f"{100 * r['identical_to_revnmt']:.1f}%" if "identical_to_revnmt" in r else ""
        print(f"| {r['impl']} | {r['cell']} | {r['precision']} | {r['beam']} | {r['batch']} | "
              f"{r['sent_s']:.1f} | {r['tok_s']:.0f} | {r['target_tokens']} | "
              f"{r['peak_rss'] / 1e6:.0f} | {ratio} | {same} |")
    print()
    print("| ratio (sentences/s, fp32 GRU, same model and weights) | value | target | |")
    print("|---|---|---|---|")
    for beam in (1, 5):
        for batch in (32, 64):
            a = one(results, kind="translate", impl="revnmt", cell="gru", precision="fp32",
                    beam=beam, batch=batch)
            b = one(results, kind="translate", impl="pytorch", beam=beam, batch=batch)
            if a and b:
                v = a["sent_s"] / b["sent_s"]
                print(f"| beam {beam}, batch {batch} | {v:.2f}x | >= 3 | {verdict(v, 3.0)} |")
    print()

    print("## Memory held between forward and backward (bytes per target token, slope)")
    print()
    print("| impl | cell | vs batch (L=25, B=32..256) | vs length (B=64, L=25..200) |")
    print("|---|---|---|---|")
    slopes = {}
    for r in pick(results, kind="memory"):
        slopes.setdefault((r["impl"], r["cell"]), {})[r["series"]] = r["bytes_per_token"]
    for (impl, cell), s in slopes.items():
        print(f"| {impl} | {cell} | {s.get('batch', float('nan')):.0f} | "
              f"{s.get('length', float('nan')):.0f} |")
    print()
    print("| ratio (slope vs length) | value | target | |")
    print("|---|---|---|---|")
    for rev, std in (("revgru", "gru"), ("revlstm", "lstm")):
        r = slopes.get(("revnmt", rev), {}).get("length")
        s = slopes.get(("revnmt", std), {}).get("length")
        t = slopes.get(("pytorch", std), {}).get("length")
        if r and t:
            print(f"| PyTorch {std} / revnmt {rev} | {t / r:.0f}x | >= 100 | {verdict(t / r, 100)} |")
        if r and s:
            print(f"| revnmt {std} / revnmt {rev} | {s / r:.0f}x | >= 10 | {verdict(s / r, 10)} |")


if __name__ == "__main__":
    main()
