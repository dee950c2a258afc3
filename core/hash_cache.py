"""A persistent cache of file SHA-256s, so hashing a model costs one `stat` per file after its first load.

The cache is one SQLite file, `core.paths.data_dir()/file-hashes.sqlite`, shared by every process of the
studio. A row maps a file's resolved path to its digest and to the identity the file had when it was read:
size, mtime_ns, ctime_ns, inode and device. A lookup re-stats the file and uses the row only if all five
still match. mtime alone would not do: it can be set back by anyone (`touch -d`, `cp -p`, an unpacked
archive), but ctime cannot, and a file swapped in by rename has a new inode.

Rules, and why:
- Racy files are hashed but not cached (as git does for its index). A file changed within
  `RACY_WINDOW_NS` of the stat could be changed again inside the same timestamp tick (kernel timestamps
  are coarse; some file systems keep whole seconds), keeping size and times, so a row stored now could
  later vouch for different bytes. After the window, any change moves ctime.
- A file whose identity changes while it is read is not cached either: the digest may mix two versions.
- Damage never fails a load. A cache file that is not a database, or has a foreign schema, is deleted
  and rebuilt; if the data folder cannot be written, files are simply hashed every time.
- Writes are single-row SQLite transactions (write-ahead log) with a busy timeout, so processes that
  share the data folder wait for one another instead of failing; two writers storing the same file store
  the same row. A writer still locked out after the timeout skips storing: the file is hashed next time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_FILE_NAME = "file-hashes.sqlite"
RACY_WINDOW_NS = 2_000_000_000  # 2 s: longer than any file system's timestamp granularity (FAT's is 2 s)
BUSY_TIMEOUT_S = 30.0  # how long a process waits for another's write before going on without the cache
SCHEMA_VERSION = 1
READ_BLOCK = 1 << 20  # bytes per read while hashing
_SCHEMA = ("CREATE TABLE IF NOT EXISTS file_hashes ("
           "path TEXT PRIMARY KEY, identity TEXT NOT NULL, sha256 TEXT NOT NULL)")


@dataclass(frozen=True)
class FileIdentity:
    """What a file looked like on disk: size in bytes, mtime and ctime in ns since the epoch, inode, device."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)

    def key(self) -> str:
        """The identity as stored: text, because inode and device numbers may not fit SQLite's int64."""
        return f"{self.size}:{self.mtime_ns}:{self.ctime_ns}:{self.inode}:{self.device}"

    def is_racy(self, at_ns: int) -> bool:
        """True when the file changed less than `RACY_WINDOW_NS` before `at_ns` (or claims a future time)."""
        return at_ns - max(self.mtime_ns, self.ctime_ns) < RACY_WINDOW_NS


def now_ns() -> int:
    """Wall-clock time in ns, the reference for the racy check (tests move it forward)."""
    return time.time_ns()


def read_sha256(path: Path) -> str:
    """SHA-256 (hex) of the bytes of `path`: the only place this module reads file contents."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def default_cache_path() -> Path:
    """`data_dir()/file-hashes.sqlite`, read at call time so a changed SCENARIO_STUDIO_DATA is followed."""
    from core.paths import data_dir

    return data_dir() / CACHE_FILE_NAME


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class FileHashCache:
    """SHA-256 of files, remembered across processes. Use as a context manager, or call `close()`.

    `sha256(path)` is the whole interface; every cache failure falls back to reading the file.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self._connection: sqlite3.Connection | None = None
        self._unusable = False  # set once opening and rebuilding both failed: hash without the cache

    def __enter__(self) -> FileHashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def sha256(self, path: Path) -> str:
        """SHA-256 (hex) of the file `path` resolves to; a stat and one query when its row still matches."""
        resolved = Path(path).resolve()
        before = FileIdentity.of(resolved)
        cached = self._lookup(str(resolved), before)
        if cached is not None:
            return cached
        digest = read_sha256(resolved)
        after = FileIdentity.of(resolved)
        if after == before and not after.is_racy(now_ns()):
            self._store(str(resolved), after, digest)
        return digest

    # ----- SQLite, with every failure contained -----

    def _lookup(self, path: str, identity: FileIdentity) -> str | None:
        row = self._run("SELECT identity, sha256 FROM file_hashes WHERE path = ?", (path,))
        if row and row[0] == identity.key() and _is_sha256(row[1]):
            return row[1]
        return None

    def _store(self, path: str, identity: FileIdentity, digest: str) -> None:
        self._run("INSERT OR REPLACE INTO file_hashes (path, identity, sha256) VALUES (?, ?, ?)",
                  (path, identity.key(), digest))

    def _run(self, sql: str, params: tuple) -> tuple | None:
        """Run one statement in its own transaction; the first row, or None when the cache is unavailable.

        A locked database (another process writing past the timeout) skips the cache this once; a damaged
        one is rebuilt and the statement retried once.
        """
        for attempt in range(2):
            connection = self._connect()
            if connection is None:
                return None
            try:
                with connection:  # commits, or rolls back on error
                    return connection.execute(sql, params).fetchone()
            except sqlite3.OperationalError as exc:  # locked, read-only, disk full: not damage
                log.debug("file-hash cache %s skipped: %s", self.path, exc)
                return None
            except sqlite3.DatabaseError as exc:
                if attempt == 0:
                    log.warning("file-hash cache %s is damaged (%s); rebuilding it.", self.path, exc)
                    self._discard()
        return None

    def _connect(self) -> sqlite3.Connection | None:
        """The open connection; opens it on first use, rebuilding a damaged file once."""
        for attempt in range(2):
            if self._connection is not None or self._unusable:
                break
            try:
                self._connection = self._open()
            except (sqlite3.OperationalError, OSError) as exc:  # locked or unwritable: not damage, keep it
                log.warning("file-hash cache %s unavailable (%s); hashing without it.", self.path, exc)
                self._unusable = True
            except sqlite3.DatabaseError as exc:
                if attempt == 0:
                    log.warning("file-hash cache %s is damaged (%s); rebuilding it.", self.path, exc)
                    self._discard()
                else:
                    self._unusable = True
        return self._connection

    def _open(self) -> sqlite3.Connection:
        """Open the cache file, creating it, or replacing a foreign schema; raises on a damaged file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            # WAL with synchronous=NORMAL: a commit does not wait for the disk, and a crash loses at most the
            # last rows (files are then hashed again), never the database. Where WAL is unsupported (some
            # network file systems) SQLite keeps its rollback journal, which is just slower.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            with connection:
                version = connection.execute("PRAGMA user_version").fetchone()[0]  # fails on a non-database
                if version != SCHEMA_VERSION:
                    connection.execute("DROP TABLE IF EXISTS file_hashes")
                    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                connection.execute(_SCHEMA)
        except BaseException:
            connection.close()
            raise
        return connection

    def _discard(self) -> None:
        """Delete the cache file and its journals. A process still holding the old file keeps its handle."""
        self.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not delete %s%s: %s", self.path, suffix, exc)
