"""FVD/KVD with injected extractors: the random 3D CNN, a tiny TorchScript stand-in for I3D, cached features."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from core.metrics import synthetic
from core.metrics.features import (I3D_NAME, RANDOM_NAME, clip_to_input, extract_features, load_features, load_i3d,
                                   random_r3d, save_features)
from core.metrics.fvd import FVD
from core.metrics.kvd import KVD
from tests.metrics_fixtures import clean, write_clip


class TinyI3D(torch.nn.Module):
    """Stands in for i3d_torchscript.pt: same call signature, checks the input contract, 400-d output."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(6, 400)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        if rescale or resize or not return_features:
            raise RuntimeError("called with the wrong flags")
        if x.shape[1] != 3 or x.shape[2] != 16 or x.shape[3] != 224 or x.shape[4] != 224:
            raise RuntimeError("wrong input shape")
        if float(x.min()) < -1.0 or float(x.max()) > 1.0:
            raise RuntimeError("input outside [-1, 1]")
        return self.proj(torch.cat([x.mean(dim=(2, 3, 4)), x.std(dim=(2, 3, 4))], dim=1))


@pytest.fixture(scope="module")
def i3d_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("i3d") / "i3d_torchscript.pt"
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is the I3D file's format
        torch.jit.script(TinyI3D()).save(str(path))
    return path


def clip_set(count: int, corrupt: bool = False) -> list[np.ndarray]:
    clips = [synthetic.clean_clip(16, 72, 128, seed=s, velocity=(1.0 + s % 3, 0.5)) for s in range(count)]
    if corrupt:
        clips = [synthetic.flicker(c, [3, 7, 11], 0.45).frames for c in clips]
    return clips


def test_random_extractor_is_named_apart_and_deterministic():
    a, b, other = random_r3d(seed=0), random_r3d(seed=0), random_r3d(seed=1)
    assert a.name == RANDOM_NAME == "FVD-R3D-random (not I3D)" and not a.is_i3d
    clips = clip_set(3)
    fa, fb, fo = (extract_features(clips, e) for e in (a, b, other))
    assert fa.shape == (3, 256)
    np.testing.assert_array_equal(fa, fb)
    assert not np.allclose(fa, fo)


def test_clip_to_input_samples_at_fixed_stride_and_crops_square():
    frames = clean(40)
    x = clip_to_input(frames, 32)
    assert x.shape == (16, 32, 32, 3) and x.dtype == np.uint8
    import cv2

    expected = cv2.resize(frames[2], (57, 32), interpolation=cv2.INTER_AREA)[:, 12:44]  # stride 40 // 16 = 2
    np.testing.assert_array_equal(x[1], expected)


def test_features_from_file_match_array(tmp_path):
    frames = clean(20)
    extractor = random_r3d()
    from_array = extract_features([frames], extractor)
    from_file = extract_features([write_clip(frames, tmp_path / "c.mp4")], extractor)
    # H.264 at CRF 10 is nearly lossless: the feature vectors agree to a few percent of their norm.
    assert np.linalg.norm(from_file - from_array) < 0.05 * np.linalg.norm(from_array)


def test_fvd_kvd_names_sizes_and_warnings():
    extractor = random_r3d()
    reference = extract_features(clip_set(6), extractor)
    fvd, kvd = FVD(extractor), KVD(extractor)
    for measure in (fvd, kvd):
        measure.update_reference(features=reference[:3])
        measure.update_reference(features=reference[3:])  # accumulates
        measure.update_generated(clips=clip_set(4, corrupt=True))
    f, k = fvd.compute(), kvd.compute()
    assert f.name == "FVD-R3D-random (not I3D)" and k.name == "KVD-R3D-random (not I3D)"
    assert (f.n_reference, f.n_generated, f.feature_dim) == (6, 4, 256) == (k.n_reference, k.n_generated, k.feature_dim)
    assert len(f.warnings) == 2 and "6 clips, fewer than the 256 feature dimensions" in f.warnings[0]
    assert "KVD stays unbiased" in k.warnings[0]
    assert f.value > 0 and k.value > 0


def test_distances_order_clean_below_corrupted():
    extractor = random_r3d()
    reference = extract_features(clip_set(6), extractor)
    same = extract_features([synthetic.clean_clip(16, 72, 128, seed=s + 10, velocity=(1.0 + s % 3, 0.5))
                             for s in range(6)], extractor)
    broken = extract_features(clip_set(6, corrupt=True), extractor)
    values = {}
    for name, generated in (("same", same), ("broken", broken), ("identical", reference)):
        fvd, kvd = FVD(extractor), KVD(extractor)
        for m in (fvd, kvd):
            m.update_reference(features=reference)
            m.update_generated(features=generated)
        values[name] = (fvd.compute().value, kvd.compute().value)
    assert values["identical"][0] == pytest.approx(0.0, abs=1e-6)
    assert values["same"][0] < values["broken"][0] and values["same"][1] < values["broken"][1]


def test_cached_reference_features_round_trip(tmp_path):
    extractor = random_r3d()
    features = extract_features(clip_set(3), extractor)
    path = save_features(tmp_path / "ref.npz", features, extractor, ["a.mp4", "b.mp4", "c.mp4"])
    loaded, sources = load_features(path, extractor)
    np.testing.assert_array_equal(loaded, features)
    assert sources == ["a.mp4", "b.mp4", "c.mp4"]
    from core.errors import ValidationError

    with pytest.raises(ValidationError, match="was made with 'r3d-random:seed0:dim256:v1', not 'r3d-random:seed1"):
        load_features(path, random_r3d(seed=1))


def test_i3d_torchscript_by_path(i3d_file):
    extractor = load_i3d(i3d_file)
    assert extractor.name == I3D_NAME == "FVD (I3D)" and extractor.is_i3d and extractor.dim == 400
    features = extract_features(clip_set(3), extractor)
    assert features.shape == (3, 400)
    fvd = FVD(extractor)
    fvd.update_reference(features=features)
    fvd.update_generated(features=features)
    result = fvd.compute()
    assert result.name == "FVD (I3D)" and result.value == pytest.approx(0.0, abs=1e-6)
