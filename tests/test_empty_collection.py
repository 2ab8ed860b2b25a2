"""An empty collection is a valid state: removing the last article empties the index, it does not stay.

Indexing a folder with no indexable article publishes an empty snapshot: no hits, every question
abstains ("not in the articles"), nothing listed, stats at zero; and articles can come back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import CliContext, app
from retrieval import Engine, Settings, open_current

from .support import SEEDS, TREATY_ARTICLE, fake_encoders, make_settings

TREATY_QUESTION = "aide réciproque en cas d'attaque contre une des parties"


def cli(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin, obj=CliContext(settings, fake_encoders()))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_removing_every_article_empties_the_index_and_they_can_come_back(tmp_path: Path, articles_dir: Path):
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
    engine.index()
    ids = sorted(p.stem for p in articles_dir.iterdir())
    for article_id in ids:  # the last one used to fail with "no indexable articles" and stay indexed
        report = engine.remove(article_id)
        assert report.removed == (article_id,) and report.published
    assert report.articles == report.passages == 0
    assert engine.sources() == []
    assert engine.search(TREATY_QUESTION, k=5) == []
    answer = engine.ask(TREATY_QUESTION)
    assert answer.abstained and answer.citations == ()
    stats = engine.stats()
    assert (stats.articles, stats.passages, stats.sentences) == (0, 0, 0)
    snap = open_current(engine.settings.data_dir)
    assert all(index.ntotal == 0 for index in snap.dense.values()) and snap.lexical is None
    assert engine.index().published is False  # still empty: nothing to publish

    shutil.copy(SEEDS / f"{TREATY_ARTICLE}.txt", articles_dir)
    back = engine.index()
    assert back.added == (TREATY_ARTICLE,) and back.articles == 1 and back.passages > 0
    assert engine.search(TREATY_QUESTION, k=1)[0].article.id == TREATY_ARTICLE
    assert not engine.ask(TREATY_QUESTION).abstained


def test_cli_remove_of_the_last_article_then_every_command_says_there_is_nothing(tmp_path: Path):
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(SEEDS / f"{TREATY_ARTICLE}.txt", articles)
    settings = make_settings(tmp_path, articles_dir=articles)
    assert cli(settings, "index")[0] == 0

    code, out, err = cli(settings, "remove", TREATY_ARTICLE)
    assert code == 0, err
    assert out.splitlines()[0] == f"removed {TREATY_ARTICLE}" and "Indexed 0 articles into 0 passages" in out
    code, out, _ = cli(settings, "sources")
    assert code == 0 and out.strip() == "No articles indexed."
    code, out, _ = cli(settings, "sources", "--json")
    assert code == 0 and out == ""
    code, out, _ = cli(settings, "search", "--json", "-k", "3", stdin=f"{TREATY_QUESTION}\n")
    assert code == 0 and json.loads(out) == {"question": TREATY_QUESTION, "hits": []}
    code, out, _ = cli(settings, "ask", "--json", stdin=f"{TREATY_QUESTION}\n")
    answer = json.loads(out)
    assert code == 0 and answer["abstained"] and answer["citations"] == []
    code, out, _ = cli(settings, "ask", TREATY_QUESTION)
    assert code == 0 and out.startswith("Je n’ai pas trouvé cela dans les articles.")
    code, out, _ = cli(settings, "stats", "--json")
    assert code == 0 and json.loads(out)["articles"] == 0
    code, out, _ = cli(settings, "index", "--json")
    assert code == 0 and json.loads(out)["articles"] == 0


def test_a_folder_whose_every_file_is_refused_gives_an_empty_index_and_names_each_file(tmp_path: Path):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (articles / "empty.md").write_bytes(b"")
    settings = make_settings(tmp_path, articles_dir=articles)
    code, out, err = cli(settings, "index")
    assert code == 0 and out.startswith("Indexed 0 articles into 0 passages") and "2 files skipped" in out
    assert "skipped binary.txt:" in err and "skipped empty.md:" in err and "Traceback" not in err
    assert Engine(settings, encoders=fake_encoders()).search(TREATY_QUESTION) == []


def test_an_articles_folder_that_does_not_exist_is_still_an_error(tmp_path: Path):
    """A mistyped RAGBOT_ARTICLES_DIR is not an empty collection: it must not empty the index."""
    settings = make_settings(tmp_path)
    assert cli(settings, "index")[0] == 0
    before = open_current(settings.data_dir).version
    code, out, err = cli(settings.with_changes(articles_dir=tmp_path / "no-such-folder"), "index")
    assert code == 6 and out == "" and "does not exist" in err
    assert open_current(settings.data_dir).version == before
