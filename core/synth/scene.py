"""Scene geometry: the pinhole camera, the per-pixel road and terrain, the sky backdrop, and the draw list.

Conventions (all frames): world x is lateral metres relative to the road (see roads.py), y is metres
above the road, z is metres ahead of the camera. Images are H×W (rows, columns); albedo canvases are
uint8 RGB (so cv2's anti-aliased polygon fill can be used), depth maps are float32 metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from core.synth.roads import RGB, RoadLayout

SKY_DEPTH = 1.0e4          # depth written for sky pixels; weather treats it as "no surface"
BACKGROUND_DEPTH = 900.0   # far hills, mountains and skylines
MAX_GROUND_DEPTH = 1500.0  # ground rows just under the horizon
SUBPIXEL_BITS = 4          # cv2 fixed-point shift: 1/16 px vertex precision keeps slow motion smooth
SUBPIXEL = float(1 << SUBPIXEL_BITS)


@dataclass(frozen=True)
class Camera:
    """A forward pinhole camera over a road that curves as x_offset(z) = curvature·z²/2.

    focal is in pixels, horizon and centre_u are the image row/column of the vanishing point (they move
    with camera shake), height_m is the lens height over the road and cam_x the lateral position (m).
    """

    width: int
    height: int
    focal: float
    horizon: float
    centre_u: float
    height_m: float
    cam_x: float
    curvature: float
    near: float = 1.0

    def curve(self, z: np.ndarray | float) -> np.ndarray | float:
        return 0.5 * self.curvature * z * z

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N,3) world x,y,z → (N,2) pixel u,v (floats, pixel centres at +0.5)."""
        z = np.maximum(points[:, 2], self.near)
        u = self.centre_u + self.focal * (points[:, 0] + self.curve(z) - self.cam_x) / z
        v = self.horizon - self.focal * (points[:, 1] - self.height_m) / z
        return np.stack([u, v], axis=1)


@dataclass
class Light:
    """A point light: world position (m), apparent size (m) and linear RGB intensity (1 = white paper)."""

    x: float
    y: float
    z: float
    size: float
    rgb: RGB
    reflects: bool = True   # whether a wet road mirrors it


@dataclass
class DrawList:
    """Polygons (painted far to near), point lights, spray puffs and lamp pools collected for one frame."""

    polys: list[tuple[float, np.ndarray, RGB, RGB | None]] = field(default_factory=list)
    lights: list[Light] = field(default_factory=list)
    sprays: list[tuple[float, float, float, float, float]] = field(default_factory=list)  # x, z, width, height, alpha
    pools: list[tuple[float, float, float, RGB]] = field(default_factory=list)  # lamp light on the road: x, z, radius, rgb

    def poly(self, key_z: float, points: list | np.ndarray, colour: RGB, emit: RGB | None = None) -> None:
        """Add a polygon (N×3 world points). key_z orders painting; emit adds self-lit colour."""
        self.polys.append((key_z, np.asarray(points, dtype=np.float64), colour, emit))

    def side_quad(self, x: float, y0: float, y1: float, z0: float, z1: float, colour: RGB,
                  lean: float = 0.0, emit: RGB | None = None) -> None:
        """A vertical wall in the plane x (top shifted by `lean` m) from depth z0 to z1."""
        self.poly(0.5 * (z0 + z1), [(x, y0, z0), (x + lean, y1, z0), (x + lean, y1, z1), (x, y0, z1)], colour, emit)

    def front_quad(self, x0: float, x1: float, y0: float, y1: float, z: float, colour: RGB,
                   emit: RGB | None = None, key_z: float | None = None) -> None:
        """A rectangle facing the camera at depth z."""
        self.poly(z if key_z is None else key_z, [(x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z)], colour, emit)

    def ellipse(self, x: float, y: float, z: float, rx: float, ry: float, colour: RGB,
                key_z: float | None = None, segments: int = 12) -> None:
        """A camera-facing ellipse (billboard) centred at (x, y, z)."""
        angles = np.linspace(0, 2 * np.pi, segments, endpoint=False)
        pts = np.stack([x + rx * np.cos(angles), y + ry * np.sin(angles), np.full(segments, z)], axis=1)
        self.poly(z if key_z is None else key_z, pts, colour)

    def ground_quad(self, x0: float, x1: float, z0: float, z1: float, colour: RGB, key_z: float) -> None:
        """A flat patch on the road surface (shadows, debris)."""
        self.poly(key_z, [(x0, 0.02, z0), (x1, 0.02, z0), (x1, 0.02, z1), (x0, 0.02, z1)], colour)


