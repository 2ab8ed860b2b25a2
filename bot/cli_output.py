"""What the CLI prints: every line through one door that strips control characters."""

from __future__ import annotations

import sys
from typing import Any

import typer

from . import render


def say(text: str = "", *, err: bool = False) -> None:
    """Every line of text the CLI prints goes through here: titles, quotes, names and messages
    may come from an article or a user, and their control characters must not reach a terminal."""
    typer.echo(render.terminal_safe(text), err=err)


def emit_json(data: dict[str, Any]) -> None:
    """One JSON object on its own line of standard output, flushed at once (scripts read it live)."""
    sys.stdout.write(render.json_line(data) + "\n")
    sys.stdout.flush()
