"""Packing tokenised texts into padded batches, and pooling them back, for the exported encoders."""

from __future__ import annotations

import numpy as np

from retrieval.exported import pack, pool_into


def _hidden(batch):
    """A stand-in for a model's last hidden state: each position carries its token id."""
    ids = batch.feed["input_ids"].astype(np.float32)
    return np.stack([ids, np.ones_like(ids)], axis=-1)


def test_pack_pads_to_the_multiple_and_pooling_leaves_padding_out():
    texts = [[5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9], [9], [4, 4, 4, 4, 4]]
    batches = pack(texts, size=2, multiple=8, max_len=64)
    assert [b.rows for b in batches] == [(1, 3), (0, 2)]  # longest first
    assert [b.feed["input_ids"].shape for b in batches] == [(2, 16), (2, 8)]
    for b in batches:
        assert (b.feed["attention_mask"].sum(axis=1) == b.lengths).all()
        assert not b.feed["token_type_ids"].any()
    out = np.zeros((len(texts), 2), dtype=np.float32)
    for b in batches:
        pool_into(out, b, _hidden(b))
    means = np.array([[np.mean(t), 1.0] for t in texts])
    np.testing.assert_allclose(out, means / np.linalg.norm(means, axis=1, keepdims=True), rtol=1e-6)


def test_pack_never_pads_past_the_model_length_and_multiple_one_means_no_padding():
    assert pack([[1] * 60], size=4, multiple=16, max_len=60)[0].feed["input_ids"].shape == (1, 60)
    assert pack([[1] * 61], size=4, multiple=16, max_len=256)[0].feed["input_ids"].shape == (1, 64)
    assert [b.feed["input_ids"].shape for b in pack([[1, 2], [3]], size=1, multiple=1, max_len=9)] == [(1, 2), (1, 1)]
    assert pack([], size=4, multiple=16, max_len=256) == []
