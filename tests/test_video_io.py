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


# --- truncated files (issue 11, section 9) ---------------------------------------------------------

def _cut(tmp_path, share=0.47):
    """A 16-frame clip whose every frame is noise (so each holds bytes), and a copy cut at `share`."""
    frames = np.random.default_rng(0).integers(0, 256, (16, 72, 128, 3), dtype=np.uint8)
    whole = write_mp4(frames, tmp_path / "whole.mp4", fps=10)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: int(len(data) * share)])
    return whole, cut


def test_container_index_counts_frames_and_sees_the_cut(tmp_path):
    from core.mp4_index import read_container_index

    whole, cut = _cut(tmp_path)
    assert read_container_index(whole).video_frames == 16 and read_container_index(whole).damage == ""
    index = read_container_index(cut)
    assert index.video_frames == 16 and "'mdat' box needs" in index.damage


def test_probe_reports_decoded_and_declared_frames(tmp_path):
    whole, cut = _cut(tmp_path)
    assert (probe(whole).num_frames, probe(whole).container_frames) == (16, 16)
    info = probe(cut)
    assert info.container_frames == 16 and 0 < info.num_frames < 16  # the decoder alone sees a short clip


def test_cut_file_is_damaged_not_measured(tmp_path):
    from core.metrics.card import build_card, iter_cards
    from core.video_io import check_whole

    whole, cut = _cut(tmp_path)
    check_whole(whole, 16)
    with pytest.raises(ValidationError, match=r"'cut.mp4' is damaged .*of its 16 frames decode"):
        build_card(cut)
    outcomes = list(iter_cards([whole, cut]))
    assert outcomes[0].card is not None and outcomes[0].card.num_frames == 16
    assert outcomes[1].card is None and "damaged" in outcomes[1].error


def test_metrics_command_reports_the_cut_file_as_damaged_and_does_not_gate_it(tmp_path, capsys):
    from app.cli import main

    _, cut = _cut(tmp_path)
    assert main(["metrics", "--json", str(cut)]) == 2
    out = capsys.readouterr()
    lines = [__import__("json").loads(line) for line in out.out.splitlines()]
    assert "damaged" in lines[0]["error"] and "damaged" in out.err
    assert lines[-1]["measured"] == 0 and lines[-1]["errors"] == 1


def test_probe_closes_its_reader_when_decoding_fails(tmp_path, monkeypatch):
    import core.video_io as video_io

    closed = []

    class Reader:
        def __next__(self):
            return {"size": (128, 72), "fps": 10.0, "codec": "h264", "duration": 1.0}

        def close(self):
            closed.append(True)

    def count_fails(path):
        raise RuntimeError("decoder crashed")

    monkeypatch.setattr(video_io.imageio_ffmpeg, "read_frames", lambda *a, **k: Reader())
    monkeypatch.setattr(video_io.imageio_ffmpeg, "count_frames_and_secs", count_fails)
    path = tmp_path / "x.mp4"
    path.write_bytes(b"\0" * 64)
    with pytest.raises(ValidationError, match="could not be decoded"):
        probe(path)
    assert closed == [True]
