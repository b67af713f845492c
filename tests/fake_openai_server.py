"""A scripted OpenAI-compatible server on 127.0.0.1: each chat request takes the next scripted reply.

Unscripted chat requests get `default` (a plain 200 reply). Records every request's path and JSON
body, and how many requests were being served at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from evaluation.llama_server import free_port  # noqa: F401 (re-exported for the tests)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # a dict is sent as JSON, bytes as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def chat(content: str, logprobs: list[tuple[str, float, dict[str, float]]] | None = None) -> Reply:
    """A chat completion whose message is `content`, with per-token (token, logprob, {top: logprob})."""
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    if logprobs is not None:
        choice["logprobs"] = {
            "content": [
                {
                    "token": token,
                    "logprob": lp,
                    "top_logprobs": [{"token": t, "logprob": v} for t, v in top.items()],
                }
                for token, lp, top in logprobs
            ]
        }
    return Reply(200, {"id": "x", "object": "chat.completion", "choices": [choice]})


class FakeOpenAIServer:
    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.default = chat('{"answer": ""}')
        self.routes: dict[str, Reply] = {}  # other paths: /tokenize, /props ...
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def enqueue(self, *replies: Reply) -> FakeOpenAIServer:
        self.script.extend(replies)
        return self

    @property
    def chats(self) -> list[dict[str, Any]]:
        return [body for path, body, _ in self.requests if path.endswith("/chat/completions")]

    def handle(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append((path, body, headers))
            if path.endswith("/chat/completions"):
                return self.script.popleft() if self.script else self.default
            return self.routes.get(path, Reply(404, {"error": "not found"}))


@contextmanager
def serve(fake: FakeOpenAIServer, port: int = 0) -> Iterator[str]:
    """Run `fake` on 127.0.0.1; yields the OpenAI base URL (ending in /v1)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            with fake._lock:
                fake.active += 1
                fake.max_active = max(fake.max_active, fake.active)
            try:
                reply = fake.handle(self.path, body, dict(self.headers))
                if reply.delay_s:
                    time.sleep(reply.delay_s)
            finally:
                with fake._lock:
                    fake.active -= 1
            data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body or {}).encode()
            try:
                self.send_response(reply.status)
                for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                pass

        do_POST = do_GET = _serve  # noqa: N815 (http.server's naming)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
