"""One indexer at a time: an advisory lock file in the data folder (CLI, bot, cron on one machine),
and the store's own writer lease where the store is shared by several machines (Milvus)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import RagbotError

if TYPE_CHECKING:
    from .stores.backend import StoreBackend

LOCK_FILE = "index.lock"


class IndexBusy(RagbotError):
    exit_code = 7


@contextmanager
def index_lock(data_dir: Path, store: StoreBackend | None = None) -> Iterator[None]:
    """Hold the data directory's indexing lock, then ``store``'s writer lease, or fail at once with
    :class:`IndexBusy`.

    ``flock`` is released by the kernel when the holder dies, even by SIGKILL, so a crashed
    indexer never leaves the lock stuck; a store's lease lapses by itself (see its backend).
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise IndexBusy(
            "a re-index is already running (another `ragbot index`, `add` or /reindex); try again later"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        if store is None:
            yield
        else:
            with store.lease():
                yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
