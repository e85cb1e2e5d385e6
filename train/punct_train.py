"""Train the punctuation restoration model shipped as ``zhclean/data/punct_model.npz``.

    python -m train.punct_corpus                 # builds /work/data/punct/corpus.jsonl
    python -m train.punct_train                  # trains, writes the model
    python -m evals.punct_eval                   # scores it on the held-out documents

**Data.** The ``train`` documents of the corpus ``train/punct_corpus.py`` builds (its
docstring lists every source with its repository and commit): mixed web text of
CLUECorpusSmall's sample (the project's ``zh-text`` copy, documents 0-999), THUCNews news,
FewCLUE app descriptions and e-commerce reviews, ChineseNlpCorpus food-delivery and
shopping reviews, CMRC 2018 Wikipedia paragraphs and medical questions and answers; (since
the second model) FewCLUE ChID web articles, C3 reading texts, DRCD Wikipedia paragraphs,
BosonNLP and MSRA news and CCF BDCI car-forum comments; (since the third) Weibo posts and
comments (CED), DuReader search results, KdConv dialogues, essays, a medical forum, Weibo
NER posts, administrative judgments and Sohu news: 1,350,306 marks of 166,093 documents.
None of the held-out documents, seeds or dev pages (the test's documents) is trained on.

**Examples.** Each document is normalized and converted to Simplified as a run would;
every 。，、 of each line is written as ``.`` (as the collapsed inputs were); the
candidates the runtime finds (:func:`zhclean.normalizers.punctuation.candidates`) get the
mark that stood there. Features are computed by the runtime's own code
(:func:`~zhclean.normalizers.punctuation.batch_features`), so training and inference read
the same inputs.

**Network** (mirrored in numpy by :class:`~zhclean.normalizers.punctuation.PunctModel`):
character embeddings of a window around each candidate, hashed character n-grams, clause
lengths and flags, the mean embedding of the clauses on both sides → a dense layer → a
bidirectional GRU over the candidates of the line → 。，、. Cross-entropy, Adam; 5% of the
training documents (by a fixed hash) choose the epoch and the per-mark biases that
maximize the mean of sentence-boundary F1 and 、 F1. ``--members`` networks (default 2) are
trained alike with seeds ``--seed``, ``--seed + 1``, ... and written to one file (arrays
prefixed ``m0.``, ``m1.``, ...); the runtime averages their probabilities.

**Determinism.** Fixed seeds, one thread, the same batches in the same order: the same
corpus gives the same model. Training-only dependency: torch (``pip install -e '.[train-punct]'``).
About 15 minutes of CPU for two networks of 10 epochs (the shipped model: these defaults).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np

from evals.punct_eval import reference_text
from zhclean.normalizers.punctuation import (
    MARKS,
    N_NUMERIC,
    N_SPECIAL,
    NGRAMS,
    batch_features,
    candidates,
    char_table,
)

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "zhclean" / "data" / "punct_model.npz"
# Sources over-represented for the genres they stand for: at most this many marks each,
# times --caps (its default, 100, lets every source in whole: the shipped model).
CAP_MARKS = {"iflytek": 45_000, "cmrc": 30_000, "med": 40_000, "shopping": 30_000}
# The most in-domain source is seen this many times per epoch.
REPEAT = {"clue": 3}


def collapse(line: str) -> tuple[str, list[int], list[int]]:
    """The line with every 。，、 written as '.', its candidates and their labels (the
    mark's index in MARKS; a '.' that was a '.' counts as a full stop)."""
    collapsed = "".join("." if c in MARKS else c for c in line)
    cands = candidates(collapsed)
    labels = [MARKS.index(line[p]) if line[p] in MARKS else 0 for p in cands]
    return collapsed, cands, labels


def examples(docs: list[dict]) -> list[tuple[str, list[int], list[int]]]:
    out = []
    for d in docs:
        for line in reference_text(d["text"]).split("\n"):
            if not any(m in line for m in MARKS):
                continue
            collapsed, cands, labels = collapse(line)
            if cands:
                out.append((collapsed, cands, labels))
    return out


def _stable(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def load_corpus(path: Path, caps: float = 1.0) -> tuple[list[dict], list[dict]]:
    """Training and validation documents (5% of the train split by hash), with the caps."""
    docs = [json.loads(ln) for ln in path.open(encoding="utf-8")]
    train = [d for d in docs if d["split"] == "train"]
    valid = [d for d in train if _stable(d["doc"]) % 20 == 0]
    train = [d for d in train if _stable(d["doc"]) % 20 != 0]
    kept = []
    marks: Counter = Counter()
    for d in sorted(train, key=lambda d: _stable("order" + d["doc"])):
        n = sum(d["text"].count(m) for m in MARKS)
        cap = CAP_MARKS.get(d["source"])
        if cap is not None and marks[d["source"]] + n > cap * caps:
            continue
        marks[d["source"]] += n
        kept.extend([d] * REPEAT.get(d["source"], 1))
    return kept, valid


def build_vocab(exs: list[tuple[str, list[int], list[int]]], size: int) -> np.ndarray:
    counts: Counter = Counter()
    for line, _, _ in exs:
        counts.update(line)
    special = (
        set(".0123456789 ") | {chr(c) for c in range(65, 91)} | {chr(c) for c in range(97, 123)}
    )
    chars = [c for c, n in counts.most_common() if n >= 3 and c not in special and ord(c) < 0xFFFF]
    return np.array([ord(c) for c in chars[:size]], dtype=np.int64)


def featurize(exs, table, window, buckets, max_cands=300):
    """Lines cut into pieces of at most ``max_cands`` candidates, with their features."""
    items = []
    for line, cands, labels in exs:
        for start in range(0, len(cands), max_cands):
            c = cands[start : start + max_cands]
            lo = 0 if start == 0 else cands[start - 1] + 1
            hi = len(line) if start + max_cands >= len(cands) else cands[start + max_cands]
            piece = line[lo:hi]
            f = batch_features([(piece, [p - lo for p in c])], table, window, buckets)
            items.append((f, np.asarray(labels[start : start + max_cands], np.int64)))
    return items


def main() -> None:
    import torch
    from torch import nn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/data/punct/corpus.jsonl"))
    parser.add_argument("--out", type=Path, default=MODEL)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--buckets", type=int, default=1 << 15)
    parser.add_argument("--vocab", type=int, default=6000)
    parser.add_argument("--emb", type=int, default=16)
    parser.add_argument("--hash-emb", type=int, default=12)
    parser.add_argument("--bag", type=int, default=12)
    parser.add_argument("--dense", type=int, default=96)
    parser.add_argument("--hidden", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.25)
    parser.add_argument(
        "--seed", type=int, default=0, help="the first member's seed (weights, batch order)"
    )
    parser.add_argument(
        "--members", type=int, default=2, help="networks whose probabilities the runtime averages"
    )
    parser.add_argument(
        "--caps", type=float, default=100.0, help="multiply the per-source caps (100: none bind)"
    )
    args = parser.parse_args()
    if args.members < 1:
        parser.error("--members must be at least 1")

    torch.set_num_threads(args.threads)
    started = time.process_time()

    train_docs, valid_docs = load_corpus(args.corpus, args.caps)
    train_ex, valid_ex = examples(train_docs), examples(valid_docs)
    vocab = build_vocab(train_ex, args.vocab)
    table = char_table(vocab)
    n_ids = N_SPECIAL + len(vocab)
    train_items = featurize(train_ex, table, args.window, args.buckets)
    valid_items = featurize(valid_ex, table, args.window, args.buckets)
    label_counts = Counter(int(x) for _, y in train_items for x in y)
    print(
        f"{len(train_docs)} training documents ({len(train_items)} line pieces, "
        f"{sum(label_counts.values())} marks: {dict(sorted(label_counts.items()))}), "
        f"{len(valid_docs)} validation documents; vocabulary {len(vocab)}; "
        f"features {time.process_time() - started:.0f} CPU-s",
        flush=True,
    )

    w2 = 2 * args.window
    n_in = w2 * args.emb + len(NGRAMS) * args.hash_emb + N_NUMERIC + 2 * args.bag

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(n_ids, args.emb, padding_idx=0)
            self.hash_emb = nn.Embedding(args.buckets, args.hash_emb)
            self.bag_emb = nn.Embedding(n_ids, args.bag)
            self.dense = nn.Linear(n_in, args.dense)
            self.gru = nn.GRU(args.dense, args.hidden, batch_first=True, bidirectional=True)
            self.out = nn.Linear(2 * args.hidden + args.dense, 3)
            self.drop = nn.Dropout(args.dropout)

        def forward(self, batch):
            win, hashes, numeric, ids, lb, rb, lengths = batch
            b, n = win.shape[:2]
            bag = self.bag_emb(ids)
            cum = torch.cat([torch.zeros(b, 1, bag.shape[2]), torch.cumsum(bag, 1)], 1)

            def seg(bounds):
                start, end = bounds[..., 0], bounds[..., 1]
                idx_e = end.unsqueeze(-1).expand(-1, -1, bag.shape[2])
                idx_s = start.unsqueeze(-1).expand(-1, -1, bag.shape[2])
                total = torch.gather(cum, 1, idx_e) - torch.gather(cum, 1, idx_s)
                return total / (end - start).clamp(min=1).unsqueeze(-1).float()

            x = torch.cat(
                [
                    self.emb(win).reshape(b, n, -1),
                    self.hash_emb(hashes).reshape(b, n, -1),
                    numeric,
                    seg(lb),
                    seg(rb),
                ],
                -1,
            )
            d = torch.relu(self.dense(self.drop(x)))
            packed = nn.utils.rnn.pack_padded_sequence(
                d, lengths, batch_first=True, enforce_sorted=False
            )
            h, _ = self.gru(packed)
            h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=n)
            return self.out(self.drop(torch.cat([h, d], -1)))

    def collate(items):
        n = max(len(y) for _, y in items)
        length = max(len(f.ids) for f, _ in items)
        b = len(items)
        win = np.zeros((b, n, w2), np.int64)
        hashes = np.zeros((b, n, len(NGRAMS)), np.int64)
        numeric = np.zeros((b, n, N_NUMERIC), np.float32)
        ids = np.zeros((b, length), np.int64)
        lb = np.zeros((b, n, 2), np.int64)
        rb = np.zeros((b, n, 2), np.int64)
        y = np.full((b, n), -1, np.int64)
        for i, (f, labels) in enumerate(items):
            k = len(labels)
            win[i, :k], hashes[i, :k], numeric[i, :k] = f.window, f.hashes, f.numeric
            ids[i, : len(f.ids)] = f.ids
            lb[i, :k, 0], lb[i, :k, 1] = f.left
            rb[i, :k, 0], rb[i, :k, 1] = f.right
            y[i, :k] = labels
        lengths = torch.tensor([len(lab) for _, lab in items])
        tensors = [torch.from_numpy(a) for a in (win, hashes, numeric, ids, lb, rb)]
        return (*tensors, lengths), torch.from_numpy(y)

    def batches(items, shuffle_seed=None, max_cands=3000):
        order = sorted(range(len(items)), key=lambda i: len(items[i][1]))
        groups, group, size = [], [], 0
        for i in order:
            group.append(i)
            size += len(items[i][1])
            if size >= max_cands or len(group) >= 128:
                groups.append(group)
                group, size = [], 0
        if group:
            groups.append(group)
        if shuffle_seed is not None:
            random.Random(shuffle_seed).shuffle(groups)
        for g in groups:
            yield collate([items[i] for i in g])

    def predict(net, items):
        net.eval()
        out = []
        with torch.no_grad():
            for batch, y in batches(items):
                logits = net(batch)
                mask = y >= 0
                out.append((logits[mask].numpy(), y[mask].numpy()))
        net.train()
        return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])

    def score(logits, y, bias):
        pred = (logits + bias).argmax(1)
        f1 = []
        for k in range(3):
            tp = np.sum((pred == k) & (y == k))
            p = tp / max(np.sum(pred == k), 1)
            r = tp / max(np.sum(y == k), 1)
            f1.append(2 * p * r / max(p + r, 1e-9))
        return f1, float(np.mean(pred == y))

    def objective(logits, y, bias):
        f1, _ = score(logits, y, bias)
        return (f1[0] + f1[2]) / 2

    def train_member(seed: int) -> tuple[dict[str, np.ndarray], int]:
        """One member: its weights (embeddings in float16) and the epoch kept."""
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        net = Net()
        opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
        loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
        best = (-1.0, None, None, -1)
        for epoch in range(args.epochs):
            total, steps = 0.0, 0
            for batch, y in batches(train_items, shuffle_seed=epoch + 1000 * seed):
                opt.zero_grad()
                logits = net(batch)
                loss = loss_fn(logits.reshape(-1, 3), y.reshape(-1))
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 5.0)
                opt.step()
                total += float(loss.detach())
                steps += 1
            sched.step()
            logits, y = predict(net, valid_items)
            # per-mark biases: a small grid around zero, the best by the objective
            grid = np.arange(-1.0, 1.01, 0.25)
            bias = max(
                (np.array([a, 0.0, c]) for a in grid for c in grid),
                key=lambda b: objective(logits, y, b),
            )
            f1, acc = score(logits, y, bias)
            obj = (f1[0] + f1[2]) / 2
            print(
                f"seed {seed} epoch {epoch}: loss {total / steps:.4f}  valid F1 。{f1[0]:.3f} ，{f1[1]:.3f} "
                f"、{f1[2]:.3f}  marks right {acc:.3f}  bias {bias.tolist()}  "
                f"{time.process_time() - started:.0f} CPU-s",
                flush=True,
            )
            if obj > best[0]:
                state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                best = (obj, state, bias, epoch)

        _, state, bias, epoch = best
        arrays = {k: v.numpy().astype(np.float32) for k, v in state.items()}
        arrays["out.bias"] = arrays["out.bias"] + bias.astype(np.float32)
        # embeddings in float16 (the file stays small); the runtime computes in float32
        for key in ("emb.weight", "hash_emb.weight", "bag_emb.weight"):
            arrays[key] = arrays[key].astype(np.float16)
        renamed = {
            "emb": arrays.pop("emb.weight"),
            "hash_emb": arrays.pop("hash_emb.weight"),
            "bag_emb": arrays.pop("bag_emb.weight"),
        }
        return {**renamed, **arrays}, epoch

    members = [train_member(seed) for seed in range(args.seed, args.seed + args.members)]
    meta = {
        "window": args.window,
        "buckets": args.buckets,
        "epoch": [epoch for _, epoch in members],
        "seeds": list(range(args.seed, args.seed + args.members)),
        "trained_on": sorted({d["source"] for d in train_docs}),
        "training_documents": len(set(d["doc"] for d in train_docs)),
        "script": "train/punct_train.py",
        "corpus": "train/punct_corpus.py",
    }
    if len(members) == 1:
        weights = members[0][0]
    else:  # the runtime averages the members' probabilities
        meta["members"] = len(members)
        weights = {f"m{i}.{k}": v for i, (w, _) in enumerate(members) for k, v in w.items()}
    np.savez_compressed(args.out, meta=np.array(json.dumps(meta)), vocab=vocab, **weights)
    print(f"wrote {args.out} (epochs {meta['epoch']}), {time.process_time() - started:.0f} CPU-s")


if __name__ == "__main__":
    main()
