"""Samplers and noise schedules by their API names, with the AUTOMATIC1111 labels (also accepted as input)."""

from __future__ import annotations

from enum import StrEnum


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


def sampler_by_label(value: object) -> object:
    """A sampler's A1111 label (any case) as its API name; anything else as it is."""
    if isinstance(value, str) and value.lower() in _SAMPLER_BY_LABEL:
        return _SAMPLER_BY_LABEL[value.lower()]
    return value
