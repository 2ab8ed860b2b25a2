"""The sample articles shipped in the repository's ``seeds/``, copied into a first articles folder.

A user's articles do not belong in the git-tracked ``seeds/``: by default they live in
``<data dir>/articles``. On the first run that folder does not exist yet, so it is created
with a copy of the samples, and ``make run`` answers about them at once. It is created
whole or not at all (copied beside it, then renamed into place), so two processes starting
together never see half of it; a folder that exists, even empty, is never touched again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

from .articles import SUPPORTED_SUFFIXES


def bundled_seeds() -> Path | None:
    """The repository's ``seeds/`` folder next to the code, or None (an install without it)."""
    folder = Path(__file__).resolve().parents[2] / "seeds"
    return folder if folder.is_dir() else None


def seed_articles_folder(folder: Path, notice: logging.Logger) -> int:
    """Create ``folder`` with a copy of the sample articles if it does not exist; how many were copied.

    Said once on ``notice``. Without the samples (an install that does not ship ``seeds/``)
    nothing is created, and indexing says that the folder does not exist.
    """
    seeds = bundled_seeds()
    if folder.exists() or seeds is None:
        return 0
    samples = sorted(p for p in seeds.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.part")  # hidden: never read as articles
    shutil.rmtree(staging, ignore_errors=True)  # a leftover of a killed run with this pid
    staging.mkdir()  # the umask's permissions, as any folder the user makes
    try:
        for sample in samples:
            shutil.copyfile(sample, staging / sample.name)
        try:
            os.rename(staging, folder)
        except OSError:  # another process created it meanwhile: theirs stands
            return 0
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
    notice.info(
        "first run: copied the %d sample articles from %s into %s, where your own articles go too "
        "(RAGBOT_ARTICLES_DIR chooses another folder)",
        len(samples),
        seeds,
        folder,
    )
    return len(samples)
