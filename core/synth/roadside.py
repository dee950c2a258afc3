"""Roadside objects: poles, signs, trees, buildings, walls and rails placed along the road per scene.

Objects are placed once per clip at fixed distances s (m along the road) from a seeded generator, and
each frame draws the ones between the camera and the far cull distance at depth z = s - ego_s, so they
grow with perspective as the car drives past.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.synth.roads import RGB, RoadLayout
from core.synth.ground import SNOW
from core.synth.scene import DrawList, Light
from core.synth.spec import stable_rng


@dataclass(frozen=True)
class Lighting:
    """What roadside builders need from the condition: lamp and headlight levels, snow cover (0..1)."""

    lamps: float
    headlights: float
    snow_cover: float


@dataclass(frozen=True)
class Prop:
    """One placed object: kind, distance along the road s (m), lateral x (m), size scale, and a tone."""

    kind: str
    s: float
    x: float
    scale: float
    tone: float       # 0..1, picks a colour variant
    side: int         # +1 right of the road, -1 left


# How far (m) each kind is worth drawing, and its along-road spacing (m, mean) per side.
CULL = {"utility_pole": 220, "light_pole": 260, "guide_sign": 260, "sign": 160, "tree": 220, "pine": 220,
        "delineator": 90, "fence_post": 70, "building": 260, "street_light": 220, "shrub": 120, "cactus": 180}
SPACING = {"utility_pole": 45, "light_pole": 60, "guide_sign": 260, "sign": 120, "tree": 14, "pine": 10,
           "delineator": 32, "fence_post": 4, "building": 0, "street_light": 32, "shrub": 7, "cactus": 30}
# Rough visible size (m) of each kind, to skip props under a pixel (mostly at 128×72).
SIZE = {"utility_pole": 9.0, "light_pole": 10.0, "guide_sign": 6.0, "sign": 2.7, "tree": 6.0, "pine": 7.0,
        "delineator": 1.1, "fence_post": 1.2, "building": 40.0, "street_light": 8.0, "shrub": 1.0, "cactus": 4.0}
STRIP_STEP = 4.0   # m; walls and rails are drawn as segments on a world-fixed 4 m grid


def _shade(colour: RGB, factor: float) -> RGB:
    return tuple(min(1.0, c * factor) for c in colour)


def _snowy(colour: RGB, cover: float) -> RGB:
    return tuple(c + (s - c) * cover for c, s in zip(colour, SNOW))


def place_props(layout: RoadLayout, key: tuple, s_end: float) -> list[Prop]:
    """Place every roadside kind of `layout` from s = -10 m to `s_end` m.

    Each kind and side draws from its own generator (seeded by `key`, kind and side), so a longer clip
    only adds props further down the road and never moves the ones a shorter clip has.
    """
    right = layout.right_edge + layout.shoulder_right + layout.sidewalk
    left = layout.left_edge - layout.shoulder_left - layout.sidewalk
    props: list[Prop] = []
    for kind in layout.roadside:
        if kind in ("rock_wall", "guardrail_left"):
            continue
        sides = (1,) if kind in ("utility_pole", "guide_sign", "sign", "delineator") else (1, -1)
        if kind == "light_pole":
            sides = (0,)
        for side in sides:
            rng = stable_rng(*key, kind, side)
            if kind == "building":
                s = -10.0 - rng.uniform(0, 20)
                while s < s_end:
                    length = rng.uniform(12, 30)
                    props.append(Prop(kind, s, right + 1.0 if side > 0 else left - 1.0, length,
                                      float(rng.random()), side))
                    s += length + rng.uniform(0.5, 8)
                continue
            spacing = SPACING[kind]
            s = -10.0 + rng.uniform(0, spacing)
            while s < s_end:
                edge = right if side > 0 else left
                if kind in ("tree", "pine", "shrub", "cactus"):
                    offset = rng.uniform(3, 28) if kind != "pine" else rng.uniform(2, 14)
                elif kind in ("utility_pole", "street_light"):
                    offset = 1.0 if kind == "street_light" else 3.0
                elif kind == "fence_post":
                    offset = 2.0
                else:
                    offset = 1.2 if kind != "guide_sign" else 2.5
                x = 0.0 if side == 0 else edge + side * offset
                if layout.road_id == "mountain_pass" and side > 0 and kind == "pine":
                    x = edge + 3 + rng.uniform(0, 8)   # pines on top of the cut, above the wall
                props.append(Prop(kind, s, x, float(rng.uniform(0.8, 1.25)), float(rng.random()), side))
                s += spacing * rng.uniform(0.6, 1.4) if kind not in ("fence_post", "delineator") else spacing
    return props


def _pole(draw: DrawList, p: Prop, z: float, height: float, colour: RGB) -> None:
    draw.front_quad(p.x - 0.13, p.x + 0.13, 0.0, height, z, colour)


def _build(draw: DrawList, p: Prop, z: float, light: Lighting) -> None:
    kind, x, k = p.kind, p.x, p.scale
    snow = light.snow_cover
    if kind == "utility_pole":
        _pole(draw, p, z, 9.0 * k, (0.33, 0.27, 0.21))
        draw.front_quad(x - 1.2, x + 1.2, 8.3 * k, 8.5 * k, z - 0.01, (0.30, 0.25, 0.2))
    elif kind in ("light_pole", "street_light"):
        height = 10.0 if kind == "light_pole" else 8.0
        _pole(draw, p, z, height, (0.55, 0.56, 0.58))
        arms = (-1, 1) if kind == "light_pole" else (-p.side,)
        lamp_rgb = (2.4, 1.7, 0.9) if kind == "street_light" else (2.2, 2.1, 1.9)
        for arm in arms:
            end = x + arm * 2.2
            draw.front_quad(min(x, end), max(x, end), height - 0.15, height, z - 0.01, (0.5, 0.5, 0.52))
            draw.front_quad(end - 0.35, end + 0.35, height - 0.35, height - 0.1, z - 0.02, (0.75, 0.75, 0.7),
                            emit=tuple(c * 0.6 * light.lamps for c in lamp_rgb) if light.lamps > 0.05 else None)
            if light.lamps > 0.05:
                draw.lights.append(Light(end, height - 0.4, z, 0.5, tuple(c * light.lamps for c in lamp_rgb)))
                draw.pools.append((end, z, 5.0, tuple(c * 0.25 * light.lamps for c in lamp_rgb)))
    elif kind == "sign":
        _pole(draw, p, z, 2.4, (0.5, 0.5, 0.5))
        face = (0.92, 0.92, 0.9) if p.tone < 0.5 else (0.95, 0.78, 0.1)
        draw.front_quad(x - 0.45, x + 0.45, 1.7, 2.7, z - 0.01, _snowy(face, 0.3 * snow))
        draw.front_quad(x - 0.25, x + 0.25, 2.05, 2.35, z - 0.02, (0.1, 0.1, 0.1))
    elif kind == "guide_sign":
        for post in (-2.2, 2.2):
            draw.front_quad(x + post - 0.12, x + post + 0.12, 0.0, 3.0, z + 0.01, (0.5, 0.5, 0.5))
        draw.front_quad(x - 3.2, x + 3.2, 2.8, 6.0, z, (0.05, 0.40, 0.20))
        for row, width in ((5.1, 2.4), (4.0, 1.6)):
            draw.front_quad(x - width, x + width, row, row + 0.45, z - 0.01, (0.85, 0.9, 0.86))
    elif kind == "delineator":
        draw.front_quad(x - 0.05, x + 0.05, 0.0, 1.1, z, (0.9, 0.9, 0.88))
        draw.front_quad(x - 0.05, x + 0.05, 0.85, 1.0, z - 0.01, (0.9, 0.6, 0.1))
        if light.headlights > 0.05 and z < 70:
            glow = 1.6 * light.headlights * np.exp(-z / 45)
            draw.lights.append(Light(x, 0.93, z - 0.02, 0.1, (glow, 0.75 * glow, 0.3 * glow), False))
    elif kind == "fence_post":
        draw.front_quad(x - 0.06, x + 0.06, 0.0, 1.2, z, (0.38, 0.3, 0.22))
        draw.side_quad(x, 0.95, 1.0, z, z + SPACING["fence_post"], (0.45, 0.42, 0.38))
    elif kind == "tree":
        greens = ((0.20, 0.36, 0.14), (0.26, 0.40, 0.16), (0.32, 0.38, 0.16))
        foliage = _snowy(greens[int(p.tone * 3) % 3], 0.45 * snow)
        draw.front_quad(x - 0.18 * k, x + 0.18 * k, 0.0, 2.8 * k, z + 0.05, (0.30, 0.23, 0.16))
        draw.ellipse(x, 4.2 * k, z, 2.3 * k, 2.0 * k, foliage)
        draw.ellipse(x - 0.8 * k, 3.4 * k, z - 0.05, 1.5 * k, 1.3 * k, _shade(foliage, 0.85))
        draw.ellipse(x + 0.7 * k, 5.0 * k, z - 0.1, 1.3 * k, 1.2 * k, _shade(foliage, 1.15))
    elif kind == "pine":
        needle = _snowy((0.12, 0.26, 0.15), 0.4 * snow)
        draw.front_quad(x - 0.15 * k, x + 0.15 * k, 0.0, 1.5 * k, z + 0.05, (0.28, 0.2, 0.14))
        for level, (base, half) in enumerate(((1.2, 1.9), (3.2, 1.5), (5.0, 1.0))):
            draw.poly(z - 0.01 * level, [(x - half * k, base * k, z), (x + half * k, base * k, z),
                                         (x, (base + 2.8) * k, z)], _shade(needle, 1 + 0.08 * level))
    elif kind == "shrub":
        draw.ellipse(x, 0.35 * k, z, 0.8 * k, 0.45 * k, _snowy((0.45, 0.42, 0.28), 0.5 * snow), segments=9)
    elif kind == "cactus":
        colour = (0.24, 0.38, 0.2)
        draw.front_quad(x - 0.25 * k, x + 0.25 * k, 0.0, 4.0 * k, z, colour)
        draw.front_quad(x - 1.0 * k, x - 0.25 * k, 1.8 * k, 2.2 * k, z, colour)
        draw.front_quad(x - 1.0 * k, x - 0.7 * k, 1.8 * k, 3.2 * k, z, colour)
        draw.front_quad(x + 0.25 * k, x + 0.9 * k, 2.3 * k, 2.7 * k, z, colour)
        draw.front_quad(x + 0.6 * k, x + 0.9 * k, 2.3 * k, 3.4 * k, z, colour)
    elif kind == "building":
        _building(draw, p, z, light)


def _building(draw: DrawList, p: Prop, z: float, light: Lighting) -> None:
    """A block with a facade towards the road (length p.scale m), window bands, and its near end face."""
    palette = ((0.55, 0.36, 0.28), (0.62, 0.60, 0.56), (0.45, 0.50, 0.56), (0.70, 0.64, 0.52))
    tone_index = int(p.tone * 4) % 4
    colour = palette[tone_index]
    floors = 2 + int(p.tone * 97) % 6
    height = 3.3 * floors + 1.0
    length = p.scale
    depth_away = 12.0
    far_x = p.x + p.side * depth_away
    z_end = z + length
    draw.poly(z + 0.5 * length + 0.02, [(p.x, 0, z), (p.x, height, z), (p.x, height, z_end), (p.x, 0, z_end)],
              colour)
    draw.poly(z + 0.02, [(p.x, 0, z), (far_x, 0, z), (far_x, height, z), (p.x, height, z)], _shade(colour, 0.75))
    lit_share = 0.4 * light.lamps
    for floor in range(floors):
        y0 = 1.2 + 3.3 * floor
        lit = ((int(p.tone * 1000) + 7 * floor) % 10) / 10 < lit_share
        emit = (0.55, 0.45, 0.3) if lit else None
        draw.poly(z + 0.5 * length, [(p.x, y0, z + 1), (p.x, y0 + 1.6, z + 1), (p.x, y0 + 1.6, z_end - 1),
                                     (p.x, y0, z_end - 1)], (0.18, 0.22, 0.28), emit)


def _strips(draw: DrawList, layout: RoadLayout, ego_s: float, light: Lighting, near: float,
            wall_heights: np.ndarray) -> None:
    """Continuous structures on a world-fixed grid: rock walls, guardrails, median barriers."""
    first = np.floor((ego_s + near - STRIP_STEP) / STRIP_STEP) * STRIP_STEP
    grid = np.arange(first, ego_s + 160.0, STRIP_STEP)
    right = layout.right_edge + layout.shoulder_right
    left = layout.left_edge - layout.shoulder_left
    snow = light.snow_cover
    for s0 in grid:
        z0, z1 = s0 - ego_s, s0 + STRIP_STEP - ego_s
        if z1 < near:
            continue
        cell = int(np.floor(s0 / STRIP_STEP))
        if "rock_wall" in layout.roadside:
            h0 = wall_heights[cell % len(wall_heights)]
            tone = 0.9 + 0.2 * ((cell * 37) % 7) / 7
            rock = _snowy(_shade((0.48, 0.44, 0.40), tone), 0.5 * snow)
            draw.side_quad(right + 0.8, 0.0, h0, max(z0, near), z1, rock, lean=h0 * 0.35)
        if "guardrail_left" in layout.roadside and z0 < 120:
            draw.side_quad(left - 0.3, 0.45, 0.8, max(z0, near), z1, (0.62, 0.64, 0.66))
            if z0 > near:
                draw.front_quad(left - 0.38, left - 0.22, 0.0, 0.5, z0 + 0.01, (0.3, 0.3, 0.3))
        if layout.median_width > 0 and z0 < 200:
            draw.side_quad(0.3, 0.0, 0.85, max(z0, near), z1, (0.68, 0.67, 0.64))


@dataclass
class Roadside:
    """The placed props and strip parameters of one clip."""

    layout: RoadLayout
    props: list[Prop]
    wall_heights: np.ndarray

    @classmethod
    def build(cls, layout: RoadLayout, key: tuple, s_end: float) -> "Roadside":
        """Place the props of one clip; `key` (e.g. road id and seed) seeds every random choice."""
        props = place_props(layout, key, s_end)
        smooth = np.convolve(stable_rng(*key, "wall").uniform(6, 20, 256), np.ones(5) / 5, mode="same")
        return cls(layout, sorted(props, key=lambda p: p.s), smooth)

    def draw(self, draw: DrawList, ego_s: float, light: Lighting, near: float, focal: float) -> None:
        """Add every prop within its cull distance and over a pixel tall, plus the strips, for the camera
        at ego_s (focal length in pixels)."""
        for prop in self.props:
            z = prop.s - ego_s
            if z < near - 30 or z > CULL.get(prop.kind, 200) or focal * SIZE.get(prop.kind, 5.0) < z:
                continue
            if prop.kind != "building" and z < near:
                continue
            _build(draw, prop, z, light)
        _strips(draw, self.layout, ego_s, light, near, self.wall_heights)
