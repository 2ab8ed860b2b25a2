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


def test_a_model_made_for_an_export_is_made_in_its_scratch_space_and_not_kept(tmp_path):
    import shutil

    from retrieval.encoders.embedding import ModelRef, Rebuild, bundled_model_dir
    from retrieval.encoders.exported import ensure_exported

    made = []

    def write(folder):
        made.append(folder)
        shutil.copytree(bundled_model_dir(), folder)
        return folder

    origin = {"source_bytes": 1}
    ref = ModelRef("made/model", str(tmp_path / "never"), local=True, rebuild=Rebuild(write, lambda: dict(origin)))
    folder = tmp_path / "models" / "made" / "backend"

    def export(source, out):
        assert (source / "config.json").is_file() and source.is_relative_to(out)
        (out / "model.bin").write_bytes(b"weights")

    ensure_exported(ref, folder, stamp={"version": 1}, product="model.bin", export=export)
    assert len(made) == 1 and not made[0].exists() and not (tmp_path / "never").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["export.json", "model.bin", "pooling.json", "tokenizer.json"]
    ensure_exported(ref, folder, stamp={"version": 1}, product="model.bin", export=export)
    assert len(made) == 1  # up to date: nothing made
    origin["source_bytes"] = 2  # what it is made from changed: made and exported again
    ensure_exported(ref, folder, stamp={"version": 1}, product="model.bin", export=export)
    assert len(made) == 2


EXPORTER = """
import json, sys, time
from pathlib import Path
from retrieval.encoders.embedding import bundled_ref
from retrieval.encoders.exported import ensure_exported

folder, journal = Path(sys.argv[1]), Path(sys.argv[2])

def export(source, out):
    with open(journal, "a") as fh:
        fh.write("export\\n")
    for i in range(20):  # slow enough for the other process to arrive meanwhile
        (out / f"part{i}").write_text(str(i))
        time.sleep(0.05)
    (out / "model.bin").write_text("whole")

got = ensure_exported(bundled_ref(), folder, stamp={"version": 1}, product="model.bin", export=export)
print(json.dumps(sorted(p.name for p in Path(got).iterdir())))
"""


def test_two_processes_needing_the_same_export_make_it_once_and_both_load_it_whole(tmp_path):
    """The first `ragbot index` and a `ragbot serve` beside it: one exports, the other waits for it."""
    import json
    import subprocess
    import sys

    folder, journal = tmp_path / "models" / "m" / "backend", tmp_path / "journal"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", EXPORTER, str(folder), str(journal)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in results]
    whole = sorted([*(f"part{i}" for i in range(20)), "export.json", "model.bin", "pooling.json", "tokenizer.json"])
    assert [json.loads(out) for out, _ in results] == [whole, whole]
    assert journal.read_text().splitlines() == ["export"]
    assert not folder.with_name("backend.part").exists()


def test_the_embedding_table_keeps_each_row_to_within_half_a_step_of_its_int8_scale(tmp_path):
    from retrieval.encoders.exported import EmbeddingTable

    rng = np.random.default_rng(0)
    table = rng.normal(0, 0.05, (1000, 16)).astype(np.float32)
    table[3] = 0  # a row of zeros stays zeros
    table[7] *= 40  # rows of very different sizes each get their own scale
    EmbeddingTable.save(table, tmp_path)
    loaded = EmbeddingTable.load(tmp_path)
    assert isinstance(loaded.rows, np.memmap) and loaded.dim == 16
    ids = np.array([[3, 7, 999], [0, 1, 2]])
    rows = loaded.lookup(ids)
    assert rows.shape == (2, 3, 16) and rows.dtype == np.float32
    step = np.abs(table[ids]).max(axis=-1, keepdims=True) / 127
    assert (np.abs(rows - table[ids]) <= step / 2 + 1e-7).all()
    assert not rows[0, 0].any()
