"""The audit plan: what to audit, how, and the per-clip tasks it expands to.

A plan is a YAML or JSON mapping (see docs/AUDIT.md for a commented example):

    name: default-model-all-conditions
    conditions: all                 # or a list of condition ids; or `categories: [...]` instead
    clips_per_condition: 8
    base_seed: 1234                 # every clip seed is derived from it (see `clip_seed`)
    first_frames: samples           # bundled sample frames, or a folder of images, or a list of image paths
    model: embedded-default         # registry id or a pipeline folder
    adapters: [{name: my_lora, scale: 0.8}]
    guidance_scale: 4.0
    num_inference_steps: 25
    reference: path/to/reference    # optional: one folder of real (or procedural) clips per condition id

or, to audit clips that already exist, `clips: DIR` (MP4s with their manifests) and optionally
`labels: CSV` (columns clip,condition). Relative paths are relative to the plan file.
Every refusal is one sentence that names the field and the values it allows.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from core.audit.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, derive_seed
from core.errors import ValidationError
from core.request import AdapterSpec
from core.sample_frames import load_sample_frames

FLOW_CHOICES = ("dis-ultrafast", "dis-fast", "dis-medium", "farneback", "tvl1")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MAX_CLIPS_PER_GROUP = 1000
MAX_SEED = 2**31 - 1  # seeds fit every family's generator and a 32-bit spreadsheet cell


@dataclass
class AuditPlan:
    """One audit, as written in a plan file. Exactly one of `conditions` / `categories` (or `clips`).

    Sizes are pixels, fps frames per second; None leaves the model's default. `clips_per_condition`
    also counts clips per category when grouping by categories.
    """

    name: str = "audit"
    conditions: list[str] | None = None
    categories: list[str] | None = None
    clips_per_condition: int = 8
    base_seed: int = 0
    first_frames: str | list[str] = "samples"
    event: str | None = None
    road: str | None = None
    model: str = "embedded-default"
    adapters: list[AdapterSpec] = field(default_factory=list)
    guidance_scale: float | None = 4.0
    num_inference_steps: int | None = None
    num_frames: int | None = None
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    reference: str | None = None
    clips: str | None = None
    labels: str | None = None
    flow: str = "dis-fast"
    i3d: str | None = None
    clip_model: str | None = None
    gates: str | None = None
    bootstrap_resamples: int = DEFAULT_RESAMPLES
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def mode(self) -> str:
        """"existing" when `clips` names a folder of clips to audit, else "generate"."""
        return "existing" if self.clips else "generate"

    @property
    def group_by(self) -> str:
        """"categories" when the plan lists categories, else "conditions"."""
        return "categories" if self.categories is not None else "conditions"

    @property
    def groups(self) -> list[str]:
        """The condition or category ids audited (empty in existing mode when taken from the clips)."""
        return list(self.categories if self.categories is not None else (self.conditions or []))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["adapters"] = [asdict(a) for a in self.adapters]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def sha256(self) -> str:
        """Hash of the plan's canonical JSON: the same plan, the same hash."""
        import hashlib

        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


def _fail(name: str, allowed: str, value: Any) -> ValidationError:
    return ValidationError(f"plan field '{name}' must be {allowed}, got {value!r}.")


