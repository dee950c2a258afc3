import os

import pytest

from core.atomic import atomic_path, write_json_atomic, write_text_atomic


def test_written_files_are_readable_by_others_not_private(tmp_path):
    target = tmp_path / "report.html"
    write_text_atomic(target, "<html></html>")
    assert target.stat().st_mode & 0o777 == 0o644


def test_existing_mode_is_kept(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("{}")
    os.chmod(target, 0o600)
    write_json_atomic(target, {"x": 1})
    assert target.stat().st_mode & 0o777 == 0o600
    assert '"x": 1' in target.read_text()


def test_failure_leaves_no_file(tmp_path):
    target = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("encoder died")
    assert list(tmp_path.iterdir()) == []


# --- where unfinished writes go, and the sweep (issue 11, section 9) -------------------------------

def test_temporary_file_inside_the_data_dir_goes_to_partial_not_beside_the_target(isolated_data_dir):
    from core.atomic import PARTIAL_DIR_NAME

    target = isolated_data_dir / "clips" / "clip.mp4"
    with atomic_path(target) as tmp:
        assert tmp.parent == (isolated_data_dir / PARTIAL_DIR_NAME).resolve()
        assert tmp.name.startswith(".clip.mp4.") and tmp.name.endswith(".partial")  # never a media suffix
        tmp.write_bytes(b"whole")
        assert list((isolated_data_dir / "clips").iterdir()) == []  # nothing servable until it is whole
    assert target.read_bytes() == b"whole"
    assert list((isolated_data_dir / PARTIAL_DIR_NAME).iterdir()) == []


def test_sweep_keeps_a_live_writers_file_and_removes_an_abandoned_one(isolated_data_dir, tmp_path):
    import subprocess
    import sys

    from core.atomic import sweep_partials

    target = isolated_data_dir / "audits" / "a" / "report.html"
    with atomic_path(target) as tmp:
        tmp.write_text("half")
        assert sweep_partials(isolated_data_dir) == []  # this process still holds the lock
        assert tmp.exists()
    # A file whose writer is gone: made and locked by a process that then exits without renaming it.
    script = ("import os, sys; sys.path.insert(0, os.getcwd()); from core.atomic import atomic_path; "
              "cm = atomic_path(__import__('pathlib').Path(sys.argv[1])); tmp = cm.__enter__(); "
              "tmp.write_text('half'); os._exit(0)")
    abandoned = target.with_name("other.html")
    subprocess.run([sys.executable, "-c", script, str(abandoned)], check=True,
                   env={**os.environ, "SCENARIO_STUDIO_DATA": str(isolated_data_dir)})
    leftovers = list((isolated_data_dir / ".partial").iterdir())
    assert len(leftovers) == 1
    assert sweep_partials(isolated_data_dir) == leftovers
    assert list((isolated_data_dir / ".partial").iterdir()) == [] and not abandoned.exists()


def test_sweep_removes_old_style_hidden_siblings_only(isolated_data_dir):
    from core.atomic import sweep_partials

    clips = isolated_data_dir / "clips"
    clips.mkdir(parents=True)
    old = clips / ".clip.mp4.k2x_9abc.mp4"  # what mkstemp beside the target used to leave
    old.write_bytes(b"4 of 16 frames")
    link = isolated_data_dir / "audits" / "a" / "media" / f".x.mp4.{'ab' * 16}.link"
    link.parent.mkdir(parents=True)
    link.write_bytes(b"x")
    keep = [clips / ".hidden-note", clips / "clip.mp4", clips / ".clip.mp4.short.mp4"]
    for path in keep:
        path.write_bytes(b"keep")
    assert sorted(sweep_partials(isolated_data_dir)) == sorted([old, link])
    assert all(path.exists() for path in keep)
