"""Symbolic links in model folders (issue 11, section 9): every file resolves inside, or is refused.

Policy under test: a link that stays inside the model folder is followed (and hashed by the name diffusers
opens); a link that leaves it, dangles or loops is refused with one sentence naming the component. A
Hugging Face snapshot may link into its own `models--org--name/blobs` folder and no further.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.loading import LoadOptions, _load, check_model_folder, weights_hash
from core.model_folder import folder_files
from core.registry import resolve_model
from core.user_models import add_user_model

WEIGHTS = Path("transformer") / "diffusion_pytorch_model.safetensors"


@pytest.fixture
def pipeline(tiny_model, tmp_path) -> Path:
    """A private copy of the tiny LTX pipeline, inside `tmp_path/models`."""
    return Path(shutil.copytree(tiny_model("ltx_i2v"), tmp_path / "models" / "ltx"))


def _move_and_link(pipeline: Path, relative: Path, destination: Path, target: str | Path | None = None) -> None:
    """Move `pipeline/relative` to `destination` and leave a link to it (or to `target`) in its place."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(pipeline / relative, destination)
    os.symlink(target or destination, pipeline / relative)


def test_component_folder_linked_outside_is_refused_everywhere(pipeline, tmp_path):
    _move_and_link(pipeline, Path("transformer"), tmp_path / "elsewhere" / "transformer")
    with pytest.raises(ValidationError, match=r"component 'transformer' .* leads outside it"):
        check_model_folder(pipeline)
    with pytest.raises(ValidationError, match="component 'transformer'"):
        weights_hash(pipeline)  # the hash can never quietly skip (or include) a file outside
    with pytest.raises(ValidationError, match="component 'transformer'"):
        _load(resolve_model(str(pipeline)), LoadOptions(device="cpu"))
    with pytest.raises(ValidationError, match="component 'transformer'"):
        add_user_model(pipeline, tmp_path / "models", tmp_path / "data")


def test_weights_file_linked_outside_is_refused(pipeline, tmp_path):
    _move_and_link(pipeline, WEIGHTS, tmp_path / "elsewhere" / "weights.safetensors")
    with pytest.raises(ValidationError, match=r"component 'transformer' .* leads outside it"):
        check_model_folder(pipeline)


def test_python_file_behind_a_link_is_refused(pipeline, tmp_path):
    evil = tmp_path / "elsewhere" / "evil.py"
    evil.parent.mkdir()
    evil.write_text("import os\n")
    os.symlink(evil, pipeline / "transformer" / "notes.txt")  # outside: refused before any name check
    with pytest.raises(ValidationError, match=r"component 'transformer' .* leads outside it"):
        check_model_folder(pipeline)
    (pipeline / "transformer" / "notes.txt").unlink()
    shutil.move(evil, pipeline / "scheduler" / "evil.txt")  # inside, but the link names it as code
    os.symlink("../scheduler/evil.txt", pipeline / "transformer" / "helper.py")
    with pytest.raises(ValidationError, match=r"holds Python code \(transformer/helper.py\)"):
        check_model_folder(pipeline)


def test_link_inside_the_folder_loads_and_the_hash_covers_it(pipeline, tmp_path):
    # transformer/ becomes a relative link to _store/transformer, which stays inside the folder.
    _move_and_link(pipeline, Path("transformer"), pipeline / "_store" / "transformer", "_store/transformer")
    check_model_folder(pipeline)
    assert WEIGHTS in {entry.relative for entry in folder_files(pipeline)}
    # The hash sees the folder as diffusers does: equal to a copy with every link replaced by its file.
    plain = Path(shutil.copytree(pipeline, tmp_path / "plain", symlinks=False))
    assert not (plain / "transformer").is_symlink()
    assert weights_hash(pipeline) == weights_hash(plain)
    loaded = _load(resolve_model(str(pipeline)), LoadOptions(device="cpu"))
    assert loaded.weights_hash == weights_hash(pipeline)
    before = weights_hash(pipeline)
    target = pipeline / "_store" / WEIGHTS
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    assert weights_hash(pipeline) != before  # the linked bytes are the hashed bytes


def test_dangling_link_and_link_loop_are_refused(pipeline):
    os.symlink(pipeline / "nowhere.safetensors", pipeline / "transformer" / "extra.safetensors")
    with pytest.raises(ValidationError, match="link to a missing file"):
        check_model_folder(pipeline)
    (pipeline / "transformer" / "extra.safetensors").unlink()
    os.symlink("..", pipeline / "transformer" / "up")
    with pytest.raises(ValidationError, match="link loop"):
        check_model_folder(pipeline)


def _as_hub_snapshot(pipeline: Path, cache: Path) -> Path:
    """Lay `pipeline` out as the Hugging Face cache does: snapshot files are links into blobs/."""
    repo = cache / "models--org--tiny"
    snapshot = repo / "snapshots" / "0123abc"
    (repo / "blobs").mkdir(parents=True)
    for number, path in enumerate(sorted(p for p in pipeline.rglob("*") if p.is_file())):
        relative = path.relative_to(pipeline)
        blob = repo / "blobs" / f"blob{number}"
        shutil.copyfile(path, blob)
        (snapshot / relative).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, (snapshot / relative).parent), snapshot / relative)
    return snapshot


def test_hub_snapshot_links_into_its_blobs_are_accepted_and_no_further(pipeline, tmp_path):
    snapshot = _as_hub_snapshot(pipeline, tmp_path / "hf")
    check_model_folder(snapshot)
    assert weights_hash(snapshot) == weights_hash(pipeline)
    outside = tmp_path / "outside.safetensors"
    shutil.copyfile(snapshot / WEIGHTS, outside)
    (snapshot / WEIGHTS).unlink()
    os.symlink(outside, snapshot / WEIGHTS)
    with pytest.raises(ValidationError, match=r"component 'transformer' .* leads outside it"):
        check_model_folder(snapshot)
