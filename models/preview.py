"""Cheap previews of a running job: latents → small RGB image without the VAE.

A linear map from the 4 latent channels of SD1.x/SD2.x to RGB (the published approximation factors that
AUTOMATIC1111 and ComfyUI also use for their "cheap" previews). Other latent shapes give no preview.
"""

from __future__ import annotations

import base64
import io
from typing import Any

# rows: latent channels 0..3, columns: R, G, B
SD_LATENT_RGB_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)


def latents_to_image(latents: Any, max_side: int = 128) -> Any | None:
    """The first latent of a batch as a PIL image whose longest side is at most ``max_side``."""
    import torch
    from PIL import Image

    if latents.ndim != 4 or latents.shape[1] != len(SD_LATENT_RGB_FACTORS):
        return None
    factors = torch.tensor(SD_LATENT_RGB_FACTORS, dtype=torch.float32)
    rgb = torch.einsum("chw,cr->hwr", latents[0].detach().float().cpu(), factors)
    pixels = ((rgb + 1) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    image = Image.fromarray(pixels, "RGB")
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def to_data_url(image: Any) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=70)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode()
