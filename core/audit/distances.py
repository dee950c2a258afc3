"""FVD and KVD of each condition's clips against that condition's reference clips.

Features come from the injected extractor (the I3D file when the plan names one, else the metrics
engine's fixed-seed random 3D CNN). Reference features are cached as .npz with the same key the
`metrics` command uses (extractor identity + file names, sizes and modification times), in the
reference folder when it is writable and in the audit folder otherwise; generated-clip features are
saved per clip beside its card, so a resumed audit encodes nothing twice.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from core.audit.records import Distance



def reference_features(folder: Path, extractor: Any, fallback_cache_dir: Path) -> np.ndarray:
    """N×D features of the clips in `folder` (recursively), cached beside them or with the audit."""
    from core.audit.sources import video_files
    from core.metrics.features import cached_features

    return cached_features(video_files(folder), extractor, folder, fallback_cache_dir)


def distances(reference: np.ndarray, generated: np.ndarray, extractor: Any) -> dict[str, Distance]:
    """{"fvd": ..., "kvd": ...} between two N×D feature sets (each needs at least 2 clips)."""
    from core.metrics.fvd import FVD
    from core.metrics.kvd import KVD

    out: dict[str, Distance] = {}
    for key, measure in (("fvd", FVD(extractor)), ("kvd", KVD(extractor))):
        measure.update_reference(features=reference)
        measure.update_generated(features=generated)
        result = measure.compute()
        out[key] = Distance(**{**asdict(result), "value": float(result.value)})
    return out


def fvd_judged(extractor: Any, gates: Any) -> bool:
    """Whether the FVD gate applies: I3D features, or the gates file opts in for the random extractor."""
    return bool(extractor is not None and (extractor.is_i3d or gates.gates.fvd_gate_random_extractor))
