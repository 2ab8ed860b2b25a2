"""The command line through its real entry points: typer in-process with the fake embedder,
and the installed ``ragbot`` script in a subprocess where no model is needed."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import CliContext, app
from bot.logs import setup_logging
from bot.texts import FR
from retrieval import Settings

from .support import DEV_QA, SEEDS, TUMEN_PARAGRAPHS, ZANZIBAR, FakeEmbedder, fake_encoders, make_settings

SEARCH_HIT_KEYS = {"rank", "score", "article_id", "title", "date", "source", "text", "char_start", "char_end"}
CITATION_KEYS = {"n", "article_id", "title", "date", "source", "quote"}
# Added by answers v3, after the contract's keys: the passage's offsets and what the answer quotes of it.
CITATION_EXTRA_KEYS = {"char_start", "char_end", "sentences"}


@pytest.fixture
def cli(settings: Settings):
    """Run ``ragbot ARGS`` in-process; returns (exit code, stdout, stderr)."""
    runner = CliRunner()
    encoders = fake_encoders()

    def run(*args: str, stdin: str | None = None, ctx: CliContext | None = None):
        result = runner.invoke(app, list(args), input=stdin, obj=ctx or CliContext(settings, encoders))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def indexed(cli):
    code, _, _ = cli("index")
    assert code == 0
    return cli


def _bodies(settings: Settings) -> dict[str, str]:
    """Each article file's text (offsets point into it), by article id."""
    return {p.stem: p.read_text(encoding="utf-8") for p in settings.articles_dir.glob("*.txt")}


def _same_words(a: str, b: str) -> bool:
    return a.split() == b.split()


def test_index_prints_a_one_line_summary(cli):
    code, out, _ = cli("index")
    assert code == 0
    assert out.startswith("Indexed 5 articles into ") and " passages in " in out
    assert len(out.strip().splitlines()) == 1


