"""Clip-level feature extractors for FVD/KVD, and feature caching. Nothing is built at import time.

Two extractors, both injected into FVD/KVD rather than built inside them:

* ``load_i3d(path)``: the I3D TorchScript file commonly used for FVD (Kinetics-400, 400-d features
  before the softmax). Called as ``module(x, rescale=False, resize=False, return_features=True)`` with
  x float32 N×3×16×224×224 in [-1, 1]. Results are reported as "FVD (I3D)". ``torch.jit.load`` runs
  the file's graph, so only a file the user names is ever loaded.
* ``random_r3d()``: a small 3D CNN with fixed-seed random weights (the case study's extractor when no
  pretrained network is at hand), 256-d features, input N×3×16×112×112 in [-1, 1]. Its distances are
  reported as "FVD-R3D-random (not I3D)" so nobody mistakes them for I3D FVD; the scale differs.

Clip to input: 16 frames at a fixed stride max(1, T // 16) from frame 0 (frames 0, 2, …, 30 of a
40-frame clip), each resized so the short side equals the input size (area interpolation) and
centre-cropped to a square.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from core.errors import ModelUnavailableError, ValidationError
from core.metrics.clip import ClipSource, open_frames

NUM_FRAMES = 16
I3D_NAME = "FVD (I3D)"
RANDOM_NAME = "FVD-R3D-random (not I3D)"


@dataclass
class FeatureExtractor:
    """A clip → feature-vector network and how to feed it.

    Attributes:
        name: the name distances are reported under (I3D_NAME or RANDOM_NAME).
        identity: a string that changes whenever the features would (used to validate caches).
        dim: feature dimension D.
        size: input side in pixels; num_frames: input length.
        forward: maps float32 tensor N×3×T×S×S in [-1, 1] to N×D.
    """

    name: str
    identity: str
    dim: int
    size: int
    forward: Callable[[Any], Any] = field(repr=False)
    num_frames: int = NUM_FRAMES

    @property
    def is_i3d(self) -> bool:
        return self.name == I3D_NAME


def clip_to_input(source: ClipSource, size: int, num_frames: int = NUM_FRAMES) -> np.ndarray:
    """uint8 num_frames×size×size×3 from a clip (array or path), decoding frames as a stream."""
    import cv2

    if not isinstance(source, (np.ndarray, str, Path)):
        raise ValidationError(f"FVD features need a uint8 array T×H×W×3 or a video path, got {type(source).__name__}.")
    name, _, frames = open_frames(source)
    kept: list[np.ndarray] = []
    total = len(source) if isinstance(source, np.ndarray) else None
    stride = max(1, total // num_frames) if total else None
    buffer: list[np.ndarray] = []  # for files the length is unknown: keep small copies, pick after
    for index, frame in enumerate(frames):
        if stride is not None and (index % stride or len(kept) >= num_frames):
            continue
        height, width = frame.shape[:2]
        scale = size / min(height, width)
        resized = cv2.resize(frame, (max(size, round(width * scale)), max(size, round(height * scale))),
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        top, left = (resized.shape[0] - size) // 2, (resized.shape[1] - size) // 2
        (kept if stride is not None else buffer).append(resized[top:top + size, left:left + size])
    if stride is None:
        if len(buffer) < num_frames:
            raise ValidationError(f"video '{name}' has {len(buffer)} frames; FVD features need at least {num_frames}.")
        stride = max(1, len(buffer) // num_frames)
        kept = buffer[::stride][:num_frames]
    if len(kept) < num_frames:
        raise ValidationError(f"clip has {total} frames; FVD features need at least {num_frames}.")
    return np.stack(kept)


def extract_features(sources: Iterable[ClipSource], extractor: FeatureExtractor, batch_size: int = 4) -> np.ndarray:
    """N×D float64 features of clips (arrays or paths), `batch_size` clips per forward pass."""
    import torch

    batches, pending = [], []

    def flush() -> None:
        x = torch.from_numpy(np.stack(pending)).permute(0, 4, 1, 2, 3).float().div_(127.5).sub_(1.0)
        with torch.no_grad():
            out = extractor.forward(x)
        out = out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)
        if out.ndim != 2 or out.shape[1] != extractor.dim:
            raise ValidationError(f"feature extractor '{extractor.name}' returned shape {tuple(out.shape)}, "
                                  f"expected N×{extractor.dim}.")
        batches.append(out.astype(np.float64))
        pending.clear()

    for source in sources:
        pending.append(clip_to_input(source, extractor.size, extractor.num_frames))
        if len(pending) == batch_size:
            flush()
    if pending:
        flush()
    if not batches:
        raise ValidationError("no clips were given to extract features from.")
    return np.concatenate(batches)


def load_i3d(path: str | Path, dim: int = 400) -> FeatureExtractor:
    """The I3D TorchScript file at `path` (a file the user chose) as an extractor."""
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(f"no I3D TorchScript file at {path}; pass the path of i3d_torchscript.pt.")
    try:
        with warnings.catch_warnings():
            # torch 2.x flags jit.load as deprecated; TorchScript is still the format the I3D file ships in.
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu").eval()
    except (RuntimeError, ValueError):
        raise ModelUnavailableError(f"{path} is not a TorchScript file that torch.jit.load can read.") from None

    def forward(x: Any) -> Any:
        return module(x, rescale=False, resize=False, return_features=True)

    return FeatureExtractor(name=I3D_NAME, identity=f"i3d:{path.name}:{path.stat().st_size}", dim=dim, size=224,
                            forward=forward)


def random_r3d(seed: int = 0, dim: int = 256) -> FeatureExtractor:
    """Small 3D CNN with fixed-seed random (He-normal) weights: same seed, same features, on any CPU."""
    import torch
    from torch import nn

    widths = [3, 32, 64, 128, dim]
    strides = [(1, 2, 2), (1, 2, 2), (2, 2, 2), (2, 2, 2)]
    layers: list[nn.Module] = []
    for cin, cout, stride in zip(widths[:-1], widths[1:], strides):
        layers += [nn.Conv3d(cin, cout, kernel_size=3, stride=stride, padding=1), nn.ReLU()]
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool3d(1), nn.Flatten()).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Conv3d):
                fan_in = layer.weight[0].numel()
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
                layer.bias.zero_()
    return FeatureExtractor(name=RANDOM_NAME, identity=f"r3d-random:seed{seed}:dim{dim}:v1", dim=dim, size=112,
                            forward=net)


def save_features(path: str | Path, features: np.ndarray, extractor: FeatureExtractor,
                  sources: list[str] | None = None) -> Path:
    """Write features (N×D) with the extractor identity and source names to an .npz file, atomically."""
    from core.atomic import atomic_path

    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, features=np.asarray(features, dtype=np.float64), identity=extractor.identity,
                     name=extractor.name, sources=np.asarray(sources or [], dtype=str))
    return path


def load_features(path: str | Path, extractor: FeatureExtractor | None = None) -> tuple[np.ndarray, list[str]]:
    """(features N×D, source names) from an .npz cache; refuses a cache made by another extractor."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"feature cache '{path}' does not exist.")
    try:
        with np.load(path, allow_pickle=False) as data:
            features, identity = data["features"], str(data["identity"])
            sources = [str(s) for s in data["sources"]]
    except (OSError, ValueError, KeyError):
        raise ValidationError(f"feature cache '{path}' is not a features .npz written by this tool.") from None
    if extractor is not None and identity != extractor.identity:
        raise ValidationError(f"feature cache '{path}' was made with '{identity}', not '{extractor.identity}'.")
    return features, sources


