"""The engine end to end on every family's tiny random pipeline, 2 steps on CPU."""

import json

import numpy as np
import pytest

from core.engine import CancelToken, Engine
from core.errors import GenerationCancelled, ModelUnavailableError, ValidationError
from core.request import AdapterSpec, GenerationRequest
from core.video_io import probe
from tests.tiny_pipelines import TINY_DEFAULTS, TINY_FAMILIES


def _request(folder, family, **overrides):
    width, height, frames = TINY_DEFAULTS[family]
    fields = dict(image=None, scenario="dust_storm_debris", model=str(folder), num_inference_steps=2,
                  num_frames=frames, width=width, height=height, fps=8, seed=7)
    fields.update(overrides)
    return GenerationRequest(**fields)


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_generates_clip_mp4_and_manifest(family, tiny_model, first_frame_png, tmp_path):
    request = _request(tiny_model(family), family, image=first_frame_png)
    result = Engine(output_dir=tmp_path).generate(request)
    width, height, frames = TINY_DEFAULTS[family]
    assert result.frames.dtype == np.uint8
    assert result.frames.shape == (frames, height, width, 3)
    info = probe(result.mp4_path)
    assert (info.num_frames, info.width, info.height) == (frames, width, height)
    assert info.fps == pytest.approx(8)
    manifest = json.loads(result.manifest_path.read_text())
    provenance = manifest["result"]["provenance"]
    assert manifest["result"]["seed"] == 7
    assert provenance["synthetic"] is True
    assert len(provenance["model"]["weights_sha256"]) == 64
    assert len(provenance["input_image_sha256"]) == 64
    assert provenance["libraries"]["diffusers"] != "not installed"
    assert manifest["request"]["scenario"] == "dust_storm_debris"
    assert "dust storm" in manifest["result"]["prompt"]
    if family == "svd":
        assert any("prompt ignored" in note for note in result.notes)


def test_same_seed_bit_identical_and_random_seed_reported(tiny_model, first_frame_png, tmp_path):
    engine = Engine(output_dir=tmp_path)
    folder = tiny_model("ltx_i2v")
    first = engine.generate(_request(folder, "ltx_i2v", image=first_frame_png))
    second = engine.generate(_request(folder, "ltx_i2v", image=first_frame_png))
    assert np.array_equal(first.frames, second.frames)
    other = engine.generate(_request(folder, "ltx_i2v", image=first_frame_png, seed=8))
    assert not np.array_equal(first.frames, other.frames)
    unseeded = engine.generate(_request(folder, "ltx_i2v", image=first_frame_png, seed=None))
    assert isinstance(unseeded.seed, int) and unseeded.seed >= 0
    replay = engine.generate(_request(folder, "ltx_i2v", image=first_frame_png, seed=unseeded.seed))
    assert np.array_equal(unseeded.frames, replay.frames)


def test_progress_per_step_and_cancel_within_one_step(tiny_model, first_frame_png, tmp_path):
    engine = Engine(output_dir=tmp_path / "out")
    folder = tiny_model("ltx_i2v")
    seen = []
    engine.generate(_request(folder, "ltx_i2v", image=first_frame_png, num_inference_steps=3),
                    on_progress=lambda p: seen.append((p.step, p.total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]

    token = CancelToken()
    steps_after_cancel = []

    def cancel_at_first_step(progress):
        steps_after_cancel.append(progress.step)
        token.cancel()

    (tmp_path / "cancelled").mkdir()
    with pytest.raises(GenerationCancelled):
        Engine(output_dir=tmp_path / "cancelled").generate(
            _request(folder, "ltx_i2v", image=first_frame_png, num_inference_steps=4),
            on_progress=cancel_at_first_step, cancel=token)
    assert steps_after_cancel == [1]  # the run stopped at the next step boundary
    assert list((tmp_path / "cancelled").iterdir()) == []  # no partial output


def _save_random_lora(folder, path):
    """A LoRA for the tiny LTX transformer with non-zero B matrices, saved in PEFT layout."""
    import torch
    from diffusers import LTXVideoTransformer3DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    transformer = LTXVideoTransformer3DModel.from_pretrained(folder / "transformer", use_safetensors=True)
    torch.manual_seed(0)
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v"],
                                       init_lora_weights=False), adapter_name="probe")
    state = get_peft_model_state_dict(transformer, adapter_name="probe")
    save_file({k: v.contiguous() * 5 for k, v in state.items()}, str(path))
    return path


