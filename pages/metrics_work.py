"""Quality cards as bounded metrics work: each takes a place behind the studio's metrics gate.

A card computes optical flow over the whole clip, so without a bound ten open tabs would start ten flow
computations at once on a 2-core machine. The metrics gate (StudioContext.metrics_gate) runs
`metrics_limit` of them at a time, shared with audits of existing clips, and never waits for a
generation. Page wiring only: the card itself is pages.quality_card.
"""

from __future__ import annotations

import html

from core.generation_queue import QueueFullError
from pages.common import StudioContext, user_message
from pages.quality_card import asks_condition_change, quality_card_html

CARD_LABEL = "quality card"


def card_html(ctx: StudioContext, owner: str, manifest_json: dict, shown_condition: str | None) -> str:
    """The card of one generated clip (its manifest JSON), computed when a metrics place is free.

    A full metrics line gives the card one sentence instead, so a series of variants goes on."""
    try:
        with ctx.metrics_gate.admit(owner, CARD_LABEL):
            return quality_card_html(manifest_json["result"]["mp4_path"], manifest_json["request"].get("image"),
                                     condition_change=asks_condition_change(manifest_json, shown_condition))
    except QueueFullError as exc:
        return (f"<div class='ss-card-q'><span class='ss-q-title'>Quality card</span> "
                f"not measured: {html.escape(user_message(exc))}</div>")