def test_index_json_summary(cli):
    code, out, _ = cli("index", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["articles"] == 5 and summary["passages"] > 5 and summary["seconds"] >= 0
    assert summary["errors"] == []


def test_search_json_contract_one_line_per_question(indexed, settings):
    code, out, _ = indexed(
        "search", "--json", "-k", "3", stdin="Qui a écrit l'article ?\n\nQuand Poutine est-il arrivé ?\n"
    )
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3  # one line out per line in: the blank one gets an error
    assert json.loads(lines[1]) == {"question": "", "error": "the question is empty"}
    bodies = _bodies(settings)
    for line, question in zip(
        [lines[0], lines[2]], ["Qui a écrit l'article ?", "Quand Poutine est-il arrivé ?"], strict=True
    ):
        obj = json.loads(line)
        assert set(obj) == {"question", "hits"} and obj["question"] == question
        assert [h["rank"] for h in obj["hits"]] == [1, 2, 3]
        for hit in obj["hits"]:
            assert set(hit) == SEARCH_HIT_KEYS
            assert isinstance(hit["score"], float) and isinstance(hit["title"], str)
            assert hit["date"] is None or isinstance(hit["date"], str)
            # The passage as it stands in the file, whitespace aside (and anything not article text).
            assert set(hit["text"].split()) <= set(
                bodies[hit["article_id"]][hit["char_start"] : hit["char_end"]].split()
            )


def test_ask_json_contract(indexed, settings):
    code, out, _ = indexed("ask", "--json", "aide réciproque en cas d'attaque")
    assert code == 0
    [line] = out.splitlines()
    obj = json.loads(line)
    assert set(obj) == {"question", "answer", "abstained", "citations"}
    assert obj["abstained"] is False and obj["answer"]
    assert [c["n"] for c in obj["citations"]] == list(range(1, len(obj["citations"]) + 1))
    bodies = _bodies(settings)
    quoted = []
    for c in obj["citations"]:
        assert set(c) == CITATION_KEYS | CITATION_EXTRA_KEYS
        source = bodies[c["article_id"]]
        assert set(c["quote"].split()) <= set(source[c["char_start"] : c["char_end"]].split())
        for sentence in c["sentences"]:  # verbatim in the file, whitespace aside, at its offsets
            assert _same_words(source[sentence["char_start"] : sentence["char_end"]], sentence["text"])
            assert sentence["text"] in obj["answer"]
            quoted.append(sentence["text"])
    assert quoted and obj["answer"].startswith(quoted[0])
    assert obj["citations"][0]["article_id"] == "001_58e8c327b5777ef9"


def test_ask_json_reads_questions_from_stdin(indexed):
    code, out, _ = indexed("ask", "--json", stdin="traité\nsanctions\nmissiles\n")
    assert code == 0
    assert [json.loads(line)["question"] for line in out.splitlines()] == ["traité", "sanctions", "missiles"]


def test_a_bad_question_in_a_batch_gets_its_own_error_line(indexed):
    code, out, _ = indexed("search", "--json", stdin="traité\n" + "x" * 3000 + "\nsanctions\n")
    assert code == 0
    objs = [json.loads(line) for line in out.splitlines()]
    assert len(objs) == 3
    assert "too long" in objs[1]["error"] and "hits" in objs[2]


def test_ask_prints_numbered_citations_one_line_per_source(indexed):
    code, out, _ = indexed("ask", "aide réciproque en cas d'attaque")
    assert code == 0
    answer, sources = out.strip().split("\n\n")
    assert answer.endswith("[1]")
    [line] = [s for s in sources.split("\n") if s.startswith("[1] ")]
    assert "001_58e8c327b5777ef9, chars " in line and "Vladimir Poutine et Kim Jong-un" in line
    assert all(s.startswith("[") for s in sources.split("\n"))  # no passage printed unless asked


def test_ask_passages_shows_each_cited_passage_under_its_source(indexed):
    _, short, _ = indexed("ask", "aide réciproque en cas d'attaque")
    code, out, _ = indexed("ask", "--passages", "aide réciproque en cas d'attaque")
    assert code == 0 and out.startswith(short.split("\n\n")[0])
    assert len(out) > len(short) + 200 and "    “" in out


def test_ask_json_conversation_reads_follow_ups_and_new_starts_over(indexed):
    lines = "Que prévoit le traité ?\net quand ?\n:new\net quand ?\n"
    code, out, _ = indexed("ask", "--json", "--conversation", stdin=lines)
    assert code == 0
    objs = [json.loads(line) for line in out.splitlines()]
    assert [o["question"] for o in objs] == ["Que prévoit le traité ?", "et quand ?", ":new", "et quand ?"]
    assert objs[2] == {"question": ":new", "new_conversation": True}
    # Without --conversation each line is a question of its own, as scripts rely on.
    code, plain, _ = indexed("ask", "--json", stdin=lines)
    assert [json.loads(line)["question"] for line in plain.splitlines()] == [o["question"] for o in objs]
    assert "error" not in json.loads(plain.splitlines()[2])  # ":new" is just a question there
    assert json.loads(plain.splitlines()[1])["answer"] != objs[1]["answer"]  # read alone, not with the treaty


def test_thanks_and_greetings_are_answered_as_the_bot_answers_them(indexed):
    """In plain text "merci" is thanked back and "hello" told what the loop can do, in their language,
    and neither is searched nor ends a conversation; a script's JSON keeps the engine's answer."""
    _, thanked, _ = indexed("ask", "merci beaucoup")
    assert thanked.strip() == FR.you_are_welcome
    _, greeted, _ = indexed("ask", "hello")
    assert greeted.startswith("Hello! I answer questions about 5 news articles (2023-08 – 2024-06)")
    assert ":new starts over" in greeted and "[1]" not in greeted
    _, french, _ = indexed("ask", "Qu'est-ce que tu sais faire ?")
    assert french.startswith("Bonjour ! Je réponds aux questions sur 5 articles de presse")
    lines = "Que prévoit le traité ?\nmerci\net quand ?\n"
    _, polite, _ = indexed("ask", "--conversation", stdin=lines)
    _, plain, _ = indexed("ask", "--conversation", stdin=lines.replace("merci\n", ""))
    assert FR.you_are_welcome in polite
    assert polite.replace(FR.you_are_welcome + "\n", "") == plain  # "et quand ?" still follows up on the treaty
    code, out, _ = indexed("ask", "--json", stdin="merci\n")
    assert code == 0 and set(json.loads(out)) >= {"question", "answer", "abstained", "citations"}


def test_a_message_with_no_word_asks_for_a_question_in_words(indexed):
    _, out, _ = indexed("ask", "--conversation", stdin="???\n🙂\n")
    assert out.splitlines() == [FR.empty_question] * 2  # no word tells a language: the articles'
    code, out, _ = indexed("ask", "--json", stdin="???\n")
    assert code == 0 and json.loads(out)["question"] == "???"  # a script's JSON stays the engine's answer
    assert FR.empty_question not in out


def test_a_link_in_the_question_loop_says_how_to_add_its_article(indexed):
    """A pasted link was searched and answered with whatever passage came first; the loop now says how
    an article is added from it, and answers the question after it as before."""
    _, out, _ = indexed("ask", "--conversation", stdin="https://example.com/story.html\nQue prévoit le traité ?\n")
    link, answer = out.split("\n", 1)
    assert link == FR.cli_link  # a link says no language: the articles' one, as for any such question
    assert "[1]" in answer


def test_asking_for_the_sources_in_the_loop_shows_the_last_answer_s_passages(indexed):
    """ "sources ?" was welcomed as a question about the loop; it shows the last answer with its passages
    whole (as --passages does), or the articles when no answer quotes anything yet."""
    lines = "sources ?\nQue prévoit le traité ?\nsources ?\n:new\nd'où ça vient ?\n"
    _, out, _ = indexed("ask", "--conversation", stdin=lines)
    _, plain, _ = indexed("ask", "Que prévoit le traité ?")
    _, whole, _ = indexed("ask", "--passages", "Que prévoit le traité ?")
    _, articles, _ = indexed("sources")
    assert out == articles + plain + whole + articles


def test_piped_plain_questions_are_answered_in_turn(indexed):
    code, out, _ = indexed("search", "-k", "1", stdin="traité\nsatellites\n")
    assert code == 0
    assert out.count("[1] ") == 2


def test_piped_plain_questions_stop_at_a_quit_line(indexed):
    """`printf 'question\n:q\n' | ragbot ask` ends where a person typed :q (JSON keeps one output line
    per input line, so there :q is a question like any other)."""
    code, out, _ = indexed("search", "-k", "1", stdin="traité\n:q\nsatellites\n")
    assert code == 0 and out.count("[1] ") == 1
    code, out, _ = indexed("ask", "--json", stdin="traité\n:q\n")
    assert [json.loads(line)["question"] for line in out.splitlines()] == ["traité", ":q"]


def test_piped_plain_new_line_is_not_asked_as_a_question(indexed):
    """`:new` pasted from a loop session starts over (every piped line is fresh already): it is
    neither answered nor refused."""
    code, out, _ = indexed("search", "-k", "1", stdin="traité\n:new\nsatellites\n")
    assert code == 0 and out.count("[1] ") == 2 and ":new" not in out
    _, alone, _ = indexed("ask", stdin="traité\nsatellites\n")
    code, out, _ = indexed("ask", stdin="traité\n:new\nsatellites\n")
    assert code == 0 and out == alone


def test_sources_and_stats(indexed):
    code, out, _ = indexed("sources")
    assert code == 0
    assert "000_6b9ece9a93871e23" in out and "Adam Morrow" in out and "2024-06-19" in out
    code, out, _ = indexed("sources", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 5 and {r["article_id"] for r in rows} >= {"001_58e8c327b5777ef9"}
    code, out, _ = indexed("stats", "--json")
    stats = json.loads(out)
    assert code == 0 and stats["articles"] == 5
    assert stats["encoders"]["embedding"] == {"model": "test/fake-hash", "dim": 256}
    assert stats["encoders"]["multilingual"] == {"model": "test/fake-multilingual", "dim": 128}
    assert stats["index_types"] == {"embedding": "flat", "multilingual": "flat", "sentences": "flat"}


def test_eval_reports_per_language(indexed):
    code, out, _ = indexed("eval", str(DEV_QA), "--json")
    assert code == 0
    report = json.loads(out)
    slices = {r["slice"]: r for r in report["rows"]}
    assert set(slices) == {"en", "fr", "all"}
    assert slices["all"]["answerable"] == 18 and slices["all"]["unanswerable"] == 2
    assert 0.0 <= slices["all"]["recall@5"] <= 1.0


def test_bad_article_is_reported_by_name_and_the_rest_indexed(tmp_path, articles_dir: Path, cli):
    (articles_dir / "zz_bad.txt").write_bytes(b"\xff\xfe\xfa\xfb\x81 neither UTF-8 nor Latin-1")
    (articles_dir / "zz_empty.txt").write_bytes(b"")
    ctx = CliContext(make_settings(tmp_path, articles_dir=articles_dir), fake_encoders())
    code, out, err = cli("index", "--json", ctx=ctx)
    assert code == 0
    summary = json.loads(out)
    assert summary["articles"] == 5
    assert {e["file"] for e in summary["errors"]} == {"zz_bad.txt", "zz_empty.txt"}
    assert "zz_bad.txt: not valid UTF-8" in err


def test_index_of_an_empty_folder_gives_an_empty_index(tmp_path, cli):
    empty = tmp_path / "nothing"
    empty.mkdir()
    code, out, err = cli("index", ctx=CliContext(make_settings(tmp_path, articles_dir=empty), fake_encoders()))
    assert code == 0 and out.startswith("Indexed 0 articles into 0 passages") and "no indexable articles" in err


def test_mismatched_model_exits_with_a_message(indexed, settings):
    other = CliContext(settings, fake_encoders(FakeEmbedder(name="other/model")))
    code, out, err = indexed("ask", "traité", ctx=other)
    assert code == 4 and out == ""
    assert "rebuild" in err and "Traceback" not in err


def test_an_index_from_an_older_version_says_how_to_upgrade(indexed, settings):
    from retrieval.stores.manifest import MANIFEST
    from retrieval.stores.pointer import POINTER, current_version

    folder = settings.data_dir / "snapshots" / current_version(settings.data_dir)
    data = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps(data | {"format": 1}))
    old = folder.rename(folder.with_name(folder.name.split("-")[0]))  # older versions named snapshots by time only
    (settings.data_dir / POINTER).write_text(old.name + "\n")
    code, out, err = indexed("ask", "traité")
    assert code == 4 and out == ""
    assert "format 1" in err and "`ragbot index`" in err
    # ... and that command does it: the old snapshot is replaced by a full rebuild.
    code, out, _ = indexed("index")
    assert code == 0 and "full rebuild" in out
    code, out, _ = indexed("ask", "traité")
    assert code == 0 and "[1]" in out


# --- the installed script, in a subprocess --------------------------------------------------


def _ragbot(*args: str, cwd: Path, env_extra: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess: our environment without RAGBOT_*, then ``env_extra`` (None unsets)."""
    merged = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")} | (env_extra or {})
    env = {k: v for k, v in merged.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_ask_before_any_index_explains_and_fails(tmp_path):
    proc = _ragbot("ask", "What did the treaty include?", cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert "no index" in proc.stderr and "ragbot index" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_search_json_without_index_fails_before_reading_stdin(tmp_path):
    proc = _ragbot("search", "--json", cwd=tmp_path, env_extra={"RAGBOT_DATA_DIR": str(tmp_path / "d")})
    assert proc.returncode == 3 and proc.stdout == ""


def test_invalid_settings_are_reported(tmp_path):
    proc = _ragbot("stats", cwd=tmp_path, env_extra={"RAGBOT_ADMIN_IDS": "[777000]"})
    assert proc.returncode == 2
    assert "invalid settings" in proc.stderr and "777000" in proc.stderr


def test_help_lists_the_commands(tmp_path):
    proc = _ragbot("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for command in ("index", "ask", "search", "sources", "stats", "eval"):
        assert command in proc.stdout


@pytest.mark.parametrize("command", [[], ["index"], ["add"], ["remove"], ["ask"], ["search"], ["sources"], ["stats"]])
def test_flags_take_no_value_in_the_help(command):
    """Typer printed `--json <bool>`, `--help <bool>`, as if a flag took a value (issue 21, item 11)."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "--help" in result.output and "<bool>" not in result.output
    if command:
        assert "--json" in result.output


# --- hostile text never drives the terminal -------------------------------------------------

#: OSC window title + BEL, a CSI colour, C1 CSI (U+009B) and OSC 8 hyperlink (U+009D ... U+009C),
#: a right-to-left override, DEL, a carriage return, a backspace.
HOSTILE = "\x1b]0;pwned\x07\x1b[31mRed\x9b2J\x9d8;;http://evil.example\x9cLink\u202eTxet\x7f\rOver\x08"
TERMINAL_CONTROLS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))] + [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
]


