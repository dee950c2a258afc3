"""render_clip: turn a ClipSpec into frames (uint8, T×H×W×3 RGB), bit-identical for the same spec.

Per clip we place the roadside, the traffic and the event script from generators seeded by the spec;
per frame we set up the camera (with shake), paint sky, ground and the draw list, then let the weather
compositor light the frame in the condition blended between the start and target looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from core.synth.events import EventScript, smoothstep
from core.synth.roads import RoadLayout, road_layout
from core.synth.roadside import Lighting, Roadside
from core.synth.ground import GroundTables, SurfaceLook, render_ground
from core.synth.scene import SKY_DEPTH, Camera, DrawList, background_profile, rasterise, render_backdrop
from core.synth.spec import ClipSpec, stable_rng, validate_spec
from core.synth.weather import FrameInputs, Look, Particles, blend, compose, look_for

FOCAL_PER_WIDTH = 0.78     # focal length in widths: a 65° horizontal field of view, like a dashcam
HORIZON_PER_HEIGHT = 0.45  # the horizon sits a little above mid-frame for a forward-tilted dashcam
CAMERA_HEIGHT_M = 1.35
HOOD_PER_HEIGHT = 0.075    # share of the frame the bonnet takes at the bottom centre


@dataclass
class Scene:
    """Everything drawn from the spec's seed once per clip."""

    spec: ClipSpec
    layout: RoadLayout
    roadside: Roadside
    ground: GroundTables
    script: EventScript
    profile: np.ndarray
    phases: np.ndarray
    shake: np.ndarray          # (6,) phases for the pitch/yaw shake sinusoids
    curve_phase: float
    sun_bearing: float
    rain: Particles
    snow: Particles
    start_look: Look
    target_look: Look
    vignette: np.ndarray
    hood: np.ndarray           # H×W coverage of the bonnet (0..1)
    hood_top: int              # first row the bonnet touches


def transition_weight(index: int, fps: int) -> float:
    """Share of the target condition in frame `index`: 0 at frame 0, 1 from frame fps-1 (under 1 s)."""
    ramp = max(1, fps - 1)
    return float(smoothstep(index / ramp))


def _hood_mask(width: int, height: int) -> np.ndarray:
    cols = (np.arange(width, dtype=np.float32) + 0.5) / width - 0.5
    top = height * (1 - HOOD_PER_HEIGHT * (1 - 2.2 * cols ** 2))
    rows = np.arange(height, dtype=np.float32)[:, None] + 0.5
    return np.clip(rows - top[None, :] + 0.5, 0, 1)


@lru_cache(maxsize=16)
def ground_tables(road: str) -> GroundTables:
    """The road's lateral tables depend on the road type only, so they are built once per process."""
    return GroundTables.build(road_layout(road))


def build_scene(spec: ClipSpec) -> Scene:
    """Draw all per-clip randomness. Geometry depends on (road, seed) and events on (event, road, seed),
    so the same seed and road give the same place in every condition."""
    layout = road_layout(spec.road)
    scene_rng = stable_rng("scene", spec.road, spec.seed)
    event_rng = stable_rng("event", spec.event, spec.road, spec.seed)
    weather_rng = stable_rng("weather", spec.seed)
    script = EventScript(spec.event, layout, event_rng, spec.duration_s)
    s_end = script.ego_s(spec.duration_s) + 300.0
    roadside = Roadside.build(layout, ("props", spec.road, spec.seed), s_end)
    rows = (np.arange(spec.height, dtype=np.float32) + 0.5) / spec.height - 0.5
    cols = (np.arange(spec.width, dtype=np.float32) + 0.5) / spec.width - 0.5
    vignette = (1.0 - 0.28 * (rows[:, None] ** 2 + cols[None, :] ** 2)).astype(np.float32)
    hood = _hood_mask(spec.width, spec.height)
    return Scene(
        spec=spec, layout=layout, roadside=roadside, script=script, ground=ground_tables(spec.road),
        profile=background_profile(layout, scene_rng),
        phases=scene_rng.uniform(0, 2 * np.pi, 8),
        shake=scene_rng.uniform(0, 2 * np.pi, 6),
        curve_phase=float(scene_rng.uniform(0, 2 * np.pi)),
        sun_bearing=float(scene_rng.uniform(-0.22, 0.22)),
        # The same number of drops and flakes at every frame size: it is the same scene, only sharper.
        rain=Particles.make(weather_rng, 260),
        snow=Particles.make(weather_rng, 320),
        start_look=look_for(spec.resolved_start), target_look=look_for(spec.conditions),
        vignette=vignette, hood=hood, hood_top=int(np.argmax(hood.max(axis=1) > 0)),
    )


