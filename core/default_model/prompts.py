"""Map a free-text prompt or explicit slots to the denoiser's embedding rows.

The model knows the catalogue ids stored in its denoiser config. A prompt is understood when it
contains one known catalogue phrase per slot (the template's own rendering always does); anything
else is refused with a ValidationError that lists what the model accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ValidationError

SLOTS = ("event", "conditions", "road")


@dataclass(frozen=True)
class SlotIndices:
    """Embedding rows for one prompt: 0 is the learned null row, i+1 the i-th id of the vocabulary."""

    event: int
    conditions: int
    road: int

    @classmethod
    def null(cls) -> "SlotIndices":
        return cls(0, 0, 0)


def _phrases(kind: str, ids: tuple[str, ...]) -> dict[str, str]:
    """id -> catalogue phrase (lower case) for the ids the model knows; the id itself when not catalogued."""
    from core.catalogue import default_catalogue  # lazy: reads YAML

    table = getattr(default_catalogue(), {"event": "events", "conditions": "conditions", "road": "roads"}[kind])
    return {i: (table[i].phrase if i in table else i.replace("_", " ")).lower() for i in ids}


def vocabularies(config) -> dict[str, tuple[str, ...]]:
    """Slot -> ids the denoiser was trained with, from its config."""
    return {"event": tuple(config.event_ids), "conditions": tuple(config.condition_ids),
            "road": tuple(config.road_ids)}


def _index(kind: str, value: str, ids: tuple[str, ...]) -> int:
    if value not in ids:
        raise ValidationError(f"unknown {kind} '{value}' for this model; allowed values: {', '.join(ids)}.")
    return ids.index(value) + 1


def _match(text: str, kind: str, ids: tuple[str, ...]) -> str | None:
    """The id whose phrase (or id) occurs in `text`; the longest match wins ('nighttime' over 'time')."""
    best: tuple[int, str] | None = None
    for slot_id, phrase in _phrases(kind, ids).items():
        for needle in (phrase, slot_id.lower(), slot_id.replace("_", " ").lower()):
            if needle and needle in text and (best is None or len(needle) > best[0]):
                best = (len(needle), slot_id)
    return best[1] if best else None


def resolve_slots(config, prompt: str | None = None, event: str | None = None, conditions: str | None = None,
                  road: str | None = None, allow_partial: bool = False) -> SlotIndices:
    """Slots from explicit ids (which win) and/or a prompt; missing slots are an error unless `allow_partial`
    (negative prompts), where they take the null row."""
    vocab = vocabularies(config)
    given = {"event": event, "conditions": conditions, "road": road}
    text = (prompt or "").strip().lower()
    if text:
        for kind in SLOTS:
            if given[kind] is None:
                given[kind] = _match(text, kind, vocab[kind])
    missing = [k for k in SLOTS if given[k] is None]
    if missing and not allow_partial:
        details = "; ".join(f"{k}: {', '.join(repr(p) for p in _phrases(k, vocab[k]).values())}" for k in missing)
        where = f"the prompt '{prompt}'" if text else "the request"
        raise ValidationError(f"this model cannot understand {where}: it names no known {' / '.join(missing)}. "
                              f"Use the template 'dashcam view of {{event}} during {{conditions}} on {{road}}' with "
                              f"allowed phrases — {details}.")
    return SlotIndices(*(0 if given[k] is None else _index(k, given[k], vocab[k]) for k in SLOTS))
