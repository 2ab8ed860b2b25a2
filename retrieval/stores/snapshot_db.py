"""A FAISS snapshot's SQLite databases: articles, passages and sentences (no pickle anywhere).

A fresh build or a merge writes one database whose keys are the version's rows; a later write
that only adds or removes leaves the previous databases as they are (linked, see
:mod:`~retrieval.stores.segments`) and writes its own rows to a database of its own, their keys
continuing the ones before them."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

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
    path: Path,
    articles: Sequence[Article],
    passages: Sequence[Passage],
    sentences: Sequence[tuple[int, int, int]],
    *,
    first_passage: int = 0,
    first_sentence: int = 0,
) -> None:
    """A new database holding exactly these rows, passage and sentence keys numbered from
    ``first_passage`` and ``first_sentence`` (a later write's database continues the keys of the
    ones before it)."""
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
        insert_rows(con, articles, passages, sentences, first_passage, first_sentence)
        con.commit()
    finally:
        con.close()


def merge_db(
    path: Path,
    bases: Sequence[Path],
    kept_passages: np.ndarray,
    kept_sentences: np.ndarray,
    kept_articles: Mapping[str, int],
    articles: Sequence[Article],
    passages: Sequence[Passage],
    sentences: Sequence[tuple[int, int, int]],
) -> None:
    """One database from the previous version's databases ``bases``: the passages at keys
    ``kept_passages`` and the sentences at keys ``kept_sentences`` (ascending), renumbered from 0
    in that order, the articles ``kept_articles`` (id -> which of ``bases`` holds its current row),
    then the new rows. Its keys are then the rows of the version, without gaps, so that the next
    write may add a database of its own after them."""
    con = sqlite3.connect(f"file:{path}", uri=True)  # the previous databases are attached by URI, read-only
    try:
        # A crash leaves only a temporary folder, removed by the next build; the whole file is
        # fsynced before it is published. Journal and syncs would only slow the writes down.
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.executescript(SCHEMA)
        con.execute("CREATE TEMP TABLE keep_p (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
        con.execute("CREATE TEMP TABLE keep_s (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
        con.execute("CREATE TEMP TABLE keep_a (id TEXT PRIMARY KEY, base INTEGER NOT NULL)")
        con.executemany(
            "INSERT INTO keep_p VALUES (?, ?)", zip(kept_passages.tolist(), range(len(kept_passages)), strict=True)
        )
        con.executemany(
            "INSERT INTO keep_s VALUES (?, ?)", zip(kept_sentences.tolist(), range(len(kept_sentences)), strict=True)
        )
        con.executemany("INSERT INTO keep_a VALUES (?, ?)", kept_articles.items())
        for k, base in enumerate(bases):
            con.execute(f"ATTACH DATABASE ? AS b{k}", (f"file:{base}?mode=ro",))
            con.execute(
                f"INSERT INTO articles SELECT a.* FROM b{k}.articles a JOIN keep_a k ON k.id = a.id AND k.base = ?",
                (k,),
            )
            con.execute(
                "INSERT INTO passages SELECT k.new, p.id, p.article_id, p.ordinal, p.char_start, p.char_end, p.text"
                f" FROM b{k}.passages p JOIN keep_p k ON k.old = p.row ORDER BY k.new"
            )
            con.execute(
                "INSERT INTO sentences SELECT k.new, kp.new, s.char_start, s.char_end"
                f" FROM b{k}.sentences s JOIN keep_s k ON k.old = s.row JOIN keep_p kp ON kp.old = s.passage_row"
                " ORDER BY k.new"
            )
            con.commit()
            con.execute(f"DETACH DATABASE b{k}")
        insert_rows(con, articles, passages, sentences, len(kept_passages), len(kept_sentences))
        con.commit()
    finally:
        con.close()


def insert_rows(
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
