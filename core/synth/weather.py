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
    """Linear blend of every level and colour: weight 0 is a, 1 is b (both exactly, so a clip that has
    finished its transition renders bit-identically to one that started in the target)."""
    if weight <= 0.0:
        return a
    if weight >= 1.0:
        return b
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


def _col(rgb) -> np.ndarray:
    """An RGB triple as a (3,1,1) float32 array, to broadcast over planar C×H×W images."""
    return np.asarray(rgb, np.float32).reshape(-1, 1, 1)


def _splat(image: np.ndarray, u: float, v: float, sigma_u: float, sigma_v: float, rgb) -> None:
    """Add a Gaussian blob (peak rgb, one value per plane) at pixel (u, v) into a planar C×H×W image."""
    height, width = image.shape[1:]
    u0, u1 = max(0, int(u - 3 * sigma_u)), min(width, int(u + 3 * sigma_u) + 2)
    v0, v1 = max(0, int(v - 3 * sigma_v)), min(height, int(v + 3 * sigma_v) + 2)
    if u0 >= u1 or v0 >= v1:
        return
    gx = np.exp(-0.5 * ((np.arange(u0, u1, dtype=np.float32) + 0.5 - u) / sigma_u) ** 2)
    gy = np.exp(-0.5 * ((np.arange(v0, v1, dtype=np.float32) + 0.5 - v) / sigma_v) ** 2)
    image[:, v0:v1, u0:u1] += (gy[:, None] * gx[None, :])[None] * _col(rgb)


@dataclass(frozen=True)
class FrameInputs:
    """One frame's rendered geometry: albedo (H×W×3 uint8), depth (H×W m), sky weight and ground mask
    (H×W), self-lit polygon radiance (H×W×3 float), the draw list (lights, sprays, pools), the camera,
    the frame index and sun bearing (rad, + right), and whether any polygon is self-lit."""

    albedo: np.ndarray
    depth: np.ndarray
    sky: np.ndarray
    ground: np.ndarray
    emissive: np.ndarray
    draw: DrawList
    cam: Camera
    index: int
    sun_bearing: float
    has_emissive: bool = True


def _splat_light(image: np.ndarray, u: float, v: float, sigma: float, halo_sigma: float, rgb: np.ndarray,
                 halo_gain: float) -> None:
    """Add a light's sharp core (σ px) and its soft halo (halo σ px, peak rgb·halo_gain) in one window."""
    height, width = image.shape[1:]
    reach = 3 * halo_sigma
    u0, u1 = max(0, int(u - reach)), min(width, int(u + reach) + 2)
    v0, v1 = max(0, int(v - reach)), min(height, int(v + reach) + 2)
    if u0 >= u1 or v0 >= v1:
        return
    du = np.arange(u0, u1, dtype=np.float32) + 0.5 - u
    dv = np.arange(v0, v1, dtype=np.float32) + 0.5 - v
    core = np.exp(-0.5 * (dv / sigma) ** 2)[:, None] * np.exp(-0.5 * (du / sigma) ** 2)[None, :]
    halo = np.exp(-0.5 * (dv / halo_sigma) ** 2)[:, None] * np.exp(-0.5 * (du / halo_sigma) ** 2)[None, :]
    image[:, v0:v1, u0:u1] += (core + halo_gain * halo)[None] * _col(rgb)


