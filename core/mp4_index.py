"""What an MP4/MOV container says about itself: its video track's frame count, and whether it is cut short.

The decoder alone cannot tell a short clip from a cut one: ffmpeg decodes what is there and stops.
The container can. Its top-level boxes declare their sizes (a file cut at 47% ends inside its `mdat`),
and the video track's sample table (`stsz`) holds one entry per frame. Only box headers and the `moov`
box are read, never the media data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

MAX_MOOV_BYTES = 64 * 1024 * 1024  # a 40-frame clip's moov is a few kB; an hour of video stays far below
MP4_SUFFIXES = (".mp4", ".mov", ".m4v")


@dataclass(frozen=True)
class ContainerIndex:
    """`video_frames`: entries in the video track's sample table (None when there is none to read);
    `damage`: why the container is not whole, or "" when it is."""

    video_frames: int | None
    damage: str = ""


def _box_header(data: bytes, position: int, end: int) -> tuple[bytes, int, int] | None:
    """(type, payload start, box end) of the box at `position`, or None when no header fits."""
    if position + 8 > end:
        return None
    size, kind = struct.unpack(">I4s", data[position:position + 8])
    header = 8
    if size == 1:
        if position + 16 > end:
            return None
        size, header = struct.unpack(">Q", data[position + 8:position + 16])[0], 16
    elif size == 0:  # "to the end of the enclosing space"
        size = end - position
    return kind, position + header, position + max(size, header)


def _children(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    position = start
    while (box := _box_header(data, position, end)) is not None and box[2] <= end:
        yield box
        position = box[2]


def _find(data: bytes, start: int, end: int, path: tuple[bytes, ...]) -> tuple[int, int] | None:
    for kind, payload, box_end in _children(data, start, end):
        if kind == path[0]:
            return (payload, box_end) if len(path) == 1 else _find(data, payload, box_end, path[1:])
    return None


def _video_frames(moov: bytes) -> int | None:
    """Sample count of the first video track (`hdlr` type 'vide'), from `stsz` or `stz2`."""
    for kind, payload, box_end in _children(moov, 0, len(moov)):
        if kind != b"trak":
            continue
        handler = _find(moov, payload, box_end, (b"mdia", b"hdlr"))
        if handler is None or moov[handler[0] + 8:handler[0] + 12] != b"vide":
            continue
        for table in (b"stsz", b"stz2"):
            found = _find(moov, payload, box_end, (b"mdia", b"minf", b"stbl", table))
            if found is not None and found[0] + 12 <= found[1]:
                return struct.unpack(">I", moov[found[0] + 8:found[0] + 12])[0]
    return None


def read_container_index(path: Path) -> ContainerIndex | None:
    """The container's own account of `path`, or None when it is not an MP4/MOV file."""
    path = Path(path)
    if path.suffix.lower() not in MP4_SUFFIXES:
        return None
    size = path.stat().st_size
    frames: int | None = None
    with path.open("rb") as handle:
        position = 0
        while position + 8 <= size:
            handle.seek(position)
            box = _box_header(handle.read(16), 0, size - position)  # offsets are from `position`
            if box is None:
                return ContainerIndex(frames, f"it ends inside a box header at byte {position}")
            kind, payload, box_end = box
            if position + box_end > size:
                return ContainerIndex(frames, f"its '{kind.decode(errors='replace')}' box needs "
                                              f"{position + box_end} bytes but the file has {size}")
            if kind == b"moov" and box_end - payload <= MAX_MOOV_BYTES:
                handle.seek(position + payload)
                frames = _video_frames(handle.read(box_end - payload))
            position += box_end
    if position < size:
        return ContainerIndex(frames, f"it ends {size - position} bytes into a box header")
    return ContainerIndex(frames)
