from pathlib import Path

from bot.wiring.settings import Settings

ENV_EXAMPLE = (Path(__file__).resolve().parent.parent / ".env.example").read_text(encoding="utf-8")


def env_name(field: str) -> str:
    return "TELEGRAM_BOT_TOKEN" if field == "telegram_bot_token" else f"KUTIP_{field.upper()}"


def test_every_setting_is_documented_in_env_example():
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"\n{env_name(name)}=" in ENV_EXAMPLE, f"{env_name(name)} missing from .env.example"


def test_env_example_as_a_dotenv_file_gives_the_defaults(tmp_path):
    env = tmp_path / ".env"
    env.write_text(ENV_EXAMPLE, encoding="utf-8")
    settings = Settings(_env_file=env)
    assert settings.telegram_bot_token is None and settings.llm_threads >= 1
    assert settings.llm_model == "pack:qwen2.5-coder-1.5b"


def test_id_lists_and_token_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("KUTIP_ADMINS", "1, 2,3")
    monkeypatch.setenv("KUTIP_ALLOWED_CHATS", "-100123")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    settings = Settings(_env_file=None)
    assert settings.admins == frozenset({1, 2, 3}) and settings.allowed_chats == frozenset({-100123})
    assert settings.telegram_bot_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)


def test_support_thresholds_reach_the_grounding_policy(monkeypatch):
    from bot.core.grounding import GroundingThresholds
    from bot.wiring.factory import grounding_thresholds

    assert grounding_thresholds(Settings(_env_file=None)) == GroundingThresholds()
    monkeypatch.setenv("KUTIP_SUPPORT_MIN_VERIFIED", "0.7")
    monkeypatch.setenv("KUTIP_SUPPORT_MAX_MISSING_SPECIFICS", "2")
    chosen = grounding_thresholds(Settings(_env_file=None))
    assert (chosen.min_verified, chosen.max_missing_specifics) == (0.7, 2)
    assert chosen.min_coverage == GroundingThresholds().min_coverage
