"""The ordinal party actor (TrainConfig.party_actor = 'ordinal'): a bell over each text grid,
free logits elsewhere, saved and loaded like every learned policy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import negenv
from agents import learned
from agents.ordinal import OrdinalActor, VoteThreshold, ordinal_components
from negenv.layout import Layout
from negenv.training import torch_ppo
from negenv.training.config import TrainConfig
from negenv.vector import VectorNegotiationEnv


def _actor(hidden=(16,), log_precision=False):
    lay = Layout.of(negenv.load("rubinstein"))
    torch.manual_seed(0)
    nvec = lay.party_nvec
    return lay, OrdinalActor(lay.party_obs.size, nvec, hidden, (4,), log_precision=log_precision)


def test_the_proposal_components_are_the_ordinal_ones():
    assert ordinal_components(("vote", "comply", "coalition", "demand_0", "proposal_0")) == (4,)
    names = Layout.of(negenv.load("multilateral_5")).party_components
    assert ordinal_components(names) == ()  # mediated: parties post no texts


def test_the_initial_text_distribution_is_a_wide_bell_at_mid_grid():
    lay, actor = _actor()
    x = torch.randn(7, lay.party_obs.size)
    out = actor(x)
    assert out.shape == (7, sum(lay.party_nvec))
    text = out[:, 8:]  # after vote 2, comply 2, coalition 1, demand 3
    grid = torch.linspace(0, 1, 101)
    # the heads start near zero: centre 1/2, precision softplus(0) * beta0 = 1 / (2 * 0.5^2)
    beta = 1 / (2 * 0.5**2)
    expected = -beta * (grid - 0.5) ** 2
    assert torch.allclose(text, expected.expand(7, -1), atol=0.05)
    assert torch.all((text.argmax(-1) - 50).abs() <= 1)  # the heads' small initial weights
    free = out[:, :8]
    assert free.abs().max() < 0.1  # near-uniform free components


def test_the_bell_peaks_at_the_level_nearest_its_centre():
    lay, actor = _actor()
    with torch.no_grad():
        actor.bell.weight.zero_()
        actor.bell.bias.copy_(torch.tensor([0.734, 3.0]))  # centre, precision
    text = actor(torch.zeros(1, lay.party_obs.size))[0, 8:]
    assert int(text.argmax()) == 73
    grid = torch.linspace(0, 1, 101)
    beta = torch.nn.functional.softplus(torch.tensor(3.0)) * actor.beta0
    assert torch.allclose(text, -beta * (grid - 0.734) ** 2)


def test_a_log_precision_starts_with_the_same_bell_and_narrows_by_ratios():
    (lay, soft), (_, log) = _actor(), _actor(log_precision=True)
    x = torch.randn(7, lay.party_obs.size)
    # same weights, the same bell at a zero output (the heads start near zero)
    assert torch.allclose(soft(x), log(x), atol=0.05)
    grid = torch.linspace(0, 1, 101)
    with torch.no_grad():
        log.bell.weight.zero_()
        for rho in (0.0, 1.0, 5.0):
            log.bell.bias.copy_(torch.tensor([0.3, rho]))
            text = log(torch.zeros(1, lay.party_obs.size))[0, 8:]
            beta = 2.0 * math.exp(rho)  # 1 / (2 * 0.5^2), times e per unit of the output
            assert torch.allclose(text, -beta * (grid - 0.3) ** 2, rtol=1e-5)
        log.bell.bias.copy_(torch.tensor([0.3, 1e4]))  # clamped: finite logits, same peak
        text = log(torch.zeros(1, lay.party_obs.size))[0, 8:]
        assert torch.isfinite(text).all() and int(text.argmax()) == 30


def test_threshold_votes_accept_by_the_texts_utility():
    lay = Layout.of(negenv.load("rubinstein"))
    torch.manual_seed(0)
    votes = VoteThreshold(lay)
    assert votes.component == 0 and lay.party_components[0] == "vote"
    actor = OrdinalActor(lay.party_obs.size, lay.party_nvec, (16,), (4,), votes=votes)
    assert actor.free_sizes == [2, 1, 3]  # comply, coalition, demand: the vote left them
    obs = lay.party_obs
    x = torch.zeros(3, obs.size)
    x[:, obs["weight"]] = 1.0
    x[:, obs["ideal"]] = torch.tensor([[1.0], [1.0], [0.0]])
    x[:, obs["proposal"]] = torch.tensor([[0.7], [0.2], [0.2]])  # utilities 0.7, 0.2, 0.8
    torch.testing.assert_close(votes.utility(x), torch.tensor([0.7, 0.2, 0.8]))
    with torch.no_grad():
        actor.vote.weight.zero_()
        actor.vote.bias.copy_(torch.tensor([0.35, math.log(4.0)]))  # theta, log kappa / 10
    logits = actor(x)[:, :2]
    expected = 40.0 * (torch.tensor([0.7, 0.2, 0.8]) - 0.35)
    torch.testing.assert_close(logits, torch.stack([torch.zeros(3), expected], -1))
    assert torch.equal(logits.argmax(-1), torch.tensor([1, 0, 1]))  # accept 0.7 and 0.8


def test_threshold_votes_need_a_two_option_vote():
    lay = Layout.of(negenv.load("rubinstein"))
    nvec = (3, *lay.party_nvec[1:])
    with pytest.raises(ValueError, match="two-option vote"):
        OrdinalActor(lay.party_obs.size, nvec, (16,), (4,), votes=VoteThreshold(lay))


def test_threshold_votes_need_an_ordinal_party():
    with pytest.raises(ValueError, match="threshold_votes = True is invalid.*'ordinal' or 'ego'"):
        TrainConfig(scenario="rubinstein", learn="parties", threshold_votes=True).validate()


@pytest.mark.parametrize(
    "arch, log_precision, threshold_votes, ego_seat",
    [
        ("ordinal", False, False, False),
        ("ego", False, False, False),
        ("ego", True, True, False),
        ("ego", True, False, True),
        ("ordinal", False, True, False),
    ],
)
def test_an_ordinal_run_saves_and_loads_as_a_population(
    tmp_path, arch, log_precision, threshold_votes, ego_seat
):
    cfg = TrainConfig(
        scenario="rubinstein",
        learn="parties",
        num_envs=64,
        rollout_steps=8,
        party_actor=arch,
        log_precision=log_precision,
        threshold_votes=threshold_votes,
        ego_seat=ego_seat,
    ).validate()
    env = VectorNegotiationEnv("rubinstein", num_envs=cfg.num_envs)
    learner = torch_ppo.make_learner(env, "party", cfg)
    assert isinstance(learner.actor, OrdinalActor)
    entry = learner.state(cfg.hidden)
    assert entry["arch"] == arch and entry["ego_seat"] == ego_seat
    path = tmp_path / f"{arch}.pt"
    learned.save_checkpoint(
        path, {"backend": "torch", "scenario": "rubinstein", "roles": {"party": entry}}
    )
    policy = learned.load_policy(path, "party", negenv.load("rubinstein"))
    assert (policy.actor.view is None) == (arch == "ordinal")
    assert getattr(policy.actor.view, "seat", False) == ego_seat
    assert policy.actor.log_precision == log_precision
    assert (policy.actor.votes is not None) == threshold_votes
    with torch.no_grad():  # a wide precision output tells the two parameterisations apart
        learner.actor.bell.bias[1] = 4.0
        policy.actor.bell.bias[1] = 4.0
    obs = env.reset(seed=0)["party"]["observation"].reshape(-1, env.layout.party_obs.size)
    x = torch.cat([obs.float(), torch.randn(5, env.layout.party_obs.size)])
    assert torch.equal(policy.actor(x), learner.actor(x))
    mask = np.ones((len(x), sum(env.layout.party_nvec)), np.int8)
    act = policy.act(x.numpy(), mask)
    assert act.shape == (len(x), len(env.layout.party_nvec))
    assert np.array_equal(act[:, 4], policy.actor(x)[:, 8:].argmax(-1).numpy())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scenario": "multilateral_5", "learn": "parties"}, "unmediated"),
        ({"scenario": "rubinstein", "learn": "parties", "backend": "sb3"}, "backend 'torch'"),
    ],
)
def test_ordinal_needs_parties_that_post_texts(kwargs, match):
    with pytest.raises(ValueError, match=f"party_actor = 'ordinal' is invalid.*{match}"):
        TrainConfig(party_actor="ordinal", **kwargs).validate()


def _mirrored(state, n: int):
    """The same situation with the seats swapped and the issue axis flipped (x -> 1 - x):
    in ``rubinstein`` party 1 then stands where party 0 stood."""
    fields = {}
    for name, value in vars(state).items():
        v = np.asarray(value)
        if v.ndim >= 2 and v.shape[1] == n:
            v = v[:, ::-1].copy()
        fields[name] = v
    for name in ("ideal", "seen_ideal", "proposal", "agreement"):
        fields[name] = 1.0 - fields[name]
    fields["proposer"] = np.where(state.proposer >= 0, 1 - state.proposer, state.proposer)
    fields["demands"] = np.zeros_like(fields["demands"])  # cheap-talk directions are absolute
    return type(state)(**fields)


def test_the_ego_view_sees_mirrored_seats_alike_and_mirrors_their_texts():
    from agents.ordinal import EgoView
    from negenv import observe

    sc = negenv.load("rubinstein")
    env = negenv.parallel_env(sc)
    lay = env.layout
    obs, _ = env.reset(seed=3)
    for seat, agent in enumerate(env.agents):
        env.action_space(agent).seed(seat)
    for _ in range(3):  # a few random rounds: votes, texts and a proposer on the record
        acts = {a: env.action_space(a).sample(obs[a]["action_mask"]) for a in env.agents}
        for a in acts:
            acts[a][0] = 0  # reject, so that the episode goes on
        obs, *_ = env.step(acts)
    state = env.core_state
    state = type(state)(**(vars(state) | {"demands": np.zeros_like(state.demands)}))
    mirror = _mirrored(state, lay.n)
    here, _ = observe.observations(sc, lay, state)
    there, _ = observe.observations(sc, lay, mirror)
    x = torch.tensor(np.stack([here[0, 0], there[0, 1]]), dtype=torch.float32)
    assert not torch.equal(x[0], x[1])  # the raw observations differ (seat, ideal, text)
    view = EgoView(lay)
    seen, ideal = view(x)
    torch.testing.assert_close(seen[0], seen[1])
    assert ideal[:, 0].tolist() == [1.0, 0.0]
    torch.manual_seed(0)
    actor = OrdinalActor(lay.party_obs.size, lay.party_nvec, (16,), (4,), view=view)
    for p in actor.parameters():  # trained-size weights, not the near-zero initial heads
        torch.nn.init.normal_(p, std=0.5)
    out = actor(x)
    torch.testing.assert_close(out[0, :8], out[1, :8])  # votes, compliance, signals
    torch.testing.assert_close(out[0, 8:], out[1, 8:].flip(-1))  # level l <-> level 100 - l


def test_the_ego_view_puts_the_own_entry_first_then_the_next_seats():
    from agents.ordinal import EgoView

    lay = Layout.of(negenv.load("unmediated_5"))
    obs = lay.party_obs
    x = torch.zeros(1, obs.size)
    x[0, obs["self"].start + 3] = 1.0  # seat 3 of 5
    x[0, obs["powers"]] = torch.tensor([10.0, 11.0, 12.0, 13.0, 14.0])
    x[0, obs["demands"]] = torch.arange(20.0)  # (party, issue) in seat order
    x[0, obs["round"]] = 0.25
    y, _ = EgoView(lay)(x)
    assert y[0, obs["self"]].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert y[0, obs["powers"]].tolist() == [13.0, 14.0, 10.0, 11.0, 12.0]
    expected = [*range(12, 20), *range(0, 12)]  # party 3's four issues first, then 4, 0, 1, 2
    assert y[0, obs["demands"]].tolist() == [float(v) for v in expected]
    assert y[0, obs["round"]].tolist() == [0.25]  # episode-level entries stay where they are
    kept, _ = EgoView(lay, seat=True)(x)
    assert kept[0, obs["self"]].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]  # the seat as it is
    assert torch.equal(kept[0, obs["powers"]], y[0, obs["powers"]])  # the rest still rotated
    assert torch.equal(kept[0, obs["demands"]], y[0, obs["demands"]])


def test_the_ego_seat_needs_the_ego_actor():
    with pytest.raises(ValueError, match="ego_seat = True is invalid.*party_actor 'ego'"):
        TrainConfig(
            scenario="rubinstein", learn="parties", party_actor="ordinal", ego_seat=True
        ).validate()


def test_a_warm_start_across_ego_seat_settings_is_refused(tmp_path):
    base = dict(scenario="rubinstein", learn="parties", num_envs=8, party_actor="ego")
    env = VectorNegotiationEnv("rubinstein", num_envs=8)
    cfg = TrainConfig(**base).validate()
    entry = torch_ppo.make_learner(env, "party", cfg).state(cfg.hidden)
    seated = torch_ppo.make_learner(env, "party", TrainConfig(**base, ego_seat=True).validate())
    with pytest.raises(ValueError, match="ckpt cannot start the party learner: its ego_seat is"):
        seated.warm_start(entry, cfg.hidden, "ckpt")
    entry.pop("ego_seat")  # a checkpoint older than the field was made without the seat
    with pytest.raises(ValueError, match="its ego_seat is False, this config's is True"):
        seated.warm_start(entry, cfg.hidden, "ckpt")
