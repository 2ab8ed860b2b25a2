"""Hostile input, by class: fetched URLs, files, parsers with expansion, bytes that are not text.

Every refusal is one line naming the input, nothing reaches the articles folder, and the
index lock is free while a download runs. The web server is real (tests/hostile_server.py).
"""

from __future__ import annotations

import codecs
import ipaddress
import itertools
import json
import os
import random
import string
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import CliContext, app
from retrieval import BadArticle, Engine, load_article, load_articles, parse_article
from retrieval.corpus.analysis import tidy
from retrieval.corpus.fetch import address_problem, display_url, fetch
from retrieval.corpus.frontmatter import KNOWN_KEYS, parse_front_matter
from retrieval.corpus.ingest import Library
from retrieval.errors import BadQuestion
from retrieval.lock import IndexBusy, index_lock
from retrieval.options import FetchSettings
from retrieval.search.question import clean_question

from .hostile_server import PASSWORD, SECRET, HostileServer
from .support import fake_encoders, make_settings

ARTICLE = (
    "Un pont ferroviaire sur le fleuve Toumen\n\n"
    "La Russie et la Corée du Nord ont inauguré un pont ferroviaire sur le fleuve Toumen. "
    "Le pont doit faciliter le transport de marchandises entre Khassan et Tumangang.\n"
)


def folder_state(folder: Path) -> list[tuple[str, int]]:
    return sorted((p.name, p.lstat().st_size) for p in folder.iterdir())


def one_line_refusal(err: BadArticle) -> str:
    text = str(err)
    assert "\n" not in text and err.reason and text.startswith(f"{err.label}: ")
    return err.reason


# =====================================================================================
# Fetching URLs: SSRF, redirects, slow and lying servers, bombs
# =====================================================================================


@dataclass
class Web:
    server: HostileServer
    lock_seen: list[tuple[str, str]] = field(default_factory=list)  # (path, "free"/"busy") during requests

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def web(tmp_path: Path):
    data_dir = tmp_path / "data"
    seen: list[tuple[str, str]] = []

    def probe(path: str) -> None:
        # Runs in the server while the client is downloading: could an `index` start now?
        try:
            with index_lock(data_dir):
                seen.append((path, "free"))
        except IndexBusy:
            seen.append((path, "busy"))

    server = HostileServer(on_request=probe)
    with server.running():
        yield Web(server, seen)


def make_engine(tmp_path: Path, articles_dir: Path, **overrides: object) -> Engine:
    values: dict[str, object] = {"articles_dir": articles_dir, "fetch_timeout_seconds": 2.0}
    values.update(overrides)
    return Engine(make_settings(tmp_path, **values), encoders=fake_encoders())


def test_a_loopback_url_is_refused_by_default_without_connecting(tmp_path, articles_dir, web):
    before = folder_state(articles_dir)
    engine = make_engine(tmp_path, articles_dir)
    report, index = engine.add([f"{web.url}/secret", f"{web.url}/to?url=/secret"])
    assert report.added == () and index is None
    for err in report.refused:
        assert "loopback" in one_line_refusal(err) and "RAGBOT_ALLOW_PRIVATE_URLS" in err.reason
    assert web.server.requests == []  # refused before connecting
    assert folder_state(articles_dir) == before


def test_an_allowed_host_still_works_and_records_the_final_url(tmp_path, articles_dir, web):
    engine = make_engine(tmp_path, articles_dir, fetch_allowed_hosts=["127.0.0.1"])
    report, index = engine.add([f"{web.url}/to?url=/article"])
    [added] = report.added
    assert report.refused == () and index is not None and added.article_id in index.added
    info = load_article(articles_dir / added.file).info
    assert info.url == f"{web.url}/article" and info.title == "Le pont du Toumen"
    assert web.lock_seen == [("/to", "free"), ("/article", "free")]  # no lock while downloading


