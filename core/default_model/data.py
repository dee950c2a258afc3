"""Training data for the embedded default model, rendered on the fly by the procedural synthesiser.

Clip i of a run is fully determined by (run seed, i): `spec_for(seed, i)` draws it with `random_spec`,
which starts clips in clear day with p=0.7, in the target condition with p=0.2 and in any condition
otherwise, and moves to the target within the first second. So resuming re-creates the same stream.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

# Seeds at or above this offset are held out from training (evaluation and sample first frames).
HELD_OUT_SEED_OFFSET = 1_000_003


def synth(module: str = "core.synth") -> Any:
    """The synthesiser module (imported lazily; tests may pass a stand-in module name)."""
    return importlib.import_module(module)


def spec_for(run_seed: int, index: int, num_frames: int, width: int, height: int, module: str = "core.synth",
             **overrides: Any) -> Any:
    """The index-th clip spec of a run: a pure function of (run_seed, index)."""
    rng = np.random.default_rng([run_seed, index])
    return synth(module).random_spec(rng, num_frames=num_frames, width=width, height=height, **overrides)


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> float (T, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


@dataclass
class LatentClip:
    """One encoded training clip: latents (C, T, h, w) float16 and slot ids."""

    latents: torch.Tensor
    event: str
    conditions: str
    road: str


class LatentPool:
    """A growing pool of encoded clips, written to `cache_dir` in shards so a resumed run reuses them.

    Clip order is the generation order, so `len(pool)` is also the index of the next clip to render.
    """

    def __init__(self, cache_dir: Path | None, shard_size: int = 64) -> None:
        self.clips: list[LatentClip] = []
        self.cache_dir = cache_dir
        self.shard_size = shard_size
        self._unsaved = 0

    def __len__(self) -> int:
        return len(self.clips)

    def load_cache(self) -> int:
        """Load every complete shard in `cache_dir`; return the number of clips loaded."""
        if self.cache_dir is None or not self.cache_dir.is_dir():
            return 0
        for shard in sorted(self.cache_dir.glob("latents_*.pt")):
            payload = torch.load(shard, weights_only=True)
            for latents, event, cond, road in zip(payload["latents"], payload["event"], payload["conditions"],
                                                  payload["road"]):
                self.clips.append(LatentClip(latents, event, cond, road))
        return len(self.clips)

    def add(self, clip: LatentClip) -> None:
        self.clips.append(clip)
        self._unsaved += 1
        if self.cache_dir is not None and self._unsaved == self.shard_size:
            self._save_shard()

    def _save_shard(self) -> None:
        from core.atomic import atomic_path

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        start = len(self.clips) - self._unsaved
        part = self.clips[start:]
        path = self.cache_dir / f"latents_{start:07d}.pt"
        with atomic_path(path, suffix=".pt") as tmp:
            torch.save({"latents": torch.stack([c.latents for c in part]), "event": [c.event for c in part],
                        "conditions": [c.conditions for c in part], "road": [c.road for c in part]}, tmp)
        self._unsaved = 0

    def sample(self, batch_size: int, generator: torch.Generator) -> list[LatentClip]:
        index = torch.randint(len(self.clips), (batch_size,), generator=generator).tolist()
        return [self.clips[i] for i in index]
