from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from retrieval import ChunkSettings, chunk_article, load_articles
from retrieval.corpus.analysis import tidy
from retrieval.corpus.articles import parse_article
from retrieval.corpus.chunking import (
    chunk_spans,
    chunk_with_sentences,
    paragraph_spans,
    passage_sentences,
    sentence_spans,
)
from retrieval.types import Article, ArticleInfo

from .support import ROOT, SEEDS

DEFAULT = ChunkSettings()


@pytest.fixture(scope="module")
def seeds():
    return load_articles(SEEDS).articles


def _sentence_ends(body: str) -> set[int]:
    ends = set()
    for start, end in _paragraphs(body):
        ends.update(e for _, e in sentence_spans(body, start, end))
    return ends


def _paragraphs(body: str):
    pos = 0
    for para in body.split("\n\n"):
        yield pos, pos + len(para)
        pos += len(para) + 2


def test_passages_are_verbatim_slices_with_offsets(seeds):
    for article in seeds:
        passages = chunk_article(article, DEFAULT)
        assert passages, article.id
        for i, p in enumerate(passages):
            assert p.text == article.body[p.char_start : p.char_end]
            assert p.ordinal == i and p.id == f"{article.id}#{i}" and p.article_id == article.id


def test_passages_are_bounded_and_cover_the_body_in_order(seeds):
    for article in seeds:
        passages = chunk_article(article, DEFAULT)
        for p in passages:
            assert len(tidy(p.text)) <= DEFAULT.max_chars  # the text a reader sees; blanks do not count
        for a, b in itertools.pairwise(passages):
            assert a.char_end <= b.char_start
            assert article.body[a.char_end : b.char_start].strip() == ""  # nothing is dropped
        assert not article.body[: passages[0].char_start].strip()
        assert not article.body[passages[-1].char_end :].strip()
        # Only the very last passage of an article may be short.
        assert all(len(tidy(p.text)) >= DEFAULT.min_chars // 2 for p in passages[:-1])


def test_passages_end_on_sentence_boundaries(seeds):
    for article in seeds:
        ends = _sentence_ends(article.body)
        for p in chunk_article(article, DEFAULT):
            assert p.char_end in ends, (article.id, p.text[-60:])


def test_mean_passage_is_citation_sized(seeds):
    sizes = [len(p.text) for a in seeds for p in chunk_article(a, DEFAULT)]
    assert 250 <= sum(sizes) / len(sizes) <= 550


def test_sentence_splitter_knows_french_abbreviations_and_quotes():
    text = (
        "« C’est un succès. » Il a ajouté que M. Poutine et Mme Choe étaient là. "
        "Le stock atteint 11.000 conteneurs. J. Kirby a parlé."
    )
    parts = [text[s:e] for s, e in sentence_spans(text)]
    assert parts == [
        "« C’est un succès. »",
        "Il a ajouté que M. Poutine et Mme Choe étaient là.",
        "Le stock atteint 11.000 conteneurs.",
        "J. Kirby a parlé.",
    ]


def test_a_sentence_longer_than_the_bound_is_cut_at_words():
    body = " ".join(["mot"] * 400) + "."
    spans = chunk_spans(body, ChunkSettings(min_chars=50, max_chars=100))
    assert all(e - s <= 100 for s, e in spans)
    assert all(body[s] != " " and body[e - 1] != " " for s, e in spans)
    assert " ".join(body[s:e] for s, e in spans) == body


paragraph = st.lists(
    st.text(alphabet=st.sampled_from("abcdeéàfg XYZ.,!?«»’"), min_size=1, max_size=200), min_size=1, max_size=8
)


@settings(max_examples=150, deadline=None)
@given(
    paras=st.lists(paragraph.map(" ".join), min_size=1, max_size=6), lo=st.integers(20, 200), span=st.integers(0, 300)
)
@example(paras=["XX ? XXXXX?? ????????????XXXXXXX  XX"], lo=20, span=0)  # a cut before a double space
def test_chunking_property_bounded_verbatim_ordered(paras, lo, span):
    try:
        article = parse_article("\n\n".join(paras).encode(), SEEDS / "prop.txt")
    except Exception:  # nothing left after cleaning: the loader refuses it, not the chunker's concern
        return
    chunking = ChunkSettings(min_chars=lo, max_chars=lo + span + 10)
    passages = chunk_article(article, chunking)
    assert passages
    pos = 0
    for p in passages:
        assert article.body[p.char_start : p.char_end] == p.text
        assert len(tidy(p.text)) <= chunking.max_chars
        assert p.char_start >= pos and p.text.strip() == p.text
        pos = p.char_end


def _re_split(article, chunking):
    """Each passage's sentences found by splitting its text again (what the indexer did before)."""
    passages = chunk_article(article, chunking)
    return passages, [(i, s, e) for i, p in enumerate(passages) for s, e in passage_sentences(p, article.unquotable)]


@pytest.mark.parametrize("chunking", [DEFAULT, ChunkSettings(min_chars=40, max_chars=90)], ids=["default", "small"])
def test_the_sentences_the_chunker_packed_are_those_a_second_split_of_each_passage_finds(seeds, chunking):
    """The indexer takes each passage's quotable sentences from the chunker's own split instead of
    splitting every passage again: the same spans, on the seeds and with small passages (where many
    sentences are cut for length and passages open on their pieces)."""
    for article in seeds:
        found = chunk_with_sentences(article, chunking)
        assert found == _re_split(article, chunking), article.id
        assert len(found[1]) > 10


words = st.sampled_from(
    ["Le", "M.", "etc.", "J.", "Dr.", "Kim", "a", "accord", "!", "?", "…", "«", "»", "(AFP)", "2024.", "n°", "x" * 38]
)


@settings(max_examples=300, deadline=None)
@given(
    paras=st.lists(st.lists(words, min_size=1, max_size=60).map(" ".join), min_size=1, max_size=5),
    spaces=st.integers(1, 3),
    unquotable=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 60)), max_size=3),
    lo=st.integers(10, 120),
    span=st.integers(0, 200),
)
def test_the_chunker_s_sentences_equal_a_second_split_on_any_text(paras, spaces, unquotable, lo, span):
    """Abbreviations, initials, quotes, runs of spaces, words longer than a passage (cut inside
    them), unquotable ranges anywhere."""
    body = "\n".join(p.replace(" ", " " * spaces) for p in paras)
    ranges = tuple(sorted((start, start + n) for start, n in unquotable))
    article = Article(ArticleInfo(id="p", title="T"), body, "p.txt", "", unquotable=ranges)
    chunking = ChunkSettings(min_chars=lo, max_chars=lo + span + 10)
    assert chunk_with_sentences(article, chunking) == _re_split(article, chunking)


