"""Model-folder safety and registry resolution (no pipeline is loaded here)."""

import json

import pytest

from core.errors import ModelUnavailableError, ValidationError
from core.loading import LoadOptions, check_model_folder, weights_hash
from core.registry import load_registry, resolve_model


def _fake_pipeline(folder, library="diffusers", weights=".safetensors"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_index.json").write_text(json.dumps({
        "_class_name": "LTXImageToVideoPipeline", "_diffusers_version": "0.42.1",
        "transformer": [library, "LTXVideoTransformer3DModel"],
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"]}))
    (folder / "transformer").mkdir(exist_ok=True)
    (folder / "transformer" / "config.json").write_text("{}")
    (folder / "transformer" / f"diffusion_pytorch_model{weights}").write_bytes(b"\0" * 16)
    (folder / "scheduler").mkdir(exist_ok=True)
    (folder / "scheduler" / "scheduler_config.json").write_text("{}")
    return folder


def test_valid_folder_passes_and_family_is_read(tmp_path):
    folder = _fake_pipeline(tmp_path / "ltx")
    check_model_folder(folder)
    resolved = resolve_model(str(folder))
    assert resolved.family == "ltx_i2v" and resolved.origin == "path"


def test_python_file_in_folder_is_refused(tmp_path):
    folder = _fake_pipeline(tmp_path / "m")
    (folder / "transformer" / "modeling_evil.py").write_text("import os")
    with pytest.raises(ValidationError, match="holds Python code"):
        check_model_folder(folder)


def test_foreign_library_in_model_index_is_refused(tmp_path):
    folder = _fake_pipeline(tmp_path / "m", library="os")
    with pytest.raises(ValidationError, match="library 'os'"):
        check_model_folder(folder)


def test_pickled_weights_are_refused(tmp_path):
    folder = _fake_pipeline(tmp_path / "m", weights=".bin")
    with pytest.raises(ValidationError, match="pickled weights"):
        check_model_folder(folder)


def test_missing_weights_say_where(tmp_path):
    folder = _fake_pipeline(tmp_path / "m")
    (folder / "transformer" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ModelUnavailableError, match="no .safetensors file in .*transformer"):
        check_model_folder(folder)


def test_missing_model_index(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailableError, match="model_index.json is missing"):
        resolve_model(str(tmp_path / "empty"))


def test_unsupported_pipeline_class(tmp_path):
    folder = _fake_pipeline(tmp_path / "m")
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(ValidationError, match="not supported; supported classes"):
        resolve_model(str(folder))


def test_unknown_model_lists_registry_ids():
    with pytest.raises(ValidationError, match="unknown model 'nope'.*embedded-default"):
        resolve_model("nope")


def test_hub_model_not_in_cache_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelUnavailableError, match="not in the local Hugging Face cache"):
        resolve_model("cogvideox-5b-i2v")


def test_registry_entries_are_complete():
    registry = load_registry()
    assert {"embedded-default", "cogvideox-5b-i2v", "wan2.1-i2v-14b-480p", "ltx-video", "svd-xt"} <= set(registry)
    assert registry["ltx-video"].defaults.height % 32 == 0


def test_weights_hash_changes_with_content(tmp_path):
    folder = _fake_pipeline(tmp_path / "m")
    first = weights_hash(folder)
    (folder / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"\1" * 16)
    assert weights_hash(folder) != first


def test_bad_load_options():
    with pytest.raises(ValidationError, match="unknown dtype 'int8'"):
        LoadOptions(dtype="int8").validate()


def _weights(folder, component, *names):
    (folder / component).mkdir(parents=True, exist_ok=True)
    (folder / component / "config.json").write_text("{}")
    for name in names:
        (folder / component / name).write_bytes(b"\0" * 16)


def test_detect_variant_reads_the_files_present(tmp_path):
    from core.model_folder import detect_variant

    only_fp16 = tmp_path / "fp16"
    _weights(only_fp16, "unet", "diffusion_pytorch_model.fp16.safetensors")
    _weights(only_fp16, "image_encoder", "model.fp16.safetensors")
    assert detect_variant(only_fp16) == "fp16"
    both = tmp_path / "both"
    _weights(both, "unet", "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors")
    _weights(both, "vae", "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors")
    assert detect_variant(both) is None  # plain wins unless asked
    assert detect_variant(both, preferred="fp16") == "fp16"
    assert detect_variant(both, preferred="bf16") is None
    sharded = tmp_path / "sharded"
    _weights(sharded, "transformer", "diffusion_pytorch_model.fp16-00001-of-00002.safetensors",
             "diffusion_pytorch_model.fp16-00002-of-00002.safetensors")
    assert detect_variant(sharded) == "fp16"
    _weights(sharded, "vae", "diffusion_pytorch_model-00001-of-00002.safetensors")
    with pytest.raises(ValidationError, match="no weights variant shared by every component.*vae: plain"):
        detect_variant(sharded)


def test_variant_only_components_pass_the_folder_check(tmp_path):
    folder = _fake_pipeline(tmp_path / "m", weights=".fp16.safetensors")
    check_model_folder(folder)
