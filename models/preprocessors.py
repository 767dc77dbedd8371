"""ControlNet preprocessors: turn a control image into the map its ControlNet expects (OpenCV, no torch).

They run in the API at submit, on the control image already fitted to the job's size, and the result is what the
API writes as the job's input: the worker feeds it to the ControlNet as it is, and the edge map that steered a job
is the one on disk. Only preprocessors that need no downloaded weights are offered (``none``, ``canny``); for
others (depth, pose, ...) send the map made elsewhere with ``preprocessor: none``.
"""

from __future__ import annotations

from PIL import Image

from schemas.requests import ControlNetUnit


def canny(image: Image.Image, low_threshold: int, high_threshold: int) -> Image.Image:
    """The Canny edge map of ``image``: white 1-pixel edges on black, as RGB (the canny ControlNets' input)."""
    import cv2  # imported on first use: the API starts without paying for OpenCV and numpy
    import numpy as np

    edges = cv2.Canny(np.asarray(image.convert("RGB")), low_threshold, high_threshold)
    return Image.fromarray(edges).convert("RGB")


def preprocess(image: Image.Image, unit: ControlNetUnit) -> Image.Image:
    """The control image of ``unit`` after its preprocessor."""
    if unit.preprocessor == "canny":
        return canny(image, unit.low_threshold, unit.high_threshold)
    return image
