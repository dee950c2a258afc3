"""`kill -9` in the middle of writing a clip (issue 11, section 9): a real kill, checked afterwards.

A writer process encodes a clip into `<data dir>/clips/` and is SIGKILLed mid-write. A harness that is
the "child subreaper" of the writer adopts the orphaned ffmpeg, so it can see how ffmpeg ended: killed
by the kernel with its parent (PR_SET_PDEATHSIG), not left to finish a short clip. Then: nothing at all
under clips/, the unfinished file only in `.partial`, and the CLI's start-up sweep removes it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from core.paths import PROJECT_ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")

# Writes 16 frames, but stops for good inside the 6th: five frames (~140 KB) have then passed through
# a 64 KB pipe, so ffmpeg is certainly running and has its output open.
WRITER = """
import sys, time
from pathlib import Path
import numpy as np
import core.video_io as video_io
ready, target = Path(sys.argv[1]), Path(sys.argv[2])
real, sent = video_io._frame_bytes, []
def slow(frame):
    sent.append(1)
    if len(sent) == 6:
        ready.write_text("writing")
        time.sleep(600)
    return real(frame)
video_io._frame_bytes = slow
frames = np.random.default_rng(0).integers(0, 256, (16, 72, 128, 3), dtype=np.uint8)
video_io.write_mp4(frames, target, fps=10)
"""

HARNESS = """
import ctypes, json, os, signal, subprocess, sys, time
from pathlib import Path
assert ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER: orphans come to us
ready, command = Path(sys.argv[1]), json.loads(sys.argv[2])
writer = subprocess.Popen(command)
deadline = time.monotonic() + 300  # a bound for a loaded machine, not a timing claim
while not ready.exists():
    if writer.poll() is not None or time.monotonic() > deadline:
        print(json.dumps({"error": f"writer ended or stalled before writing (rc {writer.poll()})"}))
        sys.exit(1)
    time.sleep(0.05)
def parent_of(pid):
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])
def command_of(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return handle.read().split(b"\\0")[0].decode()
children = [int(p) for p in os.listdir("/proc") if p.isdigit() and parent_of(p) == writer.pid]
names = [command_of(pid) for pid in children]
os.kill(writer.pid, signal.SIGKILL)
writer.wait()
ended = []
for pid in children:
    _, status = os.waitpid(pid, 0)
    ended.append({"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                  "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None})
print(json.dumps({"children": names, "ended": ended}))
"""


def test_kill_9_mid_write_leaves_nothing_servable_and_ffmpeg_dies(tmp_path):
    data = tmp_path / "data"
    target = data / "clips" / "night.mp4"
    ready = tmp_path / "ready"
    env = {**os.environ, "SCENARIO_STUDIO_DATA": str(data), "PYTHONPATH": str(PROJECT_ROOT)}
    writer = [sys.executable, "-c", WRITER, str(ready), str(target)]
    run = subprocess.run([sys.executable, "-c", HARNESS, str(ready), json.dumps(writer)], env=env,
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(report["children"]) == 1 and "ffmpeg" in report["children"][0]
    # Without PR_SET_PDEATHSIG ffmpeg would read EOF, finish a short clip and exit 0.
    assert report["ended"] == [{"signal": signal.SIGKILL, "exit": None}]

    assert not target.exists()
    assert [p for p in (data / "clips").rglob("*")] == []  # not even a hidden file to serve or scan
    leftovers = list((data / ".partial").iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".night.mp4.")
    assert not leftovers[0].name.endswith(".mp4")

    # Any command's start-up sweeps it (`scenarios` is the lightest one).
    swept = subprocess.run([sys.executable, "-m", "app.cli", "scenarios"], env=env, cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=300)
    assert swept.returncode == 0, swept.stderr
    assert list((data / ".partial").iterdir()) == []


def test_an_exception_mid_write_stops_ffmpeg_and_leaves_no_file(tmp_path, monkeypatch, isolated_data_dir):
    import numpy as np
    import psutil

    import core.video_io as video_io

    seen: list[int] = []
    real = video_io._frame_bytes

    def failing(frame):
        seen.append(1)
        if len(seen) == 4:
            seen.extend(child.pid for child in psutil.Process().children(recursive=True))
            raise RuntimeError("frame source failed")
        return real(frame)

    monkeypatch.setattr(video_io, "_frame_bytes", failing)
    target = isolated_data_dir / "clips" / "x.mp4"
    with pytest.raises(RuntimeError, match="frame source failed"):
        video_io.write_mp4(np.zeros((16, 72, 128, 3), np.uint8), target, fps=10)
    encoders = seen[4:]
    assert encoders, "ffmpeg was running when the frame source failed"
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                   for pid in encoders)
    assert not target.exists() and list((isolated_data_dir / ".partial").iterdir()) == []
