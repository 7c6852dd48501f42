"""Small, exact statistics used by the alerts and the validation (no SciPy needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def two_proportion_z(k1: float, n1: float, k0: float, n0: float) -> float | None:
    """z of p1 − p0 with the pooled-proportion standard error; None when undefined."""
    if n1 <= 0 or n0 <= 0:
        return None
    pooled = (k1 + k0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    if se == 0:
        return None
    return (k1 / n1 - k0 / n0) / se


def mean_and_se(total: float, total_sq: float, n: float) -> tuple[float, float] | None:
    """Mean and its standard error (sample SD / √n) from a sum and a sum of squares."""
    if n < 2:
        return None
    mean = total / n
    var = max((total_sq - total * total / n) / (n - 1), 0.0)
    return mean, math.sqrt(var / n)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """ROC AUC as the Mann–Whitney probability that a positive outranks a negative (ties count ½)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        raise ValueError("AUC needs at least one positive and one negative")
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))
