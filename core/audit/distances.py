"""FVD and KVD of each condition's clips against that condition's reference clips.

Features come from the injected extractor (the I3D file when the plan names one, else the metrics
engine's fixed-seed random 3D CNN). Reference features come from the function the `metrics` command
uses (core.metrics.features.reference_features): cached as .npz, keyed on the extractor identity and
the files' names, sizes and modification times, in the reference folder when it is writable and in the
audit folder otherwise; generated-clip features are saved per clip beside its card, so a resumed audit
encodes nothing twice.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from core.audit.records import Distance


def distances(reference: np.ndarray, generated: np.ndarray, extractor: Any) -> dict[str, Distance]:
    """{"fvd": ..., "kvd": ...} between two N×D feature sets (each needs at least 2 clips), as audit records."""
    from core.metrics.distribution import set_distances

    return {key: Distance(**{**asdict(result), "value": float(result.value)})
            for key, result in set_distances(reference, generated, extractor).items()}
