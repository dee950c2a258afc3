"""CLIP score with a tiny random CLIP built here and loaded back by path; and the 'unavailable' path."""

from __future__ import annotations

import numpy as np
import pytest

from core.metrics import clip_score as clip_module
from core.metrics.card import build_card
from core.metrics.clip_score import ClipModel, Unavailable, clip_score, load_clip
from tests.metrics_fixtures import clean, write_clip

WORDS = "dashcam view of a tire debris field during night rain dust storm on highway".split()


def save_tiny_clip(folder):
    """A tiny random CLIP (model, word-level tokenizer, image processor) saved with save_pretrained."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[EOS]": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=16, projection_dim=16,
                pad_token_id=0, bos_token_id=2, eos_token_id=2)
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, projection_dim=16)
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", eos_token="[EOS]",
                                        unk_token="[UNK]", model_max_length=16)
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    for part in (model, tokenizer, processor):
        part.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


def reference_score(handle: ClipModel, frames: list[np.ndarray], prompt: str) -> list[float]:
    """Independent path: get_text_features / get_image_features, normalised, one frame at a time."""
    import torch

    text = handle.tokenizer([prompt], padding="max_length", max_length=16, return_tensors="pt")
    out = []
    with torch.no_grad():
        t = handle.model.get_text_features(**text)
        t = getattr(t, "pooler_output", t)
        for frame in frames:
            pixels = handle.processor(images=[frame], return_tensors="pt")["pixel_values"]
            i = handle.model.get_image_features(pixel_values=pixels)
            i = getattr(i, "pooler_output", i)
            out.append(float(torch.nn.functional.cosine_similarity(t, i)[0]))
    return out


def test_tiny_clip_loaded_by_path_scores_frames(tiny_clip_dir):
    clip_module.clear_cache()
    handle = load_clip(str(tiny_clip_dir))
    assert isinstance(handle, ClipModel) and handle.source == str(tiny_clip_dir)
    frames = clean(20)
    prompt = "dashcam view of tire debris during night on highway"
    result = clip_score(frames, prompt, handle)
    assert result.available and result.frames_used == [0, 3, 5, 8, 11, 14, 16, 19]
    expected = reference_score(handle, [frames[i] for i in result.frames_used], prompt)
    assert result.per_frame == pytest.approx(expected, abs=1e-5)
    assert result.value == pytest.approx(np.mean(expected), abs=1e-5)
    assert -1.0 <= result.value <= 1.0


def test_clip_score_in_card_and_gate(tiny_clip_dir, tmp_path):
    handle = load_clip(str(tiny_clip_dir))
    card = build_card(write_clip(clean(12), tmp_path / "c.mp4"), prompt="night rain", clip_model=handle)
    verdict = next(g for g in card.gates if g.name == "clip_score")
    assert card.measures["clip_score"].available and verdict.passed is (card.measures["clip_score"].value > 0.28)


def test_unavailable_for_folder_without_weights(tmp_path):
    marker = load_clip(str(tmp_path / "no-clip"))
    assert marker == Unavailable(f"unavailable: no CLIP weights at {tmp_path / 'no-clip'}")
    result = clip_score(clean(4), "rain", marker)
    assert result.value is None and not result.available and result.note.startswith("unavailable: no CLIP weights at")
    card = build_card(clean(4), prompt="rain", clip_model=marker)
    verdict = next(g for g in card.gates if g.name == "clip_score")
    assert verdict.passed is None and verdict.note.startswith("unavailable") and card.passed
    assert card.to_dict()["measures"]["clip_score"]["value"] is None


def test_unavailable_when_not_in_local_cache(monkeypatch):
    monkeypatch.setattr(clip_module, "DEFAULT_MODEL_ID", "scenario-studio-tests/no-such-clip")
    clip_module.clear_cache()
    try:
        marker = load_clip(None)
    finally:
        clip_module.clear_cache()
    assert isinstance(marker, Unavailable)
    assert marker.reason.startswith("unavailable: no CLIP weights at ")
    assert "models--scenario-studio-tests--no-such-clip (local Hugging Face cache)" in marker.reason


def test_bad_prompt_refused():
    from core.errors import ValidationError

    with pytest.raises(ValidationError, match="prompt for the CLIP score must be a non-empty string."):
        clip_score(clean(4), "  ", None)


def test_weights_installed_after_an_unavailable_answer_are_picked_up(tmp_path):
    folder = tmp_path / "clip-later"
    clip_module.clear_cache()
    assert isinstance(load_clip(str(folder)), Unavailable)  # nothing there yet
    save_tiny_clip(folder)  # the user installs the weights while the studio runs
    handle = load_clip(str(folder))
    assert isinstance(handle, ClipModel) and handle.source == str(folder)
    assert load_clip(str(folder)) is handle  # a success is kept: loaded once


def test_default_weights_installed_later_are_picked_up(tmp_path, monkeypatch):
    # The default location is a model id looked up in the local HF cache; a local folder stands in for it.
    folder = tmp_path / "hf-cache-entry"
    folder.mkdir()
    monkeypatch.setattr(clip_module, "DEFAULT_MODEL_ID", str(folder))
    clip_module.clear_cache()
    try:
        assert isinstance(load_clip(None), Unavailable)
        save_tiny_clip(folder)
        assert isinstance(load_clip(None), ClipModel)
    finally:
        clip_module.clear_cache()
