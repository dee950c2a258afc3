"""Where an audit lives on disk, and loading saved audits.

    <audit dir>/
      plan.json                 the plan as run (AuditPlan.to_dict)
      clips/<clip id>.mp4|.json generated clips and their engine manifests (generate mode)
      cards/<key>.json          one ClipRecord per clip, written atomically when its metrics finish:
                                the unit of resumption (<key> = clip_key(clip id), unique per id)
      cards/<key>.npz           the clip's FVD features (only for conditions with reference clips)
      cards/<key>.png           thumbnail strip (first, first flagged or middle, last frame)
      media/<key>.mp4|...       what the views play of a clip that lies outside the folder (core.audit.media)
      features/                 reference-feature caches when the reference folder is read-only
      audit.json                the whole AuditResult
      signoffs.json             reviewers' sign-offs (atomic; history kept)
      report.html, clips.csv, conditions.csv, audit-export.json   the exported report
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from core.atomic import atomic_path, write_json_atomic
from core.audit.records import SIGNED_IN, TYPED, AuditResult, ClipRecord, SignOff
from core.errors import ValidationError

_SIGNOFF_LOCK = threading.Lock()  # one writer at a time per process (the web app serves several users)


def default_audits_dir() -> Path:
    """Folder holding audits by name: <data dir>/audits (SCENARIO_STUDIO_DATA moves it)."""
    from core.paths import data_dir

    return data_dir() / "audits"


def safe_name(name: str) -> str:
    """A folder-safe version of an audit or clip name (letters, digits, - _ . only)."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return cleaned or "audit"


KEY_HASH_HEX = 32  # 128 bits of SHA-256: two ids sharing a key would need a SHA-256 collision
KEY_SLUG_CHARS = 64  # keeps file names well under the usual 255-byte limit


def clip_key(clip_id: str) -> str:
    """The file stem of a clip's files (cards/, media/): a readable slug plus a hash of the exact id.

    The slug alone (safe_name) maps 'a b', 'a_b' and 'a?b' to one name; the hash keeps every id apart,
    also on case-insensitive file systems (its hex is lower case, so ids differing only in case still
    differ in the hash part).
    """
    digest = hashlib.sha256(clip_id.encode("utf-8")).hexdigest()[:KEY_HASH_HEX]
    return f"{safe_name(clip_id)[:KEY_SLUG_CHARS]}-{digest}"


