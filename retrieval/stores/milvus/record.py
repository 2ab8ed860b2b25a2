"""The pointer record: which version is current, and the versions kept before it.

It is one row of the deployment's pointer collection (``<prefix>_pointer``), written in one
request when a version is published, so every reader sees the old record or the new one. A
reader asks for the version's name before each question (a few bytes) and reads the whole
record only when the name has changed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ...errors import IndexCorrupt, StoreUnavailable
from ..manifest import REBUILD, one_line
from .client import in_filter
from .schema import NIL, Names, index_params, pointer_schema

if TYPE_CHECKING:
    from .client import Connection

CURRENT = "current"
FORMAT = 1


@dataclass(frozen=True)
class Kept:
    """A version published before the current one, kept while a reader may still be on it."""

    version: str
    number: int
    generation: str
    #: when the version after it was published (epoch seconds)
    superseded: float


@dataclass(frozen=True)
class Record:
    """The current version: its name and number, the generation holding its rows, the manifest."""

    version: str
    number: int
    generation: str
    #: the generation's collections besides the passages: "sentences", "articles", "terms", "words"
    roles: tuple[str, ...]
    #: the next primary key of the generation (keys only grow: a row's position follows its key)
    next_pk: int
    #: encoders, analyzer, chunking, counts, created_at, build_seconds, index_types, index_settings
    manifest: dict[str, Any]
    published: float
    kept: tuple[Kept, ...] = field(default_factory=tuple)
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Record:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            kept = tuple(Kept(**k) for k in data.pop("kept"))
            record = cls(**{**data, "roles": tuple(data["roles"]), "kept": kept})
            for key in ("encoders", "analyzer", "chunking", "counts", "index_types", "index_settings"):
                if not isinstance(record.manifest.get(key), dict):
                    raise ValueError(f"its manifest has no {key}")
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise IndexCorrupt(f"the Milvus pointer record is malformed ({one_line(err)}); {REBUILD}") from None
        return record

    def successor(self, version: str, generation: str, roles: tuple[str, ...], next_pk: int, manifest: dict) -> Record:
        """The record of the next version: this one joins the versions kept."""
        now = time.time()
        gone = Kept(self.version, self.number, self.generation, superseded=now)
        return replace(
            self,
            version=version,
            number=self.number + 1,
            generation=generation,
            roles=roles,
            next_pk=next_pk,
            manifest=manifest,
            published=now,
            kept=(gone, *self.kept),
        )

    def oldest_number(self, generation: str) -> int:
        """The smallest version number still kept in ``generation`` (rows dead before it are unseen by all)."""
        return min([self.number] + [k.number for k in self.kept if k.generation == generation])

    def generations(self) -> set[str]:
        """The generations some kept version reads."""
        return {self.generation, *(k.generation for k in self.kept)}


def first_record(version: str, generation: str, roles: tuple[str, ...], next_pk: int, manifest: dict) -> Record:
    return Record(version, 1, generation, roles, next_pk, manifest, published=time.time())


class Pointer:
    """The deployment's pointer collection: the current record, and the writer's lease heartbeats.

    A row is never rewritten in place (an upsert is a delete then an insert, and a reader between
    the two would find no current version): each record, each heartbeat is a new row, keyed so
    that the newest sorts last, and the older ones are deleted once the new one is there.
    """

    def __init__(self, connection: Connection, names: Names) -> None:
        self.connection = connection
        self.name = names.pointer

    def version(self) -> str | None:
        """The current version's name (one small read: asked before every question)."""
        row = self.newest(f"{CURRENT}/", value=False)
        return row["version"] if row else None

    def record(self) -> Record | None:
        row = self.newest(f"{CURRENT}/")
        return Record.from_json(row["value"]) if row else None

    def publish(self, record: Record) -> None:
        """Make ``record`` current: its row first, then the older records' rows go."""
        key = f"{CURRENT}/{record.number:012d}/{time.time_ns():020d}"  # sorts after every earlier record
        self.add(f"{CURRENT}/", key, record.version, record.to_json())

    def newest(self, prefix: str, *, value: bool = True) -> dict | None:
        """The newest row whose key starts with ``prefix``; None when there is none, or no pointer
        collection yet."""
        fields = ["key", "version", "value"] if value else ["key", "version"]
        try:
            rows = self.connection.call("query", self.name, filter=f'key like "{prefix}%"', output_fields=fields)
        except StoreUnavailable:
            if not self.connection.call("has_collection", self.name):
                return None
            raise
        return max(rows, key=lambda r: r["key"]) if rows else None

    def add(self, prefix: str, key: str, version: str, value: str) -> None:
        """Write row ``key`` (under ``prefix``), then delete the rows under ``prefix`` that sort before it."""
        self.ensure()
        self.connection.call("insert", self.name, [{"key": key, "version": version, "value": value, "nil": NIL}])
        self.connection.call("delete", self.name, filter=f'key like "{prefix}%" and key < "{key}"')

    def delete(self, prefix: str, *, but: str | None = None) -> None:
        """Delete every row whose key starts with ``prefix`` (``but`` those starting with ``but``)."""
        if not self.connection.call("has_collection", self.name):
            return
        if but is None:
            self.connection.call("delete", self.name, filter=f'key like "{prefix}%"')
            return
        found = self.connection.call("query", self.name, filter=f'key like "{prefix}%"', output_fields=["key"])
        doomed = [r["key"] for r in found if not r["key"].startswith(but)]  # "not like" is not in every server
        if doomed:
            self.connection.call("delete", self.name, filter=in_filter("key", doomed))

    def ensure(self) -> None:
        """Create the pointer collection if it is missing (creating it twice at once is harmless:
        the same schema both times)."""
        call = self.connection.call
        if call("has_collection", self.name):
            return
        call("create_collection", self.name, schema=pointer_schema(), consistency_level="Strong")
        call("create_index", self.name, index_params("nil", "FLAT", "IP"))
        call("load_collection", self.name)
