"""Test helpers: paths to the real data and a deterministic fake embedder.

The fake stands where the model process boundary is (text in, vectors out); everything
around it (loading, chunking, FAISS, SQLite, CLI) is the real code.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from retrieval import Settings
from retrieval.types import Encoders

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
#: Real questions on the seeds, shipped in the repository (eval/README.md): tests never read
#: anything outside it, a fresh clone has nothing beside it.
DEV_QA = ROOT / "eval" / "dev_qa.jsonl"
TREATY_ARTICLE = "001_58e8c327b5777ef9"
#: The data files of a snapshot built with both encoders (its manifest lists exactly these).
SNAPSHOT_DATA_FILES = frozenset(
    {
        "passages.sqlite",
        "sentence_spans.npy",
        "dense.embedding.faiss",
        "dense.multilingual.faiss",
        "dense.sentences.faiss",
        "bm25_data.npy",
        "bm25_indices.npy",
        "bm25_indptr.npy",
        "bm25_vocab.json",
        "bm25_tf.npy",
        "bm25_doclen.npy",
        "xling_vocab.json",
        "xling_vocab.faiss",
    }
)


#: an article about something the seeds never mention (a floating bridge), for adds and removals
BRIDGE_ARTICLE = """---
title: Un pont flottant sur le fleuve Toumen
date: 2024-07-01
source: Test
---
Les ingénieurs ont achevé un pont flottant provisoire sur le fleuve Toumen, entre les deux pays.
Le pont flottant doit permettre le passage des camions de marchandises pendant l'été.

Les autorités locales ont annoncé que le pont flottant resterait ouvert jusqu'aux premières glaces.
"""


#: the body of a news page about the Tumen railway bridge: five paragraphs, as varied as prose
#: (a paragraph repeated five times is refused as not prose)
TUMEN_PARAGRAPHS = (
    "Un pont ferroviaire relie Khassan et Tumangang sur le Toumen.",
    "Les travaux, commencés au printemps, ont mobilisé des ouvriers venus des deux pays.",
    "Moscou présente l'ouvrage comme un symbole du partenariat signé en juin à Pyongyang.",
    "Les wagons de marchandises pourront franchir le fleuve sans transbordement.",
    "La Corée du Nord espère ainsi relancer ses échanges avec l'Extrême-Orient russe.",
)


#: more varied prose, sentence by sentence (fisheries in Zanzibar): filler that reads as text
ZANZIBAR = (
    "Le texte fixe les quotas de thon et de poulpe pour les cinq prochaines saisons.",
    "Les pêcheurs artisanaux obtiennent un accès prioritaire aux eaux proches des récifs.",
    "Un fonds commun financera la rénovation des quais de Stone Town et de Mkoani.",
    "Les chalutiers étrangers devront déclarer leurs prises par satellite chaque semaine.",
    "Des inspecteurs formés sur place contrôleront les débarquements dans trois ports.",
    "L'opposition dénonce un calendrier trop court et réclame un débat au parlement.",
    "Les coopératives de femmes qui sèchent les algues recevront des séchoirs solaires.",
    "Le ministre a promis que les recettes des licences resteraient dans l'archipel.",
    "Une étude sur la reproduction des mérous sera publiée avant la fin de l'année.",
    "Les négociateurs se retrouveront en mars pour un premier bilan de l'application.",
    "À Pemba, les armateurs craignent que les nouvelles règles ne ralentissent les départs.",
    "Une partie des bateaux en bois sera remplacée grâce à des prêts à taux réduit.",
    "Les chercheurs de l'université locale suivront l'état des herbiers marins.",
    "Le port de Malindi accueillera un marché aux poissons couvert et réfrigéré.",
    "Les syndicats demandent que les dockers soient associés aux futures discussions.",
    "Un centre de formation aux métiers de la mer ouvrira ses portes en septembre.",
    "Les touristes paieront une taxe modeste pour les excursions vers les récifs protégés.",
    "Le gouvernement publiera chaque trimestre les volumes pêchés et les amendes infligées.",
    "Les pays voisins observent l'expérience avant de négocier leurs propres accords.",
    "Selon les autorités, la première année servira surtout à tester les contrôles.",
)


class FakeEmbedder:
    """Hashed bag of accent-folded words: deterministic, fast, and lexical enough to rank."""

    def __init__(self, dim: int = 256, name: str = "test/fake-hash", gate: threading.Event | None = None) -> None:
        self._dim = dim
        self._name = name
        self.gate = gate  # when set, encode() waits for it: holds an indexer mid-build, deterministically
        self.calls = 0
        self.texts_encoded = 0
        self.preloads = 0  # times asked to start loading ahead of a question (a real model's cold start)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def preload(self) -> None:
        self.preloads += 1

    def token_states(self, texts: Sequence[str], *, query: bool = False) -> list[np.ndarray]:
        """One unit vector per word (late interaction): each word's own hashed vector."""
        out = []
        for text in texts:
            words = re.findall(r"\w{3,}", text) or ["_"]
            out.append(self.encode(words))
        return out

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.gate is not None and not self.gate.wait(timeout=60):
            raise TimeoutError("test gate never opened")
        self.calls += 1
        self.texts_encoded += len(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            folded = unicodedata.normalize("NFKD", text.casefold())
            folded = "".join(c for c in folded if not unicodedata.combining(c))
            for word in re.findall(r"\w{3,}", folded):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[i, h % self._dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            if norm:
                out[i] /= norm
        return out


@contextmanager
def web_server(routes: Mapping[str, tuple[str, bytes]]) -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 serving ``routes`` (path -> (content type, body)), 404
    elsewhere: its base URL, and the paths asked for so far."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path not in routes:
                self.send_error(404)
                return
            kind, body = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings on the real seeds with a fresh data dir.

    Abstention is off by default: its threshold is calibrated for the real multilingual
    encoder, and the fake's cosines live on another scale (real-model tests turn it on).
    """
    values: dict[str, object] = {
        "articles_dir": SEEDS,
        "data_dir": tmp_path / "data",
        "abstain_below": 0.0,
        "abstain_below_cross_lingual": 0.0,
        "abstain_below_cross_lingual_tokens": 0.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def fake_encoders(
    embedding: FakeEmbedder | None = None, multilingual: FakeEmbedder | None = None
) -> Callable[[Settings], Encoders]:
    """An encoder factory for ``Engine``: fake MiniLM-role and multilingual-role embedders."""
    bundle = Encoders(
        embedding=embedding or FakeEmbedder(),
        multilingual=multilingual or FakeEmbedder(dim=128, name="test/fake-multilingual"),
    )
    return lambda _settings: bundle


def install_package(site: Path, module: str, source: str, entry_points: str) -> None:
    """An installed distribution as pip leaves one: ``module`` beside its ``.dist-info`` folder, whose
    ``entry_points.txt`` registers what it offers (put ``site`` on ``sys.path`` to install it)."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")