def test_adapter_scale_zero_matches_no_adapter_and_does_not_leak(tiny_model, first_frame_png, tmp_path):
    folder = tiny_model("ltx_i2v")
    lora = _save_random_lora(folder, tmp_path / "probe.safetensors")
    engine = Engine(output_dir=tmp_path)
    base = engine.generate(_request(folder, "ltx_i2v", image=first_frame_png)).frames
    zero = engine.generate(_request(folder, "ltx_i2v", image=first_frame_png,
                                    adapters=[AdapterSpec(str(lora), 0.0)])).frames
    full = engine.generate(_request(folder, "ltx_i2v", image=first_frame_png,
                                    adapters=[AdapterSpec(str(lora), 1.0)]))
    after = engine.generate(_request(folder, "ltx_i2v", image=first_frame_png)).frames
    assert np.array_equal(base, zero)
    assert not np.array_equal(base, full.frames)
    assert np.array_equal(base, after)  # the adapter was removed after its request
    assert full.provenance["adapters"][0]["sha256"]


def test_snapped_frames_are_reported(tiny_model, first_frame_png, tmp_path):
    result = Engine(output_dir=tmp_path).generate(
        _request(tiny_model("wan_i2v"), "wan_i2v", image=first_frame_png, num_frames=10))
    assert result.frames.shape[0] == 9
    assert any(a.field == "num_frames" and a.requested == 10 and a.used == 9 for a in result.adjustments)


@pytest.mark.parametrize("overrides, error, message", [
    ({"scenario": "moon_landing"}, ValidationError, "unknown scenario 'moon_landing'"),
    ({"num_frames": 0}, ValidationError, "num_frames 0 is impossible"),
    ({"num_frames": 1000}, ValidationError, "num_frames 1000 is impossible"),
    ({"seed": -1}, ValidationError, "seed must be between"),
    ({"num_inference_steps": 5000}, ValidationError, "num_inference_steps must be between 1 and"),
    ({"num_inference_steps": 0}, ValidationError, "num_inference_steps must be between 1 and"),
    ({"image": None}, ValidationError, "first-frame image is required"),
    ({"adapters": [AdapterSpec("nope")]}, ValidationError, "adapter 'nope' not found"),
])
def test_bad_requests_raise_one_clear_error_and_write_nothing(overrides, error, message, tiny_model,
                                                              first_frame_png, tmp_path):
    fields = {"image": first_frame_png, **overrides}
    out = tmp_path / "out"
    with pytest.raises(error, match=message):
        Engine(output_dir=out).generate(_request(tiny_model("cogvideox_i2v"), "cogvideox_i2v", **fields))
    assert not out.exists() or list(out.iterdir()) == []


def test_bad_image_rejected(tiny_model, tmp_path):
    bad = tmp_path / "frame.png"
    bad.write_text("this is not an image")
    with pytest.raises(ValidationError, match="not a PNG, JPEG or WebP"):
        Engine(output_dir=tmp_path / "out").generate(_request(tiny_model("ltx_i2v"), "ltx_i2v", image=bad))


def test_broken_model_folder(tiny_model, first_frame_png, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model("ltx_i2v"), broken)
    for weights in (broken / "transformer").glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(ModelUnavailableError, match="weights for component 'transformer' are missing"):
        Engine(output_dir=tmp_path / "out").generate(_request(broken, "ltx_i2v", image=first_frame_png))


def test_python_file_in_model_folder_refused(tiny_model, first_frame_png, tmp_path):
    import shutil

    folder = tmp_path / "withcode"
    shutil.copytree(tiny_model("ltx_i2v"), folder)
    (folder / "pipeline.py").write_text("raise SystemExit")
    with pytest.raises(ValidationError, match="holds Python code"):
        Engine(output_dir=tmp_path / "out").generate(_request(folder, "ltx_i2v", image=first_frame_png))


