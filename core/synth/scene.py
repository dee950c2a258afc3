"""Scene geometry: the pinhole camera, the per-pixel road and terrain, the sky backdrop, and the draw list.

Conventions (all frames): world x is lateral metres relative to the road (see roads.py), y is metres
above the road, z is metres ahead of the camera. Images are H×W (rows, columns); albedo canvases are
uint8 RGB (so cv2's anti-aliased polygon fill can be used), depth maps are float32 metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

import cv2
import numpy as np

from core.synth.roads import RGB, RoadLayout

SKY_DEPTH = 1.0e4          # depth written for sky pixels; weather treats it as "no surface"
BACKGROUND_DEPTH = 900.0   # far hills, mountains and skylines
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


_UNIT_CIRCLES: dict[int, list[tuple[float, float]]] = {}


def _unit_circle(segments: int) -> list[tuple[float, float]]:
    if segments not in _UNIT_CIRCLES:
        angles = np.linspace(0, 2 * np.pi, segments, endpoint=False)
        _UNIT_CIRCLES[segments] = list(zip(np.cos(angles).tolist(), np.sin(angles).tolist()))
    return _UNIT_CIRCLES[segments]


@dataclass
class DrawList:
    """Polygons (painted far to near), point lights, spray puffs and lamp pools collected for one frame.

    Polygons are kept as flat Python lists (one key, vertex count, colour and emission per polygon, and
    all vertices in one list) so one frame's few hundred polygons are projected in a single numpy call.
    """

    keys: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    coords: list[float] = field(default_factory=list)   # x0, y0, z0, x1, … of every vertex, flat
    colours: list[RGB] = field(default_factory=list)
    emits: list[RGB | None] = field(default_factory=list)
    lights: list[Light] = field(default_factory=list)
    sprays: list[tuple[float, float, float, float, float]] = field(default_factory=list)  # x, z, width, height, alpha
    pools: list[tuple[float, float, float, RGB]] = field(default_factory=list)  # lamp light on the road: x, z, radius, rgb

    def poly(self, key_z: float, points: list | np.ndarray, colour: RGB, emit: RGB | None = None) -> None:
        """Add a polygon (N×3 world points). key_z orders painting; emit adds self-lit colour."""
        if isinstance(points, np.ndarray):
            self.coords.extend(points.ravel().tolist())
        else:
            self.coords.extend(chain.from_iterable(points))
        self.keys.append(key_z)
        self.counts.append(len(points))
        self.colours.append(colour)
        self.emits.append(emit)

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
        pts = [(x + rx * c, y + ry * s, z) for c, s in _unit_circle(segments)]
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


def rasterise(draw: DrawList, cam: Camera, canvas: np.ndarray, depth: np.ndarray, emissive: np.ndarray) -> bool:
    """Paint the draw list far to near into canvas (uint8 albedo), depth (m) and emissive (float RGB).

    Returns whether anything was written to `emissive`.
    """
    if not draw.keys:
        return False
    points = np.asarray(draw.coords, dtype=np.float64).reshape(-1, 3)
    counts = np.asarray(draw.counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    z = points[:, 2]
    z_min, z_max = np.minimum.reduceat(z, starts), np.maximum.reduceat(z, starts)
    z_mean = np.add.reduceat(z, starts) / counts
    uv = cam.project(points)
    u_min, u_max = np.minimum.reduceat(uv[:, 0], starts), np.maximum.reduceat(uv[:, 0], starts)
    v_min, v_max = np.minimum.reduceat(uv[:, 1], starts), np.maximum.reduceat(uv[:, 1], starts)
    visible = ((z_max >= cam.near) & (u_max >= 0) & (v_max >= 0) & (u_min <= cam.width) & (v_min <= cam.height)
               & ((u_max - u_min) >= 0.15) & ((v_max - v_min) >= 0.15))
    needs_clip = z_min < cam.near
    fixed = np.round(uv * SUBPIXEL).astype(np.int32)
    colours = np.round(np.asarray(draw.colours) * 255).astype(np.int32).tolist()
    order = np.argsort(-np.asarray(draw.keys), kind="stable")
    any_emit = False
    for i in order[visible[order]].tolist():
        start, count = starts[i], counts[i]
        if needs_clip[i]:
            clipped = _clip_near(points[start:start + count], cam.near)
            if len(clipped) < 3:
                continue
            contour = [np.round(cam.project(clipped) * SUBPIXEL).astype(np.int32).reshape(-1, 1, 2)]
        else:
            contour = [fixed[start:start + count].reshape(-1, 1, 2)]
        cv2.fillPoly(canvas, contour, colours[i], cv2.LINE_AA, SUBPIXEL_BITS)
        cv2.fillPoly(depth, contour, float(z_mean[i]), cv2.LINE_8, SUBPIXEL_BITS)
        emit = draw.emits[i]
        if emit is not None:
            cv2.fillPoly(emissive, contour, emit, cv2.LINE_8, SUBPIXEL_BITS)
            any_emit = True
    return any_emit


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
    """Fill the sky gradient and far silhouette above the horizon into albedo (planar 3×H×W float32) and
    depth (H×W, m); return the sky weight (H×W, 0..1).

    Only rows down to just below the horizon are written; render_ground fills the rest. Sky colours
    are final radiance (not albedo): the weather module does not relight sky pixels.
    """
    last = min(cam.height, max(1, int(np.floor(cam.horizon + 0.5)) + 1))
    rows = np.arange(last, dtype=np.float32) + 0.5
    up = np.clip((cam.horizon - rows) / max(cam.horizon, 1.0), 0, 1) ** 0.7
    top, hor = np.asarray(sky_top, np.float32), np.asarray(sky_horizon, np.float32)
    sky_rows = hor[None] + (top - hor)[None] * up[:, None]
    bearings = (np.arange(cam.width, dtype=np.float32) + 0.5 - cam.centre_u) / cam.focal
    top_row = cam.horizon - cam.focal * np.interp(bearings, np.linspace(-1.2, 1.2, len(profile)), profile)
    # Soft-edged silhouette: coverage of each pixel by the area below the profile.
    cover = np.clip(rows[:, None] - top_row[None, :].astype(np.float32) + 0.5, 0.0, 1.0)
    colour = np.asarray(layout.background_colour, np.float32).reshape(3, 1, 1)
    if layout.background == "mountains":
        snowline = (cam.horizon - rows[:, None]) > 0.65 * (cam.horizon - top_row[None, :]) + 2
        land = np.where(snowline[None], np.asarray((0.86, 0.88, 0.92), np.float32).reshape(3, 1, 1), colour)
    else:
        land = colour
    sky_planes = sky_rows.T[:, :, None]
    albedo[:, :last] = sky_planes + (land - sky_planes) * cover[None]
    depth[:last] = np.where(cover >= 0.5, BACKGROUND_DEPTH, SKY_DEPTH)
    weight = np.zeros(depth.shape, np.float32)
    weight[:last] = 1.0 - cover
    return weight
