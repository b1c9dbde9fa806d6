"""The text view: exact round trips on every scenario and role, the schema, and answers that
must be refused (nothing is ever read from prose)."""

import json

import jsonschema
import numpy as np
import pytest

import negenv
from agents import act, registry
from negenv.scenario import load, with_overrides
from negenv.text import AnswerError, TextView

SCENARIOS = [
    "bilateral_asymmetric",
    "burden_sharing",
    "lilliput",
    "multilateral_5",
    "rubinstein",
    "unmediated_5",
]


def _play(name: str, episodes: int = 3):
    """(agent, obs, mask, action) of every agent-step of a few mixed-population episodes."""
    env = negenv.parallel_env(name)
    policies = registry.population("mixed", env)
    if env.scenario.mediated:
        policies["mediator"] = registry.mediator("guarantees_monitoring").build(env)
    out = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=ep)
        while env.agents:
            actions = act(policies, obs)
            out += [(a, o["observation"], o["action_mask"], actions[a]) for a, o in obs.items()]
            obs, *_ = env.step(actions)
    return env.scenario, out


@pytest.mark.parametrize("name", SCENARIOS)
def test_view_round_trips_exactly_and_answers_encode_every_action(name):
    sc, steps = _play(name)
    views = {"party": TextView(sc, "party")}
    if sc.mediated:
        views["mediator"] = TextView(sc, "mediator")
    for tv in views.values():
        jsonschema.Draft202012Validator.check_schema(tv.schema)
        assert str(sc.max_rounds - 1) in tv.brief() and str(sc.discount) in tv.brief()
    for agent, obs, mask, action in steps:
        tv = views["mediator" if agent == "mediator" else "party"]
        view = json.loads(json.dumps(tv.view(obs)))  # what a model actually reads
        np.testing.assert_array_equal(tv.vector(view), obs)
        np.testing.assert_array_equal(tv.mask(view), mask)
        if agent != "mediator":
            assert view["you"] == agent
        answer = tv.encode(action)
        jsonschema.validate(answer, tv.schema)
        np.testing.assert_array_equal(tv.parse(json.dumps(answer), view, mask), action)
        prompt = tv.prompt(view, mask, ["earlier step"])
        assert json.dumps(view, separators=(",", ":")) in prompt
        assert "earlier step" in prompt


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_state_complete_view_names_every_slice_and_inverts(name):
    env = negenv.parallel_env(name)
    tv = TextView(env.scenario, "party")
    policies = registry.population("mixed", env)
    if env.scenario.mediated:
        policies["mediator"] = registry.mediator("split").build(env)
    obs, _ = env.reset(seed=5)
    while env.agents:
        state = env.state()
        view = json.loads(json.dumps(tv.state_view(state)))
        assert list(view) == list(tv.lay.global_state.names)
        np.testing.assert_array_equal(tv.state_vector(view), state)
        obs, *_ = env.step(act(policies, obs))


def test_the_brief_reads_the_scenario_not_fixed_prose():
    sc = load("multilateral_5")
    other = with_overrides(
        sc, {"quota": 0.8, "implementation.n_stages": 6, "mediator.monitoring_levels": 3}
    )
    brief, changed = TextView(sc, "mediator").brief(), TextView(other, "mediator").brief()
    assert "qualified majority of 0.65" in brief and "qualified majority of 0.8" in changed
    assert "in 4 stages" in brief and "in 6 stages" in changed
    assert '"maximum":2' in changed  # the monitoring levels in the schema
    assert "coalitions" not in TextView(sc, "party").brief()
    assert "coalitions" in TextView(load("lilliput"), "party").brief()


@pytest.fixture(scope="module")
def step():
    """A party's first voting step on multilateral_5 and the mediator's."""
    sc = load("multilateral_5")
    env = negenv.parallel_env(sc)
    obs, _ = env.reset(seed=1)
    obs, *_ = env.step({a: env.action_space(a).sample(mask=None) * 0 for a in env.agents})
    party, med = TextView(sc, "party"), TextView(sc, "mediator")
    p, m = obs["party_0"], obs["mediator"]
    return (party, party.view(p["observation"]), p["action_mask"]), (
        med,
        med.view(m["observation"]),
        m["action_mask"],
    )


