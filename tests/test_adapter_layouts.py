"""LoRA files in the layouts the community ships, written here with safetensors, on the tiny pipelines.

Layouts: diffusers (`save_lora_weights`, `transformer.` prefix, config in the metadata), original Wan /
musubi-tuner / ComfyUI (`diffusion_model.blocks.N.self_attn.q.lora_down.weight` + `.alpha`), the
LTX-Video trainer (`diffusion_model.transformer_blocks.N.attn1.to_q.lora_A.weight`) and bare PEFT keys.
Each goes through the engine (scale 0 = no adapter, scale 1 changes the clip, nothing leaks) and the
CLI's `--adapter FILE:SCALE`.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from app.cli import main
from core.adapters import ResolvedAdapter, applied_adapters
from core.engine import Engine
from core.errors import ValidationError
from core.request import AdapterSpec, GenerationRequest
from core.video_io import read_frames
from tests.tiny_pipelines import TINY_DEFAULTS

TARGETS = ["to_q", "to_k", "to_v"]
EMBEDDED_PROMPT = "dashcam view of a tire blowout debris field during nighttime on a rural road"
_WAN_ORIGINAL = {"attn1": "self_attn", "attn2": "cross_attn", "to_q": "q", "to_k": "k", "to_v": "v"}


def _transformer_class(family):
    import diffusers

    return {"wan_i2v": diffusers.WanTransformer3DModel, "ltx_i2v": diffusers.LTXVideoTransformer3DModel,
            "cogvideox_i2v": diffusers.CogVideoXTransformer3DModel}[family]


def _peft_lora(folder, family, seed=0, rank=4, alpha=4, subfolder="transformer"):
    """(state dict with bare PEFT keys, LoraConfig) for the folder's transformer, B matrices non-zero."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    transformer = _transformer_class(family).from_pretrained(folder / subfolder, use_safetensors=True)
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=TARGETS, init_lora_weights=False)
    torch.manual_seed(seed)
    transformer.add_adapter(config, adapter_name="probe")
    state = get_peft_model_state_dict(transformer, adapter_name="probe")
    return {k: v.contiguous() * 5 for k, v in state.items()}, config


def write_bare(folder, family, path, **kwargs):
    from safetensors.torch import save_file

    save_file(_peft_lora(folder, family, **kwargs)[0], str(path))
    return path


def write_diffusers(folder, family, path, **kwargs):
    """As diffusers' training scripts save it: `<Pipeline>.save_lora_weights` with the adapter metadata."""
    import diffusers

    state, config = _peft_lora(folder, family, **kwargs)
    pipeline_class = {"wan_i2v": diffusers.WanImageToVideoPipeline, "ltx_i2v": diffusers.LTXImageToVideoPipeline,
                      "cogvideox_i2v": diffusers.CogVideoXImageToVideoPipeline}[family]
    metadata = {"r": config.r, "lora_alpha": config.lora_alpha, "target_modules": TARGETS}
    pipeline_class.save_lora_weights(path.parent, transformer_lora_layers=state, weight_name=path.name,
                                     transformer_lora_adapter_metadata=metadata, safe_serialization=True)
    return path


def write_wan_original(folder, family, path, **kwargs):
    """Original Wan / musubi-tuner / ComfyUI keys: lora_down / lora_up / alpha under `diffusion_model.`."""
    from safetensors.torch import save_file

    state, config = _peft_lora(folder, family, **kwargs)
    out = {}
    for key, value in state.items():
        module, kind = key.split(".lora_")
        parts = [_WAN_ORIGINAL.get(part, part) for part in module.split(".")]
        name = "diffusion_model." + ".".join(parts)
        out[f"{name}.lora_{'down' if kind.startswith('A') else 'up'}.weight"] = value
        out[f"{name}.alpha"] = torch.tensor(float(config.lora_alpha))
    save_file(out, str(path))
    return path


def write_ltx_trainer(folder, family, path, **kwargs):
    """The LTX-Video trainer's keys: PEFT names under `diffusion_model.`."""
    from safetensors.torch import save_file

    save_file({f"diffusion_model.{k}": v for k, v in _peft_lora(folder, family, **kwargs)[0].items()}, str(path))
    return path


def _request(folder, family, image, adapters=()):
    width, height, frames = TINY_DEFAULTS[family]
    return GenerationRequest(image=image, scenario="dust_storm_debris", model=str(folder), num_inference_steps=2,
                             num_frames=frames, width=width, height=height, fps=8, seed=7,
                             adapters=[AdapterSpec(str(path), scale) for path, scale in adapters])


