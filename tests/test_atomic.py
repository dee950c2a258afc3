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