def reference_features(reference: Path, extractor: FeatureExtractor,
                       fallback_cache_dir: Path | None = None) -> np.ndarray:
    """N×D features of a reference set: a features .npz file, or the video files under a folder.

    A folder is searched recursively (core.video_io.video_files: names starting with '.' are skipped)
    and its features are cached beside the clips, else in `fallback_cache_dir` (see cached_features).
    """
    from core.video_io import VIDEO_SUFFIXES, video_files

    reference = Path(reference)
    if reference.is_file():
        return load_features(reference, extractor)[0]
    if not reference.is_dir():
        raise ValidationError(f"reference '{reference}' is neither a folder of clips nor a features .npz file.")
    clips = video_files(reference)
    if not clips:
        raise ValidationError(f"reference folder '{reference}' holds no video files ({', '.join(VIDEO_SUFFIXES)}).")
    return cached_features(clips, extractor, reference, fallback_cache_dir)


def cached_features(clips: list[Path], extractor: FeatureExtractor, cache_dir: Path,
                    fallback_cache_dir: Path | None = None) -> np.ndarray:
    """N×D features of `clips`, read from an .npz cache when one matches, else encoded and cached.

    A cache matches only the same extractor and the same files (name, size, modification time), so a
    reference set is encoded once. It is written into `cache_dir` (beside the clips); when that is
    read-only (a shared drive), into `fallback_cache_dir`.
    """
    import hashlib

    listing = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in clips]
    key = hashlib.sha256((extractor.identity + "\n" + "\n".join(listing)).encode()).hexdigest()[:16]
    name = f".scenario-studio-features-{key}.npz"
    candidates = [Path(cache_dir) / name] + ([Path(fallback_cache_dir) / name] if fallback_cache_dir else [])
    for cache in candidates:
        if cache.is_file():
            return load_features(cache, extractor)[0]
    features = extract_features(clips, extractor)
    for cache in candidates:
        try:
            save_features(cache, features, extractor, listing)
            break
        except OSError as exc:
            warnings.warn(f"could not cache features in {cache.parent}: {exc}", stacklevel=2)
    return features

