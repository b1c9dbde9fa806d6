"""Scenario configs: loading, overrides, round trips, and clear errors for bad input."""

from __future__ import annotations

import re
import types

import numpy as np
import pytest
import yaml

import negenv
from negenv.scenario import Scenario, ScenarioError, from_dict, load, to_dict, with_overrides


@pytest.mark.parametrize("name", negenv.builtin_names())
def test_builtin_round_trips_through_plain_data(name):
    sc = load(name)
    assert sc.name == name
    assert from_dict(yaml.safe_load(yaml.safe_dump(to_dict(sc)))) == sc


def test_all_six_scenarios_ship():
    assert set(negenv.builtin_names()) >= {
        "bilateral_asymmetric",
        "multilateral_5",
        "unmediated_5",
        "lilliput",
        "burden_sharing",
        "rubinstein",
    }


def test_unmediated_5_is_multilateral_5_without_the_mediator():
    a, b = load("multilateral_5"), load("unmediated_5")
    assert (a.protocol, b.protocol) == ("mediated", "alternating_offers")
    assert a.types == b.types and a.implementation == b.implementation
    assert (a.decision_rule, a.quota, a.max_rounds) == (b.decision_rule, b.quota, b.max_rounds)


def test_overrides_by_dots_and_double_underscores():
    sc = with_overrides(
        load("multilateral_5"),
        {
            "implementation.n_stages": 7,
            "types__power__kind": "fixed",
            "types__power__values": [1, 1, 1, 1, 1],
        },
    )
    assert sc.implementation.n_stages == 7 and sc.types.power.values == (1, 1, 1, 1, 1)
    env = negenv.parallel_env("multilateral_5", implementation__n_stages=2, max_rounds=5)
    assert env.scenario.implementation.n_stages == 2 and env.scenario.max_rounds == 5


def test_yaml_path_and_dict_and_object_load_the_same(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"n_parties": 3, "n_issues": 2}))
    from_path = negenv.parallel_env(str(path)).scenario
    assert from_path.name == "mine" and from_path.n_parties == 3
    assert (
        negenv.parallel_env({"name": "mine", "n_parties": 3, "n_issues": 2}).scenario == from_path
    )
    assert negenv.parallel_env(from_path).scenario is from_path


def test_types_are_drawn_within_their_ranges():
    quiet = {"types.batna_noise": 0.0, "types.risk_noise": 0.0}
    env = negenv.parallel_env("burden_sharing", **quiet)
    noisy = negenv.parallel_env("burden_sharing")
    kappas, off = [], []
    for seed in range(50):
        env.reset(seed=seed)
        s = env.core_state
        assert s.power0.sum() == pytest.approx(1.0) and s.capability.sum() == pytest.approx(1.0)
        assert np.all((s.batna0 >= 0) & (s.batna0 <= 0.95))
        np.testing.assert_allclose(s.weight.sum(axis=2), 1.0)
        # without noise BATNA rises and perceived risk falls with power
        order = np.argsort(s.power0[0])
        assert np.all(np.diff(s.batna0[0][order]) >= 0) and np.all(np.diff(s.risk[0][order]) <= 0)
        # the burden issue's ideal is the end the party prefers: 0 (equal shares) when its
        # capability is above 1/N, else 1
        np.testing.assert_array_equal(s.ideal[0, :, -1], s.capability[0] < 1 / 6)
        noisy.reset(seed=seed)
        t = noisy.core_state
        kappas.append(float(t.credibility[0]))
        # the same powers, but BATNA and risk are no longer functions of them
        np.testing.assert_array_equal(t.power0, s.power0)
        off.append(np.abs(t.batna0 - s.batna0).max() + np.abs(t.risk - s.risk).max())
    low, high = load("burden_sharing").mediator.credibility
    assert low <= min(kappas) < max(kappas) <= high and max(kappas) - min(kappas) > 0.1
    assert min(off) > 0


BAD = [
    ({"n_parties": 1}, "n_parties", "1", r"\[2, 64\]"),
    ({"implementation": {"shock_prob": 1.5}}, "implementation.shock_prob", "1.5", r"\[0.0, 1.0\]"),
    ({"mediator": {"budget": -1.0}}, "mediator.budget", "-1.0", r"\[0.0, 1000.0\]"),
    ({"decision_rule": "plurality"}, "decision_rule", "plurality", "unanimity"),
    (
        {"n_parties": 2, "types": {"weights": [[0, 0, 0, 0], [1, 1, 1, 1]]}},
        "types.weights",
        "0, 0",
        "positive sum",
    ),
    (
        {"n_parties": 2, "types": {"power": {"kind": "fixed", "values": [0.0, 0.0]}}},
        "types.power.values",
        "0.0",
        "normalised",
    ),
    ({"n_parties": "five"}, "n_parties", "five", "int"),
    ({"ratification": {"enabled": "yes"}}, "ratification.enabled", "yes", "bool"),
    ({"discount": 0.0}, "discount", "0.0", r"\(0.0, 1.0\]"),
]


@pytest.mark.parametrize("data, field, value, allowed", BAD)
def test_invalid_scenarios_name_field_value_and_what_is_allowed(data, field, value, allowed):
    with pytest.raises(ScenarioError) as err:
        from_dict(data)
    msg = str(err.value)
    assert f"'{field}'" in msg and value in msg and re.search(allowed, msg), msg


