"""Map the API's samplers and schedule types to diffusers schedulers, built per job from the model's own
scheduler config (the shared pipeline's scheduler is never mutated).

Flow-matching models (SD3, Flux: a ``FlowMatch*`` scheduler config) get the flow-matching schedulers: ``euler`` the
model's own, ``euler_a`` the same with stochastic sampling, ``heun`` and ``lcm`` their flow-match versions,
``dpmpp_2m`` and ``unipc`` with flow sigmas shifted as the model's scheduler shifts them. Which samplers a family
takes is decided in :mod:`models.families` (the API refuses the others).
"""

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


_FLOW_SCHEDULERS: dict[Sampler, tuple[str, dict[str, Any]]] = {
    Sampler.EULER: ("FlowMatchEulerDiscreteScheduler", {}),
    Sampler.EULER_A: ("FlowMatchEulerDiscreteScheduler", {"stochastic_sampling": True}),
    Sampler.HEUN: ("FlowMatchHeunDiscreteScheduler", {}),
    Sampler.LCM: ("FlowMatchLCMScheduler", {}),
    Sampler.DPMPP_2M: (
        "DPMSolverMultistepScheduler",
        {"use_flow_sigmas": True, "prediction_type": "flow_prediction", "algorithm_type": "dpmsolver++"},
    ),
    Sampler.UNIPC: ("UniPCMultistepScheduler", {"use_flow_sigmas": True, "prediction_type": "flow_prediction"}),
}


def is_flow_matching(base_config: Any) -> bool:
    """A flow-matching model's scheduler config (by class name where the config keeps it, else by its shift keys)."""
    config = dict(base_config)
    return str(config.get("_class_name", "")).startswith("FlowMatch") or "use_dynamic_shifting" in config


def _make_flow_scheduler(sampler: Sampler, schedule: ScheduleType, base_config: Any) -> Any:
    import diffusers

    if sampler not in _FLOW_SCHEDULERS:
        raise ValueError(f"sampler {sampler.value} does not fit a flow-matching model")
    class_name, extra = _FLOW_SCHEDULERS[sampler]
    config = {k: v for k, v in dict(base_config).items() if k not in ("use_karras_sigmas", "use_exponential_sigmas")}
    options = dict(extra)
    if class_name.startswith(("DPMSolver", "UniPC")):
        options["flow_shift"] = config.get("shift", 1.0)
    if sampler is Sampler.EULER:
        options.update(_SCHEDULE_CONFIG[schedule])
    return getattr(diffusers, class_name).from_config(config, **options)


def make_scheduler(sampler: Sampler, schedule: ScheduleType, base_config: Any) -> Any:
    """A fresh scheduler for ``sampler`` from a pipeline's scheduler config (each job gets its own)."""
    import diffusers

    if is_flow_matching(base_config):
        return _make_flow_scheduler(sampler, schedule, base_config)

    class_name, extra = _SCHEDULERS[sampler]
    options = dict(extra)
    if sampler.takes_sigma_schedules:
        options.update(_SCHEDULE_CONFIG[schedule])
    config = {k: v for k, v in dict(base_config).items() if k not in ("use_karras_sigmas", "use_exponential_sigmas")}
    return getattr(diffusers, class_name).from_config(config, **options)
