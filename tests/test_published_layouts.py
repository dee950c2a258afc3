"""Folders laid out like the published checkpoints load and generate through `generate --model FOLDER`.

Each layout is built by `tests.published_layouts` (tiny random weights, the release's model_index.json,
component classes, tokenizer files, shards and variants); the CLI then makes a 2-step clip from it.
"""

import json
import subprocess
import sys

import pytest

from app.cli import main
from core.errors import ValidationError
from core.video_io import probe
from tests.published_layouts import LAYOUTS, SPIECE_VOCAB, build_published_layout

# layout -> (width, height, frames) asked for. CogVideoX 1.5 has no learned positional embeddings, so
# it is asked for a landscape size (its tiny rotary table is 96x64, as the published one is 1360x768)
# and 16k+1 frames; SVD's tiny UNet holds 8 frames.
REQUESTS = {name: (64, 64, 9) for name in LAYOUTS}
REQUESTS["cogvideox-1.5-5b-i2v"] = (96, 64, 17)
REQUESTS["svd-fp16"] = (64, 64, 8)

# layout -> model_index.json `_class_name` of the release.
PUBLISHED_CLASS = {
    "cogvideox-5b-i2v": "CogVideoXImageToVideoPipeline", "cogvideox-1.5-5b-i2v": "CogVideoXImageToVideoPipeline",
    "ltx-video": "LTXPipeline", "ltx-video-0.9.5": "LTXConditionPipeline",
    "wan2.1-i2v-480p": "WanImageToVideoPipeline", "wan2.1-i2v-720p": "WanImageToVideoPipeline",
    "wan2.2-i2v-a14b": "WanImageToVideoPipeline", "wan2.2-ti2v-5b": "WanPipeline",
    "svd-fp16": "StableVideoDiffusionPipeline",
}
SLOW_TOKENIZER_FILES = {"spiece.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"}


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """Factory: layout name -> its folder, built once per module."""
    built = {}

    def get(name):
        if name not in built:
            built[name] = build_published_layout(name, tmp_path_factory.mktemp(name))
        return built[name]

    return get


def _index(folder):
    return json.loads((folder / "model_index.json").read_text())


def _generate_argv(folder, name, image, out):
    width, height, frames = REQUESTS[name]
    return ["generate", "--image", str(image), "--scenario", "tire_debris_day", "--model", str(folder),
            "--steps", "2", "--frames", str(frames), "--width", str(width), "--height", str(height),
            "--fps", "8", "--seed", "5", "--out", str(out), "--json"]


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_published_layout_generates_through_the_cli(name, layout, first_frame_png, tmp_path, capsys):
    folder = layout(name)
    assert _index(folder)["_class_name"] == PUBLISHED_CLASS[name]
    out = tmp_path / "clip.mp4"
    assert main(_generate_argv(folder, name, first_frame_png, out)) == 0
    result = json.loads(capsys.readouterr().out)
    width, height, frames = REQUESTS[name]
    assert result["frames_shape"] == [frames, height, width, 3]
    assert not [a for a in result["adjustments"] if a["field"] in ("size", "num_frames")]  # the ask stood
    info = probe(out)
    assert (info.num_frames, info.width, info.height) == (frames, width, height)


def test_ltx_root_generates_as_a_real_subprocess(layout, first_frame_png, tmp_path):
    folder = layout("ltx-video")
    out = tmp_path / "clip.mp4"
    completed = subprocess.run([sys.executable, "-m", "app.cli", *_generate_argv(folder, "ltx-video",
                                                                                first_frame_png, out)],
                               check=False, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.splitlines()[-1])["family"] == "ltx_i2v"
    assert probe(out).num_frames == 9


@pytest.mark.parametrize("name", ["cogvideox-5b-i2v", "cogvideox-1.5-5b-i2v", "ltx-video", "ltx-video-0.9.5"])
def test_t5_tokenizer_folder_is_the_published_sentencepiece_one(name, layout):
    from transformers import T5Tokenizer

    folder = layout(name)
    assert _index(folder)["tokenizer"] == ["transformers", "T5Tokenizer"]
    assert {p.name for p in (folder / "tokenizer").iterdir()} == SLOW_TOKENIZER_FILES  # no tokenizer.json
    tokenizer = T5Tokenizer.from_pretrained(str(folder / "tokenizer"))
    ids = tokenizer("dashcam view of a tire blowout").input_ids
    # Real sentencepiece pieces, not <unk> (2) everywhere, then T5's </s> (1); sentinels after the pieces.
    assert ids[-1] == 1 and 2 not in ids and max(ids[:-1]) < SPIECE_VOCAB
    assert tokenizer.convert_tokens_to_ids("<extra_id_99>") == SPIECE_VOCAB


