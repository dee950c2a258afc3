"""Clip input shared by every per-clip measure: validation, streaming decode, and working copies.

A clip arrives as a uint8 array (T×H×W×3, RGB) or as a video path. Frames are visited once, in
order; per frame we keep only small things:

* full-resolution statistics computed on the uint8 frame itself (no float copy is ever made):
  mean colour, the mean absolute difference and the cosine similarity to the previous frame, and
  the mean absolute difference to the frame ``core.metrics.timebase.reference_lag(fps)`` back
  (≈ 0.1 s, the frame interval the detector thresholds were calibrated on; the previous frame at 10 fps);
* a grayscale *analysis* copy whose long side is at most ``ANALYSIS_LONG_SIDE`` (320 px; 320×180
  for 720p) on which optical flow, SSIM, warping error and the flicker spectrum are computed;
* a grayscale *detail* copy whose long side is at most ``DETAIL_LONG_SIDE`` (640 px) for sharpness,
  because blur of one or two full-resolution pixels is invisible at 320 px;
* a 32-px-wide thumbnail (blurred by 1 px) for cut detection, and frame 0 at full size for first-frame fidelity.

For a 40-frame 720p clip that is about 15 MB instead of the 110 MB the decoded clip occupies, and
about 440 MB a float32 copy would need. Flow fields are cached on the prepared clip (see
``core.metrics.flow``), so TCS, warping error and motion share one computation per frame pair.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np

from core.errors import ValidationError
from core.metrics.timebase import reference_lag

ANALYSIS_LONG_SIDE = 320
DETAIL_LONG_SIDE = 640
THUMB_WIDTH = 32
MIN_FRAMES = 3  # TCS compares two consecutive flow fields, i.e. three frames.
MIN_SIDE = 16  # SSIM's 11×11 window and DIS's 8×8 patches need room.
DEFAULT_FPS = 10.0  # dashcam footage in the case study is 10 fps; used when an array has no rate.

ClipSource = Union[np.ndarray, str, Path, "PreparedClip"]


@dataclass
class PreparedClip:
    """One clip reduced to what the measures need. Arrays are per frame (T) or per pair (T-1).

    Attributes:
        name: the file name, or "array" for in-memory frames.
        num_frames, height, width: of the source clip, in frames and pixels.
        fps: frame rate in frames per second.
        analysis_gray: T×h×w uint8 grayscale, long side ≤ 320 px.
        detail_gray: T×h2×w2 uint8 grayscale, long side ≤ 640 px.
        thumbs: T×th×32 float32 grayscale thumbnails in [0, 1], Gaussian-blurred with σ = 1 px.
        first_frame: H×W×3 uint8 RGB copy of frame 0.
        mean_rgb: T×3 float64 mean colour per frame, in [0, 1].
        pair_mad: (T-1) float64 mean absolute difference of consecutive frames, all channels, in [0, 1].
        pair_cosine: (T-1) float64 cosine similarity of consecutive flattened RGB frames.
        reference_lag: frames between the two frames of a reference pair, ≈ 0.1 s (1 at ≤ 10 fps).
        reference_mad: (T-lag) float64 mean absolute difference of frames t and t+lag, all channels,
            in [0, 1]; equal to pair_mad at ≤ 10 fps. A clip no longer than the lag has one pair,
            its first and last frames (and reference_lag = T-1).
        prepare_seconds: wall time spent decoding and reducing the clip.
        flow_cache: flow fields per flow configuration, filled by ``core.metrics.flow``.
    """

    name: str
    num_frames: int
    height: int
    width: int
    fps: float
    analysis_gray: np.ndarray
    detail_gray: np.ndarray
    thumbs: np.ndarray
    first_frame: np.ndarray
    mean_rgb: np.ndarray
    pair_mad: np.ndarray
    pair_cosine: np.ndarray
    reference_lag: int = 1
    reference_mad: np.ndarray = field(default_factory=lambda: np.zeros(0))
    prepare_seconds: float = 0.0
    flow_cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def analysis_scale(self) -> float:
        """Analysis width divided by source width (≤ 1)."""
        return self.analysis_gray.shape[2] / self.width


def scaled_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(w, h) shrunk so the long side is at most `long_side`, never enlarged, sides at least 1."""
    scale = min(1.0, long_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def check_frames(frames: Any, what: str = "clip") -> np.ndarray:
    """Refuse anything but a uint8 T×H×W×3 array with enough frames and pixels; return it."""
    if not isinstance(frames, np.ndarray):
        raise ValidationError(f"{what} must be a uint8 array T×H×W×3 or a video path, got {type(frames).__name__}.")
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValidationError(f"{what} frames must be a uint8 array T×H×W×3, got {frames.dtype} {tuple(frames.shape)}.")
    _check_size(frames.shape[0], frames.shape[2], frames.shape[1], what)
    return frames


def _check_size(num_frames: int, width: int, height: int, what: str) -> None:
    if num_frames < MIN_FRAMES:
        raise ValidationError(f"{what} has {num_frames} frame(s); the temporal measures need at least {MIN_FRAMES}.")
    if min(width, height) < MIN_SIDE:
        raise ValidationError(f"{what} frames must be at least {MIN_SIDE}×{MIN_SIDE} pixels, got {width}×{height}.")


def open_frames(source: np.ndarray | str | Path) -> tuple[str, float, Iterator[np.ndarray]]:
    """(name, fps, frame iterator) for an array or a video path; decoding streams from ffmpeg.

    Each yielded frame is uint8 H×W×3 RGB. Arrays are validated here; files when decoded.
    """
    if isinstance(source, np.ndarray):
        frames = check_frames(source)
        return "array", DEFAULT_FPS, iter(frames)
    if not isinstance(source, (str, Path)):
        raise ValidationError(f"clip must be a uint8 array T×H×W×3 or a video path, got {type(source).__name__}.")
    path = Path(source)
    if not path.is_file():
        raise ValidationError(f"video '{path}' does not exist or is not a file.")
    import imageio_ffmpeg  # deferred: importing it looks up the ffmpeg binary

    try:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = reader.__next__()
    except (RuntimeError, OSError, StopIteration):
        raise ValidationError(f"video '{path}' could not be decoded; it is not a video that ffmpeg can read.") from None
    width, height = meta["size"]
    fps = float(meta.get("fps") or DEFAULT_FPS)

    def frames_from_pipe() -> Iterator[np.ndarray]:
        try:
            for raw in reader:
                yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
        except (RuntimeError, OSError):
            raise ValidationError(f"video '{path}' could not be decoded to the end; the file looks damaged.") from None
        finally:
            reader.close()

    return path.name, fps, frames_from_pipe()


class _FullResolutionStats:
    """Per-frame and per-pair statistics of full-resolution uint8 frames, fed one frame at a time.

    cv2.norm works straight on uint8 and accumulates in double precision, so no float copy is made.
    The last `lag` frames are kept (references, not copies) for the reference-pair difference.
    """

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.means: list[tuple[float, ...]] = []
        self.mads: list[float] = []
        self.cosines: list[float] = []
        self.lag_mads: list[float] = []
        self.recent: deque[np.ndarray] = deque(maxlen=lag)
        self.prev_sq = 0.0

    def add(self, frame: np.ndarray) -> None:
        import cv2

        sq = cv2.norm(frame, cv2.NORM_L2SQR)
        self.means.append(cv2.mean(frame)[:3])
        if self.recent:
            prev = self.recent[-1]
            self.mads.append(cv2.norm(prev, frame, cv2.NORM_L1))
            diff_sq = cv2.norm(prev, frame, cv2.NORM_L2SQR)
            denom = np.sqrt(self.prev_sq * sq)
            # <a,b> = (|a|² + |b|² − |a−b|²) / 2; two black frames count as identical.
            self.cosines.append((self.prev_sq + sq - diff_sq) / (2.0 * denom) if denom > 0
                                else float(self.prev_sq == sq))
        if self.lag > 1 and len(self.recent) == self.lag:
            self.lag_mads.append(cv2.norm(self.recent[0], frame, cv2.NORM_L1))
        self.recent.append(frame)
        self.prev_sq = sq

    def fields(self, pixels: float) -> dict[str, Any]:
        """The PreparedClip fields: mean_rgb, pair_mad, pair_cosine, reference_lag, reference_mad."""
        import cv2

        lag, lag_mads = self.lag, self.lag_mads
        if lag > 1 and not lag_mads:
            # A clip no longer than the lag (3 frames at 30 fps): its first and last frames are the
            # pair closest to 0.1 s apart that it has.
            lag, lag_mads = len(self.recent) - 1, [cv2.norm(self.recent[0], self.recent[-1], cv2.NORM_L1)]
        pair_mad = np.asarray(self.mads, dtype=np.float64) / (pixels * 255.0)
        return dict(mean_rgb=np.asarray(self.means, dtype=np.float64) / 255.0, pair_mad=pair_mad,
                    pair_cosine=np.clip(np.asarray(self.cosines, dtype=np.float64), -1.0, 1.0),
                    reference_lag=lag,
                    reference_mad=pair_mad if lag == 1 else np.asarray(lag_mads, dtype=np.float64) / (pixels * 255.0))


def prepare_clip(source: ClipSource, fps: float | None = None, analysis_long_side: int = ANALYSIS_LONG_SIDE,
                 detail_long_side: int = DETAIL_LONG_SIDE) -> PreparedClip:
    """Decode (streaming) and reduce a clip once; a PreparedClip passes through unchanged.

    Args:
        source: uint8 T×H×W×3 RGB array, a video path, or an already prepared clip.
        fps: frame rate to use for an array (default 10 fps); ignored for files, which carry one.
        analysis_long_side, detail_long_side: working sizes (the bench raises them to compare the
            default working resolution with full resolution).
    """
    if isinstance(source, PreparedClip):
        return source
    import cv2

    start = time.perf_counter()
    name, file_fps, frames = open_frames(source)
    clip_fps = float(fps) if (fps and name == "array") else file_fps
    stats = _FullResolutionStats(reference_lag(clip_fps))
    analysis, detail, thumbs = [], [], []
    first = None
    for frame in frames:
        if first is None:
            first = frame.copy()
            height, width = frame.shape[:2]
            _check_size(MIN_FRAMES, width, height, f"video '{name}'")
            detail_size = scaled_size(width, height, max(detail_long_side, analysis_long_side))
            analysis_size = scaled_size(width, height, analysis_long_side)
            thumb_size = (THUMB_WIDTH, max(1, round(THUMB_WIDTH * height / width)))
        stats.add(frame)
        small = cv2.resize(frame, detail_size, interpolation=cv2.INTER_AREA) if detail_size != (width, height) else frame
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        detail.append(gray)
        tiny = cv2.resize(gray, analysis_size, interpolation=cv2.INTER_AREA) if analysis_size != detail_size else gray
        analysis.append(tiny)
        thumb = cv2.resize(tiny, thumb_size, interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
        # A 1-px blur of the thumbnail keeps shakes of a few percent of the width from looking like cuts.
        thumbs.append(cv2.GaussianBlur(thumb, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT))
    if first is None:
        raise ValidationError(f"video '{name}' holds no frames.")
    num_frames = len(analysis)
    _check_size(num_frames, width, height, f"video '{name}'" if name != "array" else "clip")
    return PreparedClip(
        name=name, num_frames=num_frames, height=height, width=width, fps=clip_fps,
        analysis_gray=np.stack(analysis), detail_gray=np.stack(detail), thumbs=np.stack(thumbs),
        first_frame=first, **stats.fields(float(width * height * 3)),
        prepare_seconds=time.perf_counter() - start)
