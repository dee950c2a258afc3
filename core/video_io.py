"""MP4 reading and writing with the ffmpeg binary that imageio-ffmpeg ships.

Writing produces H.264 (yuv420p, +faststart) so clips play in Chromium and Firefox, and is atomic
(core.atomic: the unfinished file lives in `<data dir>/.partial`). The encoder is our own child
process, so it is stopped on every exception and, on Linux, dies with the studio even on `kill -9`.
Reading streams frames one at a time, so a long 720p clip never sits in memory as float copies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import imageio_ffmpeg
import numpy as np

from core.atomic import atomic_path
from core.errors import ValidationError
from core.mp4_index import read_container_index


# Containers ffmpeg decodes that the studio accepts as clips.
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")


def video_files(folder: Path) -> list[Path]:
    """Video files under `folder`, recursively, sorted; names starting with '.' (temporaries) are skipped."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg reports about a clip: frame size in pixels, frame rate in frames per second.

    `num_frames` is what decodes; `container_frames` what the container declares (MP4/MOV sample
    table, else duration × fps from the header; None when unknown). See `check_whole`.
    """

    width: int
    height: int
    fps: float
    num_frames: int
    codec: str
    container_frames: int | None = None


# Outside MP4/MOV only the header's duration × fps is known, and headers round; a shortfall counts
# as damage only beyond one frame plus this share (an audio track can outlast the video a little).
_HEADER_SLACK = 0.05


# Linux: the encoder's process asks the kernel to SIGKILL it when this process dies (PR_SET_PDEATHSIG,
# kept across exec), so a studio killed mid-write leaves no ffmpeg finishing a short clip behind it.
# A two-line Python shim sets it before exec'ing ffmpeg, rather than Popen's preexec_fn, which can
# deadlock a forked child of a threaded server (the studio is one). If the parent is already gone by
# the time the shim runs, it stops there.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) != 0 or os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(125)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n")


def _encoder_command(width: int, height: int, fps: float, crf: int, preset: str, target: Path) -> list[str]:
    """ffmpeg reading raw RGB frames on stdin and writing H.264 MP4 (`-f mp4`: the name ends `.partial`)."""
    rate = Fraction(float(fps)).limit_denominator()  # a rational, so 24000/1001 is not rounded
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner",
               "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{width}x{height}", "-pix_fmt", "rgb24",
               "-r", str(rate), "-i", "-", "-an", "-vcodec", "libx264", "-pix_fmt", "yuv420p",
               "-crf", str(crf), "-preset", preset, "-movflags", "+faststart", "-v", "error",
               "-f", "mp4", str(target)]
    if sys.platform.startswith("linux"):
        return [sys.executable, "-I", "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), *command]
    return command


def _frame_bytes(frame: np.ndarray) -> memoryview:
    """One frame as the raw bytes ffmpeg reads (no copy when the frame is already contiguous)."""
    return memoryview(np.ascontiguousarray(frame)).cast("B")


def _encode(frames: np.ndarray, target: Path, fps: float, crf: int, preset: str) -> None:
    """Run ffmpeg over `frames` into `target`; ffmpeg is always gone when this returns or raises."""
    _, height, width, _ = frames.shape
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: ffmpeg can never block on its own stderr
        process = subprocess.Popen(_encoder_command(width, height, fps, crf, preset, target),
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        try:
            try:
                for frame in frames:
                    process.stdin.write(_frame_bytes(frame))
            except BrokenPipeError:
                pass  # ffmpeg stopped reading: its exit status and log below say why
            finally:
                try:
                    process.stdin.close()
                except BrokenPipeError:
                    pass
            returncode = process.wait()
        finally:
            if process.poll() is None:  # an exception (or a cancel) interrupted the write
                process.kill()
                process.wait()
        if returncode != 0:
            log.seek(0)
            detail = log.read().decode(errors="replace").strip().splitlines()[-3:]
            raise OSError(f"ffmpeg could not encode '{target.name}' (exit status {returncode}): "
                          f"{' '.join(detail) or 'no message'}")


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
    with atomic_path(path) as tmp:
        _encode(frames, tmp, fps, crf, preset)
    return path


def _check_readable(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"video '{path}' does not exist or is not a file.")
    return path


def _header(path: Path) -> dict:
    """ffmpeg's reading of the container header (size, fps, duration, codec); the reader is always closed."""
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        return reader.__next__()
    finally:
        reader.close()


def _declared_frames(path: Path, meta: dict) -> tuple[int | None, str]:
    """(frames the container declares, why it is damaged or "")."""
    index = read_container_index(path)
    if index is not None:
        return index.video_frames, index.damage
    duration, fps = float(meta.get("duration") or 0), float(meta.get("fps") or 0)
    return (round(duration * fps) if duration > 0 and fps > 0 else None), ""


def probe(path: Path) -> VideoInfo:
    """Read a clip's size, fps, decoded frame count and declared frame count."""
    path = _check_readable(path)
    try:
        meta = _header(path)
        num_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    except (RuntimeError, OSError, StopIteration) as exc:
        raise ValidationError(f"video '{path}' could not be decoded: {exc}") from None
    width, height = meta["size"]
    declared, _ = _declared_frames(path, meta)
    return VideoInfo(width=width, height=height, fps=float(meta["fps"]), num_frames=int(num_frames),
                     codec=str(meta.get("codec", "")), container_frames=declared)


def check_whole(path: Path, decoded_frames: int) -> None:
    """Refuse a file that is cut short or decodes to fewer frames than its container declares.

    Such a clip would be measured as if it were whole (a cut one ends in a false freeze), so it is
    reported as damaged and never gated as a clip.
    """
    path = Path(path)
    try:
        meta = _header(path) if read_container_index(path) is None else {}
    except (RuntimeError, OSError, StopIteration):
        meta = {}
    declared, damage = _declared_frames(path, meta)
    if meta:  # a header estimate: only a clear shortfall counts
        short = declared is not None and decoded_frames < declared * (1 - _HEADER_SLACK) - 1
    else:
        short = declared is not None and decoded_frames < declared
    if damage or short:
        reason = damage or "fewer frames decode than it declares"
        raise ValidationError(f"video '{path.name}' is damaged ({reason}): {decoded_frames} of its "
                              f"{declared if declared is not None else '?'} frames decode, so it is not "
                              "measured as a clip.")


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
