"""Training checkpoints are safetensors plus JSON (issue 11, section 8): no pickle is written or read."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from core.default_model.checkpoint import checkpoint_exists, load_checkpoint, save_checkpoint
from core.errors import ValidationError


def _trained(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    optim = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.99), weight_decay=0.01)
    for _ in range(3):
        model(torch.randn(5, 4)).square().mean().backward()
        optim.step()
        optim.zero_grad()
    return model, optim


def test_round_trip_restores_model_optimizer_and_generator(tmp_path):
    model, optim = _trained()
    generator = torch.Generator().manual_seed(7)
    torch.rand(3, generator=generator)
    base = tmp_path / "checkpoints" / "denoiser"
    save_checkpoint(base, {"model": model.state_dict(), "optim": optim.state_dict(),
                           "generator": generator.get_state(), "step": 3, "elapsed_s": 1.5,
                           "config": {"out_dir": str(tmp_path), "lr": 1e-2}})
    assert checkpoint_exists(base)
    assert sorted(p.name for p in base.parent.iterdir()) == ["denoiser.json", "denoiser.safetensors"]
    json.loads(base.with_suffix(".json").read_text())  # plain JSON, nothing to unpickle

    state = load_checkpoint(base)
    fresh, fresh_optim = _trained(seed=1)
    fresh.load_state_dict(state["model"])
    fresh_optim.load_state_dict(state["optim"])
    resumed = torch.Generator()
    resumed.set_state(state["generator"])
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))
    assert torch.equal(torch.rand(3, generator=resumed), torch.rand(3, generator=generator))
    assert (state["step"], state["elapsed_s"], state["config"]["lr"]) == (3, 1.5, 1e-2)
    # One more step from each optimizer gives the same weights: the Adam moments came back exactly.
    batch = torch.randn(5, 4)
    for net, opt in ((model, optim), (fresh, fresh_optim)):
        net(batch).square().mean().backward()
        opt.step()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), fresh.parameters()))


def test_old_pickle_checkpoint_is_refused_not_loaded(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle ran')",))

    base = tmp_path / "autoencoder"
    base.with_suffix(".pt").write_bytes(pickle.dumps({"step": Boom()}))
    assert checkpoint_exists(base)
    with pytest.raises(ValidationError, match="pickle from an earlier version"):
        load_checkpoint(base)


def test_torn_pair_is_refused(tmp_path):
    model, optim = _trained()
    base = tmp_path / "decoder"
    save_checkpoint(base, {"decoder": model.state_dict(), "optim": optim.state_dict(), "step": 1})
    meta = base.with_suffix(".json").read_text()
    save_checkpoint(base, {"decoder": _trained(seed=2)[0].state_dict(), "optim": optim.state_dict(), "step": 2})
    base.with_suffix(".json").write_text(meta)  # as if the run died between the two writes
    with pytest.raises(ValidationError, match="does not match its tensor file"):
        load_checkpoint(base)


def test_unstorable_values_are_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match="only tensors, numbers"):
        save_checkpoint(tmp_path / "x", {"path": tmp_path})
