"""What a model folder holds, with every link resolved: the one view the safety checks and the hash read.

A model folder is untrusted input. diffusers opens its files by path and follows symbolic links, so a
link can make weights load from anywhere on disk. `folder_files` walks the folder *following* links,
resolves every entry, and refuses any entry that resolves outside the folder, naming the component.

Links that stay inside are allowed, because the Hugging Face cache is built of them: a snapshot
(`models--org--name/snapshots/<rev>/...`) links every file to `models--org--name/blobs/<sha>`. For a
snapshot, "inside" therefore means inside its `models--org--name` folder (`containment_root`); for
every other folder it means the folder itself.

Because the `.py` check and `weights_hash` read the same resolved list that diffusers then opens, no
file is loaded that the check did not see or the hash did not cover.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import ValidationError

MAX_DEPTH = 16  # a pipeline folder is two levels deep; more means a link chain nobody needs


@dataclass(frozen=True)
class FolderFile:
    """One file of a model folder: its name as diffusers opens it, and the file actually read."""

    relative: Path
    resolved: Path


def containment_root(folder: Path) -> Path:
    """The folder every file of `folder` must resolve into (see the module docstring)."""
    folder = Path(folder).resolve()
    repo = folder.parent.parent
    if folder.parent.name == "snapshots" and repo.name.startswith("models--") and (repo / "blobs").is_dir():
        return repo
    return folder


def _resolve_inside(folder: Path, relative: Path, root: Path) -> Path:
    """Resolve one entry, or raise one sentence naming its component."""
    component = relative.parts[0] if relative.parts else "."
    try:
        resolved = (folder / relative).resolve(strict=True)
    except FileNotFoundError:
        raise ValidationError(f"component '{component}' in model folder '{folder}' has a link to a missing "
                              f"file ({relative}).") from None
    except (RuntimeError, OSError) as exc:  # Python raises RuntimeError on a symlink loop
        raise ValidationError(f"component '{component}' in model folder '{folder}' could not be resolved "
                              f"({relative}: {exc}).") from None
    if not resolved.is_relative_to(root):
        raise ValidationError(f"component '{component}' in model folder '{folder}' leads outside it "
                              f"({relative} -> {resolved}); links must stay inside the model folder.")
    return resolved


def folder_files(folder: Path) -> list[FolderFile]:
    """Every file under `folder`, links followed and resolved, sorted by relative path.

    Raises ValidationError for an entry that resolves outside `containment_root(folder)`, a dangling
    link, a link loop, or anything that is neither a file nor a folder.
    """
    folder = Path(folder)
    root = containment_root(folder)
    files: list[FolderFile] = []
    # Each pending folder carries the resolved folders above it, so a link back up is a loop, not a hang.
    pending: list[tuple[Path, tuple[Path, ...]]] = [(Path(), ())]
    while pending:
        relative_dir, ancestors = pending.pop()
        real_dir = _resolve_inside(folder, relative_dir, root)
        if real_dir in ancestors or len(ancestors) > MAX_DEPTH:
            raise ValidationError(f"model folder '{folder}' has a link loop at '{relative_dir}'.")
        for child in sorted((folder / relative_dir).iterdir()):
            relative = relative_dir / child.name
            resolved = _resolve_inside(folder, relative, root)
            if resolved.is_dir():
                pending.append((relative, ancestors + (real_dir,)))
            elif resolved.is_file():
                files.append(FolderFile(relative, resolved))
            else:
                raise ValidationError(f"'{relative}' in model folder '{folder}' is not a regular file.")
    return sorted(files, key=lambda f: f.relative.parts)  # the order Path sorts in, as the hash always used


_hash_cache: dict[tuple[str, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _hash_cache[key] = digest.hexdigest()
    return _hash_cache[key]


def weights_hash(folder: Path) -> str:
    """SHA-256 over every `.safetensors` file diffusers can open in `folder` (its name there, and the
    bytes of the file it resolves to), in sorted order; cached per resolved file's size and mtime."""
    digest = hashlib.sha256()
    for entry in folder_files(folder):
        if entry.relative.suffix == ".safetensors":
            digest.update(entry.relative.as_posix().encode())
            digest.update(_file_sha256(entry.resolved).encode())
    return digest.hexdigest()


# Weight file names diffusers and transformers write: `<stem>[.<variant>][-00001-of-00002].safetensors`
# (a sharded variant is `diffusion_pytorch_model.fp16-00001-of-00002.safetensors`); the shards themselves
# say the variant, so the index files need not be read.
_WEIGHT_NAME = re.compile(r"^(diffusion_pytorch_model|model)(?:\.([A-Za-z0-9_]+))?(?:-\d{5}-of-\d{5})?\.safetensors$")


def weight_variants(folder: Path) -> dict[str, set[str | None]]:
    """Per component folder, the weight variants it holds (None for plain files), e.g. {"unet": {"fp16"}}."""
    variants: dict[str, set[str | None]] = {}
    for entry in folder_files(folder):
        match = _WEIGHT_NAME.match(entry.relative.name)
        if match and len(entry.relative.parts) == 2:
            variants.setdefault(entry.relative.parts[0], set()).add(match.group(2))
    return variants


def detect_variant(folder: Path, preferred: str | None = None) -> str | None:
    """The weights `variant=` to load `folder` with, read from the files present.

    `huggingface-cli download` with a card's `variant="fp16"` filter leaves only `*.fp16.safetensors`
    files, which diffusers finds only when told the variant. Plain files win when every component has
    them, unless `preferred` is given and every component has that variant. Raises ValidationError when
    no single variant covers every component (each component must load the same way).
    """
    variants = weight_variants(folder)
    if not variants:
        return None
    if preferred is not None and all(preferred in held for held in variants.values()):
        return preferred
    if all(None in held for held in variants.values()):
        return None
    common = set.intersection(*variants.values()) - {None}
    if len(common) == 1:
        return common.pop()
    if common:  # several variants in every component, no plain files: a stable, documented choice
        return min(common)
    listing = "; ".join(f"{name}: {', '.join(sorted(v or 'plain' for v in held))}"
                        for name, held in sorted(variants.items()))
    raise ValidationError(f"model folder '{folder}' has no weights variant shared by every component ({listing}); "
                          "download the same variant of every component.")