def _hostile_article(folder: Path, name: str) -> Path:
    body = " ".join(["Les zanzibarites ont signé un accord sur la pêche et les ports.", *ZANZIBAR, *TUMEN_PARAGRAPHS])
    path = folder / name
    path.write_text(f"Zanzibar {HOSTILE} pact\n\n{body}\n\nUn second paragraphe {HOSTILE} sur les quais.\n")
    return path


def test_control_characters_from_articles_and_users_never_reach_the_terminal(tmp_path, articles_dir, cli):
    _hostile_article(articles_dir, "zz_hostile.txt")
    (articles_dir / "zz_\x1b[2J\x07.txt").write_bytes(b"")  # skipped, and its name is printed
    upload = _hostile_article(tmp_path, "zz_upload\x1b[5m.txt")
    ctx = CliContext(make_settings(tmp_path, articles_dir=articles_dir), fake_encoders())
    printed = []
    for args in (
        ["index"],
        ["sources"],
        ["ask", "zanzibarites pêche"],
        ["search", "-k", "3", f"zanzibarites {HOSTILE}"],
        ["search", f"nothing like this {HOSTILE}"],
        ["add", str(upload)],
        ["remove", f"no_such_{HOSTILE}"],
    ):
        code, out, err = cli(*args, ctx=ctx)
        printed.append((args[0], code, out + err))
    code, out, err = cli("ask", stdin=f"zanzibarites\n{'x' * 3000}{HOSTILE}\n", ctx=ctx)
    printed.append(("ask-batch", code, out + err))
    for command, _code, text in printed:
        leaked = sorted({f"U+{ord(c):04X}" for c in text if c in TERMINAL_CONTROLS})
        assert not leaked, (command, leaked, text[:300])
    shown = "".join(text for _, _, text in printed)
    assert "Zanzibar ]0;pwned[31mRed2J8;;http://evil.exampleLinkTxet" in shown  # the text stays, defused
    assert "zz_[2J.txt" in shown and "no_such_" in shown


