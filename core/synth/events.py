"""Event scripts: what happens in a clip, as a function of time, for every catalogue event.

An event plays over `span` seconds (the clip length, but at least 2 s), so short and long clips both
show the whole event: p = t / span runs 0→1. The script also owns the ego motion (speed along the road
and lateral position), because events such as braking, lane shifts and slowing for animals change it.
Stationary things are placed at absolute road distance s (m), moving ones by their own speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.synth.actors import CAR_COLOURS, Vehicle, draw_cone, draw_debris, draw_deer, draw_obstacle, \
    draw_pedestrian, draw_vehicle
from core.synth.roads import RoadLayout
from core.synth.roadside import Lighting
from core.synth.scene import DrawList

MIN_EVENT_SPAN_S = 2.0
# How close (m) the lead car in our lane may be, per event: in-lane events need the lane clear ahead.
LEAD_MIN_Z = {"tire_debris": 110.0, "stalled_vehicle": 120.0, "road_obstacle": 110.0, "sudden_braking": 1e9,
              "animal_crossing": 90.0, "emergency_vehicle": 110.0, "construction_zone": 1e9}


def smoothstep(x: np.ndarray | float) -> np.ndarray | float:
    """0 below 0, 1 above 1, a smooth S in between (zero slope at both ends)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass
class Traffic:
    """A vehicle driving at constant speed: s(t) = s0 + facing·speed·t (m), in lane x (m)."""

    vehicle: Vehicle
    s0: float
    speed: float


