"""The real Milvus engine for the tests: milvus-lite 2.5.1's server process on a free 127.0.0.1 port.

Not a fake: milvus-lite 2.5.1 ships the Milvus C++ engine (the ``milvus`` binary), and pymilvus
talks to it over gRPC exactly as to Milvus Standalone. Its data lives in a temporary folder.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MilvusLiteServer:
    """``start()`` returns the server's URI; ``stop()`` ends the process."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._server = None
        self.uri = ""

    def start(self, timeout: float = 60.0, *, port: int | None = None) -> str:
        """Start the server (on ``port``, else a free one) and wait until it answers."""
        import warnings

        with warnings.catch_warnings():  # milvus_lite imports pkg_resources (hence setuptools<81)
            warnings.simplefilter("ignore", UserWarning)
            from milvus_lite.server import Server

        self.folder.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        self._server = Server(str(self.folder / "milvus.db"), address=f"127.0.0.1:{port}")
        if not self._server.init() or not self._server.start():
            raise RuntimeError("milvus-lite did not start")
        self.uri = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:  # the process is up; wait until it answers
            try:
                from pymilvus import MilvusClient

                MilvusClient(uri=self.uri, timeout=5).list_collections()
                return self.uri
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.2)

    def restart(self) -> str:
        """Start again on the same port with the same data (after :meth:`stop`)."""
        import urllib.parse

        return self.start(port=urllib.parse.urlsplit(self.uri).port)

    @property
    def pid(self) -> int | None:
        process = getattr(self._server, "_p", None)
        return process.pid if process is not None else None

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
