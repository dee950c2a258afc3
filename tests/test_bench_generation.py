"""bench/generation.py: the --tiny mode end to end into a temp file, the GPU report, the full-size configs."""

from __future__ import annotations

import pytest

from bench import generation, generation_report, report

pytestmark = pytest.mark.timeout(300)


def test_tiny_mode_writes_its_section_to_the_given_file(tmp_path):
    out = tmp_path / "PERFORMANCE.md"
    real_doc = report.PERFORMANCE_MD
    before = real_doc.read_text(encoding="utf-8") if real_doc.exists() else None
    assert generation.main(["--tiny", "--families", "ltx_i2v", "--runs", "1", "--out", str(out)]) == 0
    assert (real_doc.read_text(encoding="utf-8") if real_doc.exists() else None) == before  # real doc untouched
    text = out.read_text(encoding="utf-8")
    assert "<!-- bench:generation:start -->" in text and "<!-- bench:generation:end -->" in text
    row = next(line for line in text.splitlines() if line.startswith("| ltx_i2v |"))
    # plain, engine, VAE tiling, end to end, from_pretrained, engine load, weights hash: all measured
    assert "| 64x64 | 9 |" in row and row.count(" s |") == 7, row
    assert "model CPU offload needs a CUDA GPU; ignored" in text  # the offload path ran and said why not
    assert "still to be measured" in text and "python -m bench.generation --runs 3" in text
    assert "python -m pytest -m gpu tests/test_gpu_families.py" in text


