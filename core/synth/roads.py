"""Road layouts: lane geometry, markings, surface colours and surroundings for each catalogue road id.

Lateral coordinate x is in metres, positive to the right, with x=0 on the line that separates our
direction from the oncoming one (the centre of the median on divided roads). Our lanes lie at x>0.
Colours are RGB albedo in [0,1]; the weather module lights them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Marking:
    """A painted line: centre x (m), half width (m), colour, and dash length/period (m; None = solid)."""

    x: float
    half_width: float
    colour: RGB
    dash: tuple[float, float] | None = None


@dataclass(frozen=True)
class RoadLayout:
    """Everything about a road type that does not depend on the seed."""

    road_id: str
    lane_width: float
    lanes_ours: int
    lanes_oncoming: int
    median_width: float          # 0 for undivided roads
    shoulder_right: float
    shoulder_left: float
    ego_lane: int                # index among our lanes, 0 = innermost (leftmost)
    speed_mps: float             # ego speed; sets how fast markings and roadside flow past
    asphalt: RGB
    shoulder: RGB
    terrain_left: RGB
    terrain_right: RGB
    terrain_texture: float       # amplitude of terrain albedo variation
    crop_rows: bool              # field rows parallel to the road (rural)
    background: str              # far silhouette: hills, treeline, mountains, mesas, city
    background_colour: RGB
    curvature: float             # peak road curvature (1/m); mountain passes wind
    roadside: tuple[str, ...]    # kinds of roadside objects, see scene.ROADSIDE_BUILDERS
    markings: tuple[Marking, ...] = field(default=())
    sidewalk: float = 0.0        # urban sidewalks (m) beyond the shoulders
    median: RGB = (0.30, 0.42, 0.22)

    @property
    def right_edge(self) -> float:
        """x of the right edge of the paved lanes (m)."""
        return self.median_width / 2 + self.lanes_ours * self.lane_width

    @property
    def left_edge(self) -> float:
        """x of the left edge of the paved lanes, oncoming side (m, negative)."""
        return -(self.median_width / 2 + self.lanes_oncoming * self.lane_width)

    def lane_centre(self, lane: int) -> float:
        """x of the centre of our lane `lane` (0 = innermost); negative indices are oncoming lanes."""
        if lane >= 0:
            return self.median_width / 2 + (lane + 0.5) * self.lane_width
        return -(self.median_width / 2 + (-lane - 0.5) * self.lane_width)


WHITE: RGB = (0.92, 0.92, 0.9)
YELLOW: RGB = (0.95, 0.78, 0.15)
# US highway dashes: 3 m painted, 12 m period (10 ft line, 30 ft gap).
HIGHWAY_DASH = (3.0, 12.0)


def _undivided_markings(lane_width: float, lanes_each: int, centre: str, edges: bool, faded: float = 1.0
                        ) -> tuple[Marking, ...]:
    yellow = tuple(c * faded for c in YELLOW)
    white = tuple(c * faded + 0.35 * (1 - faded) for c in WHITE)
    marks: list[Marking] = []
    if centre == "double":
        marks += [Marking(-0.12, 0.06, yellow), Marking(0.12, 0.06, yellow)]
    else:
        marks.append(Marking(0.0, 0.06, yellow, HIGHWAY_DASH))
    for i in range(1, lanes_each):
        marks += [Marking(i * lane_width, 0.07, white, HIGHWAY_DASH),
                  Marking(-i * lane_width, 0.07, white, HIGHWAY_DASH)]
    if edges:
        edge = lanes_each * lane_width
        marks += [Marking(edge - 0.1, 0.08, white), Marking(-edge + 0.1, 0.08, white)]
    return tuple(marks)


def _interstate_markings(lane_width: float, median: float) -> tuple[Marking, ...]:
    inner = median / 2
    marks = []
    for sign in (1.0, -1.0):
        marks += [Marking(sign * (inner + 0.15), 0.08, YELLOW),
                  Marking(sign * (inner + lane_width), 0.07, WHITE, HIGHWAY_DASH),
                  Marking(sign * (inner + 2 * lane_width - 0.15), 0.08, WHITE)]
    return tuple(marks)


def _layouts() -> dict[str, RoadLayout]:
    return {
        "two_lane_highway": RoadLayout(
            "two_lane_highway", 3.6, 1, 1, 0.0, 2.4, 2.4, 0, 24.0,
            asphalt=(0.34, 0.34, 0.35), shoulder=(0.40, 0.39, 0.37),
            terrain_left=(0.36, 0.48, 0.22), terrain_right=(0.38, 0.50, 0.23), terrain_texture=0.10,
            crop_rows=False, background="hills", background_colour=(0.30, 0.42, 0.30), curvature=0.0008,
            roadside=("utility_pole", "tree", "delineator", "sign"),
            markings=_undivided_markings(3.6, 1, "dashed", True)),
        "four_lane_interstate": RoadLayout(
            "four_lane_interstate", 3.7, 2, 2, 8.0, 3.0, 1.2, 1, 29.0,
            asphalt=(0.38, 0.38, 0.38), shoulder=(0.44, 0.43, 0.41),
            terrain_left=(0.40, 0.50, 0.26), terrain_right=(0.42, 0.52, 0.27), terrain_texture=0.08,
            crop_rows=False, background="hills", background_colour=(0.34, 0.45, 0.38), curvature=0.0003,
            roadside=("light_pole", "guide_sign", "tree", "delineator"),
            markings=_interstate_markings(3.7, 8.0), median=(0.34, 0.46, 0.22)),
        "rural_road": RoadLayout(
            "rural_road", 3.0, 1, 1, 0.0, 0.6, 0.6, 0, 17.0,
            asphalt=(0.30, 0.30, 0.30), shoulder=(0.46, 0.40, 0.31),
            terrain_left=(0.52, 0.50, 0.24), terrain_right=(0.34, 0.46, 0.18), terrain_texture=0.16,
            crop_rows=True, background="treeline", background_colour=(0.20, 0.32, 0.18), curvature=0.0015,
            roadside=("fence_post", "tree", "utility_pole"),
            markings=_undivided_markings(3.0, 1, "dashed", False, faded=0.7)),
        "urban_arterial": RoadLayout(
            "urban_arterial", 3.3, 2, 2, 0.0, 0.4, 0.4, 1, 14.0,
            asphalt=(0.30, 0.30, 0.31), shoulder=(0.36, 0.36, 0.36),
            terrain_left=(0.50, 0.49, 0.47), terrain_right=(0.50, 0.49, 0.47), terrain_texture=0.05,
            crop_rows=False, background="city", background_colour=(0.52, 0.54, 0.58), curvature=0.0,
            roadside=("building", "street_light", "sign", "tree"),
            markings=_undivided_markings(3.3, 2, "double", False), sidewalk=3.5),
        "mountain_pass": RoadLayout(
            "mountain_pass", 3.4, 1, 1, 0.0, 0.8, 0.8, 0, 17.0,
            asphalt=(0.33, 0.33, 0.34), shoulder=(0.42, 0.40, 0.37),
            terrain_left=(0.26, 0.36, 0.24), terrain_right=(0.44, 0.41, 0.37), terrain_texture=0.14,
            crop_rows=False, background="mountains", background_colour=(0.40, 0.44, 0.52), curvature=0.006,
            roadside=("rock_wall", "guardrail_left", "pine", "sign"),
            markings=_undivided_markings(3.4, 1, "double", True)),
        "desert_highway": RoadLayout(
            "desert_highway", 3.7, 1, 1, 0.0, 2.0, 2.0, 0, 29.0,
            asphalt=(0.40, 0.38, 0.37), shoulder=(0.66, 0.56, 0.42),
            terrain_left=(0.80, 0.66, 0.48), terrain_right=(0.78, 0.64, 0.46), terrain_texture=0.10,
            crop_rows=False, background="mesas", background_colour=(0.66, 0.42, 0.30), curvature=0.0002,
            roadside=("shrub", "cactus", "utility_pole", "sign"),
            markings=_undivided_markings(3.7, 1, "dashed", True)),
    }


_LAYOUTS = _layouts()


def road_layout(road_id: str) -> RoadLayout:
    """The layout for a catalogue road id. A road added by a user catalogue falls back to the highway."""
    return _LAYOUTS.get(road_id, _LAYOUTS["two_lane_highway"])