def test_gpu_only_options_are_noted_not_silent_on_cpu(tiny_model, first_frame_png, tmp_path):
    from core.loading import LoadOptions, PipelineCache

    engine = Engine(output_dir=tmp_path, cache=PipelineCache(),
                    load_options=LoadOptions(device="cpu", compile=True, cpu_offload=True))
    result = engine.generate(_request(tiny_model("ltx_i2v"), "ltx_i2v", image=first_frame_png))
    assert any("torch.compile is only used on a CUDA GPU" in note for note in result.notes)
    assert any("offload needs a CUDA GPU" in note for note in result.notes)


def test_progress_reports_carry_preview_slot(tiny_model, first_frame_png, tmp_path):
    seen = []
    result = Engine(output_dir=tmp_path).generate(
        _request(tiny_model("ltx_i2v"), "ltx_i2v", image=first_frame_png), on_progress=seen.append,
        with_preview=True)
    # The tiny LTX VAE has 8 latent channels, the published factors 128: the slot stays None (never a
    # wrongly coloured frame) and the result says why. Frames on due steps: tests/test_previews.py.
    assert [p.preview for p in seen] == [None, None]
    assert any("no live preview" in note and "128 (LTXV)" in note for note in result.notes)


@pytest.mark.parametrize("family, prompt, expected", [
    ("cogvideox_i2v", None, "template"),
    ("cogvideox_i2v", "dashcam view of normal traffic during daytime on a four-lane interstate", "user_asserted"),
    ("svd", None, "user_asserted"),  # image-only: nothing it reads says what the labels say
])
def test_manifest_says_where_the_labels_come_from(family, prompt, expected, tiny_model, first_frame_png, tmp_path):
    request = _request(tiny_model(family), family, image=first_frame_png, scenario="night_construction",
                       prompt=prompt)
    result = Engine(output_dir=tmp_path).generate(request)
    provenance = json.loads(result.manifest_path.read_text())["result"]["provenance"]
    assert provenance["slots"] == {"event": "construction_zone", "conditions": "night",
                                   "road": "four_lane_interstate"}
    assert provenance["labels_source"] == expected


def _conditioning_spy(monkeypatch) -> list:
    """Record the slot rows the embedded pipeline conditions on (the non-negative call of `slots`)."""
    from core.default_model.pipeline import EmbeddedI2VPipeline
    from core.default_model.prompts import vocabularies

    seen, original = [], EmbeddedI2VPipeline.slots

    def spy(self, prompt=None, event=None, conditions=None, road=None, allow_partial=False):
        rows = original(self, prompt, event, conditions, road, allow_partial)
        if not allow_partial:
            vocab = vocabularies(self.denoiser.config)
            seen.append({k: vocab[k][getattr(rows, k) - 1] for k in ("event", "conditions", "road")})
        return rows

    monkeypatch.setattr(EmbeddedI2VPipeline, "slots", spy)
    return seen


@pytest.mark.parametrize("prompt", [None, "dashcam view of normal traffic during daytime on a four-lane interstate"])
def test_embedded_model_is_conditioned_on_exactly_the_recorded_slots(prompt, first_frame_png, tmp_path, monkeypatch):
    seen = _conditioning_spy(monkeypatch)
    request = GenerationRequest(image=first_frame_png, scenario="night_construction", prompt=prompt,
                                num_inference_steps=1, num_frames=2, seed=3)
    result = Engine(output_dir=tmp_path).generate(request)
    provenance = json.loads(result.manifest_path.read_text())["result"]["provenance"]
    assert seen and all(rows == provenance["slots"] for rows in seen)
    assert provenance["slots"] == {"event": "construction_zone", "conditions": "night",
                                   "road": "four_lane_interstate"}
    assert provenance["labels_source"] == "conditioning"
    assert any("conditioned on the slots" in note for note in result.notes) == (prompt is not None)
