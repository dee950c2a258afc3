"""Audit record files: one file per clip id, never shared by two ids; records of older audits still read."""

from __future__ import annotations

import json
import shutil

import core.audit.runner as runner
from core.audit.plan import parse_plan
from core.audit.records import ClipRecord
from core.audit.runner import run_audit
from core.audit.store import AuditStore, clip_key, safe_name
from tests.test_audit_fixtures import synth_clips  # noqa: F401

# Ids that safe_name (the old record-file name) mapped to one name: 'a_b'.
COLLIDING = ["a b", "a_b", "a?b", "a/b", "_a_b_"]


def test_ids_that_shared_a_file_name_get_distinct_keys():
    assert len({safe_name(i) for i in COLLIDING}) == 1  # the defect: one file for five ids
    keys = [clip_key(i) for i in COLLIDING + ["A_B", "A b"]]
    assert len({k.lower() for k in keys}) == len(keys)  # distinct even on a case-insensitive file system
    assert all(k == safe_name(k) for k in keys)  # still a plain file name
    assert clip_key("a b") == clip_key("a b")  # stable, so a rerun finds its records
    assert len(clip_key("x" * 500)) < 120


def test_two_colliding_ids_keep_their_own_records(tmp_path):
    store = AuditStore(tmp_path)
    for clip_id in COLLIDING[:2]:
        store.save_record(ClipRecord(clip_id=clip_id, group="night", condition="night", path=f"/{clip_id}.mp4",
                                     task_key=f"key of {clip_id}"))
    assert store.record_path("a b") != store.record_path("a_b")
    assert store.load_record("a b").task_key == "key of a b"
    assert store.load_record("a_b").task_key == "key of a_b"


def test_older_records_are_read_only_when_the_id_inside_matches(tmp_path):
    store = AuditStore(tmp_path)
    store.cards_dir.mkdir()
    legacy = ClipRecord(clip_id="a_b", group="night", condition="night", path="/a_b.mp4", task_key="old")
    (store.cards_dir / "a_b.json").write_text(json.dumps(legacy.to_dict()))  # the pre-key file name
    assert store.load_record("a_b").task_key == "old"
    assert store.load_record("a b") is None  # same old file name, another clip's record


def test_audit_of_two_clips_whose_names_collided_resumes_both(synth_clips, tmp_path, monkeypatch):  # noqa: F811
    folder = tmp_path / "clips"
    folder.mkdir()
    sources = sorted(synth_clips.glob("night/*.mp4"))[:2]
    for source, name in zip(sources, ["a b", "a_b"]):
        shutil.copy(source, folder / f"{name}.mp4")
        shutil.copy(source.with_suffix(".json"), folder / f"{name}.json")
    plan = parse_plan({"clips": str(folder)})
    first = run_audit(plan, tmp_path / "out", workers=1)
    assert sorted(c.clip_id for c in first.clips) == ["a b", "a_b"]
    assert len(list((tmp_path / "out" / "cards").glob("*.json"))) == 2
    calls: list[str] = []
    real = runner._measure
    monkeypatch.setattr(runner, "_measure", lambda path, **kw: calls.append(path.name) or real(path, **kw))
    again = run_audit(plan, tmp_path / "out", workers=1)
    assert calls == []  # with a shared file one clip's record overwrote the other's, and it was measured again
    assert [c.sha256 for c in again.clips] == [c.sha256 for c in first.clips]
