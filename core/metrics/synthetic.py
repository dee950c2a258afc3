"""Synthetic clips with known defects, for validating the measures and detectors (tests and bench).

`clean_clip` renders a multi-scale noise texture seen by a camera that pans (and optionally zooms, as a
car driving forward does) at constant speed: smooth, textured, moving. Pixel values stay within
[0.1, 0.5] so that every corruption below can add up to 0.45 without clipping, which keeps each
corruption's effect exact. Each corruption returns the new frames and the frame ranges a correct
detector must flag (inclusive [start, end]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOW, HIGH = 0.1, 0.5


@dataclass
class Corrupted:
    """Frames (uint8 T×H×W×3) with a defect, the detector that must catch it and the exact ranges."""

    name: str
    frames: np.ndarray
    detector: str | None
    ranges: list[list[int]]


def texture(height: int, width: int, seed: int, frame_width: int) -> np.ndarray:
    """H×W×3 float32 texture in [LOW, HIGH]: noise at 1/32, 1/8 and 1/2 of `frame_width` (fine to
    coarse), so a 720p clip has the same structure as a 128-px one, plus 2-px grain above 512 px."""
    import cv2

    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), np.float32)
    layers = [(max(2, frame_width // 32), 0.45), (max(2, frame_width // 8), 0.35), (max(2, frame_width // 2), 0.2)]
    if frame_width > 512:
        layers.append((2, 0.1))
    for scale, weight in layers:
        noise = rng.random((height // scale + 2, width // scale + 2, 3)).astype(np.float32)
        out += weight * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    lo, hi = np.percentile(out, 0.5), np.percentile(out, 99.5)
    return np.clip(LOW + (out - lo) / (hi - lo) * (HIGH - LOW), LOW, HIGH)


def clean_clip(num_frames: int = 24, height: int = 72, width: int = 128, seed: int = 0,
               velocity: tuple[float, float] = (2.0, 0.5), zoom: float = 1.0) -> np.ndarray:
    """uint8 T×H×W×3: a camera panning by `velocity` px/frame and zooming by `zoom` per frame."""
    import cv2

    vx, vy = velocity
    margin = 16
    big_h = int(height + abs(vy) * num_frames + 2 * margin)
    big_w = int(width + abs(vx) * num_frames + 2 * margin)
    scene = texture(big_h, big_w, seed, width)
    x0 = margin if vx >= 0 else big_w - width - margin
    y0 = margin if vy >= 0 else big_h - height - margin
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        scale = zoom ** t
        cx, cy = x0 + vx * t + width / 2, y0 + vy * t + height / 2
        # Map output pixel (u, v) to scene point centre + (u - w/2, v - h/2) / scale.
        matrix = np.float32([[1 / scale, 0, cx - width / (2 * scale)], [0, 1 / scale, cy - height / (2 * scale)]])
        frame = cv2.warpAffine(scene, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        frames[t] = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return frames


def _shift(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    import cv2

    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(frame, matrix, (frame.shape[1], frame.shape[0]), borderMode=cv2.BORDER_REFLECT)


def flicker(frames: np.ndarray, indices: list[int], delta: float = 0.45) -> Corrupted:
    """Brighten the listed frames by `delta` (no clipping thanks to the texture's range)."""
    out = frames.copy()
    for index in indices:
        out[index] = np.clip(out[index].astype(np.int16) + int(round(delta * 255)), 0, 255).astype(np.uint8)
    runs: list[list[int]] = []
    for index in sorted(indices):
        if runs and runs[-1][1] == index - 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return Corrupted("flicker", out, "temporal_flicker", runs)


def freeze(frames: np.ndarray, start: int, repeats: int) -> Corrupted:
    """The picture stalls: frame `start` is shown `repeats` extra times, then motion resumes where it stopped."""
    out = np.concatenate([frames[: start + 1], np.repeat(frames[start : start + 1], repeats, axis=0),
                          frames[start + 1 : len(frames) - repeats]])
    return Corrupted("freeze", out, "freeze", [[start, start + repeats]])


def colour_drift(frames: np.ndarray, start: int, amount: float = 0.32, threshold: float = 0.15) -> Corrupted:
    """Blue rises linearly from frame `start` to `amount` at the last frame; flags frames past `threshold`."""
    num = len(frames)
    offsets = np.zeros(num)
    offsets[start:] = amount * np.arange(1, num - start + 1) / (num - start)
    if np.any(np.abs(offsets - threshold) < 0.005):
        raise ValueError("choose start/amount so that no frame's offset sits on the threshold")
    out = frames.astype(np.float32)
    out[..., 2] += (offsets * 255.0)[:, None, None]
    first = int(np.flatnonzero(offsets > threshold)[0])
    return Corrupted("colour_drift", np.clip(out + 0.5, 0, 255).astype(np.uint8), "colour_drift", [[first, num - 1]])


def cut(frames: np.ndarray, at: int, seed: int = 99) -> Corrupted:
    """From frame `at` on, show another scene (same palette and motion)."""
    other = clean_clip(len(frames), frames.shape[1], frames.shape[2], seed=seed)
    out = frames.copy()
    out[at:] = other[at:]
    return Corrupted("cut", out, "abrupt_cut", [[at, at]])


def jitter(frames: np.ndarray, start: int, count: int, amplitude: int | None = None) -> Corrupted:
    """Camera shake: frames start..start+count-1 displaced by ±amplitude px (default 2.3 % of the
    width: 3 px at 128, 30 px at 1280), alternating in direction."""
    amplitude = amplitude if amplitude is not None else max(1, round(frames.shape[2] * 3 / 128))
    out = frames.copy()
    for i, index in enumerate(range(start, start + count)):
        sign = 1 if i % 2 == 0 else -1
        out[index] = _shift(frames[index], sign * amplitude, -sign * amplitude)
    return Corrupted("jitter", out, None, [[start, start + count - 1]])


def blur(frames: np.ndarray, start: int, count: int, sigma: float | None = None) -> Corrupted:
    """Gaussian blur on frames start..start+count-1; σ defaults to 1/64 of the width (2 px at 128)."""
    import cv2

    sigma = sigma if sigma is not None else frames.shape[2] / 64

    out = frames.copy()
    for index in range(start, start + count):
        out[index] = cv2.GaussianBlur(frames[index], (0, 0), sigma)
    return Corrupted("blur", out, "blur", [[start, start + count - 1]])


def corruption_suite(frames: np.ndarray) -> list[Corrupted]:
    """One instance of every corruption on a clean clip of at least 20 frames, at fixed positions."""
    num = len(frames)
    if num < 20:
        raise ValueError("the corruption suite needs a clip of at least 20 frames")
    return [
        flicker(frames, [5, 12, 13]),
        freeze(frames, 8, 4),
        colour_drift(frames, num // 3, amount=0.32),
        cut(frames, num // 2),
        jitter(frames, 6, 5),
        blur(frames, 9, 3),
    ]


def ranking_set(num_frames: int = 12, height: int = 54, width: int = 128, seed: int = 0) -> dict[str, np.ndarray]:
    """Clean clips and graded corruptions of them, for checking that two TCS variants rank clips alike.

    Two clean clips (different scenes and pan directions, one zooming as a car driving forward), and on
    the first: one and three flicker frames, a freeze, a cut, a mild (1 px) and a strong shake, blur
    and colour drift. Every kind of defect the detectors know appears, at fixed positions.
    """
    if num_frames < 8:
        raise ValueError("the ranking set needs clips of at least 8 frames")
    base = clean_clip(num_frames, height, width, seed=seed)
    other = clean_clip(num_frames, height, width, seed=seed + 1, velocity=(-1.5, 1.0), zoom=1.01)
    k = num_frames // 3
    drift = next(c for c in (colour_drift_or_none(base, k, a) for a in (0.32, 0.3, 0.34, 0.28)) if c is not None)
    return {
        "clean": base, "clean_other_scene": other,
        "flicker_1_frame": flicker(base, [k]).frames, "flicker_3_frames": flicker(base, [k, k + 2, k + 4]).frames,
        "freeze": freeze(base, k, 3).frames, "cut": cut(base, num_frames // 2).frames,
        "shake_1px": jitter(base, k, 2, 1).frames, "shake_strong": jitter(base, k, 5).frames,
        "blur": blur(base, k, 3).frames, "colour_drift": drift.frames,
    }


def colour_drift_or_none(frames: np.ndarray, start: int, amount: float) -> Corrupted | None:
    """colour_drift, or None when that amount puts a frame on the detection threshold."""
    try:
        return colour_drift(frames, start, amount)
    except ValueError:
        return None
