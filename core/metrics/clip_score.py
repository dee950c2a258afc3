"""CLIP text–video score: mean cosine similarity between the prompt and sampled frames, higher is better.

    score = mean over up to 8 evenly spaced frames f of cos(E_text(prompt), E_image(f))

with E the projected CLIP embeddings (transformers' CLIPModel; frames preprocessed by the model's own
image processor). The raw cosine is reported (range [−1, 1], typically 0.15–0.35 for ViT-B/32), which is
the scale of the case study's 0.28 gate; tools that print "CLIPScore" often multiply by 100 or 2.5.

Weights are only ever read locally: from a folder the user gives, or from the local Hugging Face cache
(``local_files_only=True``). When none are found the score is "unavailable: no CLIP weights at …" and
no other number is reported in its place.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ValidationError
from core.metrics.clip import ClipSource, open_frames
from core.metrics.measures import result_fields
from core.metrics.result import MeasureResult, as_list

DEFAULT_MODEL_ID = "openai/clip-vit-base-patch32"
MAX_FRAMES = 8


@dataclass
class Unavailable:
    """No usable CLIP weights; `reason` is the sentence reported in place of a score."""

    reason: str


@dataclass
class ClipModel:
    """A loaded CLIP: model, tokenizer and image processor, and where they came from."""

    model: Any = field(repr=False)
    tokenizer: Any = field(repr=False)
    processor: Any = field(repr=False)
    source: str


@dataclass
class ClipScoreResult(MeasureResult):
    """`value` is None when unavailable (`note` then starts with "unavailable:")."""

    available: bool = False
    frames_used: list[int] = field(default_factory=list)
    model: str = ""


def _default_location() -> str:
    try:
        from huggingface_hub import constants

        cache = Path(constants.HF_HUB_CACHE)
    except ImportError:
        cache = Path("~/.cache/huggingface/hub").expanduser()
    return f"{cache / ('models--' + DEFAULT_MODEL_ID.replace('/', '--'))} (local Hugging Face cache)"


# Loaded CLIPs by location, most recently used last. Only successful loads are kept: an "unavailable"
# answer is looked up again next time, so weights installed while the studio runs are picked up
# without a restart (a miss costs a file check, or a failed local-only lookup in the HF cache).
_LOADED: OrderedDict[str | None, ClipModel] = OrderedDict()
_LOADED_MAX = 4  # each CLIP ViT-B/32 holds about 600 MB
_LOCK = threading.Lock()  # audit workers and page handlers may ask at once; load each location once


def load_clip(location: str | None = None) -> ClipModel | Unavailable:
    """CLIP from folder `location`, or DEFAULT_MODEL_ID from the local HF cache; never downloads.

    Loaded once per location. Returns Unavailable (not an exception) when weights are missing, so a
    batch of clips still gets every other measure; that answer is not remembered (see _LOADED).
    """
    with _LOCK:
        if location in _LOADED:
            _LOADED.move_to_end(location)
            return _LOADED[location]
        loaded = _load(location)
        if isinstance(loaded, ClipModel):
            _LOADED[location] = loaded
            while len(_LOADED) > _LOADED_MAX:
                _LOADED.popitem(last=False)
        return loaded


def clear_cache() -> None:
    """Forget every loaded CLIP (tests; or to free memory)."""
    with _LOCK:
        _LOADED.clear()


def _load(location: str | None) -> ClipModel | Unavailable:
    if location is not None:
        folder = Path(location).expanduser()
        if not (folder / "config.json").is_file():
            return Unavailable(f"unavailable: no CLIP weights at {folder}")
        where, model_id = str(folder), str(folder)
    else:
        where, model_id = _default_location(), DEFAULT_MODEL_ID
    try:
        import transformers
        from transformers import AutoTokenizer, CLIPModel as HFClipModel

        # transformers 5 offers a PIL image processor that needs no torchvision; older versions do not.
        processor_cls = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
        model = HFClipModel.from_pretrained(model_id, local_files_only=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(model_id, local_files_only=True)
        processor = processor_cls.from_pretrained(model_id, local_files_only=True)
    except (OSError, ValueError, KeyError):
        return Unavailable(f"unavailable: no CLIP weights at {where}")
    return ClipModel(model=model, tokenizer=tokenizer, processor=processor, source=where)


def _sample_frames(clip: ClipSource, count: int) -> tuple[list[int], list[np.ndarray]]:
    if not isinstance(clip, (np.ndarray, str, Path)):
        raise ValidationError(f"CLIP score needs the clip's frames (a uint8 array or a video path), got {type(clip).__name__}.")
    _, _, frames = open_frames(clip)
    if isinstance(clip, np.ndarray):
        indices = sorted(set(np.linspace(0, len(clip) - 1, min(count, len(clip))).round().astype(int).tolist()))
        return indices, [clip[i] for i in indices]
    import cv2

    kept = []  # length unknown while streaming: keep 224-px copies, then pick
    for frame in frames:
        scale = 224 / min(frame.shape[:2])
        kept.append(cv2.resize(frame, (round(frame.shape[1] * scale), round(frame.shape[0] * scale)),
                               interpolation=cv2.INTER_AREA) if scale < 1 else frame.copy())
    indices = sorted(set(np.linspace(0, len(kept) - 1, min(count, len(kept))).round().astype(int).tolist()))
    return indices, [kept[i] for i in indices]


def clip_score(clip: ClipSource, prompt: str, model: ClipModel | Unavailable | None) -> ClipScoreResult:
    """CLIP score of a clip (array or path) for `prompt`, with an injected model from `load_clip`."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValidationError("prompt for the CLIP score must be a non-empty string.")
    base = dict(**result_fields("clip_score"), low=-1.0, high=1.0)
    if not isinstance(model, ClipModel):
        reason = model.reason if isinstance(model, Unavailable) else "unavailable: no CLIP model was given"
        return ClipScoreResult(value=None, note=reason, **base)
    import torch

    indices, frames = _sample_frames(clip, MAX_FRAMES)
    max_length = int(getattr(model.model.config.text_config, "max_position_embeddings", 77))
    text = model.tokenizer([prompt], padding="max_length", max_length=max_length, truncation=True, return_tensors="pt")
    pixels = model.processor(images=frames, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        out = model.model(input_ids=text["input_ids"], attention_mask=text.get("attention_mask"), pixel_values=pixels)
    text_emb = torch.nn.functional.normalize(out.text_embeds, dim=-1)
    image_emb = torch.nn.functional.normalize(out.image_embeds, dim=-1)
    per_frame = (image_emb @ text_emb[0]).double().numpy()
    return ClipScoreResult(value=float(per_frame.mean()), per_frame=as_list(per_frame),
                           per_frame_index="sampled frames listed in frames_used", note=f"CLIP from {model.source}",
                           available=True, frames_used=indices, model=model.source, **base)
