"""Batched env throughput: agent-steps/s by num_envs, beside the PettingZoo API and a
reference batched step, measured in the same run; plus bytes of state per environment.

    python benchmarks/bench_vector.py [--device cpu] [--threads 2] [--sizes 1 256 4096 16384]
        [--breakdown] [--compile]

The reference is a bandwidth-bound toy negotiation step over the same shapes: batched
offers, weighted L1 utilities, threshold acceptance, masked auto-reset. Actions are random
and masked, drawn outside the timed region. Read the ratios: the machine may be shared.
``--breakdown`` also times the parts of one step at the largest size (milliseconds), beside the
reference step, and the bytes of observation each writes. ``--compile`` measures the env
built with ``compile=True`` (its compile time is spent before the timed steps).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import torch

import negenv
from negenv.vector import VectorNegotiationEnv

# benchmarks/ is not a package: load the sibling PettingZoo benchmark by path
_spec = importlib.util.spec_from_file_location(
    "bench_pettingzoo", Path(__file__).with_name("bench_pettingzoo.py")
)
bench_pettingzoo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_pettingzoo)


class ReferenceStep:
    """A toy batched negotiation: N agents, K issues, B envs, float32 on ``device``."""

    def __init__(self, b: int, n: int, k: int, device: torch.device, horizon: int = 20):
        g = torch.Generator(device="cpu").manual_seed(0)
        self.x = torch.full((b, k), 0.5, device=device)
        self.y = torch.rand((b, n, k), generator=g).to(device)
        w = torch.rand((b, n, k), generator=g).to(device)
        self.w = w / w.sum(-1, keepdim=True)
        self.thr = (0.6 + 0.2 * torch.rand((b, n), generator=g)).to(device)
        self.t = torch.zeros(b, dtype=torch.int64, device=device)
        self.horizon = horizon

    def step(self, moves: torch.Tensor):
        self.x = (self.x + 0.05 * (moves.float() - 1).mean(1)).clamp(0, 1)
        u = 1 - (self.w * (self.x[:, None] - self.y).abs()).sum(-1)
        accept = (u >= self.thr).all(1)
        reward = torch.where(accept[:, None], u, torch.zeros_like(u))
        self.t = self.t + 1
        done = accept | (self.t >= self.horizon)
        self.x = torch.where(done[:, None], torch.full_like(self.x, 0.5), self.x)
        self.t = torch.where(done, torch.zeros_like(self.t), self.t)
        obs = torch.cat([self.x[:, None].expand_as(self.y), u[..., None]], -1)
        return obs, reward, done


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def masked(venv: VectorNegotiationEnv, obs: dict, gen: torch.Generator) -> dict:
    acts = {}
    for role in venv.roles:
        mask = obs[role]["action_mask"]
        nvec = venv.layout.party_nvec if role == "party" else venv.layout.mediator_nvec
        scores = torch.rand(mask.shape, generator=gen, device=mask.device) + mask
        acts[role] = torch.stack([p.argmax(-1) for p in torch.split(scores, list(nvec), -1)], -1)
    return acts


def accepting(venv: VectorNegotiationEnv, obs: dict, gen: torch.Generator) -> dict:
    """A fixed policy: the first allowed option of every component, except that parties
    accept whenever they may vote. Its episodes do not depend on how random texts fare, so
    two versions of the rules can be timed on the same kind of work."""
    acts = {}
    for role in venv.roles:
        nvec = venv.layout.party_nvec if role == "party" else venv.layout.mediator_nvec
        segs = torch.split(obs[role]["action_mask"], list(nvec), -1)
        cols = [seg.argmax(-1) for seg in segs]
        if role == "party":
            cols[0] = segs[0][..., 1].long()
        acts[role] = torch.stack(cols, -1)
    return acts


POLICIES = {"random": masked, "accepting": accepting}


def measure_vector(
    name: str,
    b: int,
    device: torch.device,
    seconds: float,
    compile: bool = False,
    policy: str = "random",
) -> tuple[float, int]:
    if compile:
        torch._dynamo.reset()  # a fresh compile per size: torch caps recompiles per function
    venv = VectorNegotiationEnv(
        name, num_envs=b, device=device, check_actions=False, compile=compile
    )
    obs = venv.reset(seed=0)
    gen = torch.Generator(device=device).manual_seed(0)
    act = POLICIES[policy]
    for _ in range(3):  # warm-up: compiles on the first step when asked
        obs, *_ = venv.step(act(venv, obs, gen))
    agents = venv.layout.n + (1 if venv.scenario.mediated else 0)
    steps, timed, wall = 0, 0.0, time.perf_counter()
    while time.perf_counter() - wall < seconds or steps < 3:
        acts = act(venv, obs, gen)
        sync(device)
        t0 = time.perf_counter()
        obs, *_ = venv.step(acts)
        sync(device)
        timed += time.perf_counter() - t0
        steps += 1
    return steps * b * agents / timed, venv.state_bytes()


def measure_reference(b: int, n: int, k: int, device: torch.device, seconds: float) -> float:
    ref = ReferenceStep(b, n, k, device)
    steps, timed, wall = 0, 0.0, time.perf_counter()
    while time.perf_counter() - wall < seconds or steps < 3:
        moves = torch.randint(0, 3, (b, n, k), device=device)
        sync(device)
        t0 = time.perf_counter()
        ref.step(moves)
        sync(device)
        timed += time.perf_counter() - t0
        steps += 1
    return steps * b * n / timed


def breakdown(name: str, b: int, device: torch.device, repeats: int = 10) -> None:
    """Milliseconds per part of a step, and observation bytes, beside the reference step."""
    from negenv import core, observe
    from negenv.randomness import draw_noise

    venv = VectorNegotiationEnv(name, num_envs=b, device=device, check_actions=False)
    obs = venv.reset(seed=0)
    gen = torch.Generator(device=device).manual_seed(0)
    for _ in range(8):  # a mix of phases
        obs, *_ = venv.step(masked(venv, obs, gen))
    s, acts = venv.state, masked(venv, obs, gen)
    sc, lay = venv.scenario, venv.layout

    def ms(f) -> float:
        f()
        sync(device)
        t0 = time.perf_counter()
        for _ in range(repeats):
            f()
        sync(device)
        return (time.perf_counter() - t0) / repeats * 1e3

    decoded = venv.codec.decode(s, acts["party"], acts["mediator"])
    noise = draw_noise(s.key, s.clock, lay.n, venv.dtype)
    resets = torch.zeros(b, dtype=torch.bool, device=device)
    resets[:: max(b // 100, 1)] = True  # 1% of the slots start a new episode

    def reset_some():
        venv.state = s
        venv.reset_where(resets.clone(), obs)

    parts = {
        "illegal-action check": lambda: venv.codec.illegal(
            acts["party"], acts.get("mediator"), venv._masks
        ),
        "decode actions": lambda: venv.codec.decode(s, acts["party"], acts.get("mediator")),
        "draw noise": lambda: draw_noise(s.key, s.clock, lay.n, venv.dtype),
        "rules (step_state)": lambda: core.step_state(sc, s, decoded, noise),
        "action masks": lambda: venv._masks_of(s),
        "observations": lambda: observe.observations(sc, lay, s, venv._static),
        "auto-reset of 1%": reset_some,
    }
    ref = ReferenceStep(b, lay.n + (1 if sc.mediated else 0), sc.n_issues, device)
    moves = torch.randint(0, 3, (b, ref.y.shape[1], sc.n_issues), device=device)
    print(f"\n{name}, num_envs {b}: milliseconds per step")
    for label, f in parts.items():
        print(f"  {label:<24}{ms(f):8.2f}")
    print(f"  {'reference step (whole)':<24}{ms(lambda: ref.step(moves)):8.2f}")
    size = sum(t.element_size() * t.numel() for role in obs.values() for t in role.values())
    print(
        f"  observations and masks written per step: {size / 2**20:.1f} MiB "
        f"(reference: {b * ref.y.shape[1] * (sc.n_issues + 1) * 4 / 2**20:.1f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 256, 4096, 16384])
    parser.add_argument("--scenarios", nargs="*", default=["multilateral_5", "lilliput"])
    parser.add_argument("--breakdown", action="store_true", help="time the parts of a step")
    parser.add_argument(
        "--policy",
        choices=sorted(POLICIES),
        default="random",
        help="random masked actions, or a fixed accepting policy (comparable across rules)",
    )
    parser.add_argument("--compile", action="store_true", help="the env with compile=True")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
        f"{'compiled' if args.compile else 'eager'} step"
    )
    for name in args.scenarios:
        sc = negenv.load(name)
        pz = bench_pettingzoo.measure(lambda n=name: negenv.parallel_env(n), args.seconds)
        agents = sc.n_parties + (1 if sc.mediated else 0)
        print(f"\n{name}: PettingZoo API {pz:,.0f} agent-steps/s")
        print(
            f"{'num_envs':>9}{'agent-steps/s':>15}{'/ reference':>13}{'/ PettingZoo':>14}"
            f"{'bytes/env':>11}"
        )
        for b in args.sizes:
            rate, nbytes = measure_vector(name, b, device, args.seconds, args.compile, args.policy)
            ref = measure_reference(b, agents, sc.n_issues, device, args.seconds)
            print(f"{b:>9}{rate:>15,.0f}{rate / ref:>13.2f}{rate / pz:>14.1f}{nbytes:>11}")
        if args.breakdown:
            breakdown(name, max(args.sizes), device)


if __name__ == "__main__":
    main()
