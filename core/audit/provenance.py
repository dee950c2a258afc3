"""What an audit records about how it was made: versions, platform, models, seeds, settings, timings."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from core.audit.plan import AuditPlan
from core.audit.records import ClipRecord, Provenance

EXTRA_LIBRARIES = ("plotly", "pandas", "scipy", "imageio-ffmpeg", "pyyaml")


def library_versions() -> dict[str, str]:
    """The engine's library list (python, torch, diffusers, opencv, ...) plus what the audit uses."""
    from core.engine import library_versions as engine_versions

    return engine_versions(extra=EXTRA_LIBRARIES)


def build_provenance(plan: AuditPlan, records: list[ClipRecord], *, created: str, gates: Any, flow_label: str,
                     extractor: Any, clip_model: Any, total_s: float, generate_s: float, measure_s: float,
                     measured: int, resumed: int) -> Provenance:
    """Provenance of a finished audit; times in seconds, `created` an ISO 8601 UTC time."""
    libraries = library_versions()
    models: dict[tuple, dict[str, Any]] = {}
    for record in records:
        models.setdefault((record.model_id, record.weights_sha256),
                          {"id": record.model_id, "weights_sha256": record.weights_sha256, "clips": 0})["clips"] += 1
    seeds: dict[str, list[int]] = {}
    for record in records:
        if record.seed is not None:
            seeds.setdefault(record.group, []).append(int(record.seed))
    adapters = [asdict(a) for a in plan.adapters] or next((r.adapters for r in records if r.adapters), [])
    return Provenance(
        created_utc=created, finished_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        plan_sha256=plan.sha256(), tool_version=libraries.get("scenario-studio", ""), libraries=libraries,
        platform=platform.platform(), machine=f"{platform.machine()}, {os.cpu_count()} cores",
        models=list(models.values()), adapters=adapters, seeds=seeds, gates=asdict(gates), flow=flow_label,
        extractor={"name": extractor.name, "identity": extractor.identity} if extractor else {},
        clip_model=getattr(clip_model, "source", None),
        statistics={"mean_interval": "percentile bootstrap", "resamples": plan.bootstrap_resamples,
                    "confidence": plan.confidence, "share_interval": "Wilson score",
                    "seeds": "derived from base_seed, condition and measure (BLAKE2b)"},
        timings={"total_s": round(total_s, 3), "generate_s": round(generate_s, 3), "measure_s": round(measure_s, 3),
                 "clips_measured": measured, "clips_resumed": resumed},
        load_average=[round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else [])
