"""Small statistics shared by the benchmarks."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The development QA set shipped with the repository (eval/README.md says where it comes from).
DEV_QA = ROOT / "eval" / "dev_qa.jsonl"


def existing_file(path: Path, what: str) -> Path:
    """``path``, or exit with one line naming it when it is not a readable file."""
    if not path.is_file():
        sys.exit(f"error: {what} {path.absolute()} does not exist or is not a file")
    return path


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
