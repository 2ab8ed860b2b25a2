"""A damaged snapshot is refused with exit 4 and one line, and the next plain ``ragbot index`` rebuilds.

The class, not only the reported examples: every file of a real snapshot is truncated, emptied,
flipped, deleted, swapped for a folder or a link; files are added; the manifest gets wrong JSON
types, missing keys, huge values, an empty or incomplete file list, and is then *re-sealed*
(renamed to its new digest, as a careful forger would), so that what refuses it is the manifest's
own checks and not only its digest; the ``CURRENT`` pointer gets undecodable or hostile bytes.
Each case goes through the real CLI (typer in-process, the fake embedder at the model boundary),
and the reported ones also through ``python -m bot`` in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import CliContext, app
from retrieval import IndexCorrupt, Settings, open_current
from retrieval.indexer import build_index
from retrieval.stores.manifest import MANIFEST
from retrieval.stores.pointer import POINTER, SNAPSHOTS, current_version
from retrieval.stores.snapshot import Snapshot

from .support import BRIDGE_ARTICLE, SNAPSHOT_DATA_FILES, fake_encoders, make_settings

Mutation = Callable[[Path], None]  # applied to a data folder holding one good snapshot


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with one good snapshot of the seeds, copied by every case."""
    settings = make_settings(tmp_path_factory.mktemp("pristine"))
    build_index(settings, fake_encoders()(settings))
    return settings.data_dir


@pytest.fixture
def data(tmp_path: Path, pristine: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(pristine, target, symlinks=True)
    return target


def folder(data: Path) -> Path:
    return data / SNAPSHOTS / current_version(data)


def manifest_of(data: Path) -> dict[str, Any]:
    return json.loads((folder(data) / MANIFEST).read_text(encoding="utf-8"))


def reseal(data: Path, raw: bytes | str) -> None:
    """Write ``raw`` as the current snapshot's manifest and rename the folder to its digest, as the writer would."""
    raw = raw.encode() if isinstance(raw, str) else raw
    old = folder(data)
    (old / MANIFEST).write_bytes(raw)
    new = old.with_name(f"{old.name.split('-')[0]}-{hashlib.sha256(raw).hexdigest()[:16]}")
    old.rename(new)
    (data / POINTER).write_text(new.name + "\n")


def resealed(change: Callable[[dict[str, Any]], object]) -> Mutation:
    """A mutation that edits the manifest as JSON, then re-seals it."""

    def mutate(data: Path) -> None:
        manifest = manifest_of(data)
        replaced = change(manifest)
        reseal(data, json.dumps(manifest if replaced is None else replaced))

    return mutate


def cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), obj=CliContext(settings, fake_encoders()))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_refused_then_rebuilt(data: Path, *, reason: str | None = None) -> str:
    """Opening refuses (exit 4, one line, no traceback); a plain ``index`` rebuilds and serves."""
    settings = make_settings(data.parent)
    with pytest.raises(IndexCorrupt) as refused:
        open_current(data)
    message = str(refused.value)
    assert "\n" not in message and "ragbot index" in message, message
    if reason:
        assert reason in message
    for command in ("stats", "sources"):
        code, out, err = cli(settings, command)
        assert (code, out, err) == (4, "", f"error: {message}\n")
    code, out, err = cli(settings, "index")
    assert code == 0, err
    assert out.startswith("Indexed 5 articles") and "full rebuild" in out and "Traceback" not in err
    assert "current snapshot unusable" in err
    snap = open_current(data)
    assert snap.size > 0 and snap.manifest.counts["articles"] == 5
    snap.close()
    code, out, _ = cli(settings, "search", "--json", "-k", "1", "aide réciproque en cas d'attaque")
    assert code == 0 and json.loads(out)["hits"][0]["article_id"] == "001_58e8c327b5777ef9"
    return message


# --- the reported cases, as reported (no re-sealing) and through `python -m bot` ---------------------


def _flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))


REPORTED: dict[str, Mutation] = {
    "manifest []": lambda d: (folder(d) / MANIFEST).write_text("[]"),
    "files []": lambda d: (folder(d) / MANIFEST).write_text(json.dumps(manifest_of(d) | {"files": []})),
    "files {} and a broken FAISS header": lambda d: (
        (folder(d) / MANIFEST).write_text(json.dumps(manifest_of(d) | {"files": {}})),
        _flip(folder(d) / "dense.embedding.faiss", 0),
    ),
    "undecodable CURRENT": lambda d: (d / POINTER).write_bytes(b"\xff\xfe\x9c\x00garbage\n"),
}