def test_fields_left_out_keep_the_documented_default(step):
    (party, view, mask), (med, mview, mmask) = step
    assert view["round"] == 1 and view["phase"] == "negotiate"
    row = party.parse('{"vote": "accept"}', view, mask)
    np.testing.assert_array_equal(row, [1, 0, 0, 1, 1, 1, 1])  # accept, comply, keep, hold
    np.testing.assert_array_equal(party.parse("{}", view, mask), party.default(view, mask))
    text = np.rint(np.asarray(list(mview["standing_text"].values())) * 20).astype(int)
    np.testing.assert_array_equal(med.default(mview, mmask), [*text, 0, 0])
    fenced = 'Here is my answer:\n```json\n{"monitoring": 3, "guarantee": "party_2"}\n```'
    np.testing.assert_array_equal(med.parse(fenced, mview, mmask), [*text, 3, 3])


@pytest.mark.parametrize(
    "reply, message",
    [
        ("I accept the text and ask for more on issue_0.", "not valid JSON"),
        ('I think {"vote": "accept"} is right.', "not valid JSON"),
        ('{"vote": "accept",}', "not valid JSON"),
        ('["accept"]', "must be a JSON object"),
        ('{"vote": "yes"}', "vote: 'yes' is not one of"),
        ('{"demand": {"issue_9": "up"}}', "issue_9"),
        ('{"ballot": "accept"}', "'ballot' was unexpected"),
        ('{"comply": "defect"}', "field 'comply' = 'defect' is not allowed in this step"),
    ],
)
def test_unusable_party_answers_are_refused_with_the_reason(step, reply, message):
    (party, view, mask), _ = step
    with pytest.raises(AnswerError, match=message):
        party.parse(reply, view, mask)


@pytest.mark.parametrize(
    "reply, message",
    [
        ('{"proposal": {"issue_0": 21}}', "21 is greater than the maximum of 20"),
        ('{"proposal": {"issue_0": -1}}', "-1 is less than the minimum of 0"),
        ('{"proposal": {"issue_0": 0.5}}', "0.5 is not of type 'integer'"),
        ('{"monitoring": 5}', "5 is greater than the maximum of 4"),
        ('{"guarantee": "party_5"}', "'party_5' is not one of"),
    ],
)
def test_out_of_range_mediator_answers_are_refused(step, reply, message):
    _, (med, view, mask) = step
    with pytest.raises(AnswerError, match=message):
        med.parse(reply, view, mask)


def test_round_zero_has_no_vote_and_the_error_says_what_is_allowed():
    sc = load("multilateral_5")
    env = negenv.parallel_env(sc)
    obs, _ = env.reset(seed=0)
    tv = TextView(sc, "party")
    view = tv.view(obs["party_0"]["observation"])
    with pytest.raises(AnswerError, match=r"'vote' = 'accept' .* round 0\); allowed now: \['rej"):
        tv.parse('{"vote": "accept"}', view, obs["party_0"]["action_mask"])
    assert tv.reads(obs["party_0"]["action_mask"]) == ["demand"]


def test_legal_listing_is_an_option_off_by_default(step):
    (party, view, mask), _ = step
    assert "Allowed values" not in party.prompt(view, mask)
    listing = TextView(party.scenario, "party", list_legal=True).prompt(view, mask)
    assert 'Allowed values: {"vote":["reject","accept"],"comply":["comply"]' in listing


def test_bad_roles_are_refused():
    with pytest.raises(ValueError, match="role = 'judge' is invalid"):
        TextView(load("multilateral_5"), "judge")
    with pytest.raises(ValueError, match="protocol is alternating_offers"):
        TextView(load("rubinstein"), "mediator")
