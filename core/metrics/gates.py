"""Load quality gates and detector thresholds from configs/gates.yaml into typed dataclasses."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from core.paths import CONFIGS_DIR

GATES_PATH = CONFIGS_DIR / "gates.yaml"


@dataclass(frozen=True)
class GateThresholds:
    """Pass/fail gates (case-study defaults)."""

    fvd_max: float = 250.0
    fvd_gate_random_extractor: bool = False
    tcs_min: float = 0.85
    clip_score_min: float = 0.28
    rejection_rate_alert: float = 0.15


@dataclass(frozen=True)
class DetectorThresholds:
    """Failure-detector thresholds; differences are on frames in [0, 1].

    All are calibrated at 10 fps. Frame counts (flicker_max_frames, freeze_min_frames) are durations
    at that rate, and the static and freeze difference thresholds apply to frames ≈ 0.1 s apart;
    core.metrics.timebase holds the one rule, and configs/gates.yaml says which knob follows it.
    """

    flicker_max_consecutive_diff: float = 0.4
    flicker_max_frames: int = 4
    static_max_mean_diff: float = 0.01
    colour_drift_max: float = 0.15
    condition_change_seconds: float = 1.0  # drift baseline for clips that ask for a condition change
    freeze_max_diff: float = 0.005
    freeze_min_frames: int = 3
    cut_min_dissimilarity: float = 0.5
    blur_max_ratio: float = 0.6

    def condition_change_frame(self, fps: float) -> int:
        """Colour-drift baseline frame of a clip that asks for a condition change: fps × condition_change_seconds."""
        return round(fps * self.condition_change_seconds)


@dataclass(frozen=True)
class MeasureSettings:
    """Settings of measures that are parameters rather than gates."""

    flicker_cutoff_fraction_of_nyquist: float = 0.5


@dataclass(frozen=True)
class Gates:
    """Everything in configs/gates.yaml."""

    gates: GateThresholds = field(default_factory=GateThresholds)
    detectors: DetectorThresholds = field(default_factory=DetectorThresholds)
    measures: MeasureSettings = field(default_factory=MeasureSettings)


def fvd_judged(extractor: Any, gates: Gates) -> bool:
    """Whether the FVD gate applies: I3D features, or the gates file opts in for the random extractor."""
    return bool(extractor is not None and (extractor.is_i3d or gates.gates.fvd_gate_random_extractor))


def fvd_gate(value: float, judged: bool, gates: Gates) -> tuple[bool | None, str]:
    """The FVD gate, FVD < fvd_max: (passed, "") when judged (see fvd_judged), else (None, why not)."""
    if not judged:
        return None, f"the {gates.gates.fvd_max:g} gate is calibrated for I3D features"
    return bool(value < gates.gates.fvd_max), ""


def _section(cls: type, data: Any, name: str, path: Path) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ValidationError(f"section '{name}' of {path} must be a mapping of knob: value.")
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in data.items():
        if key not in known:
            raise ValidationError(f"unknown knob '{name}.{key}' in {path}; allowed: {', '.join(known)}.")
        expected = type(getattr(cls(), key))
        if expected is bool:
            ok = isinstance(value, bool)
        elif expected is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        if not ok:
            kind = {bool: "true or false", int: "a whole number ≥ 1"}.get(expected, "a number ≥ 0")
            raise ValidationError(f"knob '{name}.{key}' in {path} must be {kind}, got {value!r}.")
        values[key] = expected(value)
    return cls(**values)


def load_gates(path: Path | str | None = None) -> Gates:
    """Parse a gates YAML file (default configs/gates.yaml); missing knobs keep their defaults.

    The file is parsed again only when its modification time changes, so a batch of cards reads it once.
    """
    path = Path(path) if path is not None else GATES_PATH
    if not path.is_file():
        raise ValidationError(f"gates file '{path}' does not exist.")
    return _load_cached(str(path.resolve()), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, mtime_ns: int) -> Gates:
    import yaml

    path = Path(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise ValidationError(f"gates file '{path}' is not valid YAML.") from None
    if not isinstance(data, dict):
        raise ValidationError(f"gates file '{path}' must be a mapping with sections gates, detectors, measures.")
    unknown = set(data) - {"gates", "detectors", "measures"}
    if unknown:
        raise ValidationError(f"unknown section '{sorted(unknown)[0]}' in {path}; allowed: gates, detectors, measures.")
    gates = Gates(gates=_section(GateThresholds, data.get("gates"), "gates", path),
                  detectors=_section(DetectorThresholds, data.get("detectors"), "detectors", path),
                  measures=_section(MeasureSettings, data.get("measures"), "measures", path))
    # Shares and ratios live in [0, 1]; 0 switches a gate or detector off. A flicker cutoff of 0
    # would count the whole spectrum as flicker, so it must be positive.
    for section, key, low_open in (("measures", "flicker_cutoff_fraction_of_nyquist", True),
                                   ("detectors", "blur_max_ratio", False), ("gates", "rejection_rate_alert", False),
                                   ("gates", "tcs_min", False)):
        value = getattr(getattr(gates, section), key)
        if not (0 < value if low_open else 0 <= value) or value > 1:
            interval = "(0, 1]" if low_open else "[0, 1]"
            raise ValidationError(f"knob '{section}.{key}' in {path} must be in {interval}, got {value!r}.")
    return gates
