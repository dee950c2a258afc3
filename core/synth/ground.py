"""The road surface and terrain, textured through pre-filtered lateral tables (a 1-D mip-map).

Everything painted across the road (terrain tones, median, shoulders, lanes, tyre tracks, solid and
dashed line positions) depends on the lateral position x only. We sample that profile once per clip on
a fine grid, box-filter it at 12 widths (0.025 m … 51 m), and each frame look it up with cv2.remap at
(x of the pixel, filter width = the pixel's footprint). Far rows thus show the true average of thin
lines instead of aliasing, which keeps the clips free of shimmer, and the per-frame cost is two remaps.
What varies along the road (dashes, patches, sidewalk joints, terrain texture) is applied per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from core.synth.roads import RGB, RoadLayout

MAX_GROUND_DEPTH = 1500.0  # ground rows just under the horizon
TABLE_STEP = 0.025         # m between lateral samples
TABLE_HALF = 45.0          # m covered either side of x=0; beyond it the terrain tone repeats
TABLE_LEVELS = 12          # filter widths TABLE_STEP·2^k
SNOW: RGB = (0.88, 0.89, 0.92)
SIDEWALK: RGB = (0.62, 0.61, 0.58)
ROAD_SNOW: RGB = (0.80, 0.81, 0.84)


@dataclass(frozen=True)
class SurfaceLook:
    """The part of a condition that changes the ground itself: snow cover and wetness (0..1)."""

    snow_cover: float
    wetness: float


def _lateral_profile(layout: RoadLayout, x: np.ndarray, snow: float, wet: float) -> tuple[np.ndarray, np.ndarray]:
    """Point-sampled profile at x (N,): colour+terrain share (N,4) and road share, dash shares, walk (N,4)."""
    right, left = layout.right_edge, layout.left_edge
    outer_right, outer_left = right + layout.shoulder_right, left - layout.shoulder_left
    side = np.clip(x * 0.25 + 0.5, 0.0, 1.0)[:, None]
    terrain = np.asarray(layout.terrain_left) * (1 - side) + np.asarray(layout.terrain_right) * side
    colour = terrain + (np.asarray(SNOW) - terrain) * 0.95 * snow
    terrain_share = np.ones(len(x))
    extra = np.zeros((len(x), 4))   # road share, white dashes, yellow dashes, sidewalk

    def paint(mask: np.ndarray, rgb, terrain_value: float = 0.0) -> None:
        colour[mask] = rgb if np.ndim(rgb) == 1 else rgb[mask]
        terrain_share[mask] = terrain_value

    if layout.sidewalk > 0:
        walk = ((x > outer_right) & (x < outer_right + layout.sidewalk)) | \
               ((x < outer_left) & (x > outer_left - layout.sidewalk))
        paint(walk, np.asarray(SIDEWALK) + (np.asarray(SNOW) - np.asarray(SIDEWALK)) * 0.7 * snow)
        extra[walk, 3] = 1.0
    inner = layout.median_width / 2
    if inner > 0:
        paint(np.abs(x) < inner - 0.6, np.asarray(layout.median) + (np.asarray(SNOW) - layout.median) * 0.95 * snow, 1.0)
        paved = (np.abs(x) >= inner - 0.6) & (x < outer_right) & (x > outer_left)
        lanes = (np.abs(x) >= inner - 0.15) & (np.abs(x) < right + 0.15)
    else:
        paved = (x < outer_right) & (x > outer_left)
        lanes = (x < right + 0.15) & (x > left - 0.15)
    shoulder = np.asarray(layout.shoulder) * (1 - 0.25 * wet)
    paint(paved, shoulder + (np.asarray(ROAD_SNOW) - shoulder) * 0.85 * snow)
    lane_pos = np.abs(np.mod(x - inner, layout.lane_width) - layout.lane_width / 2)
    tracks = (np.abs(lane_pos - 0.85) < 0.22).astype(np.float64)[:, None]
    road = np.asarray(layout.asphalt) * (1 - 0.35 * wet) * (1 - 0.06 * tracks)
    road = road + (np.asarray(ROAD_SNOW) - road) * (0.85 * snow) * (1 - 0.45 * tracks)
    paint(lanes, road)
    extra[lanes, 0] = 1.0
    visible = 1 - 0.85 * snow
    for mark in layout.markings:
        on = np.abs(x - mark.x) < mark.half_width
        if mark.dash is None:
            colour[on] += (np.asarray(mark.colour) - colour[on]) * visible
        else:
            extra[on, 1 if mark.colour[2] > 0.5 else 2] = 1.0
    return np.concatenate([colour, terrain_share[:, None]], axis=1), extra


def _mip(profile: np.ndarray) -> np.ndarray:
    """Box-filter a (N,C) profile at widths 1, 2, 4 … 2^(L-1) samples → (L, N, C) float32."""
    count = len(profile)
    padded = np.concatenate([np.repeat(profile[:1], 2 ** TABLE_LEVELS, 0), profile,
                             np.repeat(profile[-1:], 2 ** TABLE_LEVELS, 0)])
    cumulative = np.concatenate([np.zeros((1, profile.shape[1])), np.cumsum(padded, axis=0)])
    offset = 2 ** TABLE_LEVELS
    levels = []
    index = np.arange(count) + offset
    for level in range(TABLE_LEVELS):
        half = 2 ** level / 2
        lo = np.floor(index + 0.5 - half).astype(int)
        hi = lo + 2 ** level
        levels.append((cumulative[hi] - cumulative[lo]) / 2 ** level)
    return np.stack(levels).astype(np.float32)


@dataclass
class GroundTables:
    """Pre-filtered lateral tables for one road: (levels × samples × 4) float32 each.

    colour_* hold RGB and terrain share at dry/no snow, and their change with full snow and full wetness
    (the frame's table is their linear blend); extra holds road share, white/yellow dash shares, sidewalk.
    """

    colour_base: np.ndarray
    colour_snow: np.ndarray
    colour_wet: np.ndarray
    extra: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, layout: RoadLayout) -> "GroundTables":
        x = np.arange(-TABLE_HALF, TABLE_HALF, TABLE_STEP) + TABLE_STEP / 2
        base, extra = _lateral_profile(layout, x, 0.0, 0.0)
        snowy, _ = _lateral_profile(layout, x, 1.0, 0.0)
        wet, _ = _lateral_profile(layout, x, 0.0, 1.0)
        return cls(_mip(base), _mip(snowy - base), _mip(wet - base), _mip(extra))

    def colour(self, surface: SurfaceLook) -> np.ndarray:
        """The colour table for this snow cover and wetness (cached: most clips hold one condition)."""
        key = (surface.snow_cover, surface.wetness)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        table = self.colour_base
        if surface.snow_cover > 1e-3:
            table = table + self.colour_snow * np.float32(surface.snow_cover)
        if surface.wetness > 1e-3:
            table = table + self.colour_wet * np.float32(surface.wetness)
        if len(self._cache) > 32:
            self._cache.clear()
        self._cache[key] = table
        return table


def _dash_coverage(s: np.ndarray, dash: float, period: float, footprint: np.ndarray) -> np.ndarray:
    """Box-filtered share of dashes [k·period, k·period+dash] along s for pixels `footprint` m deep."""
    phase = np.mod(s, period) - 0.5 * dash
    cover = np.zeros_like(phase)
    for shift in (-period, 0.0, period):
        d = phase + shift
        cover += np.clip(np.minimum(d + 0.5 * footprint, 0.5 * dash) - np.maximum(d - 0.5 * footprint, -0.5 * dash),
                         0, None) / footprint
    far = np.clip((footprint - 0.5 * period) / (0.5 * period), 0.0, 1.0)   # beyond Nyquist: the average
    return np.clip(cover, 0, 1) * (1 - far) + (dash / period) * far


def _attenuate(footprint: np.ndarray, wavelength: float) -> np.ndarray:
    """How much of a texture of this wavelength (m) survives pixels of this footprint (m)."""
    return np.exp(-(footprint / wavelength) ** 2 * 4.0)


def render_ground(cam, layout: RoadLayout, tables: GroundTables, ego_s: float, surface: SurfaceLook,
                  phases: np.ndarray, albedo: np.ndarray, depth: np.ndarray) -> None:
    """Fill rows below the horizon of albedo (planar 3×H×W float32) and depth (H×W, m) with the ground.

    ego_s is the camera's distance along the road (m), so everything painted on the ground flows past
    at ego speed. phases (≥4 floats in [0, 2π)) vary the texture per scene.
    """
    first_row = max(0, int(np.floor(cam.horizon + 0.5)))
    if first_row >= cam.height:
        return
    rows = np.arange(first_row, cam.height, dtype=np.float32) + 0.5
    drop = np.maximum(rows - cam.horizon, 0.35)
    z = np.minimum(cam.focal * cam.height_m / drop, MAX_GROUND_DEPTH).astype(np.float32)
    foot_x = (z / cam.focal)[:, None]                            # metres per pixel across
    foot_s = (z / drop)[:, None]                                 # metres per pixel along the road
    cols = np.arange(cam.width, dtype=np.float32) + 0.5
    x = (cols[None, :] - cam.centre_u) * foot_x + (cam.cam_x - cam.curve(z))[:, None]
    s = (ego_s + z)[:, None]

    map_x = (x + np.float32(TABLE_HALF - TABLE_STEP / 2)) * np.float32(1 / TABLE_STEP)
    level = np.clip(np.log2(np.maximum(foot_x, TABLE_STEP) / TABLE_STEP), 0, TABLE_LEVELS - 1).astype(np.float32)
    map_y = np.ascontiguousarray(np.broadcast_to(level, map_x.shape))
    width = tables.extra.shape[1]
    colour_table = tables.colour(surface).reshape(TABLE_LEVELS, width, 4)
    lateral = cv2.split(cv2.remap(colour_table, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    extra = cv2.split(cv2.remap(tables.extra, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))

    # Texture fixed to the world so it flows past: terrain undulation and road patches along s.
    tex = (np.sin(0.21 * x + phases[0]) * (np.cos(0.13 * s + phases[1]) * _attenuate(foot_x, 15.0))
           + np.sin(0.9 * x + 0.4 * s + phases[2]) * (0.6 * _attenuate(np.maximum(foot_x, foot_s), 4.0)))
    if layout.crop_rows:
        tex += np.sin(x * np.float32(2 * np.pi / 1.6)) * (0.9 * _attenuate(foot_x, 1.6))
    patch = (0.11 * np.sin(0.37 * s + phases[3]) * np.sin(0.083 * s + 1.1)) * _attenuate(foot_s, 5.0)
    tone = 1 + (layout.terrain_texture * tex) * lateral[3] + patch * extra[0]
    base = albedo[:, first_row:]
    for channel in range(3):
        np.multiply(lateral[channel], tone, out=base[channel])

    visible = 1 - 0.85 * surface.snow_cover
    for channel, colour in ((1, (0.92, 0.92, 0.9)), (2, (0.95, 0.78, 0.15))):
        dashes = [m.dash for m in layout.markings if m.dash is not None and (m.colour[2] > 0.5) == (channel == 1)]
        if dashes:
            cover = extra[channel] * (_dash_coverage(s, dashes[0][0], dashes[0][1], foot_s) * visible)
            base += (np.asarray(colour, np.float32).reshape(3, 1, 1) - base) * cover
    if layout.sidewalk > 0:
        base *= 1 - extra[3] * (0.25 * _dash_coverage(s, 0.08, 1.5, foot_s))
    depth[first_row:] = z[:, None]
