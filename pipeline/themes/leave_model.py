"""Fine-tuned leave-intent model: e5-small with LoRA adapters + a two-class head, one probability per post.

The theme head's leave unit (``classifier.LeaveUnit``) is a linear read-out of frozen sentence embeddings: it
finds leave intent that is said ("har sagt op", "interviewing elsewhere") but rarely what is only hinted at
("to whoever inherits my desk in March"), and it may add a flag only where the post has the retention theme.
This model fine-tunes the encoder itself on the same training posts (``pipeline.themes.train_leave``), reads
the whole post, and adds leave intent at p >= its threshold wherever the rules negated no trigger in the post
("I'm not leaving" stays the rules' call). It costs one more forward pass per post, so it can be switched off
(``STEMNING_LEAVE_MODEL=off``): the hybrid is then the theme head's leave unit alone.

The file is a normal head file (``pipeline.nlp.heads.LinearHead``: adapters, head, temperature, metadata
with the threshold and how it was chosen); the adapters are merged into a private copy of the encoder
weights at load. Nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import LEAVE_MODELS, REPO_ROOT, checked_choice, get_settings

DEFAULT_LEAVE_MODEL = REPO_ROOT / "models" / "heads" / "leave-e5-lora-v2.npz"


def leave_model_setting(value: str | None = None) -> str:
    """``value`` or the ``STEMNING_LEAVE_MODEL`` setting, checked."""
    return checked_choice(value, get_settings().leave_model, LEAVE_MODELS, "leave model")


def leave_model_sha256(path: Path = DEFAULT_LEAVE_MODEL) -> str:
    from pipeline.nlp.heads import cached_sha256

    return cached_sha256(path)


def leave_model_version(value: str | None = None) -> str:
    """``""`` when off, else ``+leave-<file hash>`` (a suffix of the classifier version, for cache keys)."""
    return "" if leave_model_setting(value) == "off" else f"+leave-{leave_model_sha256()[:10]}"


@dataclass
class LeaveModel:
    head: Any  # pipeline.nlp.heads.LinearHead, two classes: (not leave intent, leave intent)
    encoder: Any  # pipeline.nlp.transformer.E5Encoder with the adapters merged

    @property
    def threshold(self) -> float:
        return float(self.head.meta["threshold"])

    @property
    def layers(self) -> tuple[int, ...]:
        return tuple(self.head.meta["layers"])

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """P(leave intent) per text, shape (n,); blank texts get 0 (no forward pass). A long text is scored per
        chunk and the chunks' probabilities averaged by length, as the sentiment model does."""
        from pipeline.nlp.transformer import _weighted_by_owner

        out = np.zeros(len(texts))
        idx = [i for i, t in enumerate(texts) if t.strip()]
        if idx:
            chunks = self.encoder.chunk([texts[i] for i in idx])
            proba = self.head.predict_proba(self.encoder.embed_chunks(chunks, layers=self.layers))
            out[idx] = _weighted_by_owner(proba, chunks, len(idx))[:, 1]
        return out


def load_leave_model(path: Path = DEFAULT_LEAVE_MODEL, precision: str | None = None) -> LeaveModel:
    """Load the head file and an encoder with its adapters merged (precision: the ``STEMNING_PRECISION``
    setting unless given)."""
    from pipeline.nlp.heads import LinearHead
    from pipeline.nlp.transformer import E5Encoder, _offline_model_dir

    if not Path(path).is_file():
        raise FileNotFoundError(f"no leave model at {path} (train one with `python -m pipeline.themes.train_leave`, "
                                "or set STEMNING_LEAVE_MODEL=off)")
    head = LinearHead.load(Path(path))
    if head.weight.shape[0] != 2 or "threshold" not in head.meta or not head.adapters:
        raise ValueError(f"{path} is not a leave-intent model (two classes, LoRA adapters, a threshold)")
    encoder = E5Encoder.from_pretrained(_offline_model_dir(), precision=precision, adapters=head.adapters,
                                        adapter_scale=head.meta.get("lora", {}).get("scale", 1.0))
    return LeaveModel(head, encoder)


def get_leave_model() -> LeaveModel | None:
    """The process-wide leave model, or None when ``STEMNING_LEAVE_MODEL=off`` (read at every call, so the
    setting and the version recorded with the rows cannot disagree)."""
    return None if leave_model_setting() == "off" else _committed_model()


@cache
def _committed_model() -> LeaveModel:
    return load_leave_model()
