from __future__ import annotations

import os
from pathlib import Path

import pytest

from retrieval import BadArticle, load_article, load_articles
from retrieval.corpus.analysis import normalize_text, tidy
from retrieval.corpus.articles import parse_article
from retrieval.corpus.chunking import paragraph_spans

from .support import SEEDS


@pytest.fixture(scope="module")
def seeds():
    result = load_articles(SEEDS)
    assert result.errors == ()
    return {a.id: a for a in result.articles}


def test_all_five_seeds_load_with_ids_from_file_stems(seeds):
    assert sorted(seeds) == sorted(p.stem for p in SEEDS.glob("*.txt"))
    assert len(seeds) == 5


def test_metadata_extracted_from_the_text(seeds):
    a = seeds["000_6b9ece9a93871e23"].info
    assert a.title == "Vladimir Poutine et le dirigeant nord-coréen se sont entretenus à Pyongyang"
    assert a.byline == "Adam Morrow"
    assert a.date == "2024-06-19"
    assert a.source == "Reuters"
    assert seeds["002_3620be85bbcd42ef"].info.date == "2023-08"
    assert seeds["004_34fdb793e7d525a8"].info.date == "2024-06"
    assert seeds["003_79011271dbdc1a5f"].info.source == "Agence France-Presse"
    assert seeds["003_79011271dbdc1a5f"].info.title.startswith("Le président russe Vladimir Poutine")
    # No title or credit line in the file: the lead sentence gives both. Its "Le 19 juin" has no year.
    treaty = seeds["001_58e8c327b5777ef9"].info
    assert treaty.title == "Vladimir Poutine et Kim Jong-un ont conclu un pacte stratégique à Pyongyang"
    assert treaty.source == "médias russes"
    assert treaty.date is None


REST = "\n\nLe texte continue ensuite avec plusieurs phrases sur le sujet, comme tout article de presse.\n"


@pytest.mark.parametrize(
    ("lead", "title", "source"),
    [
        (
            "Le 3 mars, Jean Dupont, le ministre des Finances, a présenté le budget à Paris, selon l’agence Reuters.",
            "Jean Dupont a présenté le budget à Paris",
            "agence Reuters",
        ),
        (
            "On June 19, 2024, Jane Roe, the mayor of Springfield, opened the new bridge, according to local media.",
            "Jane Roe opened the new bridge",
            "local media",
        ),
        # An attribution to a person is not the article's source.
        ("Le budget sera voté en mai, selon le ministre des Finances.", "Le budget sera voté en mai", None),
        (
            "Marie Curie, la physicienne, a reçu le prix Nobel en 1911.",
            "Marie Curie a reçu le prix Nobel en 1911",
            None,
        ),
    ],
)
def test_title_and_source_from_the_lead_sentence(tmp_path, lead, title, source):
    article = parse_article((lead + REST).encode(), tmp_path / "lead.txt")
    assert (article.info.title, article.info.source, article.info.date) == (title, source, None)
    assert article.body.startswith(lead)  # the body keeps the lead as written


def test_a_credit_line_wins_over_the_lead_attribution(tmp_path):
    raw = "Le sommet a eu lieu à Pyongyang, d’après les médias russes." + REST + "\nAgence France-Presse\n"
    assert parse_article(raw.encode(), tmp_path / "c.txt").info.source == "Agence France-Presse"


@pytest.mark.parametrize(
    "fragment",
    [
        "Soutenez Epoch Times",
        "Comment pouvez-vous nous aider",
        "Epoch Times est un média libre",
        "Commentez cette histoire",
        "Participer",
        "Réemployer ce contenu",
        "Getty Images",
        "PHOTO AGENCE KCNA",
        "date 2023-08",
        "date 2024-06",
        "\u00a0",
    ],
)
def test_boilerplate_is_gone(seeds, fragment):
    for article in seeds.values():
        assert fragment not in article.body, (article.id, fragment)


def unquotable(article) -> list[str]:
    return [article.body[a:b] for a, b in article.unquotable]


def test_what_is_not_article_text_is_metadata_never_quoted(seeds):
    talks, visit, letter = seeds["000_6b9ece9a93871e23"], seeds["003_79011271dbdc1a5f"], seeds["002_3620be85bbcd42ef"]
    # Byline, dateline and credit lines stay in the body (a passage shows them, a search finds them)
    # but are never quoted; what they say is the article's metadata.
    dateline = "19 juin 2024 23:09 Mis à jour: 9 juillet 2024 21:57"
    assert unquotable(talks) == ["Par Adam Morrow", dateline, "Avec Reuters"]
    assert unquotable(visit) == ["(Séoul) ", "Agence France-Presse"]
    assert unquotable(letter) == ["SÉOUL – "]
    # Captions, section headings and another article's headlines are not article text at all.
    for gone in ("dans une gare, le 6 janvier 2024 à Séoul", "Allégations de transfert d’armes"):
        assert gone not in talks.body, gone
    assert "Le leader nord-coréen est arrivé en Russie" not in visit.body  # "PHOTO AGENCE KCNA PAR REUTERS …"
    assert "Démonstration militaire" not in visit.body
    assert "soldat américain" not in letter.body and "plus puissant à ce jour" not in letter.body
    assert tidy(talks.body).endswith("Avec Reuters")
    assert tidy(seeds["001_58e8c327b5777ef9"].body).endswith("a-t-il proféré.")


def test_the_body_keeps_the_file_offsets_and_each_line_is_a_paragraph(seeds):
    for article in seeds.values():
        source = (SEEDS / article.path).read_text(encoding="utf-8")
        assert len(article.body) == len(source)
        for start, end in paragraph_spans(article.body):
            assert "\n" not in article.body[start:end]
            assert tidy(article.body[start:end]) == tidy(source[start:end])