def test_unknown_yaml_key_is_named_with_the_allowed_keys(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("n_parties: 3\nimplementaton:\n  n_stages: 2\n")
    with pytest.raises(
        ScenarioError, match=r"'implementaton'.*allowed keys here: .*implementation"
    ):
        load(str(path))
    path.write_text("implementation:\n  n_stage: 2\n")
    with pytest.raises(ScenarioError, match=r"'implementation.n_stage'.*n_stages"):
        load(str(path))


def test_unknown_scenario_name_lists_the_builtins():
    with pytest.raises(ScenarioError, match=r"unknown scenario name 'multilateral_9'.*lilliput"):
        negenv.parallel_env("multilateral_9")


def test_unknown_override_is_named():
    with pytest.raises(ScenarioError, match=r"'implementation__n_stagez'.*n_stages"):
        negenv.parallel_env("multilateral_5", implementation__n_stagez=3)


def test_scenario_is_frozen():
    sc = Scenario()
    with pytest.raises(AttributeError):
        sc.n_parties = 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"render_mode": "video"}, r"render_mode = 'video'.*ansi"),
        ({"action_mode": "hybrid"}, r"action_mode = 'hybrid'.*discrete"),
        ({"max_cycles": 0}, r"max_cycles = 0"),
        ({"max_cycles": True}, r"max_cycles = True"),
        ({"flat_obs": "no"}, r"flat_obs = 'no'.*True or False"),
    ],
)
def test_bad_env_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        negenv.parallel_env("multilateral_5", **kwargs)


def test_action_outside_the_space_names_the_agent_and_the_action():
    env = negenv.parallel_env("multilateral_5")
    env.reset(seed=0)
    actions = {a: env.action_space(a).sample() for a in env.agents}
    actions["party_3"] = np.array([0, 0, 0, 9, 1, 1, 1])
    with pytest.raises(ValueError, match=r"action .*9.* of agent 'party_3' is outside"):
        env.step(actions)
    actions["party_3"] = env.action_space("party_3").sample()
    actions["mediator"] = np.array([1.5, 0.0])
    with pytest.raises(ValueError, match=r"agent 'mediator' is outside"):
        env.step(actions)
    del actions["mediator"]
    with pytest.raises(ValueError, match=r"no action given for agents \['mediator'\]"):
        env.step(actions)


def test_action_errors_name_the_culprit_only():
    env = negenv.parallel_env("multilateral_5")
    with pytest.raises(RuntimeError, match=r"before reset\(\)"):
        env.step({})
    env.reset(seed=0)
    actions = {a: env.action_space(a).sample() for a in env.agents}
    actions["party_2"] = actions["party_2"][None]  # one agent's action has an extra axis
    with pytest.raises(ValueError, match=r"of agent 'party_2' is outside") as err:
        env.step(actions)
    assert "party_1" not in str(err.value)
    actions["party_2"] = env.action_space("party_2").sample()
    actions["party_9"] = actions["party_2"]
    with pytest.raises(ValueError, match=r"unknown agents \['party_9'\]"):
        env.step(actions)
    del actions["party_9"], actions["party_4"]
    with pytest.raises(ValueError, match=r"no action given for agents \['party_4'\]"):
        env.step(actions)
    with pytest.raises(ValueError, match=r"must be a dict from agent to action; got <class 'list'"):
        env.step(list(actions.values()))
    every = {a: env.action_space(a).sample() for a in env.agents}
    env.step(types.MappingProxyType(every))  # any read-only mapping will do


def test_numpy_numbers_are_accepted_for_number_fields():
    sc = from_dict({"n_parties": np.int64(3), "discount": np.float32(0.9)})
    assert sc.n_parties == 3 and negenv.parallel_env(sc).reset(seed=0)


def test_yaml_whose_top_level_is_not_a_mapping_is_a_scenario_error(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- n_parties: 3\n")
    with pytest.raises(ScenarioError, match=r"list.yaml.*holds a list.*mapping"):
        load(str(path))


def test_truncation_pays_the_mediator_its_objective_so_far():
    from agents import act, registry

    # weight 1 on agreement: the objective so far is at least 1 once a text is in force
    env = negenv.parallel_env(
        "multilateral_5", max_cycles=4, mediator__information="exact", objective__agreement=1.0
    )
    policies = registry.population("threshold", env)
    policies["mediator"] = registry.mediator("nbs_full").build(env)
    for seed in range(30):
        obs, _ = env.reset(seed=seed)
        paid = []
        while env.agents:
            obs, rewards, _, truncs, _ = env.step(act(policies, obs))
            paid.append(rewards["mediator"])
        if env.outcome["status"] == "truncated" and env.outcome["agreed_round"] >= 0:
            break
    else:
        raise AssertionError("no truncated agreement in 30 episodes")
    assert paid[:-1] == [0.0] * (len(paid) - 1) and paid[-1] >= 1.0
    assert sum(paid) == pytest.approx(env.outcome["mediator_utility"])
    assert 0 < env.outcome["stages_completed"] < env.scenario.implementation.n_stages


def test_continuous_action_out_of_range_is_refused():
    env = negenv.parallel_env("unmediated_5", action_mode="continuous")
    env.reset(seed=0)
    actions = {a: env.action_space(a).sample() for a in env.agents}
    actions["party_0"] = actions["party_0"] + 2.0
    with pytest.raises(ValueError, match=r"agent 'party_0' is outside"):
        env.step(actions)
