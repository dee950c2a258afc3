"""A one-step run (two for LTX-Video) of each published full-size architecture through the engine's adapter, on CUDA.

The architectures are bench/generation_cases.py's (one definition, shared with the GPU bench): random
weights in bf16, built directly on the GPU, at each checkpoint's published default request (frames, size,
CFG), with the fewest denoising steps its scheduler takes (1; LTX-Video 2, see FEWEST_STEPS) instead of
the published 25-50. Each test checks that the engine resolves the request unchanged, that every step's
latents are finite, and that the decoded clip has the request's shape.

Memory: one family at a time, freed after each test. Wan 2.1 I2V is the full 14B-class config (16.4B
transformer, 5.7B UMT5-XXL, 0.6B CLIP ViT-H/14: about 46 GB of bf16 weights), which fits an 80 GB GPU
without CPU offload; on a smaller GPU that test is skipped with the reason rather than swapped for a
smaller config, whose result would say nothing about the 14B model.

    python -m pytest -m gpu tests/test_gpu_families.py
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

from bench.generation import FULL_BUILDERS, FULL_CASES, FULL_FAMILIES, PROMPT, Case, case_defaults, first_frame

pytestmark = [pytest.mark.gpu, pytest.mark.timeout(1800)]

# GiB of GPU memory each family needs at its published size (bf16 weights + one step's activations + decode).
NEEDS_GIB = {"cogvideox_i2v": 40, "ltx_i2v": 30, "wan_i2v": 75, "svd": 30}


def _gpu_gib() -> float:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU: torch.cuda.is_available() is False here")
    return torch.cuda.get_device_properties(0).total_memory / 2**30


@pytest.fixture
def held():
    """Holds the test's pipeline and drops it afterwards, failed or not (a failure's traceback keeps the
    test's locals alive), then returns the memory, so the next family starts from an empty GPU."""
    holder: dict = {}
    yield holder
    holder.clear()
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# The fewest steps each family's published scheduler can take. LTX-Video's schedule stretches its sigmas to
# end at shift_terminal (0.1), which divides by zero for a one-step schedule (diffusers 0.42: the timestep
# becomes NaN and the scheduler's index lookup raises), so LTX takes two.
FEWEST_STEPS = {"ltx_i2v": 2}


def fewest_steps(pipe, case: Case) -> tuple[list[tuple[int, int, bool]], np.ndarray]:
    """Resolve `case` as the engine does (it must need no adjustment), run its fewest denoising steps through
    the family adapter; return the (step, total, latents finite) reports and the uint8 frames T x H x W x 3."""
    import torch

    from core.families import get_family

    adapter = get_family(case.family)
    settings = adapter.resolve(pipe, case_defaults(case), prompt=PROMPT, negative_prompt="", width=None,
                               height=None, num_frames=None, fps=None,
                               num_inference_steps=FEWEST_STEPS.get(case.family, 1), guidance_scale=None)
    assert settings.adjustments == []
    steps: list[tuple[int, int, bool]] = []

    def on_step(step: int, total_steps: int, latents) -> None:
        steps.append((step, total_steps, bool(torch.isfinite(latents).all())))

    frames = adapter(pipe, first_frame(case.width, case.height), settings,
                     torch.Generator(device="cpu").manual_seed(0), on_step)
    return steps, frames


def assert_good_steps(pipe, case: Case) -> None:
    steps, frames = fewest_steps(pipe, case)
    total = FEWEST_STEPS.get(case.family, 1)
    assert steps == [(step, total, True) for step in range(1, total + 1)]  # latents hold no NaN or inf
    assert frames.dtype == np.uint8
    assert frames.shape == (case.num_frames, case.height, case.width, 3)


@pytest.mark.parametrize("family", FULL_FAMILIES)
def test_fewest_steps_at_the_published_size(family, held):
    import torch

    total = _gpu_gib()
    if total < NEEDS_GIB[family]:
        pytest.skip(f"{family} at full size needs about {NEEDS_GIB[family]} GiB of GPU memory; this GPU has "
                    f"{total:.0f} GiB")
    held["pipe"] = FULL_BUILDERS[family]("cuda", torch.bfloat16)
    assert_good_steps(held["pipe"], FULL_CASES[family])
