"""Milvus as the store (``RAGBOT_STORE=milvus``): the server is the one source of truth.

Everything needed to answer lives on the server (:mod:`.schema` names it): the passages' text,
offsets and sentence spans, each article's title, date, source, author and URL, the manifest
entries incremental indexing reads, the document frequencies abstention weighs words by, and
the pointer record naming the current version. A replica's data folder holds only caches (the
models): a new one answers at once, and follows every version another machine publishes from
its next question on. One writer at a time holds the deployment's lease (:mod:`.lease`);
published versions never change (:mod:`.writer`), and only this deployment's own collections
that no kept version reads are ever dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ...errors import IndexNotBuilt
from .client import Connection
from .lease import Lease
from .record import Pointer, Record
from .schema import Names
from .version import MilvusVersion
from .writer import Writer

if TYPE_CHECKING:
    from ...config import Settings
    from ..base import StoreVersion
    from ..build import Build

log = logging.getLogger(__name__)

BACKEND = "milvus"


class MilvusStore:
    """:class:`~retrieval.stores.backend.StoreBackend` on a Milvus server or cluster."""

    name = BACKEND

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection = Connection(settings)
        self.names = Names(settings.milvus_collection_prefix)
        self.pointer = Pointer(self.connection, self.names)
        self.writer = Writer(
            self.connection,
            self.names,
            self.pointer,
            vector_index=settings.vector_index,
            threshold=settings.vector_index_threshold,
            keep=settings.milvus_keep_versions,
            grace=settings.milvus_prune_grace_seconds,
        )
        self._lease: Lease | None = None
        self._last: MilvusVersion | None = None  # the version opened last: the next one reads only what changed
        self._lock = threading.Lock()

    # --- reading --------------------------------------------------------------------------

    def current_version(self) -> str | None:
        return self.pointer.version()

    def open_current(self, *, verify: bool = True) -> MilvusVersion:
        record = self.pointer.record()
        if record is None:
            raise IndexNotBuilt(f"{self.connection.where()} (prefix {self.names.prefix})")  # type: ignore[arg-type]
        with self._lock:
            last = self._last
        version = MilvusVersion.open(self.connection, record, after=last)
        with self._lock:
            if self._last is None or self._last.number <= version.number:
                self._last = version
        return version

    # --- writing --------------------------------------------------------------------------

    @contextmanager
    def lease(self) -> Iterator[None]:
        """Hold the deployment's writer lease (:class:`~retrieval.lock.IndexBusy` when another writer has it)."""
        lease = Lease(self.connection, self.names, self.pointer, self.settings.milvus_lease_seconds)
        with lease:
            with self._lock:
                self._lease = lease
            try:
                yield
            finally:
                with self._lock:
                    self._lease = None

    @contextmanager
    def _held(self) -> Iterator[Lease]:
        """The lease this process holds, or one taken for the length of the call."""
        with self._lock:
            held = self._lease
        if held is not None:
            yield held
            return
        with self.lease():
            assert self._lease is not None
            yield self._lease

    def write(self, build: Build, previous: StoreVersion | None) -> str:
        with self._held() as lease:
            before = previous.record.generation if isinstance(previous, MilvusVersion) else None
            record = self.writer.write(build, previous if isinstance(previous, MilvusVersion) else None, lease)
            if record.generation != before:
                self._point_alias(record)
            self.writer.prune(record)
            return record.version

    def remove_unfinished(self) -> list[str]:
        with self._held():
            return self.writer.recover(self.pointer.record())

    def prune(self) -> None:
        with self._held():
            self.writer.prune(self.pointer.record())

    def _point_alias(self, record: Record) -> None:
        """Point the alias ``<prefix>`` at the current generation where the server has aliases (a
        cluster; milvus-lite has none, and the pointer record is what every reader follows)."""
        client = self.connection
        try:
            client.call("alter_alias", record.generation, self.names.prefix)
        except Exception as err:  # the alias does not exist yet, or the server has no aliases
            if _unimplemented(err):
                log.info("this Milvus server has no aliases: readers follow the pointer record only")
                return
            try:
                client.call("create_alias", record.generation, self.names.prefix)
            except Exception as again:
                if _unimplemented(again):
                    log.info("this Milvus server has no aliases: readers follow the pointer record only")
                else:
                    log.warning("could not point alias %s at %s (%s)", self.names.prefix, record.generation, again)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "uri": self.connection.where(), "prefix": self.names.prefix}


def _unimplemented(err: BaseException) -> bool:
    return "UNIMPLEMENTED" in str(err)
