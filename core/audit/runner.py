"""Running an audit: generate (or find) the clips, measure them in a pipeline, resume, summarise.

Pipeline: the calling thread generates clip k+1 while a worker thread measures clip k (the engine's
torch ops and the metrics' OpenCV calls release the GIL, so the two overlap on two cores). In
audit-existing mode there is no generation and `workers` threads (default: up to 2) measure clips
side by side. Each worker decodes its own clip, so at most `workers` clips sit in memory.

Resumption: a clip's record (cards/<clip id>.json) is written atomically when its metrics finish.
A rerun of the same plan into the same folder reuses every record whose task key matches (same clip
settings, same MP4 bytes for existing clips, same metric settings), and reuses a generated MP4 whose
manifest matches the request, so finished work is never redone.

Progress reports (`AuditProgress`) are made from the calling thread; `cancel` (core.engine.CancelToken)
stops generation within one denoising step and stops starting new clips; clips being measured finish
and are saved, then `AuditCancelled` is raised.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from core.audit import aggregate
from core.audit.distances import distances as feature_distances
from core.audit.measure import MEASURES, measure_clip
from core.audit.media import bring, bring_reference, media_path
from core.audit.plan import AuditPlan, plan_tasks
from core.audit.provenance import build_provenance
from core.audit.records import AuditResult, ClipIdentity, ClipRecord, MeasureInfo, SkippedClip, identity_fields
from core.audit.sources import existing_clips, read_manifest, reference_folder, scan_existing_clips
from core.audit.store import AuditStore, clip_key, default_audits_dir, safe_name, save_audit
from core.errors import GenerationCancelled, ValidationError
from core.metrics.gates import fvd_judged

RECORD_VERSION = "audit-record/1"  # bump when ClipRecord's contents change meaning: old records are redone


class AuditCancelled(GenerationCancelled):
    """The audit was cancelled; finished clips are saved and a rerun resumes from them."""


@dataclass(frozen=True)
class AuditProgress:
    """One progress report.

    done/total: clips finished (measured or resumed) of all clips; resumed: how many of `done` came from
    an earlier run; condition and clip_id: what is being worked on; stage: "generating", "measured",
    "resumed", "distances" or "done"; step/steps: the denoising step while generating;
    elapsed_s: seconds since start; eta_s: estimated seconds left (None until a clip was measured).
    """

    done: int
    total: int
    condition: str
    clip_id: str
    stage: str
    elapsed_s: float
    eta_s: float | None
    resumed: int = 0
    step: int = 0
    steps: int = 0

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True, kw_only=True)
class _Unit(ClipIdentity):
    """One clip of the run, before measuring: its identity, task key and how to make/find its MP4."""

    key: str
    path: Path
    request: Any = None  # a GenerationRequest in generate mode
    condition_change: bool = False  # the first frame shows another condition than the one requested


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def parse_flow(label: str) -> Any:
    """FlowConfig from a plan's flow label ("dis-fast", "farneback", ...)."""
    from core.metrics.flow import FlowConfig

    method, _, preset = label.partition("-")
    return FlowConfig(method, preset) if preset else FlowConfig(method)


