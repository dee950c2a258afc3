"""The published full-size architectures, built in code with random weights (nothing is downloaded).

One definition shared by bench/generation.py (GPU timings) and tests/test_gpu_families.py (one denoising
step per family on a GPU); tests/test_bench_generation.py builds each on the `meta` device and counts its
parameters. Speed does not depend on weight values, so random weights time exactly like the real ones.

Each family copies one published checkpoint's configs; the case is its default request:
- cogvideox_i2v: THUDM/CogVideoX-5b-I2V (its config.json files); 49 frames, 720x480, 50 steps, CFG 6.
- ltx_i2v: Lightricks/LTX-Video 0.9.0 (its config.json files); 41 frames, 1280x704, 50 steps, CFG 3.
- wan_i2v: Wan-AI/Wan2.1-I2V-14B-480P-Diffusers (the "Wan-I2V-14B-480p" config of diffusers'
  scripts/convert_wan_to_diffusers.py); 81 frames, 832x480, 40 steps, CFG 5.
- svd: stabilityai/stable-video-diffusion-img2vid-xt (UNetSpatioTemporalConditionModel's defaults are
  the XT unet config); 25 frames, 1024x576, 25 steps, max guidance 3.

Text encoders: T5-v1.1-XXL (CogVideoX, LTX-Video) and UMT5-XXL (Wan), encoder only. Image encoders: CLIP
ViT-H/14 (1280 wide, 32 layers, projection 1024) for Wan (penultimate hidden states, hence image_dim 1280)
and SVD (projected image embeds, hence cross_attention_dim 1024). Tokenizers are word-level stand-ins
padding to the same token counts (226, 128, 512): token ids do not change the speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

FULL_FAMILIES = ("cogvideox_i2v", "ltx_i2v", "wan_i2v", "svd")


@dataclass(frozen=True)
class Case:
    """One timed generation: size in pixels, frame count, denoising steps, CFG scale, fps."""

    family: str
    width: int
    height: int
    num_frames: int
    steps: int
    guidance: float
    fps: int


@dataclass
class Timing:
    """Seconds per run for each mode of one case; a mode that cannot run here stays None (with a note).

    load_s: `from_pretrained` from disk + `.to(device)`, as a model card does; engine_load_s: the engine's
    load (folder checks, weights hash before and after, the same from_pretrained and placement);
    hash_s: `core.model_folder.weights_hash` over the saved folder with its per-file cache emptied.
    peak_gib: peak GPU memory per mode in GiB (torch.cuda.max_memory_allocated, reset before each mode).
    """

    case: Case
    plain: list[float]
    engine: list[float]
    best: list[float] | None = None
    compile_warmup_s: float | None = None
    end_to_end: list[float] | None = None
    load_s: float | None = None
    engine_load_s: float | None = None
    hash_s: float | None = None
    vae_tiling: list[float] | None = None
    cpu_offload: list[float] | None = None
    peak_gib: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# The published default request of each checkpoint (model cards / pipeline defaults).
FULL_CASES = {
    "cogvideox_i2v": Case("cogvideox_i2v", 720, 480, 49, 50, 6.0, 8),
    "ltx_i2v": Case("ltx_i2v", 1280, 704, 41, 50, 3.0, 25),
    "wan_i2v": Case("wan_i2v", 832, 480, 81, 40, 5.0, 16),
    "svd": Case("svd", 1024, 576, 25, 25, 3.0, 7),  # SVD-XT: max_guidance_scale 3, fps 7 (pipeline defaults)
}


def _encoder_xxl_kwargs() -> dict:
    """What T5-v1.1-XXL and UMT5-XXL encoders share: 24 layers, 4096 wide, 64 heads of 64, gated GELU."""
    return dict(d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64, relative_attention_num_buckets=32,
                relative_attention_max_distance=128, feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6,
                dropout_rate=0.1, tie_word_embeddings=False, pad_token_id=0, eos_token_id=1,
                decoder_start_token_id=0)


def t5_v1_1_xxl_config() -> Any:
    """google/t5-v1_1-xxl encoder (CogVideoX and LTX-Video text encoder), 32128-token vocabulary."""
    from transformers import T5Config

    return T5Config(vocab_size=32128, **_encoder_xxl_kwargs())


def umt5_xxl_config() -> Any:
    """google/umt5-xxl encoder (Wan text encoder): T5-XXL shape, 256384-token vocabulary, bias per layer."""
    from transformers import UMT5Config

    return UMT5Config(vocab_size=256384, **_encoder_xxl_kwargs())


def clip_vit_h14_config() -> Any:
    """CLIP ViT-H/14 vision tower (laion2B): 224 px, patch 14, 32 layers, 1280 wide, 16 heads, projection 1024."""
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
                            image_size=224, patch_size=14, projection_dim=1024, hidden_act="gelu",
                            layer_norm_eps=1e-5)


def _on_device(factory: Callable[[], Any], device: str, dtype: Any) -> Any:
    """Build a module directly on `device` in `dtype` (no host copy, no fp32 copy of billions of weights).

    The default dtype is switched while building because a 14B model in fp32 (57 GB) would not fit beside
    the rest on an 80 GB GPU; the final cast catches any buffer a module creates in a fixed dtype.
    """
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype if dtype.is_floating_point else previous)
    try:
        with torch.device(device):
            module = factory()
    finally:
        torch.set_default_dtype(previous)
    return module.to(dtype=dtype).eval()


def build_full_cogvideox(device: str, dtype: Any) -> Any:
    """THUDM/CogVideoX-5b-I2V: 42 blocks, 48 heads x 64, learned pos. emb. for 90x60 latents x 49 frames."""
    from diffusers import (AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXImageToVideoPipeline,
                           CogVideoXTransformer3DModel)
    from transformers import T5EncoderModel

    from tests.tiny_pipelines import _tokenizer

    transformer = _on_device(lambda: CogVideoXTransformer3DModel(
        num_attention_heads=48, attention_head_dim=64, in_channels=32, out_channels=16, time_embed_dim=512,
        text_embed_dim=4096, num_layers=42, sample_width=90, sample_height=60, sample_frames=49, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=226, spatial_interpolation_scale=1.875,
        temporal_interpolation_scale=1.0, use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=True), device, dtype)
    vae = _on_device(lambda: AutoencoderKLCogVideoX(
        block_out_channels=(128, 256, 256, 512), latent_channels=16, layers_per_block=3, norm_num_groups=32,
        temporal_compression_ratio=4, sample_height=480, sample_width=720, scaling_factor=0.7), device, dtype)
    text_encoder = _on_device(lambda: T5EncoderModel(t5_v1_1_xxl_config()), device, dtype)
    scheduler = CogVideoXDDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       clip_sample=False, prediction_type="v_prediction", rescale_betas_zero_snr=True,
                                       set_alpha_to_one=True, snr_shift_scale=1.0, timestep_spacing="trailing")
    return CogVideoXImageToVideoPipeline(tokenizer=_tokenizer(226), text_encoder=text_encoder, vae=vae,
                                         transformer=transformer, scheduler=scheduler)


def build_full_ltx(device: str, dtype: Any) -> Any:
    """Lightricks/LTX-Video 0.9.0: 28 blocks, 32 heads x 64, 128-channel latents at 32x spatial, 8x temporal."""
    from diffusers import (AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXImageToVideoPipeline,
                           LTXVideoTransformer3DModel)
    from transformers import T5EncoderModel

    from tests.tiny_pipelines import _tokenizer

    transformer = _on_device(lambda: LTXVideoTransformer3DModel(
        in_channels=128, out_channels=128, patch_size=1, patch_size_t=1, num_attention_heads=32,
        attention_head_dim=64, cross_attention_dim=2048, num_layers=28, caption_channels=4096,
        qk_norm="rms_norm_across_heads", norm_elementwise_affine=False, norm_eps=1e-6), device, dtype)
    vae = _on_device(lambda: AutoencoderKLLTXVideo(
        latent_channels=128, block_out_channels=(128, 256, 512, 512),
        decoder_block_out_channels=(128, 256, 512, 512), layers_per_block=(4, 3, 3, 3, 4),
        decoder_layers_per_block=(4, 3, 3, 3, 4), spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        decoder_inject_noise=(False, False, False, False, False), upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1), patch_size=4, patch_size_t=1, resnet_norm_eps=1e-6, scaling_factor=1.0,
        encoder_causal=True, decoder_causal=False, timestep_conditioning=False), device, dtype)
    text_encoder = _on_device(lambda: T5EncoderModel(t5_v1_1_xxl_config()), device, dtype)
    scheduler = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05,
                                                base_image_seq_len=1024, max_image_seq_len=4096, shift_terminal=0.1)
    return LTXImageToVideoPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder,
                                   tokenizer=_tokenizer(128), transformer=transformer)


def build_full_wan(device: str, dtype: Any) -> Any:
    """Wan 2.1 I2V 14B 480p: 40 blocks, 40 heads x 128 (dim 5120), FFN 13824, 36 input channels (16 noise +
    16 first-frame latents + 4 mask), CLIP image context (image_dim 1280) through added K/V projections."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPVisionModel, UMT5EncoderModel

    from tests.tiny_pipelines import _tokenizer, clip_image_processor

    transformer = _on_device(lambda: WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=40, attention_head_dim=128, in_channels=36, out_channels=16,
        text_dim=4096, freq_dim=256, ffn_dim=13824, num_layers=40, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=1280, added_kv_proj_dim=5120,
        rope_max_seq_len=1024), device, dtype)
    vae = _on_device(lambda: AutoencoderKLWan(  # the published Wan 2.1 VAE: 8x spatial, 4x temporal, z 16
        base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
        temperal_downsample=[False, True, True]), device, dtype)
    text_encoder = _on_device(lambda: UMT5EncoderModel(umt5_xxl_config()), device, dtype)
    image_encoder = _on_device(lambda: CLIPVisionModel(clip_vit_h14_config()), device, dtype)
    # The published 480p scheduler: UniPC on flow sigmas with shift 3.
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                        num_train_timesteps=1000, flow_shift=3.0)
    return WanImageToVideoPipeline(tokenizer=_tokenizer(512), text_encoder=text_encoder, vae=vae,
                                   scheduler=scheduler, image_processor=clip_image_processor(224),
                                   image_encoder=image_encoder, transformer=transformer)


