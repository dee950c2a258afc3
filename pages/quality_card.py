"""A clip's quality card (core.metrics.card) as a compact panel shown under the clip.

The card is computed after the clip is shown (the API's generate call does not wait for it). The CLIP
text-video score needs a CLIP model that this machine may not have, so it is left out here; the
Audit page computes it where the model is installed.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from core.errors import StudioError
from core.metrics.measures import CHIP_LABELS
from core.sample_frames import asks_condition_change as condition_changes

log = logging.getLogger("scenario_studio.web")

def _chip(text: str, kind: str, title: str = "") -> str:
    return f"<span class='ss-chip ss-chip-{kind}' title='{html.escape(title, quote=True)}'>{html.escape(text)}</span>"


def asks_condition_change(manifest_json: dict, shown_condition: str | None) -> bool:
    """Whether the clip asks for another condition than its first frame shows (known for samples only)."""
    slots = (manifest_json.get("result", {}).get("provenance") or {}).get("slots") or {}
    return condition_changes(shown_condition, slots.get("conditions"))


def quality_card_html(mp4_path: str, first_frame: str | None = None, condition_change: bool = False) -> str:
    """The card as HTML; a clip the measures refuse gets one sentence instead.

    condition_change: the clip asks for another condition than its first frame shows, so colour drift
    is measured after the change has established (see core.metrics.detectors.drift)."""
    from core.metrics.card import build_card  # imported on first use: keeps start-up light

    image = first_frame if first_frame and Path(first_frame).is_file() else None
    try:
        card = build_card(mp4_path, image=image, condition_change=condition_change)
    except StudioError as exc:
        log.info("quality card skipped for %s: %s", mp4_path, exc)
        return f"<div class='ss-card-q'><span class='ss-q-title'>Quality card</span> {html.escape(str(exc))}</div>"
    verdict = _chip("gates passed" if card.passed else "gate failed", "ok" if card.passed else "bad")
    gates = "".join(
        _chip(f"{g.name} {'✓' if g.passed else ('✗' if g.passed is False else '?')}",
              "ok" if g.passed else ("bad" if g.passed is False else "na"),
              f"{g.rule}; threshold {g.threshold:g}" + (f"; {g.note}" if g.note else ""))
        for g in card.gates)
    measures = []
    for name, (label, digits) in CHIP_LABELS.items():  # registry key -> (label, decimals), card order
        result = card.measures.get(name)
        if result is None or result.value is None:
            continue
        measures.append(f"<span class='ss-q-m' title='{html.escape(f'{result.unit}; {result.direction}', quote=True)}'>"
                        f"<b>{html.escape(label)}</b> {result.value:.{digits}f}</span>")
    fired = [f for f in card.flags if f.fired]
    if fired:
        flags = "".join(_chip(f"{f.name.replace('_', ' ')}: frames " +
                              ", ".join(f"{a}–{b}" if a != b else f"{a}" for a, b in f.ranges), "bad", f.rule)
                        for f in fired)
    else:
        flags = _chip("no failure mode detected", "ok")
    return (f"<div class='ss-card-q'><div class='ss-q-head'><span class='ss-q-title'>Quality card</span>{verdict}"
            f"{gates}</div><div class='ss-q-measures'>{''.join(measures)}</div>"
            f"<div class='ss-q-flags'>{flags}</div></div>")
