"""``ragbot serve`` as a real process against the fake Bot API: exit codes, one-line errors, no token.

The bot runs BM25-only (no embedding model) so that it starts in a second; everything
else is the real command: settings from the environment, PTB, HTTP to 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
from typer.testing import CliRunner

from bot.cli import CliContext, app

from .fake_telegram import DEFAULT_TOKEN, FakeBotAPI
from .support import ROOT, SEEDS, fake_encoders, make_settings

WRONG_TOKEN = "7654321:AAE-wrong-token-abcdefghijklmnopqrstu"


def serve_env(tmp_path: Path, api_url: str, token: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env.update(
        PYTHONPATH=str(ROOT),
        RAGBOT_TELEGRAM_TOKEN=token,
        RAGBOT_TELEGRAM_API_URL=api_url,
        RAGBOT_ARTICLES_DIR=str(SEEDS),
        RAGBOT_DATA_DIR=str(tmp_path / "data"),
        RAGBOT_EMBEDDING_MODEL="none",
        RAGBOT_MULTILINGUAL_MODEL="none",
        RAGBOT_TELEGRAM_CONNECT_RETRY_SECONDS="0.05",
        RAGBOT_TELEGRAM_CONNECT_RETRY_MAX_SECONDS="0.2",
    )
    env.update(extra)
    return env


def run_serve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def assert_no_token(output: str, *tokens: str) -> None:
    for token in tokens:
        assert token not in output and token.split(":")[1] not in output, output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("path", ["", "/not-a-bot-api"], ids=["401-unauthorized", "404-not-found"])
def test_a_rejected_token_is_one_line_and_exit_2(tmp_path: Path, path: str):
    with FakeBotAPI() as fake:
        result = run_serve(tmp_path, serve_env(tmp_path, fake.url + path, WRONG_TOKEN))
        get_me = fake.calls_to("getMe")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert output.strip().count("\n") == 0, output  # one line
    assert "rejected RAGBOT_TELEGRAM_TOKEN" in output and "Traceback" not in output
    assert_no_token(output, WRONG_TOKEN)
    assert len(get_me) == (1 if not path else 0)  # asked once, not retried
    assert not (tmp_path / "data").exists()  # refused before building anything


@pytest.mark.parametrize(
    "token", ["abc", "123456", "123456:short", ":AAE-no-bot-id-abcdefghijklmnopqrstuvwx", "12:AAE token with spaces xx"]
)
def test_a_token_that_cannot_be_valid_is_one_line_and_exit_2_before_any_request(tmp_path: Path, token: str):
    """Was retried for ever as a network error where the Bot API is out of reach (issue 21, item 4)."""
    port = free_port()  # nothing listens: a request would be a retried network error
    result = run_serve(tmp_path, serve_env(tmp_path, f"http://127.0.0.1:{port}", token))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    [line] = output.strip().splitlines()
    assert line.startswith("error: RAGBOT_TELEGRAM_TOKEN is not a bot token: expected the bot's numeric id")
    assert token not in line and "unreachable" not in output
    assert not (tmp_path / "data").exists()


def test_a_missing_token_is_one_line_and_exit_2(tmp_path: Path):
    result = run_serve(tmp_path, serve_env(tmp_path, "http://127.0.0.1:9", ""))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert output.strip().count("\n") == 0 and "RAGBOT_TELEGRAM_TOKEN is not set" in output


def test_an_unreachable_api_is_retried_one_line_each_then_gives_up(tmp_path: Path):
    port = free_port()  # nothing listens there: connection refused
    env = serve_env(tmp_path, f"http://127.0.0.1:{port}", DEFAULT_TOKEN, RAGBOT_TELEGRAM_CONNECT_ATTEMPTS="4")
    result = run_serve(tmp_path, env)
    output = result.stdout + result.stderr
    lines = output.strip().splitlines()
    assert result.returncode == 1, output
    assert "Traceback" not in output
    retries = [line for line in lines if "unreachable" in line and "next in" in line]
    assert len(retries) == 3 and len(lines) == 4, output  # a line per failed attempt, then the verdict
    assert [line.split("next in ")[1] for line in retries] == ["0.1 s", "0.1 s", "0.2 s"]  # 0.05, 0.1, 0.2 capped
    assert lines[-1].startswith("error: ") and "unreachable after 4 attempts" in lines[-1]
    assert_no_token(output, DEFAULT_TOKEN)


class _Lines:
    """Reads a process's output in a thread, so a test can wait for a line without blocking."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):
            assert time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.02)

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "".join(self.lines)


