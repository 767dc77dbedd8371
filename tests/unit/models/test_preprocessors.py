"""The canny preprocessor (OpenCV): an edge map where a shape's border is, nothing elsewhere."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from models.preprocessors import canny, preprocess
from schemas.requests import ControlNetUnit


def grey_square(value: int = 255, background: int = 0) -> Image.Image:
    image = Image.new("RGB", (64, 64), (background,) * 3)
    ImageDraw.Draw(image).rectangle((16, 16, 47, 47), fill=(value,) * 3)
    return image


def test_canny_draws_the_border_of_a_square_and_nothing_else() -> None:
    edges = canny(grey_square(), 100, 200)
    assert edges.mode == "RGB" and edges.size == (64, 64)
    pixels = np.asarray(edges)
    assert set(np.unique(pixels)) <= {0, 255}
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    on = pixels[..., 0] == 255
    border = np.zeros((64, 64), bool)
    border[14:50, 14:50] = True
    border[18:46, 18:46] = False  # a band of 2 px either side of the square's edge
    assert on.sum() > 100  # four sides of ~32 px
    assert not on[~border].any()  # nothing inside the square or in the background
    assert on[15:49, 15:17].any(axis=1).sum() >= 30  # the left side is continuous
    assert on[15:17, 15:49].any(axis=0).sum() >= 30  # and the top


def test_thresholds_decide_which_edges_count() -> None:
    faint = grey_square(value=40)  # a low-contrast square
    assert np.asarray(canny(faint, 10, 30)).any()
    assert not np.asarray(canny(faint, 200, 250)).any()


def test_preprocess_follows_the_unit() -> None:
    image = grey_square()
    plain = ControlNetUnit(controlnet="c", control_image="x")
    assert preprocess(image, plain) is image
    edged = preprocess(image, plain.model_copy(update={"preprocessor": "canny"}))
    assert np.array_equal(np.asarray(edged), np.asarray(canny(image, 100, 200)))