def compose(frame: FrameInputs, look: Look, rain: Particles, snow: Particles, vignette: np.ndarray) -> np.ndarray:
    """Light and weather one frame; returns planar float32 3×H×W in [0,1].

    Work is planar (one H×W plane per colour) because numpy broadcasts a per-pixel factor over planes
    far faster than over an interleaved trailing RGB axis.
    """
    cam, depth = frame.cam, frame.depth
    height, width = depth.shape
    scale = width / 256.0                      # particle sizes and blur radii follow the frame size
    rows = (np.arange(height, dtype=np.float32) + 0.5)[:, None]
    cols = (np.arange(width, dtype=np.float32) + 0.5)[None, :]
    sky = frame.sky
    image = np.stack(cv2.split(frame.albedo)).astype(np.float32)
    image *= np.float32(1.0 / 255.0)

    # Light on surfaces: ambient, ego headlights (a cone fading with depth), lamp pools on the road.
    # Sky pixels hold radiance already, so their factor is 1.
    light = np.empty((3, height, width), np.float32)
    light[:] = _col(look.ambient)
    if look.headlights > 0.01:
        beam = (np.exp(-(((cols - cam.centre_u) / cam.focal) / 0.42) ** 2)
                * np.exp(-np.maximum(0.0, (cam.horizon - rows) / cam.focal + 0.03) * 30.0))
        reach = (2.0 * look.headlights) * beam / (1.0 + np.square(depth * np.float32(1 / 24.0))) * (depth > 1.5)
        light += reach[None] * _col((1.0, 0.97, 0.9))
    for x, z, radius, rgb in frame.draw.pools:
        if z > 2:
            u, v = cam.project(np.asarray([[x, 0.0, z]]))[0]
            _splat(light, u, v, max(1.0, cam.focal * radius / z), max(0.6, cam.focal * cam.height_m * radius / z / z),
                   rgb)
    light -= 1.0
    light *= 1 - sky
    light += 1.0
    image *= light

    # Wet road: a mirror-like sheen that grows towards grazing angles (far road reflects more sky).
    if look.wetness > 0.01:
        grazing = np.clip(1.0 - (rows - cam.horizon) / max(height - cam.horizon, 1.0), 0, 1) ** 2
        sheen = (0.45 * look.wetness * grazing) * frame.ground
        image += (_col(look.sky_horizon) - image) * sheen

    # Haze by depth. Sky "depth" shrinks with elevation: looking up crosses less air.
    elevation = np.clip((cam.horizon - rows) / max(cam.horizon, 1.0), 0, 1)
    sky_path = 400.0 - 280.0 * elevation
    path = np.where(depth >= SKY_DEPTH, sky_path, np.minimum(depth, 900.0))
    transmission = np.exp(np.float32(-look.haze_density) * path)
    haze = _col(look.haze)
    image -= haze
    image *= transmission
    image += haze

    # Spray and dust thrown up behind vehicles: local haze puffs.
    if look.spray > 0.01 and frame.draw.sprays:
        puff = np.zeros((1, height, width), np.float32)
        for x, z, spread, tall, strength in frame.draw.sprays:
            if 2.0 < z < 90.0 and cam.focal * tall > z:   # skip puffs under a pixel tall
                u, v = cam.project(np.asarray([[x, 0.45 * tall, z]]))[0]
                _splat(puff, u, v, cam.focal * spread * 0.45 / z, cam.focal * tall * 0.5 / z,
                       (strength * look.spray * np.exp(-z / 70.0),))
        np.minimum(puff, 0.85, out=puff)
        image += (haze * 1.08 - image) * puff

    # Lights: polygons that glow, and point lights with a core, a halo (bigger in haze) and wet reflections.
    if frame.has_emissive:
        image += np.stack(cv2.split(frame.emissive)) * transmission
    halo_gain = 0.12 + 2.5 * min(look.haze_density, 0.05) + 0.15 * look.rain
    lamps = [lamp for lamp in frame.draw.lights if lamp.z > 1.0 and max(lamp.rgb) >= 0.02]
    if lamps:
        where = cam.project(np.asarray([(lamp.x, lamp.y, lamp.z) for lamp in lamps]))
        margin = 20 * scale
        for lamp, (u, v) in zip(lamps, where.tolist()):
            if not (-margin < u < width + margin and -margin < v < height + margin):
                continue
            iu, iv = min(max(int(u), 0), width - 1), min(max(int(v), 0), height - 1)
            if depth[iv, iu] < lamp.z - 1.0:   # hidden behind something nearer
                continue
            fade = float(np.exp(-look.haze_density * lamp.z))
            sigma = max(0.6 * scale, cam.focal * lamp.size / lamp.z)
            rgb = np.asarray(lamp.rgb, np.float32) * fade
            _splat_light(image, u, v, sigma, sigma * 2.5 + 1.5 * scale, rgb, halo_gain)
            if look.wetness > 0.05 and lamp.reflects:
                v_ground = cam.horizon + cam.focal * cam.height_m / lamp.z
                _splat(image, u, 2 * v_ground - v + sigma, sigma * 1.3, sigma * 3 + 2 * scale,
                       rgb * 0.3 * look.wetness)

    if look.sun > 0.01:
        _sun_glare(image, cam, look.sun, frame.sun_bearing, scale)
    if look.rain > 0.01:
        _rain(image, rain, look.rain, frame.index, scale)
    if look.snow > 0.01:
        _snow(image, snow, look.snow, frame.index, scale)
    if look.dust > 0.01:
        _dust(image, rain, look.dust, frame.index, scale, haze)

    # Saturation about the grey level, then the lens vignette.
    if abs(look.saturation - 1.0) > 1e-3:
        grey = (image[0] + image[1] + image[2]) * np.float32((1 - look.saturation) / 3)
        image *= np.float32(look.saturation)
        image += grey
    image *= vignette
    return np.clip(image, 0.0, 1.0, out=image)


