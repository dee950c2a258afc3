"""Shared set-up for the web tests: a launched studio with a tiny CogVideoX model in its models folder.

The tiny CogVideoX checkpoint is the quickest to use here: its learned positional embeddings fix the
size at 64x64, so the registry's 720x480 default is snapped without a width/height control, and a
2-step, 9-frame clip takes well under a second on one CPU core.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL.Image

from core.paths import SAMPLE_FRAMES_DIR
from tests.concurrency import wait_until

TINY_FAMILY = "cogvideox_i2v"
TINY_FOLDER_NAME = "tiny-cogvideox"
TINY_FRAMES = 9  # 8k+1 and within the tiny transformer's sample_frames
TINY_STEPS = 2


@dataclass
class LaunchedStudio:
    url: str
    demo: object
    ctx: object
    data_dir: Path
    tiny_model: Path
    sample_frame: Path

    def clips(self) -> list[Path]:
        return sorted(self.ctx.config.output_dir.glob("*.mp4")) + sorted(self.ctx.config.output_dir.glob("*.json"))


def sample_frame(tmp: Path) -> Path:
    """A bundled sample first frame when the assets hold one; otherwise a synthetic 16:9 PNG."""
    bundled = sorted(SAMPLE_FRAMES_DIR.glob("*.png")) if SAMPLE_FRAMES_DIR.is_dir() else []
    if bundled:
        return bundled[0]
    height, width = 144, 256
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    image[height // 2:, :, :] //= 2  # a darker "road" half, so the frame is not a flat gradient
    path = tmp / "first_frame.png"
    PIL.Image.fromarray(image).save(path)
    return path


def launch_studio_for_tests(root: Path, max_waiting: int = 4) -> LaunchedStudio:
    """Build the tiny model, then build and launch the studio on a free port without blocking."""
    from tests.tiny_pipelines import build_tiny_pipeline

    from app.web import build_studio, launch_studio, make_config

    config = make_config(root / "data", port=None, max_waiting=max_waiting)
    tiny = build_tiny_pipeline(TINY_FAMILY, config.models_dir / TINY_FOLDER_NAME)
    demo, ctx = build_studio(config)
    url = launch_studio(demo, ctx, prevent_thread_lock=True, quiet=True)
    return LaunchedStudio(url=url, demo=demo, ctx=ctx, data_dir=config.data_dir, tiny_model=tiny,
                          sample_frame=sample_frame(root))


def restore_gradio_temp_dir(previous_temp_dir: str | None) -> None:
    """Put back GRADIO_TEMP_DIR as it was before a studio set its own (each studio keeps its own folder)."""
    if previous_temp_dir is None:
        os.environ.pop("GRADIO_TEMP_DIR", None)
    else:
        os.environ["GRADIO_TEMP_DIR"] = previous_temp_dir


def close_studio(studio: LaunchedStudio, previous_temp_dir: str | None) -> None:
    studio.demo.close()
    restore_gradio_temp_dir(previous_temp_dir)


def studio_for_module(tmp_path_factory, name: str, **launch_options) -> Iterator[LaunchedStudio]:
    """Body of a module-scoped studio fixture: `yield from studio_for_module(tmp_path_factory, "web-x")`."""
    previous = os.environ.get("GRADIO_TEMP_DIR")
    launched = launch_studio_for_tests(tmp_path_factory.mktemp(name), **launch_options)
    yield launched
    close_studio(launched, previous)


@contextlib.contextmanager
def generator_held(gate, owner: str = "another-session") -> Iterator[None]:
    """Another session holds the generation gate for the duration of the block (released on leaving it)."""
    release, holding = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.admit(owner, "held by the test"):
            holding.set()
            release.wait(120)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert holding.wait(10), "the test could not take the generation gate"
        yield
    finally:
        release.set()
        holder.join(30)


def wait_for(condition, what: str) -> None:
    """`wait_until` with the web tests' bound: a studio round trip may take a minute on a loaded machine."""
    wait_until(condition, what, timeout_s=60.0, poll_s=0.05)
