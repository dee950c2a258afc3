"""The procedural dashcam synthesiser: determinism, labels, sizes, condition looks, transitions, events,
validation and the reference set. Everything renders at small sizes so the file runs in seconds."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.catalogue import default_catalogue
from core.errors import ValidationError
from core.synth import ClipSpec, clip_labels, random_spec, render_clip, render_first_frame, write_reference_set
from core.synth.events import EventScript
from core.synth.render import transition_weight
from core.synth.roads import road_layout
from core.synth.roadside import Lighting
from core.synth.scene import DrawList
from core.synth.spec import stable_rng
from core.video_io import read_frames

CATALOGUE = default_catalogue()
SMALL = dict(width=128, height=72)
REPO = Path(__file__).resolve().parents[1]


def _digest(frames: np.ndarray) -> str:
    return hashlib.sha256(frames.tobytes()).hexdigest()


def test_same_spec_is_bit_identical_and_seed_changes_the_clip():
    spec = ClipSpec("tire_debris", "heavy_rain", "desert_highway", seed=5, start_conditions="clear_day", **SMALL)
    first, second = render_clip(spec), render_clip(spec)
    assert np.array_equal(first, second)
    other = render_clip(ClipSpec("tire_debris", "heavy_rain", "desert_highway", seed=6, start_conditions="clear_day",
                                 **SMALL))
    assert np.abs(first.astype(int) - other).mean() > 1.0


def test_render_is_identical_in_a_fresh_process_with_another_hash_seed():
    """Seeds come from a stable digest, not Python's salted hash()."""
    spec = ClipSpec("animal_crossing", "dusk", "rural_road", seed=42, num_frames=3, **SMALL)
    code = ("import hashlib; from core.synth import ClipSpec, render_clip; "
            "print(hashlib.sha256(render_clip(ClipSpec('animal_crossing', 'dusk', 'rural_road', seed=42, "
            "num_frames=3, width=128, height=72)).tobytes()).hexdigest())")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _digest(render_clip(spec))


@pytest.mark.parametrize("width,height,frames", [(128, 72, 4), (256, 144, 3), (1280, 720, 2)])
def test_shapes_and_dtype(width, height, frames):
    clip = render_clip(ClipSpec("emergency_vehicle", "night", "urban_arterial", seed=1, num_frames=frames,
                                width=width, height=height))
    assert clip.shape == (frames, height, width, 3)
    assert clip.dtype == np.uint8
    assert clip.std() > 5   # not a blank frame


def test_first_frame_matches_frame_zero_of_the_clip():
    spec = ClipSpec("road_obstacle", "fog", "mountain_pass", seed=3, **SMALL)
    single = ClipSpec("road_obstacle", "fog", "mountain_pass", seed=3, num_frames=1, **SMALL)
    assert np.array_equal(render_clip(spec)[0], render_first_frame(single))


def test_labels_hold_slots_start_condition_seed_and_prompt():
    spec = ClipSpec("truck_overtaking", "heavy_rain", "four_lane_interstate", seed=9, start_conditions="clear_day")
    labels = clip_labels(spec)
    json.dumps(labels)   # JSON-able
    assert labels["event"] == "truck_overtaking" and labels["conditions"] == "heavy_rain"
    assert labels["road"] == "four_lane_interstate" and labels["seed"] == 9
    assert labels["start_conditions"] == "clear_day"
    assert labels["prompt"] == ("dashcam view of a semi-truck overtaking on the left during heavy rain with spray "
                                "from trucks on a four-lane interstate")
    assert labels["synthetic"] is True
    same = clip_labels(ClipSpec("normal_traffic", "fog", "rural_road", seed=1))
    assert same["start_conditions"] == "fog"