def test_json_output_escapes_every_control_character_and_loses_nothing(tmp_path, articles_dir, cli):
    from retrieval import load_articles

    _hostile_article(articles_dir, "zz_hostile.txt")
    [title] = [a.info.title for a in load_articles(articles_dir).articles if a.id == "zz_hostile"]
    assert "\x9b" in title and "\x1b" in title  # the loader kept them: the output must cope
    ctx = CliContext(make_settings(tmp_path, articles_dir=articles_dir), fake_encoders())
    assert cli("index", ctx=ctx)[0] == 0
    question = f"les zanzibarites et la pêche {HOSTILE}"
    _, sources_out, _ = cli("sources", "--json", ctx=ctx)
    _, search_out, _ = cli("search", "--json", "-k", "2", question, ctx=ctx)
    _, ask_out, _ = cli("ask", "--json", stdin="zanzibarites \x1b[2J\x9b5m\n", ctx=ctx)
    lines = sources_out.splitlines() + search_out.splitlines() + ask_out.splitlines()
    for line in lines:
        assert not [c for c in line if c in TERMINAL_CONTROLS], line[:200]
    # ... and the JSON still says exactly what the article and the question said.
    assert title in {json.loads(line)["title"] for line in sources_out.splitlines()}
    search = json.loads(search_out)
    assert search["question"] == question and search["hits"][0]["title"] == title
    assert json.loads(ask_out)["question"].startswith("zanzibarites")


