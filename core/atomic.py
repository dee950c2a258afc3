"""Atomic file writes: write to a temporary file, then rename it onto the target.

Readers never see half a file, and a write killed half-way (`kill -9`, power loss) leaves its
temporary file only where nothing serves or scans it:

- A target inside the data folder gets its temporary file in `<data dir>/.partial/`, outside the
  folders the studio serves (`clips/`, `audits/`) and on the same file system, so `os.replace`
  stays atomic. When `.partial` is on another device than the target, the temporary file goes beside
  the target instead (still hidden, and still named `*.partial`).
- A temporary file's name never ends in the target's media suffix (`.NAME.XXXXXXXX.partial`), so a
  folder scan for clips or reports cannot pick one up, wherever it lies.
- While a write runs, its process holds an exclusive `flock` on the temporary file. `sweep_partials`
  (run when the CLI and the studio start) deletes every temporary file in `.partial` whose lock is
  free: its writer is gone, because the kernel drops the lock of a killed process. A live writer's
  file, even another process's, is never touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

PARTIAL_DIR_NAME = ".partial"
PARTIAL_SUFFIX = ".partial"
# Served folders under the data dir, where hidden temporary siblings may still be found: those older
# versions wrote (`.NAME.XXXXXXXX.SUFFIX`, mkstemp's names) and the audit media's hard-link step
# (`.NAME.<32 hex>.link`, which falls back to a copy if its link vanishes).
_SERVED_FOLDERS = ("clips", "audits")
_SIBLING_NAMES = (re.compile(r"^\.(?P<name>.+?(?P<suffix>\.[A-Za-z0-9]+))\.[a-z0-9_]{8}(?P=suffix)$"),
                  re.compile(r"^\..+\.[0-9a-f]{32}\.link$"))


def _data_dir() -> Path:
    from core.paths import data_dir

    return data_dir().resolve()


def _temporary_folder(target: Path) -> Path:
    """Where `target`'s temporary file goes (see the module docstring)."""
    data_dir = _data_dir()
    parent = target.parent.resolve()
    if parent.is_relative_to(data_dir):
        partial = data_dir / PARTIAL_DIR_NAME
        partial.mkdir(parents=True, exist_ok=True)
        if partial.stat().st_dev == parent.stat().st_dev:
            return partial
    return parent


def _locked_temporary(target: Path, suffix: str) -> tuple[int, Path]:
    """Create a temporary file for `target` and lock it; return (descriptor, path).

    A sweep may delete a file between mkstemp and flock; then the name no longer leads to the locked
    file, so another is made.
    """
    folder = _temporary_folder(target)
    while True:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX + suffix, dir=folder)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(name).st_ino == os.fstat(fd).st_ino:
                return fd, Path(name)
        except FileNotFoundError:
            pass
        os.close(fd)


@contextmanager
def atomic_path(target: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path for `target`; rename it onto `target` only if the block succeeds.

    `suffix` is for writers that insist on an ending (numpy's `.npz`); by default the temporary name
    ends in `.partial`. On any exception the temporary file is removed, so no partial output is left.
    Writers must write to the yielded path in place (open it), not replace it by another file.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _locked_temporary(target, suffix)
    # mkstemp makes the file private (0600); give the result the target's mode, or the usual 0644, so
    # reports and clips can be shared like any other file the user writes.
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
        os.close(fd)  # releases the lock only now: a sweep cannot take a file that is still in use


def sweep_partials(data_dir: Path | None = None) -> list[Path]:
    """Delete the temporary files that killed writers left under `data_dir`; return what was removed.

    Files in `.partial` go when no live process holds their lock. Hidden temporary siblings in
    `clips/` and `audits/` (see `_SIBLING_NAMES`) go too.
    """
    root = Path(data_dir).expanduser() if data_dir is not None else _data_dir()
    removed: list[Path] = []
    partial = root / PARTIAL_DIR_NAME
    for path in sorted(partial.iterdir()) if partial.is_dir() else []:
        if path.is_file() and not path.is_symlink() and _remove_if_abandoned(path):
            removed.append(path)
    for folder in (root / name for name in _SERVED_FOLDERS):
        for path in sorted(folder.rglob(".*")) if folder.is_dir() else []:
            if path.is_file() and not path.is_symlink() and any(p.match(path.name) for p in _SIBLING_NAMES):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _remove_if_abandoned(path: Path) -> bool:
    """Delete `path` if no process holds its lock; True when it was deleted."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False  # a live writer holds it
    try:
        # Delete only the file that was locked, not one that took its name since it was opened.
        if os.stat(path, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
            return False
        path.unlink()
        return True
    except FileNotFoundError:
        return False  # renamed onto its target meanwhile: a finished write
    finally:
        os.close(fd)


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: Path, payload: Any) -> None:
    write_text_atomic(target, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