def _sun_glare(image: np.ndarray, cam: Camera, strength: float, bearing: float, scale: float) -> None:
    """A low sun just above the horizon: disc, bloom, a warm veil that lifts blacks, and flare ghosts."""
    height, width = image.shape[1:]
    u = cam.centre_u + cam.focal * bearing
    v = cam.horizon - cam.focal * 0.045
    warm = _col((1.0, 0.86, 0.62))
    cols = np.arange(width, dtype=np.float32) + 0.5 - u
    rows = np.arange(height, dtype=np.float32) + 0.5 - v
    bloom = np.zeros((height, width), np.float32)
    for sigma_u, sigma_v, peak in ((3.0, 3.0, 3.5), (22.0, 16.0, 0.9), (90.0, 55.0, 0.35)):
        gx = np.exp(-0.5 * (cols / (sigma_u * scale)) ** 2)
        gy = np.exp(-0.5 * (rows / (sigma_v * scale)) ** 2) * (peak * strength)
        bloom += gy[:, None] * gx[None, :]
    # Veiling glare: the windscreen scatters light over everything, lowering contrast.
    veil = 0.18 * strength
    image *= np.float32(1 - veil)
    image += warm * veil
    image += bloom[None] * warm
    centre = np.asarray((width / 2, height / 2))
    for k, radius, tint in ((0.6, 5.0, (0.5, 0.8, 1.0)), (1.25, 9.0, (0.9, 0.6, 1.0)), (1.7, 4.0, (0.7, 1.0, 0.6))):
        gu, gv = np.asarray((u, v)) + k * (centre - np.asarray((u, v)))
        _splat(image, gu, gv, radius * scale, radius * scale, np.asarray(tint, np.float32) * 0.12 * strength)


def _streaks(shape: tuple[int, int], u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray,
             level: np.ndarray, thickness: int) -> np.ndarray:
    """Draw segments (u,v)→(u+du, v+dv) into an H×W float layer, in 3 brightness groups by `level`
    (one cv2.polylines call per group, so hundreds of streaks cost three C calls)."""
    layer = np.zeros(shape, np.float32)
    start = np.stack([u, v], axis=1)
    end = np.stack([u + du, v + dv], axis=1)
    segments = np.round(np.stack([start, end], axis=1) * 16).astype(np.int32)
    groups = np.minimum((level * 3).astype(int), 2)
    for group in range(3):
        chosen = segments[groups == group]
        if len(chosen):
            cv2.polylines(layer, list(chosen), False, 0.3 + 0.35 * group, thickness, cv2.LINE_8, 4)
    return layer


