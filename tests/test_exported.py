"""Packing tokenised texts into padded batches, and pooling them back, for the exported encoders."""

from __future__ import annotations

import numpy as np

from retrieval.encoders.exported import pack, pool_into


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


def test_an_export_runs_once_per_stamp_and_a_failed_one_leaves_nothing(tmp_path):
    import json

    import pytest

    from retrieval.encoders.embedding import BUNDLED_MODEL_NAME, bundled_ref
    from retrieval.encoders.exported import ensure_exported

    ref, folder, calls = bundled_ref(), tmp_path / "model" / "backend", []

    def export(source, out):
        calls.append(source)
        assert (out / "tokenizer.json").is_file()  # written first: calibration may tokenise
        (out / "model.bin").write_bytes(b"weights")

    assert ensure_exported(ref, folder, stamp={"version": 1}, product="model.bin", export=export) == folder
    recorded = json.loads((folder / "export.json").read_text())
    assert (recorded["version"], recorded["model"], len(recorded["weights_sha256"])) == (1, BUNDLED_MODEL_NAME, 64)
    ensure_exported(ref, folder, stamp={"version": 1}, product="model.bin", export=export)
    assert len(calls) == 1  # up to date: not even the weights are read
    ensure_exported(ref, folder, stamp={"version": 2}, product="model.bin", export=export)
    assert len(calls) == 2

    def broken(source, out):
        raise RuntimeError("converter crashed")

    with pytest.raises(RuntimeError):
        ensure_exported(ref, folder, stamp={"version": 3}, product="model.bin", export=broken)
    assert json.loads((folder / "export.json").read_text())["version"] == 2  # the last good export is intact
    assert not folder.with_name("backend.part").exists()
    ensure_exported(ref, folder, stamp={"version": 3}, product="model.bin", export=export)
    assert len(calls) == 3 and not folder.with_name("backend.part").exists()
