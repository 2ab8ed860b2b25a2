"""A FAISS snapshot's SQLite database: articles, passages and sentences, written afresh or as an
edited copy of the previous snapshot's (no pickle anywhere)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path

from ..types import Article, Passage

SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, source TEXT, byline TEXT, url TEXT,
    path TEXT NOT NULL, sha256 TEXT NOT NULL, body TEXT NOT NULL, n_passages INTEGER NOT NULL
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, article_id TEXT NOT NULL REFERENCES articles(id),
    ordinal INTEGER NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX passages_article ON passages(article_id, ordinal);
CREATE TABLE sentences (
    row INTEGER PRIMARY KEY, passage_row INTEGER NOT NULL REFERENCES passages(row),
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL
);
CREATE INDEX sentences_passage ON sentences(passage_row);
"""


def write_db(
    path: Path, articles: Sequence[Article], passages: Sequence[Passage], sentences: Sequence[tuple[int, int, int]]
) -> None:
    """A new database holding exactly these rows (passage and sentence rows numbered from 0)."""
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
        _insert_rows(con, articles, passages, sentences, 0, 0)
        con.commit()
    finally:
        con.close()


def edit_db(
    path: Path,
    base: Path,
    dropped: Collection[str],
    articles: Sequence[Article],
    passages: Sequence[Passage],
    sentences: Sequence[tuple[int, int, int]],
) -> None:
    """The database ``base``, copied to ``path``, without the articles ``dropped``, plus the new rows.

    Rows are never renumbered: the database's keys keep the snapshot's row order (kept rows keep
    theirs, new rows get larger ones), and the reader maps rows to keys when a removal left gaps.
    So a build costs what changed, plus one file copy.
    """
    shutil.copyfile(base, path)
    con = sqlite3.connect(path)
    try:
        # A crash leaves only a temporary folder, removed by the next build; the whole file is
        # fsynced before it is published. Journal and syncs would only slow the edits down.
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        gone = sorted(dropped)
        for start in range(0, len(gone), 500):
            chunk = gone[start : start + 500]
            marks = ",".join("?" * len(chunk))
            of_articles = f"SELECT row FROM passages WHERE article_id IN ({marks})"
            con.execute(f"DELETE FROM sentences WHERE passage_row IN ({of_articles})", chunk)
            con.execute(f"DELETE FROM passages WHERE article_id IN ({marks})", chunk)
            con.execute(f"DELETE FROM articles WHERE id IN ({marks})", chunk)
        (last_passage,) = con.execute("SELECT COALESCE(MAX(row), -1) FROM passages").fetchone()
        (last_sentence,) = con.execute("SELECT COALESCE(MAX(row), -1) FROM sentences").fetchone()
        _insert_rows(con, articles, passages, sentences, last_passage + 1, last_sentence + 1)
        con.commit()
    finally:
        con.close()


def _insert_rows(
    con: sqlite3.Connection,
    articles: Sequence[Article],
    passages: Sequence[Passage],
    sentences: Sequence[tuple[int, int, int]],
    first_passage: int,
    first_sentence: int,
) -> None:
    """Insert the articles, and the passages and sentences from the given rows on."""
    counts: dict[str, int] = {}
    for p in passages:
        counts[p.article_id] = counts.get(p.article_id, 0) + 1
    con.executemany(
        "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                a.id,
                a.info.title,
                a.info.date,
                a.info.source,
                a.info.byline,
                a.info.url,
                a.path,
                a.content_hash,
                a.body,
                counts.get(a.id, 0),
            )
            for a in articles
        ],
    )
    con.executemany(
        "INSERT INTO passages VALUES (?,?,?,?,?,?,?)",
        [
            (first_passage + row, p.id, p.article_id, p.ordinal, p.char_start, p.char_end, p.text)
            for row, p in enumerate(passages)
        ],
    )
    con.executemany(
        "INSERT INTO sentences VALUES (?,?,?,?)",
        [
            (first_sentence + row, first_passage + passage, start, end)
            for row, (passage, start, end) in enumerate(sentences)
        ],
    )
