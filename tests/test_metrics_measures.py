"""The one measure registry (core.metrics.measures): every place that names a measure reads it, and the
labels, units and keys users see are the ones they saw before the registry existed."""

from __future__ import annotations

from core.metrics import list_metrics
from core.metrics.card import build_card
from core.metrics.measures import AUDIT_MEASURES, CHIP_LABELS, MEASURES, PICKER_CHOICES
from tests.metrics_fixtures import clean


def test_the_metric_list_is_the_registry():
    assert [m.key for m in list_metrics()] == list(MEASURES)
    assert all(m.name == m.key for m in list_metrics())


def test_every_result_carries_the_registry_name_unit_and_direction():
    frames = clean(10)
    card = build_card(frames, image=frames[0], prompt="a road")  # no CLIP model: the score says unavailable
    assert set(card.measures) == {m.key for m in MEASURES.values() if m.kind == "clip"}
    for key, result in card.measures.items():
        entry = MEASURES[key]
        assert (result.name, result.unit, result.direction) == (entry.key, entry.unit, entry.direction), key


def test_set_measures_report_the_registry_direction():
    from core.metrics.distribution import DistanceResult

    result = DistanceResult(name="FVD", value=1.0, n_reference=2, n_generated=2, feature_dim=4, extractor="")
    assert result.direction == MEASURES["fvd"].direction == MEASURES["kvd"].direction


def test_the_audit_reads_the_registry():
    from core.audit import aggregate, compare, measure

    assert measure.MEASURES is AUDIT_MEASURES
    assert aggregate.MEASURES is AUDIT_MEASURES and compare.MEASURES is AUDIT_MEASURES
    for audited in AUDIT_MEASURES:
        entry = MEASURES[audited.card_measure]
        assert (audited.key, audited.label, audited.direction) == (entry.audit_key, entry.label, entry.direction)


def test_the_pages_read_the_registry():
    from pages import audit_actions, quality_card

    assert audit_actions.MEASURE_CHOICES is PICKER_CHOICES
    assert quality_card.CHIP_LABELS is CHIP_LABELS


def test_the_strings_users_see_are_unchanged():
    # What each place printed before the registry: the audit's keys, labels and units (saved in
    # audit.json and the reports), the Audit page's pickers and the quality-card panel.
    assert [(m.key, m.label, m.unit, m.card_measure) for m in AUDIT_MEASURES] == [
        ("tcs", "Temporal consistency (TCS)", "score in [0, 1]", "tcs"),
        ("temporal_coherence", "Temporal coherence", "cosine in [0, 1]", "temporal_coherence"),
        ("adjacent_ssim", "Adjacent-frame SSIM", "SSIM in [-1, 1]", "adjacent_ssim"),
        ("warping_error", "Warping error", "mean abs. error in [0, 1]", "warping_error"),
        ("flicker_index", "Flicker index", "energy share in [0, 1]", "flicker_index"),
        ("sharpness", "Sharpness", "Sobel magnitude", "sharpness"),
        ("motion", "Motion", "px/frame", "motion"),
        ("first_frame_psnr", "First-frame PSNR", "dB", "first_frame_fidelity"),
        ("clip_score", "CLIP text-video score", "cosine", "clip_score"),
    ]
    assert PICKER_CHOICES == [
        ("TCS", "tcs"), ("Temporal coherence", "temporal_coherence"), ("Adjacent SSIM", "adjacent_ssim"),
        ("Warping error", "warping_error"), ("Flicker index", "flicker_index"), ("Sharpness", "sharpness"),
        ("Motion", "motion"), ("First-frame PSNR", "first_frame_psnr"), ("CLIP score", "clip_score")]
    assert CHIP_LABELS == {
        "tcs": ("TCS", 3), "temporal_coherence": ("Coherence", 3), "adjacent_ssim": ("Adjacent SSIM", 3),
        "warping_error": ("Warping error", 3), "flicker_index": ("Flicker", 3), "sharpness": ("Sharpness", 3),
        "motion": ("Motion", 2), "first_frame_fidelity": ("First-frame PSNR", 1)}
    assert {k: m.unit for k, m in MEASURES.items() if m.kind == "clip"} == {
        "tcs": "score", "temporal_coherence": "cosine similarity", "adjacent_ssim": "SSIM",
        "warping_error": "mean absolute intensity error", "flicker_index": "share of temporal energy",
        "sharpness": "Sobel magnitude per pixel", "motion": "px/frame (source resolution)",
        "first_frame_fidelity": "dB (PSNR)", "clip_score": "cosine similarity"}
