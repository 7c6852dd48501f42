"""A small, calibrated classification head on frozen sentence embeddings.

Multinomial logistic regression (negative, neutral, positive) fitted by Newton's method in numpy: no
randomness, no iteration-order effects, so a re-run reproduces the committed head up to BLAS rounding.
Probabilities are calibrated by one temperature fitted on held-out training data. The head file is tiny
(~10 KB) and committed; its hash is part of the model version, so a new head re-scores cached texts.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from pipeline.nlp.base import LABELS


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class LinearHead:
    weight: np.ndarray  # (classes, d): 3 sentiment classes (``LABELS``) unless meta["labels"] says otherwise
    bias: np.ndarray  # (classes,)
    mean: np.ndarray  # (d,) feature standardisation
    scale: np.ndarray  # (d,)
    temperature: float = 1.0
    meta: dict = field(default_factory=dict)
    # LoRA deltas for the encoder (``adapter.<module path>.A/B``), merged into its weights at load; empty
    # for a head on the frozen encoder.
    adapters: dict[str, np.ndarray] = field(default_factory=dict)

    def logits(self, features: np.ndarray) -> np.ndarray:
        x = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return x @ self.weight.T + self.bias

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features) / self.temperature)

    def save(self, path: Path) -> str:
        """Write ``<path>.npz`` (arrays) + ``<path>.json`` (metadata); returns the npz sha256."""
        arrays = {"weight": self.weight.astype(np.float32), "bias": self.bias.astype(np.float32),
                  "mean": self.mean.astype(np.float32), "scale": self.scale.astype(np.float32),
                  "temperature": np.array([self.temperature], dtype=np.float32)}
        arrays.update({f"check_{k}": np.asarray(v, dtype=np.float32)
                       for k, v in self.meta.pop("_check_arrays", {}).items()})
        arrays.update({k: np.asarray(v, dtype=np.float16) for k, v in self.adapters.items()})
        digest, _ = write_head_files(path, arrays, {**self.meta, "labels": list(self.meta.get("labels", LABELS))})
        return digest

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        stored, meta = read_head_files(path)
        arrays = {k: v.astype(np.float64) for k, v in stored.items()}
        meta["_check_arrays"] = {k[len("check_"):]: v for k, v in arrays.items() if k.startswith("check_")}
        adapters = {k: v.astype(np.float32) for k, v in arrays.items() if k.startswith("adapter.")}
        return cls(arrays["weight"], arrays["bias"], arrays["mean"], arrays["scale"],
                   float(arrays["temperature"][0]), meta, adapters)


def write_head_files(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> tuple[str, dict]:
    """Write ``<path>.npz`` (byte-stable) and ``<path>.json`` (``meta`` + the npz sha256); returns the digest
    and the metadata written. Shared by every head file (sentiment and theme heads)."""
    path = Path(path).with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_npz(path, arrays)
    digest = sha256_file(path)
    meta = {**meta, "npz_sha256": digest}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return digest, meta


def read_head_files(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The stored arrays of ``<path>.npz`` and the metadata of ``<path>.json`` (empty if absent), with the
    npz sha256 recomputed from the file."""
    path = Path(path).with_suffix(".npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    meta["npz_sha256"] = sha256_file(path)
    return arrays, meta


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    # np.savez stamps the current time into the zip; fixed timestamps and order make equal heads
    # byte-identical, so the head hash (part of the model version) changes only when the head does.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@cache
def cached_sha256(path: Path) -> str:
    """``sha256_file`` once per process (committed model files do not change while it runs)."""
    return sha256_file(path)


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale < 1e-8, 1.0, scale)


def fit_softmax_regression(
    x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None, l2: float = 1.0,
    n_classes: int = 3, max_iter: int = 30, tol: float = 1e-8,
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """L2-regularised multinomial logistic regression by Newton's method (bias unpenalised).

    The objective is ``sum_i w_i * NLL_i / sum_i w_i + l2 / (2 n) * ||W||^2``. Deterministic: same inputs,
    same output. ``init`` (weight, bias) warm-starts from a nearby solution (e.g. the previous value on an
    L2 grid), which saves most iterations; the optimum is unique, so only the path changes.
    Returns (weight (K, d), bias (K,)).
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = w / w.sum()
    xb = np.hstack([x, np.ones((n, 1))])
    onehot = np.eye(n_classes)[y]
    theta = np.zeros((n_classes, d + 1)) if init is None else np.hstack([init[0], init[1][:, None]])
    reg = np.full(d + 1, l2 / n)
    reg[-1] = 1e-8  # bias: unpenalised (tiny ridge keeps the Hessian invertible)
    prev = np.inf
    for _ in range(max_iter):
        p = softmax(xb @ theta.T)
        loss = -np.sum(w * np.log(np.clip(p[np.arange(n), y], 1e-300, None))) + 0.5 * np.sum(reg * theta**2)
        grad = ((p - onehot) * w[:, None]).T @ xb + reg * theta
        hess = np.zeros((n_classes, d + 1, n_classes, d + 1))
        for k in range(n_classes):
            for j in range(k, n_classes):
                c = w * p[:, k] * ((k == j) - p[:, j])
                block = (xb * c[:, None]).T @ xb
                hess[k, :, j, :] = block
                hess[j, :, k, :] = block.T
        size = n_classes * (d + 1)
        hess = hess.reshape(size, size) + np.diag(np.tile(reg, n_classes))
        step = np.linalg.solve(hess, grad.reshape(-1)).reshape(n_classes, d + 1)
        theta -= step
        if abs(prev - loss) < tol:
            break
        prev = loss
    return theta[:, :d], theta[:, d]


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising held-out NLL of softmax(logits / T) (golden-section on log T)."""

    def nll(log_t: float) -> float:
        p = softmax(logits / np.exp(log_t))
        return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None))))

    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    for _ in range(80):
        if nll(a) < nll(b):
            hi, b = b, a
            a = hi - g * (hi - lo)
        else:
            lo, a = a, b
            b = lo + g * (hi - lo)
    return float(np.exp((lo + hi) / 2))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """ECE with equal-width confidence bins: sum over bins of |accuracy - mean confidence| * share."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if len(confidence) == 0:
        return float("nan")
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += abs(correct[m].mean() - confidence[m].mean()) * m.mean()
    return float(ece)