# --- batches: one line in, one line out -----------------------------------------------------


@pytest.mark.parametrize("command", ["ask", "search"])
def test_every_input_line_gets_exactly_one_json_line(indexed, command):
    stdin = "traité\n\n   \nsanctions\n".encode() + b"caf\xe9 latin-1\n" + b"x" * 2500 + b"\nmissiles"
    code, out, _ = indexed(command, "--json", stdin=stdin)
    assert code == 0
    objs = [json.loads(line) for line in out.splitlines()]
    echo = "x" * 200 + "…"  # an over-long question is not sent back whole
    assert [o["question"] for o in objs] == ["traité", "", "", "sanctions", "caf\ufffd latin-1", echo, "missiles"]
    errors = [o.get("error") for o in objs]
    assert errors[1] == errors[2] == "the question is empty"
    assert "not valid UTF-8" in errors[4] and "too long" in errors[5] and "limit is 2000" in errors[5]
    assert errors[0] is errors[3] is errors[6] is None


@pytest.mark.parametrize("command", ["ask", "search"])
def test_a_megabyte_question_is_not_echoed_back_whole(indexed, command):
    """1 MB in gave 1.2 MB out, the question repeated in its error line (issue 21, item 11)."""
    code, out, _ = indexed(command, "--json", stdin="é" * 1_000_000 + "\ntraité\n")
    assert code == 0
    [error, answered] = [json.loads(line) for line in out.splitlines()]
    assert error["question"] == "é" * 200 + "…" and "too long (1000000 characters" in error["error"]
    assert answered["question"] == "traité" and len(out.splitlines()[0]) < 400


