"""Per-version rules and defaults: the rules shown are the rules enforced, and folders find their version.

The stand-in pipeline (configs only) must give exactly the constraints the loaded pipeline gives; the
published configs recorded in the registry must give the published rules and accept their own
defaults; a folder given by path takes its own version's defaults.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import PIL.Image
import pytest

from core.families import get_family
from core.loading import dtype_label, pick_dtype
from core.model_versions import entry_rules, folder_configs, identify_version, stand_in
from core.paths import PROJECT_ROOT
from core.registry import ModelEntry, load_registry, resolve_model
from tests.tiny_pipelines import TINY_FAMILIES

pytestmark = pytest.mark.timeout(300)
REGISTRY = load_registry()
PUBLISHED = [entry for entry in REGISTRY.values() if entry.published]


def _load(family: str, folder: Path):
    return get_family(family).pipeline_class().from_pretrained(str(folder), use_safetensors=True)


@pytest.mark.parametrize("family", [*TINY_FAMILIES, "embedded_default"])
def test_configs_alone_give_the_rules_the_loaded_pipeline_enforces(family, tiny_model):
    folder = PROJECT_ROOT / "assets/default_model" if family == "embedded_default" else tiny_model(family)
    rules = get_family(family)
    assert rules.constraints(stand_in(folder_configs(folder))) == rules.constraints(_load(family, folder))


def test_the_models_page_shows_8k_plus_1_for_cogvideox_as_the_engine_enforces():
    shown = entry_rules(REGISTRY["cogvideox-5b-i2v"])
    assert shown == "720x480 only; frames = 8k+1, 9 to 49"  # the engine's snap_frames modulus and table size


def _resolve(entry_id: str, pipe=None, **request):
    """Resolve a request for a registry version (on its published stand-in unless `pipe` is given)."""
    entry = REGISTRY[entry_id]
    fields = dict(prompt="fog", negative_prompt="", width=None, height=None, num_frames=None, fps=None,
                  num_inference_steps=None, guidance_scale=None)
    fields.update(request)
    return get_family(entry.family).resolve(pipe or stand_in(entry.published), entry.defaults, **fields)


def test_cogvideox_1_5_rules_come_from_its_config():
    constraints = get_family("cogvideox_i2v").constraints(stand_in(REGISTRY["cogvideox1.5-5b-i2v"].published))
    assert (constraints.frames_modulus, constraints.min_side, constraints.max_side) == (16, 768, 1360)
    settings = _resolve("cogvideox1.5-5b-i2v", width=1280, height=720, num_frames=49)
    assert (settings.width, settings.height, settings.num_frames) == (1360, 768, 49)
    assert [a.field for a in settings.adjustments] == ["size"]
    assert "short side must be at least 768" in settings.adjustments[0].reason
    assert _resolve("cogvideox1.5-5b-i2v", num_frames=40).num_frames == 33


@pytest.mark.parametrize("entry", PUBLISHED, ids=lambda e: e.id)
def test_each_published_version_accepts_its_own_defaults(entry: ModelEntry):
    settings = _resolve(entry.id)
    assert settings.adjustments == [], f"{entry.id}'s defaults break its own rules"
    assert settings.notes == [], f"{entry.id}'s defaults draw a warning: {settings.notes}"


def _config_folder(root: Path, name: str, configs: dict[str, dict], class_name: str) -> Path:
    """A folder holding only the configs (enough to identify a version; nothing loads weights)."""
    folder = root / name
    index = {"_class_name": class_name, **configs.get("model_index", {})}
    for component, config in configs.items():
        if component == "model_index":
            continue
        index[component] = ["diffusers", config["_class_name"]]
        (folder / component).mkdir(parents=True)
        (folder / component / "config.json").write_text(json.dumps(config))
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


CLASS_NAMES = {"cogvideox_i2v": "CogVideoXImageToVideoPipeline", "wan_i2v": "WanImageToVideoPipeline",
               "ltx_i2v": "LTXImageToVideoPipeline", "svd": "StableVideoDiffusionPipeline"}


@pytest.mark.parametrize("entry", [e for e in PUBLISHED if e.id != "wan2.1-i2v-14b-720p"], ids=lambda e: e.id)
def test_a_folder_takes_the_defaults_of_the_version_its_configs_match(entry, tmp_path):
    folder = _config_folder(tmp_path, "checkpoint", entry.published, CLASS_NAMES[entry.family])
    resolved = resolve_model(str(folder), REGISTRY)
    assert (resolved.version, resolved.defaults, dict(resolved.dtypes)) == (entry.id, entry.defaults, entry.dtypes)


def test_versions_sharing_every_config_are_told_apart_by_the_hub_id_in_the_path(tmp_path):
    published = REGISTRY["wan2.1-i2v-14b-720p"].published
    cached = _config_folder(tmp_path, "models--Wan-AI--Wan2.1-I2V-14B-720P-Diffusers", published,
                            "WanImageToVideoPipeline")
    assert identify_version(cached, "wan_i2v", REGISTRY).entry.id == "wan2.1-i2v-14b-720p"
    plain = _config_folder(tmp_path, "my-wan", published, "WanImageToVideoPipeline")
    identified = identify_version(plain, "wan_i2v", REGISTRY)
    assert identified.entry.id == "wan2.1-i2v-14b-480p"
    assert "match wan2.1-i2v-14b-480p and wan2.1-i2v-14b-720p equally" in identified.note
    assert resolve_model(str(plain), REGISTRY).notes == (identified.note,)


def test_an_unrecognised_version_gets_family_rules_and_says_so(tiny_model):
    resolved = resolve_model(str(tiny_model("ltx_i2v")), REGISTRY)  # tiny LTX: 8 latent channels, not 128
    assert resolved.version is None
    assert resolved.defaults == REGISTRY["ltx-video"].defaults
    assert "unrecognised ltx_i2v version" in resolved.notes[0]


class _Recorder:
    """Stands in for a pipeline object: records the call's arguments and returns black frames."""

    def __init__(self, **components):
        self.__dict__.update(components)
        self.kwargs: dict = {}

    def set_progress_bar_config(self, **_):
        pass

    def __call__(self, **kwargs):
        self.kwargs = kwargs
        return SimpleNamespace(frames=np.zeros((1, kwargs["num_frames"], kwargs["height"], kwargs["width"], 3)))