def _clip_near(points: np.ndarray, near: float) -> np.ndarray:
    """Sutherland–Hodgman clip of a convex polygon against the plane z = near (keeps z ≥ near)."""
    out = []
    count = len(points)
    for i in range(count):
        a, b = points[i], points[(i + 1) % count]
        a_in, b_in = a[2] >= near, b[2] >= near
        if a_in:
            out.append(a)
        if a_in != b_in:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.asarray(out) if out else np.zeros((0, 3))


def rasterise(draw: DrawList, cam: Camera, canvas: np.ndarray, depth: np.ndarray, emissive: np.ndarray) -> None:
    """Paint the draw list far to near into canvas (uint8 albedo), depth (m) and emissive (float RGB)."""
    order = sorted(range(len(draw.polys)), key=lambda i: -draw.polys[i][0])
    polys = []
    for i in order:
        key_z, pts, colour, emit = draw.polys[i]
        if pts[:, 2].max() < cam.near:
            continue
        if pts[:, 2].min() < cam.near:
            pts = _clip_near(pts, cam.near)
            if len(pts) < 3:
                continue
        polys.append((pts, colour, emit))
    if not polys:
        return
    counts = [len(p[0]) for p in polys]
    uv = cam.project(np.concatenate([p[0] for p in polys]))
    fixed = np.round(uv * SUBPIXEL).astype(np.int32)
    width, height = cam.width, cam.height
    start = 0
    for (pts, colour, emit), count in zip(polys, counts):
        poly_uv = uv[start:start + count]
        poly_fixed = fixed[start:start + count]
        start += count
        u_min, v_min = poly_uv.min(axis=0)
        u_max, v_max = poly_uv.max(axis=0)
        if u_max < 0 or v_max < 0 or u_min > width or v_min > height:
            continue
        if (u_max - u_min) < 0.15 or (v_max - v_min) < 0.15:
            continue
        contour = [poly_fixed.reshape(-1, 1, 2)]
        cv2.fillPoly(canvas, contour, tuple(int(255 * c + 0.5) for c in colour), cv2.LINE_AA, SUBPIXEL_BITS)
        cv2.fillPoly(depth, contour, float(pts[:, 2].mean()), cv2.LINE_8, SUBPIXEL_BITS)
        if emit is not None:
            cv2.fillPoly(emissive, contour, tuple(float(c) for c in emit), cv2.LINE_8, SUBPIXEL_BITS)


def _box_coverage(offset: np.ndarray, half_width: float, footprint: np.ndarray) -> np.ndarray:
    """Share of a pixel (footprint m wide, centred `offset` m from a band's centre) inside the band.

    An exact box filter: thin far lines fade to their true average instead of aliasing and flickering.
    """
    overlap = np.minimum(offset + 0.5 * footprint, half_width) - np.maximum(offset - 0.5 * footprint, -half_width)
    return np.clip(overlap / footprint, 0.0, 1.0)


def _dash_coverage(s: np.ndarray, dash: float, period: float, footprint: np.ndarray) -> np.ndarray:
    """Box-filtered coverage of dashes [k·period, k·period+dash] along s for pixels `footprint` m deep."""
    phase = np.mod(s, period) - 0.5 * dash
    cover = (_box_coverage(phase, 0.5 * dash, footprint) + _box_coverage(phase - period, 0.5 * dash, footprint)
             + _box_coverage(phase + period, 0.5 * dash, footprint))
    far = np.clip((footprint - 0.5 * period) / (0.5 * period), 0.0, 1.0)   # beyond Nyquist: the average
    return cover * (1 - far) + (dash / period) * far


def _attenuate(footprint: np.ndarray, wavelength: float) -> np.ndarray:
    """How much of a texture of this wavelength (m) survives pixels of this footprint (m)."""
    return np.exp(-(footprint / wavelength) ** 2 * 4.0)


def _mix(base: np.ndarray, colour: np.ndarray | RGB, cover: np.ndarray) -> np.ndarray:
    return base + (np.asarray(colour, dtype=np.float32) - base) * cover[..., None]


@dataclass(frozen=True)
class SurfaceLook:
    """The part of a condition that changes the ground itself: snow cover and wetness (0..1)."""

    snow_cover: float
    wetness: float


SNOW: RGB = (0.88, 0.89, 0.92)