def _int(name: str, value: Any, low: int, high: int, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(name, f"a whole number from {low} to {high}" + (" (or omitted)" if optional else ""), value)
    return value


def _float(name: str, value: Any, low: float, high: float, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise _fail(name, f"a number from {low:g} to {high:g}" + (" (or omitted)" if optional else ""), value)
    return float(value)


def _path(name: str, value: Any, base: Path | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, "a path (text)", value)
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return str(path)


def _ids(name: str, value: Any, known: dict) -> list[str] | None:
    if value is None:
        return None
    if value == "all":
        return list(known)  # catalogue order: the baseline first, as the catalogue file lists them
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(name, "'all' or a non-empty list of ids", value)
    for item in value:
        if item not in known:
            raise ValidationError(f"plan field '{name}' has unknown id '{item}'; allowed: {', '.join(sorted(known))}.")
    if len(set(value)) != len(value):
        raise ValidationError(f"plan field '{name}' lists an id twice: {value}.")
    return list(value)


def parse_plan(data: Any, base_dir: Path | None = None) -> AuditPlan:
    """Validate a plan mapping (as read from YAML/JSON) into an AuditPlan; paths resolved against base_dir."""
    from core.catalogue import default_catalogue

    if not isinstance(data, dict):
        raise ValidationError("an audit plan must be a mapping of field: value (YAML or JSON object).")
    data = dict(data)
    if "clips_per_category" in data:  # the natural spelling for category plans
        data.setdefault("clips_per_condition", data.pop("clips_per_category"))
    allowed = [f.name for f in fields(AuditPlan)]
    for key in data:
        if key not in allowed:
            raise ValidationError(f"unknown plan field '{key}'; allowed fields: {', '.join(allowed)}.")
    catalogue = default_catalogue()
    plan = AuditPlan()
    name = data.get("name", plan.name)
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise _fail("name", "a non-empty text of at most 100 characters", name)
    plan.name = name.strip()
    plan.conditions = _ids("conditions", data.get("conditions"), catalogue.conditions)
    plan.categories = _ids("categories", data.get("categories"), catalogue.categories)
    if plan.conditions is not None and plan.categories is not None:
        raise ValidationError("plan fields 'conditions' and 'categories' exclude each other; give one of them.")
    plan.clips = _path("clips", data.get("clips"), base_dir)
    plan.labels = _path("labels", data.get("labels"), base_dir)
    if plan.labels and not plan.clips:
        raise ValidationError("plan field 'labels' needs 'clips' (the folder the CSV's clip names are in).")
    if plan.clips is None and plan.conditions is None and plan.categories is None:
        raise ValidationError("plan needs 'conditions' or 'categories' (ids or 'all'), or 'clips' to audit existing clips.")
    plan.clips_per_condition = _int("clips_per_condition", data.get("clips_per_condition", 8), 1, MAX_CLIPS_PER_GROUP)
    plan.base_seed = _int("base_seed", data.get("base_seed", 0), 0, 2**63 - 1)
    frames = data.get("first_frames", "samples")
    if isinstance(frames, list):
        if not frames or not all(isinstance(f, str) for f in frames):
            raise _fail("first_frames", "'samples', a folder of images, or a non-empty list of image paths", frames)
        plan.first_frames = [_path("first_frames", f, base_dir) for f in frames]
    elif frames == "samples":
        plan.first_frames = "samples"
    else:
        plan.first_frames = _path("first_frames", frames, base_dir)
    for key, table in (("event", catalogue.events), ("road", catalogue.roads)):
        value = data.get(key)
        if value is not None and value not in table:
            raise ValidationError(f"plan field '{key}' has unknown id {value!r}; allowed: {', '.join(sorted(table))}.")
        setattr(plan, key, value)
    model = data.get("model", plan.model)
    if not isinstance(model, str) or not model.strip():
        raise _fail("model", "a registry id or a pipeline folder", model)
    plan.model = model if not (base_dir and (base_dir / model).is_dir()) else str(base_dir / model)
    adapters = data.get("adapters") or []
    if not isinstance(adapters, list):
        raise _fail("adapters", "a list of {name, scale} or 'NAME:SCALE' entries", adapters)
    plan.adapters = []
    for item in adapters:
        if isinstance(item, str):
            plan.adapters.append(AdapterSpec.parse(item))
        elif isinstance(item, dict) and isinstance(item.get("name"), str) and set(item) <= {"name", "scale"}:
            plan.adapters.append(AdapterSpec(item["name"], _float("adapters.scale", item.get("scale", 1.0), -10, 10)))
        else:
            raise _fail("adapters", "a list of {name, scale} or 'NAME:SCALE' entries", item)
    plan.guidance_scale = _float("guidance_scale", data.get("guidance_scale", 4.0), 0.0, 50.0, optional=True)
    plan.num_inference_steps = _int("num_inference_steps", data.get("num_inference_steps"), 1, 1000, optional=True)
    plan.num_frames = _int("num_frames", data.get("num_frames"), 3, 1000, optional=True)
    plan.width = _int("width", data.get("width"), 16, 8192, optional=True)
    plan.height = _int("height", data.get("height"), 16, 8192, optional=True)
    plan.fps = _int("fps", data.get("fps"), 1, 240, optional=True)
    plan.reference = _path("reference", data.get("reference"), base_dir)
    flow = data.get("flow", plan.flow)
    if flow not in FLOW_CHOICES:
        raise _fail("flow", f"one of {', '.join(FLOW_CHOICES)}", flow)
    plan.flow = flow
    plan.i3d = _path("i3d", data.get("i3d"), base_dir)
    plan.clip_model = _path("clip_model", data.get("clip_model"), base_dir)
    plan.gates = _path("gates", data.get("gates"), base_dir)
    plan.bootstrap_resamples = _int("bootstrap_resamples", data.get("bootstrap_resamples", DEFAULT_RESAMPLES), 100, 100_000)
    plan.confidence = _float("confidence", data.get("confidence", DEFAULT_CONFIDENCE), 0.5, 0.999)
    return plan


def load_plan(path: str | Path) -> AuditPlan:
    """Read and validate a plan file (.yaml, .yml or .json)."""
    import yaml

    path = Path(path).expanduser()
    if not path.is_file():
        raise ValidationError(f"plan file '{path}' does not exist.")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError):
        raise ValidationError(f"plan file '{path}' is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}.") from None
    return parse_plan(data, path.resolve().parent)


def plan_from_dict(data: dict[str, Any]) -> AuditPlan:
    """Rebuild a plan from `AuditPlan.to_dict()` output (as stored in an audit), validating it again."""
    return parse_plan(data)


@dataclass
class ClipTask:
    """One clip to generate and measure.

    clip_id: file stem, `<group>_<index:03d>_s<seed>`; group: the condition or category id audited;
    condition/event/road: the scenario slots (catalogue ids); image: first-frame path; prompt: the
    rendered template; seed: the generation seed, derived from the plan's base seed.
    """

    clip_id: str
    group: str
    condition: str
    event: str
    road: str
    index: int
    seed: int
    image: str
    prompt: str
    category: str | None = None


def clip_seed(base_seed: int, group: str, index: int) -> int:
    """Seed of clip `index` of `group`: a digest of (base seed, group, index), below 2³¹."""
    return derive_seed("audit-clip", base_seed, group, index) % (MAX_SEED + 1)


def _user_frames(plan: AuditPlan) -> list[str]:
    if isinstance(plan.first_frames, list):
        paths = list(plan.first_frames)
    else:
        folder = Path(plan.first_frames)
        if not folder.is_dir():
            raise ValidationError(f"plan field 'first_frames' must be 'samples', a folder of images or a list of "
                                  f"image paths; '{folder}' is not a folder.")
        paths = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise ValidationError(f"first-frames folder '{folder}' holds no images ({', '.join(IMAGE_SUFFIXES)}).")
    for path in paths:
        if not Path(path).is_file():
            raise ValidationError(f"first frame '{path}' does not exist.")
    return paths


def plan_tasks(plan: AuditPlan) -> list[ClipTask]:
    """Expand a generate-mode plan into its clips, group by group, index by index (deterministic).

    First frames: with `samples`, each clip of a condition starts from a bundled sample frame that is
    either clear day (what designers usually upload) or already in that condition, rotating through
    them; a category prefers samples of its own road. User frames are used in rotation.
    """
    from core.catalogue import ScenarioSlots, default_catalogue

    if plan.mode != "generate":
        raise ValidationError("plan_tasks needs a generate-mode plan (one without 'clips').")
    catalogue = default_catalogue()
    samples = load_sample_frames() if plan.first_frames == "samples" else None
    user = None if samples is not None else _user_frames(plan)
    tasks = []
    for group in plan.groups:
        category = catalogue.category(group) if plan.group_by == "categories" else None
        condition = category.conditions if category else group
        if samples is not None:
            candidates = [s for s in samples if s.conditions in ("clear_day", condition)]
            if category is not None:
                candidates = [s for s in candidates if s.road == category.road] or candidates
        offset = derive_seed("audit-first-frame", plan.base_seed, group)
        for index in range(plan.clips_per_condition):
            seed = clip_seed(plan.base_seed, group, index)
            if samples is not None:
                sample = candidates[(offset + index) % len(candidates)]
                image, event, road = str(sample.path), sample.event, sample.road
            else:
                image, event, road = user[(offset + index) % len(user)], "normal_traffic", "four_lane_interstate"
            if category is not None:
                event, road = category.event, category.road
            else:
                event, road = plan.event or event, plan.road or road
            prompt = catalogue.render(ScenarioSlots(event, condition, road))
            tasks.append(ClipTask(clip_id=f"{group}_{index:03d}_s{seed}", group=group, condition=condition,
                                  event=event, road=road, index=index, seed=seed, image=image, prompt=prompt,
                                  category=category.id if category else None))
    return tasks
