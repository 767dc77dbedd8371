"""Previews: TAESD when installed in models/taesd/taesd, else the linear latent→RGB approximation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.preview import PreviewDecoder, approximate, to_data_url


def latents(height: int = 24, width: int = 32, channels: int = 4) -> torch.Tensor:
    return torch.randn(2, channels, height, width, generator=torch.Generator().manual_seed(0))


def write_tiny_taesd(models_dir: Path) -> Path:
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    taesd = AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1),
        num_decoder_blocks=(1, 1, 1, 1),
    )
    folder = models_dir / "taesd" / "taesd"
    taesd.save_pretrained(folder)
    return folder


def test_approximation_keeps_aspect_and_caps_the_side() -> None:
    image = approximate(latents())
    assert image is not None
    assert image.size == (128, 96)
    assert approximate(latents(channels=16)) is None
    assert to_data_url(image).startswith("data:image/webp;base64,")


def test_without_taesd_the_decoder_approximates(tmp_path: Path) -> None:
    decoder = PreviewDecoder(tmp_path, "cpu")
    assert decoder.method == "approximation"
    assert np.array_equal(np.asarray(decoder.decode(latents())), np.asarray(approximate(latents())))


def test_taesd_is_used_when_installed(tmp_path: Path) -> None:
    write_tiny_taesd(tmp_path)
    decoder = PreviewDecoder(tmp_path, "cpu")
    assert decoder.method == "taesd"
    image = decoder.decode(latents())
    assert image.size == (128, 96)
    assert not np.array_equal(np.asarray(image), np.asarray(approximate(latents())))
    assert decoder.data_url(latents()) is not None


@pytest.mark.parametrize("channels", [16])
def test_taesd_falls_back_for_other_latent_shapes(tmp_path: Path, channels: int) -> None:
    write_tiny_taesd(tmp_path)
    assert PreviewDecoder(tmp_path, "cpu").decode(latents(channels=channels)) is None
