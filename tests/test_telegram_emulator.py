"""`kutip run` against a third-party Bot API emulator, the npm package telegram-test-api (tests/emulator/), so
the Telegram path is not checked against Kutip's own fake Bot API alone (issue 22).

The emulator was written for Node bots and departs from Telegram in a few ways that python-telegram-bot
notices; a small proxy in front of it (Shim) bridges exactly those, and records every call:
- `getMe` has no `is_bot` (PTB refuses a user without it);
- `setMyCommands` and `sendChatAction` are unknown methods (HTTP 500);
- a sent message's `date` is in milliseconds (PTB cannot make a date of it);
- a sent message echoes the request's parameters, `link_preview_options` as a JSON string, which PTB would
  parse as the message's own field;
- `getUpdates` answers at once (no long polling), so an idle bot would poll in a tight loop.
Everything else (updates, replies, their text and HTML, reply threading) is the emulator's own.

Without npm or the installed package (`make emulator`, part of `make test`) the tests are skipped.
"""

from __future__ import annotations

import html
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.wiring.settings import DEFAULT_ARTICLE
from tests.telegram_helpers import kutip_run_environment, spawn_kutip

REPO = Path(__file__).resolve().parent.parent
EMULATOR = REPO / "tests" / "emulator"
TOKEN = "424242:emulated-token"
CHAT = 5150

# Methods the emulator does not know, answered by the shim as Telegram would (True).
ANSWERED_BY_SHIM = {"setMyCommands", "sendChatAction", "deleteMyCommands"}
LONG_POLL_S = 1.0  # how long an empty getUpdates is held, as Telegram's long polling would


def _emulator_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed: the telegram-test-api tests need it"
    if not (EMULATOR / "node_modules" / "telegram-test-api").is_dir():
        return "telegram-test-api is not installed: run `make emulator` (needs npm)"
    return None