def render_ground(cam: Camera, layout: RoadLayout, ego_s: float, surface: SurfaceLook, phases: np.ndarray,
                  albedo: np.ndarray, depth: np.ndarray) -> None:
    """Fill rows below the horizon of albedo (H×W×3 float32) and depth (H×W, m) with road and terrain.

    ego_s is the camera's distance along the road (m), so everything painted on the ground flows past
    at ego speed. phases (≥6 floats in [0, 2π)) vary the terrain texture per scene.
    """
    first_row = max(0, int(np.floor(cam.horizon + 0.5)))
    if first_row >= cam.height:
        return
    rows = np.arange(first_row, cam.height, dtype=np.float32) + 0.5
    drop = np.maximum(rows - cam.horizon, 0.35)
    z = np.minimum(cam.focal * cam.height_m / drop, MAX_GROUND_DEPTH).astype(np.float32)
    foot_x = (z / cam.focal)[:, None]                           # metres per pixel across
    foot_s = (z / drop)[:, None]                                # metres per pixel along the road
    cols = np.arange(cam.width, dtype=np.float32) + 0.5
    x = (cols[None, :] - cam.centre_u) * foot_x - cam.curve(z)[:, None] + cam.cam_x
    s = (ego_s + z)[:, None]
    right, left = layout.right_edge, layout.left_edge

    # Terrain: two tones left/right with a texture that is fixed to the world, so it flows with s.
    side = np.clip(x / 4.0, -0.5, 0.5) + 0.5
    base = (np.asarray(layout.terrain_left, np.float32)[None, None] * (1 - side[..., None])
            + np.asarray(layout.terrain_right, np.float32)[None, None] * side[..., None])
    tex = (np.sin(0.21 * x + phases[0]) * np.cos(0.13 * s + phases[1]) * _attenuate(foot_x, 15.0)
           + 0.6 * np.sin(0.9 * x + 0.4 * s + phases[2]) * _attenuate(np.maximum(foot_x, foot_s), 4.0))
    if layout.crop_rows:
        tex = tex + 0.9 * np.sin(2 * np.pi * x / 1.6) * _attenuate(foot_x, 1.6)
    base = base * (1 + layout.terrain_texture * tex)[..., None]
    base = _mix(base, SNOW, np.full(x.shape, 0.95 * surface.snow_cover, np.float32))

    if layout.sidewalk > 0:
        for sign, edge in ((1, right + layout.shoulder_right), (-1, left - layout.shoulder_left)):
            centre = edge + sign * layout.sidewalk / 2
            walk = _box_coverage(x - centre, layout.sidewalk / 2, foot_x)
            joints = 1 - 0.25 * _dash_coverage(s, 0.08, 1.5, foot_s)
            base = _mix(base, (0.62, 0.61, 0.58), walk) * np.where(walk > 0, joints, 1)[..., None]
    if layout.median_width > 0:
        base = _mix(base, layout.median, _box_coverage(x, layout.median_width / 2 - 0.6, foot_x))

    # Shoulders and asphalt (slightly wider than the lanes), with longitudinal wear and world-fixed patches.
    paved_centre = 0.5 * ((right + layout.shoulder_right) + (left - layout.shoulder_left))
    paved_half = 0.5 * ((right + layout.shoulder_right) - (left - layout.shoulder_left))
    if layout.median_width > 0:
        paved = (_box_coverage(x - (right + layout.median_width / 2 + layout.shoulder_right) / 2,
                               (right - layout.median_width / 2 + layout.shoulder_right) / 2, foot_x)
                 + _box_coverage(x - (left - layout.median_width / 2 - layout.shoulder_left) / 2,
                                 (-left - layout.median_width / 2 + layout.shoulder_left) / 2, foot_x))
    else:
        paved = _box_coverage(x - paved_centre, paved_half, foot_x)
    shoulder_colour = np.asarray(layout.shoulder, np.float32)
    base = _mix(base, shoulder_colour * (1 - 0.25 * surface.wetness), paved)
    lanes = _box_coverage(np.abs(x) - (right + layout.median_width / 2) / 2,
                          (right - layout.median_width / 2) / 2 + 0.15, foot_x) if layout.median_width > 0 \
        else _box_coverage(x - (right + left) / 2, (right - left) / 2 + 0.15, foot_x)
    patch = 1 + 0.07 * np.sin(0.37 * s + phases[3]) * np.sin(0.11 * s + 1.3 * x) * _attenuate(foot_s, 6.0)
    lane_pos = np.mod(x - layout.median_width / 2, layout.lane_width) - layout.lane_width / 2
    wear = 1 - 0.10 * (_box_coverage(np.abs(lane_pos) - 0.85, 0.35, foot_x))
    asphalt = np.asarray(layout.asphalt, np.float32) * (1 - 0.35 * surface.wetness)
    road_colour = asphalt[None, None] * (patch * wear)[..., None]
    # Snow lies on the road except in the two tyre tracks of every lane.
    tracks = _box_coverage(np.abs(lane_pos) - 0.85, 0.32, foot_x)
    road_colour = _mix(road_colour, (0.80, 0.81, 0.84), (0.85 * surface.snow_cover * (1 - 0.8 * tracks)))
    base = _mix(base, road_colour, lanes)

    paint_visible = 1 - 0.85 * surface.snow_cover
    for mark in layout.markings:
        cover = _box_coverage(x - mark.x, mark.half_width, foot_x)
        if mark.dash is not None:
            cover = cover * _dash_coverage(s, mark.dash[0], mark.dash[1], foot_s)
        base = _mix(base, mark.colour, cover * paint_visible)

    albedo[first_row:] = base
    depth[first_row:] = np.broadcast_to(z[:, None], (len(z), cam.width))


