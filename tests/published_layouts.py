"""Tiny random-weight folders laid out exactly like the published checkpoints users download.

`huggingface-cli download <repo>` gives a folder whose model_index.json, component classes, subfolders,
tokenizer files, weight shards and variants are those of the release, which often differ from what
`save_pretrained` of the studio's own I2V pipeline writes. Each builder below starts from the tiny
pipeline of `tests.tiny_pipelines` (the toy configs live there, once) and rewrites the folder into the
published layout:

| layout               | model_index `_class_name`       | what differs from the tiny folder                |
|----------------------|---------------------------------|--------------------------------------------------|
| cogvideox-5b-i2v     | CogVideoXImageToVideoPipeline   | sentencepiece T5Tokenizer; sharded transformer   |
|                      |                                 | and text encoder                                 |
| cogvideox-1.5-5b-i2v | CogVideoXImageToVideoPipeline   | as 5B, plus patch_size_t=2, ofs, RoPE only       |
| ltx-video            | LTXPipeline (the repo root)     | sentencepiece T5Tokenizer                        |
| ltx-video-0.9.5      | LTXConditionPipeline            | sentencepiece T5Tokenizer; timestep-cond. VAE    |
| wan2.1-i2v-480p/720p | WanImageToVideoPipeline         | CLIPVisionModelWithProjection, UniPC scheduler,  |
|                      |                                 | T5TokenizerFast files (spiece + tokenizer.json)  |
| wan2.2-i2v-a14b      | WanImageToVideoPipeline         | transformer + transformer_2, boundary_ratio,     |
|                      |                                 | image_encoder/image_processor null               |
| wan2.2-ti2v-5b       | WanPipeline                     | 48-channel VAE, expand_timesteps, no CLIP        |
| svd-fp16             | StableVideoDiffusionPipeline    | only `*.fp16.safetensors` (fp16 tensors)         |

The sentencepiece model is trained here on a few scenario prompts (no download); the tokenizer folder
then holds exactly what the published T5 repos ship: spiece.model, tokenizer_config.json,
special_tokens_map.json, added_tokens.json and no tokenizer.json.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.tiny_pipelines import build_tiny_pipeline_object

SPIECE_VOCAB = 32  # pieces of the trained sentencepiece model (T5 ids: <pad>=0, </s>=1, <unk>=2)
EXTRA_IDS = 100  # T5's sentinel tokens <extra_id_0..99>, appended after the pieces as in every T5 release
T5_VOCAB = SPIECE_VOCAB + EXTRA_IDS  # text encoder vocabulary that covers every token id
SHARD_BYTES = 40_000  # small enough that each tiny sharded component writes at least two shards

_CORPUS = ("dashcam view of a tire blowout on a rural road at night",
           "debris field during heavy rain on the four-lane interstate",
           "animal crossing the highway in fog at dusk",
           "stalled vehicle in a construction zone with truck spray")


def _spiece_model() -> bytes:
    """A unigram sentencepiece model with T5's special ids, trained in memory on `_CORPUS`."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(_CORPUS * 5), model_writer=model, vocab_size=SPIECE_VOCAB, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=1.0, hard_vocab_limit=False, minloglevel=2)
    return model.getvalue()


def write_t5_tokenizer(folder: Path, max_length: int, fast_files: bool = False) -> None:
    """Write a T5 tokenizer folder as the published repos ship it (CogVideoX, LTX-Video: slow-tokenizer files).

    fast_files: also write tokenizer.json and no added_tokens.json, as Wan's T5TokenizerFast folder does.
    """
    from transformers import T5Tokenizer

    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    spiece = _spiece_model()
    (folder / "spiece.model").write_bytes(spiece)
    extras = [f"<extra_id_{i}>" for i in range(EXTRA_IDS)]
    specials = {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    (folder / "special_tokens_map.json").write_text(json.dumps({"additional_special_tokens": extras, **specials}))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "additional_special_tokens": extras, "clean_up_tokenization_spaces": True, "extra_ids": EXTRA_IDS,
        "legacy": True, "model_max_length": max_length, "sp_model_kwargs": {}, "tokenizer_class": "T5Tokenizer",
        **specials}))
    # Sentinels take the ids after the pieces, last one first: <extra_id_99> = SPIECE_VOCAB.
    (folder / "added_tokens.json").write_text(json.dumps({t: T5_VOCAB - 1 - i for i, t in enumerate(extras)}))
    if fast_files:
        converted = folder.parent / f".{folder.name}-fast"
        T5Tokenizer.from_pretrained(str(folder)).save_pretrained(str(converted))
        shutil.move(str(converted / "tokenizer.json"), folder / "tokenizer.json")
        shutil.rmtree(converted)
        (folder / "added_tokens.json").unlink()


def _shard(pipe: Any, folder: Path, component: str) -> None:
    """Re-save one component in shards plus its `.safetensors.index.json`, as large releases ship."""
    target = folder / component
    for weights in target.glob("*.safetensors"):
        weights.unlink()
    getattr(pipe, component).save_pretrained(target, safe_serialization=True, max_shard_size=SHARD_BYTES)


def _rewrite_index(folder: Path, class_name: str | None = None, drop: tuple[str, ...] = (),
                   **entries: Any) -> None:
    """Edit model_index.json: the published `_class_name`, entries set or removed."""
    path = folder / "model_index.json"
    index = json.loads(path.read_text())
    if class_name:
        index["_class_name"] = class_name
    for key in drop:
        index.pop(key, None)
    index.update(entries)
    path.write_text(json.dumps(index, indent=2, sort_keys=True))


