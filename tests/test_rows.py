"""A branch of the rules run on the rows that take it gives what the whole batch gives."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from negenv import core, rows
from negenv.layout import Phase
from negenv.randomness import NoiseOnDemand, draw_noise
from negenv.vector import VectorNegotiationEnv
from tests.test_vector import random_actions

B = rows.MIN_ROWS


def mid_episode(name: str, steps: int = 12):
    """A batch of ``name`` after ``steps`` of random play, its next actions and noise."""
    venv = VectorNegotiationEnv(name, num_envs=B, dtype=torch.float64, check_actions=False)
    obs = venv.reset(seed=1)
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        obs, *_ = venv.step(random_actions(venv, obs, gen, 0.5))
    acts = random_actions(venv, obs, gen, 0.5)
    s = venv.state
    decoded = venv.codec.decode(s, acts["party"], acts.get("mediator"))
    return venv.scenario, s, decoded, draw_noise(s.key, s.clock, venv.layout.n, venv.dtype)


def same_state(a: core.State, b: core.State) -> None:
    for k, v in a.__dict__.items():
        assert torch.equal(v, getattr(b, k)), k


@pytest.mark.parametrize("name", ["multilateral_5", "lilliput", "burden_sharing"])
def test_each_branch_on_its_rows_equals_the_whole_batch(name):
    sc, s, a, noise = mid_episode(name)
    gen = torch.Generator().manual_seed(2)
    # most episodes over, so that negotiation is a sparse branch too (an agreement that ends
    # settles its pending claims: none are left outside implementation)
    over = torch.rand(B, generator=gen) < 0.8
    s = s.replace(
        phase=torch.where(over, int(Phase.DONE), s.phase),
        pending=torch.where(over[:, None], 0.0, s.pending),
    )
    before = {k: v.clone() for k, v in s.__dict__.items()}
    negotiating = s.phase == int(Phase.NEGOTIATE)
    implementing = s.phase == int(Phase.IMPLEMENT)
    ending = (negotiating | implementing) & (torch.rand(B, generator=gen) < 0.5)
    voted, passed = core.vote(sc, s, a, negotiating)
    cases = [
        (negotiating, core.negotiate, (s, a, noise, negotiating)),
        (implementing, core.implement, (s, a, noise, implementing)),
        (ending, core.settle, (s, ending)),
        (passed, core.conclude, (voted, a.vote, passed, noise, s.coalition)),
    ]
    for mask, rule, args in cases:
        label = rule.__name__
        assert bool(mask.any()) and rows.sparse_rows(mask) is not None, label  # on rows alone
        fn = functools.partial(rule, sc)
        got, want = rows.branch(mask, fn, *args), fn(*args)
        got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
        same_state(got[0], want[0])
        for g, w in zip(got[1:], want[1:]):
            assert torch.equal(g, w), label
    # nothing was written into the state the branches were given
    for k, v in before.items():
        assert torch.equal(v, getattr(s, k)), k


def test_steps_with_and_without_compaction_agree(monkeypatch):
    venv = VectorNegotiationEnv("multilateral_5", num_envs=B, check_actions=False)
    obs = venv.reset(seed=3)
    gen = torch.Generator().manual_seed(3)
    compacted = 0
    for _ in range(30):
        acts = random_actions(venv, obs, gen, 0.5)
        s = venv.state
        d = venv.codec.decode(s, acts["party"], acts.get("mediator"))
        noise = draw_noise(s.key, s.clock, venv.layout.n, venv.dtype)
        monkeypatch.setattr(rows, "MAX_SHARE", -1.0)  # every branch whole
        whole = core.step_state(venv.scenario, s, d, noise)
        monkeypatch.undo()
        implementing = s.phase == int(Phase.IMPLEMENT)
        compacted += rows.sparse_rows(implementing) is not None and bool(implementing.any())
        # as the eager CPU env steps: the noise drawn on demand, for the rows that read it
        on_demand = NoiseOnDemand(s.key, s.clock, venv.layout.n, venv.dtype)
        split = core.step_state(venv.scenario, s, d, on_demand)
        same_state(split[0], whole[0])
        assert torch.equal(split[1], whole[1]) and torch.equal(split[2], whole[2])
        obs, *_ = venv.step(acts)
    assert compacted >= 5  # the comparison covered steps whose implementation ran on rows


def test_sparse_rows_only_where_it_pays():
    few = torch.zeros(B, dtype=torch.bool)
    few[:10] = True
    assert rows.sparse_rows(few).tolist() == list(range(10))
    assert rows.sparse_rows(few[: rows.MIN_ROWS - 1]) is None  # a small batch runs whole
    many = torch.rand(B, generator=torch.Generator().manual_seed(0)) < 0.5
    assert rows.sparse_rows(many) is None  # past MAX_SHARE
    assert rows.sparse_rows(np.asarray(few)) is None  # numpy: the PettingZoo env skips idle


def test_noise_on_demand_is_the_noise_drawn_whole_for_any_rows():
    key = torch.arange(B, dtype=torch.int64) * 7919 + 11
    clock = torch.arange(B, dtype=torch.int64) % 13
    whole = draw_noise(key, clock, 5, torch.float32)
    idx = torch.tensor([3, 17, B - 1])
    fresh = NoiseOnDemand(key, clock, 5, torch.float32)
    part = fresh.take_rows(idx)  # drawn for three rows only
    assert not {"ratify", "detect"} & part.__dict__.keys()
    drawn = NoiseOnDemand(key, clock, 5, torch.float32)
    assert torch.equal(drawn.detect, whole.detect)  # drawn whole, then gathered
    gathered = drawn.take_rows(idx)
    for name in ("ratify", "detect", "honour", "shock", "recognise"):
        want = getattr(whole, name)
        assert torch.equal(getattr(fresh, name), want), name
        assert torch.equal(getattr(part, name), want.index_select(0, idx)), name
        assert torch.equal(getattr(gathered, name), want.index_select(0, idx)), name
    with pytest.raises(AttributeError):
        fresh.other  # noqa: B018
