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


def runs_by(results, kind, keys):
    """The results of one kind grouped by the given fields, in the order they ran (round
    1's run first)."""
    groups = {}
    for r in pick(results, kind=kind):
        groups.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    return groups


def median(values):
    return statistics.median(list(values))


def spread(values, fmt):
    """The median, with the lowest and highest values when there are several."""
    m = format(median(values), fmt)
    if len(values) < 2:
        return m
    return f"{m} [{format(min(values), fmt)}-{format(max(values), fmt)}]"


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
    train = runs_by(results, "train", ("impl", "cell", "precision"))
    rounds = max((len(v) for v in train.values()), default=0)
    print(f"Each figure is the median over {rounds} round(s), each round's PyTorch run "
          "right before the revnmt runs compared with it; brackets: lowest and highest round.")
    print()
    print("| impl | cell | precision | tok/s | ms/update | model GFLOP/s "
          "| % of f32 peak | peak RSS MB | loss first 20 -> last 20 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (impl, cell, precision), rs in train.items():
        gflops = median(r["gflops_model"] for r in rs)
        frac = 100 * gflops / peak32 if peak32 else float("nan")
        print(f"| {impl} | {cell} | {precision} | {spread([r['tok_s_median'] for r in rs], '.0f')} | "
              f"{median(r['ms_update_median'] for r in rs):.1f} | {gflops:.1f} | "
              f"{frac:.0f}% | {max(r['peak_rss'] for r in rs) / 1e6:.0f} | "
              f"{rs[0]['loss_first20']:.2f} -> {rs[0]['loss_last20']:.2f} |")
    print()

    print("| ratio (median of the rounds' ratios) | value | rounds | target | |")
    print("|---|---|---|---|---|")
    for cell, base, target in (("gru", "gru", 2.0), ("lstm", "lstm", None),
                               ("revgru", "gru", 1.6), ("revlstm", "lstm", 1.6)):
        for precision in ("fp32", "bf16"):
            ours = train.get(("revnmt", cell, precision), [])
            theirs = train.get(("pytorch", base, "fp32"), [])
            ratios = [a["tok_s_median"] / b["tok_s_median"] for a, b in zip(ours, theirs)]
            if not ratios:
                continue
            v = median(ratios)
            t = f">= {target}" if target else "-"
            print(f"| revnmt {cell} {precision} / PyTorch {base} | {v:.2f}x | "
                  f"{', '.join(f'{x:.2f}' for x in ratios)} | {t} | "
                  f"{verdict(v, target) if target else ''} |")
    gru = train.get(("revnmt", "gru", "fp32"), [])
    if gru and peak32:
        v = median(r["gflops_model"] for r in gru) / peak32
        print(f"| revnmt gru fp32 GFLOP/s / f32 matmul peak | {100 * v:.0f}% | | >= 45% | "
              f"{verdict(v, 0.45)} |")
    print()

    print("## Translation of test2016 (1000 sentences; median of the timed passes)")
    print()
    translate = runs_by(results, "translate", ("impl", "cell", "precision", "beam", "batch"))
    print("| impl | model | precision | beam | batch | sentences/s | target tokens/s | tokens "
          "| peak RSS MB | vs PyTorch | identical to revnmt |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def torch_ratios(rs, beam, batch):
        theirs = translate.get(("pytorch", "gru", "fp32", beam, batch), [])
        return [a["sent_s"] / b["sent_s"] for a, b in zip(rs, theirs)]

    for (impl, cell, precision, beam, batch), rs in sorted(
            translate.items(), key=lambda kv: (kv[0][3], kv[0][4])):
        ratios = torch_ratios(rs, beam, batch) if impl == "revnmt" else []
        ratio = f"{median(ratios):.2f}x" if ratios else ""
        same = (f"{100 * min(r['identical_to_revnmt'] for r in rs):.1f}%"
                if "identical_to_revnmt" in rs[0] else "")
        print(f"| {impl} | {cell} | {precision} | {beam} | {batch} | "
              f"{spread([r['sent_s'] for r in rs], '.1f')} | "
              f"{median(r['tok_s'] for r in rs):.0f} | {rs[0]['target_tokens']} | "
              f"{max(r['peak_rss'] for r in rs) / 1e6:.0f} | {ratio} | {same} |")
    print()
    print("| ratio (sentences/s, GRU, same model and weights; median of the rounds' ratios) "
          "| value | rounds | target | |")
    print("|---|---|---|---|---|")
    for precision in ("fp32", "bf16"):
        for beam in (1, 5):
            for batch in (32, 64):
                ratios = torch_ratios(
                    translate.get(("revnmt", "gru", precision, beam, batch), []), beam, batch)
                if ratios:
                    v = median(ratios)
                    print(f"| {precision}, beam {beam}, batch {batch} | {v:.2f}x | "
                          f"{', '.join(f'{x:.2f}' for x in ratios)} | >= 3 | "
                          f"{verdict(v, 3.0)} |")
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