pytestmark = pytest.mark.skipif(_emulator_missing() is not None, reason=_emulator_missing() or "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Shim:
    """The proxy between the bot and the emulator (see the module docstring): what it bridges, and every call."""

    emulator: str  # "http://127.0.0.1:PORT"
    calls: list[str] = field(default_factory=list)
    bot: dict[str, Any] = field(default_factory=dict)

    def answer(self, method: str, body: bytes, content_type: str) -> dict[str, Any]:
        self.calls.append(method)
        if method in ANSWERED_BY_SHIM:
            return {"ok": True, "result": True}
        deadline = time.monotonic() + (LONG_POLL_S if method == "getUpdates" else 0)
        while True:
            reply = httpx.post(
                f"{self.emulator}/bot{TOKEN}/{method}", content=body, headers={"Content-Type": content_type}, timeout=10
            ).json()
            if method != "getUpdates" or reply.get("result") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        result = reply.get("result")
        if method == "getMe" and isinstance(result, dict):
            self.bot = {**result, "is_bot": True}
            reply["result"] = self.bot
        elif method == "sendMessage" and isinstance(result, dict):
            # Only what Telegram itself returns: no echoed request parameters, the date in seconds.
            date = result["date"] // 1000 if result["date"] > 10**11 else result["date"]
            reply["result"] = {
                "message_id": result["message_id"],
                "date": date,
                "chat": result["chat"],
                "from": self.bot,
                "text": result.get("text", ""),
            }
        elif method == "editMessageText" and result is None:
            reply["result"] = True
        return reply

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def __enter__(self) -> Shim:
        shim = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                method = self.path.rsplit("/", 1)[-1].split("?")[0]
                data = json.dumps(shim.answer(method, body, self.headers.get("Content-Type") or "")).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the bot stopped during a held poll
                    pass

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def emulator() -> Iterator[str]:
    """telegram-test-api running on 127.0.0.1; yields its URL."""
    port = free_port()
    node = subprocess.Popen(
        ["node", str(EMULATOR / "serve.js"), str(port)],
        cwd=EMULATOR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert node.stdout is not None and node.stdout.readline().strip() == "ready", "the emulator did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        assert node.stdin is not None
        node.stdin.close()
        try:
            node.wait(10)
        except subprocess.TimeoutExpired:
            node.kill()


def say(emulator: str, text: str, chat: int = CHAT) -> None:
    """A user writes to the bot in a private chat, through the emulator's client API."""
    message: dict[str, Any] = {
        "botToken": TOKEN,
        "from": {"id": chat, "first_name": "Ani", "is_bot": False, "language_code": "id"},
        "chat": {"id": chat, "first_name": "Ani", "type": "private"},
        "date": int(time.time()),
        "text": text,
    }
    route = "sendMessage"
    if text.startswith("/"):
        route = "sendCommand"
        message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    assert httpx.post(f"{emulator}/{route}", json=message, timeout=10).json()["ok"]


def replies(emulator: str, count: int, timeout: float, chat: int = CHAT) -> list[dict[str, Any]]:
    """The bot's messages to `chat`, as the emulator stored them (its client API), once there are `count`."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"{len(got)} of {count} replies within {timeout} s"
        reply = httpx.post(f"{emulator}/getUpdates", json={"token": TOKEN, "chatId": chat}, timeout=10).json()
        got += [update["message"] for update in reply["result"]]
        time.sleep(0.2)
    return got


# `kutip run` with a fake library around one FakeCore (no model): the Telegram path alone.
RUN_WITH_FAKE_CORE = (
    "import sys; import bot.wiring.telegram as wiring; from tests.fakes import FakeCore, FakeLibrary; "
    "wiring.build_library = lambda settings, reread=None, stop=None: FakeLibrary(FakeCore()); "
    "from bot.wiring.cli import main; sys.exit(main(['run']))"
)
RUN = "import sys; from bot.wiring.cli import main; sys.exit(main(['run']))"


def start_kutip(base_url: str, data_dir: Path, program: str) -> subprocess.Popen[str]:
    environment = kutip_run_environment(TOKEN, base_url, data_dir, log_level="INFO")
    return spawn_kutip(program, environment, data_dir)


def stop(kutip: subprocess.Popen[str]) -> str:
    kutip.send_signal(signal.SIGTERM)
    try:
        output, _ = kutip.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        kutip.kill()
        output, _ = kutip.communicate()
    return output


def converse(
    emulator: str, data_dir: Path, program: str, messages: list[str], timeout: float
) -> tuple[list[dict[str, Any]], str, list[str]]:
    """`kutip run` (`program`) behind the shim: each message sent and its one reply awaited, then a stop. The
    replies, the program's output, and the Bot API methods it called."""
    got: list[dict[str, Any]] = []
    with Shim(emulator) as shim:
        kutip = start_kutip(shim.base_url, data_dir, program)
        try:
            for text in messages:
                say(emulator, text)
                got += replies(emulator, 1, timeout=timeout)
        finally:
            output = stop(kutip)
    return got, output, shim.calls


def test_kutip_run_answers_through_telegram_test_api(emulator: str, tmp_path: Path) -> None:
    [help_text, answer], output, calls = converse(
        emulator, tmp_path, RUN_WITH_FAKE_CORE, ["/start", "Apa tujuan OpenAI?"], timeout=60
    )
    assert "Traceback" not in output, output
    assert "/ask" in help_text["text"]
    assert answer["parse_mode"] == "HTML" and answer["text"].startswith("Jawaban: Apa tujuan OpenAI?")
    # The quote is the article's sentence, and the reply threads to the question (the emulator numbers
    # messages in one sequence: /start 1, help 2, the question 3).
    assert "<blockquote" in answer["text"]
    assert json.loads(answer["reply_parameters"])["message_id"] == 3
    assert {"getMe", "setMyCommands", "getUpdates", "sendMessage"} <= set(calls)


@pytest.mark.e2e
def test_kutip_run_with_the_real_models_answers_a_question_through_telegram_test_api(
    emulator: str, tmp_path: Path
) -> None:
    """The real `kutip run` (the seed article, llama.cpp, e5) through the third-party emulator: one question."""
    (tmp_path / "models").symlink_to(REPO / "data" / "models", target_is_directory=True)
    [answer], output, calls = converse(emulator, tmp_path, RUN, ["Kapan Microsoft dan OpenAI mulai bekerja sama?"], 600)
    assert "Traceback" not in output, output
    assert answer["parse_mode"] == "HTML" and "2019" in answer["text"]
    quote = answer["text"].split("<blockquote", 1)[1].split(">", 1)[1].split("</blockquote>", 1)[0]
    quoted = html.unescape(quote.split("\n", 1)[0])  # the sentence, then its position
    assert "2019" in quoted and quoted in DEFAULT_ARTICLE.read_text(encoding="utf-8")
    assert "sendChatAction" in calls  # "typing…" while the model answered
