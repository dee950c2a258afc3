"""An audit brings what it shows inside its own folder: hard link, else copy, else an H.264 preview,
each with its SHA-256, so clips from anywhere play on the Present page, the drill-down and the report."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np

import core.audit.media as media
from core.audit.measure import file_sha256
from core.audit.media import bring, clip_media, reference_media
from core.audit.plan import parse_plan
from core.audit.runner import run_audit
from core.audit.store import AuditStore, load_audit
from core.video_io import probe
from tests.test_audit_fixtures import SYNTH_CONDITIONS, synth_clips, synth_reference  # noqa: F401


def _subset(synth_clips, folder, per_condition=1):  # noqa: F811
    """One clip per condition (with its labels JSON), copied into `folder`, outside any audit folder."""
    for condition in SYNTH_CONDITIONS:
        (folder / condition).mkdir(parents=True)
        for mp4 in sorted(synth_clips.glob(f"{condition}/*.mp4"))[:per_condition]:
            shutil.copy(mp4, folder / condition / mp4.name)
            shutil.copy(mp4.with_suffix(".json"), folder / condition / mp4.with_suffix(".json").name)
    return folder


def test_clips_outside_the_audit_are_linked_in_with_their_hash(synth_clips, synth_reference, tmp_path):  # noqa: F811
    clips = _subset(synth_clips, tmp_path / "elsewhere")
    out = tmp_path / "data" / "audits" / "outside"
    audit = run_audit(parse_plan({"clips": str(clips), "reference": str(synth_reference)}), out, workers=1)
    root = out.resolve()
    for clip in audit.clips:
        shown = clip_media(audit, clip)
        assert shown is not None and shown.is_relative_to(root) and shown.parent == root / "media"
        assert clip.media.kind == "link" and os.path.samefile(shown, clip.path)  # same file system: no copy
        assert clip.media.sha256 == clip.sha256 == file_sha256(shown)
    for condition in ("clear_day", "dust_storm"):  # the two with reference clips
        name, shown = reference_media(audit, condition)
        recorded = audit.condition(condition).reference_media.sha256
        assert shown.is_relative_to(root) and name and file_sha256(shown) == recorded
    assert reference_media(audit, "night") == ("", None)
    assert load_audit(out).clips[0].media == audit.clips[0].media  # saved with the audit


def test_without_hard_links_the_clip_is_copied(synth_clips, tmp_path, monkeypatch):  # noqa: F811
    def no_link(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(media.os, "link", no_link)
    source = next(iter(sorted(synth_clips.rglob("*.mp4"))))
    store = AuditStore(tmp_path / "audit")
    copied = bring(store, "k-1", source, file_sha256(source))
    assert copied.kind == "copy" and copied.sha256 == file_sha256(store.root / copied.path)
    assert not os.path.samefile(store.root / copied.path, source)
    assert not [p for p in store.media_dir.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_linking_leaves_the_users_file_mode_alone(synth_clips, tmp_path):  # noqa: F811
    source = tmp_path / "private.mp4"
    shutil.copy(next(iter(sorted(synth_clips.rglob("*.mp4")))), source)
    source.chmod(0o600)
    linked = bring(AuditStore(tmp_path / "audit"), "k-1", source, file_sha256(source))
    assert linked.kind == "link" and (source.stat().st_mode & 0o777) == 0o600


def test_a_clip_the_browser_cannot_play_gets_an_h264_preview(tmp_path):
    import imageio_ffmpeg

    source = tmp_path / "old-camera.avi"
    writer = imageio_ffmpeg.write_frames(str(source), size=(96, 64), fps=10, codec="mpeg4", macro_block_size=2,
                                         ffmpeg_log_level="error")
    writer.send(None)
    for t in range(8):
        writer.send(np.full((64, 96, 3), 20 * t, np.uint8))
    writer.close()
    store = AuditStore(tmp_path / "audit")
    preview = bring(store, "k-1", source, file_sha256(source))
    shown = store.root / preview.path
    assert preview.kind == "preview" and shown.suffix == ".mp4" and preview.source == str(source.resolve())
    info = probe(shown)
    assert info.codec == "h264" and (info.width, info.height, info.num_frames) == (96, 64, 8)
    assert preview.sha256 == file_sha256(shown) != file_sha256(source)


def test_a_source_that_changed_since_it_was_measured_is_not_shown(synth_clips, tmp_path):  # noqa: F811
    source = next(iter(sorted(synth_clips.rglob("*.mp4"))))
    store = AuditStore(tmp_path / "audit")
    assert bring(store, "k-1", source, "0" * 64) is None
    assert not list(store.media_dir.glob("k-1*"))


def test_rerunning_an_audit_made_before_media_brings_its_clips_in(synth_clips, tmp_path):  # noqa: F811
    clips = _subset(synth_clips, tmp_path / "elsewhere")
    out = tmp_path / "audit"
    plan = parse_plan({"clips": str(clips)})
    audit = run_audit(plan, out, workers=1)
    shutil.rmtree(out / "media")
    for card in (out / "cards").glob("*.json"):  # as written before records had media
        record = json.loads(card.read_text())
        record.pop("media")
        card.write_text(json.dumps(record))
    again = run_audit(plan, out, workers=1)
    assert again.provenance.timings["clips_resumed"] == len(audit.clips)
    assert all(clip_media(again, c).parent == out.resolve() / "media" for c in again.clips)


def test_earlier_media_of_another_key_is_never_removed(synth_clips, tmp_path):  # noqa: F811
    source = next(iter(sorted(synth_clips.rglob("*.mp4"))))
    store = AuditStore(tmp_path / "audit")
    other = bring(store, "k-1.x-2", source, file_sha256(source))  # a key that starts with ours plus a dot
    bring(store, "k-1", source, file_sha256(source))
    assert (store.root / other.path).is_file()
