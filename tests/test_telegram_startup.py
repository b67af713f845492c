"""Starting the bot against a Bot API that refuses the token or is not there yet (issue 12, items 3 and 15)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fake_bot_api import FakeBotApi
from tests.telegram_helpers import FakeCore, kutip_run_environment, private_chat, settings_for, text_update
from tests.test_telegram_e2e import free_port, run_until_driven, shown, stoppable  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parent.parent
SECRET_TOKEN = "987654:SECRET-token_that-must_not-leak"

# `kutip run` with a fake library instead of the real models: only the start-up path is under test.
RUN_WITH_FAKE_CORE = (
    "import sys; import bot.wiring.telegram as wiring; from tests.fakes import FakeLibrary; "
    "wiring.build_library = lambda settings, reread=None, stop=None: FakeLibrary(); "
    "from bot.wiring.cli import main; sys.exit(main(['run']))"
)


def kutip_run(base_url: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = kutip_run_environment(SECRET_TOKEN, base_url, tmp_path, **env)
    # cwd outside the repo: no developer .env is read.
    return subprocess.run(
        [sys.executable, "-c", RUN_WITH_FAKE_CORE],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_rejected_token_is_one_redacted_line_and_a_failing_exit(tmp_path: Path) -> None:
    with FakeBotApi() as api:  # its token differs from SECRET_TOKEN, so getMe answers 401
        done = kutip_run(api.base_url, tmp_path)
        assert [c.method for c in api.calls] == ["getMe"], "a rejected token must not be retried"
    assert done.returncode == 2
    assert SECRET_TOKEN not in done.stderr and SECRET_TOKEN.split(":")[1] not in done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("kutip: ") and "TELEGRAM_BOT_TOKEN" in line


def test_a_bot_api_that_never_comes_up_ends_in_one_line_after_the_retries(tmp_path: Path) -> None:
    started = time.monotonic()
    done = kutip_run(f"http://127.0.0.1:{free_port()}/bot", tmp_path, KUTIP_STARTUP_RETRY_S="2")
    assert time.monotonic() - started < 30
    assert done.returncode == 2
    assert SECRET_TOKEN not in done.stderr and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) >= 2 and all("retrying" in line for line in lines[:-1])  # one line per attempt
    assert lines[-1].startswith("kutip: ") and "Bot API" in lines[-1]


@pytest.mark.parametrize("outage", ["refused", "502"])
def test_a_bot_api_down_at_start_up_is_waited_for_and_the_bot_then_answers(stoppable, caplog, outage) -> None:  # noqa: F811
    caplog.set_level(logging.INFO)
    port = free_port()
    api = FakeBotApi(port=port)
    core = FakeCore()
    settings = settings_for(api, telegram_base_url=f"http://127.0.0.1:{port}/bot", startup_retry_s=60)
    if outage == "502":
        api.start().outage(2.0, status=502)
    else:
        # Connection refused until the server starts, 2 s after the bot.
        threading.Timer(2.0, api.start).start()
    try:

        def drive() -> None:
            assert api.wait_until(lambda a: a.calls_to("getUpdates"), 20), "the bot never started polling"
            api.push(text_update("Apa tujuan OpenAI?", private_chat(111)))
            assert api.wait_until(lambda a: a.sent(111), 10), "the question was never answered"

        run_until_driven(settings, core, drive, lambda: api.push(text_update("/stop_test")))
        assert shown(api.sent(111)[0]).startswith("Jawaban: Apa tujuan OpenAI?")
    finally:
        api.stop()
    attempts = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert attempts, "each failed attempt is logged"
    assert all(api.token not in line for line in caplog.text.splitlines())
