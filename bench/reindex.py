"""Adding one article to the seeds index vs a full rebuild (real models). Prints one JSON object.

python -m bench.reindex
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from retrieval import Engine, Settings

ROOT = Path(__file__).resolve().parent.parent
NEW = (
    "Un pont ferroviaire sur le fleuve Toumen\n\n"
    "La Russie et la Corée du Nord ont inauguré un pont ferroviaire sur le fleuve Toumen, selon les autorités. "
    "Le pont doit faciliter le transport de marchandises entre Khassan et Tumangang.\n\n"
    "Les travaux ont duré deux ans. Moscou y voit un symbole du partenariat stratégique signé en 2024."
)


def _cli(*args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        articles, data = Path(tmp) / "articles", Path(tmp) / "data"
        shutil.copytree(ROOT / "seeds", articles)
        env = os.environ | {"RAGBOT_ARTICLES_DIR": str(articles), "RAGBOT_DATA_DIR": str(data)}
        full_cli = _cli("index", "--rebuild", env=env)
        unchanged_cli = _cli("index", env=env)
        (Path(tmp) / "pont.txt").write_text(NEW, encoding="utf-8")
        add_cli = _cli("add", str(Path(tmp) / "pont.txt"), env=env)

        engine = Engine(Settings(_env_file=None, articles_dir=articles, data_dir=data))
        engine.search("warm-up", 1)  # models loaded, as in a running bot
        start = time.perf_counter()
        engine.remove("pont")
        remove_warm = time.perf_counter() - start
        start = time.perf_counter()
        engine.add([str(Path(tmp) / "pont.txt")])
        add_warm = time.perf_counter() - start
        start = time.perf_counter()
        engine.index(rebuild=True)
        full_warm = time.perf_counter() - start
    print(
        json.dumps(
            {
                "corpus": "seeds (5 articles) + 1",
                "cli_full_rebuild_s": round(full_cli, 2),
                "cli_index_nothing_changed_s": round(unchanged_cli, 2),
                "cli_add_one_article_s": round(add_cli, 2),
                "warm_add_one_article_s": round(add_warm, 2),
                "warm_remove_one_article_s": round(remove_warm, 2),
                "warm_full_rebuild_s": round(full_warm, 2),
                "note": "cli_* include process start and model loading; warm_* run with the models loaded",
            }
        )
    )


if __name__ == "__main__":
    main()