def _call(family: str, pipe, entry_id: str, **request):
    settings = _resolve(entry_id, pipe, **request)
    image = PIL.Image.new("RGB", (settings.width, settings.height))
    get_family(family)(pipe, image, settings, None, lambda *a: None)
    return settings, pipe.kwargs


def _recorder(entry_id: str) -> _Recorder:
    """A recording pipeline with the published version's configs (the rules read them)."""
    return _Recorder(**vars(stand_in(REGISTRY[entry_id].published)), tokenizer=SimpleNamespace(model_max_length=512))


def test_ltx_gets_its_native_frame_rate_and_the_result_says_when_the_mp4_differs():
    pipe = _recorder("ltx-video")
    settings, kwargs = _call("ltx_i2v", pipe, "ltx-video", fps=10, num_frames=9, width=64, height=64)
    assert kwargs["frame_rate"] == 25
    assert settings.fps == 10 and "native 25 fps" in settings.notes[0] and "0.4x" in settings.notes[0]
    settings, kwargs = _call("ltx_i2v", pipe, "ltx-video", num_frames=9, width=64, height=64)
    assert kwargs["frame_rate"] == 25 and settings.notes == []


def test_svd_decodes_eight_frames_at_a_time_as_its_card():
    _, kwargs = _call("svd", _recorder("svd-xt"), "svd-xt", num_frames=8, width=64, height=64)
    assert kwargs["decode_chunk_size"] == 8