def _rain(image: np.ndarray, drops: Particles, amount: float, index: int, scale: float) -> None:
    """Slanted streaks falling about a fifth of the frame per frame; near (big) ones are brighter."""
    height, width = image.shape[1:]
    count = int(len(drops.u) * amount)
    near = drops.layer[:count]
    v = np.mod(drops.v[:count] + (0.21 * near + 0.04) * index, 1.0) * (height * 1.2) - 0.1 * height
    u = np.mod(drops.u[:count] + 0.012 * index, 1.0) * width
    length = (10 + 22 * near) * scale
    layer = _streaks((height, width), u, v, -0.18 * length, -length, (near - 0.3) / 0.7, max(1, int(scale / 2.5)))
    layer = cv2.GaussianBlur(layer, (0, 0), 0.6 * scale)
    image += (np.float32(0.85) - image) * (layer * np.float32(0.5))


def _snow(image: np.ndarray, flakes: Particles, amount: float, index: int, scale: float) -> None:
    """Flakes drifting down slowly with a sideways sway; nearer flakes are bigger and faster.

    Flakes are splatted bilinearly (sub-pixel smooth motion) and blurred per size group.
    """
    height, width = image.shape[1:]
    count = int(len(flakes.u) * amount)
    near = flakes.layer[:count]
    v = np.mod(flakes.v[:count] + (0.015 + 0.035 * near) * index, 1.0) * (height - 1)
    u = np.mod(flakes.u[:count] + 0.012 * np.sin(0.5 * index + flakes.phase[:count]) + 0.004 * index, 1.0) * (width - 1)
    total = np.zeros((height, width), np.float32)
    for low, high, sigma in ((0.0, 0.6, 0.55), (0.6, 0.85, 1.0), (0.85, 1.01, 1.7)):
        chosen = (near >= low) & (near < high)
        if not chosen.any():
            continue
        sig = sigma * scale
        layer = np.zeros((height + 1, width + 1), np.float32)
        cu, cv_ = u[chosen], v[chosen]
        iu, iv = cu.astype(int), cv_.astype(int)
        fu, fv = (cu - iu).astype(np.float32), (cv_ - iv).astype(np.float32)
        weight = np.float32(2 * np.pi * sig * sig * 0.9)   # peak ≈ 0.9 after the blur
        for du, dv, w in ((0, 0, (1 - fu) * (1 - fv)), (1, 0, fu * (1 - fv)), (0, 1, (1 - fu) * fv), (1, 1, fu * fv)):
            np.add.at(layer, (iv + dv, iu + du), w * weight)
        total += cv2.GaussianBlur(layer[:height, :width], (0, 0), sig)
    np.minimum(total, 1.0, out=total)
    image += (np.float32(0.95) - image) * total


def _dust(image: np.ndarray, grains: Particles, amount: float, index: int, scale: float,
          haze: np.ndarray) -> None:
    """Wind-blown dust: faint horizontal wisps streaming right to left across the frame."""
    height, width = image.shape[1:]
    count = int(len(grains.u) * 0.35 * amount)
    near = grains.layer[:count]
    u = np.mod(grains.u[:count] - (0.03 + 0.05 * near) * index, 1.0) * width
    v = (0.25 + 0.75 * grains.v[:count]) * height    # dust blows mostly low, near the ground
    length = (25 + 60 * near) * scale
    layer = _streaks((height, width), u, v, length, 1.5 * scale * np.ones(count), near, max(1, int(scale)))
    layer = cv2.GaussianBlur(layer, (0, 0), 1.5 * scale) * np.float32(0.3)
    image += (haze * np.float32(1.15) - image) * layer
