"""The install is reproducible: every dependency is locked, the lock is what is installed, and CI runs the
README's own test command."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"requirements.lock: '{line}' is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [r for group in project.get("optional-dependencies", {}).values() for r in group]
    return [Requirement(r) for r in [*project["dependencies"], *extras]]


def _transitive(names: list[str]) -> set[str]:
    """Every installed distribution that the named ones need, following installed metadata."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def test_every_declared_dependency_is_locked_within_its_range():
    pins = _lock()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (req, pins[name])


def test_installed_versions_are_the_locked_ones():
    pins = _lock()
    for name in sorted(_transitive([r.name for r in _declared()])):
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            continue  # an optional dependency of a dependency that nothing here installs
        assert name in pins, f"{name} {installed} is installed as a dependency but not locked"
        assert installed.public == Version(pins[name]).public, f"{name}: installed {installed}, locked {pins[name]}"


def test_ci_runs_the_readme_test_command_in_a_fresh_venv():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n *(pip install -c requirements\.lock [^\n]+)\n *```", readme)
    assert len(commands) == 2, commands  # the Quickstart: serve, then the test suite
    assert "serve" in commands[0] and "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines()
    assert "venv" in ci and "torch==2.13.0+cpu" in ci
