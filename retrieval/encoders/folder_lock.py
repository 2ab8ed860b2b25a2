"""Processes that share a model cache take turns on a model folder made once (an export, the e5 rebuild).

A writer holds the folder's lock exclusively while it makes and publishes the folder; a reader
holds it shared while it checks the folder and loads it. So two processes that both find the
model missing (the first ``ragbot index`` and a ``ragbot serve`` started beside it) make it
once: the second waits, then finds it made. No reader ever loads a folder half-written or
half-replaced. ``flock`` is released by the kernel when its holder dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def lock_path(folder: Path) -> Path:
    """The lock file of a model folder: beside it, so replacing the folder never replaces the lock."""
    return folder.with_name(folder.name + ".lock")


@contextlib.contextmanager
def folder_lock(folder: Path, *, exclusive: bool, waiting: str = "") -> Iterator[None]:
    """Hold ``folder``'s lock (shared or exclusive), waiting for it; ``waiting`` is said once if
    another process holds it. Where the lock file can be neither opened nor made (a read-only
    cache, as in the Docker image), nothing can write the folder either: no lock is needed."""
    path = lock_path(folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            yield
            return
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                logging.getLogger("retrieval.notice").info(waiting)
            fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # releases the lock
