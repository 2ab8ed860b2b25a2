"""Body text only: what is not article text is recognised at ingest by general rules, and every
sentence an answer may quote is verbatim in the article's file, at its offsets.

The seeds, and hostile examples of each kind of thing that is not article text: credits, bylines,
datelines and "Mis à jour" lines, captions (with the credit ending the line or glued inside it),
headlines of other articles, "Lire aussi" lines, comment widgets, donation footers, markup.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import ChunkSettings, chunk_article, load_articles
from retrieval.corpus.analysis import tidy
from retrieval.corpus.articles import parse_article
from retrieval.corpus.chunking import passage_sentences

from .support import SEEDS

STORY = (
    "Le président russe a rencontré son homologue nord-coréen à Pyongyang pour une visite d’État de deux jours. "
    "Les deux dirigeants ont signé un accord de partenariat stratégique global."
)
MORE = "Le texte continue avec des phrases ordinaires sur la coopération entre les deux pays, comme tout article."


def quotable(article) -> list[str]:
    """Every sentence an answer may quote, as it stands in the file (whitespace aside)."""
    return [
        tidy(article.body[s:e])
        for p in chunk_article(article, ChunkSettings())
        for s, e in passage_sentences(p, article.unquotable)
    ]


def parse(text: str, name: str = "a.txt"):
    return parse_article(text.encode("utf-8"), Path(name))


def test_every_quotable_sentence_of_the_seeds_is_verbatim_in_its_file_at_its_offsets():
    for article in load_articles(SEEDS).articles:
        source = (SEEDS / article.path).read_text(encoding="utf-8")
        sentences = [
            span for p in chunk_article(article, ChunkSettings()) for span in passage_sentences(p, article.unquotable)
        ]
        assert len(sentences) > 10
        for start, end in sentences:
            assert tidy(source[start:end]) == tidy(article.body[start:end]), (article.id, start)
            assert source[start:end].strip() == source[start:end]  # it starts and ends on text


def test_no_seed_sentence_quotes_a_credit_byline_dateline_caption_or_headline():
    banned = (
        "Par Adam Morrow",
        "Mis à jour",
        "Avec Reuters",
        "Agence France-Presse",
        "SÉOUL –",
        "(Séoul)",
        "Getty Images",
        "PHOTO AGENCE",
        "Le leader nord-coréen est arrivé en Russie par train blindé",  # a caption
        "Le dernier missile balistique nord-coréen est le plus puissant",  # another article's headline
        "soldat américain en avait assez",  # another one
        "Allégations de transfert",  # a section heading
        "Commentez cette histoire",
        "Réemployer ce contenu",
        "Soutenez Epoch Times",
    )
    for article in load_articles(SEEDS).articles:
        for sentence in quotable(article):
            assert not any(b in sentence for b in banned), (article.id, sentence)


def test_metadata_lines_are_metadata_and_never_quoted():
    header = "Un titre de l’article\n\nPar Jeanne Martin\n\nPublié le 19/06/2024 à 10h30"
    text = f"{header}\n\n{STORY}\n\n{MORE}\n\nAvec l’AFP\n"
    article = parse(text)
    assert article.info.title == "Un titre de l’article"
    assert (article.info.byline, article.info.date, article.info.source) == ("Jeanne Martin", "2024-06-19", "AFP")
    assert not any("Jeanne" in s or "Publié" in s or "AFP" in s for s in quotable(article))
    assert "Par Jeanne Martin" in tidy(article.body)  # still in its passage: a search finds it


@pytest.mark.parametrize(
    "dateline",
    [
        "19 juin 2024 23:09 Mis à jour: 9 juillet 2024 21:57",
        "Mis à jour le 20 juin 2024 à 08h15",
        "Updated June 20, 2024 8:15 am",
        "2024-06-19 10:30 UTC",
    ],
)
def test_datelines_in_their_forms_are_not_quoted(dateline):
    article = parse(f"{dateline}\n\n{STORY}\n\n{MORE}\n")
    assert quotable(article)[0].startswith("Le président russe")
    assert article.info.date is not None


@pytest.mark.parametrize("place", ["(Séoul) ", "SÉOUL – ", "MOSCOU — "])
def test_a_place_dateline_opening_the_story_is_not_part_of_its_first_sentence(place):
    article = parse(f"{place}{STORY}\n\n{MORE}\n")
    assert quotable(article)[0].startswith("Le président russe")


@pytest.mark.parametrize(
    "caption",
    [
        "Des personnes regardent un écran de télévision à Séoul. (Photo par Chung Sung-Jun/Getty Images)",
        "Kim Jong-un descend de son train blindé. (KCNA/via Reuters)",
        "PHOTO AGENCE KCNA PAR REUTERS Le leader nord-coréen est arrivé en Russie par train blindé.",
        "Vladimir Poutine à Pyongyang. (Crédit : Sputnik)",
    ],
)
def test_captions_are_not_article_text(caption):
    article = parse(f"{STORY}\n\n{caption}\n\n{MORE}\n")
    words = set(caption.split()) - set(STORY.split()) - set(MORE.split())
    assert not any(w in article.body.split() for w in words if len(w) > 4), caption


def test_a_caption_glued_inside_a_paragraph_never_joins_the_text_around_it():
    glued = (
        "Des personnes regardent un écran à Séoul. (Photo par Chung Sung-Jun/Getty Images) "
        "Depuis que la Russie a envahi l’Ukraine, Moscou cherche des alliés."
    )
    article = parse(f"{STORY}\n\n{glued}\n\n{MORE}\n")
    sentences = quotable(article)
    assert "Depuis que la Russie a envahi l’Ukraine, Moscou cherche des alliés." in sentences
    assert not any("Getty" in s or "écran" in s for s in sentences)


def test_a_story_credit_in_brackets_is_the_source_not_a_caption():
    article = parse(f"{STORY}\n\n{MORE} (AFP)\n")
    assert article.info.source == "AFP"
    assert any(s.startswith("Le texte continue") for s in quotable(article))  # the paragraph stays
    assert not any("(AFP)" in s for s in quotable(article))


def test_headlines_of_other_articles_and_see_also_lines_are_not_quoted():
    text = (
        f"{STORY}\n\nLe dernier missile balistique nord-coréen est le plus puissant à ce jour\n\n"
        f"Lire aussi : Le sommet de Vladivostok a duré deux heures\n\n{MORE}\n"
    )
    sentences = quotable(parse(text))
    assert not any("missile balistique" in s or "Vladivostok" in s or "Lire aussi" in s for s in sentences)
    assert sentences[-1] == MORE


def test_widgets_and_a_donation_footer_are_not_article_text():
    text = (
        f"Commentez cette histoire Commentaire {STORY}\n\n{MORE}\n\n{MORE}\n\n"
        "Soutenez notre journalisme à partir de 1€\n\nComment pouvez-vous nous aider à vous tenir informés ?\n"
    )
    sentences = quotable(parse(text))
    assert sentences[0].startswith("Le président russe")
    assert not any("Soutenez" in s or "aider" in s or "Commentez" in s for s in sentences)


def test_markdown_markup_is_not_quoted_and_offsets_stay_the_file_s(tmp_path):
    body = "Le **traité** prévoit une [aide](https://x.y) mutuelle."
    text = f"---\ntitle: Le sommet\n---\n# Le sommet\n\n{body}\n\n{MORE}\n"
    path = tmp_path / "m.md"
    path.write_text(text, encoding="utf-8")
    article = parse_article(path.read_bytes(), path)
    assert len(article.body) == len(text)
    assert "Le traité prévoit une aide mutuelle." in quotable(article)


def test_crlf_spaces_and_invisible_marks_keep_the_offsets():
    text = f"Un titre\r\n\r\nLe pré\u00adsident russe a rencontré\u00a0Kim à Pyongyang.\r\n\r\n{MORE}\r\n"
    article = parse(text)
    assert len(article.body) == len(text)
    first = quotable(article)[0]
    assert first == "Le président russe a rencontré Kim à Pyongyang."
    start = article.body.index("Le président")
    assert text[start : start + 6] == "Le pré"


def test_a_file_of_short_lines_only_is_its_own_text():
    """Nothing ends like a sentence: the lines are the article, not headings to drop."""
    article = parse("Poutine à Pyongyang\nKim Jong-un à Vladivostok\nUn accord de défense mutuelle\n")
    assert "Kim Jong-un à Vladivostok" in tidy(article.body)
