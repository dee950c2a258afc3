"""Typed results of an audit. Every class serialises to JSON (`to_dict`) and back (`from_dict`).

The whole audit is one `AuditResult`: its plan, provenance, one `ClipRecord` per clip (with the full
quality card, per-frame series and flagged frame ranges), one `ConditionSummary` per condition or
category, the cross-condition `CrossSummary`, the verdict, and the sign-offs.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from core.audit.stats import Interval
from core.metrics.distribution import DistanceResult
from core.metrics.result import to_jsonable

AUDIT_FORMAT = "scenario-studio-audit/1"
PASS, FAIL, NO_DATA, NOT_JUDGED = "pass", "fail", "no data", "not judged"
SIGNED_IN, TYPED = "signed-in", "typed"  # SignOff.identity


def from_jsonable(cls: Any, data: Any) -> Any:
    """Rebuild `cls` (a dataclass, list[...], dict[str, ...], X | None or a plain type) from JSON data."""
    if data is None:
        return None
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(cls) if a is not type(None)]
        return from_jsonable(options[0], data) if len(options) == 1 else data
    if origin is list:
        (item,) = typing.get_args(cls) or (Any,)
        return [from_jsonable(item, v) for v in data]
    if origin is dict:
        _, value_type = typing.get_args(cls) or (str, Any)
        return {k: from_jsonable(value_type, v) for k, v in data.items()}
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{k: from_jsonable(hints[k], v) for k, v in data.items() if k in known})
    if cls is float and isinstance(data, int):
        return float(data)
    return data


class _Json:
    """Mixin: `to_dict` (plain JSON types; non-finite floats become null) and `from_dict`."""

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        return from_jsonable(cls, data)


@dataclass
class MediaFile(_Json):
    """What the views play of a clip: a file inside the audit folder (see core.audit.media).

    path: relative to the audit folder, POSIX separators; sha256: SHA-256 of that file's bytes (equal to
    the clip's own hash for "original", "link" and "copy"); kind: "original" (the clip already lies in
    the folder), "link" (a hard link), "copy" (a byte copy) or "preview" (a small H.264 re-encode, for
    sources a browser cannot play); source: the clip or reference file it was made from.
    """

    path: str
    sha256: str
    kind: str
    source: str = ""


@dataclass(frozen=True)
class ClipIdentity:
    """What a clip is, known before it is measured; shared by the run's units, the clips found on disk
    and the saved records.

    Attributes:
        clip_id: unique within the audit (the MP4's stem for generated clips).
        group: the condition or category id it is audited under; condition/event/road/category: slots (ids).
        seed, prompt, image (first-frame path): how it was (or is to be) generated, where known.
    """

    clip_id: str
    group: str
    condition: str
    event: str | None = None
    road: str | None = None
    category: str | None = None
    seed: int | None = None
    prompt: str | None = None
    image: str | None = None


def identity_fields(source: Any) -> dict[str, Any]:
    """The ClipIdentity fields of `source` (a ClipIdentity, a subclass of it, a ClipTask or a ClipRecord)."""
    return {f.name: getattr(source, f.name) for f in dataclasses.fields(ClipIdentity)}


@dataclass
class ClipRecord(_Json):
    """One audited clip: where it came from, its numbers and its quality card.

    The saved form keeps the ClipIdentity fields flat and in this order (audit.json, cards/*.json and the
    CSV export read them so); `ClipRecord.of` fills them from an identity, `identity` reads them back.
    A record is mutable (filled in as it is measured), so it cannot inherit the frozen identity.

    Attributes:
        clip_id: unique within the audit (the MP4's stem for generated clips).
        group: the condition or category id it is audited under; condition/event/road: slots (ids).
        path: MP4 path; sha256: SHA-256 of the MP4 bytes; manifest: the engine's JSON beside it, if any.
        seed, prompt, image (first-frame path), model_id, weights_sha256, adapters: from the manifest.
        labels_source: the manifest's `provenance.labels_source` ("template", "conditioning",
            "user_asserted" or "none"; None without one). "user_asserted" means a typed prompt, not the
            labels, conditioned the model: the labels are the user's word (`labels_asserted`).
        task_key: hash of everything the record depends on; a resumed audit reuses the record only
            when the key matches.
        values: the scalar measures used in statistics (see core.audit.aggregate.MEASURES); None = missing.
        passed: the card's per-clip verdict (every judged per-clip gate passed).
        fired: names of the failure detectors that fired; flags: detector -> inclusive [start, end] frames.
        card: the metrics engine's QualityCard as a dict (per-frame series in card['measures'][m]['per_frame']).
        frame_diff: consecutive-frame mean absolute difference per pair t→t+1, frames in [0, 1] (T−1 values).
        thumbnail: file name (in the audit's cards folder) of a PNG strip of three frames, or None.
        error: one sentence when the clip could not be measured (then values are empty).
        seconds: wall time per stage ("generate", "measure").
        media: what the Present page, the drill-down and the report play (inside the audit folder);
            None in audits made before it existed (a rerun adds it).
    """

    clip_id: str
    group: str
    condition: str
    path: str
    sha256: str = ""
    event: str | None = None
    road: str | None = None
    category: str | None = None
    manifest: str | None = None
    seed: int | None = None
    prompt: str | None = None
    image: str | None = None
    model_id: str | None = None
    weights_sha256: str | None = None
    adapters: list[dict[str, Any]] = field(default_factory=list)
    labels_source: str | None = None
    task_key: str = ""
    values: dict[str, float | None] = field(default_factory=dict)
    passed: bool = False
    fired: list[str] = field(default_factory=list)
    flags: dict[str, list[list[int]]] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)
    frame_diff: list[float] = field(default_factory=list)
    num_frames: int = 0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    has_features: bool = False
    thumbnail: str | None = None
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, identity: ClipIdentity, **fields: Any) -> ClipRecord:
        """A record of `identity`'s clip: its identity fields, then `fields` (which may override them)."""
        return cls(**{**identity_fields(identity), **fields})

    @property
    def identity(self) -> ClipIdentity:
        return ClipIdentity(**identity_fields(self))

    @property
    def labels_asserted(self) -> bool:
        """True when the clip's labels are the user's word, not what conditioned the model."""
        return self.labels_source == "user_asserted"
    media: MediaFile | None = None


@dataclass
class GateCell(_Json):
    """One gate judged on one condition.

    status: PASS, FAIL, NO_DATA (nothing to judge: no reference for FVD, no CLIP weights) or NOT_JUDGED
    (a value exists but the gate is not meaningful for it, e.g. FVD from the random 3D CNN).
    uncertain: the confidence interval straddles the threshold, so more clips could flip the verdict.
    """

    gate: str
    status: str
    value: float | None
    threshold: float
    rule: str
    note: str = ""
    uncertain: bool = False


@dataclass
class Distance(DistanceResult, _Json):
    """FVD or KVD of one condition's clips against its reference clips: the metrics engine's
    DistanceResult, with the JSON round trip audits are stored with."""


@dataclass
class ConditionSummary(_Json):
    """Everything about one condition (or category) of an audit.

    measures: measure key -> mean with its bootstrap interval (None when no clip had a value).
    rejection: share of clips that failed any per-clip gate (Wilson interval).
    flagged: detector name -> share of clips it flagged (Wilson interval).
    distances: "fvd"/"kvd" -> Distance against the reference clips, when a reference was given.
    gates: one GateCell per gate; verdict: PASS, FAIL or NO_DATA over the judged gates.
    clips_worst_first: clip ids, failing and most-flagged first (see aggregate.severity_key).
    events: event id -> number of clips (for the coverage matrix).
    reference_media: the reference clip shown beside the generated ones, inside the audit folder.
    """

    group: str
    label: str
    condition: str
    rarity: float | None
    n_clips: int
    n_errors: int
    measures: dict[str, Interval | None] = field(default_factory=dict)
    rejection: Interval | None = None
    flagged: dict[str, Interval | None] = field(default_factory=dict)
    distances: dict[str, Distance] = field(default_factory=dict)
    reference: str | None = None
    gates: list[GateCell] = field(default_factory=list)
    verdict: str = NO_DATA
    clips_worst_first: list[str] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    reference_media: MediaFile | None = None

    def gate(self, name: str) -> GateCell | None:
        return next((g for g in self.gates if g.gate == name), None)


@dataclass
class Extremes(_Json):
    """Best and worst condition on one measure, and the gap between them.

    gap: how much worse the worst condition is, oriented so that a positive value means worse
    (best − worst for higher-is-better measures, worst − best for lower-is-better), with the
    bootstrap interval of that difference.
    """

    measure: str
    best: str
    best_value: float
    worst: str
    worst_value: float
    gap: Interval | None
    worst_is_rare: bool = False


@dataclass
class RankEntry(_Json):
    """Position (1 = best) of a condition, by its mean rank over the ranked measures (lower = better)."""

    position: int
    group: str
    mean_rank: float
    verdict: str


@dataclass
class CrossSummary(_Json):
    """Across conditions: extremes per measure, the ranking, the rarest groups and the rarity notes."""

    extremes: list[Extremes] = field(default_factory=list)
    ranking: list[RankEntry] = field(default_factory=list)
    ranked_measures: list[str] = field(default_factory=list)
    rarest: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extremes_of(self, measure: str) -> Extremes | None:
        return next((e for e in self.extremes if e.measure == measure), None)


@dataclass
class SignOff(_Json):
    """A reviewer's decision on one clip. decision is "accept" or "reject"; timestamp is UTC ISO 8601.

    identity: how the reviewer's name was obtained: SIGNED_IN (the studio's sign-in user, with
    --auth/--auth-file) or TYPED (free text, when sign-in is off, and in the CLI and records made
    before this field existed).
    """

    clip_id: str
    decision: str
    reviewer: str
    comment: str
    timestamp: str
    identity: str = TYPED


@dataclass
class MeasureInfo(_Json):
    """What a measure key means: label, unit and direction (core.metrics.measures HIGHER/LOWER/NEUTRAL)."""

    key: str
    label: str
    unit: str
    direction: str


@dataclass
class Provenance(_Json):
    """How the audit was made: enough to reproduce it and to trust it."""

    created_utc: str = ""
    finished_utc: str = ""
    plan_sha256: str = ""
    tool_version: str = ""
    libraries: dict[str, str] = field(default_factory=dict)
    platform: str = ""
    machine: str = ""
    models: list[dict[str, Any]] = field(default_factory=list)
    adapters: list[dict[str, Any]] = field(default_factory=list)
    seeds: dict[str, list[int]] = field(default_factory=dict)
    gates: dict[str, Any] = field(default_factory=dict)
    flow: str = ""
    extractor: dict[str, str] = field(default_factory=dict)
    clip_model: str | None = None
    statistics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    load_average: list[float] = field(default_factory=list)


@dataclass
class SkippedClip(_Json):
    """A clip that was found but not audited (an existing-clip audit): reason is one sentence saying why."""

    clip_id: str
    path: str
    reason: str


@dataclass
class AuditResult(_Json):
    """A finished audit. `verdict` is FAIL when any condition fails a gate (the CLI then exits 1).

    failing: one line per failed gate, e.g. "dust_storm: tcs 0.81 (needs > 0.85)".
    audit_dir: the folder it is stored in (cards, clips, reports).
    skipped: clips found but not audited, each with its reason (they are in no condition and no gate).
    """

    name: str
    mode: str
    group_by: str
    plan: dict[str, Any]
    provenance: Provenance
    measures: list[MeasureInfo]
    clips: list[ClipRecord]
    conditions: list[ConditionSummary]
    cross: CrossSummary
    verdict: str
    failing: list[str] = field(default_factory=list)
    rejection: Interval | None = None
    signoffs: list[SignOff] = field(default_factory=list)
    audit_dir: str = ""
    format: str = AUDIT_FORMAT
    skipped: list[SkippedClip] = field(default_factory=list)

    def condition(self, group: str) -> ConditionSummary | None:
        return next((c for c in self.conditions if c.group == group), None)

    def clip(self, clip_id: str) -> ClipRecord | None:
        return next((c for c in self.clips if c.clip_id == clip_id), None)

    def measure_info(self, key: str) -> MeasureInfo | None:
        return next((m for m in self.measures if m.key == key), None)

    def latest_signoffs(self) -> dict[str, SignOff]:
        """clip id -> the most recent sign-off (earlier ones stay in `signoffs` as history)."""
        latest: dict[str, SignOff] = {}
        for signoff in self.signoffs:
            latest[signoff.clip_id] = signoff
        return latest

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=False)