def background_profile(layout: RoadLayout, rng: np.random.Generator) -> np.ndarray:
    """Silhouette height above the horizon (radians) at 1024 bearings over ±1.2 rad."""
    bearings = np.linspace(-1.2, 1.2, 1024)
    kind = layout.background
    height = np.zeros_like(bearings)
    if kind in ("hills", "treeline", "mountains"):
        scale = {"hills": 0.025, "treeline": 0.03, "mountains": 0.16}[kind]
        for octave in range(5):
            freq = (3 + 4 * rng.random()) * 2.2 ** octave
            height += scale * 0.55 ** octave * (0.6 + 0.4 * np.sin(freq * bearings + rng.uniform(0, 2 * np.pi)))
        if kind == "treeline":
            height += 0.006 * np.abs(np.sin(bearings * 260 + rng.uniform(0, 6)))
    elif kind == "mesas":
        for _ in range(5):
            centre, half, top = rng.uniform(-1.1, 1.1), rng.uniform(0.04, 0.18), rng.uniform(0.03, 0.07)
            height = np.maximum(height, top * np.clip((half - np.abs(bearings - centre)) / 0.02, 0, 1))
        height += 0.004
    elif kind == "city":
        edges = np.sort(rng.uniform(-1.2, 1.2, 60))
        levels = rng.uniform(0.02, 0.13, 61)
        height = levels[np.searchsorted(edges, bearings)]
    return height


def render_backdrop(cam: Camera, layout: RoadLayout, profile: np.ndarray, sky_top: RGB, sky_horizon: RGB,
                    albedo: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Fill the sky gradient and the far silhouette above the horizon; return the sky weight (H×W, 0..1).

    Sky colours are final radiance (not albedo): the weather module does not relight sky pixels.
    """
    rows = np.arange(cam.height, dtype=np.float32) + 0.5
    up = np.clip((cam.horizon - rows) / max(cam.horizon, 1.0), 0, 1) ** 0.7
    top, hor = np.asarray(sky_top, np.float32), np.asarray(sky_horizon, np.float32)
    sky_rows = hor[None] + (top - hor)[None] * up[:, None]
    bearings = (np.arange(cam.width, dtype=np.float32) + 0.5 - cam.centre_u) / cam.focal
    top_row = cam.horizon - cam.focal * np.interp(bearings, np.linspace(-1.2, 1.2, len(profile)), profile)
    # Soft-edged silhouette: coverage of each pixel by the area below the profile.
    cover = np.clip(rows[:, None] - top_row[None, :] + 0.5, 0.0, 1.0)
    colour = np.asarray(layout.background_colour, np.float32)
    if layout.background == "mountains":
        snowline = (cam.horizon - rows[:, None]) > 0.65 * (cam.horizon - top_row[None, :]) + 2
        land = np.where(snowline[..., None], np.asarray((0.86, 0.88, 0.92), np.float32), colour)
    else:
        land = np.broadcast_to(colour, (cam.height, cam.width, 3))
    albedo[:] = sky_rows[:, None, :] * (1 - cover[..., None]) + land * cover[..., None]
    depth[:] = np.where(cover >= 0.5, BACKGROUND_DEPTH, SKY_DEPTH)
    return (1.0 - cover).astype(np.float32)
