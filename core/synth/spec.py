"""What a procedural clip is: its spec, the seeds derived from it, random specs and JSON labels.

A `ClipSpec` fully determines a clip: rendering the same spec twice gives bit-identical frames.
Randomness is drawn from generators seeded by a stable digest (BLAKE2b) of named spec fields, never from
Python's `hash()`, which is salted per process.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import numpy as np

from core.catalogue import default_catalogue
from core.errors import ValidationError

SYNTH_VERSION = "core.synth/1"
# Smallest frame we render: below this the road and its markings are a few pixels and meaningless.
MIN_WIDTH, MIN_HEIGHT = 32, 18
# Share of random specs that start in clear day (what users usually upload) and that start in the target.
START_CLEAR_DAY_P = 0.7
START_SAME_AS_TARGET_P = 0.2


@dataclass(frozen=True)
class ClipSpec:
    """One procedural clip.

    event, conditions, road: catalogue ids. `conditions` is where the clip ends up; `start_conditions`
    is the condition of frame 0 (None = the same), and the clip moves from one to the other smoothly
    within the first second (about `fps` frames). Frames are `width`×`height` pixels at `fps` frames
    per second; 16:9 sizes such as 128×72, 256×144 and 1280×720 are the intended ones.
    """

    event: str
    conditions: str
    road: str
    seed: int
    start_conditions: str | None = None
    num_frames: int = 16
    fps: int = 8
    width: int = 256
    height: int = 144

    @property
    def resolved_start(self) -> str:
        """The condition of frame 0."""
        return self.start_conditions or self.conditions

    @property
    def duration_s(self) -> float:
        """Clip length in seconds."""
        return self.num_frames / self.fps


def validate_spec(spec: ClipSpec) -> ClipSpec:
    """Raise the catalogue's ValidationError naming the bad field; return the spec unchanged otherwise."""
    catalogue = default_catalogue()
    catalogue.event(spec.event)
    catalogue.condition(spec.conditions)
    catalogue.road(spec.road)
    if spec.start_conditions is not None:
        catalogue.condition(spec.start_conditions)
    for name, value, low in (("num_frames", spec.num_frames, 1), ("fps", spec.fps, 1),
                             ("width", spec.width, MIN_WIDTH), ("height", spec.height, MIN_HEIGHT)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValidationError(f"{name} must be an integer of at least {low}, got {value!r}.")
    if not isinstance(spec.seed, (int, np.integer)) or isinstance(spec.seed, bool) or spec.seed < 0:
        raise ValidationError(f"seed must be a non-negative integer, got {spec.seed!r}.")
    return spec


def stable_rng(*parts: object) -> np.random.Generator:
    """A generator seeded by a BLAKE2b digest of `parts` (their str forms), stable across processes."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode("utf-8"), digest_size=16).digest()
    return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest, "little")))


def random_spec(rng: np.random.Generator, **overrides: object) -> ClipSpec:
    """Sample event, conditions, road, seed and a start condition from the catalogue.

    The start condition is clear day with p=0.7, the target itself with p=0.2, and any condition
    otherwise, mirroring users who upload a clear-day frame and ask for another condition.
    `overrides` are ClipSpec fields that replace the sampled ones (a `conditions` override is applied
    before the start condition is chosen, so 'same as target' means the overridden target). Draws are
    made in a fixed order whatever is overridden, so one rng state always gives the same other fields.
    """
    catalogue = default_catalogue()
    events, conditions, roads = sorted(catalogue.events), sorted(catalogue.conditions), sorted(catalogue.roads)
    unknown = set(overrides) - set(ClipSpec.__dataclass_fields__)
    if unknown:
        raise ValidationError(f"unknown ClipSpec field(s) {sorted(unknown)}; allowed: "
                              f"{', '.join(ClipSpec.__dataclass_fields__)}.")
    event = events[int(rng.integers(len(events)))]
    target = conditions[int(rng.integers(len(conditions)))]
    road = roads[int(rng.integers(len(roads)))]
    seed = int(rng.integers(0, 2**31 - 1))
    start_draw = float(rng.random())
    other = conditions[int(rng.integers(len(conditions)))]
    target = str(overrides.get("conditions", target))
    if start_draw < START_CLEAR_DAY_P:
        start = "clear_day"
    elif start_draw < START_CLEAR_DAY_P + START_SAME_AS_TARGET_P:
        start = target
    else:
        start = other
    fields: dict[str, object] = dict(event=event, conditions=target, road=road, seed=seed,
                                     start_conditions=None if start == target else start)
    fields.update(overrides)
    return validate_spec(ClipSpec(**fields))  # type: ignore[arg-type]


def clip_labels(spec: ClipSpec) -> dict:
    """JSON-able labels: the scenario slots, the start condition, seed, frame geometry and the prompt."""
    validate_spec(spec)
    from core.catalogue import ScenarioSlots

    labels = asdict(spec)
    labels["start_conditions"] = spec.resolved_start
    labels["seed"] = int(spec.seed)
    labels["prompt"] = default_catalogue().render(ScenarioSlots(spec.event, spec.conditions, spec.road))
    labels["synthetic"] = True
    labels["generator"] = SYNTH_VERSION
    return labels
