import pytest

from core.catalogue import ScenarioSlots, default_catalogue, load_catalogue
from core.errors import ValidationError


def test_builtin_catalogue_sizes_and_baseline():
    catalogue = default_catalogue()
    assert len(catalogue.events) >= 10
    assert len(catalogue.conditions) >= 8
    assert len(catalogue.roads) >= 6
    assert len(catalogue.categories) >= 15
    for rare in ("dust_storm", "heavy_rain", "night", "fog", "snow", "low_sun_glare", "dusk", "clear_day"):
        assert rare in catalogue.conditions
    baseline = catalogue.category("baseline_clear_highway")
    assert baseline.conditions == "clear_day"
    events_in_categories = {c.event for c in catalogue.categories.values()}
    assert {"tire_debris", "construction_zone", "erratic_cut_in", "animal_crossing"} <= events_in_categories


def test_render_follows_template():
    catalogue = default_catalogue()
    prompt = catalogue.render(ScenarioSlots("tire_debris", "clear_day", "four_lane_interstate"))
    assert prompt == "dashcam view of a tire blowout debris field during daytime on a four-lane interstate"


def test_free_text_prompt_overrides_template():
    slots, prompt = default_catalogue().resolve_prompt("dust_storm_debris", prompt="  my own words ")
    assert prompt == "my own words"
    assert slots.conditions == "dust_storm"


@pytest.mark.parametrize("call, field", [
    (lambda c: c.category("nope"), "scenario"),
    (lambda c: c.render(ScenarioSlots("nope", "clear_day", "rural_road")), "event"),
    (lambda c: c.render(ScenarioSlots("tire_debris", "nope", "rural_road")), "conditions"),
    (lambda c: c.resolve_prompt(slots=ScenarioSlots("tire_debris", "clear_day", "nope")), "road"),
])
def test_unknown_id_names_field_and_allowed_values(call, field):
    with pytest.raises(ValidationError) as info:
        call(default_catalogue())
    message = str(info.value)
    assert f"unknown {field} 'nope'" in message
    assert "allowed values:" in message


def test_nothing_to_render_is_an_error():
    with pytest.raises(ValidationError, match="scenario id"):
        default_catalogue().resolve_prompt()


def test_user_catalogue_merges_and_validates(tmp_path):
    user = tmp_path / "mine.yaml"
    user.write_text(
        "events:\n  - {id: moose, label: Moose, phrase: a moose on the road}\n"
        "categories:\n  - {id: moose_fog, label: Moose in fog, event: moose, conditions: fog, road: rural_road}\n")
    catalogue = load_catalogue(user)
    assert "moose" in catalogue.render(catalogue.slots_for("moose_fog"))
    assert "baseline_clear_highway" in catalogue.categories


def test_user_catalogue_duplicate_id_is_an_error(tmp_path):
    user = tmp_path / "dup.yaml"
    user.write_text("conditions:\n  - {id: fog, label: Fog again, phrase: fog}\n")
    with pytest.raises(ValidationError, match="duplicate conditions id 'fog'"):
        load_catalogue(user)


def test_user_category_with_unknown_slot_is_an_error(tmp_path):
    user = tmp_path / "bad.yaml"
    user.write_text("categories:\n  - {id: x, label: X, event: tire_debris, conditions: hail, road: rural_road}\n")
    with pytest.raises(ValidationError, match="unknown conditions 'hail'"):
        load_catalogue(user)


def test_user_catalogue_missing_fields_is_an_error(tmp_path):
    user = tmp_path / "bad.yaml"
    user.write_text("events:\n  - {id: x}\n")
    with pytest.raises(ValidationError, match="needs id, label and phrase"):
        load_catalogue(user)


# -- one rule for a scenario versus the three slots (CLI, web and API share it) ------------------------
def test_scenario_alone_or_with_its_own_slots_is_the_scenario():
    cat = default_catalogue()
    for category in cat.categories.values():
        own = (category.event, category.conditions, category.road)
        assert cat.scenario_or_slots(category.id) == (category.id, None)
        # The page's slot menus always show the picked scenario's own slots.
        assert cat.scenario_or_slots(category.id, *own) == (category.id, None)


def test_scenario_with_different_slots_is_refused_in_one_sentence():
    cat = default_catalogue()
    with pytest.raises(ValidationError) as info:
        cat.scenario_or_slots("night_construction", "tire_debris", "", "")
    message = str(info.value)
    assert "event 'tire_debris'" in message and "not both" in message and "\n" not in message


def test_slots_without_scenario_must_be_all_three_and_known():
    cat = default_catalogue()
    assert cat.scenario_or_slots("", "tire_debris", "night", "rural_road") == (
        None, ScenarioSlots("tire_debris", "night", "rural_road"))
    assert cat.scenario_or_slots(None) == (None, None)
    with pytest.raises(ValidationError, match="all three slots"):
        cat.scenario_or_slots("", "tire_debris", None, "rural_road")
    with pytest.raises(ValidationError, match="unknown conditions 'noon'"):
        cat.scenario_or_slots("", "tire_debris", "noon", "rural_road")
    with pytest.raises(ValidationError, match="unknown scenario 'nope'"):
        cat.scenario_or_slots("nope")


def test_labels_source_marks_a_prompt_that_differs_from_the_slots():
    cat = default_catalogue()
    slots = cat.slots_for("night_construction")
    assert cat.labels_source(slots, cat.render(slots), conditioned_on_slots=False) == "template"
    baseline = cat.render(cat.slots_for("baseline_clear_highway"))
    assert cat.labels_source(slots, baseline, conditioned_on_slots=False) == "user_asserted"
    assert cat.labels_source(slots, cat.render(slots), False, reads_prompt=False) == "user_asserted"
    assert cat.labels_source(slots, baseline, conditioned_on_slots=True) == "conditioning"
    assert cat.labels_source(None, baseline, conditioned_on_slots=False) == "none"