def test_a_bad_question_in_a_plain_batch_does_not_lose_the_others(indexed):
    code, out, err = indexed("search", "-k", "1", stdin="traité\n" + "x" * 2500 + "\n\nsatellites\n")
    assert out.count("[1] ") == 2  # both good questions answered, the blank line skipped
    assert "error: the question is too long" in err and err.count("error:") == 1
    assert code != 0  # ... and the exit code says one failed


# --- settings and model errors: one line, naming what to fix --------------------------------


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"RAGBOT_ADMIN_IDS": "abc"}, "RAGBOT_ADMIN_IDS: expected Telegram user ids: 123, 123,456 or [123, 456]"),
        ({"RAGBOT_TOP_K": "sentinel-value"}, "RAGBOT_TOP_K: input should be a valid integer"),
        ({"RAGBOT_EMBEDDING_MODEL": "/nonexistent"}, "RAGBOT_EMBEDDING_MODEL: no model folder at /nonexistent"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path, env, says):
    proc = _ragbot("index", cwd=tmp_path, env_extra=env)
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith("error: invalid settings: ") and says in line
    assert "sentinel-value" not in line  # values are never echoed: some settings are secrets


def test_admin_ids_as_one_id_or_a_comma_list_are_accepted(tmp_path):
    for value in ("123", "123,456"):
        proc = _ragbot("stats", cwd=tmp_path, env_extra={"RAGBOT_ADMIN_IDS": value})
        assert proc.returncode == 3 and "invalid settings" not in proc.stderr  # got as far as the index


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_hub_model_without_a_reachable_hub_fails_in_one_line(tmp_path):
    """No model hub here: a closed local port stands for it (nothing leaves the machine)."""
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    env: dict[str, str | None] = {
        "HOME": str(tmp_path / "home"),
        "HF_HOME": str(tmp_path / "hf"),  # an empty cache: the model must come from the hub
        "HF_ENDPOINT": endpoint,
        "HF_HUB_OFFLINE": None,  # set in this process once a local model has loaded
        "RAGBOT_EMBEDDING_MODEL": "foo/bar",
        "RAGBOT_MULTILINGUAL_MODEL": "none",
        "RAGBOT_DATA_DIR": str(tmp_path / "data"),
        "RAGBOT_ARTICLES_DIR": str(Path(__file__).resolve().parent.parent / "seeds"),
    }
    proc = _ragbot("index", cwd=tmp_path, env_extra=env)
    assert proc.returncode == 5 and proc.stdout == ""
    [line] = proc.stderr.splitlines()  # was: ten retry warnings (each twice) over 78 s
    assert "'foo/bar'" in line and f"model hub {endpoint} cannot be reached" in line


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_an_articles_folder_that_is_not_one_is_named_in_full(tmp_path, kind):
    target = tmp_path / "articles"
    if kind == "file":
        target.write_text("not a folder")
    proc = _ragbot("index", cwd=tmp_path, env_extra={"RAGBOT_ARTICLES_DIR": "articles"})
    assert proc.returncode == 6
    [line] = proc.stderr.splitlines()
    what = "is a file, not a folder" if kind == "file" else "does not exist"
    assert line == f"error: the articles folder {target} {what} (RAGBOT_ARTICLES_DIR)"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_by_default_articles_live_in_the_data_folder_seeded_from_the_samples(tmp_path):
    """User articles landed in the git-tracked seeds/ (the default folder). Now the default is
    <data dir>/articles, a copy of the samples made on the first run (issue 21, item 10)."""
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    before = _tree(seeds)
    env = {"RAGBOT_EMBEDDING_MODEL": "none", "RAGBOT_MULTILINGUAL_MODEL": "none"}  # BM25 only: fast
    story = tmp_path / "story.txt"
    story.write_text("Un pont ferroviaire\n\n" + " ".join(TUMEN_PARAGRAPHS), encoding="utf-8")

    proc = _ragbot("add", str(story), cwd=tmp_path, env_extra=env)  # a first run may start with `add`
    assert proc.returncode == 0, proc.stderr
    articles = tmp_path / "data" / "articles"
    assert proc.stderr.splitlines()[0] == (
        f"first run: copied the 5 sample articles from {seeds} into {Path('data') / 'articles'}, "
        "where your own articles go too (RAGBOT_ARTICLES_DIR chooses another folder)"
    )
    assert sorted(_tree(articles)) == sorted([*before, "story.txt"])
    assert _tree(seeds) == before  # the repository's samples are never written to

    proc = _ragbot("index", cwd=tmp_path, env_extra=env)
    assert proc.returncode == 0 and "first run" not in proc.stderr, proc.stderr
    assert "Nothing changed: 6 articles" in proc.stdout
    proc = _ragbot("--data-dir", "elsewhere", "index", cwd=tmp_path, env_extra=env)  # the default follows
    assert proc.returncode == 0 and (tmp_path / "elsewhere" / "articles" / "story.txt").exists() is False
    assert sorted(_tree(tmp_path / "elsewhere" / "articles")) == sorted(before)


