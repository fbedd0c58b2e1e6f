#!/usr/bin/env python3
"""PyTorch implementation of revnmt's standard GRU/LSTM attention model, for the side-by-side
benchmarks of tools/bench/run_benchmarks.sh.

The model is the one revnmt trains with `model.cell: gru|lstm, context: hidden` (recipes/multi30k):
embeddings with locked dropout, a one-layer GRU/LSTM encoder (packed sequences) and decoder
started from the encoder's final state, Luong "general" attention over the encoder outputs
(W_in [H, C], W_out [C + H, H], no biases, tanh), locked dropout on the query and the context,
an output layer with bias, summed NLL over the target tokens divided by their count, Adam and
gradient-norm clipping. GRU is PyTorch's formulation, which revnmt's standard GRU copies, so a
revnmt model file exported with `revnmt-bench export` loads here unchanged.

  bench_torch.py train     --work WORK --cell gru [--updates 200 --warmup 20 --threads 2]
  bench_torch.py translate --work WORK --weights W.bin --beam 5 --batch 64 [--hyps revnmt.bin]
  bench_torch.py memory    --cell gru

Every measurement prints a human-readable line and `RESULT {json}`, as revnmt-bench does.
"""

import argparse
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError:
    print("skipped: python3-torch not installed (apt-get install python3-torch libopenblas0-openmp)")
    sys.exit(0)

UNK, BOS, EOS, PAD = 0, 1, 2, 3


def result(**fields):
    print("RESULT " + json.dumps(fields), flush=True)


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------------------------------------
# The files revnmt-bench writes (tools/bench/bench_io.h).


class Reader:
    def __init__(self, path, magic):
        with open(path, "rb") as f:
            self.data = f.read()
        self.pos = 0
        if self.data[:4] != magic:
            raise SystemExit(f"{path}: not a {magic.decode()} file")
        self.pos = 4
        version, self.count = self.u32(), self.u32()
        if version != 1:
            raise SystemExit(f"{path}: unknown version {version}")

    def u32(self):
        (v,) = struct.unpack_from("<I", self.data, self.pos)
        self.pos += 4
        return v

    def i32(self):
        (v,) = struct.unpack_from("<i", self.data, self.pos)
        self.pos += 4
        return v

    def tensor(self, n, dtype, shape):
        size = n * (4 if dtype in (torch.int32, torch.float32) else 8)
        t = torch.frombuffer(bytearray(self.data[self.pos:self.pos + size]), dtype=dtype)
        self.pos += size
        return t.reshape(shape)


def read_batches(path):
    r = Reader(path, b"RVBT")
    batches = []
    for _ in range(r.count):
        rows, ts, tt = r.i32(), r.i32(), r.i32()
        b = {"rows": rows}
        b["src"] = r.tensor(ts * rows, torch.int32, (ts, rows)).long()
        b["src_len"] = r.tensor(rows, torch.int32, (rows,)).long()
        b["tgt_in"] = r.tensor(tt * rows, torch.int32, (tt, rows)).long()
        b["tgt_out"] = r.tensor(tt * rows, torch.int32, (tt, rows)).long()
        b["tgt_len"] = r.tensor(rows, torch.int32, (rows,)).long()
        batches.append(b)
    return batches


def read_sentences(path, magic):
    r = Reader(path, magic)
    out = []
    for _ in range(r.count):
        n = r.i32()
        out.append(list(struct.unpack_from(f"<{n}i", r.data, r.pos)))
        r.pos += 4 * n
    return out


def read_weights(path):
    r = Reader(path, b"RVWT")
    weights = {}
    for _ in range(r.count):
        n = r.u32()
        name = r.data[r.pos:r.pos + n].decode()
        r.pos += n
        ndim = r.u32()
        dims = struct.unpack_from(f"<{ndim}q", r.data, r.pos)
        r.pos += 8 * ndim
        weights[name] = r.tensor(math.prod(dims), torch.float32, dims)
    return weights


# ---------------------------------------------------------------------------------------------
# The model


def locked_mask(rows, dim, p, training):
    if not training or p == 0:
        return None
    return torch.empty(rows, dim).bernoulli_(1 - p).div_(1 - p)


