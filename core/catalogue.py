"""The scenario catalogue: vocabularies, named categories, and rendering to a prompt.

The built-in catalogue is `configs/scenarios.yaml`; a user catalogue file with the same layout adds
entries. Both are validated the same way, and an id that appears twice is an error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from core.errors import ValidationError
from core.paths import CONFIGS_DIR

BUILTIN_CATALOGUE = CONFIGS_DIR / "scenarios.yaml"
VOCABULARIES = ("events", "conditions", "roads")


@dataclass(frozen=True)
class VocabularyEntry:
    """One event, condition or road type. `rarity` is a share of driving time (None when not given)."""

    id: str
    label: str
    phrase: str
    rarity: float | None = None


@dataclass(frozen=True)
class ScenarioCategory:
    """A named scenario: one (event, conditions, road) triple with a stable id."""

    id: str
    label: str
    event: str
    conditions: str
    road: str
    rarity: float | None = None


@dataclass(frozen=True)
class ScenarioSlots:
    """The three template slots, as catalogue ids."""

    event: str
    conditions: str
    road: str


@dataclass
class Catalogue:
    template: str
    events: dict[str, VocabularyEntry] = field(default_factory=dict)
    conditions: dict[str, VocabularyEntry] = field(default_factory=dict)
    roads: dict[str, VocabularyEntry] = field(default_factory=dict)
    categories: dict[str, ScenarioCategory] = field(default_factory=dict)

    # -- look-ups that validate -------------------------------------------------------------------
    def _lookup(self, table: dict, value: str, field_name: str):
        if value not in table:
            allowed = ", ".join(sorted(table))
            raise ValidationError(f"unknown {field_name} '{value}'; allowed values: {allowed}.")
        return table[value]

    def category(self, category_id: str) -> ScenarioCategory:
        return self._lookup(self.categories, category_id, "scenario")

    def event(self, event_id: str) -> VocabularyEntry:
        return self._lookup(self.events, event_id, "event")

    def condition(self, condition_id: str) -> VocabularyEntry:
        return self._lookup(self.conditions, condition_id, "conditions")

    def road(self, road_id: str) -> VocabularyEntry:
        return self._lookup(self.roads, road_id, "road")

    def slots_for(self, category_id: str) -> ScenarioSlots:
        category = self.category(category_id)
        return ScenarioSlots(category.event, category.conditions, category.road)

    def render(self, slots: ScenarioSlots) -> str:
        """Fill the template with the slots' phrases, e.g. 'dashcam view of … during … on …'."""
        return self.template.format(
            event=self.event(slots.event).phrase,
            conditions=self.condition(slots.conditions).phrase,
            road=self.road(slots.road).phrase,
        )

    def scenario_or_slots(self, scenario: str | None, event: str | None = None, conditions: str | None = None,
                          road: str | None = None) -> tuple[str | None, ScenarioSlots | None]:
        """The one rule for a scenario id versus the three slots (CLI, web and API share it).

        Returns (scenario, None) for a known scenario, (None, slots) for three known slots, (None, None)
        when neither is given. Slots given beside a scenario must be the scenario's own (the page's slot
        menus always show them); any that differ are refused, so a label is never silently dropped.
        """
        scenario = (scenario or "").strip() or None
        given = {k: (v or "").strip() or None for k, v in (("event", event), ("conditions", conditions),
                                                             ("road", road))}
        if scenario:
            own = asdict(self.slots_for(scenario))  # validates the id
            clash = [f"{k} '{v}'" for k, v in given.items() if v is not None and v != own[k]]
            if clash:
                raise ValidationError(f"scenario '{scenario}' is {own['event']} / {own['conditions']} / "
                                      f"{own['road']}, but the request also gives {', '.join(clash)}; give either "
                                      f"the scenario or the three slots, not both.")
            return scenario, None
        if not any(given.values()):
            return None, None
        if not all(given.values()):
            raise ValidationError("give all three slots (event, conditions, road) together, or a scenario id.")
        slots = ScenarioSlots(**given)
        self.event(slots.event), self.condition(slots.conditions), self.road(slots.road)
        return None, slots

    def labels_source(self, slots: ScenarioSlots | None, prompt: str, conditioned_on_slots: bool,
                      reads_prompt: bool = True) -> str:
        """Where a clip's slot labels come from, for its manifest and every audit of it.

        "conditioning": the model was given the slots themselves (the embedded model);
        "template": the prompt is the slots' template rendering, so the labels say what conditioned it;
        "user_asserted": a typed prompt differs from that rendering, or the model reads no prompt at all
        (image-only families), so the labels are the user's word; "none": no slots (a free-text prompt only).
        """
        if slots is None:
            return "none"
        if conditioned_on_slots:
            return "conditioning"
        return "template" if reads_prompt and prompt.strip() == self.render(slots) else "user_asserted"

    def resolve_prompt(self, scenario: str | None = None, slots: ScenarioSlots | None = None,
                       prompt: str | None = None) -> tuple[ScenarioSlots | None, str]:
        """Return (slots, prompt) for a request. A non-empty free-text `prompt` overrides the template."""
        if scenario:
            slots = self.slots_for(scenario)
        elif slots is not None:
            for check, value in ((self.event, slots.event), (self.condition, slots.conditions),
                                 (self.road, slots.road)):
                check(value)
        if prompt and prompt.strip():
            return slots, prompt.strip()
        if slots is None:
            raise ValidationError("give a scenario id, the three slots (event, conditions, road), or a prompt.")
        return slots, self.render(slots)