def test_normalisation():
    assert normalize_text("Cafe\u0301\u00a0noir\r\n\u200b") == "Café noir\n"


def test_markdown_front_matter(tmp_path):
    path = tmp_path / "note.md"
    path.write_text(
        "---\ntitle: Un accord historique\ndate: 2024-06-20\nsource: Le Monde\nurl: https://example.org/a\n---\n"
        "# Heading kept out\n\nLe **traité** prévoit une [aide](https://x.y) mutuelle.\n",
        encoding="utf-8",
    )
    article = load_article(path)
    assert article.info.title == "Un accord historique"
    assert article.info.date == "2024-06-20"
    assert article.info.source == "Le Monde"
    assert article.info.url == "https://example.org/a"
    assert "Le traité prévoit une aide mutuelle." in tidy(article.body)


def test_markdown_heading_is_the_title(tmp_path):
    path = tmp_path / "n.md"
    path.write_text("# Le sommet de Vladivostok\n\nKim est arrivé en train.\n", encoding="utf-8")
    article = load_article(path)
    assert article.info.title == "Le sommet de Vladivostok"
    assert tidy(article.body) == "Kim est arrivé en train."


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n ", "empty"),
        ("bin.txt", b"\x00\x01\x02PK\x03\x04", "binary"),
        ("garbage.txt", b"\xff\xfe\xfa\xfb\xfc\x9d\x81 bytes", "UTF-8"),
        ("undefined.txt", "Séoul".encode("latin-1") + b"\x81\x8d", "Latin-1"),
        ("notes.pdf", b"%PDF-1.4", "unsupported"),
        ("bad.md", b"---\ntitle: [unclosed\n---\nBody.\n", "YAML"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadArticle) as info:
        load_article(path)
    assert name in str(info.value)
    assert reason in str(info.value)


def test_too_large_file_is_refused(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("mot " * 1000, encoding="utf-8")
    with pytest.raises(BadArticle, match="too large"):
        load_article(path, max_bytes=100)


def test_latin1_is_converted_with_a_warning(tmp_path):
    path = tmp_path / "ancien.txt"
    path.write_bytes("Un titre\n\nDéjà vu à Séoul : l’accord était signé.".replace("’", "'").encode("cp1252"))
    article = load_article(path)
    assert "Déjà vu à Séoul" in article.body
    assert article.warnings and "Latin-1" in article.warnings[0]


def test_html_main_text_and_metadata(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Sommet à Pyongyang | Le Journal</title>"
        '<meta name="author" content="Jeanne Martin"><meta property="og:site_name" content="Le Journal">'
        '<meta property="article:published_time" content="2024-06-19"></head><body>'
        "<nav>Accueil | Monde | Sport</nav><article><h1>Sommet à Pyongyang</h1>"
        + "".join(f"<p>Paragraphe {i} : Poutine et Kim ont signé un pacte de défense mutuelle.</p>" for i in range(6))
        + "</article><footer>Tous droits réservés</footer></body></html>",
        encoding="utf-8",
    )
    article = load_article(page)
    assert "pacte de défense mutuelle" in article.body
    assert "Accueil | Monde" not in article.body and "Tous droits réservés" not in article.body
    assert article.info.title.startswith("Sommet à Pyongyang")
    assert article.info.date == "2024-06-19"
    assert article.info.byline == "Jeanne Martin" and article.info.source == "Le Journal"


def test_links_and_special_files_in_the_folder_are_refused_each_with_a_reason(articles_dir: Path, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("Un secret\n\nCe texte est hors du dossier des articles.", encoding="utf-8")
    (articles_dir / "zz_link.txt").symlink_to(outside)
    (articles_dir / "zz_inside_link.txt").symlink_to(articles_dir / "001_58e8c327b5777ef9.txt")
    (articles_dir / "zz_dev.txt").symlink_to("/dev/zero")
    os.mkfifo(articles_dir / "zz_fifo.txt")  # opening it for reading would block forever
    result = load_articles(articles_dir)
    reasons = {e.path.name: e.reason for e in result.errors}
    assert sorted(reasons) == ["zz_dev.txt", "zz_fifo.txt", "zz_inside_link.txt", "zz_link.txt"]
    assert all("symbolic link" in reasons[name] for name in ("zz_dev.txt", "zz_inside_link.txt", "zz_link.txt"))
    assert "not a regular file" in reasons["zz_fifo.txt"]
    assert len(result.articles) == 5 and "Un secret" not in {a.info.title for a in result.articles}


def test_one_bad_file_does_not_stop_the_others(articles_dir: Path):
    (articles_dir / "zz_broken.txt").write_bytes(b"\xff\xfe\xfa\xfb broken")
    (articles_dir / "zz_empty.txt").write_bytes(b"")
    result = load_articles(articles_dir)
    assert len(result.articles) == 5
    assert sorted(e.path.name for e in result.errors) == ["zz_broken.txt", "zz_empty.txt"]


@pytest.mark.parametrize("end", ["", "\n", "   ", "\n\n"])
def test_front_matter_alone_is_no_article_whether_or_not_a_newline_ends_it(end):
    raw = f"---\ntitle: Front matter only without final newline here\nsource: Someone Important\n---{end}"
    with pytest.raises(BadArticle, match="no article text"):
        parse_article(raw.encode(), Path("fm_only_noeol.md"))


def test_front_matter_followed_by_a_body_is_still_read():
    raw = "---\ntitle: Le titre\n---\nLe président russe a rencontré Kim à Pyongyang pour signer un accord."
    assert parse_article(raw.encode(), Path("a.md")).info.title == "Le titre"  # unchanged