class Seq2Seq(nn.Module):
    def __init__(self, cell, vocab, emb=300, hidden=300, dropout=0.4, init=0.1):
        super().__init__()
        self.cell, self.vocab, self.hidden, self.dropout = cell, vocab, hidden, dropout
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.src_emb = nn.Embedding(vocab, emb)
        self.tgt_emb = nn.Embedding(vocab, emb)
        self.encoder = rnn(emb, hidden)
        self.decoder = rnn(emb, hidden)
        context = hidden
        self.w_in = nn.Parameter(torch.empty(hidden, context))
        self.w_out = nn.Parameter(torch.empty(context + hidden, hidden))
        self.generator = nn.Linear(hidden, vocab)
        for p in self.parameters():
            nn.init.uniform_(p, -init, init)
        if cell == "lstm":  # revnmt's LSTM has one bias (bx) per gate, no recurrent bias
            for m in (self.encoder, self.decoder):
                m.bias_hh_l0.requires_grad_(False).zero_()

    def load_revnmt(self, w):
        """Weights exported from a revnmt model file (revnmt-bench export)."""
        with torch.no_grad():
            self.src_emb.weight.copy_(w["src_embedding/E"])
            self.tgt_emb.weight.copy_(w["tgt_embedding/E"])
            for name, m in (("encoder", self.encoder), ("decoder", self.decoder)):
                m.weight_ih_l0.copy_(w[f"{name}/layer0/Wx"].t())
                m.weight_hh_l0.copy_(w[f"{name}/layer0/Wh"].t())
                m.bias_ih_l0.copy_(w[f"{name}/layer0/bx"])
                if self.cell == "gru":
                    m.bias_hh_l0.copy_(w[f"{name}/layer0/bh"])
            self.w_in.copy_(w["attention/W_in"])
            self.w_out.copy_(w["attention/W_out"])
            self.generator.weight.copy_(w["generator/W"])
            self.generator.bias.copy_(w["generator/b"])

    def encode(self, src, src_len, training):
        ts, rows = src.shape
        x = self.src_emb(src)  # [Ts, B, E]
        m = locked_mask(rows, x.shape[2], self.dropout, training)
        if m is not None:
            x = x * m
        packed = pack_padded_sequence(x, src_len, enforce_sorted=True)
        out, state = self.encoder(packed)
        out, _ = pad_packed_sequence(out, total_length=ts)  # [Ts, B, H]
        m = locked_mask(rows, self.hidden, self.dropout, training)  # the context's dropout
        if m is not None:
            out = out * m
        return out.transpose(0, 1), state  # [B, Ts, C]

    def attend(self, q, ctx, src_mask):
        """q [B, T, H], ctx [B, Ts, C], src_mask [B, 1, Ts] (True = padding) -> [B, T, H]."""
        wq = q @ self.w_in  # [B, T, C]
        scores = torch.bmm(wq, ctx.transpose(1, 2)).masked_fill_(src_mask, -math.inf)
        a = torch.softmax(scores, dim=-1)
        c = torch.bmm(a, ctx)  # [B, T, C]
        return torch.tanh(torch.cat([c, q], dim=-1) @ self.w_out)

    def loss(self, b, training=True):
        """Summed NLL over the batch's target tokens."""
        rows = b["rows"]
        ctx, state = self.encode(b["src"], b["src_len"], training)
        y = self.tgt_emb(b["tgt_in"])  # [Tt, B, E]
        m = locked_mask(rows, y.shape[2], self.dropout, training)
        if m is not None:
            y = y * m
        dec, _ = self.decoder(y, state)  # [Tt, B, H]
        m = locked_mask(rows, self.hidden, self.dropout, training)
        if m is not None:
            dec = dec * m
        src_mask = (torch.arange(ctx.shape[1])[None, :] >= b["src_len"][:, None])[:, None, :]
        attn_h = self.attend(dec.transpose(0, 1), ctx, src_mask)  # [B, Tt, H]
        target = b["tgt_out"].t()  # [B, Tt]
        keep = target != PAD
        logits = self.generator(attn_h[keep])  # non-pad rows only, as revnmt
        return F.cross_entropy(logits, target[keep], reduction="sum")


def cell_flops(cell, i, h):
    return {"gru": 2 * i * 3 * h + 2 * h * 3 * h, "lstm": 2 * i * 4 * h + 2 * h * 4 * h}[cell]


def training_flops(cell, b, emb=300, hidden=300, vocab=8000):
    """The same analytical count as revnmt-bench (tools/bench/bench.cc, training_flops)."""
    e, h, c, v = emb, hidden, hidden, vocab
    stack = cell_flops(cell, e, h)
    fwd = 0.0
    for ls, lt in zip(b["src_len"].tolist(), b["tgt_len"].tolist()):
        fwd += ls * stack + lt * stack
        fwd += lt * (2 * h * c + 2 * 2 * ls * c + 2 * (c + h) * h)
        fwd += lt * 2 * h * v
    return 3 * fwd