def frame_camera(scene: Scene, t: float) -> Camera:
    """The camera at time t (s): road-roughness pitch and steering yaw shake, under 2.2 Hz so it stays
    smooth at 8–10 fps."""
    spec, ph = scene.spec, scene.shake
    pitch = spec.height * (0.008 * np.sin(2 * np.pi * 1.7 * t + ph[0]) + 0.004 * np.sin(2 * np.pi * 2.1 * t + ph[1])
                           + 0.003 * np.sin(2 * np.pi * 0.6 * t + ph[2]))
    yaw = spec.width * (0.003 * np.sin(2 * np.pi * 0.45 * t + ph[3]) + 0.0015 * np.sin(2 * np.pi * 1.3 * t + ph[4]))
    curvature = scene.layout.curvature * np.sin(2 * np.pi * t / 9.0 + scene.curve_phase)
    return Camera(width=spec.width, height=spec.height, focal=FOCAL_PER_WIDTH * spec.width,
                  horizon=HORIZON_PER_HEIGHT * spec.height + float(pitch), centre_u=spec.width / 2 + float(yaw),
                  height_m=CAMERA_HEIGHT_M, cam_x=scene.script.cam_x(t), curvature=float(curvature))


def render_frame(scene: Scene, index: int) -> np.ndarray:
    """Frame `index` of the clip as uint8 H×W×3 RGB."""
    spec = scene.spec
    t = index / spec.fps
    look = blend(scene.start_look, scene.target_look, transition_weight(index, spec.fps))
    cam = frame_camera(scene, t)
    ego_s = scene.script.ego_s(t)
    height, width = spec.height, spec.width

    albedo = np.empty((3, height, width), np.float32)
    depth = np.empty((height, width), np.float32)
    sky = render_backdrop(cam, scene.layout, scene.profile, look.sky_top, look.sky_horizon, albedo, depth)
    render_ground(cam, scene.layout, scene.ground, ego_s, SurfaceLook(look.snow_cover, look.wetness), scene.phases,
                  albedo, depth)
    ground_depth = depth.copy()
    albedo *= 255.0
    albedo += 0.5
    canvas = cv2.merge(list(np.clip(albedo, 0, 255).astype(np.uint8)))

    lighting = Lighting(lamps=look.lamps, headlights=look.headlights, snow_cover=look.snow_cover)
    draw = DrawList()
    scene.roadside.draw(draw, ego_s, lighting, cam.near, cam.focal)
    scene.script.draw(draw, t, lighting, cam.cam_x)
    emissive = np.zeros((height, width, 3), np.float32)
    has_emissive = rasterise(draw, cam, canvas, depth, emissive)

    # The bonnet: static, dark paint that mirrors a little of the sky (only its bottom rows are touched).
    top = scene.hood_top
    hood = scene.hood[top:, :, None]
    paint = np.asarray((22, 23, 26), np.float32) + 0.25 * np.asarray(look.sky_horizon, np.float32) * 255 * hood
    canvas[top:] = (canvas[top:] * (1 - hood) + paint * hood).astype(np.uint8)
    depth[top:][scene.hood[top:] > 0.5] = 0.8

    sky *= depth >= SKY_DEPTH
    ground = (depth == ground_depth).astype(np.float32)
    ground[: int(cam.horizon) + 1] = 0.0
    inputs = FrameInputs(canvas, depth, sky, ground, emissive, draw, cam, index, scene.sun_bearing, has_emissive)
    image = compose(inputs, look, scene.rain, scene.snow, scene.vignette)
    image *= 255.0
    image += 0.5
    return cv2.merge(list(image.astype(np.uint8)))


def render_clip(spec: ClipSpec) -> np.ndarray:
    """Render a clip: uint8 array T×H×W×3 (RGB), deterministic in `spec`.

    Raises core.errors.ValidationError for unknown catalogue ids or bad sizes.
    """
    validate_spec(spec)
    scene = build_scene(spec)
    frames = np.empty((spec.num_frames, spec.height, spec.width, 3), np.uint8)
    for index in range(spec.num_frames):
        frames[index] = render_frame(scene, index)
    return frames


def render_first_frame(spec: ClipSpec) -> np.ndarray:
    """Frame 0 only (uint8 H×W×3): the first frame a user would upload for this scene."""
    validate_spec(spec)
    return render_frame(build_scene(spec), 0)


__all__ = ["render_clip", "render_first_frame", "build_scene", "render_frame", "transition_weight"]
