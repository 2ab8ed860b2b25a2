"""A real indexer in a process of its own, for the crash tests (they SIGKILL it at random moments).

    python -m tests.indexer_process DATA_DIR ARTICLES_DIR [BATCH_SLEEP_SECONDS]

It runs the real :func:`retrieval.indexer.build_index` with ``rebuild=True``; only the model
is faked (the model is the process boundary), by the same deterministic hashing embedder as
the other tests, under the same names and dimensions, so an ``Engine`` using
``tests.support.fake_encoders()`` can search what it writes. An optional sleep per encoder
batch stretches the embedding phase; everything after it (lexical index, expansion vocabulary,
snapshot files, checksums, fsync, rename, pointer switch, pruning) is the real code, untouched.

Prints ``embedded`` once every passage and sentence vector is computed (what follows is the
writing) and ``done <version> <passages>`` at the very end, each flushed at once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from retrieval.indexer import build_index

from .support import FakeEmbedder, fake_encoders, make_settings


class SlowFakeEmbedder(FakeEmbedder):
    """The tests' fake embedder, sleeping a little per batch to make the embedding phase longer."""

    def __init__(self, *, batch_sleep: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.batch_sleep = batch_sleep

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.batch_sleep:
            time.sleep(self.batch_sleep)
        return super().encode(texts)


def main(argv: Sequence[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    data_dir, articles_dir = Path(argv[0]), Path(argv[1])
    batch_sleep = float(argv[2]) if len(argv) == 3 else 0.0
    settings = make_settings(data_dir.parent, data_dir=data_dir, articles_dir=articles_dir)
    encoders = fake_encoders(
        SlowFakeEmbedder(batch_sleep=batch_sleep),
        SlowFakeEmbedder(batch_sleep=batch_sleep, dim=128, name="test/fake-multilingual"),
    )(settings)

    def progress(done: int, total: int) -> None:
        if done == total:
            print("embedded", flush=True)

    report = build_index(settings, encoders, progress=progress, rebuild=True)
    print(f"done {report.version} {report.passages}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
