"""The persistent file-hash cache (core.hash_cache) and the file list weights_hash covers (issue 12, section 1).

Reads of file bytes are counted by wrapping `core.hash_cache.read_sha256`, the module's only reader, so
"served from the cache" is proved by a count, never by timing. Freshly written files are racy (changed
within the last 2 s) and never cached; tests that need caching move the module's clock forward instead
of waiting.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core import hash_cache
from core.errors import ModelUnavailableError
from core.hash_cache import CACHE_FILE_NAME, RACY_WINDOW_NS, FileHashCache
from core.model_folder import loaded_files, weights_hash
from core.paths import PROJECT_ROOT
from tests.concurrency import wait_until


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """Every path whose bytes the cache reads, in order."""
    seen: list[Path] = []
    real = hash_cache.read_sha256

    def counting(path: Path) -> str:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(hash_cache, "read_sha256", counting)
    return seen


@pytest.fixture
def settled(monkeypatch) -> None:
    """Move the racy check's clock past the window, as if every file had been written long ago."""
    monkeypatch.setattr(hash_cache, "now_ns", lambda: time.time_ns() + 10 * RACY_WINDOW_NS)


def _reference(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cache_file(data_dir: Path) -> Path:
    return data_dir / CACHE_FILE_NAME


def test_cached_digest_is_the_files_sha256_and_the_second_call_reads_nothing(tmp_path, reads, settled,
                                                                              isolated_data_dir):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(os.urandom(3 * hash_cache.READ_BLOCK + 17))  # several blocks and a partial one
    with FileHashCache() as cache:
        assert cache.sha256(path) == _reference(path)
    assert reads == [path]
    with FileHashCache() as cache:  # a fresh connection: the digest came back from the file on disk
        assert cache.sha256(path) == _reference(path)
    assert reads == [path]
    assert _cache_file(isolated_data_dir).is_file()


def test_cache_persists_across_processes(tmp_path, isolated_data_dir, settled):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(os.urandom(4096))
    with FileHashCache() as cache:
        cache.sha256(path)
    # Another process, whose only reader fails: it can answer only from the cache file.
    script = ("import sys\nfrom core import hash_cache\n"
              "def refuse(path): raise SystemExit('read ' + str(path))\n"
              "hash_cache.read_sha256 = refuse\n"
              "print(hash_cache.FileHashCache().sha256(sys.argv[1]))\n")
    env = {**os.environ, "SCENARIO_STUDIO_DATA": str(isolated_data_dir), "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == _reference(path)


def test_same_size_new_mtime_is_rehashed(tmp_path, reads, settled):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\0" * 4096)
    cache = FileHashCache()
    first = cache.sha256(path)
    path.write_bytes(b"\1" * 4096)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # a mtime that certainly differs from the first
    assert cache.sha256(path) == _reference(path) != first
    assert len(reads) == 2


def test_mtime_restored_after_a_change_is_still_noticed(tmp_path, reads, settled):
    """`cp -p` or `touch -d` can put mtime back; ctime cannot be set, so the change is still seen."""
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\0" * 4096)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    cache = FileHashCache()
    first = cache.sha256(path)
    old_ctime = path.stat().st_ctime_ns
    wait_until(lambda: time.time_ns() > old_ctime + 50_000_000, "the clock to pass the file's ctime")
    path.write_bytes(b"\1" * 4096)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert path.stat().st_ctime_ns != old_ctime  # precondition: only ctime tells the versions apart
    assert cache.sha256(path) == _reference(path) != first


def test_racy_file_is_hashed_but_not_cached(tmp_path, reads, isolated_data_dir):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(os.urandom(4096))  # written just now: inside the racy window
    cache = FileHashCache()
    assert cache.sha256(path) == cache.sha256(path) == _reference(path)
    assert reads == [path, path]
    rows = sqlite3.connect(_cache_file(isolated_data_dir)).execute("SELECT COUNT(*) FROM file_hashes").fetchone()
    assert rows == (0,)


def test_file_changed_while_read_is_not_cached(tmp_path, monkeypatch, settled):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\0" * 4096)
    real = hash_cache.read_sha256
    calls: list[Path] = []

    def read_then_change(p: Path) -> str:
        calls.append(p)
        digest = real(p)
        if len(calls) == 1:
            path.write_bytes(b"\0" * 4096)
            os.utime(path, ns=(2_000_000_000, 2_000_000_000))  # another version replaced it during the read
        return digest

    monkeypatch.setattr(hash_cache, "read_sha256", read_then_change)
    cache = FileHashCache()
    cache.sha256(path)
    cache.sha256(path)
    assert len(calls) == 2


@pytest.mark.parametrize("damage", ["garbage", "foreign-schema", "truncated"])
def test_damaged_cache_is_rebuilt(tmp_path, reads, settled, isolated_data_dir, damage):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(os.urandom(4096))
    cache_file = _cache_file(isolated_data_dir)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    if damage == "foreign-schema":
        with sqlite3.connect(cache_file) as other:
            other.execute("CREATE TABLE file_hashes (name TEXT)")
    else:
        with FileHashCache() as cache:
            cache.sha256(path)
        valid = cache_file.read_bytes()
        cache_file.write_bytes(os.urandom(len(valid)) if damage == "garbage" else valid[:100])
    with FileHashCache() as cache:
        assert cache.sha256(path) == _reference(path)
    reads.clear()
    with FileHashCache() as cache:
        assert cache.sha256(path) == _reference(path)
    assert reads == []  # the rebuilt cache holds the row again


def test_unwritable_cache_location_hashes_without_it(tmp_path, reads, settled):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(os.urandom(4096))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    cache = FileHashCache(blocker / CACHE_FILE_NAME)
    assert cache.sha256(path) == cache.sha256(path) == _reference(path)
    assert len(reads) == 2


def test_concurrent_writers_share_one_cache(tmp_path, settled, isolated_data_dir):
    paths = []
    for number in range(24):
        paths.append(tmp_path / f"f{number}.safetensors")
        paths[-1].write_bytes(os.urandom(1024 + number))
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            with FileHashCache() as cache:  # one connection each, as separate processes would have
                for path in paths[offset:] + paths[:offset]:
                    assert cache.sha256(path) == _reference(path)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in (0, 6, 12, 18)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = sqlite3.connect(_cache_file(isolated_data_dir)).execute("SELECT COUNT(*) FROM file_hashes").fetchone()
    assert rows == (len(paths),)


# ----- which files weights_hash covers -----

def _published_layout(folder: Path) -> Path:
    """A pipeline folder laid out as published repos are: a sharded transformer with an fp16 variant, a
    text encoder with one file, a scheduler, a tokenizer, plus a single-file checkpoint, a pickled copy
    and an unlisted folder beside them."""
    def write(relative: str, data: bytes | str) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    write("model_index.json", json.dumps({
        "_class_name": "LTXImageToVideoPipeline", "_diffusers_version": "0.42.1",
        "transformer": ["diffusers", "LTXVideoTransformer3DModel"], "text_encoder": ["transformers", "T5EncoderModel"],
        "tokenizer": ["transformers", "T5TokenizerFast"], "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "safety_checker": [None, None]}))
    shards = {"a": "diffusion_pytorch_model-00001-of-00002.safetensors",
              "b": "diffusion_pytorch_model-00002-of-00002.safetensors"}
    write("transformer/config.json", "{}")
    write("transformer/diffusion_pytorch_model.safetensors.index.json", json.dumps({"weight_map": shards}))
    for name in shards.values():
        write(f"transformer/{name}", os.urandom(64))
    fp16 = {"a": "diffusion_pytorch_model.fp16-00001-of-00001.safetensors"}
    write("transformer/diffusion_pytorch_model.safetensors.index.fp16.json", json.dumps({"weight_map": fp16}))
    write(f"transformer/{fp16['a']}", os.urandom(32))
    write("transformer/diffusion_pytorch_model.bin", os.urandom(64))
    write("text_encoder/config.json", "{}")
    write("text_encoder/model.safetensors", os.urandom(64))
    write("text_encoder/model.bf16.safetensors", os.urandom(32))
    write("tokenizer/tokenizer_config.json", "{}")
    write("tokenizer/spiece.model", os.urandom(16))
    write("scheduler/scheduler_config.json", "{}")
    write("ltx-video-2b-v0.9.safetensors", os.urandom(128))  # the single-file checkpoint beside the folders
    write("vae_old/diffusion_pytorch_model.safetensors", os.urandom(64))  # not in model_index.json
    write("README.md", "# model card")
    return folder


def _names(folder: Path, variant: str | None = None) -> list[str]:
    return [entry.relative.as_posix() for entry in loaded_files(folder, variant)]


def test_hash_covers_exactly_the_files_a_load_opens(tmp_path):
    folder = _published_layout(tmp_path / "model")
    assert _names(folder) == [
        "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
        "text_encoder/model.safetensors", "tokenizer/spiece.model", "tokenizer/tokenizer_config.json",
        "transformer/config.json", "transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
        "transformer/diffusion_pytorch_model-00002-of-00002.safetensors",
        "transformer/diffusion_pytorch_model.safetensors.index.json"]


def test_variant_picks_its_files_and_falls_back_per_component(tmp_path):
    folder = _published_layout(tmp_path / "model")
    names = _names(folder, "fp16")
    assert "transformer/diffusion_pytorch_model.fp16-00001-of-00001.safetensors" in names
    assert "transformer/diffusion_pytorch_model.safetensors.index.fp16.json" in names
    assert not any("00002" in name or name.endswith(".safetensors.index.json") for name in names)
    assert "text_encoder/model.safetensors" in names  # no fp16 text encoder: diffusers loads the plain one
    assert "text_encoder/model.bf16.safetensors" in _names(folder, "bf16")
    assert weights_hash(folder, "fp16") != weights_hash(folder)


def test_stray_files_do_not_change_the_hash_and_loaded_ones_do(tmp_path, reads):
    folder = _published_layout(tmp_path / "model")
    first = weights_hash(folder)
    for stray in ("ltx-video-2b-v0.9.safetensors", "vae_old/diffusion_pytorch_model.safetensors",
                  "transformer/diffusion_pytorch_model.fp16-00001-of-00001.safetensors",
                  "transformer/diffusion_pytorch_model.bin", "README.md"):
        (folder / stray).write_bytes(os.urandom(200))
        assert weights_hash(folder) == first, stray
    assert not any(path.name.startswith("ltx-video") or "vae_old" in str(path) for path in reads)
    (folder / "scheduler" / "scheduler_config.json").write_text('{"shift": 2.0}')
    second = weights_hash(folder)
    assert second != first  # a config is loaded, so it is covered
    (folder / "transformer" / "diffusion_pytorch_model-00002-of-00002.safetensors").write_bytes(os.urandom(64))
    assert weights_hash(folder) != second


def test_second_weights_hash_reads_no_bytes(tmp_path, reads, settled):
    folder = _published_layout(tmp_path / "model")
    first = weights_hash(folder)
    count = len(reads)
    assert count == len(loaded_files(folder))
    assert weights_hash(folder) == first
    assert len(reads) == count


@pytest.mark.parametrize("shard, message", [("missing.safetensors", "names 'transformer/missing.safetensors'"),
                                             ("../text_encoder/gone.safetensors", "not a file of the model folder")])
def test_shard_index_naming_a_file_not_in_the_folder_is_refused(tmp_path, shard, message):
    folder = _published_layout(tmp_path / "model")
    index = folder / "transformer" / "diffusion_pytorch_model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"a": shard}}))
    with pytest.raises(ModelUnavailableError, match=message):
        weights_hash(folder)
    index.write_text("not json")
    with pytest.raises(ModelUnavailableError, match="not a valid safetensors index"):
        weights_hash(folder)
