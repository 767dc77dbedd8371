"""SD3 and Flux folders: detected torch-free with their variant; requests checked against the family and given its
defaults; the flow-matching schedulers each sampler maps to."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.families import fit_request, samplers_for
from models.registry import ModelRegistry
from schemas.errors import RequestInvalid
from schemas.models import Arch, ModelEntry, ModelType
from schemas.requests import Img2ImgRequest, InpaintRequest, Sampler, Txt2ImgRequest
from tests.unit.models.test_registry import add_folder_model


def entry(arch: Arch, variant: str | None = None, name: str = "m") -> ModelEntry:
    return ModelEntry(
        id=f"checkpoint:{name}",
        name=name,
        type=ModelType.CHECKPOINT,
        format="diffusers",
        arch=arch,
        variant=variant,
        path=f"checkpoints/{name}",
        size_bytes=1,
        status="valid",
    )


def test_sd3_and_flux_folders_are_detected_with_their_variant(tmp_path: Path) -> None:
    add_folder_model(tmp_path, "sd3", "StableDiffusion3Pipeline", transformer={"num_layers": 1})
    add_folder_model(tmp_path, "sd35", "StableDiffusion3Pipeline", transformer={"qk_norm": "rms_norm"})
    add_folder_model(tmp_path, "dev", "FluxPipeline", transformer={"guidance_embeds": True})
    add_folder_model(tmp_path, "schnell", "FluxPipeline", transformer={"guidance_embeds": False})
    add_folder_model(tmp_path, "flux-i2i", "FluxImg2ImgPipeline")
    found = {e.name: (e.arch, e.variant) for e in ModelRegistry(tmp_path).refresh()}
    assert found == {
        "sd3": (Arch.SD3, "sd3"),
        "sd35": (Arch.SD3, "sd3.5"),
        "dev": (Arch.FLUX, "dev"),
        "schnell": (Arch.FLUX, "schnell"),
        "flux-i2i": (Arch.FLUX, None),
    }


def test_unset_fields_take_the_family_defaults() -> None:
    schnell = fit_request(Txt2ImgRequest(prompt="a"), entry(Arch.FLUX, "schnell"))
    assert (schnell.sampler, schnell.steps, schnell.cfg_scale) == (Sampler.EULER, 4, 7.0)
    dev = fit_request(Txt2ImgRequest(prompt="a"), entry(Arch.FLUX, "dev"))
    assert (dev.sampler, dev.steps, dev.cfg_scale) == (Sampler.EULER, 28, 3.5)
    given = fit_request(Txt2ImgRequest(prompt="a", sampler="euler_a", steps=2, cfg_scale=5), entry(Arch.FLUX, "dev"))
    assert (given.sampler, given.steps, given.cfg_scale) == (Sampler.EULER_A, 2, 5.0)
    sd3 = fit_request(Txt2ImgRequest(prompt="a", negative_prompt="blur"), entry(Arch.SD3, "sd3.5"))
    assert (sd3.sampler, sd3.steps, sd3.negative_prompt) == (Sampler.EULER, 28, "blur")


def test_unet_models_pass_unchanged() -> None:
    request = Txt2ImgRequest(prompt="a", sampler="dpmpp_2m", negative_prompt="x", width=72)
    assert fit_request(request, entry(Arch.SD1)) is request
    assert samplers_for(Arch.SDXL) == list(Sampler)


@pytest.mark.parametrize(
    ("arch", "variant", "fields", "field"),
    [
        (Arch.FLUX, "dev", {"negative_prompt": "blurry"}, "negative_prompt"),
        (Arch.FLUX, "schnell", {"sampler": "dpmpp_2m"}, "sampler"),
        (Arch.SD3, None, {"sampler": "DPM2"}, "sampler"),
        (Arch.FLUX, "dev", {"clip_skip": 2}, "clip_skip"),
        (Arch.SD3, None, {"width": 72}, "width"),
        (Arch.FLUX, "dev", {"hr_scale": 2}, "hr_scale"),
        (Arch.SD3, None, {"loras": [{"name": "x"}]}, "loras"),
        (Arch.SD3, None, {"sampler": "heun", "scheduler": "karras"}, "scheduler"),
    ],
)
def test_what_the_family_does_not_take_is_422_naming_the_field(
    arch: Arch, variant: str | None, fields: dict, field: str
) -> None:
    with pytest.raises(RequestInvalid) as raised:
        fit_request(Txt2ImgRequest(prompt="a", **fields), entry(arch, variant))
    assert [e.loc for e in raised.value.errors] == [["body", field]]


def test_modes_other_than_txt2img_and_img2img_are_refused_naming_model() -> None:
    inpaint = InpaintRequest(prompt="a", image="upl_" + "0" * 32, mask="upl_" + "1" * 32)
    with pytest.raises(RequestInvalid) as raised:
        fit_request(inpaint, entry(Arch.FLUX, "dev"))
    assert [e.loc for e in raised.value.errors] == [["body", "model"]]
    img2img = Img2ImgRequest(prompt="a", init_image="upl_" + "0" * 32)
    assert fit_request(img2img, entry(Arch.SD3)).sampler is Sampler.EULER


def test_a_prompt_naming_an_embedding_is_refused_for_flow_models() -> None:
    with pytest.raises(RequestInvalid) as raised:
        fit_request(Txt2ImgRequest(prompt="a cat, by easynegative"), entry(Arch.SD3), ("easynegative",))
    assert [e.loc for e in raised.value.errors] == [["body", "prompt"]]


def test_flow_samplers_map_to_flow_matching_schedulers() -> None:
    from diffusers import FlowMatchEulerDiscreteScheduler

    from models.samplers import make_scheduler
    from schemas.requests import ScheduleType

    base = FlowMatchEulerDiscreteScheduler(shift=3.0).config
    made = {s: make_scheduler(s, ScheduleType.AUTOMATIC, base) for s in samplers_for(Arch.SD3)}
    assert {s: type(m).__name__ for s, m in made.items()} == {
        Sampler.EULER: "FlowMatchEulerDiscreteScheduler",
        Sampler.EULER_A: "FlowMatchEulerDiscreteScheduler",
        Sampler.HEUN: "FlowMatchHeunDiscreteScheduler",
        Sampler.DPMPP_2M: "DPMSolverMultistepScheduler",
        Sampler.UNIPC: "UniPCMultistepScheduler",
        Sampler.LCM: "FlowMatchLCMScheduler",
    }
    assert made[Sampler.EULER_A].config.stochastic_sampling is True
    assert made[Sampler.DPMPP_2M].config.flow_shift == 3.0
    karras = make_scheduler(Sampler.EULER, ScheduleType.KARRAS, base)
    assert karras.config.use_karras_sigmas is True
    with pytest.raises(ValueError, match="does not fit"):
        make_scheduler(Sampler.DPM2, ScheduleType.AUTOMATIC, base)
