"""Which models a request names and whether they fit: the checkpoint (and an inpainting checkpoint only for
inpaint), the VAE, each LoRA and ControlNet (installed, loadable, of the checkpoint's family), the upscalers and the
pixel cap on each of their passes. Errors name the request field (422)."""

from __future__ import annotations

from redis import Redis

from models.families import fit_request
from models.registry import ModelRegistry
from schemas.errors import FieldPath, RequestInvalid, body_loc
from schemas.models import Arch, ModelEntry, ModelType
from schemas.requests import AnyJobRequest, AnyRequest, ControlNetRequest, Txt2ImgRequest, UpscaleRequest, is_resampler
from schemas.settings import Settings
from schemas.upscalers import check_passes
from store.upscaler_factors import known_factor

FAMILIES = {Arch.SD1, Arch.SD2, Arch.SDXL}  # LoRAs of one family do not fit models of another


def _check_family(what: str, entry: ModelEntry, checkpoint: ModelEntry, field: FieldPath) -> None:
    """An add-on of one family (sd1, sd2, sdxl) does not fit a checkpoint of another; unknown archs pass."""
    if {entry.arch, checkpoint.arch} <= FAMILIES and entry.arch is not checkpoint.arch:
        raise RequestInvalid.for_field(
            body_loc(field),
            f"{what} {entry.name!r} is for {entry.arch.value}; model {checkpoint.name!r} is {checkpoint.arch.value}",
        )


class ModelChecks:
    def __init__(self, settings: Settings, redis: Redis, registry: ModelRegistry) -> None:
        self.settings = settings
        self.redis = redis
        self.registry = registry

    def model_of(self, request: AnyJobRequest) -> str:
        if isinstance(request, UpscaleRequest):
            return self.upscaler(request.upscaler, "upscaler")
        return self.check_generation(request)

    def check_generation(self, request: AnyRequest) -> str:
        """The checkpoint of a generation request, after checking its VAE, LoRAs, ControlNets and hires upscaler."""
        checkpoint = self.registry.resolve_checkpoint(request.model, self.settings.default_model)
        if checkpoint.inpaint and request.mode != "inpaint":
            raise RequestInvalid.for_field(
                ["body", "model"],
                f"{checkpoint.name!r} is an inpainting model (9-channel UNet): use it with /api/v1/generate/inpaint",
            )
        if request.vae is not None:
            vae = self.registry.find(ModelType.VAE, request.vae, "vae")
            if vae.format != "diffusers":
                raise RequestInvalid.for_field(["body", "vae"], "only diffusers-folder VAEs load in this version")
        _, loras = request.all_loras()
        for index, lora in enumerate(loras):
            entry = self.registry.find(ModelType.LORA, lora.name, "loras")
            _check_family("LoRA", entry, checkpoint, ("loras", index, "name"))
        if isinstance(request, ControlNetRequest):
            for index, unit in enumerate(request.controlnets):
                field = ("controlnets", index, "controlnet")
                entry = self.registry.find(ModelType.CONTROLNET, unit.controlnet, field)
                if entry.format != "diffusers":
                    raise RequestInvalid.for_field(
                        body_loc(field),
                        f"ControlNet {unit.controlnet!r} is a single .{entry.format} file; this version loads "
                        "diffusers folders (config.json + weights) only",
                    )
                _check_family("ControlNet", entry, checkpoint, field)
        if isinstance(request, Txt2ImgRequest) and request.hires_size is not None:
            self.upscaler(request.hr_upscaler, "hr_upscaler")
            self.check_hires_passes(request, request.hires_size)
        return checkpoint.name

    def fit_family(self, request: AnyJobRequest, model: str) -> AnyJobRequest:
        """A generation request checked against the family of its checkpoint ``model`` (SD3, Flux: modes, samplers,
        negative prompt, size) and given the family's defaults; see ``models.families``."""
        if isinstance(request, UpscaleRequest):
            return request
        entry = self.registry.find_checkpoint_entry(model)
        embeddings = tuple(e.name for e in self.registry.entries() if e.type is ModelType.EMBEDDING)
        return fit_request(request, entry, embeddings)

    def upscaler(self, name: str, field: str) -> str:
        """A built-in resampler, or a valid model in models/upscalers/ (ModelNotFound naming ``field``)."""
        if not is_resampler(name):
            self.registry.find(ModelType.UPSCALER, name, field)
        return name

    def factor(self, name: str, field: str) -> tuple[int, str] | None:
        """A model upscaler's factor where known (see ``store.upscaler_factors``); None for a resampler or unknown."""
        if is_resampler(name):
            return None
        return known_factor(self.redis, self.registry.find(ModelType.UPSCALER, name, field))

    def check_hires_passes(self, request: Txt2ImgRequest, target: tuple[int, int]) -> None:
        """Every model pass of the hires fix within SDQ_MAX_UPSCALE_PIXELS, where the model's factor is known."""
        known = self.factor(request.hr_upscaler, "hr_upscaler")
        if known is not None:
            size, limit = (request.width, request.height), self.settings.max_upscale_pixels
            check_passes(size, target, known[0], limit, request.hr_upscaler, ("hr_upscaler", "hr_scale"), known[1])
