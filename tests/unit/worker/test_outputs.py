"""Output files: A1111 infotext, PNG chunk, thumbnails, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from schemas.requests import InpaintRequest, Txt2ImgRequest
from store.files import write_atomically
from worker.outputs import infotext, write_images


def test_infotext_matches_a1111_layout() -> None:
    request = Txt2ImgRequest(prompt="a cat", negative_prompt="dog", steps=4, cfg_scale=7.5, width=64, height=128)
    text = infotext(request, 99, "tiny", "0.1.0")
    assert text == (
        "a cat\nNegative prompt: dog\n"
        "Steps: 4, Sampler: Euler a, CFG scale: 7.5, Seed: 99, Size: 64x128, Model: tiny, "
        "Version: sdqueue 0.1.0"
    )
    assert "Negative prompt" not in infotext(Txt2ImgRequest(prompt="a"), 1, "m", "v")


def test_infotext_of_inpaint_only_masked() -> None:
    request = InpaintRequest(
        prompt="a door", image="upl_x", mask="upl_y", width=64, height=64, inpaint_full_res=True, mask_blur=6
    )
    text = infotext(request, 5, "tiny-inpaint", "0.1.0")
    assert (
        "Size: 64x64, Denoising strength: 0.75, Mask blur: 6, Inpaint area: Only masked, Masked area padding: 32, "
        "Model: tiny-inpaint" in text
    )
    whole = infotext(request.model_copy(update={"inpaint_full_res": False}), 5, "m", "v")
    assert "Mask blur: 6, Model: m" in whole and "Inpaint area" not in whole


def test_write_images_png_chunk_and_thumbnail_sizes(tmp_path: Path) -> None:
    images = [Image.new("RGB", (512, 384), "red"), Image.new("RGB", (64, 64), "blue")]
    records = write_images(tmp_path, images, [1, 2], ["p1", "p2"], thumbnail_size=256)
    assert [r.file for r in records] == ["0.png", "1.png"]
    with Image.open(tmp_path / "0.png") as png:
        assert png.text["parameters"] == "p1"
    with Image.open(tmp_path / records[0].thumbnail) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.size == (256, 192)
    with Image.open(tmp_path / records[1].thumbnail) as small:
        assert small.size == (64, 64)  # thumbnails never enlarge
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_failed_write_leaves_neither_file_nor_temp(tmp_path: Path) -> None:
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")

    def explode(handle) -> None:
        handle.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(target, explode)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]
