"""Typed generation request and result. Both serialise to JSON for manifests and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.catalogue import ScenarioSlots

DEFAULT_MODEL_ID = "embedded-default"


@dataclass(frozen=True)
class AdapterSpec:
    """A LoRA adapter by name (a file in the adapters folder, or a path) and its strength."""

    name: str
    scale: float = 1.0

    @classmethod
    def parse(cls, text: str) -> "AdapterSpec":
        """Parse 'NAME' or 'NAME:SCALE' as given on the command line."""
        from core.errors import ValidationError

        name, sep, scale = text.rpartition(":") if ":" in text else (text, "", "")
        if not sep:
            return cls(name=text.strip())
        try:
            return cls(name=name.strip(), scale=float(scale))
        except ValueError:
            raise ValidationError(f"adapter '{text}' must be NAME or NAME:SCALE with a numeric scale.") from None


@dataclass
class GenerationRequest:
    """Everything needed to make one clip. Fields left as None take the model's defaults.

    `image` is a path to a PNG/JPEG/WebP first frame or a uint8 H×W×3 RGB array.
    `width`/`height` are in pixels; `fps` in frames per second.
    """

    image: Path | str | np.ndarray | None = None
    scenario: str | None = None
    slots: ScenarioSlots | None = None
    prompt: str | None = None
    negative_prompt: str = ""
    guidance_scale: float | None = None
    num_inference_steps: int | None = None
    num_frames: int | None = None
    fps: int | None = None
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    model: str = DEFAULT_MODEL_ID
    adapters: list[AdapterSpec] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON form for the manifest; an in-memory image is replaced by its shape (its hash is kept elsewhere)."""
        payload = asdict(self)
        if isinstance(self.image, np.ndarray):
            payload["image"] = f"<array {self.image.shape}>"
        elif self.image is not None:
            payload["image"] = str(self.image)
        return payload

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> "GenerationRequest":
        """Rebuild a request from `to_json` output (as exported from the studio or a manifest)."""
        data = dict(payload)
        if data.get("slots"):
            data["slots"] = ScenarioSlots(**data["slots"])
        data["adapters"] = [AdapterSpec(**a) for a in data.get("adapters") or []]
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Adjustment:
    """A value the engine changed to fit the model's rules; nothing is changed without one of these."""

    field: str
    requested: Any
    used: Any
    reason: str


@dataclass
class GenerationResult:
    """One generated clip. `frames` is uint8 T×H×W×3 RGB; `timings` are seconds per stage."""

    frames: np.ndarray
    fps: int
    seed: int
    prompt: str
    model_id: str
    family: str
    mp4_path: Path | None = None
    manifest_path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    adjustments: list[Adjustment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Everything but the pixels: frames are summarised by their shape."""
        return {
            "frames_shape": list(self.frames.shape),
            "fps": self.fps,
            "seed": self.seed,
            "prompt": self.prompt,
            "model_id": self.model_id,
            "family": self.family,
            "mp4_path": str(self.mp4_path) if self.mp4_path else None,
            "manifest_path": str(self.manifest_path) if self.manifest_path else None,
            "timings": self.timings,
            "adjustments": [asdict(a) for a in self.adjustments],
            "notes": self.notes,
            "provenance": self.provenance,
        }