def test_tiny_mode_notes_an_option_the_family_lacks(tmp_path):
    """SVD's temporal-decoder VAE has no tiling: the row says '-' and a note says why."""
    out = tmp_path / "PERFORMANCE.md"
    assert generation.main(["--tiny", "--families", "svd", "--runs", "1", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| svd |"))
    assert row.split("|")[7].strip() == "-"  # the VAE tiling column
    assert "VAE tiling is not supported by AutoencoderKLTemporalDecoder; ignored" in text


def test_full_size_mode_refuses_without_cuda(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(SystemExit, match="needs a CUDA GPU"):
        generation.main(["--families", "ltx_i2v", "--out", str(tmp_path / "p.md")])
    assert not (tmp_path / "p.md").exists()


def test_gpu_report_shows_overhead_speed_up_loading_and_memory():
    case = generation.FULL_CASES["cogvideox_i2v"]
    timing = generation.Timing(case, plain=[100.0, 102.0, 101.0], engine=[101.0, 103.0, 102.0], best=[50.0] * 3,
                               compile_warmup_s=90.0, load_s=12.5, engine_load_s=14.0, hash_s=1.25,
                               vae_tiling=[104.0] * 3, cpu_offload=[130.0] * 3,
                               peak_gib={"engine": 41.5, "load": 20.0, "vae_tiling": 30.25, "cpu_offload": 12.0,
                                         "best": 41.0})
    text = generation_report.render_gpu([timing], runs=3)
    speed, loading = [line for line in text.splitlines() if line.startswith("| cogvideox_i2v |")]
    assert "| 720x480 | 49 | 50 | 101.0 s | 102.0 s | +1.0% | 50.0 s | 2.02x | 90.0 s | 41.5 GiB |" in speed
    assert loading == ("| cogvideox_i2v | 12.5 s | 14.0 s | 1.250 s | 20.0 GiB | 104.0 s | 30.2 GiB | 130.0 s | "
                       "12.0 GiB | 41.0 GiB |")


def test_gpu_report_leaves_unmeasured_modes_blank():
    case = generation.FULL_CASES["svd"]
    timing = generation.Timing(case, plain=[10.0], engine=[10.0], notes=["VAE tiling is not supported"])
    text = generation_report.render_gpu([timing], runs=1)
    loading = [line for line in text.splitlines() if line.startswith("| svd |")][1]
    assert loading == "| svd | - | - | - | - | - | - | - | - | - |"
    assert "- VAE tiling is not supported" in text


# Billions of parameters of each part as these configs build it (counted on the meta device and pinned here,
# so any config edit shows). What each is checked against: the size in the published model's name, where it
# has one -- CogVideoX-5B (transformer 5.57B), LTX-Video "2B" (1.92B), Wan 2.1 "14B" (the backbone, see
# test_wan_i2v_is_the_14b_backbone_plus_its_image_branch). SVD-XT's UNet (1.52B), CLIP ViT-H/14's vision tower
# (0.63B), T5-v1.1-XXL's encoder (4.76B) and UMT5-XXL's encoder (5.68B) carry no size in their names; their
# counts could not be checked against a published figure offline, so they are pinned only.
PUBLISHED_BILLIONS = {
    "cogvideox_i2v": {"transformer": 5.570, "vae": 0.216, "text_encoder": 4.762},
    "ltx_i2v": {"transformer": 1.923, "vae": 0.419, "text_encoder": 4.762},
    "wan_i2v": {"transformer": 16.395, "vae": 0.127, "text_encoder": 5.681, "image_encoder": 0.631},
    "svd": {"unet": 1.525, "vae": 0.098, "image_encoder": 0.632},
}


def _billions(module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e9


@pytest.mark.parametrize("family", sorted(PUBLISHED_BILLIONS))
def test_full_size_configs_match_the_published_parameter_counts(family):
    """Built on the meta device (no memory), in bf16 as the bench builds them."""
    import torch

    pipe = generation.FULL_BUILDERS[family]("meta", torch.bfloat16)
    for part, billions in PUBLISHED_BILLIONS[family].items():
        module = getattr(pipe, part)
        assert _billions(module) == pytest.approx(billions, abs=0.001), (family, part)
        assert {p.dtype for p in module.parameters()} == {torch.bfloat16}, (family, part)


def test_wan_i2v_is_the_14b_backbone_plus_its_image_branch():
    """'14B' names the shared Wan 2.1 backbone: the same config without the I2V image branch (36 -> 16 input
    channels, no CLIP image embedder, no added K/V projections) is the 14B text-to-video transformer, and the
    branch is 40 layers x (K and V 5120x5120 + bias + RMS-norm) plus the embedder and the wider patch embed."""
    import torch
    from diffusers import WanTransformer3DModel

    config = dict(generation.FULL_BUILDERS["wan_i2v"]("meta", torch.bfloat16).transformer.config)
    i2v = {key: config[key] for key in ("image_dim", "added_kv_proj_dim", "in_channels")}
    assert i2v == {"image_dim": 1280, "added_kv_proj_dim": 5120, "in_channels": 36}
    base = {k: v for k, v in config.items() if not k.startswith("_")}
    base.update(image_dim=None, added_kv_proj_dim=None, in_channels=16)
    with torch.device("meta"):
        t2v = WanTransformer3DModel(**base)
    assert 14.0 < _billions(t2v) < 14.5
    added_kv = 40 * (2 * (5120 * 5120 + 5120) + 5120)
    assert _billions(t2v) + added_kv / 1e9 == pytest.approx(16.395, abs=0.05)


@pytest.mark.parametrize("family", generation.FULL_FAMILIES)
def test_each_full_size_case_meets_its_family_rules(family):
    """The engine resolves each published default request unchanged (read from the meta-built configs)."""
    import torch

    from core.families import get_family

    case = generation.FULL_CASES[family]
    pipe = generation.FULL_BUILDERS[family]("meta", torch.bfloat16)
    settings = get_family(family).resolve(
        pipe, generation.case_defaults(case), prompt=generation.PROMPT, negative_prompt="", width=None,
        height=None, num_frames=None, fps=None, num_inference_steps=None, guidance_scale=None)
    assert settings.adjustments == []
    assert (settings.width, settings.height, settings.num_frames) == (case.width, case.height, case.num_frames)


@pytest.mark.parametrize("family", generation.FULL_FAMILIES)
def test_the_gpu_step_check_passes_on_the_tiny_pipeline_on_cpu(family):
    """tests/test_gpu_families.py's check (fewest steps, finite latents, clip shape) on the family's tiny
    pipeline, so the GPU test's own code is proven to run."""
    from tests.test_gpu_families import assert_good_steps
    from tests.tiny_pipelines import TINY_DEFAULTS, build_tiny_pipeline_object

    width, height, frames = TINY_DEFAULTS[family]
    pipe = build_tiny_pipeline_object(family)
    assert_good_steps(pipe, generation.Case(family, width, height, frames, 1, 4.0, 8))


def test_cogvideox_vae_tiling_keeps_the_latent_size_at_the_published_geometry():
    """The tiny CogVideoX VAE breaks under tiling (its tiles are 4 latent pixels: the tiled encode of a 64x64
    frame comes out 9 latents wide, not 8, and the bench notes the failure). The published geometry tiles
    right: sample size 720x480, 8x spatial, a 720x480 first frame encodes to 90x60 latents. Narrow channels
    keep this cheap; tiling depends on the sample size and the downsampling, not on the widths."""
    import torch
    from diffusers import AutoencoderKLCogVideoX

    from core.families import get_family

    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(block_out_channels=(32, 32, 32, 32), latent_channels=16, layers_per_block=1,
                                 norm_num_groups=32, temporal_compression_ratio=4, sample_height=480,
                                 sample_width=720).eval()
    assert get_family("cogvideox_i2v").enable_vae_tiling(type("Pipe", (), {"vae": vae})()) is None
    with torch.no_grad():
        latents = vae.encode(torch.randn(1, 3, 1, 480, 720)).latent_dist.sample()
    assert tuple(latents.shape) == (1, 16, 1, 60, 90)
