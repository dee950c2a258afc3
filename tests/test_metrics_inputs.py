"""Every bad input is refused with one clear sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelUnavailableError, ValidationError
from core.metrics import get_metric, list_metrics
from core.metrics.card import build_card
from core.metrics.detectors import get_detector
from core.metrics.features import clip_to_input, load_features, load_i3d
from core.metrics.fidelity import first_frame_fidelity
from core.metrics.flow import FlowConfig
from core.metrics.fvd import FVD, frechet_distance
from core.metrics.gates import load_gates
from core.metrics.kvd import KVD, mmd2_unbiased
from core.metrics.ssim import ssim
from core.metrics.tcs import temporal_consistency
from tests.metrics_fixtures import clean, write_clip


def one_sentence(message: str) -> bool:
    return message.endswith(".") and "\n" not in message and message.count(". ") == 0


def refused(match: str, fn, *args, error=ValidationError, **kwargs) -> None:
    with pytest.raises(error, match=match) as info:
        fn(*args, **kwargs)
    assert one_sentence(str(info.value)), str(info.value)


@pytest.mark.parametrize("frames,match", [
    (np.zeros((5, 32, 32, 3), np.float32), "must be a uint8 array T×H×W×3, got float32"),
    (np.zeros((5, 32, 32), np.uint8), r"got uint8 \(5, 32, 32\)"),
    (np.zeros((5, 32, 32, 4), np.uint8), r"got uint8 \(5, 32, 32, 4\)"),
    (np.zeros((2, 32, 32, 3), np.uint8), "has 2 frame\\(s\\); the temporal measures need at least 3"),
    (np.zeros((0, 32, 32, 3), np.uint8), "has 0 frame"),
    (np.zeros((5, 8, 32, 3), np.uint8), "at least 16×16 pixels, got 32×8"),
])
def test_bad_arrays(frames, match):
    refused(match, temporal_consistency, frames)


def test_wrong_source_type():
    refused("must be a uint8 array T×H×W×3 or a video path, got list", build_card, [1, 2, 3])


def test_missing_file(tmp_path):
    refused("does not exist or is not a file", build_card, tmp_path / "missing.mp4")


def test_undecodable_and_empty_files(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    refused("could not be decoded", build_card, garbage)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    refused("could not be decoded", build_card, empty)


def test_video_with_too_few_frames(tmp_path):
    path = write_clip(clean(2), tmp_path / "two.mp4")
    refused("has 2 frame\\(s\\); the temporal measures need at least 3", build_card, path)


def test_bad_flow_settings():
    refused("flow method must be one of dis, farneback, tvl1, got 'raft'", FlowConfig, "raft")
    refused("DIS preset must be one of ultrafast, fast, medium, got 'slow'", FlowConfig, "dis", "slow")


def test_bad_image_for_fidelity(tmp_path):
    frames = clean(4)
    refused("does not exist", first_frame_fidelity, frames, tmp_path / "nope.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    refused("could not be read; use a PNG or JPEG file", first_frame_fidelity, frames, junk)
    refused("image must be a uint8 array H×W×3, got float64", first_frame_fidelity, frames, np.zeros((4, 4, 3)))


def test_bad_ssim_inputs():
    refused("same shape", ssim, np.zeros((20, 20)), np.zeros((20, 21)))
    refused("at least 11×11", ssim, np.zeros((8, 8)), np.zeros((8, 8)))


def test_empty_and_tiny_sets():
    fvd = FVD()
    refused("FVD needs at least 2 reference clips, got 0", fvd.compute)
    fvd.update_reference(features=np.ones((1, 4)))
    fvd.update_generated(features=np.ones((3, 4)))
    refused("FVD needs at least 2 reference clips, got 1", fvd.compute)
    refused("non-empty N×D array, got shape \\(0, 4\\)", fvd.update_generated, features=np.zeros((0, 4)))
    refused("generated features have 5 dimensions, the other features 4", fvd.update_generated, features=np.zeros((2, 5)))
    refused("NaN or infinite", KVD().update_reference, features=np.full((3, 2), np.nan))
    refused("needs a feature extractor", KVD().update_reference, clips=[clean(3)])
    refused("either features or clips", KVD().update_reference)
    refused("KVD needs at least 2 clips in each set, got 1 and 5", mmd2_unbiased, np.ones((1, 3)), np.ones((5, 3)))
    refused("matching shapes", frechet_distance, np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_fvd_input_clip_too_short():
    refused("FVD features need at least 16", clip_to_input, clean(10), 32)


def test_feature_cache_errors(tmp_path):
    refused("does not exist", load_features, tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"zip?")
    refused("is not a features .npz written by this tool", load_features, bad)


def test_missing_i3d_file(tmp_path):
    refused("no I3D TorchScript file at", load_i3d, tmp_path / "i3d.pt", error=ModelUnavailableError)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not torchscript")
    refused("is not a TorchScript file", load_i3d, junk, error=ModelUnavailableError)


def test_unknown_names():
    refused("unknown metric 'psnr'; known metrics: tcs", get_metric, "psnr")
    refused("unknown detector 'shake'", get_detector, "shake")
    assert [m.name for m in list_metrics()][:2] == ["tcs", "temporal_coherence"]


@pytest.mark.parametrize("text,match", [
    ("gates: {tcs_min: high}\n", "knob 'gates.tcs_min' in .* must be a number ≥ 0, got 'high'"),
    ("gates: {tcs_max: 1}\n", "unknown knob 'gates.tcs_max'"),
    ("detectors: {freeze_min_frames: 0}\n", "must be a whole number ≥ 1, got 0"),
    ("gates: {fvd_gate_random_extractor: 1}\n", "must be true or false"),
    ("extra: {}\n", "unknown section 'extra'"),
    ("gates: [1, 2]\n", "must be a mapping"),
    ("gates: {tcs_min: [\n", "is not valid YAML"),
    ("measures: {flicker_cutoff_fraction_of_nyquist: 2}\n", "must be in \\(0, 1\\], got 2.0"),
])
def test_bad_gates_file(tmp_path, text, match):
    path = tmp_path / "gates.yaml"
    path.write_text(text)
    refused(match, load_gates, path)


def test_gates_file_missing(tmp_path):
    refused("does not exist", load_gates, tmp_path / "none.yaml")


def test_default_gates_have_the_brief_values():
    gates = load_gates()
    assert (gates.gates.fvd_max, gates.gates.tcs_min, gates.gates.clip_score_min, gates.gates.rejection_rate_alert) == \
        (250.0, 0.85, 0.28, 0.15)
    assert (gates.detectors.flicker_max_consecutive_diff, gates.detectors.static_max_mean_diff,
            gates.detectors.colour_drift_max) == (0.4, 0.01, 0.15)


def test_every_knob_in_gates_yaml_has_a_comment():
    from core.metrics.gates import GATES_PATH

    lines = Path(GATES_PATH).read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  ") and ":" in line and not line.strip().startswith("#"):
            assert lines[i - 1].strip().startswith("#"), f"knob without a comment: {line.strip()}"


def test_fidelity_reads_images_through_the_guarded_loader(tmp_path, monkeypatch):
    import PIL.Image

    import core.image_input as image_input

    frames = clean(4)
    path = tmp_path / "frame.png"
    PIL.Image.fromarray(frames[0]).save(path)
    assert first_frame_fidelity(frames, path).value == first_frame_fidelity(frames, frames[0]).value
    monkeypatch.setattr(image_input, "MAX_PIXELS", 100)  # the bomb guard now refuses this frame
    refused("decompression bomb guard", first_frame_fidelity, frames, path)
