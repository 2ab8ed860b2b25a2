"""Settings caught at startup: the LLM URL's form, the allowed hosts' forms, unknown RAGBOT_* names."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import ValidationError

from retrieval import Engine, Settings
from retrieval.config import settings_error

from .support import fake_encoders, make_settings
from .test_cli import _ragbot


@pytest.mark.parametrize("url", ["notaurl", "ftp://x/v1", "http://", "127.0.0.1:8080/v1"])
def test_an_llm_url_that_is_not_http_is_refused_naming_the_variable(monkeypatch, url):
    monkeypatch.setenv("RAGBOT_LLM_URL", url)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    assert settings_error(caught.value).startswith("invalid settings: RAGBOT_LLM_URL: must be an http(s) URL")


@pytest.mark.parametrize("variable", ["RAGBOT_LLM_URL", "RAGBOT_MILVUS_URI"])
@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:x/", "http://h:99999/", "http://[nope]/"])
def test_a_malformed_url_setting_is_one_line_and_exit_2(tmp_path, variable, url):
    """urlsplit itself raises on these: was an UnboundLocalError traceback (issue 21, item 2)."""
    proc = _ragbot("stats", cwd=tmp_path, env_extra={variable: url})
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line == f"error: invalid settings: {variable}: must be an http(s) URL (e.g. {variable}=" + (
        "http://127.0.0.1:8080/v1)" if variable == "RAGBOT_LLM_URL" else "http://127.0.0.1:19530)"
    )


def test_an_llm_url_that_is_not_http_exits_2_in_one_line(tmp_path):
    proc = _ragbot("stats", cwd=tmp_path, env_extra={"RAGBOT_LLM_URL": "ftp://x/v1"})
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("error: invalid settings: RAGBOT_LLM_URL: must be an http(s) URL")


class _Recorder(BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.paths.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        data = json.dumps({"choices": [{"message": {"content": "NOT_FOUND"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_an_llm_url_with_a_query_string_keeps_it_after_the_path(tmp_path: Path):
    class Handler(_Recorder):
        paths: ClassVar[list[str]] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1?api_key=k123"
        engine = Engine(make_settings(tmp_path, llm_url=url, llm_timeout_seconds=5), encoders=fake_encoders())
        engine.index()
        engine.ask("aide réciproque en cas d'attaque")
    finally:
        server.shutdown()
        server.server_close()
    assert Handler.paths == ["/v1/chat/completions?api_key=k123"]  # was /v1?api_key=k123/chat/completions


@pytest.mark.parametrize(
    ("value", "hosts"),
    [("news.lan", ["news.lan"]), ("a.lan, b.lan", ["a.lan", "b.lan"]), ('["a.lan", "b.lan"]', ["a.lan", "b.lan"])],
)
def test_fetch_allowed_hosts_take_one_name_a_comma_list_or_a_json_list(monkeypatch, value, hosts):
    monkeypatch.setenv("RAGBOT_FETCH_ALLOWED_HOSTS", value)
    assert Settings(_env_file=None).fetch_allowed_hosts == hosts


def test_bad_fetch_allowed_hosts_say_which_forms_are_accepted(monkeypatch):
    monkeypatch.setenv("RAGBOT_FETCH_ALLOWED_HOSTS", "http://a.lan/x")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    message = settings_error(caught.value)
    assert "RAGBOT_FETCH_ALLOWED_HOSTS: expected host names: news.lan" in message


def test_an_unknown_ragbot_variable_is_named_with_the_closest_setting(tmp_path):
    (tmp_path / ".env").write_text("RAGBOT_ADMIN_ID=5\n")
    proc = _ragbot("stats", cwd=tmp_path, env_extra={"RAGBOT_TOPK": "3"})
    assert proc.returncode == 3  # a warning, not a failure: it got as far as the (missing) index
    [warning] = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert "RAGBOT_TOPK (did you mean RAGBOT_TOP_K?)" in warning
    assert "RAGBOT_ADMIN_ID (did you mean RAGBOT_ADMIN_IDS?)" in warning
