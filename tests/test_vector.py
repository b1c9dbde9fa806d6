"""The batched torch env: an oracle against the PettingZoo env, seeding, auto-reset, errors.

The batched env runs on the CPU here. Set ``NEGENV_TEST_DEVICE=cuda`` to run the oracle, the
seeding tests and the TorchRL checks on a GPU instead (never needed by CI).
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

import negenv
from negenv import rng
from negenv.layout import MEDIATOR
from negenv.vector import CPU_INDUCTOR, VectorNegotiationEnv

SCENARIOS = negenv.builtin_names()
DEVICE = torch.device(os.environ.get("NEGENV_TEST_DEVICE", "cpu"))


def cpu(x):
    """Tensors anywhere in dicts and tuples, moved to the CPU for comparison."""
    if isinstance(x, torch.Tensor):
        return x.cpu()
    if isinstance(x, dict):
        return {k: cpu(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(cpu(v) for v in x)
    return x


def on_device(acts: dict) -> dict:
    return {role: a.to(DEVICE) for role, a in acts.items()}


def masked_choice(mask: torch.Tensor, nvec, gen: torch.Generator) -> torch.Tensor:
    """One allowed option per action component, uniformly: argmax of noise plus the mask."""
    noise = torch.rand(mask.shape, generator=gen, dtype=torch.float64, device=mask.device)
    return torch.stack([p.argmax(-1) for p in (noise + mask).split(list(nvec), -1)], -1)


def random_actions(
    venv: VectorNegotiationEnv, obs: dict, gen: torch.Generator, defect_p: float = 0.5
) -> dict:
    """Uniform masked actions, except that a party allowed to defect does so w.p. defect_p."""
    acts = {}
    for role in venv.roles:
        mask = obs[role]["action_mask"]
        if venv.action_mode == "continuous":
            low, high = venv.action_bounds(role)
            u = torch.rand(venv.action_shape(role), generator=gen, dtype=venv.dtype)
            acts[role] = low + (high - low) * u
            continue
        nvec = venv.layout.party_nvec if role == "party" else venv.layout.mediator_nvec
        acts[role] = masked_choice(mask, nvec, gen)
        if role == "party":
            u = torch.rand(mask.shape[:2], generator=gen, dtype=torch.float64)
            acts[role][..., 1] = ((mask[..., 3] == 1) & (u < defect_p)).long()
    return acts


def as_dict(env, acts: dict, b: int) -> dict:
    out = {p: acts["party"][b, i].numpy() for i, p in enumerate(env.parties)}
    if env.scenario.mediated:
        out[MEDIATOR] = acts["mediator"][b].numpy()
    return out


def check_obs(env, pz_obs: dict, obs: dict, b: int) -> None:
    for i, agent in enumerate(env.possible_agents):
        role, row = ("mediator", (b,)) if agent == MEDIATOR else ("party", (b, i))
        want = obs[role]["observation"][row].numpy().astype(np.float32)
        np.testing.assert_array_equal(pz_obs[agent]["observation"], want, err_msg=agent)
        np.testing.assert_array_equal(
            pz_obs[agent]["action_mask"], obs[role]["action_mask"][row].numpy(), err_msg=agent
        )


def check_record(pz: dict, batch: dict, row: int) -> None:
    for field, value in batch.items():
        if field == "slot":
            continue
        got, want = pz[field], value[row]
        if isinstance(want, np.ndarray) and want.dtype.kind == "f" or isinstance(got, float):
            np.testing.assert_allclose(got, want, atol=1e-9, err_msg=field)
        else:
            np.testing.assert_array_equal(got, want, err_msg=field)


def run_oracle(
    name: str, mode: str, b_envs: int, steps: int, seed: int, defect_p: float = 0.5
) -> set[str]:
    """Step the batched env and one PettingZoo env per slot with the same actions, checking
    every observation, mask, reward, flag and outcome record; return the events seen."""
    venv = VectorNegotiationEnv(
        name, num_envs=b_envs, action_mode=mode, dtype=torch.float64, device=DEVICE
    )
    obs = cpu(venv.reset(seed=seed))
    envs = [negenv.parallel_env(name, action_mode=mode) for _ in range(b_envs)]
    episodes = [0] * b_envs
    for b, env in enumerate(envs):
        key = rng.episode_keys(seed, np.array([b]), np.array([0]))[0]
        check_obs(env, env.reset(options={"key": int(key)})[0], obs, b)
    gen = torch.Generator().manual_seed(seed)
    seen: set[str] = set()
    for _ in range(steps):
        acts = random_actions(venv, obs, gen, defect_p)
        coalition = venv.state.coalition.cpu()
        obs, rewards, terminated, truncated, info = cpu(venv.step(on_device(acts)))
        kept = (coalition >= 0) & (acts["party"][..., 2] == 0) if mode == "discrete" else None
        for b, env in enumerate(envs):
            pz_obs, pz_r, pz_term, pz_trunc, pz_info = env.step(as_dict(env, acts, b))
            party_r = [pz_r[p] for p in env.parties]
            np.testing.assert_allclose(party_r, rewards["party"][b].numpy(), atol=1e-9)
            if env.scenario.mediated:
                assert pz_r[MEDIATOR] == pytest.approx(float(rewards["mediator"][b]), abs=1e-9)
            assert pz_term["party_0"] == bool(terminated[b])
            assert pz_trunc["party_0"] == bool(truncated[b])
            if kept is not None and (kept[b].numpy() & (env.core_state.coalition[0] == -1)).any():
                seen.add("coalition_split")
            if env.agents:
                check_obs(env, pz_obs, obs, b)
                continue
            row = int(np.flatnonzero(info["outcome"]["slot"] == b)[0])
            check_record(env.outcome, info["outcome"], row)
            seen.add(env.outcome["status"])
            seen |= {"agreement"} if env.outcome["agreed_round"] >= 0 else set()
            seen |= {"ratification_failure"} if env.outcome["ratification_failures"] else set()
            seen |= {"defection"} if env.outcome["defections_detected"].sum() else set()
            episodes[b] += 1
            key = rng.episode_keys(seed, np.array([b]), np.array([episodes[b]]))[0]
            check_obs(env, env.reset(options={"key": int(key)})[0], obs, b)
    assert sum(episodes) >= b_envs  # the comparison crossed episode boundaries
    return seen


@pytest.mark.parametrize("mode", ["discrete", "continuous"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_batched_env_matches_the_pettingzoo_env_step_for_step(name, mode):
    seen = run_oracle(name, mode, b_envs=12, steps=80, seed=5)
    endings = seen & {"completed", "collapsed", "breakdown"}
    assert "agreement" in seen and (len(endings) >= 2 or name == "rubinstein"), seen


def test_oracle_covers_every_phase():
    seen = run_oracle("lilliput", "discrete", b_envs=40, steps=60, seed=2, defect_p=0.1)
    assert {
        "agreement",
        "completed",
        "collapsed",
        "breakdown",
        "ratification_failure",
        "defection",
        "coalition_split",
    } <= seen, seen


def test_same_seed_same_batch_and_independent_of_batch_size():
    def run(num_envs: int, seed: int, slots: int = 3) -> list:
        venv = VectorNegotiationEnv("multilateral_5", num_envs=num_envs, device=DEVICE)
        obs = venv.reset(seed=seed)
        out = []
        for t in range(30):
            # the actions of slot b depend only on (b, t)
            acts = {}
            for role in venv.roles:
                gen = torch.Generator().manual_seed(t)
                full = (1000,) + venv.action_shape(role)[1:]
                nvec = venv.layout.party_nvec if role == "party" else venv.layout.mediator_nvec
                high = torch.as_tensor(nvec)
                acts[role] = (torch.rand(full, generator=gen) * high).long()[:num_envs]
            obs, rewards, term, trunc, _ = cpu(venv.step(on_device(acts)))
            out.append(
                (
                    obs["party"]["observation"][:slots].clone(),
                    rewards["party"][:slots].clone(),
                    term[:slots].clone(),
                )
            )
        return out

    a, b, c = run(3, 9), run(1000, 9), run(3, 10)
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            assert torch.equal(u, v)
    for x, y in zip(run(1, 9, slots=1), b):  # num_envs = 1 against num_envs = 1000
        for u, v in zip(x, y):
            assert torch.equal(u, v[:1])
    assert any(not torch.equal(x[0], y[0]) for x, y in zip(a, c))
    assert all(torch.equal(x[0], y[0]) for x, y in zip(a, run(3, 9)))


def test_auto_reset_hands_out_final_observation_and_records():
    venv = VectorNegotiationEnv("rubinstein", num_envs=64)
    obs = venv.reset(seed=0)
    post = torch.zeros(venv.action_shape("party"), dtype=torch.int64)
    post[..., 3] = 1  # round 0: no vote; party_0 posts level 0, the text 0
    obs, _, term, _, info = venv.step({"party": post})
    assert not term.any() and not info["illegal_action"].any()
    accept = post.clone()
    accept[..., 0] = 1  # both accept the standing text: every episode ends at step 2
    obs, rewards, term, trunc, info = venv.step({"party": accept})
    assert term.all() and not trunc.any()
    assert info["done"].all() and len(info["outcome"]["status"]) == 64
    assert set(info["outcome"]["status"]) == {"completed"}
    # text 0 in force at round 1: worth 0 to party_0 (ideal 1), 0.9 to party_1 (ideal 0)
    np.testing.assert_allclose(info["outcome"]["utility"], np.tile([0.0, 0.9], (64, 1)))
    np.testing.assert_allclose(rewards["party"].numpy(), np.tile([0.0, 0.9], (64, 1)))
    assert (venv.state.round == 0).all() and (venv.state.phase == 0).all()  # new episodes
    final = info["final_observation"]["party"]["observation"]
    assert final.shape == obs["party"]["observation"].shape  # every slot ended
    assert (final[:, :, venv.layout.party_obs["phase"]] == 0).all()  # done: no phase bit
    assert (obs["party"]["observation"][:, :, venv.layout.party_obs["phase"]][..., 0] == 1).all()


def test_episodes_prepared_ahead_are_the_episodes_of_their_slot(monkeypatch):
    """Auto-reset gathers episodes drawn ahead, in batches: every new episode is still the
    one its (seed, slot, episode number) keys, after partial refills and after a reset."""
    from negenv import core, observe
    from negenv.randomness import sample_types

    venv = VectorNegotiationEnv("multilateral_5", num_envs=16, dtype=torch.float64)
    draws = []
    fresh = venv._fresh
    monkeypatch.setattr(venv, "_fresh", lambda s, e: draws.append(len(s)) or fresh(s, e))
    gen = torch.Generator().manual_seed(3)
    resets = 0
    for seed in (4, 5):  # a second reset() must not serve the first seed's episodes
        obs = venv.reset(seed=seed, first_slot=7)
        episodes = torch.zeros(16, dtype=torch.int64)
        for _ in range(60):
            obs, _, _, _, info = venv.step(random_actions(venv, obs, gen))
            if "done" not in info:
                continue
            done = info["done"]
            resets += 1
            episodes += done.long()
            slots = torch.nonzero(done).squeeze(1)
            keys = rng.episode_keys(seed, slots + 7, episodes[slots])
            want = core.reset_state(venv.scenario, keys, sample_types(venv.scenario, keys))
            for field, value in want.__dict__.items():
                got = getattr(venv.state, field).index_select(0, slots)
                assert torch.equal(got, value.to(got.dtype)), field
            static = observe.static_features(venv.scenario, venv.layout, want)
            for got, value in zip(venv._static, static):
                assert torch.equal(got.index_select(0, slots), value)
            first = venv._observations(want, static, venv._masks_of(want))
            for role in first:
                for key, value in first[role].items():
                    assert torch.equal(obs[role][key].index_select(0, slots), value), key
    # two full draws at reset(), one full and some partial refills ahead, far fewer draws
    # than auto-resets
    partial = [n for n in draws if n < 16]
    assert partial and len(draws) < resets, (draws, resets)


def test_max_cycles_truncates():
    venv = VectorNegotiationEnv("multilateral_5", num_envs=16, max_cycles=2)
    venv.reset(seed=0)
    hold = {r: torch.zeros(venv.action_shape(r), dtype=torch.int64) for r in venv.roles}
    hold["party"][..., 3:] = 1  # reject, hold: nobody agrees
    hold["mediator"][..., :4] = 1
    _, _, term, trunc, _ = venv.step(hold)
    assert not (term | trunc).any()
    _, _, term, trunc, info = venv.step(hold)
    assert trunc.all() and not term.any() and set(info["outcome"]["status"]) == {"truncated"}


def test_bad_actions_and_devices_give_clear_errors():
    venv = VectorNegotiationEnv("multilateral_5", num_envs=4)
    venv.reset(seed=0)
    good = {r: torch.zeros(venv.action_shape(r), dtype=torch.int64) for r in venv.roles}
    with pytest.raises(ValueError, match=r"role 'party' must be a torch.int64 tensor of shape"):
        venv.step({**good, "party": good["party"][:, :3]})
    with pytest.raises(ValueError, match=r"role 'mediator' must be a torch.int64"):
        venv.step({**good, "mediator": good["mediator"].float()})
    bad = good["party"].clone()
    bad[0, 0, 3] = 3
    with pytest.raises(ValueError, match=r"role 'party' out of range"):
        venv.step({**good, "party": bad})
    with pytest.raises(ValueError, match=r"no actions for role 'mediator'"):
        venv.step({"party": good["party"]})
    with pytest.raises(ValueError, match=r"device = 'tpu:7' is not available"):
        VectorNegotiationEnv("multilateral_5", device="tpu:7")
    with pytest.raises(ValueError, match=r"num_envs = 0"):
        VectorNegotiationEnv("multilateral_5", num_envs=0)


def test_torchrl_view_passes_check_env_specs():
    from torchrl.envs.utils import check_env_specs

    from negenv.adapters.torchrl import NegotiationTorchRLEnv

    for name in ("multilateral_5", "unmediated_5", "lilliput"):
        env = NegotiationTorchRLEnv(name, num_envs=8, device=DEVICE)
        check_env_specs(env)
        rollout = env.rollout(40, break_when_any_done=False)
        assert rollout["next", "party", "reward"].shape == (8, 40, env.venv.layout.n, 1)
        assert rollout["next", "done"].any()  # episodes ended and were reset by TorchRL


def test_state_fields_never_share_memory():
    # the batched env writes new episodes into the state in place: aliasing would leak
    venv = VectorNegotiationEnv("lilliput", num_envs=4)
    venv.reset(seed=0)
    storages = [v.untyped_storage().data_ptr() for v in venv.state.__dict__.values()]
    assert len(storages) == len(set(storages))


def test_rules_trace_into_one_graph_and_compile_to_the_same_step():
    """torch.compile sees the rules whole (no data-dependent branches, no graph breaks), the
    env's compiled part is one graph, and the compiled step equals the eager one."""
    from negenv import core
    from negenv.randomness import draw_noise

    venv = VectorNegotiationEnv("lilliput", num_envs=64, dtype=torch.float64)
    venv.reset(seed=1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(6):  # a few random masked steps: some episodes negotiate, some implement
        obs = venv._observe()
        venv.step(random_actions(venv, obs, gen))
    s, obs = venv.state, venv._observe()
    acts = random_actions(venv, obs, gen)
    decoded = venv.codec.decode(s, acts["party"], acts["mediator"])
    noise = draw_noise(s.key, s.clock, venv.layout.n, venv.dtype)
    args = (venv.scenario, s, decoded, noise)
    explained = torch._dynamo.explain(core.step_state)(*args)
    assert explained.graph_break_count == 0, explained.break_reasons
    # and the env's whole compiled part, the illegal-action check and decoding included, as a
    # compiled env runs it (fresh observation tensors: the eager env's recycler stays eager)
    traced = VectorNegotiationEnv(
        "lilliput", num_envs=64, dtype=torch.float64, compile={"backend": "eager"}
    )
    parts = (s, venv._static, venv._masks, acts["party"], acts["mediator"], noise)
    whole = torch._dynamo.explain(traced._advance)(*parts)
    assert (whole.graph_count, whole.graph_break_count) == (1, 0), whole.break_reasons
    eager = core.step_state(*args)
    compiled = torch.compile(core.step_state, backend="eager")(*args)  # tracing, no codegen
    for field in s.__dict__:
        assert torch.equal(getattr(eager[0], field), getattr(compiled[0], field)), field
    assert torch.equal(eager[1], compiled[1]) and torch.equal(eager[2], compiled[2])


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compiled_step_gives_the_eager_episodes(backend):
    """``compile=`` plays the same episodes as the eager step, resets included: traced and
    functionalised (aot_eager), and as generated code (inductor, the default)."""
    if backend == "inductor" and DEVICE.type == "cpu" and not shutil.which("c++"):
        pytest.skip("inductor on the CPU needs a C++ compiler, and none is installed")
    torch._dynamo.reset()
    envs = [
        VectorNegotiationEnv(
            "lilliput", num_envs=32, dtype=torch.float64, device=DEVICE, compile=flag
        )
        for flag in (False, {"backend": backend})
    ]
    obs = [cpu(env.reset(seed=4)) for env in envs]
    gen, ended = torch.Generator().manual_seed(4), 0
    for _ in range(30):
        acts = on_device(random_actions(envs[0], obs[0], gen))
        (obs_e, r_e, term_e, _, info_e), (obs_c, r_c, term_c, _, info_c) = (
            cpu(env.step(acts)) for env in envs
        )
        for role in obs_e:
            torch.testing.assert_close(
                obs_c[role]["observation"], obs_e[role]["observation"], rtol=0, atol=1e-9
            )
            assert torch.equal(obs_c[role]["action_mask"], obs_e[role]["action_mask"])
            torch.testing.assert_close(r_c[role], r_e[role], rtol=0, atol=1e-9)
        assert torch.equal(term_c, term_e)
        assert torch.equal(info_c["illegal_action"], info_e["illegal_action"])
        if "outcome" in info_e:
            ended += len(info_e["outcome"]["slot"])
            for field, value in info_e["outcome"].items():
                if value.dtype.kind == "f":
                    np.testing.assert_allclose(info_c["outcome"][field], value, atol=1e-9)
                else:
                    np.testing.assert_array_equal(info_c["outcome"][field], value, err_msg=field)
        obs = [obs_e, obs_c]
    assert ended >= 32  # episodes ended and were reset on both paths
    storages = [v.untyped_storage().data_ptr() for v in envs[1].state.__dict__.values()]
    assert len(storages) == len(set(storages))  # the in-place resets cannot leak across fields


def test_compile_option_is_checked():
    with pytest.raises(ValueError, match=r"compile = 'yes' is invalid: a bool or a dict"):
        VectorNegotiationEnv("lilliput", num_envs=2, compile="yes")


def test_cpu_compile_adds_its_inductor_options_unless_told_otherwise(monkeypatch):
    """On the CPU the step compiles without tail vectorisation (CPU_INDUCTOR); options the
    caller gives win, and ``mode`` (which torch does not combine with options) or another
    backend is left alone."""
    seen = []
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: seen.append(kw) or fn)
    own = {"options": {"cpp.enable_loop_tail_vec": True, "max_fusion_size": 8}}
    mode, eager = {"mode": "max-autotune-no-cudagraphs"}, {"backend": "eager"}
    for compile in (True, own, mode, eager):
        VectorNegotiationEnv("lilliput", num_envs=2, device="cpu", compile=compile)
    assert CPU_INDUCTOR == {"cpp.enable_loop_tail_vec": False}
    assert seen == [
        {"dynamic": False, "options": CPU_INDUCTOR},
        {"dynamic": False, **own},
        {"dynamic": False, **mode},
        {"dynamic": False, **eager},
    ]


