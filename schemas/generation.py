"""Generation requests: one frozen base with the shared fields, one subclass per mode.

Numbers and strings are strict (``"512"`` or ``true`` is not a width); unknown fields are refused.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.keys import Priority
from schemas.watermark import WatermarkOptions

SEED_MAX = 2**32 - 1
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Sampler(StrEnum):
    """Samplers by their short API names; :attr:`label` is the AUTOMATIC1111 name (also accepted as input)."""

    EULER = "euler"
    EULER_A = "euler_a"
    HEUN = "heun"
    DPM2 = "dpm2"
    DPM2_A = "dpm2_a"
    DPMPP_2M = "dpmpp_2m"
    DPMPP_2M_SDE = "dpmpp_2m_sde"
    DPMPP_SDE = "dpmpp_sde"
    DPMPP_2S_A = "dpmpp_2s_a"
    LMS = "lms"
    DDIM = "ddim"
    PNDM = "pndm"
    UNIPC = "unipc"
    DEIS = "deis"
    LCM = "lcm"
    TCD = "tcd"

    @property
    def label(self) -> str:
        return _SAMPLER_LABELS[self]

    @property
    def takes_sigma_schedules(self) -> bool:
        """Whether karras/exponential schedules apply (diffusers' use_karras_sigmas / use_exponential_sigmas)."""
        return self not in (Sampler.EULER_A, Sampler.DDIM, Sampler.PNDM, Sampler.LCM, Sampler.TCD)


_SAMPLER_LABELS = {
    Sampler.EULER: "Euler",
    Sampler.EULER_A: "Euler a",
    Sampler.HEUN: "Heun",
    Sampler.DPM2: "DPM2",
    Sampler.DPM2_A: "DPM2 a",
    Sampler.DPMPP_2M: "DPM++ 2M",
    Sampler.DPMPP_2M_SDE: "DPM++ 2M SDE",
    Sampler.DPMPP_SDE: "DPM++ SDE",
    Sampler.DPMPP_2S_A: "DPM++ 2S a",
    Sampler.LMS: "LMS",
    Sampler.DDIM: "DDIM",
    Sampler.PNDM: "PLMS",
    Sampler.UNIPC: "UniPC",
    Sampler.DEIS: "DEIS",
    Sampler.LCM: "LCM",
    Sampler.TCD: "TCD",
}
_SAMPLER_BY_LABEL = {label.lower(): sampler for sampler, label in _SAMPLER_LABELS.items()}


class ScheduleType(StrEnum):
    AUTOMATIC = "automatic"
    KARRAS = "karras"
    EXPONENTIAL = "exponential"
    NORMAL = "normal"


SCHEDULER_LABELS = {
    ScheduleType.AUTOMATIC: "Automatic",
    ScheduleType.KARRAS: "Karras",
    ScheduleType.EXPONENTIAL: "Exponential",
    ScheduleType.NORMAL: "Normal",
}


LORA_WEIGHT_MIN, LORA_WEIGHT_MAX = -4.0, 4.0
MAX_LORAS = 8


class LoraRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(strict=True, pattern=MODEL_NAME_PATTERN, description="A file in models/lora/ (no extension).")
    weight: float = Field(
        1.0, ge=LORA_WEIGHT_MIN, le=LORA_WEIGHT_MAX, description="Adapter weight, -4..4; 0 leaves the model as it is."
    )


LORA_TAG = re.compile(r"<lora:([A-Za-z0-9][A-Za-z0-9._-]{0,127}):(-?\d+(?:\.\d+)?)>")


def lora_tags(prompt: str) -> list[tuple[str, float]]:
    """(name, weight) of each ``<lora:name:weight>`` tag in a prompt, weights as written (unchecked)."""
    return [(m.group(1), float(m.group(2))) for m in LORA_TAG.finditer(prompt)]


def check_lora_tags(prompt: str) -> None:
    """ValueError naming the tag when a tag's weight is out of range or the prompt has too many tags."""
    tags = lora_tags(prompt)
    for name, weight in tags:
        if not LORA_WEIGHT_MIN <= weight <= LORA_WEIGHT_MAX:
            raise ValueError(
                f"<lora:{name}:...> has weight {weight:g}; LoRA weights are {LORA_WEIGHT_MIN:g}..{LORA_WEIGHT_MAX:g}"
            )
    if len(tags) > MAX_LORAS:
        raise ValueError(f"{len(tags)} <lora:...> tags in the prompt; at most {MAX_LORAS} LoRAs per request")


def split_lora_tags(prompt: str) -> tuple[str, list[LoraRef]]:
    """Take ``<lora:name:weight>`` tags out of a prompt (AUTOMATIC1111 syntax); requests check them at
    validation (:func:`check_lora_tags`)."""
    found = [LoraRef(name=name, weight=weight) for name, weight in lora_tags(prompt)]
    cleaned = re.sub(r"\s{2,}", " ", LORA_TAG.sub("", prompt)).strip(" ,")
    return cleaned, found


Dimension = Annotated[
    int,
    Field(strict=True, ge=64, le=2048, multiple_of=8, description="Pixels; 64..2048, a multiple of 8."),
]


class GenerationBase(BaseModel):
    """Fields every generation mode shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(strict=True, min_length=1, max_length=2000, description="What to draw.")
    negative_prompt: str = Field("", strict=True, max_length=2000, description="What to avoid.")
    model: str | None = Field(
        None,
        strict=True,
        pattern=MODEL_NAME_PATTERN,
        description="Checkpoint name (see models/checkpoints/); null = the server's default model.",
    )
    width: Dimension = 512
    height: Dimension = 512
    steps: int = Field(20, strict=True, ge=1, le=150, description="Denoising steps, 1..150.")
    cfg_scale: float = Field(7.0, ge=0, le=30, description="Classifier-free guidance scale, 0..30.")
    sampler: Sampler = Field(Sampler.EULER_A, description="Sampler; API name or AUTOMATIC1111 label ('DPM++ 2M').")
    scheduler: ScheduleType = Field(
        ScheduleType.AUTOMATIC,
        description="Noise schedule (A1111 'Schedule type'): karras/exponential where the sampler takes them.",
    )
    clip_skip: int = Field(
        1, strict=True, ge=1, le=12, description="Text-encoder layers to skip from the end (1 = none)."
    )
    vae: str | None = Field(
        None, strict=True, pattern=MODEL_NAME_PATTERN, description="A VAE from models/vae/ instead of the model's own."
    )
    loras: list[LoraRef] = Field(
        [],
        max_length=MAX_LORAS,
        validate_default=True,
        description="LoRA adapters from models/lora/; <lora:name:weight> tags in the prompt work too and count "
        "towards the limit of 8 (weights -4..4 either way).",
    )
    seed: int = Field(
        -1,
        strict=True,
        ge=-1,
        le=SEED_MAX,
        description="-1 = random; else 0..2^32-1. Image i of a batch uses (seed + i) mod 2^32.",
    )
    batch_size: int = Field(1, strict=True, ge=1, le=8, description="Images per job, 1..8.")
    priority: Priority = Field(
        Priority.NORMAL, description="Queue priority: high jobs run before normal, normal before low."
    )
    strict_safety: bool | None = Field(
        None,
        description="Strict safety: a flagged prompt or image fails the request instead of being adjusted. "
        "Null = the server's default; only admins may turn it off where the default is strict.",
    )
    force_regenerate: bool = Field(
        False, description="Generate even when an identical request's result is cached (the new one replaces it)."
    )
    watermark: WatermarkOptions | None = Field(
        None,
        description="Visible text watermark; fields left out take the server's defaults (none unless "
        "SDQ_WATERMARK_TEXT is set). The invisible watermark is a server setting.",
    )

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must contain more than whitespace")
        check_lora_tags(value)
        return value

    @field_validator("loras")
    @classmethod
    def _loras_with_tags_fit(cls, value: list[LoraRef], info: ValidationInfo) -> list[LoraRef]:
        tagged = len(lora_tags(info.data.get("prompt") or ""))
        if tagged and len(value) + tagged > MAX_LORAS:
            raise ValueError(
                f"{len(value)} in loras and {tagged} <lora:...> tags in the prompt make {len(value) + tagged} "
                f"LoRAs; at most {MAX_LORAS}"
            )
        return value

    @field_validator("sampler", mode="before")
    @classmethod
    def _sampler_label(cls, value: object) -> object:
        if isinstance(value, str) and value.lower() in _SAMPLER_BY_LABEL:
            return _SAMPLER_BY_LABEL[value.lower()]
        return value

    @field_validator("scheduler")
    @classmethod
    def _schedule_fits_sampler(cls, value: ScheduleType, info: ValidationInfo) -> ScheduleType:
        sampler = info.data.get("sampler")
        if value in (ScheduleType.KARRAS, ScheduleType.EXPONENTIAL) and sampler and not sampler.takes_sigma_schedules:
            raise ValueError(f"{value.value} does not apply to sampler {sampler.value}; use automatic or normal")
        return value

    @property
    def denoising_strength(self) -> float | None:
        """The strength an input image is re-noised with (A1111 'Denoising strength'); None without one."""
        return None

    def all_loras(self) -> tuple[str, list[LoraRef]]:
        """The prompt without <lora:...> tags, and the field's adapters followed by the tags' ones."""
        prompt, tagged = split_lora_tags(self.prompt)
        return prompt, [*self.loras, *tagged]

    @field_validator("cfg_scale", mode="before")
    @classmethod
    def _cfg_is_number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("cfg_scale must be a number")
        return value


PromptText = Annotated[str, Field(strict=True, min_length=1, max_length=2000, pattern=r"\S")]
MAX_IMAGES_PER_JOB = 32


class Txt2ImgRequest(GenerationBase):
    """Text to image; with ``prompts``, one image set (``batch_size`` images) per prompt in one job."""

    mode: Literal["txt2img"] = Field("txt2img", description="Generation mode (fixed by the endpoint).")
    prompts: list[PromptText] = Field(
        [],
        max_length=16,
        description="Prompt batch: one image set per prompt, sharing every other parameter; "
        "when given, `prompt` is ignored and may be left out.",
    )

    hr_scale: float = Field(
        1.0, ge=1, le=4, description="Hires fix: > 1 upscales the first pass by this factor and refines it."
    )
    hr_upscaler: str = Field(
        "lanczos",
        strict=True,
        pattern=MODEL_NAME_PATTERN,
        description="Hires fix upscaler: lanczos, bicubic, nearest, or a model in models/upscalers/.",
    )
    hr_steps: int | None = Field(None, strict=True, ge=1, le=150, description="Hires pass steps (null: `steps`).")
    hr_denoise: float = Field(0.5, ge=0, le=1, description="Hires pass strength (A1111 'Denoising strength').")

    @property
    def hires_size(self) -> tuple[int, int] | None:
        """The output size of the hires pass (multiples of 8, at most 2048), or None without one."""
        if self.hr_scale <= 1:
            return None

        def scaled(value: int) -> int:
            target = int(value * self.hr_scale)
            return min(2048, target - target % 8)

        return scaled(self.width), scaled(self.height)

    @model_validator(mode="before")
    @classmethod
    def _prompt_from_batch(cls, data: object) -> object:
        if (
            isinstance(data, dict)
            and "prompt" not in data
            and isinstance(data.get("prompts"), list)
            and data["prompts"]
        ):
            return {**data, "prompt": data["prompts"][0]}
        return data

    @field_validator("prompts")
    @classmethod
    def _batch_fits(cls, value: list[str], info: ValidationInfo) -> list[str]:
        images = len(value) * int(info.data.get("batch_size") or 1)
        if images > MAX_IMAGES_PER_JOB:
            raise ValueError(f"{len(value)} prompts x batch_size make {images} images; at most {MAX_IMAGES_PER_JOB}")
        return value

    def prompt_list(self) -> list[str]:
        return list(self.prompts) or [self.prompt]


ImageField = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=40_000_000,
        description="An uploaded image id (upl_...), a data URL, base64, or an http(s) URL the API fetches (public "
        "addresses only). PNG, JPEG, WebP, GIF (first frame), ...",
    ),
]
OptionalDimension = Annotated[
    int | None,
    Field(strict=True, ge=64, le=2048, multiple_of=8, description="Pixels; null = the input's size, rounded to 8."),
]


class ResizeMode(StrEnum):
    JUST_RESIZE = "just_resize"
    CROP_AND_RESIZE = "crop_and_resize"
    RESIZE_AND_FILL = "resize_and_fill"


class Img2ImgRequest(GenerationBase):
    """Image to image: the init image is noised by ``strength`` and denoised towards the prompt."""

    mode: Literal["img2img"] = Field("img2img", description="Generation mode (fixed by the endpoint).")
    init_image: ImageField
    strength: float = Field(0.75, ge=0, le=1, description="How much to change: 0 = the input, 1 = a new image.")
    width: OptionalDimension = None  # type: ignore[assignment]
    height: OptionalDimension = None  # type: ignore[assignment]
    resize_mode: ResizeMode = Field(ResizeMode.JUST_RESIZE, description="How the input fits width x height.")
    change_map: ImageField | None = Field(
        None,
        description="Differential img2img: a grey map the size of init_image; white changes most, black keeps "
        "the input exactly. Scales with strength.",
    )

    @property
    def denoising_strength(self) -> float | None:
        return self.strength


class InpaintRequest(GenerationBase):
    """Repaint the white part of ``mask`` (the same size as ``image``); the rest stays as it is."""

    mode: Literal["inpaint"] = Field("inpaint", description="Generation mode (fixed by the endpoint).")
    image: ImageField
    mask: ImageField
    mask_blur: int = Field(4, strict=True, ge=0, le=64, description="Gaussian blur radius of the mask edge, px.")
    invert_mask: bool = Field(False, description="Repaint the black part instead.")
    strength: float = Field(0.75, ge=0, le=1, description="How much the masked area changes.")
    width: OptionalDimension = None  # type: ignore[assignment]
    height: OptionalDimension = None  # type: ignore[assignment]
    inpaint_full_res: bool = Field(
        False,
        strict=True,
        description="Only masked (A1111 'Inpaint area'): repaint the box around the mask at width x height and paste "
        "it back; the output keeps the image's size.",
    )
    inpaint_full_res_padding: int = Field(
        32,
        strict=True,
        ge=0,
        le=256,
        description="Pixels of context around the mask's box for inpaint_full_res (A1111 'Only masked padding').",
    )

    @property
    def denoising_strength(self) -> float | None:
        return self.strength


MAX_CONTROLNETS = 4
Preprocessor = Literal["none", "canny"]  # only preprocessors that need no downloaded weights


class ControlNetUnit(BaseModel):
    """One ControlNet of a request: the model, its control image and how strongly and when it steers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    controlnet: str = Field(
        strict=True, pattern=MODEL_NAME_PATTERN, description="A ControlNet in models/controlnet/ (diffusers folder)."
    )
    control_image: ImageField
    conditioning_scale: float = Field(
        1.0, strict=True, ge=0, le=2, description="How strongly it steers (A1111 'Control Weight'); 0 = no effect."
    )
    guidance_start: float = Field(
        0.0, strict=True, ge=0, le=1, description="Fraction of the steps where it starts to apply."
    )
    guidance_end: float = Field(
        1.0, strict=True, ge=0, le=1, description="Fraction of the steps where it stops applying."
    )
    preprocessor: Preprocessor = Field(
        "none", description="none: the control image is used as it is; canny: its edge map (OpenCV), made at submit."
    )
    low_threshold: int = Field(100, strict=True, ge=1, le=255, description="Canny: the lower hysteresis threshold.")
    high_threshold: int = Field(200, strict=True, ge=1, le=255, description="Canny: the upper hysteresis threshold.")

    @model_validator(mode="after")
    def _ranges_in_order(self) -> ControlNetUnit:
        if self.guidance_start >= self.guidance_end:
            raise ValueError(
                f"guidance_start ({self.guidance_start:g}) must be less than guidance_end ({self.guidance_end:g})"
            )
        if self.low_threshold >= self.high_threshold:
            raise ValueError(
                f"low_threshold ({self.low_threshold}) must be less than high_threshold ({self.high_threshold})"
            )
        return self


def control_image_field(index: int) -> str:
    """The job input file name of unit ``index``'s (prepared) control image."""
    return f"control_image_{index}"


class ControlNetRequest(GenerationBase):
    """txt2img (or img2img with ``init_image``) steered by 1..4 ControlNets, each with its own control image."""

    mode: Literal["controlnet"] = Field("controlnet", description="Generation mode (fixed by the endpoint).")
    controlnets: list[ControlNetUnit] = Field(
        min_length=1, max_length=MAX_CONTROLNETS, description="1..4 ControlNet units, applied together."
    )
    init_image: ImageField | None = Field(
        None, description="ControlNet img2img: the image to start from (noised by `strength`); null = txt2img."
    )
    strength: float = Field(
        0.75,
        strict=True,
        ge=0,
        le=1,
        description="With init_image: how much to change (0 = the input); ignored without.",
    )
    width: OptionalDimension = None  # type: ignore[assignment]
    height: OptionalDimension = None  # type: ignore[assignment]
    resize_mode: ResizeMode = Field(
        ResizeMode.JUST_RESIZE, description="How init_image and the control images fit width x height."
    )

    @property
    def denoising_strength(self) -> float | None:
        return self.strength if self.init_image is not None else None


AnyRequest = Txt2ImgRequest | Img2ImgRequest | InpaintRequest | ControlNetRequest


def _mode_of(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("mode", "txt2img"))
    return str(getattr(value, "mode", "txt2img"))


GenerationRequest = Annotated[
    Annotated[Txt2ImgRequest, Tag("txt2img")]
    | Annotated[Img2ImgRequest, Tag("img2img")]
    | Annotated[InpaintRequest, Tag("inpaint")]
    | Annotated[ControlNetRequest, Tag("controlnet")],
    Discriminator(_mode_of),
]
"""Any mode's request, told apart by ``mode`` (txt2img when absent)."""
IMAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "txt2img": (),
    "img2img": ("init_image", "change_map"),  # change_map only when given
    "inpaint": ("image", "mask"),
    "upscale": ("image",),
    "controlnet": ("init_image", *(control_image_field(i) for i in range(MAX_CONTROLNETS))),  # those given
}
GREY_FIELDS = frozenset({"mask", "change_map"})


def mentions(name: str, text: str) -> bool:
    """Whether ``name`` appears in ``text`` as a word of its own (how A1111 finds embeddings in prompts)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def batch_seeds(seed: int, batch_size: int) -> list[int]:
    """Seeds of a batch, AUTOMATIC1111 style: seed, seed+1, ... wrapping at 2^32."""
    return [(seed + index) % (SEED_MAX + 1) for index in range(batch_size)]