def test_wan_2_2_passes_the_low_noise_experts_guidance():
    _, kwargs = _call("wan_i2v", _recorder("wan2.2-i2v-a14b"), "wan2.2-i2v-a14b", num_frames=9, width=64, height=64)
    assert (kwargs["guidance_scale"], kwargs["guidance_scale_2"]) == (3.5, 3.5)
    _, kwargs = _call("wan_i2v", _recorder("wan2.2-i2v-a14b"), "wan2.2-i2v-a14b", num_frames=9, width=64, height=64,
                      guidance_scale=5.0)
    assert (kwargs["guidance_scale"], kwargs["guidance_scale_2"]) == (5.0, 5.0)  # one scale set drives both
    _, kwargs = _call("wan_i2v", _recorder("wan2.1-i2v-14b-480p"), "wan2.1-i2v-14b-480p", num_frames=9, width=64,
                      height=64)
    assert "guidance_scale_2" not in kwargs  # diffusers refuses it without a boundary ratio


def test_registry_dtypes_name_the_pipeline_components_they_set(tiny_model):
    import torch

    dtype = pick_dtype("auto", "cuda", tuple(REGISTRY["wan2.1-i2v-14b-480p"].dtypes.items()))
    assert dtype_label(dtype) == "bfloat16 (vae: float32, image_encoder: float32)"
    pipe = get_family("wan_i2v").pipeline_class().from_pretrained(str(tiny_model("wan_i2v")), use_safetensors=True,
                                                                  dtype=dtype)
    assert (pipe.transformer.dtype, pipe.vae.dtype, pipe.image_encoder.dtype) == (
        torch.bfloat16, torch.float32, torch.float32)
    assert pick_dtype("auto", "cpu", tuple(REGISTRY["svd"].dtypes.items())) == torch.float32
    assert pick_dtype("float16", "cuda", tuple(REGISTRY["wan2.1-i2v-14b-480p"].dtypes.items())) == torch.float16
    assert pick_dtype("auto", "cuda", tuple(REGISTRY["svd"].dtypes.items())) == torch.float16


def test_an_unknown_registry_dtype_is_refused(tmp_path):
    from core.errors import ValidationError

    extra = tmp_path / "models.yaml"
    extra.write_text("models:\n  - {id: x, family: svd, folder: /nowhere, dtypes: {default: half},\n"
                     "     defaults: {num_frames: 8, fps: 7, width: 64, height: 64, num_inference_steps: 2,"
                     " guidance_scale: 3.0}}\n")
    with pytest.raises(ValidationError, match="unknown dtype 'half'; allowed values: float32, float16, bfloat16"):
        load_registry(extra_files=[extra])


def test_models_json_lists_each_models_rules(capsys):
    from app.cli import main

    assert main(["models", "--json"]) == 0
    rows = {row["id"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["svd-xt"]["rules"] == entry_rules(REGISTRY["svd-xt"])
    assert "frames = 16k+1" in rows["cogvideox1.5-5b-i2v"]["rules"]


def test_the_models_page_shows_each_versions_defaults_and_engine_rules():
    from pages.models import COLUMNS, registry_rows

    rows = registry_rows(SimpleNamespace(registry=lambda reload=False: REGISTRY))
    by_id = {row[0]: dict(zip(COLUMNS, row)) for row in rows}
    assert set(by_id) == set(REGISTRY)
    a14b = by_id["wan2.2-i2v-a14b"]
    assert a14b["Defaults"] == "1280×720, 81 frames at 16 fps, 40 steps, guidance 3.5 (low-noise expert 3.5)"
    for entry_id, row in by_id.items():
        assert row["Rules"] == entry_rules(REGISTRY[entry_id])
    assert by_id["cogvideox-5b-i2v"]["Rules"].endswith("frames = 8k+1, 9 to 49")
