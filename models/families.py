"""What each flow-matching model family (SD3/SD3.5, Flux.1 schnell and dev) takes from a request (torch-free).

The API checks a request against its checkpoint's family before it queues it (:func:`fit_request`): the modes and
options the family supports in this version, the samplers that fit a flow-matching model (a sampler that does not
fit is a 422 naming ``sampler``), the image size its latents need, and Flux's lack of a negative prompt (a 422
naming ``negative_prompt``: Flux is guidance-distilled, there is no unconditional pass to steer away from). Fields
the request leaves at their defaults take the family's (sampler ``euler``, Flux schnell 4 steps, Flux dev guidance
3.5), so the stored request, the cache key and the infotext say what really ran. ``cfg_scale`` is the guidance
scale: classifier-free guidance for SD3, the distilled guidance embedded by Flux dev, ignored by schnell. The
worker adds the family's pipeline arguments (:func:`call_arguments`). SD1/SD2/SDXL have no family here: their
requests pass unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.errors import RequestInvalid
from schemas.models import Arch, ModelEntry
from schemas.requests import AnyRequest, Img2ImgRequest, Sampler, ScheduleType, Txt2ImgRequest, mentions

FLOW_MODES = ("txt2img", "img2img")


@dataclass(frozen=True)
class Family:
    """A model family's request rules. ``variant``: ``schnell``/``dev`` for Flux, ``sd3``/``sd3.5`` for SD3."""

    name: str
    samplers: tuple[Sampler, ...]
    negative_prompt: bool
    clip_skip: bool
    default_steps: int
    default_cfg: float | None  # None: the request's default (SD3) or ignored (schnell, see ``guidance``)
    guidance: str = "cfg"  # cfg: classifier-free | distilled: embedded in the transformer (dev) | ignored
    size_multiple: int = 16  # VAE factor 8 x patch 2 (SD3) or x 2x2 packing (Flux)
    default_sampler: Sampler = Sampler.EULER

    def describe(self) -> dict[str, Any]:
        """The family as ``/api/v1/parameters`` lists it."""
        return {
            "samplers": [s.value for s in self.samplers],
            "default_sampler": self.default_sampler.value,
            "default_steps": self.default_steps,
            "default_cfg_scale": self.default_cfg or Txt2ImgRequest.model_fields["cfg_scale"].default,
            "guidance": self.guidance,
            "negative_prompt": self.negative_prompt,
            "modes": list(FLOW_MODES),
            "size_multiple": self.size_multiple,
        }


_SD3_SAMPLERS = (Sampler.EULER, Sampler.EULER_A, Sampler.HEUN, Sampler.DPMPP_2M, Sampler.UNIPC, Sampler.LCM)
_FLUX_SAMPLERS = (Sampler.EULER, Sampler.EULER_A, Sampler.LCM)  # Flux's shifted sigmas: set_timesteps(sigmas, mu)
SD3 = Family("sd3", _SD3_SAMPLERS, negative_prompt=True, clip_skip=True, default_steps=28, default_cfg=None)
FLUX_DEV = Family("flux-dev", _FLUX_SAMPLERS, False, False, default_steps=28, default_cfg=3.5, guidance="distilled")
FLUX_SCHNELL = Family(
    "flux-schnell", _FLUX_SAMPLERS, False, False, default_steps=4, default_cfg=None, guidance="ignored"
)
FAMILIES = {"sd3": SD3, "flux-dev": FLUX_DEV, "flux-schnell": FLUX_SCHNELL}


def family_of(arch: Arch, variant: str | None = None) -> Family | None:
    """The family of a checkpoint (Flux of unknown variant counts as dev); None for UNet models."""
    if arch is Arch.SD3:
        return SD3
    if arch is Arch.FLUX:
        return FLUX_SCHNELL if variant == "schnell" else FLUX_DEV
    return None


def samplers_for(arch: Arch, variant: str | None = None) -> list[Sampler]:
    """The samplers a model of ``arch`` takes: the flow-matching ones for SD3 and Flux, every sampler otherwise."""
    family = family_of(arch, variant)
    return list(family.samplers) if family is not None else list(Sampler)


def _refuse(field: str, message: str) -> RequestInvalid:
    return RequestInvalid.for_field(["body", field], message)