@dataclass(frozen=True)
class AuditStore:
    """Paths of one audit folder."""

    root: Path

    @property
    def plan_path(self) -> Path:
        return self.root / "plan.json"

    @property
    def clips_dir(self) -> Path:
        return self.root / "clips"

    @property
    def cards_dir(self) -> Path:
        return self.root / "cards"

    @property
    def features_dir(self) -> Path:
        return self.root / "features"

    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    @property
    def audit_path(self) -> Path:
        return self.root / "audit.json"

    @property
    def signoffs_path(self) -> Path:
        return self.root / "signoffs.json"

    def record_path(self, clip_id: str) -> Path:
        return self.cards_dir / f"{clip_key(clip_id)}.json"

    def features_path(self, clip_id: str) -> Path:
        return self.cards_dir / f"{clip_key(clip_id)}.npz"

    def thumbnail_path(self, clip_id: str) -> Path:
        return self.cards_dir / f"{clip_key(clip_id)}.png"

    def load_record(self, clip_id: str) -> ClipRecord | None:
        """The saved record of a clip, or None when there is none or it is unreadable (it is then redone).

        Records written before clip_key existed sit at cards/<safe_name(id)>.json, where two ids could
        share a file; such a record is used only when the id inside it is exactly `clip_id`.
        """
        for path in (self.record_path(clip_id), self.cards_dir / f"{safe_name(clip_id)}.json"):
            if not path.is_file():
                continue
            try:
                record = ClipRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError, KeyError):
                return None
            return record if record.clip_id == clip_id else None
        return None

    def save_record(self, record: ClipRecord) -> None:
        write_json_atomic(self.record_path(record.clip_id), record.to_dict())

    def save_thumbnail(self, clip_id: str, png: bytes) -> str:
        path = self.thumbnail_path(clip_id)
        with atomic_path(path) as tmp:
            tmp.write_bytes(png)
        return path.name

    def load_signoffs(self) -> list[SignOff]:
        if not self.signoffs_path.is_file():
            return []
        try:
            data = json.loads(self.signoffs_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ValidationError(f"sign-off file '{self.signoffs_path}' is not valid JSON.") from None
        return [SignOff.from_dict(item) for item in data.get("signoffs", [])]


def resolve_audit_dir(path: str | Path) -> Path:
    """An audit folder from the folder itself or its audit.json."""
    path = Path(path).expanduser()
    if path.is_file() and path.suffix == ".json":
        path = path.parent
    if not (path / "audit.json").is_file():
        raise ValidationError(f"'{path}' is not a finished audit: it has no audit.json.")
    return path


def load_audit(path: str | Path) -> AuditResult:
    """A saved audit (folder or its audit.json), with the current sign-offs merged in."""
    root = resolve_audit_dir(path)
    store = AuditStore(root)
    try:
        data = json.loads(store.audit_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ValidationError(f"'{store.audit_path}' is not valid JSON.") from None
    if not isinstance(data, dict) or not str(data.get("format", "")).startswith("scenario-studio-audit/"):
        raise ValidationError(f"'{store.audit_path}' is not an audit written by this tool.")
    audit = AuditResult.from_dict(data)
    audit.audit_dir = str(root)
    audit.signoffs = store.load_signoffs()
    return audit


def save_audit(audit: AuditResult) -> Path:
    """Write audit.json atomically into the audit's folder; returns its path."""
    store = AuditStore(Path(audit.audit_dir))
    write_json_atomic(store.audit_path, audit.to_dict())
    return store.audit_path


@dataclass(frozen=True)
class AuditListing:
    """One saved audit, for a picker: name, folder, verdict, clip count, creation time (UTC ISO)."""

    name: str
    path: str
    verdict: str
    clips: int
    created_utc: str


def list_audits(root: str | Path | None = None) -> list[AuditListing]:
    """Saved audits under `root` (default <data dir>/audits), newest first; unreadable ones are skipped."""
    root = Path(root) if root else default_audits_dir()
    listings = []
    for audit_json in sorted(root.glob("*/audit.json")) if root.is_dir() else []:
        try:
            data = json.loads(audit_json.read_text(encoding="utf-8"))
            listings.append(AuditListing(name=str(data.get("name", audit_json.parent.name)), path=str(audit_json.parent),
                                         verdict=str(data.get("verdict", "")), clips=len(data.get("clips", [])),
                                         created_utc=str((data.get("provenance") or {}).get("created_utc", ""))))
        except (OSError, ValueError):
            continue
    return sorted(listings, key=lambda a: a.created_utc, reverse=True)


def add_signoff(audit_dir: str | Path, clip_id: str, decision: str, reviewer: str, comment: str = "",
                identity: str = TYPED) -> SignOff:
    """Record a reviewer's accept/reject of one clip in <audit>/signoffs.json (atomic; history kept).

    identity: SIGNED_IN when `reviewer` is the studio's signed-in user, TYPED when it is free text.
    """
    from datetime import datetime, timezone

    root = resolve_audit_dir(audit_dir)
    store = AuditStore(root)
    if decision not in ("accept", "reject"):
        raise ValidationError(f"sign-off decision must be 'accept' or 'reject', got {decision!r}.")
    if identity not in (SIGNED_IN, TYPED):
        raise ValidationError(f"sign-off identity must be '{SIGNED_IN}' or '{TYPED}', got {identity!r}.")
    reviewer = (reviewer or "").strip()
    if not reviewer or len(reviewer) > 100:
        raise ValidationError("sign-off reviewer must be a name of 1 to 100 characters.")
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationError(f"sign-off comment must be at most 2000 characters, got {len(comment)}.")
    data = json.loads(store.audit_path.read_text(encoding="utf-8"))
    known = {c.get("clip_id") for c in data.get("clips", [])}
    if clip_id not in known:
        raise ValidationError(f"clip '{clip_id}' is not part of the audit in '{root}'.")
    signoff = SignOff(clip_id=clip_id, decision=decision, reviewer=reviewer, comment=comment,
                      timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"), identity=identity)
    with _SIGNOFF_LOCK:
        history = store.load_signoffs()
        history.append(signoff)
        write_json_atomic(store.signoffs_path, {"signoffs": [s.to_dict() for s in history]})
    return signoff