def _check_scale_rules(engine, folder, family, image, lora):
    """Scale 0 is bit-identical to no adapter, scale 1 changes the clip, and nothing leaks afterwards."""
    base = engine.generate(_request(folder, family, image)).frames
    zero = engine.generate(_request(folder, family, image, [(lora, 0.0)])).frames
    full = engine.generate(_request(folder, family, image, [(lora, 1.0)]))
    after = engine.generate(_request(folder, family, image)).frames
    assert np.array_equal(base, zero)
    assert not np.array_equal(base, full.frames)
    assert np.array_equal(base, after)
    assert full.provenance["adapters"][0]["path"] == str(lora)
    return base, full.frames


@pytest.mark.parametrize("family, writer", [
    ("wan_i2v", write_diffusers), ("ltx_i2v", write_diffusers), ("cogvideox_i2v", write_diffusers),
    ("wan_i2v", write_wan_original), ("ltx_i2v", write_ltx_trainer),
    ("ltx_i2v", write_bare), ("wan_i2v", write_bare),
])
def test_layout_through_engine(family, writer, tiny_model, first_frame_png, tmp_path):
    folder = tiny_model(family)
    lora = writer(folder, family, tmp_path / f"{writer.__name__}.safetensors")
    _check_scale_rules(Engine(output_dir=tmp_path / "out"), folder, family, first_frame_png, lora)


def test_community_layouts_give_the_same_clip_as_diffusers_layout(tiny_model, first_frame_png, tmp_path):
    """Same weights, three layouts: the Wan-original and LTX-trainer conversions change nothing."""
    engine = Engine(output_dir=tmp_path / "out")
    for family, writer in (("wan_i2v", write_wan_original), ("ltx_i2v", write_ltx_trainer)):
        folder = tiny_model(family)
        reference = write_diffusers(folder, family, tmp_path / f"{family}-diffusers.safetensors")
        community = writer(folder, family, tmp_path / f"{family}-community.safetensors")
        clips = [engine.generate(_request(folder, family, first_frame_png, [(p, 1.0)])).frames
                 for p in (reference, community)]
        assert np.abs(clips[0].astype(int) - clips[1].astype(int)).max() <= 1  # float rounding of alpha/rank


def test_diffusers_metadata_sets_the_alpha(tiny_model, tmp_path):
    """The file path (not a loaded dict) reaches the loader, so the metadata's lora_alpha is used."""
    from diffusers import LTXImageToVideoPipeline

    folder = tiny_model("ltx_i2v")
    lora = write_diffusers(folder, "ltx_i2v", tmp_path / "alpha.safetensors", alpha=16)
    pipe = LTXImageToVideoPipeline.from_pretrained(folder, use_safetensors=True)
    adapter = ResolvedAdapter("alpha", 1.0, lora, "0" * 64)
    with applied_adapters(pipe, [pipe.transformer], "tiny-ltx", [adapter]):
        assert pipe.transformer.peft_config["alpha"].lora_alpha == 16
        assert pipe.transformer.peft_config["alpha"].r == 4
    assert not getattr(pipe.transformer, "peft_config", None)  # removed, layers unloaded


def _cli_args(folder, family, image, out, *extra):
    width, height, frames = TINY_DEFAULTS[family]
    return ["generate", "--image", str(image), "--scenario", "dust_storm_debris", "--model", str(folder),
            "--steps", "2", "--frames", str(frames), "--width", str(width), "--height", str(height),
            "--seed", "3", "--out", str(out), *extra]


@pytest.mark.parametrize("family, writer", [
    ("cogvideox_i2v", write_diffusers), ("wan_i2v", write_wan_original), ("ltx_i2v", write_ltx_trainer),
    ("ltx_i2v", write_bare),
])
def test_layout_through_cli(family, writer, tiny_model, first_frame_png, tmp_path, capsys):
    folder = tiny_model(family)
    lora = writer(folder, family, tmp_path / "style.safetensors")
    assert main(_cli_args(folder, family, first_frame_png, tmp_path / "base.mp4", "--json")) == 0
    assert main(_cli_args(folder, family, first_frame_png, tmp_path / "lora.mp4", "--adapter", f"{lora}:1")) == 0
    capsys.readouterr()
    manifest = json.loads((tmp_path / "lora.json").read_text())
    assert [a["name"] for a in manifest["result"]["provenance"]["adapters"]] == ["style"]
    assert not np.array_equal(read_frames(tmp_path / "base.mp4"), read_frames(tmp_path / "lora.mp4"))