def test_random_spec_samples_the_catalogue_and_mostly_starts_in_clear_day():
    rng = np.random.default_rng(0)
    specs = [random_spec(rng) for _ in range(400)]
    assert {s.event for s in specs} == set(CATALOGUE.events)
    assert {s.conditions for s in specs} == set(CATALOGUE.conditions)
    assert {s.road for s in specs} == set(CATALOGUE.roads)
    starts_clear = np.mean([s.resolved_start == "clear_day" for s in specs])
    starts_in_target = np.mean([s.resolved_start == s.conditions for s in specs])
    assert starts_clear > 0.6 and starts_in_target > 0.15
    assert random_spec(np.random.default_rng(7)) == random_spec(np.random.default_rng(7))
    pinned = random_spec(np.random.default_rng(1), conditions="fog", width=128, height=72, num_frames=4)
    assert (pinned.conditions, pinned.width, pinned.height, pinned.num_frames) == ("fog", 128, 72, 4)
    with pytest.raises(ValidationError):
        random_spec(np.random.default_rng(1), colour="red")


@pytest.mark.parametrize("field,value", [("event", "meteor_strike"), ("conditions", "hail"), ("road", "canal"),
                                         ("start_conditions", "sandstorm")])
def test_unknown_ids_raise_the_catalogue_validation_error(field, value):
    fields = dict(event="normal_traffic", conditions="clear_day", road="rural_road", seed=0, **SMALL)
    fields[field] = value
    with pytest.raises(ValidationError, match=value):
        render_clip(ClipSpec(**fields))
    with pytest.raises(ValidationError):
        clip_labels(ClipSpec(**fields))


def test_bad_sizes_are_refused():
    with pytest.raises(ValidationError, match="width"):
        render_clip(ClipSpec("normal_traffic", "clear_day", "rural_road", 0, width=8, height=72))
    with pytest.raises(ValidationError, match="num_frames"):
        render_clip(ClipSpec("normal_traffic", "clear_day", "rural_road", 0, num_frames=0))


def _condition_stats() -> dict[str, dict[str, float]]:
    """Per condition, statistics of frame 0 averaged over three scenes (frames in [0,1])."""
    stats = {}
    for condition in CATALOGUE.conditions:
        rows = []
        for road, seed in (("four_lane_interstate", 1), ("two_lane_highway", 2), ("desert_highway", 3)):
            frame = render_first_frame(ClipSpec("normal_traffic", condition, road, seed, num_frames=1, **SMALL))
            frame = frame.astype(np.float32) / 255
            lum = frame.mean(axis=2)
            height = frame.shape[0]
            rows.append(dict(
                luminance=lum.mean(),
                brown=(frame[..., 0] - frame[..., 2]).mean(),
                far_contrast=lum[int(0.30 * height):int(0.47 * height)].std(),   # around the horizon
                ground=lum[int(0.6 * height):].mean(),
                chroma=(frame.max(axis=2) - frame.min(axis=2)).mean(),
                blown_out=(lum > 0.95).mean()))
        stats[condition] = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
    return stats


@pytest.fixture(scope="module")
def condition_stats():
    return _condition_stats()


def test_each_condition_has_its_expected_look(condition_stats):
    s = condition_stats
    clear = s["clear_day"]
    assert s["night"]["luminance"] < 0.5 * clear["luminance"]
    assert s["night"]["luminance"] < s["dusk"]["luminance"] < clear["luminance"]
    assert s["fog"]["far_contrast"] < 0.5 * clear["far_contrast"]
    assert s["dust_storm"]["far_contrast"] < 0.5 * clear["far_contrast"]
    assert s["dust_storm"]["brown"] == max(v["brown"] for v in s.values())
    assert s["dust_storm"]["brown"] > clear["brown"] + 0.2
    assert s["snow"]["ground"] > 1.5 * clear["ground"]
    assert s["heavy_rain"]["luminance"] < clear["luminance"]
    assert s["heavy_rain"]["chroma"] < 0.7 * clear["chroma"]
    assert s["low_sun_glare"]["blown_out"] > 0.02 > 10 * clear["blown_out"]


