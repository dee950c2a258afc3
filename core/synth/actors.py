"""Actors: vehicles, people, animals and objects on the road, drawn as simple 3-D boxes and billboards.

Every actor is placed per frame by an event script (events.py) in camera-relative depth z (m) and road
lateral x (m). Lights (tail, brake, hazard, beacon, head) are emitted as point lights so the weather
module can make them glow, reflect on wet roads and fade in fog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.synth.roads import RGB
from core.synth.roadside import Lighting
from core.synth.scene import DrawList, Light

CAR_COLOURS: tuple[RGB, ...] = ((0.85, 0.85, 0.84), (0.62, 0.63, 0.65), (0.12, 0.12, 0.13), (0.60, 0.10, 0.09),
                                (0.12, 0.22, 0.48), (0.30, 0.31, 0.33), (0.70, 0.64, 0.52), (0.16, 0.32, 0.22))
GLASS: RGB = (0.10, 0.12, 0.15)
TYRE: RGB = (0.06, 0.06, 0.06)

WHEEL_RIM = tuple((float(np.cos(a)), float(np.sin(a))) for a in np.linspace(0, 2 * np.pi, 10, endpoint=False))
# Vehicle body sizes (width, height, length) in metres.
BODY = {"car": (1.8, 1.45, 4.5), "suv": (1.95, 1.8, 4.8), "van": (2.0, 2.3, 5.2), "truck": (2.5, 3.4, 8.0),
        "semi": (2.6, 4.0, 17.0), "police": (1.9, 1.5, 4.9), "ambulance": (2.2, 2.7, 6.2)}


@dataclass
class Vehicle:
    """A vehicle: lateral centre x (m), depth z (m) of its face nearest the camera, kind and body colour.

    facing +1 drives our way (we see its rear); -1 is oncoming (we see its front). brake, hazard and
    beacon are light levels 0..1 for this frame.
    """

    x: float
    z: float
    kind: str
    colour: RGB
    facing: int = 1
    brake: float = 0.0
    hazard: float = 0.0
    beacon: float = -1.0   # <0: no light bar; otherwise the red/blue alternation phase in [0, 1)

    @property
    def size(self) -> tuple[float, float, float]:
        return BODY[self.kind]


def _glow(rgb: RGB, level: float) -> RGB:
    return tuple(c * level for c in rgb)


def draw_vehicle(draw: DrawList, car: Vehicle, light: Lighting, cam_x: float) -> None:
    """Add the vehicle's shadow, visible side, near face, wheels and lights to the draw list."""
    width, height, length = car.size
    x, z = car.x, car.z
    half = width / 2
    key = z + 0.01
    far_z = z + length
    draw.ground_quad(x - half * 1.05, x + half * 1.05, z - 0.2, far_z, (0.07, 0.07, 0.07), key_z=far_z + 0.2)
    body = car.colour
    side_colour = tuple(c * 0.78 for c in body)
    heavy = car.kind in ("truck", "semi")
    # The side that faces the camera, split in segments so depth (fog) varies along it.
    if abs(cam_x - x) > half:
        side_x = x + half if cam_x > x else x - half
        segments = max(1, int(length // 3))
        for i in range(segments):
            z0, z1 = z + i * length / segments, z + (i + 1) * length / segments
            draw.side_quad(side_x, 0.35, height, z0, z1, side_colour)
            if not heavy:
                draw.side_quad(side_x, height * 0.62, height * 0.92, z0 + 0.3, z1 - 0.3, GLASS)
        wheel_zs = (z + 0.9, far_z - 0.9) if not heavy else (z + 1.0, z + 2.3, far_z - 4.5, far_z - 1.2)
        for wz in wheel_zs:
            draw.poly(wz - 0.02, [(side_x, 0.42 + 0.42 * s, wz + 0.42 * c) for c, s in WHEEL_RIM], TYRE)
        if car.kind == "semi":   # the cab, ahead of the trailer
            draw.side_quad(side_x, 0.5, 3.3, far_z - 0.01, far_z + 2.6, (0.55, 0.12, 0.10))
            draw.side_quad(side_x, 2.1, 3.0, far_z + 1.2, far_z + 2.5, GLASS)
    # The face nearest the camera.
    draw.front_quad(x - half + 0.05, x - half + 0.45, 0.0, 0.45, z + 0.3, TYRE, key_z=key + 0.005)
    draw.front_quad(x + half - 0.45, x + half - 0.05, 0.0, 0.45, z + 0.3, TYRE, key_z=key + 0.005)
    if heavy:
        trailer = (0.86, 0.86, 0.84) if car.kind == "semi" else body
        draw.front_quad(x - half, x + half, 1.0, height, z, trailer, key_z=key)
        draw.front_quad(x - half + 0.1, x + half - 0.1, 0.45, 0.6, z - 0.05, (0.2, 0.2, 0.2), key_z=key - 0.01)
        draw.front_quad(x - 0.02, x + 0.02, 1.1, height - 0.1, z - 0.01, (0.5, 0.5, 0.5), key_z=key - 0.01)
        lamp_y = 1.15
    else:
        draw.front_quad(x - half, x + half, 0.3, height * 0.62, z, body, key_z=key)
        draw.poly(key - 0.001, [(x - half, height * 0.62, z), (x + half, height * 0.62, z),
                                (x + half * 0.82, height, z + 0.4), (x - half * 0.82, height, z + 0.4)], GLASS)
        draw.front_quad(x - half, x + half, 0.3, 0.45, z - 0.03, (0.15, 0.15, 0.16), key_z=key - 0.002)
        lamp_y = height * 0.5
    for sign in (-1, 1):
        lx = x + sign * (half - 0.22)
        if car.facing > 0:
            level = 0.45 * light.lamps + 1.1 * car.brake
            draw.front_quad(lx - 0.18, lx + 0.18, lamp_y - 0.08, lamp_y + 0.1, z - 0.04, (0.55, 0.06, 0.05),
                            key_z=key - 0.003)
            if level > 0.02:
                draw.lights.append(Light(lx, lamp_y, z - 0.05, 0.12, (2.6 * level, 0.15 * level, 0.1 * level)))
            if car.hazard > 0.02:
                hz = 1.8 * car.hazard
                draw.lights.append(Light(lx + sign * 0.1, lamp_y + 0.12, z - 0.06, 0.15, (hz, 0.55 * hz, 0.05)))
        else:
            level = 0.3 + 1.4 * light.lamps   # daytime running lights, full beams at night
            draw.front_quad(lx - 0.2, lx + 0.2, lamp_y - 0.07, lamp_y + 0.07, z - 0.04, (0.85, 0.85, 0.8),
                            key_z=key - 0.003)
            draw.lights.append(Light(lx, lamp_y, z - 0.05, 0.13, _glow((1.8, 1.75, 1.6), level)))
    if car.beacon >= 0:
        red = 0.5 + 0.5 * np.cos(2 * np.pi * car.beacon)
        blue = 1.0 - red
        top = height + 0.05
        draw.front_quad(x - 0.6, x, top, top + 0.15, z + 0.8, (0.7, 0.1, 0.1), key_z=key - 0.004)
        draw.front_quad(x, x + 0.6, top, top + 0.15, z + 0.8, (0.1, 0.2, 0.8), key_z=key - 0.004)
        draw.lights.append(Light(x - 0.35, top + 0.08, z + 0.75, 0.35, (3.0 * red, 0.2 * red, 0.2 * red)))
        draw.lights.append(Light(x + 0.35, top + 0.08, z + 0.75, 0.35, (0.2 * blue, 0.5 * blue, 3.2 * blue)))
    draw.sprays.append((x, z - 0.3, width * 1.4, 1.6 if heavy else 0.9, 1.0 if heavy else 0.6))


def draw_pedestrian(draw: DrawList, x: float, z: float, gait: float, shirt: RGB, vest: bool) -> None:
    """A walking person 1.75 m tall seen from behind/side; gait (cycles) swings the legs and arms."""
    swing = 0.22 * np.sin(2 * np.pi * gait)
    legs = (0.20, 0.22, 0.30)
    for sign in (-1, 1):
        foot = x + sign * 0.09 + sign * 0.0
        draw.poly(z + 0.01 * sign, [(x + sign * 0.05 - 0.06, 0.95, z), (x + sign * 0.05 + 0.06, 0.95, z),
                                    (foot + 0.06 + sign * swing * 0.3, 0.0, z + sign * swing),
                                    (foot - 0.06 + sign * swing * 0.3, 0.0, z + sign * swing)], legs)
    torso = (0.95, 0.75, 0.1) if vest else shirt
    draw.front_quad(x - 0.21, x + 0.21, 0.92, 1.5, z - 0.01, torso)
    for sign in (-1, 1):
        draw.poly(z - 0.02, [(x + sign * 0.21, 1.48, z), (x + sign * 0.29, 1.45, z),
                             (x + sign * 0.27, 0.95, z - sign * swing), (x + sign * 0.19, 0.97, z - sign * swing)],
                  torso)
    draw.ellipse(x, 1.62, z - 0.02, 0.11, 0.13, (0.25, 0.18, 0.13), segments=10)


def draw_deer(draw: DrawList, x: float, z: float, gait: float, heading: int, light: Lighting,
              size: float = 1.15) -> None:
    """A deer in side view walking laterally (heading +1 to the right), shoulder height ~size m."""
    fur, legs = (0.50, 0.34, 0.20), (0.36, 0.24, 0.15)

    def at(dx: float, y: float) -> tuple[float, float, float]:
        return (x + heading * dx * size, y * size, z)

    swing = 0.18 * np.sin(2 * np.pi * gait)
    for offset, phase in ((-0.5, 1), (-0.35, -1), (0.35, 1), (0.5, -1)):
        step = phase * swing
        draw.poly(z + 0.02, [at(offset - 0.05, 0.95), at(offset + 0.05, 0.95), at(offset + 0.05 + step, 0.0),
                             at(offset - 0.05 + step, 0.0)], legs)
    draw.ellipse(x, 1.05 * size, z, 0.7 * size, 0.26 * size, fur)
    draw.poly(z - 0.01, [at(0.5, 1.1), at(0.7, 1.1), at(0.96, 1.6), at(0.8, 1.6)], fur)
    draw.ellipse(x + heading * 0.96 * size, 1.62 * size, z - 0.02, 0.17 * size, 0.1 * size, fur, segments=8)
    draw.ellipse(x - heading * 0.62 * size, 1.1 * size, z - 0.02, 0.08 * size, 0.07 * size, (0.9, 0.88, 0.85),
                 segments=6)
    if light.headlights > 0.2:
        eye = 1.5 * light.headlights
        draw.lights.append(Light(*at(1.02, 1.66)[:2], z - 0.05, 0.05, (eye, eye, 0.7 * eye), False))


def draw_cone(draw: DrawList, x: float, z: float, barrel: bool, light: Lighting) -> None:
    """A traffic cone (0.7 m) or a drum barrel (1 m) in orange with white reflective bands."""
    orange, white = (0.95, 0.38, 0.05), (0.95, 0.95, 0.92)
    if barrel:
        draw.front_quad(x - 0.3, x + 0.3, 0.0, 1.0, z, orange)
        for y in (0.25, 0.6):
            draw.front_quad(x - 0.3, x + 0.3, y, y + 0.14, z - 0.01, white)
        if light.lamps > 0.3:
            draw.lights.append(Light(x, 1.1, z - 0.02, 0.1, (1.6 * light.lamps, 1.0 * light.lamps, 0.2), False))
    else:
        draw.poly(z, [(x - 0.2, 0.0, z), (x + 0.2, 0.0, z), (x + 0.04, 0.72, z), (x - 0.04, 0.72, z)], orange)
        draw.poly(z - 0.01, [(x - 0.12, 0.3, z), (x + 0.12, 0.3, z), (x + 0.09, 0.45, z), (x - 0.09, 0.45, z)], white)
    if light.headlights > 0.2 and z < 80:
        glow = 0.9 * light.headlights * np.exp(-z / 40)
        draw.lights.append(Light(x, 0.6 if barrel else 0.38, z - 0.02, 0.12, (glow, 0.8 * glow, 0.6 * glow), False))


def draw_debris(draw: DrawList, x: float, z: float, size: float, angle: float) -> None:
    """A shredded tyre piece lying on the road: a dark low sliver with a flat footprint."""
    c, s = np.cos(angle), np.sin(angle)
    corners = [(-size, -0.2 * size), (size, -0.25 * size), (0.8 * size, 0.25 * size), (-0.9 * size, 0.2 * size)]
    draw.poly(z + 0.02, [(x + c * a - s * b, 0.02, z + s * a + c * b) for a, b in corners], (0.05, 0.05, 0.05))
    # A curled strip of tread standing up catches the light: a lighter edge on a dark body.
    draw.poly(z - 0.01, [(x - size * 0.9, 0.0, z), (x + size * 0.8, 0.0, z), (x + size * 0.6, 0.3 * size + 0.08, z),
                         (x - size * 0.5, 0.35 * size + 0.1, z)], (0.11, 0.11, 0.11))
    draw.poly(z - 0.02, [(x - size * 0.5, 0.3 * size + 0.08, z), (x + size * 0.6, 0.26 * size + 0.06, z),
                         (x + size * 0.55, 0.3 * size + 0.08, z), (x - size * 0.45, 0.35 * size + 0.1, z)],
              (0.26, 0.26, 0.25))


def draw_obstacle(draw: DrawList, x: float, z: float, kind: int) -> None:
    """A fallen load: 0 a wooden crate, 1 a ladder across the lane, 2 a rock."""
    if kind == 0:
        draw.side_quad(x + 0.55, 0.0, 0.8, z, z + 1.0, (0.45, 0.33, 0.18))
        draw.front_quad(x - 0.55, x + 0.55, 0.0, 0.8, z, (0.62, 0.47, 0.26))
        draw.front_quad(x - 0.55, x + 0.55, 0.36, 0.44, z - 0.01, (0.42, 0.3, 0.15))
    elif kind == 1:
        for rail in (0.0, 0.45):
            draw.poly(z + rail, [(x - 1.6, 0.02, z + rail), (x + 1.6, 0.02, z + rail + 0.3),
                                 (x + 1.6, 0.1, z + rail + 0.3), (x - 1.6, 0.1, z + rail)], (0.78, 0.78, 0.74))
        draw.front_quad(x - 1.6, x + 1.6, 0.0, 0.14, z, (0.7, 0.7, 0.66))
    else:
        angles = np.linspace(0, np.pi, 11)
        pts = [(x + 0.95 * np.cos(a), 0.8 * np.sin(a) * (1 + 0.15 * np.sin(5 * a)), z) for a in angles]
        draw.ground_quad(x - 1.0, x + 1.1, z - 0.2, z + 1.4, (0.12, 0.11, 0.1), key_z=z + 1.5)
        draw.poly(z, pts, (0.50, 0.43, 0.36))
        top = [(x + 0.6 * np.cos(a) - 0.15, 0.55 + 0.2 * np.sin(a), z - 0.01) for a in angles]
        draw.poly(z - 0.01, top, (0.62, 0.55, 0.47))