class _Run:
    """State of one run_audit call (kept off the public API)."""

    def __init__(self, plan: AuditPlan, store: AuditStore, engine: Any, extractor: Any, clip_model: Any,
                 on_progress: Callable[[AuditProgress], None] | None, cancel: Any, workers: int | None) -> None:
        from core.metrics.gates import load_gates

        self.plan, self.store, self.engine, self.cancel = plan, store, engine, cancel
        self.on_progress = on_progress
        self.gates = load_gates(plan.gates)
        self.flow = parse_flow(plan.flow)
        self.clip_model = clip_model
        if self.clip_model is None and plan.clip_model:
            from core.metrics.clip_score import load_clip

            self.clip_model = load_clip(plan.clip_model)
        self.extractor = extractor
        self.workers = workers
        self.started = time.perf_counter()
        self.done = self.resumed = self.measured_now = 0
        self.total = 0
        self.seconds = {"generate": 0.0, "measure": 0.0}
        self.skipped: list[SkippedClip] = []  # existing clips that say nothing usable about themselves

    # -- progress --------------------------------------------------------------------------------
    def report(self, unit: _Unit, stage: str, step: int = 0, steps: int = 0) -> None:
        if self.on_progress is None:
            return
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.measured_now * (self.total - self.done) if self.measured_now else None
        self.on_progress(AuditProgress(done=self.done, total=self.total, condition=unit.group, clip_id=unit.clip_id,
                                       stage=stage, elapsed_s=round(elapsed, 3), eta_s=None if eta is None else round(eta, 1),
                                       resumed=self.resumed, step=step, steps=steps))

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise AuditCancelled(f"audit cancelled after {self.done} of {self.total} clips; run it again to resume.")

    # -- units -----------------------------------------------------------------------------------
    def settings_key(self, with_features: bool) -> dict[str, Any]:
        return {"version": RECORD_VERSION, "flow": self.flow.label, "gates": asdict(self.gates),
                "features": self.extractor.identity if with_features and self.extractor else None,
                "clip_model": getattr(self.clip_model, "source", None)}

    def units(self, references: dict[str, Path | None]) -> list[_Unit]:
        from core.audit.measure import file_sha256
        from core.sample_frames import sample_conditions_by_path

        plan, units = self.plan, []
        shown_by_path = sample_conditions_by_path()  # read once, not per clip
        if plan.mode == "generate":
            from core.catalogue import ScenarioSlots
            from core.request import GenerationRequest

            for task in plan_tasks(plan):
                request = GenerationRequest(
                    image=task.image, scenario=task.category,
                    slots=None if task.category else ScenarioSlots(task.event, task.condition, task.road),
                    guidance_scale=plan.guidance_scale, num_inference_steps=plan.num_inference_steps,
                    num_frames=plan.num_frames, fps=plan.fps, seed=task.seed, width=plan.width, height=plan.height,
                    model=plan.model, adapters=list(plan.adapters))
                key = _digest({"task": asdict(task), "request": request.to_json(),
                               "settings": self.settings_key(references.get(task.group) is not None)})
                units.append(_Unit(**identity_fields(task), key=key, path=self.store.clips_dir / f"{task.clip_id}.mp4",
                                   request=request,
                                   condition_change=_condition_change(task.image, task.condition, shown_by_path)))
        else:
            clips, self.skipped = scan_existing_clips(plan.clips, plan.labels, plan.group_by, plan.groups or None)
            for clip in clips:
                key = _digest({"sha256": file_sha256(clip.path), "group": clip.group, "condition": clip.condition,
                               "settings": self.settings_key(references.get(clip.group) is not None)})
                image = clip.image if clip.image and Path(clip.image).is_file() else None
                units.append(_Unit(**{**identity_fields(clip), "image": image}, key=key, path=clip.path,
                                   condition_change=_condition_change(image, clip.condition, shown_by_path)))
        return units

    def reusable(self, unit: _Unit) -> ClipRecord | None:
        record = self.store.load_record(unit.clip_id)
        if record is None or record.task_key != unit.key:
            return None
        if record.has_features and not self.store.features_path(unit.clip_id).is_file():
            return None
        return record

    # -- generation and measuring ----------------------------------------------------------------
    def generate(self, unit: _Unit) -> None:
        """Make the unit's MP4 unless a finished one with a matching manifest is already there."""
        manifest = unit.path.with_suffix(".json")
        if unit.path.is_file() and manifest.is_file():
            try:
                if json.loads(manifest.read_text(encoding="utf-8")).get("request") == unit.request.to_json():
                    return
            except (OSError, ValueError):
                pass  # unreadable manifest: generate again
        from core.engine import Engine

        if self.engine is None:
            self.engine = Engine(output_dir=self.store.clips_dir)
        start = time.perf_counter()
        try:
            self.engine.generate(unit.request, on_progress=lambda p: self.report(unit, "generating", p.step, p.total),
                                 cancel=self.cancel, out_path=unit.path)
        except GenerationCancelled:
            raise AuditCancelled(f"audit cancelled after {self.done} of {self.total} clips; run it again to resume.") from None
        self.seconds["generate"] += time.perf_counter() - start

    def measure(self, unit: _Unit, with_features: bool) -> ClipRecord:
        """Worker: measure one MP4 and save its record (and features, thumbnail) atomically."""
        import numpy as np

        from core.audit.measure import file_sha256

        info = read_manifest(unit.path)
        record = ClipRecord.of(unit, path=str(unit.path), sha256=file_sha256(unit.path),
                               manifest=str(info["manifest"]) if info.get("manifest") else None,
                               seed=unit.seed if unit.seed is not None else info.get("seed"),
                               prompt=unit.prompt or info.get("prompt"),
                               model_id=info.get("model_id"), weights_sha256=info.get("weights_sha256"),
                               adapters=list(info.get("adapters") or []), labels_source=info.get("labels_source"),
                               task_key=unit.key)
        start = time.perf_counter()
        try:
            measured = _measure(unit.path, flow=self.flow, gates=self.gates,
                                extractor=self.extractor if with_features else None, image=unit.image,
                                prompt=record.prompt, clip_model=self.clip_model,
                                condition_change=unit.condition_change)
        except ValidationError as exc:
            record.error = str(exc)
        else:
            for name in ("card", "values", "passed", "fired", "flags", "frame_diff", "num_frames", "fps", "width", "height"):
                setattr(record, name, getattr(measured, name))
            if measured.features is not None:
                from core.metrics.features import save_features

                save_features(self.store.features_path(unit.clip_id), np.asarray(measured.features)[None],
                              self.extractor, [unit.clip_id])
                record.has_features = True
            if measured.thumbnail_png:
                record.thumbnail = self.store.save_thumbnail(unit.clip_id, measured.thumbnail_png)
            record.seconds = dict(measured.seconds)
        record.seconds["measure"] = round(time.perf_counter() - start, 4)
        record.media = self.bring(unit, record)
        self.store.save_record(record)
        return record

    def bring(self, unit: _Unit, record: ClipRecord) -> Any:
        """The clip's playable file inside the audit folder (core.audit.media), or None."""
        return bring(self.store, clip_key(unit.clip_id), unit.path, record.sha256)

    def ensure_media(self, unit: _Unit, record: ClipRecord) -> ClipRecord:
        """A resumed record gets its media file back (or for the first time, from an older audit)."""
        if media_path(self.store.root, record.media) is None:
            record.media = self.bring(unit, record)
            self.store.save_record(record)
        return record


