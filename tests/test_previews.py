"""Live previews: published latent-to-RGB factors, the cadence, the projection, the engine and the page.

Preview frames are at latent resolution (pixels / VAE spatial factor), uint8 h×w×3.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.engine import Engine, Progress
from core.errors import ValidationError
from core.families import FAMILIES, get_family
from core.families.base import ResolvedSettings
from core.generation_queue import GateSnapshot
from core.previews import load_previews, preview_due, project_frame, select_spec
from core.request import GenerationRequest
from tests.tiny_pipelines import TINY_DEFAULTS

WAN21 = load_previews()["wan_i2v"].formats[0]


def _to_uint8(rgb) -> np.ndarray:
    """ComfyUI's scaling, written out independently: (rgb + 1) / 2, clamped, x255, truncated."""
    return (np.clip((np.asarray(rgb, dtype=np.float32) + 1.0) / 2.0, 0.0, 1.0) * 255.0).astype(np.uint8)


def _settings(width: int, height: int, frames: int) -> ResolvedSettings:
    return ResolvedSettings(prompt="", negative_prompt="", width=width, height=height, num_frames=frames, fps=8,
                            num_inference_steps=2, guidance_scale=1.0)


def _vae_pipe(**config) -> SimpleNamespace:
    return SimpleNamespace(vae=SimpleNamespace(config=config))


# ----- the published factors ---------------------------------------------------------------------------

def test_every_family_has_factors_or_says_why_not():
    previews = load_previews()
    assert set(previews) == set(FAMILIES)
    declared = {family: {s.format: s.channels for s in p.formats} for family, p in previews.items()}
    # The channel counts of the published checkpoints' VAEs (z_dim / latent_channels in vae/config.json).
    assert declared["wan_i2v"] == {"Wan21": 16, "Wan22": 48}
    assert declared["ltx_i2v"] == {"LTXV": 128}
    assert declared["svd"] == {"SD15": 4}
    assert "no published latent-to-RGB factors for CogVideoX" in previews["cogvideox_i2v"].none
    assert previews["embedded_default"].none
    for spec in (s for p in previews.values() for s in p.formats):
        assert len(spec.factors) == spec.channels and all(len(row) == 3 for row in spec.factors)


@pytest.mark.parametrize("family, expected", [("wan_i2v", "Wan21"), ("svd", "SD15")])
def test_tiny_pipelines_with_published_channel_counts_get_their_format(family, expected):
    from tests.tiny_pipelines import build_tiny_pipeline_object

    pipe = build_tiny_pipeline_object(family)  # Wan z_dim 16 and SVD latent_channels 4, as published
    spec, note = get_family(family).preview_spec(pipe)
    assert (spec.format, note) == (expected, None)


def test_a_channel_mismatch_says_so_and_gives_no_frame():
    spec, note = get_family("ltx_i2v").preview_spec(_vae_pipe(latent_channels=8))
    assert spec is None
    assert note == ("no live preview: this LTX-Video I2V checkpoint's latents have 8 channels, but the "
                    "published latent-to-RGB factors need 128 (LTXV)")
    assert get_family("ltx_i2v").preview_frame(_vae_pipe(latent_channels=8), torch.zeros(1, 4, 8)) is None
    # The projection itself refuses latents whose channels differ from the factors' rows.
    assert project_frame(torch.zeros(1, 8, 3, 4, 4), WAN21, "BCTHW") is None


def test_cogvideox_and_embedded_say_why_they_have_no_preview():
    spec, note = get_family("cogvideox_i2v").preview_spec(_vae_pipe(latent_channels=16))
    assert spec is None and "no published latent-to-RGB factors for CogVideoX" in note
    spec, note = select_spec("embedded_default", 16)
    assert spec is None and note.startswith("no live preview: ")


# ----- cadence -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("total, every, due", [
    (12, 5, [5, 10, 12]), (10, 5, [5, 10]), (3, 5, [3]), (4, 1, [1, 2, 3, 4]), (1, 5, [1]),
])
def test_previews_every_n_steps_and_on_the_last(total, every, due):
    assert [s for s in range(1, total + 1) if preview_due(s, total, every)] == due


def test_a_cadence_below_one_is_refused():
    with pytest.raises(ValidationError, match="at least 1 step"):
        preview_due(1, 4, 0)


# ----- projection --------------------------------------------------------------------------------------

def test_projection_uses_the_middle_frame_factors_and_bias():
    latents = torch.full((1, 16, 5, 6, 7), 50.0)  # every frame but the middle one would saturate
    latents[0, :, 2] = 0.0
    latents[0, 3, 2, 1, 2] = 1.0  # one cell lit in channel 3
    frame = project_frame(latents, WAN21, "BCTHW")
    assert frame.dtype == np.uint8 and frame.shape == (6, 7, 3)
    bias = np.array(WAN21.bias)
    assert (frame[0, 0] == _to_uint8(bias)).all()
    assert (frame[1, 2] == _to_uint8(np.array(WAN21.factors[3]) + bias)).all()


