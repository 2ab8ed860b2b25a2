"""Which snapshot files were already checked against their checksum, so that a start does not
hash gigabytes again.

A file is hashed when it is written (the writer reads back what is on disk) and, by each data
folder, the first time it is opened; a match is then recorded in ``<data>/verified.json`` under
the file's identity: device, inode, size and modification time (nanoseconds). A later open skips
the hash of a file whose identity is unchanged and whose recorded digest is the one its manifest
names. Anything that rewrites or replaces a file (a copy, a restore, an edit, a truncation) gives
it another identity: it is hashed again, and refused when it fails. What this cannot see is a
change that keeps the modification time (a deliberate ``touch -d``, or bit rot under the file
system); deleting ``verified.json`` makes the next open hash every file again.

The record is a cache, never truth: a damaged or missing one only costs hashing again, and a
record that cannot be written (a read-only folder) is skipped.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

SEALS = "verified.json"
#: entries kept: far more than the files of the few snapshots a data folder holds
MAX_ENTRIES = 4096


def identity(path: Path) -> str | None:
    """Device, inode, size and modification time of a regular file (never followed through a link)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


class Seals:
    """The files of one data folder that matched their checksum, by identity."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / SEALS
        self._entries: dict[str, str] = {}
        self._changed = False
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            raw = {}
        if isinstance(raw, dict):
            self._entries = {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}

    def vouches(self, path: Path, digest: str) -> bool:
        """Whether ``path`` is unchanged since it matched ``digest``."""
        key = identity(path)
        return key is not None and self._entries.get(key) == digest

    def add(self, path: Path, digest: str) -> None:
        """Record that ``path`` (as it is now) matched ``digest``."""
        key = identity(path)
        if key is not None and self._entries.get(key) != digest:
            self._entries[key] = digest
            self._changed = True

    def save(self) -> None:
        """Write the record atomically, if it changed; a folder that refuses it is left as it is."""
        if not self._changed:
            return
        entries = dict(list(self._entries.items())[-MAX_ENTRIES:])
        tmp = self.path.with_name(f".{SEALS}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_text(json.dumps(entries, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.path)
            self._changed = False
        except OSError:
            tmp.unlink(missing_ok=True)
