"""``ragbot`` itself (bot/cli.py: commands, logging, error lines, exit codes) in a process of its own,
with the tests' deterministic fake embedder standing where the model is (the process boundary).

    python -m tests.fake_model_cli [ragbot arguments...]

Settings come from ``RAGBOT_*`` variables as for ``ragbot`` (no ``.env`` is read). The multi-process
tests run replicas and writers with it: several machines' worth of ``ragbot`` on one server.
"""

from __future__ import annotations

import sys

from bot.cli import CliContext, app
from bot.logs import log_crash
from retrieval import Settings

from .support import fake_encoders


def main() -> None:
    try:
        settings = Settings(_env_file=None)
        app(args=sys.argv[1:], obj=CliContext(settings, encoders=fake_encoders()), prog_name="ragbot")
    except Exception as err:  # as bot.cli.run: logged through the redaction, exit 1
        log_crash(err)
        sys.exit(1)


if __name__ == "__main__":
    main()
