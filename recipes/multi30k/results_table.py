#!/usr/bin/env python3
"""The results table of recipes/multi30k/README.md, from the run directories run.sh filled.

  recipes/multi30k/results_table.py runs/multi30k-revgru runs/multi30k-gru ...

Reads each run's scores.json (test2016, beam 5), memory.json (`revnmt memory` of the best
model) and metrics.jsonl (the trainer's log), and prints one Markdown row per run. Standard
library only.
"""

import json
import os
import sys


def fail(message):
    print(f"results_table.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")


def load_metrics(path):
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except ValueError as e:
                        fail(f"{path}:{number}: {e}")
    except OSError as e:
        fail(f"{path}: {e}")
    return records


def row(run_dir):
    scores = load_json(os.path.join(run_dir, "scores.json"))
    memory = load_json(os.path.join(run_dir, "memory.json"))
    metrics = load_metrics(os.path.join(run_dir, "metrics.jsonl"))
    train = [r for r in metrics if r.get("kind") == "train"]
    valid = [r for r in metrics if r.get("kind") == "valid"]
    if not train or not valid:
        fail(f"{run_dir}/metrics.jsonl: no training or validation records")
    last_valid = valid[-1]
    epochs = last_valid["epoch"]
    # Training time: the wall clock at the last validation, minus the validations themselves.
    valid_seconds = sum(r.get("seconds", 0.0) for r in valid)
    wall = last_valid["wall_time"]
    train_seconds = wall - valid_seconds
    tokens = last_valid["target_tokens"]
    ppl_epoch2 = next((r["perplexity"] for r in valid if r["epoch"] == 2), float("nan"))
    best_ppl = min(r["perplexity"] for r in valid)
    enc, dec = memory["encoder"], memory["decoder"]
    total = memory["total"]
    batches = memory["batches"]
    return {
        "cell": memory["model"]["cell"],
        "bleu": scores["bleu"]["score"],
        "bleu_lc": scores["bleu_lowercased"]["score"],
        "chrf": scores["chrf"]["score"],
        "ppl2": ppl_epoch2,
        "ppl": best_ppl,
        "enc": enc["actual_ratio"],
        "dec": dec["actual_ratio"],
        "held_kib": total["held_bytes"] / batches / 1024,
        "std_kib": total["standard_held_bytes"] / batches / 1024,
        "epochs": epochs,
        "minutes": wall / 60,
        "epoch_seconds": wall / epochs,
        "tok_s": tokens / train_seconds,
    }


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    print("| recipe | test BLEU (cased) | BLEU (lowercased) | chrF | val ppl after 2 epochs "
          "| best val ppl | encoder ratio | decoder ratio | KiB held for backward per batch "
          "| standard GRU/LSTM's | epochs | wall time | s/epoch | target tok/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run_dir in sys.argv[1:]:
        r = row(run_dir)
        # Standard cells hold more than the paper's baseline (gates and states): ratio < 1.
        ratios = f"{r['enc']:.2f}x | {r['dec']:.2f}x"
        print(f"| {r['cell']} | {r['bleu']:.2f} | {r['bleu_lc']:.2f} | {r['chrf']:.2f} "
              f"| {r['ppl2']:.2f} | {r['ppl']:.2f} | {ratios} | {r['held_kib']:,.0f} "
              f"| {r['std_kib']:,.0f} | {r['epochs']} | {r['minutes']:.1f} min "
              f"| {r['epoch_seconds']:.0f} | {r['tok_s']:,.0f} |")


if __name__ == "__main__":
    main()
