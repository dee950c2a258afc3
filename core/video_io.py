"""MP4 reading and writing through imageio-ffmpeg.

Writing produces H.264 (yuv420p, +faststart) so clips play in Chromium and Firefox, and is atomic.
Reading streams frames one at a time, so a long 720p clip never sits in memory as float copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import imageio_ffmpeg
import numpy as np

from core.atomic import atomic_path
from core.errors import ValidationError


# Containers ffmpeg decodes that the studio accepts as clips.
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg reports about a clip: frame size in pixels, frame rate in frames per second."""

    width: int
    height: int
    fps: float
    num_frames: int
    codec: str


def write_mp4(frames: np.ndarray, path: Path, fps: float, crf: int = 18, preset: str = "veryfast") -> Path:
    """Encode `frames` (uint8, T×H×W×3, RGB) to an H.264 MP4 at `fps`, atomically.

    yuv420p needs even sides; odd sizes are refused rather than silently padded.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValidationError(f"frames must be uint8 with shape T×H×W×3, got {frames.dtype} {frames.shape}.")
    num_frames, height, width, _ = frames.shape
    if num_frames == 0:
        raise ValidationError("frames must hold at least one frame.")
    if height % 2 or width % 2:
        raise ValidationError(f"H.264 yuv420p needs even width and height, got {width}x{height}.")
    path = Path(path)
    with atomic_path(path, suffix=".mp4") as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            size=(width, height),
            fps=float(fps),
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            quality=None,
            macro_block_size=2,
            output_params=["-crf", str(crf), "-preset", preset, "-movflags", "+faststart"],
            ffmpeg_log_level="error",
        )
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
    return path


def _check_readable(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"video '{path}' does not exist or is not a file.")
    return path


def probe(path: Path) -> VideoInfo:
    """Read a clip's size, fps and frame count without decoding it fully."""
    path = _check_readable(path)
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = reader.__next__()
        reader.close()
        num_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    except (RuntimeError, OSError, StopIteration) as exc:
        raise ValidationError(f"video '{path}' could not be decoded: {exc}") from None
    width, height = meta["size"]
    return VideoInfo(width=width, height=height, fps=float(meta["fps"]), num_frames=int(num_frames),
                     codec=str(meta.get("codec", "")))


def iter_frames(path: Path) -> Iterator[np.ndarray]:
    """Yield frames of a clip one at a time, each uint8 H×W×3 RGB."""
    path = _check_readable(path)
    try:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = reader.__next__()
    except (RuntimeError, OSError, StopIteration) as exc:
        raise ValidationError(f"video '{path}' could not be decoded: {exc}") from None
    width, height = meta["size"]
    try:
        for raw in reader:
            yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def read_frames(path: Path) -> np.ndarray:
    """Decode a whole clip into one uint8 array T×H×W×3 (no float copies are made)."""
    frames = list(iter_frames(path))
    if not frames:
        raise ValidationError(f"video '{path}' holds no frames.")
    return np.stack(frames)