@contextmanager
def serving(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], _Lines]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc, _Lines(proc.stdout)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_the_bot_waits_for_a_bot_api_that_is_down_then_serves(tmp_path: Path):
    port = free_port()
    with serving(tmp_path, serve_env(tmp_path, f"http://127.0.0.1:{port}", DEFAULT_TOKEN)) as (proc, err):
        err.wait_for(lambda lines: sum("unreachable" in line for line in lines) >= 2)
        with FakeBotAPI(port=port) as fake:  # the Bot API comes up
            deadline = time.monotonic() + 60
            while not (fake.long_polls_waiting or fake.calls_to("getUpdates")):  # polling
                assert time.monotonic() < deadline and proc.poll() is None, err.text()
                time.sleep(0.05)
            fake.push_message("/sources", user_id=5)
            while not fake.sent_messages(5):
                assert time.monotonic() < deadline and proc.poll() is None, err.text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        output = err.text()
    assert code == 0, output
    assert "5 articles indexed" in fake.sent_messages(5)[0]["text"]
    [running] = [line for line in output.splitlines() if line.startswith("serving ")]
    assert re.fullmatch(  # issue 21, item 4: one line saying it runs, on what, and how to stop it
        rf"serving @{fake.bot_username} \(long polling\): faiss store, 5 articles, \d+ passages\. "
        r"Stop with Ctrl-C \(or SIGTERM\)\.",
        running,
    ), running
    assert "Traceback" not in output
    retries = [line for line in output.splitlines() if "unreachable" in line]
    assert len(retries) >= 2 and all("ConnectError" in line for line in retries)
    assert_no_token(output, DEFAULT_TOKEN)


def test_a_5xx_or_429_bot_api_is_retried_like_a_network_failure(tmp_path: Path):
    with FakeBotAPI() as fake:
        fake.fail_next_with("getMe", status=502, description="Bad Gateway", times=2)
        fake.fail_next("getMe", retry_after=1)  # flood control: PTB's rate limiter waits it out, silently
        env = serve_env(tmp_path, fake.url, DEFAULT_TOKEN)
        with serving(tmp_path, env) as (proc, err):
            deadline = time.monotonic() + 60
            while not (fake.long_polls_waiting or fake.calls_to("getUpdates")):  # polling
                assert time.monotonic() < deadline and proc.poll() is None, err.text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
            output = err.text()
        assert [c.ok for c in fake.calls_to("getMe")] == [False, False, False, True]
    assert code == 0, output
    assert sum("unreachable" in line and "Bad Gateway" in line for line in output.splitlines()) == 2, output
    others = [line for line in output.strip().splitlines() if "unreachable" not in line and "ndex" not in line]
    assert [line[:8] for line in others] == ["serving "], output  # besides the index, only the running line
    assert "Traceback" not in output
    assert_no_token(output, DEFAULT_TOKEN)


PROXY_ERROR_PAGE = (
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    + "".join(f"<p>upstream line {i}</p>\n" for i in range(25))
    + "<hr><center>nginx</center>\n</body>\n</html>\n"
).encode()


