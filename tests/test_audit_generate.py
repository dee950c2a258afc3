"""Generate-and-audit on the tiny LTX pipeline (2 steps, 64×64): pipelining, provenance, resume, manifests."""

from __future__ import annotations

import threading

import pytest

import core.audit.runner as runner
from core.audit.drilldown import clip_request
from core.audit.plan import parse_plan
from core.audit.runner import AuditCancelled, run_audit
from core.audit.store import AuditStore
from core.engine import CancelToken, Engine
from tests.numbers import assert_same_numbers

GEN = dict(num_inference_steps=2, num_frames=17, width=64, height=64, fps=8, base_seed=3)


def _plan(folder, **extra):
    return parse_plan({"name": "tiny", "conditions": ["clear_day", "dust_storm"], "clips_per_condition": 2,
                       "model": str(folder), **GEN, **extra})


@pytest.fixture
def counters(monkeypatch):
    """Counts generations and metric computations, and records which thread measured."""
    seen = {"generate": [], "measure": [], "threads": set()}
    real_generate, real_measure = Engine.generate, runner._measure

    def generate(self, request, *args, **kwargs):
        seen["generate"].append(request.seed)
        return real_generate(self, request, *args, **kwargs)

    def measure(path, **kwargs):
        seen["measure"].append(path.name)
        seen["threads"].add(threading.current_thread().name)
        return real_measure(path, **kwargs)

    monkeypatch.setattr(Engine, "generate", generate)
    monkeypatch.setattr(runner, "_measure", measure)
    return seen


def test_generate_and_audit_records_everything(tiny_model, tmp_path, counters):
    folder = tiny_model("ltx_i2v")
    progress = []
    audit = run_audit(_plan(folder), tmp_path / "audit", on_progress=progress.append)
    assert [c.group for c in audit.conditions] == ["clear_day", "dust_storm"] and len(audit.clips) == 4
    # Metrics ran on the worker thread, not the generating one.
    assert counters["threads"] and all(name.startswith("audit-metrics") for name in counters["threads"])
    for clip in audit.clips:
        assert clip.error is None and clip.num_frames == 17 and (clip.width, clip.height) == (64, 64)
        assert clip.manifest and clip.path.endswith(f"{clip.clip_id}.mp4")
        assert clip.weights_sha256 and len(clip.sha256) == 64
        assert clip.values["first_frame_psnr"] is not None  # the first frame is known in generate mode
        assert clip.prompt and ("dust storm" in clip.prompt) == (clip.group == "dust_storm")
        request = clip_request(clip)  # what the Present page's "reproduce" panel shows
        assert request["seed"] == clip.seed and request["guidance_scale"] == 4.0 and request["model"] == str(folder)
    provenance = audit.provenance
    assert provenance.models == [{"id": str(folder.resolve()), "weights_sha256": audit.clips[0].weights_sha256, "clips": 4}]
    assert provenance.seeds == {g: [c.seed for c in audit.clips if c.group == g] for g in ("clear_day", "dust_storm")}
    assert provenance.libraries["torch"] and provenance.libraries["diffusers"]
    assert audit.plan["model"] == str(folder) and audit.plan["num_inference_steps"] == 2
    stages = {p.stage for p in progress}
    assert {"generating", "measured", "done"} <= stages
    assert progress[-1].done == progress[-1].total == 4
    assert any(p.eta_s is not None for p in progress if p.stage == "measured")


def test_cancel_mid_audit_then_resume_redoes_nothing(tiny_model, tmp_path, counters):
    folder = tiny_model("ltx_i2v")
    token = CancelToken()

    def cancel_when_first_measured(progress):
        if progress.stage == "measured":
            token.cancel()

    with pytest.raises(AuditCancelled):
        run_audit(_plan(folder), tmp_path / "audit", on_progress=cancel_when_first_measured, cancel=token)
    measured = list(counters["measure"])
    finished = sorted(p.stem for p in (tmp_path / "audit" / "clips").glob("*.json"))  # manifests of finished MP4s
    assert 1 <= len(measured) < 4 and len(measured) <= len(finished) < 4
    counters["generate"].clear()
    counters["measure"].clear()
    audit = run_audit(_plan(folder), tmp_path / "audit")
    assert len(audit.clips) == 4
    assert not set(counters["measure"]) & set(measured) and len(counters["measure"]) == 4 - len(measured)
    # Clips whose MP4 was finished before the cancel are not generated again.
    assert len(counters["generate"]) == 4 - len(finished)
    # A clip whose card is lost but whose MP4 is finished is measured again without generating.
    counters["generate"].clear()
    counters["measure"].clear()
    AuditStore(tmp_path / "audit").record_path(audit.clips[0].clip_id).unlink()
    again = run_audit(_plan(folder), tmp_path / "audit")
    assert counters["generate"] == [] and counters["measure"] == [f"{audit.clips[0].clip_id}.mp4"]
    assert_same_numbers(again.clips[0].values, audit.clips[0].values)


def test_changed_settings_regenerate_and_same_plan_reproduces(tiny_model, tmp_path, counters):
    folder = tiny_model("ltx_i2v")
    first = run_audit(_plan(folder, clips_per_condition=1), tmp_path / "a")
    second = run_audit(_plan(folder, clips_per_condition=1), tmp_path / "b")
    assert [c.seed for c in first.clips] == [c.seed for c in second.clips]
    for a, b in zip(first.clips, second.clips):
        assert_same_numbers(a.values, b.values)
    counters["generate"].clear()
    run_audit(_plan(folder, clips_per_condition=1, guidance_scale=2.0), tmp_path / "a")
    assert len(counters["generate"]) == 2  # a new guidance scale makes new clips


def test_audit_existing_reads_conditions_from_engine_manifests(tiny_model, tmp_path):
    folder = tiny_model("ltx_i2v")
    generated = run_audit(_plan(folder, clips_per_condition=1), tmp_path / "gen")
    existing = run_audit(parse_plan({"name": "again", "clips": str(tmp_path / "gen" / "clips")}), tmp_path / "existing")
    assert existing.mode == "existing"
    assert sorted(c.group for c in existing.conditions) == ["clear_day", "dust_storm"]
    by_id = {c.clip_id: c for c in existing.clips}
    for clip in generated.clips:
        twin = by_id[clip.clip_id]
        assert (twin.condition, twin.event, twin.road, twin.seed) == (clip.condition, clip.event, clip.road, clip.seed)
        assert twin.weights_sha256 == clip.weights_sha256 and twin.sha256 == clip.sha256
        assert twin.values["first_frame_psnr"] == pytest.approx(clip.values["first_frame_psnr"], rel=1e-6)
        assert twin.values["tcs"] == pytest.approx(clip.values["tcs"], rel=1e-6)
