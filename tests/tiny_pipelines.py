"""Tiny random-weight diffusers pipelines, one per family, built entirely in code (no downloads).

`build_tiny_pipeline(family, folder)` builds the pipeline, saves it with
`save_pretrained(folder, safe_serialization=True)` and returns the folder, which then loads back with
`PipelineClass.from_pretrained(folder, use_safetensors=True)` exactly like a downloaded checkpoint.

The configs keep the published architectures' *structure* (same classes, same compression factors,
learned positional embeddings for CogVideoX I2V, CLIP image conditioning for Wan and SVD) at toy widths,
so the family adapters read the same rules from them as from the real checkpoints:

| family        | default size | frames rule             | notes                                     |
|---------------|--------------|-------------------------|-------------------------------------------|
| cogvideox_i2v | 64x64 fixed  | 8k+1, at most 17        | learned positional embeddings             |
| wan_i2v       | 64x64        | 4k+1                    | CLIP vision 32x32, processor sized to it  |
| ltx_i2v       | 64x64        | 8k+1, sides multiple 32 | VAE 8x spatial, 8x temporal               |
| svd           | 64x64        | at most 8               | CLIP vision image_size=224 (SVD resizes)  |

Builders take options for the published releases (`build_tiny_pipeline_object(family, version=...)`):
CogVideoX "1.5" (RoPE only, patch_size_t, ofs), Wan "2.2-a14b" (two transformers) and "2.2-ti2v"
(WanPipeline, 48-channel VAE), LTX "0.9.5" (timestep-conditioned VAE); `tests.published_layouts`
lays them out as the releases ship.

Each 2-step generation takes a second or two on one CPU core. Weights come from `torch.manual_seed(0)`
before every component, so the same family always gets bit-identical weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

TINY_FAMILIES = ("cogvideox_i2v", "wan_i2v", "ltx_i2v", "svd")

# Tiny default request per family: (width, height, num_frames). Used by the tests and bench --tiny.
TINY_DEFAULTS: dict[str, tuple[int, int, int]] = {
    "cogvideox_i2v": (64, 64, 9),
    "wan_i2v": (64, 64, 9),
    "ltx_i2v": (64, 64, 9),
    "svd": (64, 64, 8),
}

# Words the tiny tokenizer knows (everything else maps to <unk>); enough for the scenario prompts.
_VOCAB_WORDS = (
    "dashcam view of a an the during on in with and at from to tire blowout debris field erratic cut-in "
    "animal crossing stalled vehicle construction zone clear day heavy rain truck spray dust storm night "
    "fog snow low-sun glare dusk two-lane four-lane highway interstate rural road urban arterial "
    "daytime nighttime car cars lane merge merging blurry static flicker , ."
).split()


def _tokenizer(max_length: int) -> Any:
    """A WordLevel tokenizer wrapped as a fast transformers tokenizer, T5-style (<pad>=0, </s>=1, <unk>=2)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in _VOCAB_WORDS:
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(WordLevel(vocab=vocab, unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    # T5 appends </s> to every sequence; the pipelines count on the same behaviour.
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=max_length)


def clip_image_processor(side: int) -> Any:
    """A CLIP image processor (OpenAI CLIP mean/std) resizing and centre-cropping to `side` x `side`."""
    try:  # transformers 5 without torchvision only offers the PIL processor
        from transformers import CLIPImageProcessorPil as ImageProcessor
    except ImportError:
        from transformers import CLIPImageProcessor as ImageProcessor

    return ImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})


# The published SVD / SVD-XT scheduler config (EDM-style Karras sigmas, v-prediction).
SVD_SCHEDULER_CONFIG = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear",
    num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
    timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)


def _t5_encoder(d_model: int, umt5: bool = False, vocab_size: int | None = None) -> Any:
    """A 2-layer T5 (or UMT5, for Wan) encoder of width `d_model`; vocabulary sized for `_tokenizer` unless given."""
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    kwargs = dict(vocab_size=vocab_size or len(_VOCAB_WORDS) + 3, d_model=d_model, d_kv=8, d_ff=37, num_layers=2,
                  num_heads=4, relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
                  decoder_start_token_id=0)
    return UMT5EncoderModel(UMT5Config(**kwargs)) if umt5 else T5EncoderModel(T5Config(**kwargs))