def test_several_adapters_combine(tiny_model, first_frame_png, tmp_path):
    folder = tiny_model("ltx_i2v")
    one = write_diffusers(folder, "ltx_i2v", tmp_path / "one.safetensors", seed=1)
    two = write_bare(folder, "ltx_i2v", tmp_path / "two.safetensors", seed=2)
    engine = Engine(output_dir=tmp_path / "out")

    def run(*adapters):
        return engine.generate(_request(folder, "ltx_i2v", first_frame_png, adapters)).frames

    only_one, both = run((one, 1.0)), run((one, 1.0), (two, 1.0))
    assert not np.array_equal(only_one, both) and not np.array_equal(run((two, 1.0)), both)
    assert np.array_equal(run((one, 1.0), (two, 0.0)), only_one)
    with pytest.raises(ValidationError, match="adapter 'one' is listed twice"):
        run((one, 1.0), (one, 0.5))
    assert np.array_equal(run(), engine.generate(_request(folder, "ltx_i2v", first_frame_png)).frames)


def _foreign_lora(path, module="blocks.{}.foo", width=8):
    """A bare-key LoRA on `module` (block 0 and 1) whose layers are `width` wide."""
    from safetensors.torch import save_file

    state = {}
    for block in (0, 1):
        name = module.format(block)
        state |= {f"{name}.lora_A.weight": torch.ones(4, width), f"{name}.lora_B.weight": torch.ones(width, 4)}
    save_file(state, str(path))
    return path


def test_misfit_lora_gets_one_sentence_naming_model_and_targets(tiny_model, first_frame_png, tmp_path):
    folder = tiny_model("ltx_i2v")
    engine = Engine(output_dir=tmp_path / "out")
    cases = {
        _foreign_lora(tmp_path / "foreign.safetensors"): r"its target modules \(blocks\.\*\.foo\) are not in",
        write_wan_original(tiny_model("wan_i2v"), "wan_i2v", tmp_path / "wan.safetensors"): "self_attn",
        # LTX's own module names, but 7 wide instead of 32 (a LoRA for another model size).
        _foreign_lora(tmp_path / "wide.safetensors", "transformer_blocks.{}.attn1.to_q", 7): "other shapes",
    }
    for lora, detail in cases.items():
        with pytest.raises(ValidationError, match=rf"^adapter '{lora.stem}' does not fit model '{folder}'") as info:
            engine.generate(_request(folder, "ltx_i2v", first_frame_png, [(lora, 1.0)]))
        message = str(info.value)
        assert "\n" not in message and message.count(". ") == 0, message
        assert re.search(detail, message), message
    base = engine.generate(_request(folder, "ltx_i2v", first_frame_png)).frames
    clean = Engine(output_dir=tmp_path / "clean").generate(_request(folder, "ltx_i2v", first_frame_png)).frames
    assert np.array_equal(base, clean)  # a failed load leaves nothing behind


