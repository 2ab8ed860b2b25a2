"""Progress on stderr while indexing: a bar on a terminal, plain lines otherwise, and the core's notices."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from retrieval.redaction import Redactor

from .cli_output import say


class NoticeHandler(logging.Handler):
    """A core notice as a plain line on stderr (above a progress bar when one is drawn)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def emit(self, record: logging.LogRecord) -> None:
        try:
            say(self.redactor(record.getMessage()), err=True)
        except Exception:  # a broken stderr must not fail the export it reports on
            self.handleError(record)


class EmbeddingProgress:
    """Embedding progress on stderr: a bar on a terminal, otherwise a plain line at every tenth
    of the work (a log file or a CI job should see it move too)."""

    def __init__(self, *, bar: bool) -> None:
        self.bar = bar
        self._bar: Any = None

    def __enter__(self) -> Callable[[int, int], None]:
        if not self.bar:
            return plain_progress()
        from rich.progress import Progress

        task = None

        def update(done: int, total: int) -> None:
            # Drawn from the first report on, once the model is ready: a one-time export before it
            # says its own steps, instead of an embedding bar standing still.
            nonlocal task
            if self._bar is None:
                self._bar = Progress(transient=True, console=_stderr_console())
                self._bar.start()
                task = self._bar.add_task("embedding passages", total=total)
            self._bar.update(task, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def plain_progress(steps: int = 10) -> Callable[[int, int], None]:
    said = [-1]

    def update(done: int, total: int) -> None:
        step = done * steps // total if total else steps
        if step > said[0]:
            said[0] = step
            say(f"embedding: {done}/{total} texts ({100 * done // max(total, 1)}%)", err=True)

    return update


def _stderr_console():  # noqa: ANN202
    from rich.console import Console

    return Console(stderr=True)
