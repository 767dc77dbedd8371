"""Settings precedence: keyword overrides > SDQ_ environment > sdqueue.toml > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SDQ_PORT", "SDQ_HOST", "SDQ_DATA_DIR", "SDQ_REDIS_URL", "SDQ_DEFAULT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SDQ_CONFIG", str(tmp_path / "sdqueue.toml"))


def test_defaults_serve_a_laptop() -> None:
    settings = load_settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.outputs_dir == Path("data/outputs")
    assert settings.checkpoints_dir == Path("models/checkpoints")


def test_toml_then_env_then_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "sdqueue.toml").write_text('port = 9000\nhost = "127.0.0.2"\ndefault_model = "sd15"\n')
    assert load_settings().port == 9000
    monkeypatch.setenv("SDQ_PORT", "9100")
    settings = load_settings()
    assert (settings.port, settings.host, settings.default_model) == (9100, "127.0.0.2", "sd15")
    assert load_settings(port=9200, host=None).port == 9200


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDQ_PORT", "70000")
    with pytest.raises(ValueError, match="port"):
        load_settings()