def _condition_change(image: str | None, condition: str, shown_by_path: dict[Path, str] | None = None) -> bool:
    """True when the first frame is a bundled sample frame of another condition than the requested one."""
    from core.sample_frames import asks_condition_change, sample_frame_condition

    return asks_condition_change(sample_frame_condition(image, shown_by_path), condition)


def _measure(path: Path, **kwargs: Any) -> Any:
    """Indirection so tests can count metric computations (monkeypatch core.audit.runner._measure)."""
    return measure_clip(path, **kwargs)


def run_audit(plan: AuditPlan, out_dir: str | Path | None = None, *, engine: Any = None, extractor: Any = None,
              clip_model: Any = None, on_progress: Callable[[AuditProgress], None] | None = None,
              cancel: Any = None, workers: int | None = None) -> AuditResult:
    """Run (or resume) an audit and save it; returns the AuditResult (also in <out_dir>/audit.json).

    Args:
        plan: a validated AuditPlan (core.audit.plan.load_plan / parse_plan).
        out_dir: the audit folder; default <data dir>/audits/<plan name>. Rerunning into the same folder resumes.
        engine: a core.engine.Engine to generate with (the web app passes its shared one); made when None.
        extractor: FVD feature extractor (core.metrics.features); default the plan's I3D file, else the
            fixed-seed random 3D CNN. Only used for conditions with reference clips.
        clip_model: a loaded CLIP (core.metrics.clip_score.load_clip) to score prompts; default from the plan.
        on_progress: called from this thread with AuditProgress; cancel: core.engine.CancelToken.
        workers: metric worker threads (default 1 when generating, up to 2 for existing clips).
    Raises ValidationError on a bad plan or input, AuditCancelled when cancelled.
    """
    store = AuditStore(Path(out_dir) if out_dir else default_audits_dir() / safe_name(plan.name))
    store.cards_dir.mkdir(parents=True, exist_ok=True)
    from core.atomic import write_json_atomic

    write_json_atomic(store.plan_path, plan.to_dict())
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    run = _Run(plan, store, engine, extractor, clip_model, on_progress, cancel, workers)
    references = _references(plan, run)
    units = run.units(references)
    run.total = len(units)
    records = _pipeline(run, units, references)
    start = time.perf_counter()
    audit = _summarise(run, units, records, references, created)
    audit.provenance.timings["distances_and_summary"] = round(time.perf_counter() - start, 3)
    save_audit(audit)
    if run.on_progress is not None and units:
        run.report(units[-1], "done")
    return audit


def _references(plan: AuditPlan, run: _Run) -> dict[str, Path | None]:
    """group -> reference folder (None when it has none); loads the extractor when any group has one."""
    if not plan.reference:
        return {}
    if not Path(plan.reference).is_dir():
        raise ValidationError(f"reference folder '{plan.reference}' does not exist.")
    groups = plan.groups
    if plan.mode == "existing" and not groups:
        groups = sorted({c.group for c in existing_clips(plan.clips, plan.labels, plan.group_by)})
    conditions = {g: aggregate.group_label(g, plan.group_by)[1] or g for g in groups}
    references = {g: reference_folder(plan.reference, g, conditions[g]) for g in groups}
    if not any(references.values()):
        raise ValidationError(f"reference folder '{plan.reference}' has no subfolder of clips named after an audited "
                              f"condition (expected e.g. '{Path(plan.reference) / groups[0]}/').")
    if run.extractor is None:
        from core.metrics.features import load_i3d, random_r3d

        run.extractor = load_i3d(plan.i3d) if plan.i3d else random_r3d()
    return references