def redirect_targets(port: int) -> list[tuple[str, str]]:
    """(Location, what the refusal says): internal addresses in every spelling, other schemes."""
    return [
        (f"http://localhost:{port}/secret", "loopback"),
        (f"http://127.1:{port}/secret", "loopback"),
        (f"http://2130706433:{port}/secret", "loopback"),
        (f"http://0x7f000001:{port}/secret", "loopback"),
        (f"http://[::ffff:127.0.0.1]:{port}/secret", "loopback"),
        (f"http://[::1]:{port}/secret", "loopback"),
        (f"http://0.0.0.0:{port}/secret", "unspecified"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "private"),
        ("http://100.100.100.200/latest/meta-data/", "non-public"),
        ("http://10.0.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 around 127.0.0.1
        ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 around 10.0.0.1
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:70/", "only http and https"),
        (f"http://{port}.example.invalid/", "cannot resolve"),
    ]


def test_every_redirect_hop_is_checked(tmp_path, articles_dir, web):
    before = folder_state(articles_dir)
    targets = redirect_targets(web.server.port)
    engine = make_engine(tmp_path, articles_dir, fetch_allowed_hosts=["127.0.0.1"])
    asked = [f"{web.url}/to?url={quote(location, safe='')}" for location, _ in targets]
    report, index = engine.add([*asked, f"{web.url}/to-with-password"])
    assert report.added == () and index is None and len(report.refused) == len(targets) + 1
    for (location, expected), err in zip([*targets, ("", "credentials")], report.refused, strict=True):
        reason = one_line_refusal(err)
        assert expected in reason, (location, reason)
    assert PASSWORD not in str(report.refused[-1])
    assert "/secret" not in web.server.requests  # the internal service was never reached
    assert folder_state(articles_dir) == before


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        ("192.0.2.1", "private"),  # documentation
        ("198.18.0.1", "private"),  # benchmarking
        ("100.100.100.200", "non-public"),  # Alibaba Cloud metadata
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd00:ec2::254", "private"),  # AWS metadata over IPv6
        ("ff02::1", "multicast"),
        ("2001:db8::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:a9fe:a9fe::", "link-local"),  # 6to4 around 169.254.169.254
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 around 127.0.0.1
        ("8.8.8.8", None),
        ("93.184.215.14", None),
        ("::ffff:8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("2002:808:808::", None),
    ],
)
def test_address_classes(address, problem):
    assert address_problem(ipaddress.ip_address(address)) == problem


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("/drip-body", "within 1.5 s"),
        ("/drip-headers", "within 1.5 s"),
        ("/no-length", "larger than 200000 bytes"),
        ("/chunked", "larger than 200000 bytes"),
        ("/big-length", "announced"),
        ("/gzip-bomb", "once decompressed"),
        ("/deflate-bomb", "once decompressed"),
        ("/lie-length", "not prose"),  # only the 100 announced bytes are read, and they are digits
        ("/loop", "more than 5 redirects"),
    ],
)
def test_hostile_servers_give_one_line_and_write_nothing(tmp_path, articles_dir, web, route, expected):
    before = folder_state(articles_dir)
    engine = make_engine(
        tmp_path,
        articles_dir,
        fetch_allowed_hosts=["127.0.0.1"],
        # The deadline cases need a short deadline; the others a long one, so that a loaded
        # machine cannot turn "too big" into "too slow".
        fetch_timeout_seconds=1.5 if "within" in expected else 60.0,
        max_article_bytes=200_000,
    )
    report, index = engine.add([f"{web.url}{route}"])
    assert report.added == () and index is None
    [err] = report.refused
    assert expected in one_line_refusal(err)
    assert folder_state(articles_dir) == before
    assert web.lock_seen and all(state == "free" for _, state in web.lock_seen)


def test_cli_prints_one_line_per_hostile_url_and_no_credentials(tmp_path, articles_dir, web):
    settings = make_settings(
        tmp_path, articles_dir=articles_dir, fetch_timeout_seconds=1.5, fetch_allowed_hosts=["127.0.0.1"]
    )
    urls = [
        f"{web.url}/drip-body",
        f"{web.url}/gzip-bomb",
        f"http://reader:{PASSWORD}@127.0.0.1:{web.server.port}/article",
        f"{web.url}/to?url=http://localhost:{web.server.port}/secret",
    ]
    result = CliRunner().invoke(app, ["add", "--json", *urls], obj=CliContext(settings, fake_encoders()))
    assert result.exit_code == 6, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("refused ") for line in lines)
    assert PASSWORD not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert "***@127.0.0.1" in lines[2]
    assert [r["source"] for r in json.loads(result.stdout)["refused"]][2].startswith("http://***@")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://me:hunter2@example.org/a", "https://***@example.org/a"),
        ("https://me@example.org/a", "https://***@example.org/a"),
        ("https://me:hun@ter2@example.org/a?b=c", "https://***@example.org/a?b=c"),
        ("http://me:hunter2/x@example.org/", "http://***@example.org/"),
        ("https://medium.com/@someone/story", "https://medium.com/@someone/story"),
        ("https://example.org/a?mail=x@y.org", "https://example.org/a?mail=x@y.org"),
    ],
)
def test_urls_are_printed_without_credentials(tmp_path, url, shown):
    assert display_url(url) == shown
    if "hunter2" in url:
        [err] = Library(tmp_path, max_bytes=10_000).add_paths([url]).refused
        assert "hunter2" not in str(err) and err.label == shown


