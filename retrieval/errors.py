"""Domain exceptions raised by the core and turned into messages at the edge.

RagbotError                 base: carries a one-line message and an exit code
 ├── IndexNotBuilt          no snapshot in the data directory yet
 ├── IndexCorrupt           a snapshot whose files or manifest do not check out
 ├── ModelMismatch          the snapshot was built with another embedding model
 ├── ModelUnavailable       the embedding model cannot be found or loaded
 ├── StoreUnavailable       the store's server (Milvus) cannot be reached or refused a request
 ├── BadArticle             one article file was refused (per-file, not fatal)
 ├── BadQuestion            a question that is empty or too long once cleaned
 └── NoArticles             nothing indexable (no longer raised by the indexer: an empty
                            folder is a valid, empty collection)
"""

from __future__ import annotations

from pathlib import Path


class RagbotError(Exception):
    """Base class: ``str(err)`` is a message fit for a user, ``exit_code`` for a shell."""

    exit_code = 1


class IndexNotBuilt(RagbotError):
    exit_code = 3

    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            f"no index in {data_dir}: build one with `ragbot index` "
            "(articles are read from RAGBOT_ARTICLES_DIR, default ./seeds)"
        )


class IndexCorrupt(RagbotError):
    exit_code = 4


class ModelMismatch(RagbotError):
    exit_code = 4


class ModelUnavailable(RagbotError):
    exit_code = 5


class StoreUnavailable(RagbotError):
    exit_code = 9


class BadQuestion(RagbotError):
    exit_code = 2


class NoArticles(RagbotError):
    exit_code = 6


class BadArticle(RagbotError):
    """An article file that cannot be indexed; the rest of the folder still is."""

    exit_code = 6

    def __init__(self, path: Path | str, reason: str) -> None:
        # A Path names a file by its name; a str (e.g. a URL) is shown as it is.
        self.path = Path(path)
        self.label = path if isinstance(path, str) else self.path.name
        self.reason = reason
        super().__init__(f"{self.label}: {reason}")
