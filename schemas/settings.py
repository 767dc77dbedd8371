"""Service settings: pydantic-settings with the ``SDQ_`` env prefix and an optional ``sdqueue.toml``.

Precedence, highest first: explicit keyword arguments, environment (``SDQ_*``), the TOML file
(``$SDQ_CONFIG``, else ``./sdqueue.toml`` when present), the defaults below. There is no module-level
instance: entry points build one with :func:`load_settings` and pass it down.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from schemas.scheduling import SchedulingSettings
from schemas.watermark import WatermarkSettings

CONFIG_ENV = "SDQ_CONFIG"
AUTH_MODES = ("none", "optional", "jwt", "api-key", "pam", "unix")
DEFAULT_CONFIG_FILE = Path("sdqueue.toml")


def config_file_path() -> Path:
    """The TOML file the settings read: ``$SDQ_CONFIG`` if set, else ``./sdqueue.toml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE)


class Settings(SchedulingSettings, WatermarkSettings):
    """Every knob of the service. Defaults serve a laptop: local Redis, ./data, ./models, 127.0.0.1."""

    model_config = SettingsConfigDict(env_prefix="SDQ_", extra="ignore", frozen=True)

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis used for the queue and job state.")
    data_dir: Path = Field(Path("data"), description="Outputs (images, thumbnails, job.json) live here.")
    models_dir: Path = Field(Path("models"), description="Model folders: checkpoints/<name>/ etc.")
    single_file_configs: Path | None = Field(
        None,
        description="Folder whose sd1/, sd2/, sdxl/ config folders (diffusers layout, JSON + tokenizer files, no "
        "weights) replace the shipped ones when single-file checkpoints load.",
    )
    hub_models: list[str] = Field(
        [], description="Hub ids listed as checkpoints (loaded with from_pretrained; needs internet)."
    )
    default_model: str | None = Field(
        None, description="Model used when a request names none; unset: the only installed checkpoint."
    )
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    api_workers: int = Field(
        1, ge=1, le=64, description="API processes (uvicorn workers) sharing the port; see the README for when."
    )
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
    device: str = Field(
        "auto", pattern=r"^(auto|cpu|cuda(:\d{1,2})?)$", description="Worker device: auto, cpu, cuda or cuda:N."
    )
    precision: Literal["auto", "fp16", "bf16", "fp32"] = Field(
        "auto",
        description="Weights dtype: auto = fp16 on CUDA (bf16 for SD3/Flux where the GPU has it), fp32 on CPU.",
    )
    attention: Literal["sdpa", "xformers"] = Field(
        "sdpa", description="Attention backend; xformers only when installed (the cuda extra), else sdpa."
    )
    attention_slicing: bool = Field(False, description="Slice attention to save memory (slower).")
    vae_slicing: bool = Field(False, description="Decode a batch one image at a time.")
    vae_tiling: bool = Field(False, description="Decode in tiles (large images on small GPUs).")
    cpu_offload: Literal["none", "model", "sequential"] = Field(
        "none", description="Move idle components to the CPU (CUDA only): model = whole models, sequential = layers."
    )
    channels_last: bool = Field(False, description="channels_last memory format for the UNet (CUDA).")
    torch_compile: bool = Field(False, description="torch.compile the UNet (slow first job, faster later ones).")
    model_memory_mb: int | None = Field(
        None, ge=1, description="Memory for resident models (LRU); unset: 90% of VRAM on CUDA, half the RAM on CPU."
    )
    worker_heartbeat_ttl: int = Field(
        15, ge=3, description="Seconds a worker counts as alive after its last heartbeat (sent every ttl/3)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text: one readable line per record; json: one JSON object per line (time, level, logger, "
        "message, request_id, job_id, user, worker) for log collectors.",
    )

    # -- authentication (see docs/auth.md) ---------------------------------------------------------------
    auth: str = Field(
        "none", description="Comma-separated modes: none | optional, jwt, api-key, pam, unix (e.g. 'jwt,api-key')."
    )
    environment: Literal["development", "production"] = Field(
        "production", description="development allows weak JWT secrets; production refuses them."
    )
    jwt_secret: SecretStr | None = Field(
        None,
        description="Secret the JWT (HS256) and signed-URL keys are derived from; unset: generated once and kept in "
        "<data_dir>/auth/secret.key (0600).",
    )
    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = Field("HS256", description="JWT signing algorithm.")
    jwt_private_key_file: Path | None = Field(None, description="PEM private key for RS256/ES256.")
    jwt_public_key_file: Path | None = Field(None, description="PEM public key for RS256/ES256.")
    jwt_issuer: str = Field("sdqueue", min_length=1, description="iss claim of tokens; verification requires it.")
    jwt_audience: str = Field("sdqueue-api", min_length=1, description="aud claim of tokens; verification requires it.")
    access_token_ttl: int = Field(900, ge=30, description="Seconds an access token lives.")
    refresh_token_ttl: int = Field(14 * 24 * 3600, ge=60, description="Seconds a refresh token lives.")
    pam_service: str = Field("login", description="PAM service for the pam/unix modes.")
    unix_group: str | None = Field(None, description="unix mode: only members of this group may log in.")
    guest_scopes: list[str] = Field(
        ["generate", "jobs:read", "models:read"], description="Scopes of anonymous callers in optional mode."
    )
    high_priority_roles: list[str] = Field(["admin"], description="Roles that may submit priority 'high'.")
    login_max_failures: int = Field(5, ge=1, description="Failed logins per user name per window.")
    login_max_failures_per_address: int = Field(
        30, ge=1, description="Failed logins per client address per window (many users may share one address)."
    )
    login_window_seconds: int = Field(900, ge=1, description="Window (and lockout) for failed logins.")
    trusted_proxies: list[IPvAnyNetwork] = Field(
        [],
        description="Reverse proxies (a JSON list of CIDRs) whose X-Forwarded-For names the client address for "
        "login limits; the right-most address not in the list is taken. Empty: the socket peer, XFF ignored.",
    )
    submit_per_minute: int = Field(60, ge=1, description="Submissions per principal per minute.")
    max_queued_per_user: int = Field(50, ge=1, description="Queued jobs one principal may have at once.")
    uploads_per_minute: int = Field(30, ge=1, description="POST /api/v1/uploads per principal per minute.")
    watermark_checks_per_minute: int = Field(
        10, ge=1, description="POST /api/v1/watermark/check per principal per minute."
    )
    validations_per_minute: int = Field(
        60, ge=1, description="POST /api/v1/validate and /api/v1/estimate together, per principal per minute."
    )
    hashes_per_minute: int = Field(10, ge=1, description="POST /api/v1/models/{id}/hash per principal per minute.")
    max_uploads_per_user: int = Field(
        200, ge=1, description="Uploads (/uploads, /watermark/check) one principal may have stored at once."
    )
    max_upload_bytes_per_user: int = Field(
        1024**3, ge=1024, description="Bytes of stored uploads (/uploads, /watermark/check) per principal."
    )
    max_watermark_checks_per_user: int = Field(
        3, ge=1, description="Watermark checks one principal may have queued or running at once."
    )
    max_event_streams_per_user: int = Field(
        8, ge=1, description="Open GET /api/v1/jobs/{id}/events streams per principal."
    )
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1024, description="Largest input image, bytes.")
    max_image_pixels: int = Field(
        4096 * 4096, ge=4096, description="Largest input image, pixels (checked before decoding)."
    )
    max_upscale_pixels: int = Field(
        8192 * 8192,
        ge=4096,
        description="Largest upscale output, pixels: the final image and every model pass on the way (also in the "
        "hires fix).",
    )
    upscale_tile_size: int = Field(
        512, ge=32, le=4096, description="Model upscalers run on tiles of this many input pixels a side."
    )
    upscale_tile_padding: int = Field(
        16, ge=0, le=256, description="Context pixels around each upscaler tile, cut off after the model (no seams)."
    )
    # -- content safety (docs/safety.md) -------------------------------------------------------------
    safety_strict: bool = Field(
        False, description="Default strictness: strict blocks flagged prompts/images; normal adjusts and records."
    )
    safety_admins_may_lower: bool = Field(
        True, description="Admins may send strict_safety=false under a strict default (others never may)."
    )
    safety_profanity: bool = Field(True, description="Check prompts with better-profanity's word list at submit.")
    safety_keywords: list[str] = Field([], description="More words or phrases to flag (category 'custom').")
    safety_negative_terms: str = Field(
        "nsfw, nudity, explicit, gore, violence",
        description="Appended to the negative prompt of flagged prompts in normal mode.",
    )
    detoxify_checkpoint: Path | None = Field(
        None, description="A local Detoxify checkpoint (.ckpt); unset: no toxicity classifier (keywords only)."
    )
    detoxify_config: Path | None = Field(
        None, description="Folder with the checkpoint's transformers config + tokenizer (e.g. bert-base-uncased)."
    )
    detoxify_thresholds: dict[str, float] = Field(
        {
            "toxicity": 0.7,
            "severe_toxicity": 0.5,
            "obscene": 0.7,
            "threat": 0.7,
            "insult": 0.8,
            "identity_attack": 0.7,
        },
        description="A prompt is flagged for each category whose score reaches its threshold.",
    )
    safety_checker: Path | None = Field(
        None,
        description="A folder with safety_checker/ and feature_extractor/ (e.g. an SD 1.5 diffusers folder): "
        "checks every image; unset: off.",
    )

    cache_enabled: bool = Field(True, description="Result cache for requests with an explicit seed (docs/safety.md).")
    cache_max_bytes: int = Field(
        10 * 1024**3, ge=0, description="Bytes of cached images kept; the least recently used go first."
    )
    fetch_timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds an image URL may take in all: resolving, connecting, redirects, body."
    )
    fetch_max_redirects: int = Field(3, ge=0, le=10, description="Redirects an image URL may take (each re-checked).")
    fetch_allow_networks: list[IPvAnyNetwork] = Field(
        [],
        description="Networks image URLs may reach despite the private-address block, as a JSON list of CIDRs "
        '(e.g. ["192.168.1.0/24"]): for tests and trusted image servers on a LAN. Empty by default.',
    )
    max_body_bytes: int = Field(25 * 1024 * 1024, ge=1024, description="Largest request body accepted.")
    cors_origins: list[str] = Field([], description="Origins allowed by CORS; none by default.")
    allowed_hosts: list[str] = Field(
        [],
        description="With SDQ_AUTH=none, Host names the API answers to besides localhost, 127.0.0.1, [::1] and the "
        'bind address (a JSON list, e.g. ["sd.lan"]; "*" turns the check off); other Hosts get 421.',
    )
    signed_url_ttl: int = Field(3600, ge=10, description="Seconds a signed image URL stays valid.")
    # -- drop-in APIs (docs/clients.md) ---------------------------------------------------------------
    compat_wait_seconds: float = Field(
        600, gt=0, description="OpenAI / AUTOMATIC1111 calls wait this long for their job, then cancel it (504)."
    )
    openai_model_aliases: dict[str, str] = Field(
        {"dall-e-2": "", "dall-e-3": "", "gpt-image-1": ""},
        description='OpenAI model names mapped to checkpoints (a JSON object; "" = the default model). Other names '
        "must be installed checkpoints.",
    )
    openai_steps: int = Field(20, ge=1, le=150, description="Denoising steps of OpenAI Images API jobs.")

    @field_validator("auth")
    @classmethod
    def _known_modes(cls, value: str) -> str:
        modes = [m.strip() for m in value.split(",") if m.strip()]
        unknown = set(modes) - set(AUTH_MODES)
        if unknown or not modes:
            raise ValueError(f"unknown auth mode(s) {sorted(unknown)}; choose from {', '.join(AUTH_MODES)}")
        if "none" in modes and len(modes) > 1:
            raise ValueError("'none' cannot be combined with other modes")
        return ",".join(modes)

    @property
    def auth_modes(self) -> frozenset[str]:
        return frozenset(self.auth.split(","))

    @property
    def auth_enabled(self) -> bool:
        return self.auth_modes != {"none"}

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