def test_an_articles_folder_that_exists_is_never_seeded(tmp_path):
    (tmp_path / "data" / "articles").mkdir(parents=True)  # emptied by its owner: stays empty
    env = {"RAGBOT_EMBEDDING_MODEL": "none", "RAGBOT_MULTILINGUAL_MODEL": "none"}
    proc = _ragbot("index", cwd=tmp_path, env_extra=env)
    assert proc.returncode == 0 and "first run" not in proc.stderr and "0 articles" in proc.stdout, proc.stderr
    assert list((tmp_path / "data" / "articles").iterdir()) == []


@pytest.mark.parametrize("args", [["index"], ["search", "-k", "1", "traité"], ["ask", "traité"], ["sources"]])
def test_verbose_shows_ragbot_s_own_lines_not_the_libraries(tmp_path, args):
    """`-v` printed `INFO faiss.loader: Could not load library with AVX512 support` (issue 21, item 9)."""
    env = {"RAGBOT_EMBEDDING_MODEL": "none", "RAGBOT_MULTILINGUAL_MODEL": "none", "RAGBOT_ARTICLES_DIR": str(SEEDS)}
    if args[0] != "index":
        assert _ragbot("index", cwd=tmp_path, env_extra=env).returncode == 0
    proc = _ragbot("-v", *args, cwd=tmp_path, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    logged = [line for line in proc.stderr.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:", line)]
    assert all(re.search(r" (INFO|DEBUG) (retrieval|bot|ragbot)[.:]", line) for line in logged), proc.stderr
    assert "faiss" not in proc.stderr


def test_below_warning_only_ragbot_s_loggers_reach_stderr(capsys):
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    setup_logging(logging.INFO)
    try:
        library = logging.getLogger("some_library.module")
        library.setLevel(logging.DEBUG)  # a library that turns its own logger up
        library.info("library detail")
        library.warning("library warning")
        logging.getLogger("retrieval.indexer").info("our progress")
    finally:  # a handler left on this test's captured stderr would break later tests' logging
        root.handlers[:] = saved
        root.setLevel(level)
        logging.captureWarnings(False)
    err = capsys.readouterr().err
    assert "library detail" not in err and "library warning" in err and "our progress" in err


def test_index_with_nothing_changed_says_so_and_keeps_the_version(cli):
    code, first, _ = cli("index", "--json")
    assert code == 0 and json.loads(first)["published"] is True
    code, again, _ = cli("index", "--json")
    summary = json.loads(again)
    assert code == 0 and summary["published"] is False and summary["version"] == json.loads(first)["version"]
    code, text, _ = cli("index")
    assert code == 0 and text.startswith("Nothing changed: 5 articles (") and summary["version"] in text


@pytest.mark.parametrize(
    "content", ["RAGBOT_TOP_K=3\n".encode("utf-16"), b"RAGBOT_ARTICLES_DIR=caf\xe9\n"], ids=["utf16", "latin1"]
)
def test_a_dot_env_that_is_not_utf8_is_one_line_exit_2(tmp_path, content):
    (tmp_path / ".env").write_bytes(content)
    proc = _ragbot("sources", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.splitlines()  # was: a 60-line traceback, exit 1
    assert line.startswith("error: .env is not UTF-8 text (")


def _hub_env(tmp_path: Path, endpoint: str, **settings: str) -> dict[str, str | None]:
    return {
        "HOME": str(tmp_path / "home"),
        "HF_HOME": str(tmp_path / "hf"),  # an empty cache: the model must come from the hub
        "HF_ENDPOINT": endpoint,
        "HF_HUB_OFFLINE": None,
        "RAGBOT_DATA_DIR": str(tmp_path / "data"),
        "RAGBOT_ARTICLES_DIR": str(Path(__file__).resolve().parent.parent / "seeds"),
    } | settings


def test_a_hub_that_accepts_but_never_answers_fails_in_one_line(tmp_path):
    """A local socket that accepts connections and stays silent stands for a stuck hub."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = _hub_env(tmp_path, endpoint, RAGBOT_EMBEDDING_MODEL="foo/bar", RAGBOT_MULTILINGUAL_MODEL="none")
        proc = _ragbot("-v", "index", cwd=tmp_path, env_extra=env)  # was: still waiting after 120 s
    assert proc.returncode == 5 and proc.stdout == ""
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert "'foo/bar'" in line and f"model hub {endpoint} cannot be reached" in line


def test_a_multilingual_model_error_names_its_own_setting(tmp_path):
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    env = _hub_env(tmp_path, endpoint, RAGBOT_EMBEDDING_MODEL="none", RAGBOT_MULTILINGUAL_MODEL="foo/bar")
    proc = _ragbot("index", cwd=tmp_path, env_extra=env)
    assert proc.returncode == 5
    [line] = proc.stderr.splitlines()
    assert "'foo/bar' (RAGBOT_MULTILINGUAL_MODEL)" in line and "set RAGBOT_MULTILINGUAL_MODEL to" in line
    assert "RAGBOT_EMBEDDING_MODEL" not in line


@pytest.mark.parametrize("config", [None, "{}"], ids=["no-config", "empty-config"])
def test_a_folder_that_is_no_model_is_one_line_on_the_default_backend(tmp_path, config):
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    if config is not None:
        (folder / "config.json").write_text(config)
    env = _hub_env(tmp_path, "http://127.0.0.1:9", RAGBOT_EMBEDDING_MODEL=str(folder), RAGBOT_MULTILINGUAL_MODEL="none")
    proc = _ragbot("index", cwd=tmp_path, env_extra=env)
    assert proc.returncode == 5, proc.stderr  # was: a ValueError traceback, exit 1
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"error: cannot load embedding model '{folder}' (RAGBOT_EMBEDDING_MODEL): ")
    assert not (tmp_path / "data" / "models").exists() or not any((tmp_path / "data" / "models").rglob("*.part"))


def test_an_unreachable_multilingual_model_fails_before_any_embedding(tmp_path):
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    env = _hub_env(tmp_path, endpoint, RAGBOT_EMBEDDING_BACKEND="torch", RAGBOT_MULTILINGUAL_MODEL="foo/bar")
    proc = _ragbot("index", cwd=tmp_path, env_extra=env)
    assert proc.returncode == 5
    [line] = proc.stderr.splitlines()  # was: the other encoder's progress lines first
    assert "'foo/bar' (RAGBOT_MULTILINGUAL_MODEL)" in line


def test_eval_scores_a_conversations_file_turn_by_turn(indexed, tmp_path):
    conversations = tmp_path / "conversations.jsonl"
    conversations.write_text(
        json.dumps(
            {
                "id": "c1",
                "turns": [
                    {"q": "aide réciproque en cas d'attaque", "gold": ["aide réciproque"]},
                    {"q": "et quand ?", "gold": ["texte que les articles ne contiennent pas"]},
                ],
            },
            ensure_ascii=False,
        )
        + "\n"
        + json.dumps({"id": "c2", "turns": [{"q": "Qui a gagné la coupe du monde 2018 ?", "refuse": True}]})
        + "\n",
        encoding="utf-8",
    )
    code, out, _ = indexed("eval", "--json", str(conversations))
    assert code == 0
    report = json.loads(out)
    assert (report["answerable"], report["must_refuse"]) == (2, 1)
    assert report["lead"] == 1 and report["anywhere"] == 1  # the first turn's quote; the second misses
    # Abstention is off with the fake encoder (no name the seeds lack: "la Coupe du monde" would be refused).
    assert report["refused"] == 0 and report["false_refusals"] == 0
    assert report["mean_answer_chars"] > 0
    turns = report["turns"]
    assert [(t["conversation"], t["question"]) for t in turns] == [
        ("c1", "aide réciproque en cas d'attaque"),
        ("c1", "et quand ?"),
        ("c2", "Qui a gagné la coupe du monde 2018 ?"),
    ]
    assert turns[0]["lead"] and not turns[1]["anywhere"]
    code, text, _ = indexed("eval", str(conversations))
    assert code == 0 and "lead 1/2" in text and "answered, should refuse" in text


def test_eval_refuses_a_malformed_conversations_file_in_one_line(indexed, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "turns": [{"q": "sans réponse attendue"}]}\n', encoding="utf-8")
    code, _, err = indexed("eval", str(bad))
    assert code != 0 and "bad.jsonl:1: not a conversation" in err and len(err.strip().splitlines()) == 1
