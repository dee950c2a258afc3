"""Auditing existing clips: conditions from manifests or a labels CSV, FVD per condition, resume, reproducibility."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

import core.audit.runner as runner
from core.audit.drilldown import reference_clips
from core.audit.plan import parse_plan
from core.audit.records import NO_DATA, NOT_JUDGED
from core.audit.runner import AuditCancelled, run_audit
from core.audit.store import AuditStore, load_audit
from core.engine import CancelToken
from core.errors import ValidationError
from tests.numbers import assert_same_numbers
from tests.test_audit_fixtures import SYNTH_CONDITIONS, finished_audit, synth_clips, synth_reference  # noqa: F401


def test_conditions_from_manifests_with_reference_distances(finished_audit, synth_clips):  # noqa: F811
    audit = finished_audit
    assert audit.mode == "existing" and [c.group for c in audit.conditions] == SYNTH_CONDITIONS
    assert len(audit.clips) == 9 and all(c.error is None for c in audit.clips)
    for clip in audit.clips:
        assert clip.condition == clip.path.split("/")[-2]
        assert clip.sha256 == hashlib.sha256(open(clip.path, "rb").read()).hexdigest()
        assert clip.card["num_frames"] == 16 and len(clip.frame_diff) == 15
        assert clip.thumbnail and (audit.audit_dir + "/cards/" + clip.thumbnail)
    clear, dust, night = audit.conditions
    assert clear.distances["fvd"].n_reference == 3 and clear.distances["fvd"].n_generated == 3
    assert "not I3D" in clear.distances["fvd"].name and clear.gate("fvd").status == NOT_JUDGED
    assert night.distances == {} and night.gate("fvd").status == NO_DATA
    assert night.gate("clip_score").status == NO_DATA
    assert len(reference_clips(audit, "clear_day")) == 3 and reference_clips(audit, "night") == []
    assert audit.provenance.libraries["numpy"] and audit.provenance.plan_sha256
    assert audit.provenance.extractor["identity"].startswith("r3d-random")
    saved = load_audit(audit.audit_dir)
    assert saved.to_dict() == audit.to_dict()


def test_same_plan_gives_the_same_numbers(finished_audit, synth_clips, synth_reference, tmp_path):  # noqa: F811
    plan = parse_plan({"name": "synth-audit", "clips": str(synth_clips), "reference": str(synth_reference)})
    again = run_audit(plan, tmp_path / "again")
    assert_same_numbers([c.to_dict() for c in again.conditions], [c.to_dict() for c in finished_audit.conditions])
    assert_same_numbers(again.cross.to_dict(), finished_audit.cross.to_dict())
    assert_same_numbers([c.values for c in again.clips], [c.values for c in finished_audit.clips])
    assert [c.sha256 for c in again.clips] == [c.sha256 for c in finished_audit.clips]
    assert again.verdict == finished_audit.verdict and again.failing == finished_audit.failing
    assert again.provenance.plan_sha256 == finished_audit.provenance.plan_sha256


def _flat_copy(synth_clips, folder):
    """Clips without their JSONs, flattened into one folder: only a labels CSV can say their condition."""
    folder.mkdir()
    names = []
    for mp4 in sorted(synth_clips.rglob("*.mp4")):
        shutil.copy(mp4, folder / mp4.name)
        names.append((mp4.name, mp4.parent.name))
    return names


def test_labels_csv_maps_clips_to_conditions(synth_clips, tmp_path):  # noqa: F811
    names = _flat_copy(synth_clips, tmp_path / "flat")
    with pytest.raises(ValidationError, match="no manifest naming its condition"):
        run_audit(parse_plan({"clips": str(tmp_path / "flat")}), tmp_path / "nolabels")
    labels = tmp_path / "labels.csv"
    # Only clear_day and night rows, swapped on purpose: the CSV wins over anything else.
    rows = [(n, "night" if c == "clear_day" else "clear_day") for n, c in names if c != "dust_storm"]
    labels.write_text("clip,condition\n" + "".join(f"{n},{c}\n" for n, c in rows), encoding="utf-8")
    audit = run_audit(parse_plan({"clips": str(tmp_path / "flat"), "labels": str(labels)}), tmp_path / "out", workers=1)
    assert sorted(c.group for c in audit.conditions) == ["clear_day", "night"]
    assert len(audit.clips) == 6
    for clip in audit.clips:
        assert clip.condition == ("night" if clip.clip_id.startswith("clear_day") else "clear_day")


@pytest.mark.parametrize("content, words", [
    ("name,condition\nx.mp4,fog\n", "columns 'clip' and 'condition'"),
    ("clip,condition\n../outside.mp4,fog\n", "outside the allowed folders"),
    ("clip,condition\nmissing.mp4,fog\n", "line 2: clip 'missing.mp4' does not exist"),
    ("clip,condition\nA,moon\n", "unknown conditions 'moon'"),
])
def test_bad_labels_csv(tmp_path, content, words, synth_clips):  # noqa: F811
    folder = tmp_path / "clips"
    folder.mkdir()
    first = next(synth_clips.rglob("*.mp4"))
    shutil.copy(first, folder / "A")
    (tmp_path / "outside.mp4").write_bytes(b"x")
    (tmp_path / "labels.csv").write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError) as error:
        run_audit(parse_plan({"clips": str(folder), "labels": str(tmp_path / "labels.csv")}), tmp_path / "out")
    assert words in str(error.value)


def test_categories_from_labels_and_unreadable_clip_is_recorded(synth_clips, tmp_path):  # noqa: F811
    folder = tmp_path / "clips"
    folder.mkdir()
    mp4s = sorted(synth_clips.rglob("*.mp4"))[:3]
    for mp4 in mp4s:
        shutil.copy(mp4, folder / mp4.name)
    (folder / "broken.mp4").write_bytes(b"not a video")
    rows = [f"{m.name},night_construction" for m in mp4s] + ["broken.mp4,night_construction"]
    (tmp_path / "labels.csv").write_text("clip,category\n" + "\n".join(rows) + "\n", encoding="utf-8")
    plan = parse_plan({"clips": str(folder), "labels": str(tmp_path / "labels.csv"), "categories": "all"})
    audit = run_audit(plan, tmp_path / "out")
    assert audit.group_by == "categories" and [c.group for c in audit.conditions] == ["night_construction"]
    summary = audit.conditions[0]
    assert summary.condition == "night" and summary.n_clips == 3 and summary.n_errors == 1
    broken = audit.clip("broken")
    assert broken.error and "could not be decoded" in broken.error
    assert summary.clips_worst_first[0] == "broken"


def test_cancel_then_resume_does_not_remeasure_finished_clips(synth_clips, tmp_path, monkeypatch):  # noqa: F811
    calls: list[str] = []
    real = runner._measure

    def counting(path, **kwargs):
        calls.append(path.name)
        return real(path, **kwargs)

    monkeypatch.setattr(runner, "_measure", counting)
    plan = parse_plan({"clips": str(synth_clips)})
    token = CancelToken()

    def cancel_after_three(progress):
        if progress.stage == "measured" and progress.done == 3:
            token.cancel()

    with pytest.raises(AuditCancelled, match="run it again to resume"):
        run_audit(plan, tmp_path / "out", on_progress=cancel_after_three, cancel=token, workers=1)
    first = list(calls)
    assert 3 <= len(first) < 9
    saved = sorted(p.stem for p in (tmp_path / "out" / "cards").glob("*.json"))
    assert len(saved) == len(first)
    calls.clear()
    seen = []
    audit = run_audit(plan, tmp_path / "out", on_progress=seen.append, workers=1)
    assert len(calls) == 9 - len(first) and not set(calls) & set(first)
    assert len(audit.clips) == 9 and audit.provenance.timings["clips_resumed"] == len(first)
    assert seen[-1].stage == "done" and seen[-1].done == 9 and seen[-1].resumed == len(first)
    # A record whose clip changed is redone; the others are kept.
    calls.clear()
    changed = audit.clips[0]
    card = AuditStore(tmp_path / "out").record_path(changed.clip_id)
    record = json.loads(card.read_text())
    record["task_key"] = "stale"
    card.write_text(json.dumps(record))
    run_audit(plan, tmp_path / "out", workers=1)
    assert calls == [changed.path.split("/")[-1]]


def test_reference_folder_without_matching_subfolders_is_refused(synth_clips, tmp_path):  # noqa: F811
    (tmp_path / "ref" / "moon").mkdir(parents=True)
    with pytest.raises(ValidationError, match="no subfolder of clips named after an audited condition"):
        run_audit(parse_plan({"clips": str(synth_clips), "reference": str(tmp_path / "ref")}), tmp_path / "out")


def test_clips_that_say_nothing_usable_are_skipped_with_their_reason(synth_clips, tmp_path):  # noqa: F811
    from core.audit.sources import scan_existing_clips

    folder = tmp_path / "clips"
    shutil.copytree(synth_clips, folder)
    no_manifest, bad_json, unknown = sorted((folder / "night").glob("*.mp4"))
    no_manifest.with_suffix(".json").unlink()
    bad_json.with_suffix(".json").write_text("{not json", encoding="utf-8")
    unknown.with_suffix(".json").write_text('{"conditions": "moonlight"}', encoding="utf-8")
    clips, skipped = scan_existing_clips(folder, None)
    assert len(clips) == 6 and {c.condition for c in clips} == {"clear_day", "dust_storm"}
    reasons = {s.clip_id: s.reason for s in skipped}
    assert "no manifest naming its condition" in reasons[f"night__{no_manifest.stem}"]
    assert "is not valid JSON" in reasons[f"night__{bad_json.stem}"]
    assert "moonlight" in reasons[f"night__{unknown.stem}"]
    # The run itself finishes and records them; they are in no condition.
    audit = run_audit(parse_plan({"clips": str(folder)}), tmp_path / "out", workers=1)
    assert [s.clip_id for s in audit.skipped] == sorted(reasons)
    assert [c.group for c in audit.conditions] == ["clear_day", "dust_storm"]
    assert load_audit(audit.audit_dir).skipped == audit.skipped


def test_a_wrong_labels_csv_is_still_refused_whole(synth_clips, tmp_path):  # noqa: F811
    names = _flat_copy(synth_clips, tmp_path / "flat")
    labels = tmp_path / "labels.csv"
    labels.write_text(f"clip,condition\n{names[0][0]},\n{names[1][0]},night\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="'condition' cell of clip .* is empty"):
        run_audit(parse_plan({"clips": str(tmp_path / "flat"), "labels": str(labels)}), tmp_path / "out")
