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
