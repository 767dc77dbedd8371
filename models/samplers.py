"""Map the API's sampler names to diffusers schedulers (built from the model's own scheduler config)."""

from __future__ import annotations

from typing import Any

from schemas.generation import Sampler

# sampler -> (diffusers scheduler class name, extra config)
_SCHEDULERS: dict[Sampler, tuple[str, dict[str, Any]]] = {
    Sampler.EULER: ("EulerDiscreteScheduler", {}),
    Sampler.EULER_A: ("EulerAncestralDiscreteScheduler", {}),
    Sampler.HEUN: ("HeunDiscreteScheduler", {}),
    Sampler.DDIM: ("DDIMScheduler", {}),
    Sampler.PNDM: ("PNDMScheduler", {"skip_prk_steps": True}),
    Sampler.DPMPP_2M: ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    Sampler.DPMPP_2M_KARRAS: (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    Sampler.UNIPC: ("UniPCMultistepScheduler", {}),
}


def make_scheduler(sampler: Sampler, base_config: Any) -> Any:
    """A fresh scheduler for ``sampler`` from a pipeline's scheduler config (each job gets its own)."""
    import diffusers

    class_name, extra = _SCHEDULERS[sampler]
    scheduler_class = getattr(diffusers, class_name)
    return scheduler_class.from_config(base_config, **extra)
