"""A Bot-API-compatible HTTP server on 127.0.0.1 for end-to-end tests.

It hands out queued updates through getUpdates (long polling, capped short so
tests stop quickly), answers getMe, and records every call: sendMessage,
sendChatAction, setMyCommands, setWebhook, deleteWebhook, ... It checks what the
real server checks and tests care about: the token in the URL, HTML that
Telegram would refuse ("can't parse entities") and messages over 4096 UTF-16
units. Faults can be queued per method: an error status (a 429, a 502), a
connection closed without an answer, a stalled answer, an unparseable body
after the call took effect, or an outage of every method for some seconds.

Point a bot at it with base_url ``server.base_url`` ("http://127.0.0.1:PORT/bot").
Runs in a background thread, so it works with any event loop or none.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

# Parameters PTB sends as raw strings; everything else arrives JSON-encoded.
_STRING_PARAMS = {"text", "caption", "url", "secret_token", "description", "short_description", "name", "language_code"}
_TELEGRAM_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_TOKEN_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>|&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot);|[<>&]")
LONG_POLL_CAP_S = 0.5


def telegram_html_text(text: str) -> str:
    """The plain text Telegram would show for `text` in HTML mode; ValueError where it would refuse it."""
    out, stack, pos = [], [], 0
    for match in _TOKEN_RE.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        closing, tag, _attrs, entity = match.groups()
        if tag is not None:
            tag = tag.lower()
            if tag not in _TELEGRAM_TAGS:
                raise ValueError(f'can\'t parse entities: unsupported start tag "{tag}" at byte offset {match.start()}')
            if closing:
                if not stack or stack.pop() != tag:
                    raise ValueError(f"can't parse entities: unmatched end tag at byte offset {match.start()}")
            else:
                stack.append(tag)
        elif entity is not None:
            out.append(html.unescape(match.group(0)))
        else:
            raise ValueError(f"can't parse entities: unescaped {match.group(0)!r} at byte offset {match.start()}")
    out.append(text[pos:])
    if stack:
        raise ValueError(f"can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class Fault:
    """What the server does instead of a plain success for one call.

    "status": answer `status` with `payload`, the call has no effect.
    "drop": close the connection without an answer, the call has no effect (a proxy reset).
    "garble": the call takes effect, then the answer is a body no client can parse (a lost response).
    "stall": the call takes effect, then the answer waits `seconds` (a client read timeout).
    `when`, if given, picks the call: the fault waits for the first call whose parameters satisfy it.
    """

    kind: str
    status: int = 200
    payload: dict[str, Any] | None = None
    seconds: float = 0.0
    when: Callable[[dict[str, Any]], bool] | None = None


class FakeBotApi:
    """Serve the Bot API for one bot; `push()` updates in, read `calls` out."""

    def __init__(
        self,
        token: str = "123456:TEST-token_for-Kutip",
        bot_id: int = 4242,
        username: str = "KutipBot",
        port: int = 0,
    ) -> None:
        self.token = token
        self.requested_port = port  # 0: any free port; a fixed one lets a test start the server "late"
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Kutip",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}  # file_id -> content, served by getFile and the file URL
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._message_ids: dict[int, int] = {}
        self._chat_types: dict[int, str] = {}
        self._failures: dict[str, list[Fault]] = {}
        self._outage: tuple[float, int, frozenset[str] | None] | None = None
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        # Optional per-call delay (method, params) -> seconds, to let concurrent requests overtake each other.
        self.latency: Callable[[str, dict[str, Any]], float] | None = None

    # --- lifecycle -------------------------------------------------------

    def start(self) -> FakeBotApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                api._handle(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.requested_port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # --- scripting ---------------------------------------------------------

    def push(self, update: Any) -> int:
        """Queue an update (a telegram.Update or its dict) for getUpdates; returns its update_id."""
        data = update.to_dict() if hasattr(update, "to_dict") else dict(update)
        with self._cond:
            data["update_id"] = self._next_update_id
            self._next_update_id += 1
            chat = (data.get("message") or {}).get("chat")
            if chat:
                self._chat_types[chat["id"]] = chat["type"]
            self._updates.append(data)
            self._cond.notify_all()
            return data["update_id"]

    def add_file(self, file_id: str, data: bytes, file_name: str, mime_type: str | None = None) -> dict[str, Any]:
        """Store a file for getFile and download; returns a Document object (JSON) to put in a message."""
        self.files[file_id] = data
        document = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_name": file_name}
        document["file_size"] = len(data)
        if mime_type:
            document["mime_type"] = mime_type
        return document

    def fail_next(
        self,
        method: str,
        status: int,
        payload: dict[str, Any],
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (those `when` picks) with `status` and `payload`."""
        self._queue_fault(method, Fault("status", status, payload, when=when), times)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection of the next `times` calls of `method` without answering (no effect)."""
        self._queue_fault(method, Fault("drop"), times)

    def garble_next(self, method: str, times: int = 1) -> None:
        """Let the next `times` calls of `method` take effect, then answer with an unparseable body."""
        self._queue_fault(method, Fault("garble"), times)

    def stall_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Let the next `times` calls of `method` take effect, then hold the answer for `seconds`."""
        self._queue_fault(method, Fault("stall", seconds=seconds), times)

    def outage(self, seconds: float, status: int = 502, methods: tuple[str, ...] | None = None) -> None:
        """For the next `seconds`, answer every call (or those of `methods`) with `status`, without effect."""
        with self._cond:
            self._outage = (time.monotonic() + seconds, status, frozenset(methods) if methods else None)

    def _queue_fault(self, method: str, fault: Fault, times: int) -> None:
        with self._cond:
            self._failures.setdefault(method, []).extend([fault] * times)

    def too_many_requests(
        self,
        method: str = "sendMessage",
        retry_after: int = 1,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Queue Telegram's flood-control answer for `method` (for the calls `when` picks, if given)."""
        self.fail_next(
            method,
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            },
            times,
            when,
        )

    # --- reading -------------------------------------------------------------

    def calls_to(self, method: str, ok_only: bool = True) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Parameters of every delivered sendMessage, optionally for one chat, in order."""
        return [c.params for c in self.calls_to("sendMessage") if chat_id is None or c.params.get("chat_id") == chat_id]

    def pending_updates(self) -> int:
        with self._cond:
            return len(self._updates)

    async def wait_for(self, condition: Callable[[FakeBotApi], bool], timeout: float = 10.0, what: str = "") -> None:
        """Wait (without blocking the event loop) until `condition(self)` holds; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                methods = [c.method for c in self.calls]
                raise AssertionError(f"timed out waiting for {what or condition}; calls so far: {methods}")
            await asyncio.sleep(0.01)

    def wait_until(self, condition: Callable[[FakeBotApi], bool], timeout: float = 10.0) -> bool:
        """Blocking variant of wait_for, for helper threads; returns whether `condition` came true."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    async def wait_for_messages(
        self, count: int, chat_id: int | None = None, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        await self.wait_for(lambda api: len(api.sent(chat_id)) >= count, timeout, f"{count} sendMessage(s)")
        return self.sent(chat_id)

    # --- serving -------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        prefix = f"/bot{self.token}/"
        file_prefix = f"/file/bot{self.token}/documents/"
        path = unquote(request.path)  # the client may quote the token's ":"
        if path.startswith(file_prefix):  # a download from getFile's file_path
            data = self.files.get(path[len(file_prefix) :])
            with self._cond:
                self.calls.append(Call("download", {"path": path[len(file_prefix) :]}, 200 if data else 404))
            if data is None:
                self._reply(request, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            else:
                self._reply_raw(request, 200, data)
            return
        if not request.path.startswith(prefix):
            with self._cond:  # recorded without the token, so a test can count the refused calls
                self.calls.append(Call(request.path.rsplit("/", 1)[-1].split("?")[0], {}, 401))
            self._reply(request, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        method = request.path[len(prefix) :].split("?")[0]
        params = self._params(request)
        with self._cond:
            failures = self._failures.get(method) or []
            chosen = next((i for i, f in enumerate(failures) if f.when is None or f.when(params)), None)
            fault = failures.pop(chosen) if chosen is not None else None
            outage = self._outage
        in_outage = outage is not None and time.monotonic() < outage[0] and (outage[2] is None or method in outage[2])
        if fault is None and in_outage:  # queued faults come first, so a test can script "502, drop, then down"
            description = "Bad Gateway" if outage[1] == 502 else "Internal Server Error"
            fault = Fault("status", outage[1], {"ok": False, "error_code": outage[1], "description": description})
        if self.latency is not None:
            time.sleep(self.latency(method, params))
        if fault is not None and fault.kind == "drop":
            with self._cond:
                self.calls.append(Call(method, params, 0))
            request.close_connection = True  # no status line at all: the client sees a closed connection
            return
        if fault is not None and fault.kind == "status":
            status, payload = fault.status, fault.payload or {}
        else:
            status, payload = self._answer(method, params)
        with self._cond:
            self.calls.append(Call(method, params, status))
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "garble":
            self._reply_raw(request, 200, b"<html><body>502 Bad Gateway</body></html")
            return
        self._reply(request, status, payload)

    @staticmethod
    def _params(request: BaseHTTPRequestHandler) -> dict[str, Any]:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode() if length else ""
        content_type = request.headers.get("Content-Type", "")
        if "json" in content_type:
            return json.loads(body or "{}")
        raw = {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in _STRING_PARAMS:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    @classmethod
    def _reply(cls, request: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        cls._reply_raw(request, status, json.dumps(payload).encode())

    @staticmethod
    def _reply_raw(request: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. polling stopped)
            pass

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return 200, {"ok": True, "result": self.bot_user}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        if method in ("sendMessage", "editMessageText"):
            return self._message(method, params)
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            if file_id not in self.files:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
            size = len(self.files[file_id])
            result = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": size}
            return 200, {"ok": True, "result": {**result, "file_path": f"documents/{file_id}"}}
        if method == "getMyCommands":
            return 200, {"ok": True, "result": []}
        if method == "getWebhookInfo":
            return 200, {"ok": True, "result": {"url": "", "has_custom_certificate": False, "pending_update_count": 0}}
        # sendChatAction, setMyCommands, deleteWebhook, setWebhook, close, logOut...
        return 200, {"ok": True, "result": True}

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        wait = min(float(params.get("timeout") or 0), LONG_POLL_CAP_S)
        deadline = time.monotonic() + wait
        with self._cond:
            # An offset confirms every earlier update, as on the real server.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._updates[:limit]

    def _message(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        text = params.get("text", "")
        try:
            shown = telegram_html_text(text) if str(params.get("parse_mode", "")).upper() == "HTML" else text
        except ValueError as error:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {error}"}
        if not shown.strip():
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        if utf16_len(shown) > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        chat_id = int(params["chat_id"])
        with self._cond:
            if method == "sendMessage":
                message_id = self._message_ids.get(chat_id, 1000) + 1
                self._message_ids[chat_id] = message_id
            else:
                message_id = int(params.get("message_id", 0))
            chat_type = self._chat_types.get(chat_id, "private" if chat_id > 0 else "supergroup")
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": self.bot_user,
            "text": shown,
        }
        params["result_message_id"] = message_id  # so tests can reply to what the bot sent
        return 200, {"ok": True, "result": message}