def test_torchrl_collector_gathers_masked_batches():
    """A TorchRL collector drives the view with a masked policy: batches shaped
    [num_envs, steps], legal actions only, episodes reset through TorchRL."""
    from tensordict.nn import TensorDictModule, TensorDictSequential
    from torchrl.collectors import Collector

    from negenv.adapters.torchrl import NegotiationTorchRLEnv

    env = NegotiationTorchRLEnv("multilateral_5", num_envs=8, device=DEVICE)
    venv, gen = env.venv, torch.Generator(device=DEVICE).manual_seed(0)

    roles = {"party": venv.layout.party_nvec, "mediator": venv.layout.mediator_nvec}
    policy = TensorDictSequential(
        *(
            TensorDictModule(
                lambda mask, nvec=nvec: masked_choice(mask, nvec, gen),
                [(role, "action_mask")],
                [(role, "action")],
            )
            for role, nvec in roles.items()
        )
    )
    collector = Collector(env, policy, frames_per_batch=8 * 25, total_frames=400)
    batches = list(collector)
    collector.shutdown()
    assert len(batches) == 2 and batches[0].batch_size == (8, 25)
    data = torch.cat(batches, 1)
    assert data["next", "party", "reward"].shape == (8, 50, venv.layout.n, 1)
    mask, action = data["party", "action_mask"], data["party", "action"]
    offsets = torch.as_tensor(venv.codec.offsets, device=action.device)
    assert mask.gather(-1, action + offsets).all()  # every chosen option was allowed
    done = data["next", "done"].squeeze(-1)
    assert done.any()
    rounds = data["party", "observation"][..., 0, venv.layout.party_obs["round"]]
    after = torch.zeros_like(done)
    after[:, 1:] = done[:, :-1]
    assert (
        after.any() and (rounds[after] == 0).all()
    )  # the step after an ending starts a new episode


