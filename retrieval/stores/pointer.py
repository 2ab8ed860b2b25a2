"""The FAISS store's ``CURRENT`` pointer and its versioned snapshot folders.

Layout of the data directory::

    data/
      CURRENT                     name of the current snapshot (switched with os.replace)
      snapshots/<stamp>-<digest>/ one complete snapshot (see :mod:`retrieval.stores.snapshot`)
      snapshots/.tmp-<stamp>/     a snapshot being written (removed by the next build if left)
      verified.json               the files already checked against their checksum (a cache: seals.py)

A snapshot folder is renamed into place complete and fsynced, and only then named by
``CURRENT``: a reader never sees a half-written one. Old snapshots are pruned, never the
current one; a file linked from a newer snapshot (a segment, a database) lives on in it.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ..errors import IndexCorrupt
from .manifest import REBUILD, one_line

POINTER = "CURRENT"
SNAPSHOTS = "snapshots"
TMP_PREFIX = ".tmp-"
DIGEST_CHARS = 16  # of the manifest's sha256, in hex: 64 bits
#: <UTC stamp> for format 2, <UTC stamp>-<manifest digest> since format 3
VERSION_NAME = re.compile(r"(?P<stamp>[0-9]{8}T[0-9]{12}Z)(?:-(?P<digest>[0-9a-f]{16}))?")


def utc_stamp() -> str:
    """The current UTC time as a version stamp (``20240619T230900123456Z``)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def current_version(data_dir: Path) -> str | None:
    """The version ``CURRENT`` names; None without a pointer, :class:`IndexCorrupt` for a damaged one."""
    pointer = Path(data_dir) / POINTER
    try:
        with open(pointer, "rb") as fh:
            raw = fh.read(256)  # a version name is 39 characters: more is damage, however much more
    except FileNotFoundError:
        if pointer.is_symlink():
            raise IndexCorrupt(f"{pointer} is a link to nothing; {REBUILD}") from None
        return None
    except OSError as err:  # a folder, a dangling or looping link, unreadable
        raise IndexCorrupt(f"{data_dir}/{POINTER} cannot be read ({type(err).__name__}); {REBUILD}") from None
    try:
        version = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        version = ""
    if not VERSION_NAME.fullmatch(version):  # also keeps "../" and friends out of the path
        raise IndexCorrupt(f"{data_dir}/{POINTER} does not name a snapshot ({one_line(repr(raw[:60]))}); {REBUILD}")
    return version


def switch_pointer(data_dir: Path, version: str) -> None:
    """Make ``version`` current, atomically (a reader sees the old name or the new one)."""
    tmp = data_dir / f"{POINTER}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(version + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    pointer = data_dir / POINTER
    if pointer.is_dir() and not pointer.is_symlink():  # damage os.replace cannot write over
        shutil.rmtree(pointer)
    os.replace(tmp, pointer)
    fsync_dir(data_dir)


def prune_snapshots(data_dir: Path, *, keep: int) -> None:
    """Remove all but the ``keep`` newest complete snapshots (never the current one)."""
    snapshots = data_dir / SNAPSHOTS
    current = current_version(data_dir)
    complete = sorted(p for p in snapshots.iterdir() if p.is_dir() and not p.name.startswith(TMP_PREFIX))
    for path in complete[: max(0, len(complete) - keep)]:
        if path.name != current:
            shutil.rmtree(path, ignore_errors=True)


def remove_unfinished(data_dir: Path) -> list[str]:
    """Delete half-written snapshot folders left by a crashed build. Call only under the index lock."""
    snapshots = Path(data_dir) / SNAPSHOTS
    if not snapshots.is_dir():
        return []
    leftovers = [p for p in snapshots.iterdir() if p.name.startswith(TMP_PREFIX)]
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    (Path(data_dir) / f"{POINTER}.tmp").unlink(missing_ok=True)
    return [p.name for p in leftovers]


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
