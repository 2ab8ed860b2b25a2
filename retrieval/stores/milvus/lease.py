"""One writer at a time per deployment, across machines: a lease on the Milvus server.

Taking the lease is creating the collection ``<prefix>_writer_<n+1>``, where ``n`` is the newest
one there, whose holder has let it lapse (or none is there). Creating a collection is the one
"create if absent" the server offers: of two writers creating the same name with different
schemas (each schema has a field named after its holder), exactly one succeeds. The holder then
renews a heartbeat row (in the pointer collection) every quarter of ``RAGBOT_MILVUS_LEASE_SECONDS``;
a writer that dies (even by SIGKILL) stops renewing it, and once it is that old the next writer
takes over, dropping the stale one. Before publishing, a writer checks the lease is still its own
(no newer writer collection): one that stalled past its lease publishes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from ...errors import StoreUnavailable
from ...lock import IndexBusy
from .schema import NIL_DIM

if TYPE_CHECKING:
    from .client import Connection
    from .record import Pointer
    from .schema import Names

log = logging.getLogger(__name__)

HEARTBEAT = "lease"
BUSY = "a re-index is already running (another `ragbot index`, `add` or /reindex{where}); try again later"


class Lease:
    """The deployment's writer lease; use as a context manager (``with lease:``)."""

    def __init__(self, connection: Connection, names: Names, pointer: Pointer, seconds: float) -> None:
        self.connection = connection
        self.names = names
        self.pointer = pointer
        self.seconds = float(seconds)
        self.holder = uuid.uuid4().hex
        self.number: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # --- taking and giving back -----------------------------------------------------------

    def acquire(self) -> None:
        """Take the lease, or :class:`IndexBusy` (exit 7) when another writer holds it."""
        writers = self._writers()
        newest = max(writers, default=0)
        if writers:
            holder = self._describe(writers[newest])
            if holder is not None and self._alive(holder):
                raise IndexBusy(BUSY.format(where=_where(holder)))
        number = newest + 1
        mine = self._info()
        try:
            self.connection.call(
                "create_collection", self.names.writer(number), schema=self._schema(mine), consistency_level="Strong"
            )
        except StoreUnavailable:
            if self.names.writer(number) not in self.connection.call("list_collections"):
                raise
        found = self._describe(self.names.writer(number))
        if found is None or found.get("holder") != self.holder:  # another writer created it first
            raise IndexBusy(BUSY.format(where=_where(found or {})))
        self.number = number
        self.renew()
        for name in writers.values():  # the lapsed leases before this one, and their heartbeats
            self.connection.call("drop_collection", name)
        if writers:
            self.pointer.delete(f"{HEARTBEAT}/", but=f"{HEARTBEAT}/{self.holder}/")
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="ragbot-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Give the lease back (only ever this holder's own)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.seconds)
            self._thread = None
        number, self.number = self.number, None
        if number is None:
            return
        try:
            self.pointer.delete(f"{HEARTBEAT}/{self.holder}/")
            found = self._describe(self.names.writer(number))
            if found is not None and found.get("holder") == self.holder:
                self.connection.call("drop_collection", self.names.writer(number))
        except StoreUnavailable as err:  # the lease lapses by itself
            log.warning("could not give back the writer lease (%s); it lapses in %.0f s", err, self.seconds)

    # --- while holding it -------------------------------------------------------------------

    @property
    def held(self) -> bool:
        return self.number is not None

    def renew(self) -> None:
        value = {"holder": self.holder, "number": self.number, "expires": time.time() + self.seconds}
        mine = f"{HEARTBEAT}/{self.holder}/"
        self.pointer.add(mine, f"{mine}{time.time_ns():020d}", "", json.dumps(value))

    def check(self) -> None:
        """:class:`IndexBusy` unless the lease is still this holder's (no newer writer took over)."""
        writers = self._writers()
        if self.number is None or max(writers, default=0) != self.number:
            raise IndexBusy(
                "this re-index lost the writer lease (it stalled longer than RAGBOT_MILVUS_LEASE_SECONDS and "
                "another writer took over); nothing was published"
            )

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 4):
            try:
                self.renew()
            except StoreUnavailable as err:
                log.warning("could not renew the writer lease: %s", err)

    # --- reading others' ------------------------------------------------------------------

    def _writers(self) -> dict[int, str]:
        names = self.connection.call("list_collections")
        found = {self.names.writer_number(name): name for name in names}
        return {n: name for n, name in found.items() if n is not None}

    def _describe(self, name: str) -> dict[str, Any] | None:
        """The holder recorded in writer collection ``name``, or None when it is gone."""
        try:
            described = self.connection.call("describe_collection", name)
        except StoreUnavailable:
            if name not in self.connection.call("list_collections"):
                return None
            raise
        try:
            return json.loads(described.get("description") or "{}")
        except ValueError:
            return {}

    def _alive(self, holder: dict[str, Any]) -> bool:
        name = str(holder.get("holder", ""))
        row = self.pointer.newest(f"{HEARTBEAT}/{name}/") if name.isalnum() else None
        if row is not None:
            expires = float(json.loads(row["value"]).get("expires", 0))
        else:  # taken but not yet renewed once
            expires = float(holder.get("started", 0)) + self.seconds
        return time.time() < expires

    def _info(self) -> dict[str, Any]:
        return {"holder": self.holder, "host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}

    def _schema(self, info: dict[str, Any]) -> Any:
        from pymilvus import DataType

        from .schema import client_class

        schema = client_class().create_schema(auto_id=False, description=json.dumps(info))
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field(f"h_{self.holder}", DataType.INT64)  # two holders never have the same schema
        schema.add_field("nil", DataType.FLOAT_VECTOR, dim=NIL_DIM)
        return schema


def _where(holder: dict[str, Any]) -> str:
    host, pid = holder.get("host"), holder.get("pid")
    if not host:
        return ""
    return f", on {str(host)[:64]}" + (f" as process {int(pid)}" if isinstance(pid, int) else "")