@pytest.mark.parametrize(
    ("status", "body"),
    [(502, PROXY_ERROR_PAGE), (200, PROXY_ERROR_PAGE), (200, b'{"ok": true, "result": '), (200, b"[1, 2]")],
    ids=["502-html-page", "200-html-page", "200-truncated-json", "200-json-not-an-object"],
)
def test_a_bot_api_answer_that_is_not_json_is_retried_one_line_per_attempt(tmp_path: Path, status: int, body: bytes):
    with FakeBotAPI() as fake:
        fake.fail_next_raw("getMe", status=status, body=body, content_type="text/html", times=2)
        env = serve_env(tmp_path, fake.url, DEFAULT_TOKEN, RAGBOT_TELEGRAM_CONNECT_ATTEMPTS="2")
        result = run_serve(tmp_path, env)
        get_me = fake.calls_to("getMe")
    output = result.stdout + result.stderr
    lines = output.strip().splitlines()
    assert result.returncode == 1, output
    assert len(get_me) == 2, output  # retried like any server fault
    assert len(lines) == 2, output  # one line for the failed attempt, one for the verdict
    assert "unreachable" in lines[0] and "next in" in lines[0]
    assert lines[1].startswith("error: ") and "unreachable after 2 attempts" in lines[1]
    assert "Traceback" not in output and "upstream line" not in output and "JSONDecodeError" not in output
    assert all(len(line) < 300 for line in lines), output
    assert_no_token(output, DEFAULT_TOKEN)


def test_a_bad_request_from_get_me_is_a_configuration_error_exit_2(tmp_path: Path):
    with FakeBotAPI() as fake:
        fake.fail_next_with("getMe", status=400, description="Bad Request: bot is not allowed here", times=5)
        result = run_serve(tmp_path, serve_env(tmp_path, fake.url, DEFAULT_TOKEN))
        get_me = fake.calls_to("getMe")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert output.strip().count("\n") == 0 and "refused getMe" in output and "not allowed here" in output, output
    assert len(get_me) == 1  # not retried
    assert "Traceback" not in output
    assert_no_token(output, DEFAULT_TOKEN)
    assert not (tmp_path / "data").exists()


def test_webhook_mode_starts_on_the_same_checked_connection_and_stops_cleanly(tmp_path: Path):
    secret = "hook-secret-5a4b3c9d"
    with FakeBotAPI() as fake:
        env = serve_env(
            tmp_path,
            fake.url,
            DEFAULT_TOKEN,
            RAGBOT_WEBHOOK_URL="https://bot.example.org/base",
            RAGBOT_WEBHOOK_SECRET=secret,
            RAGBOT_WEBHOOK_PORT=str(free_port()),
        )
        with serving(tmp_path, env) as (proc, err):
            deadline = time.monotonic() + 60
            while not fake.calls_to("setWebhook"):
                assert time.monotonic() < deadline and proc.poll() is None, err.text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
            output = err.text()
        [hook] = fake.calls_to("setWebhook")
    assert code == 0, output
    assert hook.params["url"].startswith("https://bot.example.org/base/telegram/")
    assert hook.params["secret_token"] == secret
    assert "Traceback" not in output and secret not in output
    assert_no_token(output, DEFAULT_TOKEN)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "RAGBOT_TELEGRAM_TOKEN is not set"),
        ({"telegram_token": DEFAULT_TOKEN, "webhook_url": "https://bot.example.org"}, "RAGBOT_WEBHOOK_SECRET"),
        ({"telegram_token": DEFAULT_TOKEN, "telegram_api_url": "api.telegram.org"}, "RAGBOT_TELEGRAM_API_URL"),
        ({"telegram_token": DEFAULT_TOKEN, "telegram_api_url": "ftp://bob:hunter22@h"}, "ftp://<redacted>@h"),
    ],
)
def test_bad_bot_settings_exit_2_before_anything_runs(tmp_path: Path, extra: dict, message: str):
    ctx = CliContext(make_settings(tmp_path, **extra), fake_encoders())
    result = CliRunner().invoke(app, ["serve"], obj=ctx)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "hunter22" not in result.output and DEFAULT_TOKEN.split(":")[1] not in result.output
    assert not (tmp_path / "data").exists()
