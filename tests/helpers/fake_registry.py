"""A registry on 127.0.0.1 that answers what a test says: for the answers a real registry
would never give (hostile digests, pages, headers)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shipway.image.registry import RegistryClient

#: path and query → (status, headers, body); the requests made, in order.
Answer = Callable[[str, dict[str, list[str]]], tuple[int, dict[str, str], bytes]]


class Registry:
    def __init__(self, answer: Answer):
        self.answer = answer
        self.requests: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                parts = urlsplit(self.path)
                status, headers, body = registry.answer(parts.path, parse_qs(parts.query))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        serving = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        serving.start()

    def client(self) -> RegistryClient:
        return RegistryClient(self.host, self.host, None, timeout=5)


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], Registry]]:
    started: list[Registry] = []

    def start(answer: Answer) -> Registry:
        started.append(Registry(answer))
        return started[-1]

    yield start
    for registry in started:
        registry.server.shutdown()
        registry.server.server_close()
