"""Differential img2img: a per-pixel strength map over an img2img run (the "differential diffusion" technique),
written here on top of the diffusers components rather than taken from a community pipeline.

After every denoising step, each latent pixel whose map value is not yet above the step's threshold is put back to
the original latents noised to the next timestep; the threshold falls from 1 to 0 over the run, so white areas
change from the first step, grey ones join part-way, black ones never do. Pixels whose map is exactly black are
then pasted back from the input, so an all-black map returns the input unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

NOISE_SEED_OFFSET = 1_000_003  # the reference noise is drawn apart from the pipeline's own noise


class DifferentialGuide:
    def __init__(self, pipeline: Any, init_image: Image.Image, change_map: Image.Image, seeds: list[int]) -> None:
        import torch

        vae = pipeline.vae
        pixels = pipeline.image_processor.preprocess(init_image).to(vae.device, vae.dtype)
        with torch.inference_mode():
            original = vae.encode(pixels).latent_dist.mean * vae.config.scaling_factor
        height, width = original.shape[-2:]
        strength = np.asarray(change_map.convert("L").resize((width, height), Image.Resampling.BILINEAR))
        self.original = original
        self.map = torch.from_numpy(strength.astype(np.float32) / 255)[None, None].to(original)
        self.noise = torch.cat(
            [
                torch.randn(original.shape, generator=torch.Generator("cpu").manual_seed(seed + NOISE_SEED_OFFSET))
                for seed in seeds
            ]
        ).to(original)

    def apply(self, pipe: Any, step_index: int, latents: Any) -> Any:
        """Latents after step ``step_index`` with the not-yet-released pixels reset to the noised original."""
        import torch

        steps = pipe.num_timesteps
        timesteps = pipe.scheduler.timesteps[-steps:]
        original = self.original.expand_as(latents)
        if step_index + 1 < steps:
            noise = self.noise[: latents.shape[0]]
            reference = pipe.scheduler.add_noise(original, noise, timesteps[step_index + 1 : step_index + 2])
        else:
            reference = original
        threshold = 1 - (step_index + 1) / steps
        return torch.where(self.map <= threshold, reference.to(latents.dtype), latents)


def keep_black_areas(generated: Image.Image, original: Image.Image, change_map: Image.Image) -> Image.Image:
    """The input's pixels wherever the map is exactly black."""
    released = change_map.convert("L").point(lambda value: 255 if value > 0 else 0)
    return Image.composite(generated, original, released)
