"""Family adapters against tiny random-weight pipelines built in code (tests/tiny_pipelines.py).

Each tiny pipeline is built and saved once per session (conftest `tiny_model`), loaded back with
`use_safetensors=True` once per session here, and every generation runs 2 steps on CPU.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import PIL.Image
import pytest

from core.errors import ValidationError
from core.families import get_family
from core.families.base import ModelDefaults
from tests.tiny_pipelines import TINY_DEFAULTS, TINY_FAMILIES

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="session")
def tiny_pipe(tiny_model):
    """Factory: family -> that family's tiny pipeline, loaded from its saved folder once per session."""
    loaded: dict[str, object] = {}

    def get(family: str):
        if family not in loaded:
            loaded[family] = load(family, tiny_model(family))
        return loaded[family]

    return get


def load(family: str, folder):
    return get_family(family).pipeline_class().from_pretrained(str(folder), use_safetensors=True)


def defaults(family: str, **overrides) -> ModelDefaults:
    width, height, frames = TINY_DEFAULTS[family]
    values = dict(num_frames=frames, fps=8, width=width, height=height, num_inference_steps=2, guidance_scale=4.0)
    values.update(overrides)
    return ModelDefaults(**values)


def resolve(family: str, pipe, **request):
    """Resolve a request against the tiny defaults; unspecified fields take the defaults."""
    fields = dict(prompt="dashcam view of a tire debris field during fog on a rural road", negative_prompt="",
                  width=None, height=None, num_frames=None, fps=None, num_inference_steps=None, guidance_scale=None)
    fields.update(request)
    return get_family(family).resolve(pipe, defaults(family), **fields)


def first_frame(width: int, height: int) -> PIL.Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    return PIL.Image.fromarray(rgb.astype(np.uint8))


def generate(family: str, pipe, seed: int = 0, on_step=None, **request) -> np.ndarray:
    import torch

    settings = resolve(family, pipe, **request)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return get_family(family)(pipe, first_frame(settings.width, settings.height), settings, generator,
                              on_step or (lambda step, total, latents: None))


# ----- generation: shapes, callback, determinism, cancellation -----

@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_generates_uint8_frames_and_reports_each_step(family, tiny_pipe):
    pipe = tiny_pipe(family)
    calls: list[tuple[int, int]] = []
    frames = generate(family, pipe, on_step=lambda step, total, latents: calls.append((step, total)))
    width, height, num_frames = TINY_DEFAULTS[family]
    assert frames.shape == (num_frames, height, width, 3)
    assert frames.dtype == np.uint8
    assert calls == [(1, 2), (2, 2)]


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_same_seed_gives_bit_identical_frames(family, tiny_pipe):
    pipe = tiny_pipe(family)
    first, second = generate(family, pipe, seed=7), generate(family, pipe, seed=7)
    assert np.array_equal(first, second)
    assert not np.array_equal(first, generate(family, pipe, seed=8))


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_raising_from_on_step_aborts_within_one_step(family, tiny_pipe):
    calls: list[int] = []

    class Stop(Exception):
        pass

    def on_step(step, total, latents):
        calls.append(step)
        raise Stop

    with pytest.raises(Stop):
        generate(family, tiny_pipe(family), num_inference_steps=4, on_step=on_step)
    assert calls == [1]


@pytest.mark.parametrize(("family", "requested", "snapped"),
                         [("cogvideox_i2v", 14, 17), ("wan_i2v", 6, 5), ("ltx_i2v", 12, 9)])
def test_snapped_frame_count_is_what_comes_out(family, requested, snapped, tiny_pipe):
    pipe = tiny_pipe(family)
    assert resolve(family, pipe, num_frames=requested).num_frames == snapped
    assert generate(family, pipe, num_frames=requested).shape[0] == snapped


def test_cogvideox_vae_makes_4k_plus_1_only_for_odd_latent_counts(tiny_pipe):
    """Why CogVideoX frames are 8k+1: the pipeline accepts 5 (4k+1) but the pair-wise VAE decode gives 8."""
    import torch

    pipe = tiny_pipe("cogvideox_i2v")
    video = pipe(image=first_frame(64, 64), prompt="fog", num_frames=5, num_inference_steps=1, guidance_scale=1.0,
                 max_sequence_length=16, output_type="np", generator=torch.Generator().manual_seed(0)).frames
    assert np.asarray(video).shape[1] == 8


# ----- rules read from the loaded configs -----

def test_cogvideox_learned_positional_embeddings_fix_the_size(tiny_pipe):
    pipe = tiny_pipe("cogvideox_i2v")
    constraints = get_family("cogvideox_i2v").constraints(pipe)
    assert constraints.fixed_size == (64, 64)  # sample 8x8 latents x VAE factor 8
    assert (constraints.frames_modulus, constraints.frames_remainder, constraints.max_frames) == (8, 1, 17)
    settings = resolve("cogvideox_i2v", pipe, width=96, height=48)
    assert (settings.width, settings.height) == (64, 64)
    assert [(a.field, a.requested, a.used) for a in settings.adjustments] == [("size", "96x48", "64x64")]
    assert resolve("cogvideox_i2v", pipe, width=64, height=64).adjustments == []


def test_cogvideox_without_learned_embeddings_allows_free_sizes():
    config = SimpleNamespace(use_learned_positional_embeddings=False, patch_size=2, patch_size_t=None,
                             sample_width=90, sample_height=60, sample_frames=49)
    pipe = SimpleNamespace(transformer=SimpleNamespace(config=config),
                           vae=SimpleNamespace(config=SimpleNamespace(block_out_channels=(1, 2, 3, 4),
                                                                      temporal_compression_ratio=4)))
    constraints = get_family("cogvideox_i2v").constraints(pipe)
    assert constraints.fixed_size is None and constraints.size_multiple == 16 and constraints.max_frames is None


