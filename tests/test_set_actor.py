"""The set mediator actor: its initial text is the power-weighted centroid of the observed
ideals, it treats parties as a set, and one checkpoint scores every mediated scenario."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

import negenv
from agents import activations, learned, registry, set_actor
from agents.learned import MaskedMultiCategorical
from agents.mediators import PowerCentroidMediator
from agents.random_policy import RandomPolicy
from agents.set_actor import SetMediatorActor
from negenv import rollout
from negenv.layout import Layout
from negenv.scenario import load
from negenv.vector import VectorNegotiationEnv


def observation(name: str, envs: int = 32, steps: int = 3):
    """Mediator observations and masks a few steps into ``envs`` negotiations."""
    env = VectorNegotiationEnv(load(name), num_envs=envs)
    lay, gen = env.layout, np.random.default_rng(4)
    party = RandomPolicy(spaces.MultiDiscrete(lay.party_nvec), gen)
    mediator = RandomPolicy(spaces.MultiDiscrete(lay.mediator_nvec), gen)
    obs = env.reset(seed=3)
    for _ in range(steps):
        pm = obs["party"]["action_mask"].reshape(envs * lay.n, -1).numpy()
        pa = party.act(pm, pm).reshape(envs, lay.n, -1)
        ma = mediator.act(
            obs["mediator"]["action_mask"].numpy(), obs["mediator"]["action_mask"].numpy()
        )
        obs, *_ = env.step({"party": torch.as_tensor(pa), "mediator": torch.as_tensor(ma)})
    med = obs["mediator"]
    return env.layout, med["observation"].float(), med["action_mask"]


def silence_heads(actor: SetMediatorActor) -> None:
    for head in (actor.score, actor.shift, actor.precision):
        torch.nn.init.zeros_(head.weight)


@pytest.mark.parametrize("log_precision", [False, True])
def test_initial_text_is_the_power_weighted_centroid_of_observed_ideals(log_precision):
    lay, x, mask = observation("multilateral_5")
    actor = SetMediatorActor(lay, hidden=16, prior_width=0.1, log_precision=log_precision)
    silence_heads(actor)
    s = lay.mediator_obs
    power = x[:, s["powers"]]
    ideals = x[:, s["ideals"]].reshape(-1, lay.n, lay.k)
    centre = ((power / power.sum(1, keepdim=True))[..., None] * ideals).sum(1)
    grid = torch.linspace(0, 1, lay.proposal_levels)
    text = actor(x)[:, : lay.k * lay.proposal_levels].reshape(-1, lay.k, lay.proposal_levels)
    expected = -((grid - centre[..., None]) ** 2) / (2 * 0.1**2)
    torch.testing.assert_close(text, expected, rtol=1e-4, atol=1e-4)
    mode = MaskedMultiCategorical(actor(x), mask, lay.mediator_nvec).mode[:, : lay.k]
    scripted = PowerCentroidMediator(lay).act(x.numpy(), mask.numpy())[:, : lay.k]
    np.testing.assert_array_equal(mode.numpy(), scripted)


def permute_parties(lay: Layout, x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """The same observation with the parties listed in the order ``perm``."""
    s, y = lay.mediator_obs, x.clone()
    per_party = {"powers": 1, "last_votes": 1, "guarantees": 1, "detected": 1, "holdout": 1}
    per_party |= {"batnas": 1, "risks": 1, "demands": lay.k, "ideals": lay.k, "weights": lay.k}
    if lay.c:
        per_party["coalitions"] = lay.c
    for name, width in per_party.items():
        y[:, s[name]] = x[:, s[name]].reshape(len(x), lay.n, width)[:, perm].reshape(len(x), -1)
    return y


@pytest.mark.parametrize("name", ["multilateral_5", "lilliput"])
def test_parties_are_a_set(name):
    """Listing the parties in another order permutes the guarantee logits and leaves the text
    and the monitoring logits unchanged."""
    lay, x, _ = observation(name)
    actor = SetMediatorActor(lay, hidden=16)
    for p in actor.parameters():  # weights of a trained size, not the near-zero initial heads
        torch.nn.init.normal_(p, std=0.5)
    perm = torch.randperm(lay.n, generator=torch.Generator().manual_seed(0))
    a, b = actor(x), actor(permute_parties(lay, x, perm))
    text = lay.k * lay.proposal_levels
    torch.testing.assert_close(a[:, :text], b[:, :text], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(a[:, -lay.monitoring_levels :], b[:, -lay.monitoring_levels :])
    guarantee = slice(text, text + lay.n + 1)
    torch.testing.assert_close(a[:, guarantee][:, 1:][:, perm], b[:, guarantee][:, 1:])
    torch.testing.assert_close(a[:, guarantee][:, 0], b[:, guarantee][:, 0])


def test_one_checkpoint_scores_every_mediated_scenario(tmp_path):
    import train

    out = train.main(
        ["--scenario", "multilateral_5", "--total-steps", "256", "--num-envs", "16"]
        + ["--rollout-steps", "8", "--epochs", "1", "--minibatches", "2", "--set-width", "8"]
        + ["--eval-every", "1", "--eval-episodes", "4", "--scorecard-episodes", "0"]
        + ["--run-dir", str(tmp_path), "--no-progress"]
    )
    for name in ("lilliput", "burden_sharing", "bilateral_asymmetric"):
        sc = load(name)
        env = negenv.parallel_env(sc)
        policies = registry.population("threshold", env)
        policies["mediator"] = registry.mediator(str(out / "best.pt")).build(env)
        rec = rollout.run(sc, policies, 8, seed=5, dtype=torch.float32)
        assert np.isfinite(rec["mediator_utility"]).all(), name
        assert rec["agreement"].shape == (8, sc.n_issues)
    with pytest.raises(ValueError, match="'rubinstein' has no mediator"):
        learned.load_policy(out / "best.pt", "mediator", load("rubinstein"))
    coarse = load({"name": "coarse", "proposal_levels": 11})
    with pytest.raises(ValueError, match="21 proposal levels and 5 monitoring levels"):
        learned.load_policy(out / "best.pt", "mediator", coarse)


def test_a_log_precision_mediator_saves_and_loads(tmp_path):
    """log_precision is the default: the checkpoint records it and the loader rebuilds it."""
    import train

    out = train.main(
        ["--scenario", "multilateral_5", "--total-steps", "128", "--num-envs", "16"]
        + ["--rollout-steps", "8", "--epochs", "1", "--minibatches", "2", "--set-width", "8"]
        + ["--eval-every", "1", "--eval-episodes", "4"]
        + ["--scorecard-episodes", "0", "--run-dir", str(tmp_path), "--no-progress"]
    )
    policy = learned.load_policy(out / "last.pt", "mediator", load("multilateral_5"))
    assert policy.actor.log_precision
    lay, x, _ = observation("multilateral_5")
    with torch.no_grad():  # an output of 3 is exp(3) times the prior precision, not softplus(3)
        policy.actor.precision.weight.zero_()
        policy.actor.precision.bias.fill_(3.0)
    beta = policy.actor.beta0 * math.exp(3.0)
    assert policy.actor.beta0 == pytest.approx(1 / (2 * 0.1**2))
    text = policy.actor(x)[:, : lay.proposal_levels]
    grid = torch.linspace(0, 1, lay.proposal_levels)
    # a quadratic in the grid with curvature -beta: second differences are -2 beta step^2
    second = text[:, 2:] - 2 * text[:, 1:-1] + text[:, :-2]
    expected = torch.full_like(second, -2 * beta * float(grid[1]) ** 2)
    torch.testing.assert_close(second, expected, rtol=1e-4, atol=1e-3)
    assert (text <= 0).all()  # the bell's top is 0 at its centre


def test_rebinding_checks_the_grids():
    lay = Layout.of(load("multilateral_5"))
    actor = SetMediatorActor(lay, hidden=4)
    with pytest.raises(ValueError, match="11 and 5"):
        actor.for_layout(Layout.of(load({"name": "coarse", "proposal_levels": 11})))
    assert math.isclose(float(actor.beta0) * math.log(2), 1 / (2 * 0.1**2), rel_tol=1e-9)


def direct_forward(actor: SetMediatorActor, x: torch.Tensor) -> torch.Tensor:
    """The actor written out directly: every head reads the (M, N, K, H) encodings."""
    cell3, party, episode, proposal, power, ideal = actor._features(x)
    text = proposal[:, None, :, None].expand(*ideal.shape, 1)
    cell = torch.cat([cell3, text, ideal[..., None] - text], -1)  # CELL_IN: + text, gap
    first = (
        actor.cell_in(cell)
        + actor.party_in(party)[:, :, None]
        + actor.episode_in(episode)[:, None, None]
    )
    h = actor.out(torch.tanh(first))  # (M, N, K, H): every cell's encoding
    w = power / power.sum(-1, keepdim=True).clamp_min(1e-9)
    issue = torch.cat([h.mean(1), (w[..., None, None] * h).sum(1)], -1)
    pooled = issue.mean(1)

    def with_pool(t):
        return torch.cat([t, pooled[:, None].expand(-1, t.shape[1], -1)], -1)

    score = actor.score(h).squeeze(-1) + torch.log(w.clamp_min(1e-6))[..., None]
    centre = (torch.softmax(score, 1) * ideal).sum(1)
    per_issue = with_pool(issue[..., : h.shape[-1]])
    mu = centre + actor.shift(per_issue).squeeze(-1)
    beta = torch.nn.functional.softplus(actor.precision(per_issue).squeeze(-1)) * actor.beta0
    text = -beta[..., None] * (actor.grid - mu[..., None]) ** 2
    guarantee = actor.guarantee(with_pool(h.mean(2))).squeeze(-1)
    heads = [text.reshape(len(x), -1), actor.keep(pooled), guarantee, actor.monitor(pooled)]
    return torch.cat(heads, -1)


@pytest.mark.parametrize("large", [False, True], ids=["small-batch-paths", "large-batch-paths"])
@pytest.mark.parametrize("name", ["multilateral_5", "lilliput"])
def test_factored_forward_is_the_direct_one(name, large, monkeypatch):
    """forward pools the tanh layer before the output layer and folds the heads into it;
    logits and every weight's gradient match the direct computation (float64), on the paths
    of small batches and of large ones (tanh from the sigmoid identity, the backward's tall
    products over row blocks)."""
    if large:
        monkeypatch.setattr(activations, "MIN_ELEMENTS", 0)
        monkeypatch.setattr(set_actor, "TALL_MIN_ROWS", 1)
    lay, x, _ = observation(name)
    x = x.double()
    x[:3, lay.mediator_obs["powers"]] = 0.0  # the all-zero-power guard of the weighted sum
    actor = SetMediatorActor(lay, hidden=8).double()
    for p in actor.parameters():
        torch.nn.init.normal_(p, std=0.5)
    target = torch.randn(len(x), int(sum(lay.mediator_nvec)), dtype=torch.float64)
    grads = []
    for fn in (actor, lambda y: direct_forward(actor, y)):
        actor.zero_grad()
        out = fn(x)
        (out * target).sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in actor.parameters()]))
    (a, ga), (b, gb) = grads
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    for u, v in zip(ga, gb, strict=True):
        torch.testing.assert_close(u, v, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("rows", [100, 64 * 256, 64 * 256 + 37, 64 * 300 + 63])
def test_tall_products_are_matrix_products(rows):
    gen = torch.Generator().manual_seed(rows)
    a = torch.randn(rows, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(rows, 32, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(set_actor._tall_product(a, b), a.T @ b, rtol=1e-12, atol=1e-10)
    # strided inputs (a gradient may arrive as a view) give the same product
    wide = torch.randn(rows, 64, generator=gen, dtype=torch.float64)
    a, b = wide[:, 10:13], wide[:, 20:52]
    torch.testing.assert_close(set_actor._tall_product(a, b), a.T @ b, rtol=1e-12, atol=1e-10)


def test_observations_take_no_gradient():
    lay, x, _ = observation("multilateral_5", envs=4)
    with pytest.raises(ValueError, match="no gradient through its observations"):
        SetMediatorActor(lay, hidden=8)(x.requires_grad_())
