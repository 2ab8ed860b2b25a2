"""Milvus as the store: see :mod:`retrieval.stores.milvus.store`.

client   the connection: credentials beside the URI, deadlines, a fresh connection after a failure
schema   the deployment's collection names and fields
record   the pointer record: the current version and the versions kept
lease    one writer at a time, across machines
version  a published version as search and the indexer read it
writer   writing a build as a new version; recovery and pruning
store    the backend tying them together
"""

from .client import in_filter, public_uri
from .store import MilvusStore

__all__ = ["MilvusStore", "in_filter", "public_uri"]