@pytest.mark.parametrize("case", list(REPORTED))
def test_reported_corruptions_exit_4_with_one_line_and_index_rebuilds(data: Path, case: str):
    REPORTED[case](data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env |= {"RAGBOT_DATA_DIR": str(data), "RAGBOT_ARTICLES_DIR": str(make_settings(data.parent).articles_dir)}
    for command in ("stats", "sources", "ask"):
        args = [command, "What did the treaty include?"] if command == "ask" else [command]
        proc = subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=data.parent, env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 4, proc.stderr
        assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("error: ")
        assert "ragbot index" in proc.stderr
    assert_refused_then_rebuilt(data)


# --- every file of a snapshot, every way of damaging it -----------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _to_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "x").write_text("x")


def _to_link(path: Path) -> None:
    """The same bytes, but through a link to a copy outside the snapshot."""
    outside = path.parent.parent.parent.parent / f"outside-{path.name}"
    shutil.copyfile(path, outside)
    path.unlink()
    path.symlink_to(outside)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "emptied": lambda p: p.write_bytes(b""),
    "first byte flipped": lambda p: _flip(p, 0),
    "middle byte flipped": lambda p: _flip(p, p.stat().st_size // 2),
    "deleted": lambda p: p.unlink(),
    "a folder": _to_folder,
    "a link": _to_link,
}
FILES = sorted([MANIFEST, *SNAPSHOT_DATA_FILES])


def test_the_file_list_is_the_snapshot(pristine: Path):
    """The cases below cover every file a snapshot has."""
    assert sorted(p.name for p in folder(pristine).iterdir()) == FILES


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("name", FILES)
def test_any_damaged_file_is_refused_and_index_rebuilds(data: Path, name: str, damage: str):
    DAMAGE[damage](folder(data) / name)
    assert_refused_then_rebuilt(data)


#: the files a snapshot has once an addition wrote a segment and a removal tombstones
SEGMENT_FILES = [
    *(f"dense.{name}.1.faiss" for name in ("embedding", "multilingual", "sentences")),
    "passages.1.sqlite",
    *(f"bm25_{name}.1.npy" for name in ("indptr", "indices", "tf", "doclen")),
    "bm25_vocab.1.json",
    "tombstones.passages.npy",
    "tombstones.sentences.npy",
]


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose current snapshot has a second segment per vector set and tombstones."""
    root = tmp_path_factory.mktemp("segmented")
    articles = root / "articles"
    shutil.copytree(make_settings(root).articles_dir, articles)
    settings = make_settings(root, articles_dir=articles)
    build_index(settings, fake_encoders()(settings))
    (articles / "000_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
    build_index(settings, fake_encoders()(settings))
    (articles / "000_pont.md").unlink()
    build_index(settings, fake_encoders()(settings))
    assert set(SEGMENT_FILES) <= {p.name for p in folder(settings.data_dir).iterdir()}
    return settings.data_dir


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("name", SEGMENT_FILES)
def test_a_damaged_segment_or_tombstone_file_is_refused_and_index_rebuilds(
    tmp_path: Path, segmented: Path, name: str, damage: str
):
    data = tmp_path / "data"
    shutil.copytree(segmented, data, symlinks=True)
    DAMAGE[damage](folder(data) / name)
    assert_refused_then_rebuilt(data)


EXTRA: dict[str, Mutation] = {
    "a stray file": lambda d: (folder(d) / "notes.txt").write_text("hello"),
    "a hot SQLite journal": lambda d: (folder(d) / "passages.sqlite-journal").write_bytes(b"\x00" * 512),
    "a stray folder": lambda d: (folder(d) / "extra").mkdir(),
    "a hidden file": lambda d: (folder(d) / ".manifest.json.swp").write_text("x"),
}


@pytest.mark.parametrize("case", list(EXTRA))
def test_a_file_the_manifest_does_not_list_is_refused(data: Path, case: str):
    EXTRA[case](data)
    assert_refused_then_rebuilt(data, reason="a file its manifest does not list")


# --- the manifest's own checks: edited, then re-sealed under its new digest ---------------------------


def _set(*path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """Set ``m[a][b][c]`` in the manifest (``value`` may be a function of the manifest)."""

    def change(m: dict[str, Any]) -> None:
        *parents, last = path
        target = m
        for key in parents:
            target = target[key]
        target[last] = value(m) if callable(value) else value

    return change


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        *parents, last = path
        target = m
        for key in parents:
            target = target[key]
        del target[last]

    return change


def _first_article(m: dict[str, Any]) -> str:
    return sorted(m["articles"])[0]


def _huge_but_adding_up(m: dict[str, Any]) -> None:
    """Counts that add up inside the manifest but not to the files: 10^12 passages."""
    extra = 10**12 - m["counts"]["passages"]
    m["articles"][_first_article(m)]["passages"] += extra
    m["counts"]["passages"] = 10**12


RESEALED: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    # case: (change, what the message names)
    "a list": (lambda m: [], "not a JSON object"),
    "an empty object": (lambda m: {}, "format None"),
    "files a list": (_set("files", value=[]), "'files'"),
    "files empty": (_set("files", value={}), "does not list"),
    "files null": (_set("files", value=None), "'files'"),
    "files without the database": (_drop("files", "passages.sqlite"), "does not list passages.sqlite"),
    "files without a vector set": (_drop("files", "dense.sentences.faiss"), "does not list dense.sentences.faiss"),
    "files naming a parent folder": (_set("files", "../CURRENT", value="0" * 64), "'files'"),
    "files naming an unknown file": (_set("files", "extra.bin", value="0" * 64), "unknown file extra.bin"),
    "a digest not in hex": (_set("files", "passages.sqlite", value="z" * 64), "'files'"),
    "a wrong digest": (_set("files", "passages.sqlite", value="0" * 64), "passages.sqlite is missing or fails"),
    "files missing": (_drop("files"), "'files' is missing"),
    "counts missing": (_drop("counts"), "'counts' is missing"),
    "counts a string": (_set("counts", "passages", value="12"), "'counts'"),
    "counts a float": (_set("counts", "passages", value=lambda m: float(m["counts"]["passages"])), "'counts'"),
    "counts a boolean": (_set("counts", "articles", value=True), "'counts'"),
    "counts NaN": (_set("counts", "sentences", value=float("nan")), "'counts'"),
    "counts negative": (_set("counts", "sentences", value=-1), "'counts'"),
    "counts huge": (_set("counts", "passages", value=10**30), "'counts'"),
    "counts huge but adding up": (_huge_but_adding_up, "vectors do not match the manifest"),
    "sentences off by one": (_set("counts", "sentences", value=lambda m: m["counts"]["sentences"] + 1), "not match"),
    "articles not adding up": (_set("counts", "articles", value=4), "do not add up"),
    "articles null": (_set("articles", value=None), "'articles'"),
    "an article a string": (lambda m: m["articles"].update({_first_article(m): "x"}), "'articles'"),
    "an article without a hash": (lambda m: m["articles"][_first_article(m)].clear(), "'articles'"),
    "encoders a list": (_set("encoders", value=[]), "'encoders'"),
    "encoders empty": (_set("encoders", value={}), "unknown file"),
    "no multilingual encoder": (_drop("encoders", "multilingual"), "unknown file"),
    "an unknown encoder role": (_set("encoders", "other", value={"model": "x", "dim": 8}), "'encoders'"),
    "a model that is not text": (_set("encoders", "embedding", "model", value=5), "'encoders'"),
    "a huge dimension": (_set("encoders", "embedding", "dim", value=10**9), "'encoders'"),
    "another dimension": (_set("encoders", "embedding", "dim", value=255), "embedding vectors do not match"),
    "an unknown language": (_set("analyzer", "language", value="klingon"), "'analyzer'"),
    "a language that is a list": (_set("analyzer", "language", value=["french"]), "'analyzer'"),
    "analyzer a string": (_set("analyzer", value="french"), "'analyzer'"),
    "chunking a list": (_set("chunking", value=[]), "'chunking'"),
    "format a string": (_set("format", value="3"), "format '3'"),
    "format from the future": (_set("format", value=99), "format 99"),
    "format missing": (_drop("format"), "format None"),
    "created_at a number": (_set("created_at", value=5), "'created_at'"),
    "build_seconds text": (_set("build_seconds", value="fast"), "'build_seconds'"),
    "index_types a list": (_set("index_types", value=[]), "'index_types'"),
    "index_settings a list": (_set("index_settings", value=[]), "'index_settings'"),
}


@pytest.mark.parametrize("case", list(RESEALED))
def test_a_resealed_manifest_that_does_not_check_out_is_refused(data: Path, case: str):
    change, reason = RESEALED[case]
    resealed(change)(data)
    assert_refused_then_rebuilt(data, reason=reason)


RAW_MANIFESTS: dict[str, bytes] = {
    "not UTF-8": b'{"format": 3, "files": {"\xff\xfe": "x"}}',
    "deeply nested": b"[" * 200_000 + b"]" * 200_000,
    "an integer of 5000 digits": b'{"format": 1' + b"0" * 5000 + b"}",
    "truncated JSON": b'{"format": 3, "files": {',
    "empty": b"",
    "null": b"null",
}


@pytest.mark.parametrize("case", list(RAW_MANIFESTS))
def test_a_resealed_manifest_that_does_not_parse_is_refused(data: Path, case: str):
    reseal(data, RAW_MANIFESTS[case])
    assert_refused_then_rebuilt(data, reason="manifest")


def test_resealing_itself_keeps_a_snapshot_valid(data: Path):
    """The control for the cases above: re-sealed with harmless edits, a snapshot still loads and serves,
    so what refuses them is what each one broke."""
    resealed(lambda m: m.update(created_at="yesterday"))(data)
    snap = open_current(data)
    assert snap.manifest.created_at == "yesterday" and snap.size > 0
    code, out, _ = cli(make_settings(data.parent), "ask", "traité")
    assert code == 0 and "[1]" in out


def test_a_manifest_edited_without_resealing_fails_its_digest(data: Path):
    (folder(data) / MANIFEST).write_text(json.dumps(manifest_of(data) | {"created_at": "yesterday"}))
    assert_refused_then_rebuilt(data, reason="does not match the digest in its name")


# --- the pointer -------------------------------------------------------------------------------------------

POINTERS: dict[str, Mutation] = {
    "empty": lambda d: (d / POINTER).write_bytes(b""),
    "NUL bytes": lambda d: (d / POINTER).write_bytes(b"\x00" * 16),
    "a parent folder": lambda d: (d / POINTER).write_text("../../..\n"),
    "an absolute path": lambda d: (d / POINTER).write_text(str(folder(d)) + "\n"),
    "a missing snapshot": lambda d: (d / POINTER).write_text("20990101T000000000000Z-0123456789abcdef\n"),
    "trailing garbage": lambda d: (d / POINTER).write_text(current_version(d) + " extra\n"),
    "a megabyte": lambda d: (d / POINTER).write_bytes(b"A" * 1_000_000),
    "a folder": lambda d: ((d / POINTER).unlink(), (d / POINTER).mkdir()),
    "a dangling link": lambda d: ((d / POINTER).unlink(), (d / POINTER).symlink_to(d / "nowhere")),
    "a snapshot renamed to another digest": lambda d: (d / POINTER).write_text(
        folder(d).rename(folder(d).with_name(folder(d).name[:-16] + "0" * 16)).name
    ),
    "a snapshot replaced by a file": lambda d: (shutil.rmtree(folder(d)), folder(d).write_text("x")),
}


@pytest.mark.parametrize("case", list(POINTERS))
def test_a_damaged_pointer_is_refused_and_index_rebuilds(data: Path, case: str):
    POINTERS[case](data)
    assert_refused_then_rebuilt(data)


# --- random damage ------------------------------------------------------------------------------------------


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(FILES),
    where=st.floats(0, 1, exclude_max=True),
    how=st.one_of(
        st.integers(1, 255).map(lambda x: ("xor", x)),
        st.just(("cut", 0)),
        st.binary(min_size=1, max_size=64).map(lambda b: ("insert", b)),
    ),
)
def test_any_random_damage_to_any_file_is_refused(tmp_path: Path, pristine: Path, name: str, where: float, how):
    data = tmp_path / "fuzz"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(pristine, data)
    path = folder(data) / name
    raw = bytearray(path.read_bytes())
    at = int(where * len(raw))
    kind, arg = how
    if kind == "xor":
        raw[at] ^= arg
    elif kind == "cut":
        del raw[at:]
    else:
        raw[at:at] = arg
    path.write_bytes(bytes(raw))
    with pytest.raises(IndexCorrupt) as refused:
        Snapshot(folder(data))
    assert "\n" not in str(refused.value) and "ragbot index" in str(refused.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a JSON value (the root included)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            out += _paths(inner, (*prefix, key))
    return out


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pick=st.integers(0, 10**6), value=json_values, drop=st.booleans())
def test_any_resealed_manifest_is_refused_or_serves(tmp_path: Path, pristine: Path, pick: int, value, drop: bool):
    """Random JSON anywhere in the manifest, re-sealed: never anything but IndexCorrupt or a working snapshot."""
    data = tmp_path / "fuzz"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(pristine, data)
    manifest = manifest_of(data)
    paths = _paths(manifest)
    path = paths[pick % len(paths)]
    if not path:
        manifest = value
    else:
        *parents, last = path
        target = manifest
        for key in parents:
            target = target[key]
        if drop:
            del target[last]
        else:
            target[last] = value
    reseal(data, json.dumps(manifest))
    try:
        snap = open_current(data)
    except IndexCorrupt as err:
        assert "\n" not in str(err) and "ragbot index" in str(err)
        event("refused")
        return
    event("loaded")
    snap.close()
    code, out, err = cli(make_settings(data.parent, data_dir=data), "search", "--json", "-k", "3", "aide réciproque")
    assert code in (0, 4), err  # 4: an edit the loader accepts but the search refuses (another model name)
    assert (code == 0 and len(json.loads(out)["hits"]) == 3) or (code == 4 and err.count("\n") == 1)
