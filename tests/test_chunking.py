from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval import ChunkSettings, chunk_article, load_articles
from retrieval.corpus.articles import parse_article
from retrieval.corpus.chunking import chunk_spans, paragraph_spans, sentence_spans

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
            assert len(p.text) <= DEFAULT.max_chars
        for a, b in itertools.pairwise(passages):
            assert a.char_end <= b.char_start
            assert article.body[a.char_end : b.char_start].strip() == ""  # nothing is dropped
        assert passages[0].char_start == 0 and passages[-1].char_end == len(article.body)
        # Only the very last passage of an article may be short.
        assert all(len(p.text) >= DEFAULT.min_chars // 2 for p in passages[:-1])


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
        assert len(p.text) <= chunking.max_chars
        assert p.char_start >= pos and p.text.strip() == p.text
        pos = p.char_end


# Passage spans and sentence ends of every seed, recorded before sentence splitting was made
# linear-time: the rewrite must split the real articles exactly as before.
# fmt: off
SEED_PASSAGES = {
    "000_6b9ece9a93871e23": [(0, 367), (369, 737), (739, 999), (1001, 1412), (1414, 1845), (1847, 2180), (2182, 2630), (2632, 3043), (3045, 3416), (3418, 3814), (3816, 4144), (4146, 4580), (4582, 4935), (4937, 5359), (5361, 5613), (5615, 6055), (6057, 6319), (6321, 6751), (6753, 6936)],  # noqa: E501
    "001_58e8c327b5777ef9": [(0, 532), (534, 799), (801, 1079), (1081, 1488), (1490, 1788), (1790, 2096), (2098, 2558), (2560, 3017), (3019, 3552), (3554, 3903)],  # noqa: E501
    "002_3620be85bbcd42ef": [(0, 508), (510, 848), (850, 1342), (1343, 1747), (1748, 2217), (2218, 2625), (2627, 3017), (3019, 3420), (3421, 3876), (3877, 4140), (4142, 4535), (4537, 4932)],  # noqa: E501
    "003_79011271dbdc1a5f": [(0, 271), (273, 777), (779, 1183), (1185, 1496), (1498, 1973), (1975, 2258), (2260, 2613), (2615, 2975), (2977, 3438), (3440, 3756)],  # noqa: E501
    "004_34fdb793e7d525a8": [(0, 401), (403, 814), (816, 1262), (1263, 1665), (1667, 1920), (1922, 2261), (2263, 2737), (2739, 3117)],  # noqa: E501
}
SEED_SENTENCE_ENDS = {
    "000_6b9ece9a93871e23": [125, 142, 195, 367, 529, 737, 842, 999, 1180, 1412, 1608, 1845, 2087, 2180, 2374, 2630, 2869, 3043, 3206, 3240, 3416, 3629, 3814, 3953, 4144, 4345, 4580, 4715, 4935, 5067, 5359, 5394, 5613, 5862, 6055, 6198, 6319, 6538, 6751, 6922, 6936],  # noqa: E501
    "001_58e8c327b5777ef9": [170, 228, 398, 532, 799, 1036, 1079, 1329, 1488, 1788, 1912, 2096, 2284, 2417, 2558, 2672, 2740, 2907, 3017, 3126, 3245, 3424, 3552, 3720, 3770, 3903],  # noqa: E501
    "002_3620be85bbcd42ef": [250, 508, 668, 848, 1093, 1241, 1342, 1486, 1560, 1747, 1927, 2079, 2217, 2331, 2478, 2625, 2788, 3017, 3158, 3420, 3593, 3718, 3876, 4042, 4140, 4381, 4535, 4737, 4932],  # noqa: E501
    "003_79011271dbdc1a5f": [249, 271, 491, 777, 970, 1183, 1496, 1521, 1635, 1697, 1973, 2087, 2258, 2451, 2613, 2787, 2975, 3201, 3242, 3331, 3438, 3632, 3756],  # noqa: E501
    "004_34fdb793e7d525a8": [174, 255, 331, 401, 550, 624, 814, 862, 1022, 1262, 1457, 1665, 1887, 1920, 2107, 2261, 2467, 2737, 2858, 3044, 3117],  # noqa: E501
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
