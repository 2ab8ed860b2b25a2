"""Admins add and remove articles: validation, de-duplication, URLs, names, exit codes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import CliContext, app
from retrieval import BadArticle, Engine, load_article
from retrieval.corpus.ingest import Library, UnknownArticle, body_fingerprint, safe_name

from .support import TREATY_ARTICLE, TUMEN_PARAGRAPHS, fake_encoders, make_settings, web_server

ARTICLE = (
    "Un pont ferroviaire sur le fleuve Toumen\n\n"
    "La Russie et la Corée du Nord ont inauguré un pont ferroviaire sur le fleuve Toumen. "
    "Le pont doit faciliter le transport de marchandises entre Khassan et Tumangang."
)
# A title, source and byline with line breaks and an escape in them (YAML's "\n", "\e", block
# scalars): printed as is, the title's second line passed for a citation line (issue 21, item 7).
FORGED_MD = (
    '---\ntitle: "Le pont\\n[2] Faux titre — AFP, 2024-01-01"\nsource: |\n  Agence\n  Fictive\n'
    'author: "Jeanne\\r\\nMartin\\e[31m"\n---\n' + ARTICLE.split("\n\n", 1)[1] + "\n\n" + " ".join(TUMEN_PARAGRAPHS[1:])
)
PAGE = (
    "<html><head><title>Le pont du Toumen</title><meta name='author' content='Jeanne Martin'>"
    "<meta property='article:published_time' content='2024-07-02'></head><body><nav>Accueil Monde</nav>"
    "<article><h1>Le pont du Toumen</h1>"
    + "".join(f"<p>{paragraph}</p>" for paragraph in TUMEN_PARAGRAPHS)
    + "</article></body></html>"
)


def make_cli(tmp_path: Path, articles_dir: Path, **overrides: object):
    settings = make_settings(tmp_path, articles_dir=articles_dir, **overrides)
    ctx = CliContext(settings, fake_encoders())
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, list(args), obj=ctx)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    assert run("index")[0] == 0
    return run


@pytest.fixture
def cli(tmp_path: Path, articles_dir: Path):
    return make_cli(tmp_path, articles_dir)


@pytest.fixture
def cli_local_urls(tmp_path: Path, articles_dir: Path):
    """The CLI with RAGBOT_ALLOW_PRIVATE_URLS=true: the test web server is on 127.0.0.1."""
    return make_cli(tmp_path, articles_dir, allow_private_urls=True)


@pytest.fixture
def web():
    """A local web server: /story serves an article page, /image a PNG, /missing a 404."""
    routes = {
        "/news/story.html": ("text/html; charset=utf-8", PAGE.encode()),
        "/image": ("image/png", b"\x89PNG"),
        "/news/note.md": ("text/markdown; charset=utf-8", FORGED_MD.encode()),
    }
    with web_server(routes) as (url, _):
        yield url


def test_add_a_file_then_it_answers(cli, tmp_path, articles_dir):
    source = tmp_path / "pont.txt"
    source.write_text(ARTICLE, encoding="utf-8")
    code, out, err = cli("add", str(source), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [a["article_id"] for a in report["added"]] == ["pont"] and report["refused"] == []
    assert report["index"]["added"] == 1 and report["index"]["unchanged"] == 5
    assert (articles_dir / "pont.txt").read_text(encoding="utf-8") == ARTICLE
    code, out, _ = cli("search", "--json", "-k", "1", "pont ferroviaire Toumen Khassan")
    assert json.loads(out)["hits"][0]["article_id"] == "pont"


def test_refused_inputs_each_say_why_and_all_refused_fails(cli, tmp_path, articles_dir):
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    code, out, err = cli("add", str(empty), str(binary), str(articles_dir / f"{TREATY_ARTICLE}.txt"), "/nope.md")
    assert code == 6 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("refused ") for line in lines)
    assert "empty" in lines[0] and "binary" in lines[1] and "duplicate of" in lines[2] and "no such file" in lines[3]
    assert "Traceback" not in err


def test_partial_success_exits_zero(cli, tmp_path):
    good = tmp_path / "pont.md"
    good.write_text("---\ntitle: Le pont\ndate: 2024-07-02\n---\n" + ARTICLE, encoding="utf-8")
    code, out, err = cli("add", str(good), str(tmp_path / "missing.txt"))
    assert code == 0 and "added pont: Le pont" in out and f"refused {tmp_path / 'missing.txt'}: no such file" in err


def test_a_refused_input_is_named_as_it_was_typed(cli, tmp_path, monkeypatch):
    """`ragbot add /nonexistent/story.txt` said `refused story.txt` (issue 21, item 11)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "vide.md").write_bytes(b"")
    code, out, err = cli("add", "/nonexistent/story.txt", "sub/vide.md", "../x/y.pdf", "--json")
    assert code == 6
    assert err.splitlines() == [
        "refused /nonexistent/story.txt: no such file",
        "refused sub/vide.md: empty file",
        "refused ../x/y.pdf: unsupported file type '.pdf'; use .txt, .md or .html",
    ]
    assert [r["source"] for r in json.loads(out)["refused"]] == ["/nonexistent/story.txt", "sub/vide.md", "../x/y.pdf"]