def _entries(raw: dict, key: str, source: Path) -> list[dict]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise ValidationError(f"'{key}' in {source} must be a list of entries.")
    return value


def _add(table: dict, entry, kind: str, source: Path) -> None:
    if entry.id in table:
        raise ValidationError(f"duplicate {kind} id '{entry.id}' in {source}; ids must be unique across catalogues.")
    table[entry.id] = entry


def _merge_file(catalogue: Catalogue, path: Path) -> None:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError(f"catalogue file '{path}' could not be read: {exc}") from None
    if not isinstance(raw, dict):
        raise ValidationError(f"catalogue file '{path}' must hold a mapping at the top level.")
    for kind in VOCABULARIES:
        for item in _entries(raw, kind, path):
            try:
                entry = VocabularyEntry(id=str(item["id"]), label=str(item["label"]), phrase=str(item["phrase"]),
                                        rarity=item.get("rarity"))
            except (KeyError, TypeError):
                raise ValidationError(f"each entry of '{kind}' in {path} needs id, label and phrase.") from None
            _add(getattr(catalogue, kind), entry, kind[:-1] if kind != "conditions" else "conditions", path)
    for item in _entries(raw, "categories", path):
        try:
            category = ScenarioCategory(id=str(item["id"]), label=str(item["label"]), event=str(item["event"]),
                                        conditions=str(item["conditions"]), road=str(item["road"]),
                                        rarity=item.get("rarity"))
        except (KeyError, TypeError):
            raise ValidationError(f"each category in {path} needs id, label, event, conditions and road.") from None
        _add(catalogue.categories, category, "scenario", path)


def load_catalogue(user_file: Path | None = None) -> Catalogue:
    """Load the built-in catalogue, merge `user_file` into it, and check every category's slots exist."""
    raw = yaml.safe_load(BUILTIN_CATALOGUE.read_text(encoding="utf-8"))
    catalogue = Catalogue(template=raw["template"])
    _merge_file(catalogue, BUILTIN_CATALOGUE)
    if user_file is not None:
        _merge_file(catalogue, Path(user_file))
    for category in catalogue.categories.values():
        catalogue.event(category.event)
        catalogue.condition(category.conditions)
        catalogue.road(category.road)
    return catalogue


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The built-in catalogue, parsed once per process."""
    return load_catalogue()