def _save(pipe: Any, folder: Path, *, tokenizer_length: int | None = None, fast_tokenizer: bool = False,
          shard: tuple[str, ...] = (), **index: Any) -> Path:
    """save_pretrained, then the published tokenizer files, shards and model_index.json edits."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder, safe_serialization=True)
    for component in shard:
        _shard(pipe, folder, component)
    if tokenizer_length is not None:
        write_t5_tokenizer(folder / "tokenizer", tokenizer_length, fast_files=fast_tokenizer)
        index["tokenizer"] = ["transformers", "T5TokenizerFast" if fast_tokenizer else "T5Tokenizer"]
    _rewrite_index(folder, **index)
    return folder


def cogvideox_5b_i2v(folder: Path, version: str = "1.0") -> Path:
    """THUDM/CogVideoX-5b-I2V (version "1.0") or CogVideoX1.5-5B-I2V ("1.5")."""
    pipe = build_tiny_pipeline_object("cogvideox_i2v", version=version, vocab_size=T5_VOCAB)
    return _save(pipe, folder, tokenizer_length=16, shard=("transformer", "text_encoder"))


def ltx_video(folder: Path, version: str = "0.9.0") -> Path:
    """Lightricks/LTX-Video's root (`LTXPipeline`) or LTX-Video-0.9.5 and later (`LTXConditionPipeline`)."""
    pipe = build_tiny_pipeline_object("ltx_i2v", version=version, vocab_size=T5_VOCAB)
    class_name = "LTXPipeline" if version == "0.9.0" else "LTXConditionPipeline"
    return _save(pipe, folder, tokenizer_length=16, class_name=class_name)


def _wan_unipc(flow_shift: float) -> Any:
    """The scheduler Wan's diffusers repos ship: UniPC on flow sigmas (shift 3.0 at 480p, 5.0 at 720p)."""
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=flow_shift,
                                   num_train_timesteps=1000)


def wan21_i2v(folder: Path, resolution: str = "480p") -> Path:
    """Wan-AI/Wan2.1-I2V-14B-480P-Diffusers or -720P-Diffusers (they differ in the scheduler's flow shift)."""
    pipe = build_tiny_pipeline_object("wan_i2v", version="2.1", vocab_size=T5_VOCAB, with_projection=True)
    pipe.scheduler = _wan_unipc(3.0 if resolution == "480p" else 5.0)  # also records the class in model_index
    return _save(pipe, folder, tokenizer_length=32, fast_tokenizer=True, shard=("transformer", "text_encoder"))


def wan22_i2v_a14b(folder: Path) -> Path:
    """Wan-AI/Wan2.2-I2V-A14B-Diffusers: high- and low-noise transformers, no CLIP image encoder."""
    pipe = build_tiny_pipeline_object("wan_i2v", version="2.2-a14b", vocab_size=T5_VOCAB)
    pipe.scheduler = _wan_unipc(5.0)
    return _save(pipe, folder, tokenizer_length=32, fast_tokenizer=True,
                 shard=("transformer", "transformer_2", "text_encoder"), image_encoder=[None, None],
                 image_processor=[None, None])


def wan22_ti2v_5b(folder: Path) -> Path:
    """Wan-AI/Wan2.2-TI2V-5B-Diffusers: a `WanPipeline` with expand_timesteps and the 48-channel VAE."""
    pipe = build_tiny_pipeline_object("wan_i2v", version="2.2-ti2v", vocab_size=T5_VOCAB)
    pipe.scheduler = _wan_unipc(5.0)
    return _save(pipe, folder, tokenizer_length=32, fast_tokenizer=True, shard=("transformer", "text_encoder"))


def svd_fp16_only(folder: Path) -> Path:
    """stabilityai/stable-video-diffusion-img2vid(-xt) downloaded with the card's variant="fp16" filter."""
    import torch

    pipe = build_tiny_pipeline_object("svd").to(torch.float16)
    folder = Path(folder)
    pipe.save_pretrained(folder, safe_serialization=True, variant="fp16")
    return folder


LAYOUTS: dict[str, Callable[[Path], Path]] = {
    "cogvideox-5b-i2v": cogvideox_5b_i2v,
    "cogvideox-1.5-5b-i2v": lambda folder: cogvideox_5b_i2v(folder, version="1.5"),
    "ltx-video": ltx_video,
    "ltx-video-0.9.5": lambda folder: ltx_video(folder, version="0.9.5"),
    "wan2.1-i2v-480p": wan21_i2v,
    "wan2.1-i2v-720p": lambda folder: wan21_i2v(folder, resolution="720p"),
    "wan2.2-i2v-a14b": wan22_i2v_a14b,
    "wan2.2-ti2v-5b": wan22_ti2v_5b,
    "svd-fp16": svd_fp16_only,
}


def build_published_layout(name: str, folder: Path) -> Path:
    """Build the named layout (a key of LAYOUTS) into `folder` and return it."""
    if name not in LAYOUTS:
        raise ValueError(f"unknown layout '{name}'; allowed values: {', '.join(LAYOUTS)}.")
    return LAYOUTS[name](Path(folder))
