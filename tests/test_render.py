"""What the front ends print, checked on real results: numbers agree with their nouns, and the
stats are lines a person reads, not a Python dict."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from bot import render
from bot.cli import CliContext, app
from bot.texts import EN, FR, count

from .support import SEEDS, fake_encoders, make_settings


@pytest.mark.parametrize(
    ("n", "lang", "expected"),
    [(0, "en", "0 passages"), (1, "en", "1 passage"), (2, "en", "2 passages"), (0, "fr", "0 passage")],
)
def test_count_agrees_the_noun_with_the_number(n, lang, expected):
    assert count(n, "passage|passages", lang) == expected


def test_bot_messages_agree_with_their_numbers():
    assert EN.reindex_done.format(articles=1, passages=1, seconds=0.5, errors="") == (
        "Re-index done: 1 article, 1 passage in 0.5 s."
    )
    assert EN.reindex_done.format(articles=2, passages=9, seconds=1, errors="") == (
        "Re-index done: 2 articles, 9 passages in 1.0 s."
    )
    assert FR.reindex_done.format(articles=1, passages=3, seconds=2, errors="").startswith(
        "Réindexation terminée : 1 article, 3 passages en 2.0 s"
    )
    assert EN.sources_list_heading.format(n=1) == "1 article indexed"
    assert FR.sources_list_heading.format(n=2) == "2 articles indexés"
    assert "about 1 news article (" in EN.welcome.format(articles=1, dates="2024")
    upload = EN.upload_added.format(title="T", id="x", articles=1, passages=1, seconds=0.1, warnings="")
    assert "1 article, 1 passage " in upload


@pytest.fixture
def one_article(tmp_path):
    """An articles folder with one short article: one passage."""
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(SEEDS / "001_58e8c327b5777ef9.txt", folder)
    (folder / "zz_short.txt").write_text("Brève\n\nUn accord court sur la pêche a été signé hier au port.\n")
    folder.joinpath("001_58e8c327b5777ef9.txt").unlink()
    return CliContext(make_settings(tmp_path, articles_dir=folder), fake_encoders())


def test_cli_texts_agree_with_their_numbers(one_article):
    runner = CliRunner()
    index = runner.invoke(app, ["index"], obj=one_article)
    assert index.exit_code == 0
    assert index.stdout.startswith("Indexed 1 article into 1 passage in ")
    sources = runner.invoke(app, ["sources"], obj=one_article)
    assert sources.stdout.rstrip().endswith("· 1 passage")
    summary = render.articles_html(
        [s for s in one_article.engine().sources()], FR
    )  # the Telegram list says it the same way
    assert "(1 passage)" in summary and "1 article indexé" in summary


def test_stats_text_is_labelled_lines(one_article):
    runner = CliRunner()
    assert runner.invoke(app, ["index"], obj=one_article).exit_code == 0
    out = runner.invoke(app, ["stats"], obj=one_article).stdout
    assert "{" not in out and "}" not in out and "'" not in out  # was: "chunking  {'min_chars': 250, ...}"
    rows = dict(line.split(None, 1) for line in out.splitlines() if not line.startswith("on disk"))
    assert rows["articles"] == "1"
    assert rows["passages"].startswith("1 (")
    assert rows["chunking"] == "250–550 characters per passage, encoded with the article title (sentence-pack/v2)"
    assert rows["embedding"] == "test/fake-hash (256 dimensions)"


@pytest.mark.parametrize("language", ["en", "fr", "es", "de", "it", "pt"])
def test_a_refusal_speaks_its_question_s_language_hint_included(language: str):
    from retrieval.answers.extractive import NOT_FOUND, abstention

    refusal = abstention("?", language)
    cli, chat = render.answer_text(refusal), render.answer_html(refusal, EN)
    assert cli == f"{NOT_FOUND[language]} {render.SOURCES_HINT[language]}" and "`ragbot sources`" in cli
    assert "/sources" in chat and chat.split(".")[0] == NOT_FOUND[language].split(".")[0]