def test_frames_first_layout_and_no_bias():
    sd15 = load_previews()["svd"].formats[0]
    latents = torch.zeros(1, 5, 4, 8, 10)  # SVD's [B, T, C, h, w]
    latents[0, 2, 0] = 1.0
    frame = project_frame(latents, sd15, "BTCHW")
    assert frame.shape == (8, 10, 3)
    assert (frame == _to_uint8(sd15.factors[0])).all()


def test_unknown_layout_or_wrong_rank_is_an_error():
    with pytest.raises(ValueError, match="unknown latent layout"):
        project_frame(torch.zeros(1, 16, 2, 2, 2), WAN21, "BHWC")
    with pytest.raises(ValueError, match="do not match layout"):
        project_frame(torch.zeros(1, 16, 2, 2), WAN21, "BCTHW")


def test_ltx_packed_latents_unpack_with_the_pipelines_own_grid():
    from tests.tiny_pipelines import build_tiny_pipeline_object

    pipe = build_tiny_pipeline_object("ltx_i2v")
    ltxv = load_previews()["ltx_i2v"].formats[0]
    settings = _settings(width=64, height=32, frames=17)  # latent grid 3 x 4 x 8 (8x space and time)
    grid = torch.randn(1, 128, 3, 4, 8)
    packed = pipe._pack_latents(grid, pipe.transformer_spatial_patch_size, pipe.transformer_temporal_patch_size)
    assert packed.shape == (1, 3 * 4 * 8, 128)
    unpacked = get_family("ltx_i2v").preview_latents(pipe, packed, settings)
    assert torch.equal(unpacked, grid)
    assert project_frame(unpacked, ltxv, "BCTHW").shape == (4, 8, 3)


# ----- engine ------------------------------------------------------------------------------------------

def _request(folder, family, image, **overrides) -> GenerationRequest:
    width, height, frames = TINY_DEFAULTS[family]
    fields = dict(image=image, scenario="dust_storm_debris", model=str(folder), num_inference_steps=3,
                  num_frames=frames, width=width, height=height, fps=8, seed=7)
    fields.update(overrides)
    return GenerationRequest(**fields)


def test_engine_reports_previews_on_due_steps_only(tiny_model, first_frame_png, tmp_path):
    seen: list[Progress] = []
    request = _request(tiny_model("wan_i2v"), "wan_i2v", first_frame_png)
    result = Engine(output_dir=tmp_path).generate(request, on_progress=seen.append, with_preview=True,
                                                  preview_every=2)
    assert [p.step for p in seen] == [1, 2, 3]
    assert [p.preview is not None for p in seen] == [False, True, True]  # step 2 (cadence) and 3 (last)
    width, height, _ = TINY_DEFAULTS["wan_i2v"]
    assert seen[1].preview.dtype == np.uint8 and seen[1].preview.shape == (height // 8, width // 8, 3)
    assert not any("live preview" in note for note in result.notes)


def test_engine_notes_a_checkpoint_without_preview(tiny_model, first_frame_png, tmp_path):
    seen: list[Progress] = []
    request = _request(tiny_model("ltx_i2v"), "ltx_i2v", first_frame_png, num_inference_steps=2)
    result = Engine(output_dir=tmp_path).generate(request, on_progress=seen.append, with_preview=True)
    assert [p.preview for p in seen] == [None, None]
    assert any("latents have 8 channels" in note for note in result.notes)
    quiet = Engine(output_dir=tmp_path).generate(request, on_progress=lambda p: None)  # not asked: no note
    assert not any("live preview" in note for note in quiet.notes)


def test_engine_refuses_a_bad_cadence_before_running(tiny_model, first_frame_png, tmp_path):
    request = _request(tiny_model("ltx_i2v"), "ltx_i2v", first_frame_png)
    with pytest.raises(ValidationError, match="at least 1 step"):
        Engine(output_dir=tmp_path).generate(request, with_preview=True, preview_every=0)


# ----- page --------------------------------------------------------------------------------------------

def _snapshot(owner: str | None, progress: Progress | None) -> GateSnapshot:
    return GateSnapshot(running_owner=owner, running_label="clip", running_progress=progress, running_for_s=1.0,
                        waiting_owners=(), max_waiting=4)


def test_page_shows_the_owners_latest_preview_once():
    from pages.generate_preview import carry_preview, live_preview

    frame = np.full((4, 6, 3), 120, dtype=np.uint8)
    kept = carry_preview(Progress(6, 10, 1.0), carry_preview(Progress(5, 10, 1.0, preview=frame), None))
    assert kept.step == 6 and kept.preview is frame  # a non-due step keeps the last frame on the ticket
    update, shown = live_preview(_snapshot("me", kept), "me", None)
    assert update["visible"] is True and update["value"] is frame and shown
    again, still = live_preview(_snapshot("me", kept), "me", shown)
    assert "value" not in again and still == shown  # the same frame is not sent twice
    other, _ = live_preview(_snapshot("me", kept), "someone-else", None)
    assert "value" not in other  # another session's clip stays private
    done, cleared = live_preview(_snapshot(None, None), "me", shown)
    assert done["visible"] is False and cleared is None