def test_wan_tokenizer_ships_fast_files(layout):
    folder = layout("wan2.1-i2v-480p")
    assert _index(folder)["tokenizer"] == ["transformers", "T5TokenizerFast"]
    assert {p.name for p in (folder / "tokenizer").iterdir()} == {
        "spiece.model", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"}


def _load(folder):
    from core.loading import PIPELINE_CACHE, LoadOptions
    from core.registry import resolve_model

    return PIPELINE_CACHE.get(resolve_model(str(folder)), LoadOptions(device="cpu"))


@pytest.mark.parametrize("name,loaded_class,check", [
    ("ltx-video", "LTXImageToVideoPipeline", lambda pipe: True),
    ("ltx-video-0.9.5", "LTXImageToVideoPipeline", lambda pipe: pipe.vae.config.timestep_conditioning),
    ("wan2.1-i2v-720p", "WanImageToVideoPipeline",
     lambda pipe: type(pipe.image_encoder).__name__ == "CLIPVisionModelWithProjection"
     and pipe.scheduler.config.flow_shift == 5.0),
    ("wan2.2-i2v-a14b", "WanImageToVideoPipeline",
     lambda pipe: pipe.transformer_2 is not None and pipe.config.boundary_ratio == 0.9 and pipe.image_encoder is None),
    ("wan2.2-ti2v-5b", "WanImageToVideoPipeline",
     lambda pipe: pipe.config.expand_timesteps and pipe.image_encoder is None and pipe.vae.config.z_dim == 48),
    ("cogvideox-1.5-5b-i2v", "CogVideoXImageToVideoPipeline",
     lambda pipe: pipe.transformer.config.patch_size_t == 2 and pipe.transformer.config.ofs_embed_dim),
])
def test_family_loads_the_image_to_video_class_from_published_components(name, loaded_class, check, layout):
    loaded = _load(layout(name))
    assert type(loaded.pipe).__name__ == loaded_class
    assert check(loaded.pipe)


def test_svd_fp16_only_download_loads_with_the_variant(layout):
    import torch

    folder = layout("svd-fp16")
    weights = {p.name for p in folder.rglob("*.safetensors")}
    assert weights and all(name.endswith(".fp16.safetensors") for name in weights)
    loaded = _load(folder)
    # fp16 tensors on disk, loaded at the dtype asked for (fp32 on CPU).
    assert loaded.pipe.unet.dtype == torch.float32


def test_sharded_components_are_as_save_pretrained_writes_them(layout):
    transformer = layout("cogvideox-5b-i2v") / "transformer"
    shards = sorted(p.name for p in transformer.glob("diffusion_pytorch_model-*-of-*.safetensors"))
    assert len(shards) >= 2 and shards[0] == f"diffusion_pytorch_model-00001-of-{len(shards):05d}.safetensors"
    index = json.loads((transformer / "diffusion_pytorch_model.safetensors.index.json").read_text())
    assert set(index["weight_map"].values()) == set(shards)
    assert not (transformer / "diffusion_pytorch_model.safetensors").exists()


def test_wan_text_to_video_checkpoint_is_refused_in_one_sentence(layout, first_frame_png, tmp_path, capsys):
    import shutil

    folder = shutil.copytree(layout("wan2.2-ti2v-5b"), tmp_path / "t2v")
    index = _index(folder)
    index["expand_timesteps"] = False  # a WanPipeline whose transformer cannot read the first frame
    (folder / "model_index.json").write_text(json.dumps(index))
    assert main(_generate_argv(folder, "wan2.2-ti2v-5b", first_frame_png, tmp_path / "x.mp4")) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "cannot condition on an image" in error
    assert not (tmp_path / "x.mp4").exists()


def test_unsupported_class_gets_one_sentence_listing_the_supported_ones():
    from core.families import FAMILIES, family_for_class_name

    with pytest.raises(ValidationError) as caught:
        family_for_class_name("CogVideoXPipeline")  # text-to-video CogVideoX: no image input
    message = str(caught.value)
    assert message.count(". ") == 0 and message.endswith(".")
    for _, class_names in FAMILIES.values():
        assert all(name in message for name in class_names)
    assert family_for_class_name("LTXPipeline") == family_for_class_name("LTXConditionPipeline") == "ltx_i2v"
    assert family_for_class_name("WanPipeline") == "wan_i2v"


def test_cogvideox_15_size_beyond_its_rotary_table_is_refused_in_one_sentence(layout, first_frame_png, tmp_path,
                                                                               capsys):
    argv = _generate_argv(layout("cogvideox-1.5-5b-i2v"), "cogvideox-1.5-5b-i2v", first_frame_png, tmp_path / "x.mp4")
    # Portrait: within the short/long side bounds, but taller than the rotary table's 64 rows.
    argv[argv.index("--width") + 1], argv[argv.index("--height") + 1] = "64", "96"
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error == "error: size 64x96 is impossible for this model; it holds at most 96x64 pixels (its rotary " \
                    "position table)."
    assert not (tmp_path / "x.mp4").exists()
