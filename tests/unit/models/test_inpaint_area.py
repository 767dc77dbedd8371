"""Inpaint "only masked" geometry (pure): the box around the mask, its padding, its aspect ratio, and the paste back."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from models.inpaint_area import Box, crop_for_repaint, fit_aspect, pad_box, paste_back, repaint_box


def mask_with(size: tuple[int, int], *boxes: Box) -> Image.Image:
    mask = Image.new("L", size, 0)
    for box in boxes:
        mask.paste(255, box)
    return mask


@pytest.mark.parametrize(
    ("box", "padding", "size", "expected"),
    [
        ((10, 10, 20, 20), 5, (100, 100), (5, 5, 25, 25)),
        ((10, 10, 20, 20), 0, (100, 100), (10, 10, 20, 20)),
        ((2, 3, 20, 20), 32, (100, 100), (0, 0, 52, 52)),  # clamped at the top left
        ((80, 90, 100, 100), 32, (100, 100), (48, 58, 100, 100)),  # and at the bottom right
        ((0, 0, 100, 100), 256, (100, 100), (0, 0, 100, 100)),
    ],
)
def test_padding_is_clamped_to_the_image(box: Box, padding: int, size: tuple[int, int], expected: Box) -> None:
    assert pad_box(box, padding, size) == expected


@pytest.mark.parametrize(
    ("box", "width", "height", "size", "expected"),
    [
        ((10, 10, 20, 20), 64, 64, (100, 100), (10, 10, 20, 20)),  # already square
        ((10, 10, 20, 20), 128, 64, (100, 100), (5, 10, 25, 20)),  # grown in width, centred
        ((10, 10, 20, 20), 64, 128, (100, 100), (10, 5, 20, 25)),  # grown in height, centred
        ((0, 0, 14, 14), 128, 64, (100, 100), (0, 0, 28, 14)),  # at the left edge: shifted right
        ((90, 0, 100, 10), 128, 64, (100, 100), (80, 0, 100, 10)),  # at the right edge: shifted left
        ((5, 40, 25, 60), 256, 64, (30, 100), (0, 40, 30, 60)),  # the image is too narrow: its whole width
        ((0, 0, 100, 10), 64, 64, (100, 50), (0, 0, 100, 50)),  # too low: its whole height
    ],
)
def test_the_box_grows_to_the_output_aspect(box: Box, width: int, height: int, size: tuple[int, int], expected: Box):
    assert fit_aspect(box, width, height, size) == expected


def test_an_all_black_mask_selects_nothing() -> None:
    assert repaint_box(Image.new("L", (64, 64), 0), 32, 64, 64) is None
    assert repaint_box(mask_with((64, 64), (3, 4, 5, 6)), 0, 64, 64) == (3, 4, 5, 6)  # 2x2 already square


def test_random_masks_give_boxes_inside_the_image_around_the_mask_at_the_aspect() -> None:
    rng = random.Random(7)
    for _ in range(500):
        size = (rng.randint(8, 300), rng.randint(8, 300))
        left, top = rng.randrange(size[0]), rng.randrange(size[1])
        mask_box = (left, top, rng.randint(left + 1, size[0]), rng.randint(top + 1, size[1]))
        padding = rng.randint(0, 256)
        width, height = rng.randrange(64, 2049, 8), rng.randrange(64, 2049, 8)
        box = repaint_box(mask_with(size, mask_box), padding, width, height)
        assert box is not None
        x1, y1, x2, y2 = box
        assert 0 <= x1 < x2 <= size[0] and 0 <= y1 < y2 <= size[1], (size, box)
        padded = pad_box(mask_box, padding, size)
        assert x1 <= padded[0] and y1 <= padded[1] and x2 >= padded[2] and y2 >= padded[3]  # padding kept
        box_w, box_h = x2 - x1, y2 - y1
        if box_w < size[0] and box_h < size[1]:  # not clamped by the image: the output's aspect, up to rounding
            assert abs(box_w * height - box_h * width) <= max(width, height), (box, width, height)
        # only one axis grows beyond the padded box
        assert (box_w == padded[2] - padded[0]) or (box_h == padded[3] - padded[1])


def test_crop_and_paste_back_keep_unmasked_pixels_and_the_size() -> None:
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8), "RGB")
    mask = mask_with((120, 90), (50, 30, 70, 50))
    box = repaint_box(mask, 8, 64, 64)
    assert box == (42, 22, 78, 58)
    crop, crop_mask = crop_for_repaint(image, mask, box, 64, 64)
    assert crop.size == crop_mask.size == (64, 64) and crop_mask.mode == "L"
    repainted = Image.new("RGB", (64, 64), (0, 255, 0))
    result = paste_back(repainted, image, mask, box)
    assert result.size == image.size
    before, after, selected = np.asarray(image), np.asarray(result), np.asarray(mask) > 0
    assert np.array_equal(after[~selected], before[~selected])
    assert (after[selected] == (0, 255, 0)).all()