def test_conditions_are_pairwise_distinct(condition_stats):
    names = sorted(condition_stats)
    vectors = {n: np.array(list(condition_stats[n].values())) for n in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(vectors[a] - vectors[b]).sum() > 0.05, (a, b)


def test_start_condition_transitions_to_the_target_within_a_second():
    base = dict(event="normal_traffic", road="two_lane_highway", seed=4, num_frames=12, fps=8, **SMALL)
    moving = render_clip(ClipSpec(conditions="night", start_conditions="clear_day", **base))
    day = render_clip(ClipSpec(conditions="clear_day", **base))
    night = render_clip(ClipSpec(conditions="night", **base))
    assert np.array_equal(moving[0], day[0])                      # frame 0 is the start condition
    assert np.array_equal(moving[7:], night[7:])                  # fully the target from frame fps-1
    brightness = moving.reshape(len(moving), -1).mean(axis=1)
    assert np.all(np.diff(brightness[:8]) < 0)                    # darkens steadily, no jumps back
    assert np.abs(np.diff(brightness)).max() < 0.35 * 255
    assert transition_weight(0, 8) == 0.0 and transition_weight(7, 8) == 1.0


def test_clips_are_smooth_and_moving():
    """The failure-mode gates on frames in [0,1]: no flicker (>0.4), not static (<0.01)."""
    for condition in ("clear_day", "fog", "night", "heavy_rain", "snow"):
        clip = render_clip(ClipSpec("normal_traffic", condition, "two_lane_highway", 8, num_frames=10, fps=10,
                                    width=256, height=144)).astype(np.float32) / 255
        step = np.abs(np.diff(clip, axis=0)).mean(axis=(1, 2, 3))
        assert step.max() < 0.2, condition
        assert step.mean() > 0.01, condition


@pytest.mark.parametrize("event", sorted(CATALOGUE.events))
def test_every_event_puts_its_actors_in_view(event):
    """The event's own actors are drawn ahead of the camera while the clip plays, and the clip renders."""
    layout = road_layout("two_lane_highway")
    script = EventScript(event, layout, stable_rng("test", event), duration_s=2.0)
    seen = 0
    for t in (0.0, 0.7, 1.4, 1.9):
        draw = DrawList()
        method = getattr(script, f"_event_{event}")
        method(draw, t, t / script.span, script.ego_s(t), Lighting(0.0, 0.0, 0.0), script.cam_x(t))
        points = np.asarray(draw.coords).reshape(-1, 3)
        ahead = (points[:, 2] > -20) & (points[:, 2] < 150) & (np.abs(points[:, 0] - script.cam_x(t)) < 15)
        seen += int(ahead.any())
    if event == "normal_traffic":
        assert len(script.traffic) >= 3
    else:
        assert seen >= 3, event
    clip = render_clip(ClipSpec(event, "clear_day", "four_lane_interstate", seed=2, num_frames=4, **SMALL))
    assert clip.shape == (4, 72, 128, 3)


def test_write_reference_set_writes_decodable_clips_and_labels(tmp_path):
    paths = write_reference_set(tmp_path, ["clear_day", "fog"], clips_per_condition=2, base_seed=3, num_frames=6,
                                fps=10, width=128, height=72)
    assert len(paths) == 4
    for path in paths:
        assert path.parent.name in ("clear_day", "fog") and path.suffix == ".mp4"
        frames = read_frames(path)
        assert frames.shape == (6, 72, 128, 3)
        labels = json.loads(path.with_suffix(".json").read_text())
        assert labels["conditions"] == path.parent.name == labels["start_conditions"]
        assert labels["num_frames"] == 6 and labels["fps"] == 10
    again = write_reference_set(tmp_path / "again", ["clear_day", "fog"], 2, 3, 6, 10, 128, 72)
    assert [p.name for p in again] == [p.name for p in paths]


def test_spec_helpers_do_not_import_opencv():
    code = ("import sys; from core.synth import ClipSpec, clip_labels, random_spec; "
            "clip_labels(ClipSpec('normal_traffic', 'fog', 'rural_road', 1)); print('cv2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bundled_sample_frames_match_their_index():
    from PIL import Image

    folder = REPO / "assets" / "sample_frames"
    index = json.loads((folder / "index.json").read_text())["samples"]
    assert len(index) >= 12
    assert {entry["conditions"] for entry in index} == set(CATALOGUE.conditions)
    for entry in index:
        path = folder / entry["file"]
        assert path.name == f"{entry['conditions']}_{entry['road']}.png"
        assert path.stat().st_size < 100_000
        with Image.open(path) as image:
            assert image.size == (entry["width"], entry["height"]) and image.width >= 512
        CATALOGUE.event(entry["event"]), CATALOGUE.road(entry["road"])
