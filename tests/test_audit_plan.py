"""Audit plans: validation sentences, deterministic seeds and first frames, YAML/JSON round trip."""

from __future__ import annotations

import json

import pytest

from core.audit.plan import clip_seed, load_plan, parse_plan, plan_from_dict, plan_tasks
from core.errors import ValidationError


@pytest.mark.parametrize("data, words", [
    ({"conditions": ["fog", "moon"]}, ["'conditions'", "'moon'", "clear_day"]),
    ({"conditions": "all", "clips_per_condition": 0}, ["'clips_per_condition'", "1 to 1000"]),
    ({"conditions": "all", "guidance_scale": "high"}, ["'guidance_scale'", "number"]),
    ({"conditions": "all", "flow": "lk"}, ["'flow'", "dis-fast"]),
    ({"conditions": "all", "seeds": [1, 2]}, ["unknown plan field 'seeds'", "base_seed"]),
    ({"conditions": ["fog"], "categories": ["night_construction"]}, ["exclude each other"]),
    ({}, ["'conditions' or 'categories'", "'clips'"]),
    ({"conditions": "all", "adapters": [{"name": "x", "strength": 1}]}, ["'adapters'", "{name, scale}"]),
    ({"conditions": "all", "event": "meteor"}, ["'event'", "tire_debris"]),
    ({"labels": "x.csv", "conditions": "all"}, ["'labels' needs 'clips'"]),
    ("not a mapping", ["mapping"]),
])
def test_bad_plans_give_one_sentence_naming_the_field(data, words):
    with pytest.raises(ValidationError) as error:
        parse_plan(data)
    message = str(error.value)
    assert message.endswith(".") and "\n" not in message
    for word in words:
        assert word in message


def test_seeds_and_tasks_are_deterministic_and_distinct():
    plan = parse_plan({"conditions": "all", "clips_per_condition": 3, "base_seed": 42})
    tasks = plan_tasks(plan)
    assert len(tasks) == 8 * 3
    assert [t.group for t in tasks[:3]] == ["clear_day"] * 3  # catalogue order, baseline first
    assert tasks == plan_tasks(parse_plan({"conditions": "all", "clips_per_condition": 3, "base_seed": 42}))
    assert len({t.seed for t in tasks}) == len(tasks)
    assert tasks[0].seed == clip_seed(42, "clear_day", 0)
    assert all(0 <= t.seed < 2**31 for t in tasks)
    other = plan_tasks(parse_plan({"conditions": "all", "clips_per_condition": 3, "base_seed": 43}))
    assert [t.seed for t in other] != [t.seed for t in tasks]
    # Adding a condition does not change another condition's seeds.
    fewer = plan_tasks(parse_plan({"conditions": ["fog"], "clips_per_condition": 3, "base_seed": 42}))
    assert [t.seed for t in fewer] == [t.seed for t in tasks if t.group == "fog"]


def test_sample_first_frames_are_clear_day_or_the_condition_and_prompts_use_slots():
    tasks = plan_tasks(parse_plan({"conditions": ["dust_storm"], "clips_per_condition": 6}))
    for task in tasks:
        assert task.image.endswith(".png")
        assert task.image.split("/")[-1].split("_")[0] in ("clear", "dust")
        assert "dust storm" in task.prompt and task.condition == "dust_storm"
    assert len({t.image for t in tasks}) > 1  # rotates through the candidates


def test_category_plan_uses_the_category_slots(tmp_path):
    tasks = plan_tasks(parse_plan({"categories": ["night_construction"], "clips_per_category": 2}))
    assert [t.category for t in tasks] == ["night_construction"] * 2
    assert all(t.condition == "night" and t.event == "construction_zone" for t in tasks)
    assert all("four_lane_interstate" in t.image for t in tasks)


def test_user_frames_folder_and_relative_paths(tmp_path, first_frame_png):
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "a.png").write_bytes(first_frame_png.read_bytes())
    (tmp_path / "plan.yaml").write_text("name: mine\nconditions: [fog]\nclips_per_condition: 2\nfirst_frames: frames\n"
                                        "road: rural_road\nreference: refs\n", encoding="utf-8")
    plan = load_plan(tmp_path / "plan.yaml")
    assert plan.first_frames == str(frames) and plan.reference == str(tmp_path / "refs")
    tasks = plan_tasks(plan)
    assert all(t.image == str(frames / "a.png") and t.road == "rural_road" for t in tasks)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="holds no images"):
        plan_tasks(parse_plan({"conditions": ["fog"], "first_frames": str(tmp_path / "empty")}))


def test_round_trip_json_and_hash(tmp_path):
    plan = parse_plan({"name": "x", "conditions": ["fog", "snow"], "adapters": ["style:0.5"], "guidance_scale": 6,
                       "num_inference_steps": 10})
    again = plan_from_dict(json.loads(plan.to_json()))
    assert again == plan and again.sha256() == plan.sha256()
    (tmp_path / "p.json").write_text(plan.to_json(), encoding="utf-8")
    assert load_plan(tmp_path / "p.json") == plan
    (tmp_path / "bad.yaml").write_text("conditions: [fog\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid YAML"):
        load_plan(tmp_path / "bad.yaml")


def test_condition_change_is_known_for_sample_frames_only(first_frame_png):
    from core.sample_frames import sample_frame_condition
    from core.audit.runner import _condition_change

    tasks = plan_tasks(parse_plan({"conditions": ["dust_storm"], "clips_per_condition": 6}))
    shown = {sample_frame_condition(t.image) for t in tasks}
    assert shown == {"clear_day", "dust_storm"}
    for task in tasks:
        assert _condition_change(task.image, task.condition) == (sample_frame_condition(task.image) == "clear_day")
    assert sample_frame_condition(first_frame_png) is None and not _condition_change(str(first_frame_png), "fog")
    assert sample_frame_condition(None) is None
