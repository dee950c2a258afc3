"""The one registry of measures: key, labels, unit, direction and where each is computed.

Everything that names a measure reads it here: `core.metrics.get_metric`, each measure's MeasureResult
(name, unit, direction), the audit (its key, label, unit and direction per scalar), the quality-card
panel and the Audit page's measure pickers. Importing this module loads nothing heavy.

One measure carries two keys because both are already in saved files: `first_frame_fidelity` is the
card's (and the registry's) name, while an audit stores its PSNR value as `first_frame_psnr`.
"""

from __future__ import annotations

from dataclasses import dataclass

HIGHER = "higher is better"
LOWER = "lower is better"
NEUTRAL = "neither (informational)"


@dataclass(frozen=True)
class Measure:
    """One measure.

    Attributes:
        key: registry name: get_metric(key), MeasureResult.name, a card's `measures[key]`.
        label: full label (audit tables, charts and reports).
        unit: what MeasureResult.unit says the value counts.
        direction: HIGHER, LOWER or NEUTRAL.
        kind: "clip" (a function of one clip) or "set" (an accumulating class, FVD/KVD).
        target: "module:attribute" of the function or class.
        summary: one line on what it measures (docs/METRICS.md has the definitions).
        short: the label in the Audit page's measure pickers ("" = not offered there).
        chip: the label on the Generate page's quality-card panel ("" = not shown there).
        digits: decimals the quality-card panel prints.
        audit_key: the key of its scalar in an audit's values ("" = the audit does not summarise it).
        audit_unit: the unit an audit's tables print, range included.
    """

    key: str
    label: str
    unit: str
    direction: str
    kind: str
    target: str
    summary: str
    short: str = ""
    chip: str = ""
    digits: int = 3
    audit_key: str = ""
    audit_unit: str = ""

    @property
    def name(self) -> str:
        """The registry name (kept for callers of `list_metrics()` that read `.name`)."""
        return self.key


@dataclass(frozen=True)
class AuditMeasure:
    """A registry measure as an audit names it. `card_measure` is the registry key the value is read from."""

    key: str
    label: str
    unit: str
    direction: str
    card_measure: str
    attribute: str = "value"


_ALL = (
    Measure("tcs", "Temporal consistency (TCS)", "score", HIGHER, "clip", "core.metrics.tcs:temporal_consistency",
            "temporal consistency score: optical-flow smoothness in [0, 1]",
            short="TCS", chip="TCS", audit_key="tcs", audit_unit="score in [0, 1]"),
    Measure("temporal_coherence", "Temporal coherence", "cosine similarity", HIGHER, "clip",
            "core.metrics.coherence:temporal_coherence", "mean cosine similarity of consecutive frames",
            short="Temporal coherence", chip="Coherence", audit_key="temporal_coherence",
            audit_unit="cosine in [0, 1]"),
    Measure("adjacent_ssim", "Adjacent-frame SSIM", "SSIM", HIGHER, "clip", "core.metrics.ssim:adjacent_ssim",
            "mean SSIM of consecutive frames",
            short="Adjacent SSIM", chip="Adjacent SSIM", audit_key="adjacent_ssim", audit_unit="SSIM in [-1, 1]"),
    Measure("warping_error", "Warping error", "mean absolute intensity error", LOWER, "clip",
            "core.metrics.warping:warping_error", "flow-warping error with forward/backward occlusion mask",
            short="Warping error", chip="Warping error", audit_key="warping_error",
            audit_unit="mean abs. error in [0, 1]"),
    Measure("flicker_index", "Flicker index", "share of temporal energy", LOWER, "clip",
            "core.metrics.flicker:flicker_index", "share of temporal-spectrum energy above the cut-off frequency",
            short="Flicker index", chip="Flicker", audit_key="flicker_index", audit_unit="energy share in [0, 1]"),
    Measure("sharpness", "Sharpness", "Sobel magnitude per pixel", HIGHER, "clip", "core.metrics.sharpness:sharpness",
            "mean Sobel gradient magnitude per frame",
            short="Sharpness", chip="Sharpness", audit_key="sharpness", audit_unit="Sobel magnitude"),
    Measure("motion", "Motion", "px/frame (source resolution)", NEUTRAL, "clip", "core.metrics.motion:motion",
            "optical-flow magnitude statistics and dynamic degree",
            short="Motion", chip="Motion", digits=2, audit_key="motion", audit_unit="px/frame"),
    Measure("first_frame_fidelity", "First-frame PSNR", "dB (PSNR)", HIGHER, "clip",
            "core.metrics.fidelity:first_frame_fidelity", "PSNR and SSIM of frame 0 against the conditioning image",
            short="First-frame PSNR", chip="First-frame PSNR", digits=1, audit_key="first_frame_psnr",
            audit_unit="dB"),
    # The quality-card panel leaves the CLIP score out: it needs CLIP weights this machine may not have.
    Measure("clip_score", "CLIP text-video score", "cosine similarity", HIGHER, "clip",
            "core.metrics.clip_score:clip_score", "CLIP text-frame cosine similarity (needs local CLIP weights)",
            short="CLIP score", audit_key="clip_score", audit_unit="cosine"),
    Measure("fvd", "FVD", "distance", LOWER, "set", "core.metrics.fvd:FVD",
            "Fréchet distance between clip-feature distributions"),
    Measure("kvd", "KVD", "distance", LOWER, "set", "core.metrics.kvd:KVD",
            "unbiased polynomial-kernel MMD² between clip-feature distributions"),
)

MEASURES: dict[str, Measure] = {m.key: m for m in _ALL}  # registry order is card order

AUDIT_MEASURES: tuple[AuditMeasure, ...] = tuple(
    AuditMeasure(m.audit_key, m.label, m.audit_unit, m.direction, m.key) for m in _ALL if m.audit_key)

PICKER_CHOICES: list[tuple[str, str]] = [(m.short, m.audit_key) for m in _ALL if m.short and m.audit_key]
"""(label, audit key) of each measure a page offers to chart."""

CHIP_LABELS: dict[str, tuple[str, int]] = {m.key: (m.chip, m.digits) for m in _ALL if m.chip}
"""Registry key -> (label, decimals) of the measures on the quality-card panel, card order."""


def result_fields(key: str) -> dict[str, str]:
    """The `name`, `unit` and `direction` a measure's MeasureResult carries, from the registry."""
    measure = MEASURES[key]
    return {"name": measure.key, "unit": measure.unit, "direction": measure.direction}
