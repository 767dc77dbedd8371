"""Cheap previews of a running job, from the latents, without the full VAE.

TAESD (a tiny distilled VAE decoder, ``AutoencoderTiny``) when its diffusers folder is installed at
``models/taesd/taesd/`` (SD1.x/SD2.x latents); otherwise a linear map from the 4 latent channels to RGB (the
published approximation factors AUTOMATIC1111 and ComfyUI also use for their "cheap" previews). Latents of any
other shape give no preview.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# rows: latent channels 0..3, columns: R, G, B
SD_LATENT_RGB_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
PREVIEW_MAX_SIDE = 128


def taesd_folder(models_dir: Path) -> Path | None:
    folder = models_dir / "taesd" / "taesd"
    return folder if (folder / "config.json").is_file() else None


def _to_image(rgb: Any, max_side: int) -> Any:
    """(H, W, 3) tensor in [-1, 1] → PIL image whose longest side is ``max_side``."""
    import torch
    from PIL import Image

    pixels = ((rgb.float().cpu() + 1) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    image = Image.fromarray(pixels, "RGB")
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def approximate(latents: Any, max_side: int = PREVIEW_MAX_SIDE) -> Any | None:
    """The first latent of a batch through the linear latent→RGB map."""
    import torch

    if latents.ndim != 4 or latents.shape[1] != len(SD_LATENT_RGB_FACTORS):
        return None
    factors = torch.tensor(SD_LATENT_RGB_FACTORS, dtype=torch.float32)
    return _to_image(torch.einsum("chw,cr->hwr", latents[0].detach().float().cpu(), factors), max_side)


def to_data_url(image: Any) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=70)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode()


class PreviewDecoder:
    """Turns latents into a small preview image: TAESD when installed (loaded on first use), else the map."""

    def __init__(self, models_dir: Path, device: str) -> None:
        self._folder = taesd_folder(models_dir)
        self._device = device
        self._taesd: Any = None
        self.method = "taesd" if self._folder else "approximation"

    def _load(self) -> Any:
        if self._taesd is None and self._folder is not None:
            from diffusers import AutoencoderTiny

            self._taesd = AutoencoderTiny.from_pretrained(self._folder, local_files_only=True).to(self._device)
            log.info("previews decoded with TAESD from %s", self._folder)
        return self._taesd

    def decode(self, latents: Any) -> Any | None:
        taesd = self._load()
        if taesd is None or latents.ndim != 4 or latents.shape[1] != taesd.config.latent_channels:
            return approximate(latents)
        import torch

        with torch.inference_mode():
            decoded = taesd.decode(latents[:1].to(taesd.device, taesd.dtype)).sample
        return _to_image(decoded[0].clamp(-1, 1).permute(1, 2, 0), PREVIEW_MAX_SIDE)

    def data_url(self, latents: Any) -> str | None:
        image = self.decode(latents)
        return None if image is None else to_data_url(image)
