"""Optical flow between consecutive analysis frames, computed once per clip and shared.

Methods:
* ``dis`` (default): OpenCV's Dense Inverse Search, preset ``ultrafast``, ``fast`` (default) or
  ``medium``. Mean normalisation of patches is switched off so that DIS, like TV-L1, assumes
  brightness constancy: a brightness flicker then disturbs the flow exactly as it does for the
  reference, which keeps the TCS ranking of the two methods in agreement.
* ``farneback``: polynomial-expansion flow (pyramid 0.5, 3 levels, 15-px window, 3 iterations).
* ``tvl1``: Dual TV-L1 from opencv-contrib with its default parameters; the reference method for TCS
  (about 8 s per 720p frame pair, 0.5 s at the 320-px analysis size, on this machine kind).

Flows are in analysis pixels per frame: ``flow[t, y, x] = (dx, dy)`` maps pixel (x, y) of frame t to
(x+dx, y+dy) of frame t+1 (forward); backward flows map frame t+1 back to frame t. They are cached on
the PreparedClip under their configuration, so TCS, warping error and motion share one computation.
cv2 releases the GIL, so frame pairs run on a small thread pool.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from core.errors import ValidationError
from core.metrics.clip import ClipSource, PreparedClip, prepare_clip

FLOW_METHODS = ("dis", "farneback", "tvl1")
DIS_PRESETS = ("ultrafast", "fast", "medium")
DEFAULT_METHOD = "dis"
DEFAULT_PRESET = "fast"
THREADS = 2  # the target machine has 2 cores; more threads only add contention.


@dataclass(frozen=True)
class FlowConfig:
    """Which flow to compute. `preset` only matters for DIS."""

    method: str = DEFAULT_METHOD
    preset: str = DEFAULT_PRESET

    def __post_init__(self) -> None:
        if self.method not in FLOW_METHODS:
            raise ValidationError(f"flow method must be one of {', '.join(FLOW_METHODS)}, got '{self.method}'.")
        if self.method == "dis" and self.preset not in DIS_PRESETS:
            raise ValidationError(f"DIS preset must be one of {', '.join(DIS_PRESETS)}, got '{self.preset}'.")

    @property
    def label(self) -> str:
        return f"dis-{self.preset}" if self.method == "dis" else self.method


@dataclass
class FlowSet:
    """Forward (and optionally backward) flows of one clip: (T-1)×h×w×2 float32, analysis px/frame."""

    config: FlowConfig
    forward: np.ndarray
    backward: np.ndarray | None
    forward_seconds: float
    backward_seconds: float = 0.0


_local = threading.local()


def _engine(config: FlowConfig):
    """One flow object per thread and configuration: OpenCV flow objects are not thread-safe."""
    import cv2

    engines = getattr(_local, "engines", None)
    if engines is None:
        engines = _local.engines = {}
    engine = engines.get(config)
    if engine is None:
        if config.method == "dis":
            preset = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                      "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}[config.preset]
            engine = cv2.DISOpticalFlow_create(preset)
            engine.setUseMeanNormalization(False)
        elif config.method == "tvl1":
            engine = cv2.optflow.DualTVL1OpticalFlow_create()
        else:
            engine = "farneback"
        engines[config] = engine
    return engine


def flow_pair(prev: np.ndarray, nxt: np.ndarray, config: FlowConfig = FlowConfig()) -> np.ndarray:
    """Flow from grayscale uint8 frame `prev` (h×w) to `nxt`: h×w×2 float32, pixels per frame."""
    import cv2

    engine = _engine(config)
    if engine == "farneback":
        return cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    return engine.calc(prev, nxt, None)


def _run_pairs(pairs: list[tuple[np.ndarray, np.ndarray]], config: FlowConfig) -> np.ndarray:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return np.stack(list(pool.map(lambda ab: flow_pair(ab[0], ab[1], config), pairs)))


def get_flows(clip: ClipSource, config: FlowConfig = FlowConfig(), backward: bool = False) -> FlowSet:
    """Flows of `clip` for `config`, computed on first request and cached on the PreparedClip."""
    prepared: PreparedClip = prepare_clip(clip)
    flows = prepared.flow_cache.get(config)
    frames = prepared.analysis_gray
    if flows is None:
        start = time.perf_counter()
        forward = _run_pairs([(frames[t], frames[t + 1]) for t in range(len(frames) - 1)], config)
        flows = FlowSet(config=config, forward=forward, backward=None, forward_seconds=time.perf_counter() - start)
        prepared.flow_cache[config] = flows
    if backward and flows.backward is None:
        start = time.perf_counter()
        flows.backward = _run_pairs([(frames[t + 1], frames[t]) for t in range(len(frames) - 1)], config)
        flows.backward_seconds = time.perf_counter() - start
    return flows


def pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 x and y coordinate maps (h×w) for cv2.remap."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return xs, ys


def sample_at(field: np.ndarray, flow: np.ndarray, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """`field` (h×w[×c]) bilinearly sampled at x + flow(x); outside samples repeat the border."""
    import cv2

    xs, ys = grid
    return cv2.remap(field, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def vector_magnitude(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elementwise sqrt(x² + y²) in float32, same shape as the inputs.

    numpy rather than cv2.magnitude: OpenCV's SIMD path can differ in the last bit with memory
    layout, and audits promise the same numbers for the same clip.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    return np.sqrt(x * x + y * y)
