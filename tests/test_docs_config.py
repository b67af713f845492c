"""docs/configuration.md is generated from Settings and must not drift from it.

That every field is also in `.env.example` is checked in tests/test_settings.py.
"""

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.wiring import settings_doc
from bot.wiring.settings import REPO_ROOT, Settings


def test_configuration_page_is_what_settings_generate_today():
    checked_in = settings_doc.PAGE.read_text(encoding="utf-8")
    assert checked_in == settings_doc.render(), (
        f"docs/configuration.md differs from Settings: run `{settings_doc.COMMAND}` and commit the page"
    )


def test_every_setting_sits_under_a_named_section():
    placed = {name: title for title, names in settings_doc.sections() for name in names}
    assert set(placed) == set(Settings.model_fields)
    assert "other" not in placed.values(), "a field is declared above the first `# --- section ---` comment"


class _Sample(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAMPLE_")

    # --- files (where things live) ---
    folder: Path = Field(REPO_ROOT / "data" / "x", description="A folder | with a pipe.")
    token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("PLAIN_TOKEN", "SAMPLE_TOKEN"), description="A secret."
    )

    # --- choices ---
    mode: Literal["fast", "slow"] = Field("fast", description="How to run.")
    count: int = Field(3, ge=2, description="How many, e.g. <n>.")
    ids: frozenset[int] = Field(frozenset(), description="Ids.")
    flag: bool = Field(True, description="A switch.")


def test_a_row_gives_the_variable_a_default_as_written_in_env_and_what_the_type_adds():
    page = settings_doc.render(_Sample)
    assert "## Files\n\nWhere things live.\n" in page and "## Choices\n" in page
    assert "| `SAMPLE_FOLDER` | `data/x` | A folder \\| with a pipe. |" in page
    assert "| `PLAIN_TOKEN` | (unset) | A secret. |" in page
    assert "| `SAMPLE_MODE` | `fast` | How to run. One of `fast`, `slow`. |" in page
    assert "| `SAMPLE_COUNT` | `3` | How many, e.g. &lt;n&gt;. At least 2. |" in page
    assert "| `SAMPLE_IDS` | (empty) | Ids. |" in page and "| `SAMPLE_FLAG` | `true` | A switch. |" in page
    assert (
        page.index("SAMPLE_FOLDER") < page.index("PLAIN_TOKEN") < page.index("## Choices") < page.index("SAMPLE_MODE")
    )


def test_check_fails_on_a_stale_page_and_passes_once_it_is_rewritten(tmp_path, capsys):
    page = tmp_path / "configuration.md"
    page.write_text(settings_doc.render().replace("KUTIP_LLM_URL", "KUTIP_MODEL_URL"), encoding="utf-8")
    assert settings_doc.main(["--check", "--output", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert settings_doc.main(["--output", str(page)]) == 0
    assert settings_doc.main(["--check", "--output", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == settings_doc.render()
