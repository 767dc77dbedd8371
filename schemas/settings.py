"""Service settings: pydantic-settings with the ``SDQ_`` env prefix and an optional ``sdqueue.toml``.

Precedence, highest first: explicit keyword arguments, environment (``SDQ_*``), the TOML file
(``$SDQ_CONFIG``, else ``./sdqueue.toml`` when present), the defaults below. There is no module-level
instance: entry points build one with :func:`load_settings` and pass it down.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "SDQ_CONFIG"
DEFAULT_CONFIG_FILE = Path("sdqueue.toml")


def config_file_path() -> Path:
    """The TOML file the settings read: ``$SDQ_CONFIG`` if set, else ``./sdqueue.toml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE)


class Settings(BaseSettings):
    """Every knob of the service. Defaults serve a laptop: local Redis, ./data, ./models, 127.0.0.1."""

    model_config = SettingsConfigDict(env_prefix="SDQ_", extra="ignore", frozen=True)

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis used for the queue and job state.")
    data_dir: Path = Field(Path("data"), description="Outputs (images, thumbnails, job.json) live here.")
    models_dir: Path = Field(Path("models"), description="Model folders: checkpoints/<name>/ etc.")
    default_model: str | None = Field(
        None, description="Model used when a request names none; unset: the only installed checkpoint."
    )
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    queue_name: str = Field("sdqueue", description="RQ queue the API fills and the worker drains.")
    job_timeout: int = Field(3600, ge=1, description="Seconds a job may run before it is failed.")
    retention_seconds: int = Field(
        7 * 24 * 3600, ge=1, description="Job records (Redis) and output folders (disk) are kept this long."
    )
    sweep_interval: int = Field(600, ge=1, description="Seconds between the worker's retention sweeps.")
    max_retries: int = Field(1, ge=0, le=10, description="Re-queues of a job whose worker died mid-job.")
    preview_every: int | None = Field(
        None, ge=0, description="Preview image every N steps; 0 = off; unset = 5 on CUDA, off on CPU."
    )
    thumbnail_size: int = Field(256, ge=16, le=2048, description="Longest side of thumbnails, px.")
    device: Literal["auto", "cuda", "cpu"] = Field("auto", description="Worker device; auto = CUDA if present.")
    worker_heartbeat_ttl: int = Field(
        15, ge=3, description="Seconds a worker counts as alive after its last heartbeat (sent every ttl/3)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file_path())
        return (init_settings, env_settings, toml, file_secret_settings)

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def checkpoints_dir(self) -> Path:
        return self.models_dir / "checkpoints"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from overrides, the environment and the TOML file (see module docstring)."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})
