"""Recycled observation buffers: reused only when nobody holds them, never overwritten."""

import numpy as np
import torch

from negenv.buffers import Recycler
from negenv.vector import VectorNegotiationEnv


def _ptr(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def test_a_released_buffer_is_reused_and_a_held_one_never():
    pool = Recycler(depth=3)
    assert pool.enabled, "this torch lacks the storage use count the pool relies on"
    cpu = torch.device("cpu")

    def get():
        return pool.empty("x", (4, 3), torch.float32, cpu)

    first = get()
    address = _ptr(first)
    del first
    assert _ptr(get()) == address  # released: the same memory comes back

    held = get()
    other = get()
    assert _ptr(other) != _ptr(held)  # the held tensor is never handed out again
    view = other[1:]
    del other
    assert _ptr(get()) not in (_ptr(held), _ptr(view))  # nor a tensor whose view is held
    as_numpy = held.numpy()
    del held
    fresh = get()
    assert fresh.untyped_storage().data_ptr() != as_numpy.__array_interface__["data"][0]
    # every pooled tensor is held now: a fresh one, never pooled beyond the depth
    assert len(pool._pools[("x", (4, 3), torch.float32, cpu)]) == 3


def test_observations_kept_across_steps_are_never_written_again():
    venv = VectorNegotiationEnv("multilateral_5", num_envs=64, check_actions=False)
    obs = venv.reset(seed=3)
    gen = torch.Generator().manual_seed(0)
    kept, copies, views = [], [], []
    addresses = set()
    for t in range(12):
        acts = {}
        for role in venv.roles:
            low, high = venv.action_bounds(role)
            shape = venv.action_shape(role)
            acts[role] = (torch.rand(shape, generator=gen) * (high + 1)).long().clamp(max=high)
        obs, *_ = venv.step(acts)
        addresses.add(_ptr(obs["party"]["observation"]))
        if t % 3 == 0:  # keep some observations whole, and a view of others
            kept.append(obs)
            copies.append({r: obs[r]["observation"].clone() for r in obs})
        elif t % 3 == 1:
            views.append(
                (obs["party"]["observation"][:, 0], obs["party"]["observation"][:, 0].clone())
            )
    for o, c in zip(kept, copies):
        for role in o:
            assert torch.equal(o[role]["observation"], c[role])
    for view, copy in views:
        assert torch.equal(view, copy)
    # the steps whose observations were dropped shared their memory with later steps
    assert len(addresses) < 12


def test_recycled_observations_equal_fresh_ones():
    """The recycled path writes exactly what a fresh concatenation builds."""
    from negenv import observe

    venv = VectorNegotiationEnv("lilliput", num_envs=300)
    obs = venv.reset(seed=5)
    for _ in range(6):
        acts = {
            role: torch.zeros(venv.action_shape(role), dtype=torch.int64) for role in venv.roles
        }
        obs, *_ = venv.step(acts)
    party, mediator = observe.observations(venv.scenario, venv.layout, venv.state, venv._static)
    assert torch.equal(obs["party"]["observation"], party)
    assert torch.equal(obs["mediator"]["observation"], mediator)
    assert np.isfinite(party.numpy()).all()
