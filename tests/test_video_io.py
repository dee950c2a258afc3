import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from core.errors import ValidationError
from core.video_io import iter_frames, probe, read_frames, write_mp4


def _clip(frames=12, height=72, width=128):
    t = np.arange(frames)[:, None, None]
    x = np.arange(width)[None, None, :]
    y = np.arange(height)[None, :, None]
    base = ((x + 3 * t) % 64 * 4 + y).astype(np.uint8)
    return np.stack([base, base // 2, 255 - base], axis=-1)


def _ffprobe_like(path):
    """Ask ffmpeg itself (independent of our reader) for codec, pixel format and movflags."""
    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                         capture_output=True, text=True).stderr
    return out


def test_roundtrip_h264_yuv420p_fps(tmp_path):
    clip = _clip()
    path = write_mp4(clip, tmp_path / "a.mp4", fps=10)
    info = probe(path)
    assert (info.width, info.height, info.num_frames) == (128, 72, 12)
    assert info.fps == pytest.approx(10)
    decoded = read_frames(path)
    assert decoded.shape == clip.shape
    assert np.abs(decoded.astype(int) - clip).mean() < 6  # lossy, but close
    text = _ffprobe_like(path)
    assert "h264" in text and "yuv420p" in text


def test_faststart_moov_before_mdat(tmp_path):
    data = write_mp4(_clip(), tmp_path / "a.mp4", fps=8).read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")


def test_streaming_reader_yields_uint8_frames(tmp_path):
    path = write_mp4(_clip(), tmp_path / "a.mp4", fps=8)
    frames = list(iter_frames(path))
    assert len(frames) == 12 and frames[0].dtype == np.uint8 and frames[0].shape == (72, 128, 3)


def test_no_temp_files_left(tmp_path):
    write_mp4(_clip(), tmp_path / "a.mp4", fps=8)
    assert [p.name for p in tmp_path.iterdir()] == ["a.mp4"]


@pytest.mark.parametrize("frames, message", [
    (np.zeros((4, 72, 128, 3), np.float32), "uint8"),
    (np.zeros((4, 72, 128), np.uint8), "T×H×W×3"),
    (np.zeros((0, 72, 128, 3), np.uint8), "at least one frame"),
    (np.zeros((4, 71, 128, 3), np.uint8), "even width and height"),
])
def test_bad_frames_rejected_and_nothing_written(tmp_path, frames, message):
    with pytest.raises(ValidationError, match=message):
        write_mp4(frames, tmp_path / "bad.mp4", fps=8)
    assert list(tmp_path.iterdir()) == []


def test_undecodable_file(tmp_path):
    path = tmp_path / "x.mp4"
    path.write_bytes(b"not a video")
    with pytest.raises(ValidationError, match="could not be decoded"):
        probe(path)