def test_add_a_url_from_a_local_server(cli_local_urls, web, articles_dir):
    cli = cli_local_urls
    code, out, err = cli("add", f"{web}/news/story.html", f"{web}/image", f"{web}/missing", "--json")
    assert code == 0, err
    report = json.loads(out)
    [added] = report["added"]
    assert added["title"] == "Le pont du Toumen"
    assert (articles_dir / added["file"]).suffix == ".html"
    reasons = {r["source"].rsplit("/", 1)[-1]: r["reason"] for r in report["refused"]}
    assert "content type 'image/png'" in reasons["image"] and "HTTP 404" in reasons["missing"]
    code, out, _ = cli("sources", "--json")
    row = next(json.loads(line) for line in out.splitlines() if json.loads(line)["article_id"] == added["article_id"])
    assert row["byline"] == "Jeanne Martin" and row["date"] == "2024-07-02"
    assert load_article(articles_dir / added["file"]).info.url == f"{web}/news/story.html"  # where it came from


@pytest.mark.parametrize("how", ["file", "url"])
def test_a_title_source_or_byline_with_line_breaks_is_one_line_everywhere(cli_local_urls, web, tmp_path, how):
    cli = cli_local_urls
    note = tmp_path / "note.md"
    note.write_text(FORGED_MD, encoding="utf-8")
    code, out, err = cli("add", str(note) if how == "file" else f"{web}/news/note.md")
    assert code == 0, err
    title = "Le pont [2] Faux titre — AFP, 2024-01-01"
    [added] = [line for line in out.splitlines() if line.startswith("added ")]
    assert added.endswith(f": {title}")
    code, out, _ = cli("sources", "--json")
    [row] = [json.loads(line) for line in out.splitlines() if json.loads(line)["title"].startswith("Le pont")]
    assert (row["title"], row["source"], row["byline"]) == (title, "Agence Fictive", "Jeanne Martin\x1b[31m")
    code, out, _ = cli("sources")
    assert f"  {title}\n" in out and "\n[2]" not in out and "\x1b" not in out
    code, out, _ = cli("search", "-k", "1", "pont ferroviaire Khassan Tumangang")
    assert title in out and "\n[2] Faux" not in out


def test_remove_then_gone_and_unknown_fails(cli):
    code, out, _ = cli("remove", "004_34fdb793e7d525a8", "--json")
    assert code == 0 and json.loads(out)["removed"] == 1
    code, out, _ = cli("search", "--json", "-k", "10", "Stoltenberg Otan pays autoritaires")
    assert all(h["article_id"] != "004_34fdb793e7d525a8" for h in json.loads(out)["hits"])
    code, out, err = cli("remove", "004_34fdb793e7d525a8")
    assert code == 8 and "no article" in err and out == ""
    code, _, err = cli("remove", "../seeds/001")
    assert code == 8 and "not an article id" in err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/absolute/path/note.md", "note.md"),
        ("..\\..\\windows.txt", "windows.txt"),
        (".hidden.txt", "hidden.txt"),
        ("Élection présidentielle 2024!.txt", "Election_presidentielle_2024.txt"),
        ("...txt", "article.txt"),
    ],
)
def test_names_are_sanitised_into_the_folder(name, expected):
    assert safe_name(name, Path(name).suffix.lower() or ".txt") == expected


def test_uploaded_bytes_land_inside_the_folder(tmp_path):
    folder = tmp_path / "articles"
    library = Library(folder, max_bytes=10_000)
    added = library.add_bytes("../../../escape.txt", ARTICLE.encode())
    assert (folder / "escape.txt").is_file() and added.article_id == "escape"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["escape.txt"]
    with pytest.raises(BadArticle, match="NUL"):
        library.add_bytes("evil\x00.txt", ARTICLE.encode())
    with pytest.raises(BadArticle, match="too large"):
        library.add_bytes("big.txt", ("mot " * 5000).encode())
    with pytest.raises(BadArticle, match="duplicate"):
        library.add_bytes("again.txt", ARTICLE.encode())
    second = library.add_bytes("escape.txt", ARTICLE.replace("Toumen", "Amour").encode())
    assert second.file == "escape-2.txt"  # same name, other text: kept side by side


