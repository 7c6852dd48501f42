"""Low-rank adapters (LoRA) for the e5 encoder: trained by ``finetune``, merged into the weights at load.

A fine-tuned copy of the 470 MB encoder cannot be committed; its change can: each adapted Linear layer
``W`` gets ``W + scale * B @ A`` with ``A`` (rank x in) and ``B`` (out x rank), ~0.6 M numbers for rank 8
on five Linear layers of all twelve encoder blocks (~1.2 MB in fp16). Merged at load, scoring costs
exactly what the base model costs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

# Linear layers adapted in every encoder block (XLM-R module names).
TARGETS = ("attention.self.query", "attention.self.value", "attention.output.dense", "intermediate.dense",
           "output.dense")
PREFIX = "adapter."


class LoRALinear(nn.Module):
    """``base(x) + scale * x A^T B^T``; ``B`` starts at zero, so training starts from the base model."""

    def __init__(self, base: nn.Linear, rank: int, scale: float) -> None:
        super().__init__()
        self.base = base
        self.scale = scale
        self.A = nn.Parameter(torch.empty(rank, base.in_features))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale


def module_paths(blocks: Iterable[int]) -> list[str]:
    return [f"encoder.layer.{i}.{t}" for i in blocks for t in TARGETS]


def attach(model: nn.Module, rank: int, scale: float, blocks: Iterable[int]) -> list[nn.Parameter]:
    """Freeze ``model`` and wrap the target Linear layers of ``blocks``; returns the trainable parameters."""
    for p in model.parameters():
        p.requires_grad_(False)
    params: list[nn.Parameter] = []
    for path in module_paths(blocks):
        parent_path, name = path.rsplit(".", 1)
        parent = model.get_submodule(parent_path)
        wrapped = LoRALinear(getattr(parent, name), rank, scale)
        setattr(parent, name, wrapped)
        params += [wrapped.A, wrapped.B]
    return params


def adapter_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """``adapter.<path>.A`` / ``.B`` arrays (fp32) of every attached adapter, for the head file."""
    out: dict[str, np.ndarray] = {}
    for path, module in model.named_modules():
        if isinstance(module, LoRALinear):
            out[f"{PREFIX}{path}.A"] = module.A.detach().float().numpy().copy()
            out[f"{PREFIX}{path}.B"] = module.B.detach().float().numpy().copy()
    return out


def merge(model: nn.Module, arrays: dict[str, np.ndarray], scale: float) -> int:
    """Add ``scale * B @ A`` to each named Linear weight (computed in fp32, stored in the weight's dtype).
    Returns the number of merged layers; raises if an adapter names a layer the model lacks."""
    paths = sorted({k[len(PREFIX):].rsplit(".", 1)[0] for k in arrays if k.startswith(PREFIX)})
    with torch.no_grad():
        for path in paths:
            try:
                linear = model.get_submodule(path)
            except AttributeError as exc:
                raise ValueError(f"adapter for {path!r} does not fit this model") from exc
            a = torch.from_numpy(np.asarray(arrays[f"{PREFIX}{path}.A"], dtype=np.float32))
            b = torch.from_numpy(np.asarray(arrays[f"{PREFIX}{path}.B"], dtype=np.float32))
            delta = (b @ a) * scale
            if delta.shape != linear.weight.shape:
                raise ValueError(f"adapter for {path!r} has shape {tuple(delta.shape)}, the layer "
                                 f"{tuple(linear.weight.shape)}")
            linear.weight.copy_((linear.weight.float() + delta).to(linear.weight.dtype))
    return len(paths)