# ---------------------------------------------------------------------------------------------
# train


def cmd_train(args):
    torch.manual_seed(1)
    batches = read_batches(os.path.join(args.work, "batches.bin"))
    model = Seq2Seq(args.cell, args.vocab)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)
    total = args.warmup + args.updates
    rates, seconds, losses = [], [], []
    flops = tokens = 0
    elapsed = 0.0
    for i in range(total):
        b = batches[args.first + i]
        n = int(b["tgt_len"].sum())
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model.loss(b)
        (loss / n).backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        dt = time.perf_counter() - start
        losses.append(loss.item() / n)
        if i < args.warmup:
            continue
        rates.append(n / dt)
        seconds.append(dt)
        elapsed += dt
        tokens += n
        flops += training_flops(args.cell, b, vocab=args.vocab)
    med = statistics.median(rates)
    tail = min(20, total)
    first, last = sum(losses[:tail]) / tail, sum(losses[-tail:]) / tail
    gflops = flops / tokens * med * 1e-9
    print(f"train {args.cell:8s} torch median {med:7.0f} tok/s (mean {tokens / elapsed:7.0f}), "
          f"{1e3 * statistics.median(seconds):6.1f} ms/update, model {gflops:6.1f} GFLOP/s, "
          f"peak RSS {peak_rss() / 1e6:6.1f} MB, loss {first:.3f} -> {last:.3f}", flush=True)
    result(kind="train", impl="pytorch", cell=args.cell, precision="fp32", threads=args.threads,
           updates=args.updates, tok_s_median=med, tok_s_mean=tokens / elapsed,
           ms_update_median=1e3 * statistics.median(seconds),
           model_gflop_per_token=flops / tokens * 1e-9, gflops_model=gflops,
           peak_rss=peak_rss(), loss_first20=first, loss_last20=last)


# ---------------------------------------------------------------------------------------------
# translate: batched beam search with revnmt's rules (nmt/decode/beam_search.h): shrinking
# beams (live + finished = beam), EOS not at step 0, bos/pad never generated, only EOS after
# max_len = floor(ratio * source tokens) + offset, score = log-prob / (tokens + 1)^alpha,
# early stop when no live hypothesis can beat the best finished one, finished sentences
# removed from the batch. Greedy is beam 1.