def _pipeline(run: _Run, units: list[_Unit], references: dict[str, Path | None]) -> dict[str, ClipRecord]:
    generating = run.plan.mode == "generate"
    workers = run.workers or (1 if generating else max(1, min(2, os.cpu_count() or 1)))
    records: dict[str, ClipRecord] = {}
    pending: dict[Future, _Unit] = {}

    def harvest(block: bool) -> None:
        if not pending:
            return
        finished, _ = wait(list(pending), timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in finished:
            unit = pending.pop(future)
            record = future.result()  # a bug in measuring surfaces here, in the caller's thread
            records[unit.clip_id] = record
            run.done += 1
            run.measured_now += 1
            run.seconds["measure"] += record.seconds.get("measure", 0.0)
            run.report(unit, "measured")

    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit-metrics")
    try:
        for unit in units:
            reused = run.reusable(unit)
            if reused is not None:
                records[unit.clip_id] = run.ensure_media(unit, reused)
                run.done += 1
                run.resumed += 1
                run.report(unit, "resumed")
                continue
            run.check_cancel()
            if generating:
                harvest(block=False)
                run.generate(unit)
                while len(pending) >= 2 * workers:  # metrics slower than generation: do not pile up
                    harvest(block=True)
            pending[executor.submit(run.measure, unit, references.get(unit.group) is not None)] = unit
        while pending:
            if run.cancel is not None and run.cancel.cancelled:
                for future in [f for f in pending if f.cancel()]:
                    pending.pop(future)
            harvest(block=False)
            if pending:
                wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
        if len(records) < len(units):
            run.check_cancel()
    except BaseException:
        # Let running measurements finish (they save their records), drop queued ones, then re-raise.
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return records


def _summarise(run: _Run, units: list[_Unit], records: dict[str, ClipRecord], references: dict[str, Path | None],
               created: str) -> AuditResult:
    import numpy as np

    from core.metrics.features import load_features, reference_features

    plan = run.plan
    ordered = [records[u.clip_id] for u in units]
    groups = list(dict.fromkeys(plan.groups if plan.mode == "generate" else aggregate.catalogue_order(
        [u.group for u in units], plan.group_by)))
    judged = fvd_judged(run.extractor, run.gates)
    summaries = []
    for group in groups:
        group_records = [r for r in ordered if r.group == group]
        folder = references.get(group)
        group_distances = {}
        generated = [load_features(run.store.features_path(r.clip_id))[0] for r in group_records
                     if r.has_features and r.error is None]
        if folder is not None and len(generated) >= 2:
            reference = reference_features(folder, run.extractor, run.store.features_dir)
            if len(reference) >= 2:
                group_distances = feature_distances(reference, np.concatenate(generated), run.extractor)
        summaries.append(aggregate.summarise_group(
            group, plan.group_by, group_records, base_seed=plan.base_seed, resamples=plan.bootstrap_resamples,
            confidence=plan.confidence, gates=run.gates, fvd_judged=judged, distances=group_distances,
            reference=str(folder) if folder else None))
        summaries[-1].reference_media = bring_reference(run.store, group, folder)
    cross = aggregate.cross_summary(summaries, ordered, base_seed=plan.base_seed, resamples=plan.bootstrap_resamples,
                                    confidence=plan.confidence)
    verdict, failing, rejection = aggregate.overall(summaries, ordered, plan.confidence)
    provenance = build_provenance(
        plan, ordered, created=created, gates=run.gates, flow_label=run.flow.label, extractor=run.extractor,
        clip_model=run.clip_model, total_s=time.perf_counter() - run.started, generate_s=run.seconds["generate"],
        measure_s=run.seconds["measure"], measured=run.measured_now, resumed=run.resumed)
    return AuditResult(name=plan.name, mode=plan.mode, group_by=plan.group_by, plan=plan.to_dict(),
                       provenance=provenance, measures=[MeasureInfo(m.key, m.label, m.unit, m.direction) for m in MEASURES],
                       clips=ordered, conditions=summaries, cross=cross, verdict=verdict, failing=failing,
                       rejection=rejection, signoffs=run.store.load_signoffs(), audit_dir=str(run.store.root),
                       skipped=run.skipped)


__all__ = ["AuditCancelled", "AuditProgress", "parse_flow", "run_audit"]
