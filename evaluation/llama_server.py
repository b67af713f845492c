"""Start llama-cpp-python's own OpenAI-compatible server on 127.0.0.1 for the e2e tests and `make bench`."""

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

logger = logging.getLogger(__name__)


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
    log = Path(tempfile.mkdtemp(prefix="llama-server-")) / "server.log"
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
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + start_timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server not ready in {start_timeout_s:g} s:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        logger.info("llama_cpp.server up at %s (pid %d)", url, process.pid)
        yield RunningServer(url, process.pid, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