def build_full_svd(device: str, dtype: Any) -> Any:
    """SVD-XT: the default UNetSpatioTemporalConditionModel (320-640-1280-1280, 25 frames), the SD-style
    VAE with a temporal decoder (128-256-512-512), CLIP ViT-H/14 image embeds (1024)."""
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPVisionModelWithProjection

    from tests.tiny_pipelines import SVD_SCHEDULER_CONFIG, clip_image_processor

    unet = _on_device(lambda: UNetSpatioTemporalConditionModel(sample_size=96, num_frames=25), device, dtype)
    vae = _on_device(lambda: AutoencoderKLTemporalDecoder(
        block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4, layers_per_block=2,
        latent_channels=4, sample_size=768, scaling_factor=0.18215), device, dtype)
    image_encoder = _on_device(lambda: CLIPVisionModelWithProjection(clip_vit_h14_config()), device, dtype)
    return StableVideoDiffusionPipeline(vae=vae, image_encoder=image_encoder, unet=unet,
                                        scheduler=EulerDiscreteScheduler(**SVD_SCHEDULER_CONFIG),
                                        feature_extractor=clip_image_processor(224))


FULL_BUILDERS: dict[str, Callable[[str, Any], Any]] = {
    "cogvideox_i2v": build_full_cogvideox, "ltx_i2v": build_full_ltx, "wan_i2v": build_full_wan,
    "svd": build_full_svd,
}
