"""One ClipIdentity: the run's units and the clips found on disk are identities; a record copies one flat."""

from __future__ import annotations

import dataclasses
import json
import typing

from core.audit.records import ClipIdentity, ClipRecord, identity_fields
from core.audit.runner import _Unit
from core.audit.sources import ExistingClip

IDENTITY = ClipIdentity(clip_id="night__a", group="night", condition="night", event="pedestrian_crossing",
                        road="urban_intersection", category=None, seed=7, prompt="a road at night", image="/f.png")


def test_units_and_found_clips_are_identities():
    assert issubclass(_Unit, ClipIdentity) and issubclass(ExistingClip, ClipIdentity)
    found = ExistingClip(**identity_fields(IDENTITY), path="/clips/night/a.mp4", model_id="m")
    unit = _Unit(**identity_fields(found), key="k", path=found.path)
    assert identity_fields(unit) == identity_fields(found) == dataclasses.asdict(IDENTITY)


def test_a_record_keeps_the_identity_fields_flat_in_the_saved_order():
    names = [f.name for f in dataclasses.fields(ClipRecord)]
    identity_names = [f.name for f in dataclasses.fields(ClipIdentity)]
    assert [n for n in names if n in identity_names] == identity_names
    record_hints, identity_hints = typing.get_type_hints(ClipRecord), typing.get_type_hints(ClipIdentity)
    assert all(record_hints[n] == identity_hints[n] for n in identity_names)
    # The saved key order of audit.json and cards/*.json, unchanged by the identity type.
    assert names[:17] == ["clip_id", "group", "condition", "path", "sha256", "event", "road", "category", "manifest",
                          "seed", "prompt", "image", "model_id", "weights_sha256", "adapters", "labels_source",
                          "task_key"]


def test_record_of_an_identity_round_trips():
    record = ClipRecord.of(IDENTITY, path="/a.mp4", seed=8, task_key="t")
    assert record.identity == dataclasses.replace(IDENTITY, seed=8)
    assert (record.path, record.task_key, record.prompt) == ("/a.mp4", "t", "a road at night")
    flat = ClipRecord(**{**dataclasses.asdict(IDENTITY), "seed": 8}, path="/a.mp4", task_key="t")
    assert json.dumps(record.to_dict()) == json.dumps(flat.to_dict())
    assert ClipRecord.from_dict(record.to_dict()) == record