def test_names_that_clean_to_one_stem_are_numbered_from_one_listing_of_the_folder(tmp_path, monkeypatch):
    """ "é.txt", "è.txt", "Путин.txt" clean to "e" or "article": each new one was found a free
    name by listing the folder again for every -2, -3... (600 uploads: quadratic, 51 s for the
    last 400). Now the folder is listed a fixed number of times per upload (issue 21, item 8)."""
    import os

    folder = tmp_path / "articles"
    library = Library(folder, max_bytes=10_000)
    listings: list[int] = []
    real_scandir = os.scandir

    def counting_scandir(path):  # the standard library's, counted: not our code, unchanged
        listings[-1] += Path(path) == folder
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counting_scandir)
    names = ["Путин.txt", "日本.md", "é.txt", "è.md", "ê.txt"]  # x.md beside x.txt would share the id x
    added = []
    for i in range(60):
        listings.append(0)
        body = " ".join(TUMEN_PARAGRAPHS) + f" Dépêche numéro {i} de la série."
        added.append(library.add_bytes(names[i % len(names)], body.encode()))
    assert max(listings) <= 2, listings  # as many for the 60th upload as for the second
    articles = [a.file for a in added if a.file.startswith("article")]
    assert articles == ["article.txt"] + [f"article-{n}{'.md' if n % 2 == 0 else '.txt'}" for n in range(2, 25)]
    assert [a.file for a in added if a.file.startswith("e")][:3] == ["e.txt", "e-2.md", "e-3.txt"]
    assert len({a.article_id for a in added}) == 60 == len(list(folder.iterdir()))


def test_latin1_upload_is_stored_as_utf8_with_a_warning(tmp_path):
    library = Library(tmp_path / "articles", max_bytes=10_000)
    added = library.add_bytes("ancien.txt", ARTICLE.replace("’", "'").encode("cp1252"))
    assert added.warnings and "Latin-1" in added.warnings[0]
    assert (tmp_path / "articles" / "ancien.txt").read_text(encoding="utf-8") == ARTICLE.replace("’", "'")


def test_remove_refuses_ids_that_are_paths(tmp_path):
    library = Library(tmp_path, max_bytes=10_000)
    for bad in ("", "../x", "a/b", ".hidden", "x\x00y"):
        with pytest.raises(UnknownArticle):
            library.remove(bad)


def test_engine_add_reports_and_indexes(tmp_path, articles_dir):
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
    engine.index()
    source = tmp_path / "pont.txt"
    source.write_text(ARTICLE, encoding="utf-8")
    report, index = engine.add([str(source), str(source)])
    assert len(report.added) == 1 and "duplicate" in str(report.refused[0])
    assert index is not None and index.added == ("pont",) and index.embedded_passages >= 1


def _bytes_read() -> int:
    """What this process has read so far through read() calls, as Linux counts it (rchar)."""
    text = Path("/proc/self/io").read_text()
    return int(text.split("rchar:")[1].split()[0])


def test_build_records_each_articles_fingerprint(tmp_path, articles_dir):
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
    engine.index()
    recorded = {a: e["fingerprint"] for a, e in engine.snapshot().manifest.articles.items()}
    assert recorded == {p.stem: body_fingerprint(load_article(p)) for p in articles_dir.iterdir()}


def test_duplicate_check_reads_no_file_the_current_version_holds_as_it_is(tmp_path, articles_dir):
    """With the current version's manifest, an unchanged file is known by its stat: not one article
    file is read, let alone parsed, and the fingerprints are those that parsing every file gives."""
    time.sleep(0.2)  # files written within the clock tick before a scan are never vouched for by stat
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
    engine.index()
    library = engine.library()
    known = engine.snapshot().manifest.articles
    smallest = min(p.stat().st_size for p in articles_dir.iterdir())
    before = _bytes_read()
    found = library.fingerprints(known)
    read = _bytes_read() - before
    assert read < smallest
    assert found == library.fingerprints() and len(found) == 5


def test_duplicate_check_parses_what_changed_since_the_last_build(tmp_path, articles_dir):
    """A file changed or added after the last build is parsed: its recorded fingerprint is stale."""
    time.sleep(0.2)
    engine = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders())
    engine.index()
    changed = articles_dir / f"{TREATY_ARTICLE}.txt"
    st = changed.stat()
    changed.write_text(ARTICLE, encoding="utf-8")
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns))  # the old mtime put back: the ctime still moved
    new = articles_dir / "nouveau.txt"
    new.write_text("Un article nouveau\n\nIl a été déposé dans le dossier après la dernière indexation.", "utf-8")
    touched = sorted(articles_dir.iterdir())[0]
    os.utime(touched)  # a new stat, the same bytes: the recorded fingerprint stands
    sources = []
    for name, text in (("a.txt", ARTICLE.replace("\n\n", "\n\n\n")), ("b.txt", new.read_text("utf-8"))):
        sources.append(tmp_path / name)
        sources[-1].write_text(text, encoding="utf-8")
    sources.append(tmp_path / "c.txt")
    sources[-1].write_bytes(touched.read_bytes())
    report, index = engine.add([str(s) for s in sources])
    assert not report.added and index is None
    assert [str(r) for r in report.refused] == [
        f"{s}: duplicate of {target.name} (same text); not added"
        for s, target in zip(sources, (changed, new, touched), strict=True)
    ]
    known = engine.snapshot().manifest.articles
    assert engine.library().fingerprints(known) == engine.library().fingerprints()
