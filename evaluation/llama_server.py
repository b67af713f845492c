"""Start an OpenAI-compatible server on 127.0.0.1 for the e2e tests and `make bench`: llama-cpp-python's own
(one slot), or llama.cpp's `llama-server` built by `make llama-server` (several slots)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.wiring.settings import REPO_ROOT

logger = logging.getLogger(__name__)

# Where `make llama-server` puts the binary (relative to the repository).
LLAMA_SERVER_BINARY = REPO_ROOT / "data" / "llama-server" / "bin" / "llama-server"


@dataclass(frozen=True)
class RunningServer:
    url: str  # the OpenAI base URL, ending in /v1
    pid: int
    log: Path

    def peak_rss_mb(self) -> float | None:
        """The server process's peak resident memory (VmHWM), while it runs."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def llama_cpp_server(
    model: Path, threads: int = 2, n_ctx: int = 4096, logits_all: bool = True, start_timeout_s: float = 180.0
) -> Iterator[RunningServer]:
    """Run `python -m llama_cpp.server` on a free port; it is stopped on leaving, whatever happened inside.

    logits_all keeps every position's logits, which the server needs to return log-probabilities
    (the verification turn's P("yes")); it is the server's default, spelled out because it costs memory.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--logits_all",
        str(logits_all).lower(),
    ]
    url = f"http://127.0.0.1:{port}/v1"
    with _serve(command, url, f"{url}/models", "llama_cpp.server", start_timeout_s) as server:
        yield server


@contextmanager
def llama_cpp_llama_server(
    binary: Path, model: Path, slots: int, threads: int = 2, n_ctx: int = 4096, start_timeout_s: float = 180.0
) -> Iterator[RunningServer]:
    """Run llama.cpp's `llama-server` with `slots` slots of `n_ctx` tokens each (-c is the total it splits)."""
    port = free_port()
    command = [
        str(binary),
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ctx-size",
        str(n_ctx * slots),
        "--parallel",
        str(slots),
        "--threads",
        str(threads),
        "--threads-batch",
        str(threads),
        "--no-webui",
    ]
    url = f"http://127.0.0.1:{port}/v1"
    with _serve(command, url, f"http://127.0.0.1:{port}/health", "llama-server", start_timeout_s) as server:
        yield server


@contextmanager
def _serve(command: list[str], url: str, ready_url: str, name: str, start_timeout_s: float) -> Iterator[RunningServer]:
    """Start `command`, wait until `ready_url` answers 200, and stop it on leaving, whatever happened inside."""
    log = Path(tempfile.mkdtemp(prefix="llama-server-")) / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready in {start_timeout_s:g} s:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        logger.info("%s up at %s (pid %d)", name, url, process.pid)
        yield RunningServer(url, process.pid, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
