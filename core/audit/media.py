"""Bringing what an audit shows inside its own folder, so the studio and the report can play it.

An audit of existing clips reads them wherever they lie, but the studio serves files only from its
clips and audits folders (that restriction stays), and the offline report can only point at files
beside it. So each audited clip, and the one reference clip shown per condition, gets a file in
<audit>/media/ named by core.audit.store.clip_key:

- "original": the clip already lies inside the audit folder and a browser plays it (generated clips);
- "link": a hard link (same file system: no extra space, same bytes);
- "copy": a byte copy (another file system, or linking is not allowed);
- "preview": a small H.264 re-encode, when the source is not H.264 in MP4 (e.g. MPEG-4 in an AVI, WebM).

Each file's SHA-256 is recorded. A link or copy must hash exactly like the measured clip; when it does
not (the source changed under the audit), nothing is brought and the clip has no media.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from core.audit.records import AuditResult, ClipRecord, MediaFile
from core.errors import ValidationError

if TYPE_CHECKING:
    from core.audit.store import AuditStore

# What every browser plays, per container suffix: H.264 in MP4. Anything else (WebM, AVI, HEVC, ...)
# gets a preview, so media/ holds only .mp4 files, the one video type the studio's file route serves.
PLAYABLE = {".mp4": ("h264",), ".m4v": ("h264",)}
MEDIA_SUFFIX = ".mp4"
PREVIEW_MAX_WIDTH = 640  # px: enough to judge a clip on screen, small enough to encode in a fraction of a second
PREVIEW_CRF = 26  # H.264 quality of previews (18 is visually lossless; a preview only has to be watchable)


def browser_plays(path: Path) -> bool:
    """True when every browser plays `path` as it is: H.264 in an MP4 (by suffix and probed codec)."""
    from core.video_io import probe

    codecs = PLAYABLE.get(path.suffix.lower())
    if not codecs:
        return False
    try:
        codec = probe(path).codec.split(" ")[0].lower()
    except ValidationError:
        return False
    return codec in codecs


def _link_or_copy(source: Path, target: Path) -> str:
    """Put `source`'s bytes at `target` atomically: a hard link when possible, else a copy. Returns the kind.

    The link goes to a hidden temporary name, then is renamed over `target`, so a reader sees either the
    old file or the whole new one. The link is not chmod-ed: it shares the source's inode and mode, and
    changing it would change the user's own file.
    """
    from core.atomic import atomic_path

    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.link")
    try:
        os.link(source, temporary)
        os.replace(temporary, target)
        return "link"
    except OSError:  # another file system (EXDEV), a protected link (EPERM), or no link support
        pass
    finally:
        if temporary.exists():
            temporary.unlink()
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return "copy"


def _preview(source: Path, target: Path) -> None:
    """A small H.264 MP4 of `source` at its frame rate, at most PREVIEW_MAX_WIDTH wide (even sides)."""
    import numpy as np
    import PIL.Image

    from core.video_io import iter_frames, probe, write_mp4

    info = probe(source)
    scale = min(1.0, PREVIEW_MAX_WIDTH / max(1, info.width))
    width, height = max(2, int(info.width * scale) // 2 * 2), max(2, int(info.height * scale) // 2 * 2)
    frames = [np.asarray(PIL.Image.fromarray(f).resize((width, height), PIL.Image.BILINEAR))
              for f in iter_frames(source)]
    if not frames:
        raise ValidationError(f"video '{source}' holds no frames.")
    write_mp4(np.stack(frames), target, fps=info.fps or 10.0, crf=PREVIEW_CRF)


def _remove_others(folder: Path, key: str, keep: Path) -> None:
    """Delete earlier media of the same key (another suffix, or a preview of older bytes).

    Only exact media names of this key match: another clip's key may start with this one plus a dot.
    """
    for path in folder.glob(f"{key}.*") if folder.is_dir() else []:
        rest = path.name[len(key):]
        ours = rest == MEDIA_SUFFIX or re.fullmatch(r"\.[0-9a-f]{12}\.preview\.mp4", rest) is not None
        if ours and path != keep and path.is_file():
            path.unlink()


def bring(store: "AuditStore", key: str, source: Path, sha256: str) -> MediaFile | None:
    """The playable file of `source` inside the audit folder, made if missing; None when it cannot be.

    key: file stem under media/ (a clip_key, or reference/<clip_key>); sha256: the hash the audit
    measured `source` with. An existing media file with the expected hash is reused, so a resumed
    audit copies nothing again.
    Returns None (the views then say the clip cannot play) when the source cannot be decoded or its
    bytes no longer match `sha256`.
    """
    from core.audit.measure import file_sha256

    source, root = Path(source).resolve(), store.root.resolve()
    playable = browser_plays(source)
    if playable and source.suffix.lower() == MEDIA_SUFFIX and source.is_relative_to(root):
        return MediaFile(path=source.relative_to(root).as_posix(), sha256=sha256, kind="original", source=str(source))
    # A preview is named by its source's hash, so a changed source never reuses a stale preview.
    name = f"{key}{MEDIA_SUFFIX}" if playable else f"{key}.{sha256[:12]}.preview{MEDIA_SUFFIX}"
    target = store.media_dir / name
    try:
        _remove_others(target.parent, Path(key).name, target)
        if playable:
            if target.is_file() and file_sha256(target) == sha256:
                kind = "link" if os.path.samefile(source, target) else "copy"
                return MediaFile(target.relative_to(store.root).as_posix(), sha256, kind, str(source))
            kind = _link_or_copy(source, target)
            if file_sha256(target) != sha256:
                target.unlink()  # the source changed after it was measured: show nothing rather than other bytes
                return None
            return MediaFile(target.relative_to(store.root).as_posix(), sha256, kind, str(source))
        if not target.is_file():
            _preview(source, target)
        return MediaFile(target.relative_to(store.root).as_posix(), file_sha256(target), "preview", str(source))
    except (OSError, ValidationError):
        return None


def bring_reference(store: "AuditStore", group: str, folder: Path | None) -> MediaFile | None:
    """The reference clip the views show for a group (the folder's first, sorted), in media/reference/."""
    from core.audit.measure import file_sha256
    from core.video_io import video_files
    from core.audit.store import clip_key

    clips = video_files(folder) if folder is not None else []
    if not clips:
        return None
    return bring(store, f"reference/{clip_key(group)}", clips[0], file_sha256(clips[0]))


def media_path(audit_dir: str | Path, media: MediaFile | None) -> Path | None:
    """The file of `media` inside `audit_dir`, or None when it is missing or would lie outside the folder."""
    if media is None or not audit_dir:
        return None
    root = Path(audit_dir).resolve()
    path = (root / media.path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def clip_media(audit: AuditResult, record: ClipRecord) -> Path | None:
    """What to play for one clip: its media file, else (audits made before media existed) the clip itself."""
    shown = media_path(audit.audit_dir, record.media)
    if shown is not None:
        return shown
    return Path(record.path) if record.path and Path(record.path).is_file() else None


def reference_media(audit: AuditResult, group: str) -> tuple[str, Path | None]:
    """(name, file) of the reference clip shown for a condition: its media file, else the first reference
    clip in the folder (older audits); ("", None) when the condition has no reference clips."""
    from core.audit.drilldown import reference_clips

    summary = audit.condition(group)
    shown = media_path(audit.audit_dir, summary.reference_media) if summary else None
    if summary is not None and summary.reference_media is not None and shown is not None:
        return Path(summary.reference_media.source).stem or shown.stem, shown
    references = reference_clips(audit, group)
    return (Path(references[0]).stem, Path(references[0])) if references else ("", None)
