"""LoRA adapters: merging reproduces the adapted forward pass, head files carry adapters, and the
fine-tuning procedure is seeded (its recorded check run reproduces)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def tiny_xlmr():
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=32, max_position_embeddings=40)
    return XLMRobertaModel(config).eval()


def test_merged_adapters_give_the_adapted_forward_pass() -> None:
    from pipeline.nlp import lora

    base = tiny_xlmr()
    adapted = copy.deepcopy(base)
    params = lora.attach(adapted, rank=4, scale=2.0, blocks=range(2))
    assert len(params) == 2 * 5 * 2  # A and B for five layers in each of two blocks
    assert all(p.requires_grad for p in params)
    assert not any(p.requires_grad for n, p in adapted.named_parameters() if ".A" not in n and ".B" not in n)
    with torch.no_grad():
        for p in params:
            p.copy_(torch.randn_like(p) * 0.1)  # B starts at zero: make the adapters actually do something
    ids = torch.tensor([[0, 5, 9, 13, 2], [0, 7, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    with torch.no_grad():
        want = adapted(input_ids=ids, attention_mask=mask).last_hidden_state
        unchanged = base(input_ids=ids, attention_mask=mask).last_hidden_state
        arrays = lora.adapter_arrays(adapted)
        assert len(arrays) == 20 and all(k.startswith("adapter.encoder.layer.") for k in arrays)
        merged = copy.deepcopy(base)
        assert lora.merge(merged, arrays, scale=2.0) == 10
        got = merged(input_ids=ids, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(unchanged, want, atol=1e-3)


def test_merge_refuses_adapters_that_do_not_fit() -> None:
    from pipeline.nlp import lora

    model = tiny_xlmr()
    bad = {"adapter.encoder.layer.0.attention.self.query.A": np.zeros((4, 16), np.float32),
           "adapter.encoder.layer.0.attention.self.query.B": np.zeros((99, 4), np.float32)}
    with pytest.raises(ValueError, match="shape"):
        lora.merge(model, bad, 1.0)
    missing = {"adapter.encoder.layer.7.output.dense.A": np.zeros((4, 32), np.float32),
               "adapter.encoder.layer.7.output.dense.B": np.zeros((16, 4), np.float32)}
    with pytest.raises(ValueError, match="does not fit"):
        lora.merge(model, missing, 1.0)


def test_head_files_round_trip_adapters(tmp_path: Path) -> None:
    from pipeline.nlp.heads import LinearHead

    adapters = {"adapter.encoder.layer.0.output.dense.A": np.full((2, 3), 0.25, np.float32),
                "adapter.encoder.layer.0.output.dense.B": np.full((4, 2), -0.5, np.float32)}
    head = LinearHead(np.ones((3, 4)), np.zeros(3), np.zeros(4), np.ones(4), 1.5, {"lora": {"scale": 2.0}}, adapters)
    head.save(tmp_path / "h.npz")
    loaded = LinearHead.load(tmp_path / "h.npz")
    assert loaded.meta["lora"] == {"scale": 2.0} and loaded.temperature == 1.5
    assert set(loaded.adapters) == set(adapters)
    for k, v in adapters.items():
        np.testing.assert_array_equal(loaded.adapters[k], v)  # exact in fp16 for these values


@pytest.mark.slow
def test_finetune_check_run_reproduces_the_committed_record() -> None:
    """Re-runs the seeded check fine-tune (a few steps from a fresh fp32 encoder) recorded with the
    committed fine-tuned head and compares the resulting logits."""
    from pipeline.nlp import finetune, sentiment_data
    from pipeline.nlp.e5_convert import build
    from pipeline.nlp.heads import LinearHead
    from pipeline.nlp.transformer import FINETUNED_HEAD

    committed = LinearHead.load(FINETUNED_HEAD)
    check = committed.meta["check"]
    assert tuple(check["texts"]) == finetune.CHECK_TEXTS and check["steps"] == finetune.CHECK_STEPS
    try:
        logits = finetune.check_run(build())
    except sentiment_data.SharedDataMissing as exc:
        pytest.fail(f"needs ../shared/data: {exc}")
    np.testing.assert_allclose(logits, np.array(check["logits"]), atol=2e-3 * np.abs(check["logits"]).max() + 1e-3)


@pytest.mark.slow
def test_finetuned_model_merges_its_adapters_and_scores(e5_model) -> None:
    from pipeline.nlp.base import get_model, labels_from_proba

    ft = get_model("e5-small-sentiment-ft")
    assert ft.head.meta["lora"]["rank"] == 8 and len(ft.head.adapters) == 2 * 5 * 12
    base_layer = e5_model.encoder.model.encoder.layer[0]
    ft_layer = ft.encoder.model.encoder.layer[0]
    assert not torch.equal(base_layer.attention.self.query.weight, ft_layer.attention.self.query.weight)
    assert torch.equal(base_layer.attention.self.key.weight, ft_layer.attention.self.key.weight)  # not adapted
    assert ft.model_version != e5_model.model_version
    texts = ["Jeg elsker mit job, mine kolleger er fantastiske!", "My manager is rude and the pay is terrible.",
             "Personalemødet starter kl. 14 i kantinen på fjerde sal."]
    assert labels_from_proba(ft.predict_proba(texts)) == ["positive", "negative", "neutral"]
