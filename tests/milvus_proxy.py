"""A real gRPC pass-through on 127.0.0.1 between ragbot and the Milvus server, noting each call.

Not a fake: every request goes to the real server (tests/milvus_server.py) byte for byte and its
answer comes back unchanged. The proxy only records which methods were called
(``/milvus.proto.milvus.MilvusService/Search``, ``.../Query``: ``get`` is a query), and can check
whether calls overlap: with ``overlap`` armed, the first ``Search`` that arrives waits (up to
``patience`` seconds) for a second one to arrive before either goes on.
"""

from __future__ import annotations

import threading
import urllib.parse
from concurrent import futures

import grpc

from .milvus_server import free_port

#: headers gRPC sets itself: not forwarded
_OWN_HEADERS = ("user-agent", "grpc-", ":")


class MilvusProxy:
    """``start()`` returns the URI to give ragbot; ``calls`` lists the methods called since ``clear()``."""

    def __init__(self, upstream: str, *, patience: float = 20.0) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.upstream = f"{parts.hostname}:{parts.port}"
        self.patience = patience
        self.calls: list[str] = []
        self.overlapped = False
        self._armed = False
        self._lock = threading.Condition()
        self._waiting = 0
        self._server: grpc.Server | None = None
        self._channel: grpc.Channel | None = None

    def start(self) -> str:
        self._channel = grpc.insecure_channel(self.upstream)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        self._server.add_generic_rpc_handlers([_Forward(self)])
        port = free_port()
        self._server.add_insecure_port(f"127.0.0.1:{port}")
        self._server.start()
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)
        if self._channel is not None:
            self._channel.close()

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def arm_overlap(self) -> None:
        """Watch the next searches: ``overlapped`` tells whether a second one arrived while the first waited."""
        with self._lock:
            self.overlapped = False
            self._armed = True

    def methods(self) -> list[str]:
        """The calls' method names without their service (``Search``, ``Query``, ...)."""
        with self._lock:
            return [c.rsplit("/", 1)[-1] for c in self.calls]

    def note(self, method: str) -> None:
        with self._lock:
            self.calls.append(method)
            if not (self._armed and method.endswith("/Search")):
                return
            self._waiting += 1
            if self._waiting >= 2:
                self.overlapped, self._armed = True, False
                self._lock.notify_all()
            else:
                self._lock.wait_for(lambda: not self._armed, timeout=self.patience)
                self._armed = False  # one wait at most: alone, the call goes on
            self._waiting -= 1

    def forward(self, method: str, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.note(method)
        headers = [(k, v) for k, v in context.invocation_metadata() if not k.startswith(_OWN_HEADERS)]
        call = self._channel.unary_unary(method)  # type: ignore[union-attr]  # bytes in, bytes out
        remaining = context.time_remaining()  # without a deadline: about 2**63 seconds, too long for a timeout
        timeout = remaining if remaining is not None and remaining < 3600 else None
        try:
            return call(request, metadata=headers, timeout=timeout)
        except grpc.RpcError as err:
            context.abort(err.code(), err.details() or "")
            raise


class _Forward(grpc.GenericRpcHandler):
    def __init__(self, proxy: MilvusProxy) -> None:
        self.proxy = proxy

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method

        def handle(request: bytes, context: grpc.ServicerContext) -> bytes:
            return self.proxy.forward(method, request, context)

        return grpc.unary_unary_rpc_method_handler(handle)
