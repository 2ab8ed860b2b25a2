from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from retrieval import Settings

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


def test_admin_ids_parse_as_a_json_list(monkeypatch):
    monkeypatch.setenv("RAGBOT_ADMIN_IDS", "[123, 456]")
    assert Settings(_env_file=None).admin_ids == [123, 456]


def test_with_changes_validates():
    settings = Settings(_env_file=None).with_changes(telegram_token="1:abc", data_dir="elsewhere")
    assert settings.telegram_token.get_secret_value() == "1:abc"
    assert str(settings.data_dir) == "elsewhere"
    with pytest.raises(ValidationError):
        Settings(_env_file=None).with_changes(admin_ids=[777000])