def test_vector_benchmark_runs_with_its_breakdown(capsys, monkeypatch):
    """benchmarks/bench_vector.py end to end on a tiny budget, a scenario with and one without
    a mediator: rates beside the floor, and the breakdown's auto-reset at random play's rate."""
    import runpy
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "bench_vector.py"
    argv = [str(path), "--sizes", "16", "--seconds", "0.02", "--breakdown", "--threads", "1"]
    monkeypatch.setattr("sys.argv", argv + ["--scenarios", "rubinstein", "multilateral_5"])
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    for name in ("rubinstein", "multilateral_5"):
        assert f"{name}, num_envs 16: milliseconds per step" in out
    assert out.count("auto-reset of ") == 2 and out.count("floor (whole step)") == 2


def test_vector_benchmark_breakdown_without_an_ended_episode(capsys, monkeypatch):
    """When the warm-up ends no episode there is no auto-reset rate to time: the breakdown
    says so instead of timing a cycle of 24 * num_envs steps."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "bench_vector.py"
    spec = importlib.util.spec_from_file_location("bench_vector", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def reject_all(venv, obs, gen):  # every vote a no: a 50-round Rubinstein game runs on
        return {r: torch.zeros(venv.action_shape(r), dtype=torch.int64) for r in venv.roles}

    monkeypatch.setattr(bench, "masked", reject_all)
    bench.breakdown("rubinstein", 16, torch.device("cpu"), repeats=1)
    out = capsys.readouterr().out
    assert "no episode ended in the 24 warm-up steps" in out
    assert "auto-reset of" not in out and "rules (step_state)" in out