# =====================================================================================
# Files: symlinks and special files
# =====================================================================================


def test_add_refuses_a_symlink_instead_of_copying_its_target(tmp_path, articles_dir):
    secret = tmp_path / "outside" / "passwd.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET, encoding="utf-8")
    evil = tmp_path / "evil.txt"
    evil.symlink_to(secret)
    to_device = tmp_path / "zero.txt"
    to_device.symlink_to("/dev/zero")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # a naive open() would wait here forever for a writer
    before = folder_state(articles_dir)
    report = Library(articles_dir, max_bytes=100_000).add_paths([str(evil), str(to_device), str(fifo)])
    assert report.added == ()
    reasons = [one_line_refusal(err) for err in report.refused]
    assert "symbolic link" in reasons[0] and "symbolic link" in reasons[1]
    assert "not a regular file" in reasons[2]
    assert folder_state(articles_dir) == before


# =====================================================================================
# Parsers with expansion: YAML aliases, deep nesting, pathological HTML
# =====================================================================================


def alias_bomb(levels: int = 9) -> str:
    """The billion-laughs front matter: each level lists the previous one nine times."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in itertools.pairwise("abcdefghijklmnopqrstuvwxyz"[:levels]):
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines)


def test_the_nine_level_alias_bomb_is_refused_and_the_others_still_load(articles_dir):
    bomb = f"---\n{alias_bomb(9)}\ntitle: Bombe\n---\n{ARTICLE}"
    assert len(bomb.split("\n---\n")[0]) < 500
    (articles_dir / "zz_bomb.md").write_text(bomb, encoding="utf-8")
    loaded = load_articles(articles_dir)
    assert len(loaded.articles) == 5
    [err] = loaded.errors
    assert err.path.name == "zz_bomb.md" and "aliases" in one_line_refusal(err)


@pytest.mark.parametrize("levels", [2, 4, 9])
def test_add_refuses_an_alias_bomb_before_writing(tmp_path, levels):
    folder = tmp_path / "articles"
    library = Library(folder, max_bytes=100_000)
    with pytest.raises(BadArticle) as info:
        library.add_bytes("bomb.md", f"---\n{alias_bomb(levels)}\ntitle: Bombe\n---\n{ARTICLE}".encode())
    assert "aliases" in one_line_refusal(info.value)
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("front_matter", "reason"),
    [
        ("title: &t Le titre\nsource: *t", "anchors"),
        ("base: &b {title: x}\n<<: *b", "anchors"),
        ("tags: " + "[" * 30 + "x" + "]" * 30, "nested deeper"),
        ("title: Le titre\nnotes: " + "x" * 10_000, "longer than"),
        ("title: [Un, titre]", "must be text"),
        ("source: {name: AFP}", "must be text"),
        ("title: !!binary aGVsbG8=", "YAML tag"),
        ("title: !!int ", "YAML tag"),  # an IndexError inside PyYAML, which used to stop every index build
        ("title: !!python/object/apply:os.system ['true']", "YAML tag"),
    ],
)
def test_front_matter_that_expands_or_is_not_text_is_refused(front_matter, reason):
    with pytest.raises(BadArticle) as info:
        parse_article(f"---\n{front_matter}\n---\n{ARTICLE}".encode(), Path("x.md"))
    assert reason in one_line_refusal(info.value)


def test_front_matter_values_stay_text():
    article = parse_article(
        f"---\ntitle: 1984\ndate: 2024-02-30\nsource: yes\ntags: [a, b]\nlayout:\n---\n{ARTICLE}".encode(),
        Path("x.md"),
    )
    assert article.info.title == "1984" and article.info.source == "yes" and article.info.date is None


def test_html_nested_past_the_parser_limit_is_refused_not_truncated(tmp_path):
    paragraph = "<p>" + "Un vrai paragraphe avec des mots, à lire en entier. " * 10 + "</p>"
    page = (
        "<html><head><title>Le titre seul</title></head><body>"
        + "<div>" * 200_000
        + paragraph
        + "</div>" * 200_000
        + "</body></html>"
    )
    with pytest.raises(BadArticle) as info:
        parse_article(page.encode(), Path("deep.html"))
    assert "HTML the parser cannot read completely" in one_line_refusal(info.value)
    shallow = "<html><head><title>T</title></head><body>" + "<div>" * 50 + paragraph * 3 + "</div>" * 50 + "</body>"
    assert "à lire en entier" in parse_article(shallow.encode(), Path("ok.html")).body


# =====================================================================================
# Is this text? Decoding and measuring letters
# =====================================================================================

_CP1252_DEFINED = [b for b in range(0x20, 0x100) if b not in (0x7F, 0x81, 0x8D, 0x8F, 0x90, 0x9D)]
RANDOM_BYTES = {
    "uniform": lambda r: r.randbytes(4096),
    "no-nul": lambda r: bytes(r.randrange(1, 256) for _ in range(4096)),
    "ascii-graphic": lambda r: bytes(r.randrange(0x20, 0x7F) for _ in range(4096)),
    "cp1252-defined": lambda r: bytes(r.choice(_CP1252_DEFINED) for _ in range(4096)),
    "latin1-letters-and-spaces": lambda r: bytes(r.choice(b"D\xc4\xd6\xe9 ") for _ in range(4096)),
    "utf8-anything": lambda r: "".join(chr(r.randrange(0x20, 0x3000)) for _ in range(1500)).encode("utf-8", "ignore"),
    "utf16-bom-random": lambda r: codecs.BOM_UTF16_LE + r.randbytes(4096),
    "printable-with-spaces": lambda r: "".join(r.choice(string.printable) for _ in range(4096)).encode(),
}


@pytest.mark.parametrize("kind", sorted(RANDOM_BYTES))
@pytest.mark.parametrize("suffix", [".txt", ".md", ".html"])
def test_random_bytes_are_never_an_article(kind, suffix):
    for seed in range(5):
        raw = RANDOM_BYTES[kind](random.Random(seed))
        with pytest.raises(BadArticle) as info:
            parse_article(raw, Path(f"random{suffix}"))
        one_line_refusal(info.value)


@pytest.mark.parametrize(
    "text",
    ["!!!", "!!! ??? …\n\n— — —\n\n*** !!!", "1234 5678 9012\n\n3456 7890", "€ £ $ % & @ # § ¶ ©", "a b c d e f"],
)
def test_punctuation_digits_and_symbols_are_not_an_article(text):
    for suffix in (".txt", ".md"):
        with pytest.raises(BadArticle) as info:
            parse_article(text.encode(), Path(f"x{suffix}"))
        assert "not prose" in one_line_refusal(info.value)


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le-bom", "utf-16-be-bom", "utf-32", "utf-8-sig", "utf-16-le", "utf-16-be"]
)
def test_unicode_encodings_with_a_bom_are_decoded(encoding):
    boms = {"utf-16-le-bom": ("utf-16-le", codecs.BOM_UTF16_LE), "utf-16-be-bom": ("utf-16-be", codecs.BOM_UTF16_BE)}
    codec, bom = boms.get(encoding, (encoding, b""))
    raw = bom + ARTICLE.encode(codec)
    article = parse_article(raw, Path("x.txt"))
    assert article.info.title == "Un pont ferroviaire sur le fleuve Toumen"
    assert tidy(article.body) == ARTICLE.split("\n\n", 1)[1].strip()


def test_hostile_files_each_get_a_reason_and_the_others_are_indexed(tmp_path, articles_dir):
    files = {
        "zz_random.txt": random.Random(1).randbytes(4096),
        "zz_punct.txt": b"!!!\n\n???",
        "zz_binary.md": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        "zz_empty.html": b"",
        "zz_big.txt": ARTICLE.encode() * 1000,
        "zz_invalid_utf8.txt": b"\xff\xfe\xfa\xfb\xfc\x9d\x81 bytes",
        "zz_bomb.md": f"---\n{alias_bomb(9)}\n---\n{ARTICLE}".encode(),
        "zz_utf16.txt": ARTICLE.replace("Toumen", "Amour").encode("utf-16"),
    }
    for name, raw in files.items():
        (articles_dir / name).write_bytes(raw)
    report = make_engine(tmp_path, articles_dir, max_article_bytes=100_000).index()
    assert report.articles == 6  # the five seeds and the UTF-16 one
    assert sorted(e.path.name for e in report.errors) == sorted(set(files) - {"zz_utf16.txt"})
    for err in report.errors:
        one_line_refusal(err)


# =====================================================================================
# Fuzz: any bytes load as an article or are refused with a one-line BadArticle
# =====================================================================================

YAML_PIECES = [
    "title: ", "date: ", "source: ", "url: ", "tags: ", "&a ", "*a", "&b ", "*b", "[", "]", "{", "}", ", ",
    ": ", "- ", "\n", "\n  ", "\n    ", "!!binary ", "!!str ", "!!int ", "!!set ", "!!python/object ", "<<: ",
    "? ", "|\n  ", ">\n  ", "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n", "~", "null", "2024-02-30", "9" * 40,
    "\t", "\\", "é", "\x00", "\ufeff",
]  # fmt: skip
yaml_text = st.lists(st.one_of(st.sampled_from(YAML_PIECES), st.text(max_size=8)), max_size=40).map("".join)


@hypothesis_settings(max_examples=400, deadline=None)
@given(source=yaml_text)
def test_fuzz_front_matter_parser(source):
    try:
        meta = parse_front_matter(source, Path("fuzz.md"))
    except BadArticle as err:
        one_line_refusal(err)
        return
    assert set(meta) <= set(KNOWN_KEYS) and all(isinstance(v, str) and v for v in meta.values())


HTML_PIECES = ["<div>", "</div>", "<p>", "</p>", "<title>", "</title>", "<script>", "<!--", "-->", "<![CDATA[", "&amp;"]
file_bytes = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=600).map(str.encode),
    yaml_text.map(lambda y: f"---\n{y}\n---\n{ARTICLE}".encode()),
    st.lists(st.one_of(st.sampled_from(HTML_PIECES), st.text(max_size=20)), max_size=60).map(
        lambda parts: "".join(parts).encode()
    ),
    st.sampled_from(["utf-16", "utf-32", "utf-16-le", "cp1252"]).flatmap(
        lambda codec: st.text(max_size=300).map(lambda t: t.encode(codec, "ignore"))
    ),
)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=file_bytes, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_fuzz_loader(fuzz_dir, raw, suffix):
    path = fuzz_dir / f"fuzz{suffix}"
    path.write_bytes(raw)
    try:
        article = load_article(path, max_bytes=10_000)
    except BadArticle as err:
        one_line_refusal(err)
        return
    assert article.body.strip() and article.info.title and article.info.id == "fuzz"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://0.0.0.0:9/", "0.0.0.0 is an unspecified address;"),
        ("http://[::]:9/", ":: is an unspecified address;"),
        ("http://127.0.0.1:9/", "127.0.0.1 is a loopback address;"),
        ("http://localhost:9/", "localhost resolves to a loopback address ("),
        ("http://10.0.0.1:9/", "10.0.0.1 is a private address;"),
    ],
)
def test_address_refusals_read_as_english(url, said):
    with pytest.raises(BadArticle) as refused:
        fetch(url, FetchSettings(max_bytes=1000, timeout=5))
    assert said in one_line_refusal(refused.value)


@pytest.mark.parametrize(
    "question", ["\x1b[31m\x07", "\x1b[1;31m\x1b[0m", "\x00\x7f\x85\x9b", "\u202e\u2066\u200f", "\x1b]0;31m\x07 \t"]
)
def test_a_question_of_control_characters_is_empty(question):
    with pytest.raises(BadQuestion, match="the question is empty"):
        clean_question(question)


def test_control_characters_and_escape_sequences_leave_the_question():
    question = "\x1b[1;31mQui\x1b[0m a\x07 \u202erencontré\u202c Kim\x00 ?"
    assert clean_question(question) == "Qui a rencontré Kim ?"