class Searcher:
    def __init__(self, model, beam, alpha=1.0, ratio=2.0, offset=5):
        self.m, self.k, self.alpha, self.ratio, self.offset = model, beam, alpha, ratio, offset

    def norm(self, logprob, length):
        return logprob / (max(length, 1) ** self.alpha) if self.alpha != 0 else logprob

    @torch.no_grad()
    def search(self, sources):
        m, k, V = self.m, self.k, self.m.vocab
        S = len(sources)
        lengths = [len(s) + 1 for s in sources]
        ts = max(lengths)
        src = torch.full((ts, S), PAD, dtype=torch.long)
        for b, s in enumerate(sources):
            src[: len(s), b] = torch.tensor(s)
            src[len(s), b] = EOS
        src_len = torch.tensor(lengths)
        ctx, state = m.encode(src, src_len, training=False)  # [S, Ts, C]
        lstm = m.cell == "lstm"
        h = state[0][0] if lstm else state[0]  # [R, H]
        c = state[1][0] if lstm else None
        pad_mask = (torch.arange(ts)[None, :] >= src_len[:, None])[:, None, :]  # [S, 1, Ts]
        max_len = torch.tensor([math.floor(self.ratio * len(s)) + self.offset for s in sources])
        max_len = max_len.clamp(min=1)
        alive = torch.arange(S)  # original index of each alive sentence
        row_pos = torch.arange(S)  # per row: position of its sentence among the alive ones
        slot = torch.arange(S) * k  # per row: its slot in [alive, k]
        tokens = torch.full((S,), BOS, dtype=torch.long)
        scores = torch.zeros(S)
        parents, emitted = [], []  # per level >= 1: parent row in the level below, token
        finished = [[] for _ in range(S)]  # (score, logprob, level, row)
        n_finished = torch.zeros(S, dtype=torch.long)
        wc = m.decoder.weight_ih_l0, m.decoder.weight_hh_l0, m.decoder.bias_ih_l0, m.decoder.bias_hh_l0
        step = 0
        while row_pos.numel() > 0:
            R, A = row_pos.numel(), alive.numel()
            x = m.tgt_emb(tokens)
            if lstm:
                h, c = torch.lstm_cell(x, (h, c), *wc)
            else:
                h = torch.gru_cell(x, h, *wc)
            # attention, per sentence over its rows' slots
            q = torch.zeros(A * k, m.hidden)
            q[slot] = h
            a_h = m.attend(q.view(A, k, -1), ctx, pad_mask).reshape(A * k, -1)[slot]
            lp = torch.log_softmax(m.generator(a_h), dim=-1)  # [R, V]
            lp[:, BOS] = -math.inf
            lp[:, PAD] = -math.inf
            if step == 0:
                lp[:, EOS] = -math.inf
            at_limit = step >= max_len[alive][row_pos]  # only EOS may follow
            if bool(at_limit.any()):
                eos = lp[:, EOS].clone()
                lp[at_limit] = -math.inf
                lp[at_limit, EOS] = eos[at_limit]
            cand = torch.full((A * k, V), -math.inf)
            cand[slot] = scores[:, None] + lp
            vals, idx = cand.view(A, k * V).topk(k, dim=1)  # [A, k]
            budget = k - n_finished[alive]
            valid = (torch.arange(k)[None, :] < budget[:, None]) & (vals > -math.inf)
            parent_slot = idx // V
            token = idx % V
            is_eos = token == EOS
            slot_row = torch.full((A * k,), -1, dtype=torch.long)
            slot_row[slot] = torch.arange(R)
            parent_row = slot_row[(torch.arange(A)[:, None] * k + parent_slot)]
            level = len(parents)  # the level of this step's input rows
            for a, j in (valid & is_eos).nonzero().tolist():
                s = int(alive[a])
                lpv = float(vals[a, j])
                finished[s].append((self.norm(lpv, step + 1), lpv, level, int(parent_row[a, j])))
                n_finished[s] += 1
            live = valid & ~is_eos
            n_live = live.sum(1)
            done = (n_live == 0) | (n_finished[alive] >= k)
            # early stop: the best live hypothesis cannot beat the best finished one
            best_live = torch.where(live, vals, torch.full_like(vals, -math.inf)).max(1).values
            for a in (~done & (n_finished[alive] > 0)).nonzero().flatten().tolist():
                s = int(alive[a])
                bl = float(best_live[a])
                best = max(f[0] for f in finished[s])
                if bl <= 0 and self.norm(bl, int(max_len[s]) + 1) < best:
                    done[a] = True
            keep = live & ~done[:, None]
            newpos = torch.cumsum(~done, 0) - 1  # new position of each surviving sentence
            a_idx, j_idx = keep.nonzero(as_tuple=True)
            rank = (torch.cumsum(keep, 1) - 1)[a_idx, j_idx]
            rows = parent_row[a_idx, j_idx]
            parents.append(rows)
            emitted.append(token[a_idx, j_idx])
            tokens = token[a_idx, j_idx]
            scores = vals[a_idx, j_idx]
            h = h[rows]
            if lstm:
                c = c[rows]
            if bool(done.any()):
                still = ~done
                alive, ctx, pad_mask = alive[still], ctx[still], pad_mask[still]
            row_pos = newpos[a_idx]
            slot = row_pos * k + rank
            step += 1
        out = []
        for s in range(S):
            best = max(finished[s], key=lambda f: f[0]) if finished[s] else None
            hyp = []
            if best is not None:
                level, row = best[2], best[3]
                while level > 0:
                    hyp.append(int(emitted[level - 1][row]))
                    row = int(parents[level - 1][row])
                    level -= 1
                hyp.reverse()
            out.append(hyp)
        return out


def translate_all(searcher, sources, batch):
    """revnmt's batching (nmt/decode/translator.cc): sorted by decreasing length, cut every
    `batch` sentences or when the padded tokens would exceed batch * 128."""
    order = sorted(range(len(sources)), key=lambda i: -len(sources[i]))
    results = [None] * len(sources)
    begin = 0
    while begin < len(order):
        steps = len(sources[order[begin]]) + 1
        end = begin + 1
        while end < len(order) and end - begin < batch and (end - begin + 1) * steps <= batch * 128:
            end += 1
        hyps = searcher.search([sources[i] for i in order[begin:end]])
        for i, hyp in zip(order[begin:end], hyps):
            results[i] = hyp
        begin = end
    return results


