"""Map the API's samplers and schedule types to diffusers schedulers, built per job from the model's own
scheduler config (the shared pipeline's scheduler is never mutated)."""

from __future__ import annotations

from typing import Any

from schemas.requests import Sampler, ScheduleType

# sampler -> (diffusers scheduler class name, extra config)
_SCHEDULERS: dict[Sampler, tuple[str, dict[str, Any]]] = {
    Sampler.EULER: ("EulerDiscreteScheduler", {}),
    Sampler.EULER_A: ("EulerAncestralDiscreteScheduler", {}),
    Sampler.HEUN: ("HeunDiscreteScheduler", {}),
    Sampler.DPM2: ("KDPM2DiscreteScheduler", {}),
    Sampler.DPM2_A: ("KDPM2AncestralDiscreteScheduler", {}),
    Sampler.DPMPP_2M: ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    Sampler.DPMPP_2M_SDE: ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}),
    Sampler.DPMPP_SDE: ("DPMSolverSDEScheduler", {}),  # needs torchsde
    Sampler.DPMPP_2S_A: ("DPMSolverSinglestepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    Sampler.LMS: ("LMSDiscreteScheduler", {}),  # needs scipy
    Sampler.DDIM: ("DDIMScheduler", {}),
    Sampler.PNDM: ("PNDMScheduler", {"skip_prk_steps": True}),
    Sampler.UNIPC: ("UniPCMultistepScheduler", {}),
    Sampler.DEIS: ("DEISMultistepScheduler", {}),
    Sampler.LCM: ("LCMScheduler", {}),
    Sampler.TCD: ("TCDScheduler", {}),
}

_SCHEDULE_CONFIG: dict[ScheduleType, dict[str, Any]] = {
    ScheduleType.AUTOMATIC: {},
    ScheduleType.NORMAL: {"use_karras_sigmas": False, "use_exponential_sigmas": False},
    ScheduleType.KARRAS: {"use_karras_sigmas": True},
    ScheduleType.EXPONENTIAL: {"use_exponential_sigmas": True},
}


def make_scheduler(sampler: Sampler, schedule: ScheduleType, base_config: Any) -> Any:
    """A fresh scheduler for ``sampler`` from a pipeline's scheduler config (each job gets its own)."""
    import diffusers

    class_name, extra = _SCHEDULERS[sampler]
    options = dict(extra)
    if sampler.takes_sigma_schedules:
        options.update(_SCHEDULE_CONFIG[schedule])
    config = {k: v for k, v in dict(base_config).items() if k not in ("use_karras_sigmas", "use_exponential_sigmas")}
    return getattr(diffusers, class_name).from_config(config, **options)