def test_unreadable_file_gets_one_sentence(tiny_model, first_frame_png, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(ValidationError, match=r"^adapter 'broken' \(.*\) is not a readable safetensors LoRA file\.$"):
        Engine(output_dir=tmp_path).generate(_request(tiny_model("ltx_i2v"), "ltx_i2v", first_frame_png,
                                                      [(broken, 1.0)]))


def test_misfit_lora_through_cli_is_one_line(tiny_model, first_frame_png, tmp_path):
    """A real process: diffusers' own log lines about the failed load must not reach the terminal either."""
    out = tmp_path / "x.mp4"
    argv = _cli_args(tiny_model("ltx_i2v"), "ltx_i2v", first_frame_png, out,  # LTX: no CLIP processor notice
                     "--adapter", f"{_foreign_lora(tmp_path / 'foreign.safetensors')}:1")
    completed = subprocess.run([sys.executable, "-m", "app.cli", *argv], capture_output=True, text=True, check=False)
    lines = completed.stderr.strip().splitlines()
    assert completed.returncode == 2 and len(lines) == 1, completed.stderr
    assert "adapter 'foreign' does not fit model" in lines[0] and "(blocks.*.foo)" in lines[0]
    assert not out.exists()


def test_unet_without_lora_loader_gets_one_sentence(tiny_model, first_frame_png, tmp_path):
    lora = _foreign_lora(tmp_path / "any.safetensors")
    with pytest.raises(ValidationError, match=r"does not support LoRA adapters: its denoiser "
                                              r"\(UNetSpatioTemporalConditionModel\)"):
        Engine(output_dir=tmp_path).generate(_request(tiny_model("svd"), "svd", first_frame_png, [(lora, 1.0)]))


def _tiny_wan22(folder):
    """A tiny Wan 2.2 A14B-style I2V pipeline: two experts, boundary_ratio, no CLIP image encoder."""
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel

    from tests.tiny_pipelines import build_tiny_pipeline_object

    wan21 = build_tiny_pipeline_object("wan_i2v")
    config = {**wan21.transformer.config, "image_dim": None}  # Wan 2.2 has no image embedder
    experts = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        experts.append(WanTransformer3DModel.from_config(config))
    pipe = WanImageToVideoPipeline(tokenizer=wan21.tokenizer, text_encoder=wan21.text_encoder, vae=wan21.vae,
                                   scheduler=wan21.scheduler, transformer=experts[0], transformer_2=experts[1],
                                   boundary_ratio=0.9)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def wan22(tmp_path_factory):
    return _tiny_wan22(tmp_path_factory.mktemp("tiny-wan22"))


@pytest.mark.parametrize("writer", [write_diffusers, write_bare])
def test_wan22_adapter_reaches_both_experts(writer, wan22, first_frame_png, tmp_path):
    from diffusers import WanImageToVideoPipeline

    lora = writer(wan22, "wan_i2v", tmp_path / "style.safetensors")
    pipe = WanImageToVideoPipeline.from_pretrained(wan22, use_safetensors=True)
    experts = [pipe.transformer, pipe.transformer_2]
    with applied_adapters(pipe, experts, "tiny-wan22", [ResolvedAdapter("style", 0.5, lora, "0" * 64)]):
        for expert in experts:
            assert list(expert.peft_config) == ["style"]
            assert {m.scaling["style"] for m in expert.modules() if hasattr(m, "scaling")} == {0.5}
    assert not any(getattr(expert, "peft_config", None) for expert in experts)
    _check_scale_rules(Engine(output_dir=tmp_path / "out"), wan22, "wan_i2v", first_frame_png, lora)


def test_embedded_default_model_takes_its_own_bare_loras(tmp_path):
    """The studio's own pipeline has no pipeline-level loader: its denoiser loads bare PEFT keys directly."""
    from peft import LoraConfig

    from core.default_model.factory import TINY_SPEC, build_pipeline

    pipe = build_pipeline(TINY_SPEC)
    pipe.set_progress_bar_config(disable=True)
    generator = torch.Generator().manual_seed(123)
    with torch.no_grad():  # the shipped init zeroes the outputs; random weights make the LoRA visible
        for param in pipe.denoiser.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.2)
    pipe.denoiser.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                         target_modules=["to_q", "to_k", "to_v", "to_out"]), adapter_name="own")
    pipe.denoiser.save_lora_adapter(tmp_path, adapter_name="own", safe_serialization=True)
    pipe.denoiser.delete_adapters(["own"])
    lora = next(tmp_path.glob("*.safetensors"))
    image = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)

    def run(scale=None):
        adapters = [] if scale is None else [ResolvedAdapter("own", scale, lora, "0" * 64)]
        with applied_adapters(pipe, [pipe.denoiser], "embedded-default", adapters):
            return pipe(image, prompt=EMBEDDED_PROMPT, num_frames=4, height=32, width=48,
                        num_inference_steps=2, generator=torch.Generator().manual_seed(0)).frames

    base = run()
    assert np.array_equal(run(0.0), base) and not np.array_equal(run(1.0), base) and np.array_equal(run(), base)


def test_lora_that_fits_only_partly_is_refused_in_one_sentence(tiny_model, first_frame_png, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tiny_model("ltx_i2v")
    fitting = write_bare(folder, "ltx_i2v", tmp_path / "fits.safetensors")
    state = load_file(str(fitting)) | load_file(str(_foreign_lora(tmp_path / "extra.safetensors",
                                                                    "transformer_blocks.{}.attn1.to_z", 32)))
    save_file(state, str(tmp_path / "partly.safetensors"))
    engine = Engine(output_dir=tmp_path / "out")
    with pytest.raises(ValidationError, match=r"^adapter 'partly' does not fit model .*: only \d+ of its \d+ target "
                                              r"modules \(.*attn1\.to_z.*\) are in this model\.$"):
        engine.generate(_request(folder, "ltx_i2v", first_frame_png, [(tmp_path / "partly.safetensors", 1.0)]))
    engine.generate(_request(folder, "ltx_i2v", first_frame_png, [(fitting, 1.0)]))  # the fitting part alone loads