def test_cogvideox_frame_rules(tiny_pipe):
    pipe = tiny_pipe("cogvideox_i2v")
    settings = resolve("cogvideox_i2v", pipe, num_frames=12)
    assert settings.num_frames == 9
    assert [(a.field, a.requested, a.used) for a in settings.adjustments] == [("num_frames", 12, 9)]
    for impossible in (21, 5, 0, -1):  # above the learned 17-frame table; below one latent pair (9)
        with pytest.raises(ValidationError, match="num_frames"):
            resolve("cogvideox_i2v", pipe, num_frames=impossible)


def test_wan_snaps_to_4k_plus_1_and_multiples_of_16(tiny_pipe):
    pipe = tiny_pipe("wan_i2v")
    settings = resolve("wan_i2v", pipe, num_frames=10, width=70, height=64)
    assert (settings.num_frames, settings.width, settings.height) == (9, 64, 64)
    assert {(a.field, a.requested, a.used) for a in settings.adjustments} == {("num_frames", 10, 9),
                                                                              ("size", "70x64", "64x64")}
    max_frames = get_family("wan_i2v").constraints(pipe).max_frames  # from the tiny RoPE table (32 latent frames)
    assert max_frames == 125
    for impossible in (max_frames + 4, -3):
        with pytest.raises(ValidationError, match="num_frames"):
            resolve("wan_i2v", pipe, num_frames=impossible)
    with pytest.raises(ValidationError, match="at most 512 pixels"):
        resolve("wan_i2v", pipe, width=1024, height=576)


def test_wan_refuses_mismatched_clip_processor(tiny_pipe):
    pipe = tiny_pipe("wan_i2v")
    processor = copy.deepcopy(pipe.image_processor)
    processor.crop_size = {"height": 48, "width": 48}
    broken = SimpleNamespace(image_encoder=pipe.image_encoder, image_processor=processor,
                             transformer=pipe.transformer, vae=pipe.vae)
    with pytest.raises(ValidationError, match="image_processor makes 48x48.*expects 32x32"):
        get_family("wan_i2v").constraints(broken)


def test_ltx_sides_are_multiples_of_32_and_frames_8k_plus_1(tiny_pipe):
    pipe = tiny_pipe("ltx_i2v")
    constraints = get_family("ltx_i2v").constraints(pipe)
    assert (constraints.size_multiple, constraints.frames_modulus) == (32, 8)
    settings = resolve("ltx_i2v", pipe, width=1280, height=720, num_frames=40)
    assert (settings.width, settings.height, settings.num_frames) == (1280, 704, 41)
    assert {(a.field, a.used) for a in settings.adjustments} == {("size", "1280x704"), ("num_frames", 41)}
    assert resolve("ltx_i2v", pipe, num_frames=41).adjustments == []
    for impossible in (0, -1, 8):
        with pytest.raises(ValidationError, match="num_frames"):
            resolve("ltx_i2v", pipe, num_frames=impossible)


def test_svd_is_image_only_with_min_max_guidance(tiny_pipe):
    pipe = tiny_pipe("svd")
    constraints = get_family("svd").constraints(pipe)
    assert constraints.uses_prompt is False
    assert any("prompt ignored" in note for note in constraints.notes)
    assert constraints.max_frames == 8  # unet.config.num_frames of the tiny UNet
    with pytest.raises(ValidationError, match="at most 8"):
        resolve("svd", pipe, num_frames=9)
    settings = resolve("svd", pipe, guidance_scale=0.5)
    assert settings.guidance_scale == 1.0
    assert [(a.field, a.requested, a.used) for a in settings.adjustments] == [("guidance_scale", 0.5, 1.0)]


def test_svd_fps_reaches_the_model_and_prompt_does_not(tiny_pipe):
    pipe = tiny_pipe("svd")
    base = generate("svd", pipe, fps=8)
    assert np.array_equal(base, generate("svd", pipe, fps=8, prompt="something else entirely"))
    assert not np.array_equal(base, generate("svd", pipe, fps=20))


# ----- optional runtime features -----

def test_runtime_options_on_cpu_say_what_was_skipped(tiny_model):
    ltx = get_family("ltx_i2v")
    pipe = load("ltx_i2v", tiny_model("ltx_i2v"))
    notes = ltx.apply_runtime_options(pipe, "cpu", cpu_offload=True, vae_tiling=True, vae_slicing=True, compile=True)
    assert pipe.vae.use_tiling and pipe.vae.use_slicing
    assert len(notes) == 2 and all("CUDA" in note for note in notes)

    svd = get_family("svd")
    pipe = load("svd", tiny_model("svd"))
    notes = svd.apply_runtime_options(pipe, "cpu", vae_tiling=True, vae_slicing=True)
    assert notes == ["VAE tiling is not supported by AutoencoderKLTemporalDecoder; ignored"]
    assert generate("svd", pipe).shape == (8, 64, 64, 3)  # slicing = decoding 2 frames at a time


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_tiny_folder_is_safetensors_only(family, tiny_model):
    folder = tiny_model(family)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert (folder / "model_index.json").exists()
    assert any(p.suffix == ".safetensors" for p in files)
    assert not any(p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".py") for p in files)