def _cogvideox(version: str = "1.0", vocab_size: int | None = None) -> Any:
    """CogVideoX 5B I2V (version "1.0": learned positional embeddings, one size) or 1.5 5B I2V ("1.5":
    RoPE only, patch_size_t=2, an `ofs` embedding and inverted latent scaling, 16k+1 frames)."""
    import torch
    from diffusers import (AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXImageToVideoPipeline,
                           CogVideoXTransformer3DModel)

    torch.manual_seed(0)
    # 4 VAE blocks -> 8x spatial; sample 8x8 latents -> the only accepted size is 64x64 (learned pos emb).
    v15 = version == "1.5"
    # 1.5 adds the `ofs` embedding, which is summed onto the time embedding (so the same width), and is
    # landscape like the published 170x96 latents: 64 pixels high and 64 to 96 wide.
    v15_config = {"patch_size_t": 2, "ofs_embed_dim": 2, "patch_bias": False, "sample_width": 12} if v15 else {}
    transformer = CogVideoXTransformer3DModel(**{
        "num_attention_heads": 2, "attention_head_dim": 16,  # RoPE splits the head dim: keep it >= 16
        "in_channels": 8, "out_channels": 4, "time_embed_dim": 2, "text_embed_dim": 32, "num_layers": 1,
        "sample_width": 8, "sample_height": 8, "sample_frames": 17, "patch_size": 2, "temporal_compression_ratio": 4,
        "max_text_seq_length": 16, "use_rotary_positional_embeddings": True,
        "use_learned_positional_embeddings": not v15, **v15_config})
    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(
        block_out_channels=(8, 8, 8, 8), latent_channels=4, layers_per_block=1, norm_num_groups=2,
        temporal_compression_ratio=4, sample_height=64, sample_width=64, invert_scale_latents=v15)
    # Same schedule as the published CogVideoX-5B I2V scheduler config.
    scheduler = CogVideoXDDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        prediction_type="v_prediction", rescale_betas_zero_snr=True, set_alpha_to_one=True,
        snr_shift_scale=1.0, timestep_spacing="trailing")
    torch.manual_seed(0)
    return CogVideoXImageToVideoPipeline(tokenizer=_tokenizer(16), text_encoder=_t5_encoder(32, vocab_size=vocab_size),
                                         vae=vae,
                                         transformer=transformer, scheduler=scheduler)


def _wan_vae(version: str) -> Any:
    """Wan 2.1 VAE (z_dim 16, 8x spatial), or the Wan 2.2 TI2V one (z_dim 48, residual, 2x2 patchified: 16x)."""
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    if version != "2.2-ti2v":
        return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                                temperal_downsample=[False, True, True])  # 8x spatial, 4x temporal
    return AutoencoderKLWan(base_dim=8, decoder_base_dim=8, z_dim=48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True], is_residual=True, in_channels=12,
                            out_channels=12, patch_size=2, scale_factor_spatial=16, scale_factor_temporal=4,
                            latents_mean=[0.0] * 48, latents_std=[1.0] * 48)


