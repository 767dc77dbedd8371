"""The request contract: one module per mode, plus samplers, prompts (LoRA tags) and the request unions.

``base`` holds the fields every generation mode shares; ``txt2img``, ``img2img``, ``inpaint``, ``controlnet`` and
``upscale`` one request model each; ``unions`` the discriminated unions on ``mode`` (``GenerationRequest``,
``JobRequest``). Everything public is re-exported here: import from ``schemas.requests``.
"""

from schemas.requests.base import (
    SEED_MAX,
    Dimension,
    GenerationBase,
    ImageField,
    OptionalDimension,
    ResizeMode,
    batch_seeds,
)
from schemas.requests.controlnet import (
    MAX_CONTROLNETS,
    ControlNetRequest,
    ControlNetUnit,
    Preprocessor,
    control_image_field,
)
from schemas.requests.img2img import Img2ImgRequest
from schemas.requests.inpaint import InpaintRequest
from schemas.requests.prompts import (
    LORA_TAG,
    LORA_WEIGHT_MAX,
    LORA_WEIGHT_MIN,
    MAX_LORAS,
    MODEL_NAME_PATTERN,
    LoraRef,
    check_lora_tags,
    lora_tags,
    mentions,
    split_lora_tags,
)
from schemas.requests.samplers import SCHEDULER_LABELS, Sampler, ScheduleType
from schemas.requests.txt2img import MAX_IMAGES_PER_JOB, PromptText, Txt2ImgRequest
from schemas.requests.unions import AnyJobRequest, AnyRequest, GenerationRequest, JobRequest
from schemas.requests.upscale import RESAMPLERS, UPSCALER_PATTERN, UpscaleRequest, is_resampler

__all__ = [
    "LORA_TAG",
    "LORA_WEIGHT_MAX",
    "LORA_WEIGHT_MIN",
    "MAX_CONTROLNETS",
    "MAX_IMAGES_PER_JOB",
    "MAX_LORAS",
    "MODEL_NAME_PATTERN",
    "RESAMPLERS",
    "SCHEDULER_LABELS",
    "SEED_MAX",
    "UPSCALER_PATTERN",
    "AnyJobRequest",
    "AnyRequest",
    "ControlNetRequest",
    "ControlNetUnit",
    "Dimension",
    "GenerationBase",
    "GenerationRequest",
    "ImageField",
    "Img2ImgRequest",
    "InpaintRequest",
    "JobRequest",
    "LoraRef",
    "OptionalDimension",
    "Preprocessor",
    "PromptText",
    "ResizeMode",
    "Sampler",
    "ScheduleType",
    "Txt2ImgRequest",
    "UpscaleRequest",
    "batch_seeds",
    "check_lora_tags",
    "control_image_field",
    "is_resampler",
    "lora_tags",
    "mentions",
    "split_lora_tags",
]
