"""`scenario-studio audit`: exit codes 0 (gates pass), 1 (a gate fails), 2 (bad input); reference maker."""

from __future__ import annotations

import shutil

import pytest

from app.cli import main
from tests.test_audit_fixtures import (SYNTH_KW, finished_audit, loose_gates, strict_gates, synth_clips,  # noqa: F401
                                      synth_reference)


def test_failing_gate_exits_1_and_prints_the_table(synth_clips, tmp_path, capsys):  # noqa: F811
    gates = strict_gates(tmp_path / "strict.yaml")
    code = main(["audit", "--clips", str(synth_clips), "--gates", str(gates), "--out", str(tmp_path / "a"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert "verdict: FAIL" in out and "dust_storm: tcs" in out and "TCS [95% CI]" in out
    for name in ("report.html", "clips.csv", "conditions.csv", "audit-report.json"):
        assert (tmp_path / "a" / name).is_file()


def test_passing_gates_exit_0_with_reference_and_compare(synth_clips, synth_reference, finished_audit,  # noqa: F811
                                                         tmp_path, capsys):
    gates = loose_gates(tmp_path / "gates.yaml")
    code = main(["audit", "--clips", str(synth_clips), "--reference", str(synth_reference), "--gates", str(gates),
                 "--out", str(tmp_path / "b"), "--compare", finished_audit.audit_dir, "--conditions", "clear_day,night"])
    captured = capsys.readouterr()
    assert code == 0, captured.out
    assert "verdict: PASS" in captured.out and "comparison against synth-audit" in captured.out
    assert "dust_storm" not in captured.out.split("ranking")[0]  # filtered out by --conditions
    assert "[3/6]" in captured.err  # progress lines


@pytest.mark.parametrize("argv, words", [
    (["audit", "--clips", "/no/such/folder"], "does not exist"),
    (["audit", "--plan", "/no/such/plan.yaml"], "does not exist"),
    (["audit", "--clips", "CLIPS", "--labels", "/no/labels.csv"], "labels file"),
    (["audit", "--clips", "CLIPS", "--compare", "/no/audit"], "not a finished audit"),
    (["audit", "--clips", "CLIPS", "--conditions", "moon"], "unknown id 'moon'"),
    (["audit", "--make-reference", "OUT", "--size", "big"], "--size must be WIDTHxHEIGHT"),
])
def test_bad_input_exits_2(argv, words, synth_clips, tmp_path, capsys):  # noqa: F811
    argv = [a.replace("CLIPS", str(synth_clips)).replace("OUT", str(tmp_path / "ref")) for a in argv]
    assert main(argv + ["--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert words in capsys.readouterr().err


def test_bad_plan_exits_2(tmp_path, capsys):
    (tmp_path / "plan.yaml").write_text("conditions: all\nclips_per_condition: lots\n", encoding="utf-8")
    assert main(["audit", "--plan", str(tmp_path / "plan.yaml")]) == 2
    assert "plan field 'clips_per_condition' must be a whole number" in capsys.readouterr().err


def test_unreadable_clip_exits_2_after_writing_the_report(synth_clips, tmp_path, capsys):  # noqa: F811
    folder = tmp_path / "clips"
    shutil.copytree(synth_clips / "night", folder / "night")
    (folder / "night" / "zz_broken.mp4").write_bytes(b"garbage")
    (folder / "night" / "zz_broken.json").write_text('{"conditions": "night"}', encoding="utf-8")
    assert main(["audit", "--clips", str(folder), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "zz_broken" in capsys.readouterr().err and (tmp_path / "o" / "report.html").is_file()


def test_make_reference_writes_a_folder_per_condition(tmp_path, capsys):
    argv = ["audit", "--make-reference", str(tmp_path / "ref"), "--conditions", "fog,snow", "--clips-per-condition", "1",
            "--size", f"{SYNTH_KW['width']}x{SYNTH_KW['height']}", "--frames", "4"]
    assert main(argv) == 0
    assert sorted(p.name for p in (tmp_path / "ref").iterdir()) == ["fog", "snow"]
    assert len(list((tmp_path / "ref" / "fog").glob("*.mp4"))) == 1
    assert "wrote 2 procedural reference clips" in capsys.readouterr().out


def test_clip_without_manifest_is_skipped_and_the_audit_finishes(synth_clips, tmp_path, capsys):  # noqa: F811
    folder = tmp_path / "clips"
    shutil.copytree(synth_clips, folder)
    orphan = sorted((folder / "night").glob("*.mp4"))[0]
    orphan.with_suffix(".json").unlink()  # one clip loses its manifest; the other eight keep theirs
    code = main(["audit", "--clips", str(folder), "--gates", str(loose_gates(tmp_path / "gates.yaml")),
                 "--out", str(tmp_path / "o"), "--quiet"])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    assert f"skipped: night__{orphan.stem}: clip '{orphan.name}' has no manifest naming its condition" in captured.err
    report = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "1 clips skipped" in report and orphan.name in report and "no manifest naming its condition" in report
    from core.audit.store import load_audit

    audit = load_audit(tmp_path / "o")
    assert [(s.clip_id, s.path) for s in audit.skipped] == [(f"night__{orphan.stem}", str(orphan.resolve()))]
    assert len(audit.clips) == 8 and f"night__{orphan.stem}" not in {c.clip_id for c in audit.clips}
    assert next(c for c in audit.conditions if c.group == "night").n_clips == 2