class EventScript:
    """Ego motion and actors for one clip. Build once per clip; query per frame with t in seconds."""

    def __init__(self, event: str, layout: RoadLayout, rng: np.random.Generator, duration_s: float):
        self.event, self.layout, self.rng = event, layout, rng
        self.span = max(duration_s, MIN_EVENT_SPAN_S)
        self.speed = layout.speed_mps * float(rng.uniform(0.9, 1.05))
        self.ego_lane_x = layout.lane_centre(layout.ego_lane)
        self.weave_phase = float(rng.uniform(0, 2 * np.pi))
        self.params = self._event_params()
        # Ego distance along the road on a fine time grid: integrate the speed profile once.
        self._t = np.linspace(0.0, max(duration_s, self.span) + 1.0, 801)
        speeds = self.speed * np.asarray([self._speed_factor(t / self.span) for t in self._t])
        self._s = np.concatenate([[0.0], np.cumsum(0.5 * (speeds[1:] + speeds[:-1]) * np.diff(self._t))])
        self.travel = float(np.interp(self.span, self._t, self._s))   # ego metres over the event
        self.traffic = self._traffic()

    # -- ego motion -------------------------------------------------------------------------------
    def _speed_factor(self, p: float) -> float:
        e = self.event
        if e == "animal_crossing":
            return 1.0 - 0.45 * smoothstep((p - 0.15) / 0.55)
        if e == "stalled_vehicle":
            return 1.0 - 0.4 * smoothstep((p - 0.2) / 0.7)
        if e == "sudden_braking":
            return 1.0 - 0.45 * smoothstep((p - self.params["brake_at"] - 0.1) / 0.5)
        if e == "emergency_vehicle":
            return 1.0 - 0.3 * smoothstep(p / 0.8)
        if e == "erratic_cut_in":
            return 1.0 - 0.2 * smoothstep((p - 0.5) / 0.4)
        return 1.0

    def ego_s(self, t: float) -> float:
        """Distance (m) driven since t=0."""
        return float(np.interp(t, self._t, self._s))

    def cam_x(self, t: float) -> float:
        """Camera lateral position (m): lane centre, a gentle weave, and event lane shifts."""
        p = t / self.span
        x = self.ego_lane_x + 0.12 * np.sin(0.9 * t + self.weave_phase)
        if self.event == "construction_zone":
            x += self.params["shift"] * smoothstep((p - 0.3) / 0.55)
        elif self.event == "emergency_vehicle" and self.params["on_shoulder"]:
            x -= 0.7 * smoothstep((p - 0.2) / 0.6)
        return float(x)

    # -- setup ------------------------------------------------------------------------------------
    def _colour(self):
        return CAR_COLOURS[int(self.rng.integers(len(CAR_COLOURS)))]

    def _kind(self) -> str:
        return str(self.rng.choice(["car", "car", "car", "suv", "suv", "van", "truck"]))

    def _event_params(self) -> dict:
        rng, layout = self.rng, self.layout
        lane_left = layout.ego_lane - 1 if layout.ego_lane > 0 else (-1 if layout.lanes_ours == 1 else 1)
        params: dict = {"side_lane_x": layout.lane_centre(lane_left), "tone": float(rng.random())}
        params["shift"] = -layout.lane_width if layout.lanes_ours > 1 else -1.9
        params["brake_at"] = float(rng.uniform(0.2, 0.35))
        params["gap0"] = float(rng.uniform(20, 27))
        params["on_shoulder"] = bool(rng.random() < 0.6)
        params["offset"] = float(rng.uniform(-0.7, 0.7))
        params["debris"] = [(float(rng.uniform(0, 22)), float(rng.uniform(-1.6, 1.6)), float(rng.uniform(0.35, 0.8)),
                             float(rng.uniform(0, np.pi))) for _ in range(int(rng.integers(5, 10)))]
        params["vest"] = bool(rng.random() < 0.5)
        params["shirt"] = self._colour()
        params["colour"] = self._colour()
        params["kind"] = str(rng.choice(["car", "suv", "van"]))
        return params

    def _traffic(self) -> list[Traffic]:
        rng, layout = self.rng, self.layout
        cars: list[Traffic] = []
        busy = 2 if self.event == "normal_traffic" else 1
        lead_min = LEAD_MIN_Z.get(self.event, 35.0)
        for lane in range(layout.lanes_ours):
            x = layout.lane_centre(lane)
            for k in range(busy):
                if lane == layout.ego_lane:
                    z0 = max(lead_min, 40.0) + rng.uniform(0, 40) + 45 * k
                    speed = self.speed * rng.uniform(0.98, 1.03)
                else:
                    z0 = rng.uniform(15, 70) + 50 * k
                    speed = self.speed * rng.uniform(0.92, 1.08)
                if z0 < 400:
                    cars.append(Traffic(Vehicle(x + rng.uniform(-0.2, 0.2), 0.0, self._kind(), self._colour()),
                                        z0, speed))
        for lane in range(layout.lanes_oncoming):
            x = layout.lane_centre(-1 - lane)
            for _ in range(busy + 1):
                cars.append(Traffic(Vehicle(x, 0.0, self._kind(), self._colour(), facing=-1),
                                    rng.uniform(40, 260), self.speed * rng.uniform(0.8, 1.05)))
        return cars

    # -- per frame --------------------------------------------------------------------------------
    def draw(self, draw: DrawList, t: float, light: Lighting, cam_x: float) -> None:
        """Add traffic and the event's actors at time t (s) to the draw list."""
        ego = self.ego_s(t)
        for car in self.traffic:
            s = car.s0 + car.vehicle.facing * car.speed * t
            z = s - ego
            if -20 < z < 320:
                vehicle = car.vehicle
                draw_vehicle(draw, Vehicle(vehicle.x, z, vehicle.kind, vehicle.colour, vehicle.facing), light, cam_x)
        getattr(self, f"_event_{self.event}", self._event_normal_traffic)(draw, t, t / self.span, ego, light, cam_x)

    def _ahead(self, ego: float, end_gap: float) -> float:
        """Depth now (m) of a fixed object that will be `end_gap` m ahead when the event ends."""
        return self.travel + end_gap - ego

    def _event_normal_traffic(self, draw, t, p, ego, light, cam_x) -> None:
        return None

    def _event_tire_debris(self, draw, t, p, ego, light, cam_x) -> None:
        first = self._ahead(ego, 5.0)
        for along, across, size, angle in self.params["debris"]:
            draw_debris(draw, self.ego_lane_x + across, first + along, size, angle)
        hazard = 0.5 + 0.5 * np.cos(2 * np.pi * 1.3 * t)
        x = self.layout.right_edge + 1.0
        draw_vehicle(draw, Vehicle(x, first + 45, self.params["kind"], self.params["colour"], hazard=hazard),
                     light, cam_x)

    def _event_erratic_cut_in(self, draw, t, p, ego, light, cam_x) -> None:
        start_x = self.params["side_lane_x"]
        into = smoothstep((p - 0.2) / 0.35)
        wobble = 0.45 * np.sin(2 * np.pi * 1.6 * p) * smoothstep(p / 0.2) * (1 - smoothstep((p - 0.6) / 0.3))
        x = start_x + (self.ego_lane_x - start_x) * into + wobble
        z = 4.0 + 20.0 * smoothstep(p / 0.9) * 0.9 + 2.0 * p
        brake = smoothstep((p - 0.55) / 0.1) * (1 - smoothstep((p - 0.85) / 0.1))
        draw_vehicle(draw, Vehicle(x, z, self.params["kind"], self.params["colour"], brake=brake), light, cam_x)

    def _event_animal_crossing(self, draw, t, p, ego, light, cam_x) -> None:
        z = self._ahead(ego, 11.0)
        start, end = self.layout.right_edge + 3.0, self.layout.left_edge - 1.0
        x = start + (end - start) * smoothstep(0.15 + 0.85 * p)
        draw_deer(draw, x, z, 2.2 * t, -1, light)

    def _event_construction_zone(self, draw, t, p, ego, light, cam_x) -> None:
        layout = self.layout
        taper_start = 30.0 - ego + 0.5 * self.travel
        closed_left = self.ego_lane_x + self.params["shift"] / 2 + 0.2   # the closed area's left boundary
        edge_right = layout.right_edge
        for i in range(40):
            z = taper_start + 6.0 * i
            if z < 1.0 or z > 250:
                continue
            share = min(1.0, i / 7.0)
            x = edge_right + (closed_left - edge_right) * share
            draw_cone(draw, x, z, barrel=(i % 3 == 0), light=light)
        board_z = taper_start + 52.0
        if board_z > 2:
            bx = self.ego_lane_x + 0.3
            draw.front_quad(bx - 1.2, bx + 1.2, 0.6, 2.2, board_z, (0.08, 0.08, 0.08))
            arrow = (2.4, 1.5, 0.2)
            draw.poly(board_z - 0.01, [(bx + 0.8, 1.4, board_z), (bx + 0.1, 1.9, board_z),
                                       (bx + 0.1, 0.9, board_z)], (0.9, 0.6, 0.1), emit=arrow)
            draw.front_quad(bx - 0.8, bx + 0.1, 1.28, 1.52, board_z - 0.01, (0.9, 0.6, 0.1), emit=arrow)
        sign_z = taper_start - 20.0
        if sign_z > 1:
            x = edge_right + layout.shoulder_right + 1.0
            draw.front_quad(x - 0.06, x + 0.06, 0.0, 1.6, sign_z + 0.01, (0.45, 0.45, 0.45))
            draw.poly(sign_z, [(x, 1.4, sign_z), (x + 0.6, 2.0, sign_z), (x, 2.6, sign_z), (x - 0.6, 2.0, sign_z)],
                      (0.95, 0.5, 0.08))

    def _event_stalled_vehicle(self, draw, t, p, ego, light, cam_x) -> None:
        z = self._ahead(ego, 13.0)
        hazard = 0.5 + 0.5 * np.cos(2 * np.pi * 1.2 * t)
        x = self.ego_lane_x + 0.4 + 0.3 * self.params["offset"]
        draw_vehicle(draw, Vehicle(x, z, self.params["kind"], self.params["colour"], hazard=hazard), light, cam_x)
        draw.poly(z - 8, [(x - 0.25, 0.0, z - 8), (x + 0.25, 0.0, z - 8), (x, 0.45, z - 8)], (0.9, 0.15, 0.1))

    def _event_road_obstacle(self, draw, t, p, ego, light, cam_x) -> None:
        z = self._ahead(ego, 7.0)
        kind = 2 if self.layout.road_id in ("mountain_pass", "desert_highway") else int(self.params["tone"] * 2)
        draw_obstacle(draw, self.ego_lane_x + self.params["offset"], z, kind)

    def _event_pedestrian_on_shoulder(self, draw, t, p, ego, light, cam_x) -> None:
        z = self._ahead(ego, 6.0) + 1.4 * (t - self.span)
        x = self.layout.right_edge + max(0.5 * self.layout.shoulder_right, 0.45)
        draw_pedestrian(draw, x, z, 0.9 * t, self.params["shirt"], self.params["vest"])

    def _event_emergency_vehicle(self, draw, t, p, ego, light, cam_x) -> None:
        beacon = (1.4 * t) % 1.0
        kind = "police" if self.params["tone"] < 0.5 else "ambulance"
        colour = (0.92, 0.92, 0.9) if kind == "ambulance" else (0.1, 0.1, 0.14)
        if self.params["on_shoulder"]:
            z, x = self._ahead(ego, 16.0), self.layout.right_edge + 1.1
        else:
            z, x = 28.0 - 6.0 * p, self.ego_lane_x
        draw_vehicle(draw, Vehicle(x, z, kind, colour, beacon=beacon), light, cam_x)

    def _event_sudden_braking(self, draw, t, p, ego, light, cam_x) -> None:
        onset, gap0 = self.params["brake_at"], self.params["gap0"]
        gap = gap0 - (gap0 - 7.5) * smoothstep((p - onset) / (1 - onset))
        brake = smoothstep((p - onset + 0.03) / 0.08)
        draw_vehicle(draw, Vehicle(self.ego_lane_x, gap, self.params["kind"], self.params["colour"], brake=brake),
                     light, cam_x)

    def _event_truck_overtaking(self, draw, t, p, ego, light, cam_x) -> None:
        rear = -17.0 + 40.0 * p
        draw_vehicle(draw, Vehicle(self.params["side_lane_x"], rear, "semi", (0.86, 0.86, 0.84)), light, cam_x)
