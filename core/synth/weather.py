"""Conditions: one `Look` per catalogue condition, blending between looks, and the per-frame compositor
that lights the albedo, adds headlights, lamps, haze by depth, spray, rain, snow, dust and sun glare.

Colours are display RGB in [0,1]. Haze follows Beer–Lambert: a surface d metres away keeps exp(-k·d) of
its own colour and takes the rest from the haze colour, so fog and dust hide distant things first.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import cv2
import numpy as np

from core.synth.roads import RGB
from core.synth.scene import SKY_DEPTH, Camera, DrawList


@dataclass(frozen=True)
class Look:
    """Everything a condition changes. Levels are 0..1 unless stated; haze_density is per metre."""

    sky_top: RGB
    sky_horizon: RGB
    ambient: RGB          # light on surfaces (multiplies albedo)
    haze: RGB             # colour of air at full extinction
    haze_density: float   # 1/m: visibility (5% contrast) is about 3/haze_density metres
    headlights: float     # ego low beams
    lamps: float          # tail lights, street lamps, lit windows
    wetness: float
    snow_cover: float
    rain: float
    snow: float
    dust: float
    sun: float            # low sun ahead: bloom, veil and flare
    spray: float          # rain/snow/dust thrown up behind vehicles
    saturation: float


LOOKS: dict[str, Look] = {
    "clear_day": Look((0.30, 0.52, 0.86), (0.72, 0.83, 0.94), (1.0, 0.98, 0.95), (0.74, 0.82, 0.92), 0.0025,
                      0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.05),
    "heavy_rain": Look((0.34, 0.36, 0.39), (0.50, 0.52, 0.55), (0.50, 0.52, 0.56), (0.47, 0.49, 0.52), 0.018,
                       0.3, 0.6, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.7),
    "dust_storm": Look((0.56, 0.38, 0.20), (0.76, 0.55, 0.32), (0.86, 0.66, 0.45), (0.73, 0.52, 0.30), 0.035,
                       0.35, 0.5, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.6, 0.85),
    "night": Look((0.008, 0.01, 0.03), (0.035, 0.045, 0.08), (0.045, 0.05, 0.075), (0.02, 0.025, 0.04), 0.004,
                  1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9),
    "fog": Look((0.79, 0.80, 0.81), (0.80, 0.81, 0.82), (0.80, 0.81, 0.83), (0.78, 0.79, 0.80), 0.05,
                0.25, 0.45, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.7),
    "snow": Look((0.72, 0.74, 0.78), (0.85, 0.86, 0.89), (0.88, 0.90, 0.95), (0.84, 0.85, 0.89), 0.016,
                 0.2, 0.4, 0.2, 1.0, 0.0, 1.0, 0.0, 0.0, 0.5, 0.75),
    "low_sun_glare": Look((0.40, 0.50, 0.72), (1.0, 0.84, 0.60), (0.66, 0.58, 0.50), (0.98, 0.84, 0.62), 0.005,
                          0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0),
    "dusk": Look((0.15, 0.16, 0.36), (0.96, 0.55, 0.32), (0.42, 0.34, 0.36), (0.50, 0.37, 0.38), 0.004,
                 0.5, 0.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9),
}


def look_for(condition: str) -> Look:
    """The look of a catalogue condition; conditions a user catalogue adds render as clear day."""
    return LOOKS.get(condition, LOOKS["clear_day"])


def blend(a: Look, b: Look, weight: float) -> Look:
    """Linear blend of every level and colour: weight 0 is a, 1 is b."""
    values = {}
    for f in fields(Look):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if isinstance(va, tuple):
            values[f.name] = tuple(x + (y - x) * weight for x, y in zip(va, vb))
        else:
            values[f.name] = va + (vb - va) * weight
    return Look(**values)


@dataclass(frozen=True)
class Particles:
    """Screen-space precipitation: positions as image fractions, a depth layer (0.3 far..1 near) and phase."""

    u: np.ndarray
    v: np.ndarray
    layer: np.ndarray
    phase: np.ndarray

    @classmethod
    def make(cls, rng: np.random.Generator, count: int) -> "Particles":
        return cls(rng.random(count), rng.random(count), rng.uniform(0.3, 1.0, count), rng.uniform(0, 2 * np.pi, count))


def _splat(image: np.ndarray, u: float, v: float, sigma_u: float, sigma_v: float, rgb) -> None:
    """Add a Gaussian blob (peak rgb) centred at pixel (u, v) into image (H×W×C) in a 3σ window."""
    height, width = image.shape[:2]
    u0, u1 = max(0, int(u - 3 * sigma_u)), min(width, int(u + 3 * sigma_u) + 2)
    v0, v1 = max(0, int(v - 3 * sigma_v)), min(height, int(v + 3 * sigma_v) + 2)
    if u0 >= u1 or v0 >= v1:
        return
    gx = np.exp(-0.5 * ((np.arange(u0, u1) + 0.5 - u) / sigma_u) ** 2)
    gy = np.exp(-0.5 * ((np.arange(v0, v1) + 0.5 - v) / sigma_v) ** 2)
    image[v0:v1, u0:u1] += (gy[:, None] * gx[None, :])[..., None] * np.asarray(rgb, np.float32)


@dataclass(frozen=True)
class FrameInputs:
    """One frame's rendered geometry: albedo (H×W×3 uint8), depth (H×W m), sky weight and ground mask
    (H×W), self-lit polygon radiance (H×W×3 float), the draw list (lights, sprays, pools), the camera,
    the frame index and sun bearing (rad, + right)."""

    albedo: np.ndarray
    depth: np.ndarray
    sky: np.ndarray
    ground: np.ndarray
    emissive: np.ndarray
    draw: DrawList
    cam: Camera
    index: int
    sun_bearing: float


def compose(frame: FrameInputs, look: Look, rain: Particles, snow: Particles, vignette: np.ndarray) -> np.ndarray:
    """Light and weather one frame; returns float32 H×W×3 in [0,1]."""
    cam, depth = frame.cam, frame.depth
    height, width = depth.shape
    scale = width / 256.0                      # particle sizes and blur radii follow the frame size
    rows = (np.arange(height, dtype=np.float32) + 0.5)[:, None]
    cols = (np.arange(width, dtype=np.float32) + 0.5)[None, :]
    albedo = frame.albedo.astype(np.float32) * (1.0 / 255.0)
    sky = frame.sky[..., None]

    # Light on surfaces: ambient, ego headlights (a cone fading with depth), lamp pools on the road.
    light = np.empty_like(albedo)
    light[:] = np.asarray(look.ambient, np.float32)
    if look.headlights > 0.01:
        bearing = (cols - cam.centre_u) / cam.focal
        above = np.maximum(0.0, (cam.horizon - rows) / cam.focal + 0.03)
        beam = np.exp(-(bearing / 0.42) ** 2) * np.exp(-above * 30.0)
        reach = 2.0 / (1.0 + (depth / 24.0) ** 2) * (depth > 1.5)
        light += (look.headlights * beam * reach)[..., None] * np.asarray((1.0, 0.97, 0.9), np.float32)
    for x, z, radius, rgb in frame.draw.pools:
        if z > 2:
            u, v = cam.project(np.asarray([[x, 0.0, z]]))[0]
            _splat(light, u, v, max(1.0, cam.focal * radius / z), max(0.6, cam.focal * cam.height_m * radius / z / z),
                   rgb)
    image = albedo * (light * (1 - sky) + sky)

    # Wet road: a mirror-like sheen that grows towards grazing angles (far road reflects more sky).
    if look.wetness > 0.01:
        grazing = np.clip(1.0 - (rows - cam.horizon) / max(height - cam.horizon, 1.0), 0, 1) ** 2
        sheen = (0.45 * look.wetness * grazing) * frame.ground
        image += (np.asarray(look.sky_horizon, np.float32) - image) * sheen[..., None]

    # Haze by depth. Sky "depth" shrinks with elevation: looking up crosses less air.
    elevation = np.clip((cam.horizon - rows) / max(cam.horizon, 1.0), 0, 1)
    sky_path = 400.0 - 280.0 * elevation
    path = np.where(depth >= SKY_DEPTH, sky_path, np.minimum(depth, 900.0))
    transmission = np.exp(-look.haze_density * path)[..., None]
    haze = np.asarray(look.haze, np.float32)
    image = image * transmission + haze * (1 - transmission)

    # Spray and dust thrown up behind vehicles: local haze puffs.
    if look.spray > 0.01 and frame.draw.sprays:
        puff = np.zeros((height, width, 1), np.float32)
        for x, z, spread, tall, strength in frame.draw.sprays:
            if 2.0 < z < 90.0:
                u, v = cam.project(np.asarray([[x, 0.45 * tall, z]]))[0]
                _splat(puff, u, v, cam.focal * spread * 0.45 / z, cam.focal * tall * 0.5 / z,
                       (strength * look.spray * np.exp(-z / 70.0),))
        puff = np.minimum(puff, 0.85)
        image += (haze * 1.08 - image) * puff

    # Lights: polygons that glow, and point lights with a core, a halo (bigger in haze) and wet reflections.
    glow = frame.emissive * transmission
    halo_gain = 0.12 + 2.5 * min(look.haze_density, 0.05) + 0.15 * look.rain
    for lamp in frame.draw.lights:
        if lamp.z <= 1.0:
            continue
        u, v = cam.project(np.asarray([[lamp.x, lamp.y, lamp.z]]))[0]
        if not (-20 * scale < u < width + 20 * scale and -20 * scale < v < height + 20 * scale):
            continue
        iu, iv = int(np.clip(u, 0, width - 1)), int(np.clip(v, 0, height - 1))
        if depth[iv, iu] < lamp.z - 1.0:   # hidden behind something nearer
            continue
        fade = float(np.exp(-look.haze_density * lamp.z))
        sigma = max(0.6 * scale, cam.focal * lamp.size / lamp.z)
        rgb = np.asarray(lamp.rgb, np.float32) * fade
        _splat(glow, u, v, sigma, sigma, rgb)
        _splat(glow, u, v, sigma * 4 + 1.5 * scale, sigma * 4 + 1.5 * scale, rgb * halo_gain)
        if look.wetness > 0.05 and lamp.reflects:
            _, v_ground = cam.project(np.asarray([[lamp.x, 0.0, lamp.z]]))[0]
            _splat(glow, u, 2 * v_ground - v + sigma, sigma * 1.5, sigma * 6 + 2 * scale, rgb * 0.35 * look.wetness)
    image += glow

    if look.sun > 0.01:
        image = _sun_glare(image, cam, look.sun, frame.sun_bearing, scale)
    if look.rain > 0.01:
        image = _rain(image, rain, look.rain, frame.index, scale)
    if look.snow > 0.01:
        image = _snow(image, snow, look.snow, frame.index, scale)
    if look.dust > 0.01:
        image = _dust(image, rain, look.dust, frame.index, scale, haze)

    grey = image.mean(axis=2, keepdims=True)
    image = grey + (image - grey) * look.saturation
    return np.clip(image * vignette, 0.0, 1.0)


def _sun_glare(image: np.ndarray, cam: Camera, strength: float, bearing: float, scale: float) -> np.ndarray:
    """A low sun just above the horizon: disc, bloom, a warm veil that lifts blacks, and flare ghosts."""
    height, width = image.shape[:2]
    u = cam.centre_u + cam.focal * bearing
    v = cam.horizon - cam.focal * 0.045
    warm = np.asarray((1.0, 0.86, 0.62), np.float32)
    glare = np.zeros_like(image)
    _splat(glare, u, v, 3.0 * scale, 3.0 * scale, warm * 3.5 * strength)
    _splat(glare, u, v, 22.0 * scale, 16.0 * scale, warm * 0.9 * strength)
    _splat(glare, u, v, 90.0 * scale, 55.0 * scale, warm * 0.35 * strength)
    centre = np.asarray((width / 2, height / 2))
    for k, radius, tint in ((0.6, 5.0, (0.5, 0.8, 1.0)), (1.25, 9.0, (0.9, 0.6, 1.0)), (1.7, 4.0, (0.7, 1.0, 0.6))):
        gu, gv = np.asarray((u, v)) + k * (centre - np.asarray((u, v))) * 1.0
        _splat(glare, gu, gv, radius * scale, radius * scale, np.asarray(tint, np.float32) * 0.12 * strength)
    # Veiling glare: the windscreen scatters light over everything, lowering contrast.
    veil = 0.18 * strength
    return image * (1 - veil) + warm * veil + glare


def _rain(image: np.ndarray, drops: Particles, amount: float, index: int, scale: float) -> np.ndarray:
    """Slanted streaks falling about a fifth of the frame per frame; near (big) ones are brighter."""
    height, width = image.shape[:2]
    count = int(len(drops.u) * amount)
    layer = np.zeros((height, width), np.float32)
    fall = 0.21 * drops.layer[:count] + 0.04
    v = np.mod(drops.v[:count] + fall * index, 1.0) * (height * 1.2) - 0.1 * height
    u = np.mod(drops.u[:count] + 0.012 * index, 1.0) * width
    length = (10 + 22 * drops.layer[:count]) * scale
    slant = 0.18
    for i in range(count):
        p0 = (int((u[i]) * 16), int(v[i] * 16))
        p1 = (int((u[i] - slant * length[i]) * 16), int((v[i] - length[i]) * 16))
        cv2.line(layer, p0, p1, float(0.25 + 0.35 * drops.layer[i]), max(1, int(scale)), cv2.LINE_8, 4)
    layer = cv2.GaussianBlur(layer, (0, 0), 0.6 * scale)[..., None]
    return image + (np.float32(0.85) - image) * layer * 0.55


def _snow(image: np.ndarray, flakes: Particles, amount: float, index: int, scale: float) -> np.ndarray:
    """Flakes drifting down slowly with a sideways sway; nearer flakes are bigger and faster."""
    height, width = image.shape[:2]
    count = int(len(flakes.u) * amount)
    layer = np.zeros((height, width), np.float32)
    layer_depth = flakes.layer[:count]
    v = np.mod(flakes.v[:count] + (0.015 + 0.035 * layer_depth) * index, 1.0) * height
    u = np.mod(flakes.u[:count] + 0.012 * np.sin(0.5 * index + flakes.phase[:count]) + 0.004 * index, 1.0) * width
    radius = (0.5 + 1.6 * layer_depth ** 2) * scale
    for i in range(count):
        cv2.circle(layer, (int(u[i] * 16), int(v[i] * 16)), max(1, int(radius[i] * 16)), 1.0, -1, cv2.LINE_8, 4)
    layer = cv2.GaussianBlur(layer, (0, 0), 0.5 * scale)[..., None] * 0.9
    return image + (np.float32(0.95) - image) * np.minimum(layer, 1.0)


def _dust(image: np.ndarray, grains: Particles, amount: float, index: int, scale: float,
          haze: np.ndarray) -> np.ndarray:
    """Wind-blown dust: faint horizontal wisps streaming right to left across the frame."""
    height, width = image.shape[:2]
    count = int(len(grains.u) * 0.5 * amount)
    layer = np.zeros((height, width), np.float32)
    u = np.mod(grains.u[:count] - (0.03 + 0.05 * grains.layer[:count]) * index, 1.0) * width
    v = grains.v[:count] * height
    length = (8 + 30 * grains.layer[:count]) * scale
    for i in range(count):
        cv2.line(layer, (int(u[i] * 16), int(v[i] * 16)), (int((u[i] + length[i]) * 16), int((v[i] + 2) * 16)),
                 float(0.3 * grains.layer[i]), max(1, int(2 * scale)), cv2.LINE_8, 4)
    layer = cv2.GaussianBlur(layer, (0, 0), 1.5 * scale)[..., None]
    return image + (haze * 1.15 - image) * layer
