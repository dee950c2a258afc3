"""Audits carry each clip's labels_source from its manifest, and the exports mark user-asserted labels."""

from __future__ import annotations

import copy
import csv
import io
import json

from core.audit.export import clips_csv
from core.audit.report import WORST_CLIPS_SHOWN, render_report
from core.audit.sources import read_manifest
from tests.test_audit_fixtures import finished_audit, synth_clips, synth_reference  # noqa: F401


def test_read_manifest_takes_labels_source_from_the_provenance(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    manifest = {"request": {"scenario": "night_construction"},
                "result": {"provenance": {"slots": {"event": "construction_zone", "conditions": "night",
                                                   "road": "four_lane_interstate"},
                                          "labels_source": "user_asserted"}}}
    clip.with_suffix(".json").write_text(json.dumps(manifest), encoding="utf-8")
    assert read_manifest(clip)["labels_source"] == "user_asserted"


def test_csv_and_report_show_user_asserted_labels(finished_audit, tmp_path):  # noqa: F811
    audit = copy.deepcopy(finished_audit)
    marked = audit.clip(audit.conditions[0].clips_worst_first[0])  # shown among the worst clips
    marked.labels_source = "user_asserted"
    rows = {row["clip_id"]: row for row in csv.DictReader(io.StringIO(clips_csv(audit)))}
    assert rows[marked.clip_id]["labels_source"] == "user_asserted"
    assert all(row["labels_source"] == "" for clip_id, row in rows.items() if clip_id != marked.clip_id)
    html = render_report(audit)
    assert "user_asserted" in html  # the provenance table's "labels from" column
    assert html.count("labels user-asserted") == sum(
        marked.clip_id in s.clips_worst_first[:WORST_CLIPS_SHOWN] for s in audit.conditions) >= 1