def _wan(version: str = "2.1", vocab_size: int | None = None, with_projection: bool = False) -> Any:
    """Wan I2V at toy width. version "2.1": CLIP image conditioning (image_dim), one transformer;
    "2.2-a14b": two transformers (high/low noise) split at `boundary_ratio`, no image encoder;
    "2.2-ti2v": the 5B text/image-to-video `WanPipeline` (48-channel VAE, `expand_timesteps`)."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline, WanPipeline, WanTransformer3DModel
    from transformers import CLIPVisionConfig, CLIPVisionModel, CLIPVisionModelWithProjection

    try:  # transformers 5 without torchvision only offers the PIL processor
        from transformers import CLIPImageProcessorPil as ImageProcessor
    except ImportError:
        from transformers import CLIPImageProcessor as ImageProcessor

    vae = _wan_vae(version)
    z_dim = int(vae.config.z_dim)
    # 2.1/2.2 I2V: noise + first-frame latents + 4 mask channels; TI2V: the first frame replaces latent 0.
    in_channels = z_dim if version == "2.2-ti2v" else 2 * z_dim + 4

    def transformer() -> Any:
        torch.manual_seed(0)
        return WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=in_channels,
            out_channels=z_dim, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", rope_max_seq_len=32, image_dim=4 if version == "2.1" else None)

    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)  # Wan 2.1 480p flow shift
    torch.manual_seed(0)
    text = {"tokenizer": _tokenizer(32), "text_encoder": _t5_encoder(32, umt5=True, vocab_size=vocab_size)}
    if version == "2.2-ti2v":
        return WanPipeline(**text, vae=vae, scheduler=scheduler, transformer=transformer(), expand_timesteps=True)
    if version == "2.2-a14b":
        return WanImageToVideoPipeline(**text, vae=vae, scheduler=scheduler, transformer=transformer(),
                                       transformer_2=transformer(), boundary_ratio=0.9)
    torch.manual_seed(0)
    # The processor must emit exactly the CLIP config's image_size (32), or the patch embedding fails.
    encoder_class = CLIPVisionModelWithProjection if with_projection else CLIPVisionModel
    image_encoder = encoder_class(CLIPVisionConfig(
        hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        intermediate_size=16, patch_size=4))
    image_processor = ImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return WanImageToVideoPipeline(**text, vae=vae, scheduler=scheduler, image_processor=image_processor,
                                   image_encoder=image_encoder, transformer=transformer())


def _ltx(version: str = "0.9.0", vocab_size: int | None = None) -> Any:
    """LTX-Video; version "0.9.5" has the timestep-conditioned VAE decoder (decodes with a little noise)."""
    import torch
    from diffusers import (AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXImageToVideoPipeline,
                           LTXVideoTransformer3DModel)

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4,
        attention_head_dim=8, cross_attention_dim=32, num_layers=1, caption_channels=32)
    torch.manual_seed(0)
    # Three space-time downsamplings with patch_size 1 -> 8x spatial and 8x temporal (8k+1 frames).
    vae = AutoencoderKLLTXVideo(
        latent_channels=8, block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        decoder_inject_noise=(False, False, False, False, False), upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1), timestep_conditioning=version != "0.9.0", patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False)
    # The published LTX-Video scheduler config (resolution-dependent shift).
    scheduler = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05,
                                                base_image_seq_len=1024, max_image_seq_len=4096,
                                                shift_terminal=0.1)
    torch.manual_seed(0)
    return LTXImageToVideoPipeline(scheduler=scheduler, vae=vae, text_encoder=_t5_encoder(32, vocab_size=vocab_size),
                                   tokenizer=_tokenizer(16), transformer=transformer)


def _svd() -> Any:
    import torch
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    # Attention only in the lower-resolution block: full-resolution spatio-temporal attention is
    # impractically slow on CPU (DESIGN.md pitfalls).
    unet = UNetSpatioTemporalConditionModel(
        sample_size=16, in_channels=8, out_channels=4,
        down_block_types=("DownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal"),
        up_block_types=("CrossAttnUpBlockSpatioTemporal", "UpBlockSpatioTemporal"),
        block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=32, num_attention_heads=(2, 4),
        addition_time_embed_dim=8, projection_class_embeddings_input_dim=24,  # 3 added ids x 8
        num_frames=8)
    torch.manual_seed(0)
    # GroupNorm(32) inside the temporal decoder needs channels that are multiples of 32. 3 blocks -> 4x.
    vae = AutoencoderKLTemporalDecoder(block_out_channels=(32, 32, 32), latent_channels=4, layers_per_block=1,
                                       down_block_types=("DownEncoderBlock2D",) * 3)
    torch.manual_seed(0)
    # SVD resizes the conditioning image to 224x224 before CLIP, so the tiny encoder keeps image_size=224.
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=32, num_hidden_layers=2, num_attention_heads=4, image_size=224,
        intermediate_size=37, patch_size=32))
    feature_extractor = clip_image_processor(224)
    scheduler = EulerDiscreteScheduler(**SVD_SCHEDULER_CONFIG)
    return StableVideoDiffusionPipeline(vae=vae, image_encoder=image_encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=feature_extractor)


_BUILDERS: dict[str, Callable[[], Any]] = {
    "cogvideox_i2v": _cogvideox, "wan_i2v": _wan, "ltx_i2v": _ltx, "svd": _svd,
}


def build_tiny_pipeline_object(family: str, **options: Any) -> Any:
    """The tiny pipeline in memory (fp32, CPU), without saving it.

    `options` go to the family's builder: `version` (a published release, see each builder),
    `vocab_size` (text encoder vocabulary, for another tokenizer), `with_projection` (Wan CLIP class).
    """
    if family not in _BUILDERS:
        raise ValueError(f"unknown tiny family '{family}'; allowed values: {', '.join(TINY_FAMILIES)}.")
    return _BUILDERS[family](**options)


def build_tiny_pipeline(family: str, folder: Path) -> Path:
    """Build family's tiny pipeline, save it as safetensors into `folder`, and return `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    build_tiny_pipeline_object(family).save_pretrained(folder, safe_serialization=True)
    return folder