def fit_request(request: AnyRequest, entry: ModelEntry, embeddings: tuple[str, ...] = ()) -> AnyRequest:
    """``request`` checked against the family of its checkpoint ``entry`` and given the family's defaults for the
    fields it left unset; unchanged for SD1/SD2/SDXL. ``embeddings``: the installed embeddings' names (a prompt that
    names one is refused: textual inversion is for CLIP-only models). RequestInvalid naming the field otherwise."""
    family = family_of(entry.arch, entry.variant)
    if family is None:
        return request
    what = f"model {entry.name!r} is {family.name}"
    if request.mode not in FLOW_MODES:
        raise _refuse("model", f"{what}: this version runs it in {' and '.join(FLOW_MODES)} only, not {request.mode}")
    _check_options(request, family, what, embeddings)
    update: dict[str, Any] = {}
    given = request.model_fields_set
    if "sampler" not in given:
        update["sampler"] = family.default_sampler
    elif request.sampler not in family.samplers:
        fits = ", ".join(s.value for s in family.samplers)
        raise _refuse("sampler", f"{what}: sampler {request.sampler.value} does not fit; use one of {fits}")
    sampler = update.get("sampler", request.sampler)
    if request.scheduler not in (ScheduleType.AUTOMATIC, ScheduleType.NORMAL) and sampler is not Sampler.EULER:
        raise _refuse("scheduler", f"{what}: schedule {request.scheduler.value} applies to sampler euler only")
    if "steps" not in given:
        update["steps"] = family.default_steps
    if "cfg_scale" not in given and family.default_cfg is not None:
        update["cfg_scale"] = family.default_cfg
    return request.model_copy(update=update) if update else request


def _check_options(request: AnyRequest, family: Family, what: str, embeddings: tuple[str, ...]) -> None:
    """The options this version does not run on a flow-matching family: a 422 naming each one."""
    if request.negative_prompt.strip() and not family.negative_prompt:
        raise _refuse("negative_prompt", f"{what}, which takes no negative prompt (guidance-distilled); leave it empty")
    if request.clip_skip > 1 and not family.clip_skip:
        raise _refuse("clip_skip", f"{what}, which takes no clip_skip; leave it at 1")
    if request.all_loras()[1]:
        raise _refuse("loras", f"{what}: LoRAs for this family are not supported yet")
    if request.vae is not None:
        raise _refuse("vae", f"{what}: VAE overrides for this family are not supported yet")
    if isinstance(request, Txt2ImgRequest) and request.hires_size is not None:
        raise _refuse("hr_scale", f"{what}: the hires fix for this family is not supported yet")
    if isinstance(request, Img2ImgRequest) and request.change_map is not None:
        raise _refuse("change_map", f"{what}: differential img2img for this family is not supported yet")
    prompts = request.prompt_list() if isinstance(request, Txt2ImgRequest) else [request.prompt]
    for name in embeddings:
        if any(mentions(name, text) for text in [*prompts, request.negative_prompt]):
            raise _refuse("prompt", f"{what}: embedding {name!r} is for CLIP-only models (textual inversion)")
    for field in ("width", "height"):
        value = getattr(request, field)
        if value is not None and value % family.size_multiple:
            raise _refuse(field, f"{what}: {field} must be a multiple of {family.size_multiple}, not {value}")


def pipeline_arch(pipeline: Any) -> Arch:
    """The family of a loaded pipeline by its class (``FluxImg2ImgPipeline``: flux); UNKNOWN for UNet pipelines."""
    name = type(pipeline).__name__
    if name.startswith("StableDiffusion3"):
        return Arch.SD3
    return Arch.FLUX if name.startswith("Flux") else Arch.UNKNOWN


def call_arguments(pipeline: Any, request: AnyRequest, arguments: dict[str, Any]) -> dict[str, Any]:
    """The mode's pipeline ``arguments`` plus what the family's pipeline takes beyond them: ``clip_skip`` where the
    pipeline has it (not Flux), and for img2img the init image's size as the output size (SD3's and Flux's img2img
    pipelines otherwise default to their sample size)."""
    family = family_of(pipeline_arch(pipeline))
    extra = dict(arguments)
    if family is None or family.clip_skip:
        extra["clip_skip"] = request.clip_skip - 1 if request.clip_skip > 1 else None
    if family is not None and "image" in arguments and "width" not in arguments:
        extra.update(width=arguments["image"].width, height=arguments["image"].height)
    return extra


def fit_output_size(pipeline: Any, images: list[Any], request: AnyRequest) -> list[Any]:
    """A flow model's images resized to the request's size where its pipeline rounded the size down to the latent
    grid (img2img on an input whose size is a multiple of 8 but not of 16); other pipelines' images unchanged."""
    size = (request.width, request.height)
    if family_of(pipeline_arch(pipeline)) is None or None in size:
        return images
    return [image if image.size == size else image.resize(size) for image in images]