# Passage spans and sentence ends of every seed (offsets into the files), recorded when sentence
# splitting was made linear-time and again when bodies took their files' offsets: a change to the
# chunker must split the real articles exactly as before, or say why here.
# fmt: off
SEED_PASSAGES = {
    "000_6b9ece9a93871e23": [(204, 605), (607, 918), (920, 1256), (1258, 1684), (1686, 2163), (2165, 2450), (2452, 2706), (2708, 3119), (3358, 3745), (3747, 4069), (4071, 4461), (4463, 4831), (4833, 5183), (5557, 6023), (6025, 6359), (6361, 6699), (6701, 7097)],  # noqa: E501
    "001_58e8c327b5777ef9": [(0, 531), (532, 797), (798, 1324), (1325, 1782), (1783, 2089), (2090, 2550), (2551, 3007), (3008, 3540), (3541, 3890)],  # noqa: E501
    "002_3620be85bbcd42ef": [(52, 560), (562, 900), (902, 1394), (1395, 1979), (1981, 2383), (2385, 2677), (2679, 3069), (3071, 3472), (3473, 3928), (3929, 4433), (4435, 4984)],  # noqa: E501
    "003_79011271dbdc1a5f": [(74, 345), (347, 851), (853, 1257), (1259, 1570), (1597, 2077), (2079, 2362), (2364, 2717), (2719, 3079), (3081, 3542), (3544, 3860)],  # noqa: E501
    "004_34fdb793e7d525a8": [(14, 415), (417, 828), (878, 1276), (1277, 1679), (1681, 2121), (2122, 2481), (2483, 2751), (2753, 3131)],  # noqa: E501
}
SEED_SENTENCE_ENDS = {
    "000_6b9ece9a93871e23": [219, 271, 443, 605, 813, 918, 1075, 1256, 1488, 1684, 1921, 2163, 2256, 2450, 2706, 2945, 3119, 3532, 3745, 3930, 4069, 4260, 4461, 4696, 4831, 5051, 5183, 5774, 6023, 6216, 6359, 6480, 6699, 6912, 7083, 7097],  # noqa: E501
    "001_58e8c327b5777ef9": [170, 228, 397, 531, 797, 1033, 1324, 1483, 1782, 1905, 2089, 2276, 2409, 2550, 2663, 2731, 2897, 3007, 3115, 3234, 3412, 3540, 3707, 3757, 3890],  # noqa: E501
    "002_3620be85bbcd42ef": [302, 560, 720, 900, 1145, 1293, 1394, 1538, 1799, 1979, 2131, 2269, 2383, 2530, 2677, 2840, 3069, 3210, 3472, 3645, 3770, 3928, 4094, 4433, 4587, 4789, 4984],  # noqa: E501
    "003_79011271dbdc1a5f": [323, 345, 565, 851, 1044, 1257, 1570, 1709, 2077, 2191, 2362, 2555, 2717, 2891, 3079, 3305, 3346, 3435, 3542, 3736, 3860],  # noqa: E501
    "004_34fdb793e7d525a8": [188, 269, 345, 415, 564, 638, 828, 1036, 1276, 1471, 1679, 1901, 2121, 2275, 2481, 2751, 2872, 3058, 3131],  # noqa: E501
}
# fmt: on