def cmd_translate(args):
    sources = read_sentences(os.path.join(args.work, "test.bin"), b"RVTS")
    model = Seq2Seq(args.cell, args.vocab)
    model.load_revnmt(read_weights(args.weights))
    model.eval()
    searcher = Searcher(model, args.beam)
    rates, token_rates = [], []
    hyps = None
    for r in range(args.repeats + 1):
        start = time.perf_counter()
        hyps = translate_all(searcher, sources, args.batch)
        dt = time.perf_counter() - start
        if r == 0:
            continue
        rates.append(len(sources) / dt)
        token_rates.append(sum(len(h) for h in hyps) / dt)
    tokens = sum(len(h) for h in hyps)
    same = ""
    extra = {}
    if args.hyps and os.path.exists(args.hyps):
        ref = read_sentences(args.hyps, b"RVHY")
        agree = sum(a == b for a, b in zip(ref, hyps)) / len(ref)
        same = f", {100 * agree:.1f}% identical to revnmt's"
        extra["identical_to_revnmt"] = agree
    print(f"translate {args.cell:8s} torch beam {args.beam} batch {args.batch:3d}: "
          f"{statistics.median(rates):7.1f} sentences/s, {statistics.median(token_rates):8.0f} "
          f"target tokens/s ({tokens} tokens{same}), peak RSS {peak_rss() / 1e6:6.1f} MB", flush=True)
    result(kind="translate", impl="pytorch", cell=args.cell, precision="fp32", beam=args.beam,
           batch=args.batch, threads=args.threads, sent_s=statistics.median(rates),
           tok_s=statistics.median(token_rates), target_tokens=tokens, peak_rss=peak_rss(), **extra)


# ---------------------------------------------------------------------------------------------
# memory: bytes of the tensors autograd saves for backward (activations; parameters are not
# counted), on the synthetic batches revnmt-bench memory uses.


def synthetic_batch(rows, length, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    ids = lambda: torch.randint(4, vocab, (length, rows), generator=g)
    b = {"rows": rows, "src": ids(), "tgt_in": ids(), "tgt_out": ids()}
    b["src"][length - 1] = EOS
    b["tgt_in"][0] = BOS
    b["tgt_out"][length - 1] = EOS
    b["src_len"] = torch.full((rows,), length, dtype=torch.long)
    b["tgt_len"] = torch.full((rows,), length, dtype=torch.long)
    return b


def saved_bytes(model, b):
    param_ptrs = {p.data_ptr() for p in model.parameters()}
    storages = {}

    def pack(t):
        s = t.storage()
        ptr = s.data_ptr()
        if ptr not in param_ptrs:
            storages[ptr] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model.loss(b)
    total = sum(storages.values())
    del loss
    return total


def slope(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x)


def cmd_memory(args):
    torch.manual_seed(1)
    model = Seq2Seq(args.cell, args.vocab)
    for series in ("batch", "length"):
        xs, ys, line = [], [], ""
        for v in ((32, 64, 128, 256) if series == "batch" else (25, 50, 100, 200)):
            rows, length = (v, 25) if series == "batch" else (64, v)
            bytes_ = saved_bytes(model, synthetic_batch(rows, length, args.vocab, rows * 1000 + length))
            xs.append(rows * length)
            ys.append(bytes_)
            line += f" {'B' if series == 'batch' else 'L'}={v}: {bytes_:.0f} B ({bytes_ / (rows * length):.0f} B/token);"
            result(kind="memory_point", impl="pytorch", cell=args.cell, series=series, rows=rows,
                   length=length, held_bytes=bytes_)
        s = slope(xs, ys)
        print(f"memory {args.cell:8s} torch vs {series:6s} (L=25 / B=64):{line} slope {s:.1f} bytes "
              f"per target token", flush=True)
        result(kind="memory", impl="pytorch", cell=args.cell, series=series, bytes_per_token=s)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["train", "translate", "memory"])
    p.add_argument("--work", default="bench-work")
    p.add_argument("--cell", default="gru", choices=["gru", "lstm"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--updates", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--weights", help="translate: weights exported by revnmt-bench export")
    p.add_argument("--hyps", help="translate: revnmt's hypotheses, to count identical outputs")
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    {"train": cmd_train, "translate": cmd_translate, "memory": cmd_memory}[args.command](args)


if __name__ == "__main__":
    main()
