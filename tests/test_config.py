from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from retrieval import Settings
from retrieval.config import settings_error

from .support import ROOT


def test_env_example_documents_every_setting_and_parses():
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^RAGBOT_([A-Z0-9_]+)=", text, re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}
    settings = Settings(_env_file=ROOT / ".env.example")
    assert settings.telegram_token is None and settings.webhook_url is None
    assert settings.admin_ids == []
    assert settings == Settings(_env_file=None)  # the example holds the defaults


def test_environment_wins_and_token_is_secret(monkeypatch, tmp_path):
    env = tmp_path / ".env"
    env.write_text("RAGBOT_TOP_K=7\nRAGBOT_TELEGRAM_TOKEN=111:from-file\n")
    monkeypatch.setenv("RAGBOT_TOP_K", "9")
    settings = Settings(_env_file=env)
    assert settings.top_k == 9
    assert settings.telegram_token.get_secret_value() == "111:from-file"
    assert "from-file" not in repr(settings)


@pytest.mark.parametrize("ids", ["[1087968824]", "[1, 777000]"])
def test_anonymous_and_service_accounts_can_never_be_admins(monkeypatch, ids):
    monkeypatch.setenv("RAGBOT_ADMIN_IDS", ids)
    with pytest.raises(ValidationError, match="cannot be admins"):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    ("value", "ids"),
    [("[123, 456]", [123, 456]), ("123", [123]), ("123,456", [123, 456]), (" 123 , 456 ", [123, 456]), ("", [])],
)
def test_admin_ids_take_one_id_a_comma_list_or_a_json_list(monkeypatch, value, ids):
    monkeypatch.setenv("RAGBOT_ADMIN_IDS", value)
    assert Settings(_env_file=None).admin_ids == ids


def test_admin_ids_from_the_env_file_too(tmp_path):
    env = tmp_path / ".env"
    env.write_text("RAGBOT_ADMIN_IDS=123,456\n")
    assert Settings(_env_file=env).admin_ids == [123, 456]


@pytest.mark.parametrize("value", ["abc", "1,,2", "[1, 2", '["a"]', "12 34", "[true]"])
def test_bad_admin_ids_say_which_forms_are_accepted(monkeypatch, value):
    monkeypatch.setenv("RAGBOT_ADMIN_IDS", value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    message = settings_error(caught.value)
    assert message == (
        "invalid settings: RAGBOT_ADMIN_IDS: expected Telegram user ids: 123, 123,456 or [123, 456]"
        " (e.g. RAGBOT_ADMIN_IDS=123,456)"
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("TOP_K", "abc", "RAGBOT_TOP_K: input should be a valid integer"),
        ("TOP_K", "0", "RAGBOT_TOP_K: input should be greater than or equal to 1 (e.g. RAGBOT_TOP_K=5)"),
        ("WEIGHT_BM25", "lots", "RAGBOT_WEIGHT_BM25: input should be a valid number"),
        ("ARTICLES_LANGUAGE", "klingon", "RAGBOT_ARTICLES_LANGUAGE: unknown language 'klingon'"),
        ("CHUNK_MAX_CHARS", "100", "RAGBOT_CHUNK_MAX_CHARS: must be at least RAGBOT_CHUNK_MIN_CHARS (250)"),
        ("EMBEDDING_MODEL", "/nonexistent/model", "RAGBOT_EMBEDDING_MODEL: no model folder at /nonexistent/model"),
        ("EMBEDDING_MODEL", "./no-such-model", "RAGBOT_EMBEDDING_MODEL: no model folder at "),
        ("EMBEDDING_MODEL", "~/no-such-model", "RAGBOT_EMBEDDING_MODEL: no model folder at "),
        ("MULTILINGUAL_MODEL", "models/a/b", "RAGBOT_MULTILINGUAL_MODEL: no model folder at "),
        ("EMBEDDING_MODEL", "not a name", "RAGBOT_EMBEDDING_MODEL: 'not a name' is neither a model folder nor"),
    ],
)
def test_any_bad_setting_is_one_line_naming_the_variable(monkeypatch, name, value, says):
    monkeypatch.setenv(f"RAGBOT_{name}", value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    message = settings_error(caught.value)
    assert says in message and "\n" not in message
    assert "errors.pydantic.dev" not in message and "input_value" not in message


def test_a_model_path_that_is_a_file_is_named_as_such(monkeypatch, tmp_path):
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"x")
    monkeypatch.setenv("RAGBOT_EMBEDDING_MODEL", str(weights))
    with pytest.raises(ValidationError, match="is a file, not a model folder"):
        Settings(_env_file=None)


@pytest.mark.parametrize("value", ["foo/bar", "all-MiniLM-L6-v2", "bundled", "none", ""])
def test_hub_names_and_switches_are_not_taken_for_paths(monkeypatch, value):
    monkeypatch.setenv("RAGBOT_EMBEDDING_MODEL", value)
    assert Settings(_env_file=None).embedding_model == value


def test_with_changes_validates():
    settings = Settings(_env_file=None).with_changes(telegram_token="1:abc", data_dir="elsewhere")
    assert settings.telegram_token.get_secret_value() == "1:abc"
    assert str(settings.data_dir) == "elsewhere"
    with pytest.raises(ValidationError):
        Settings(_env_file=None).with_changes(admin_ids=[777000])