def test_seeds_split_exactly_as_recorded(seeds):
    assert sorted(a.id for a in seeds) == sorted(SEED_PASSAGES)
    for article in seeds:
        body = article.body
        assert chunk_spans(body, DEFAULT) == SEED_PASSAGES[article.id], article.id
        ends = [end for p in paragraph_spans(body) for _, end in sentence_spans(body, *p)]
        assert ends == SEED_SENTENCE_ENDS[article.id], article.id


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("M. Dupont est venu. Il est reparti.", [19, 35]),  # abbreviation
        ("Selon J. Martin, rien. Puis tout.", [22, 33]),  # an initial
        ("Voir etc.) Fin de la liste. Oui.", [10, 27, 32]),  # a stop and a bracket end a sentence
        ("Il a vu Kim. Puis Moon.", [12, 23]),
        ("Le n°. Trois suit.", [18]),  # "n°" is an abbreviation
        ("x" * 40 + "M. Suite du texte.", [42, 58]),  # a long word ending in M is no initial
        ("Dr. No. Oui.", [12]),
        ("Un M" + "-" * 10 + ". Puis la suite.", [30]),  # an initial, then symbols
        ("Un M" + "-" * 30 + ". Puis la suite.", [35, 50]),  # symbols too long to look past
    ],
)
def test_sentence_ends_around_abbreviations_and_long_words(text, ends):
    assert [end for _, end in sentence_spans(text)] == ends


# Texts that made sentence splitting quadratic (a 200 KB word stalled `add` for minutes),
# as Python expressions: each is chunked in a child process, so that a regular expression
# stuck in C (where no signal or timer thread gets through) is still stopped and reported.
PATHOLOGICAL = {
    "long-word": '"Titre\\n\\n" + "a" * MB + " " + P * 3',  # one long word before a full stop
    "dots": '"x" + "." * MB + "x " + P',  # a run of dots without a space
    "spaces": '"a. " + " " * MB + "bien. " + P',  # a run of spaces after a stop, no capital next
    "abbreviations": '"M. " * (MB // 3) + P',  # abbreviations only: the sentence never ends
    "initials": '("M" + "-" * 12 + ". A ") * (MB // 17)',  # symbols between an initial and its stop
    "tiny-sentences": '"Ab. " * (2 * MB // 4)',  # half a million tiny sentences on one line
}
CHILD = """
import sys
from retrieval.corpus.chunking import ChunkSettings, chunk_spans
MB, P = 1_000_000, {P!r}
text = eval(sys.argv[1])
spans = chunk_spans(text, ChunkSettings())
assert spans and all(0 <= s < e <= len(text) and e - s <= 550 for s, e in spans)
assert text[spans[-1][0] : spans[-1][1]].strip()
print(len(spans))
"""


@pytest.mark.parametrize("case", sorted(PATHOLOGICAL))
def test_pathological_megabyte_text_is_chunked_without_hanging(case):
    """A hang guard, not a speed measure: linear splitting takes about a second here,
    the quadratic one took from minutes to hours."""
    code = CHILD.format(P="Le président russe a rencontré Kim à Pyongyang pour signer un accord. ")
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, PATHOLOGICAL[case]], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"chunking the {case!r} text did not finish in a minute")
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) > 1
