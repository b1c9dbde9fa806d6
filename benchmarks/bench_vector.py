"""Batched env throughput: agent-steps/s by num_envs, beside the memory-traffic floor of the
same step and the PettingZoo API, measured in the same run.

    python benchmarks/bench_vector.py [--device cpu] [--threads 2] [--sizes 1 256 4096 16384]
        [--breakdown] [--compile]

The floor is what a step must move at the least, done as plain tensor copies of the same
sizes: every state tensor read and written once, and the observations and action masks
written once. ``bytes/agent-step`` is that traffic per agent-step, and ``x floor`` the step's
time over the floor's. On a GPU the run also measures the device's copy bandwidth and prints
the roofline (bandwidth / bytes per agent-step) and the step's fraction of it. Actions are
random and masked, drawn outside the timed region. Read the ratios: the machine may be shared.
``--breakdown`` also times the parts of one step at the largest size (milliseconds), beside the
floor, with the auto-reset at the rate the random play ended episodes. ``--compile`` measures
the env built with ``compile=True`` (its compile time is spent before the timed steps); with
``--breakdown`` it also times the part of the step that compiles, eager and compiled, on the
same inputs.
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


class Floor:
    """The least memory traffic of a step of ``venv``, as plain copies: each state tensor
    read and written once, each observation and mask tensor written once."""

    def __init__(self, venv: VectorNegotiationEnv, obs: dict):
        state = list(venv.state.__dict__.values())
        outputs = [t for role in obs.values() for t in role.values()]
        self.pairs = [(t.clone(), t.clone()) for t in state + outputs]
        state_bytes = sum(t.element_size() * t.numel() for t in state)
        out_bytes = sum(t.element_size() * t.numel() for t in outputs)
        self.bytes = 2 * state_bytes + out_bytes

    def step(self) -> None:
        for dst, src in self.pairs:
            dst.copy_(src)


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


def timed(f, device: torch.device, seconds: float, prepare=None) -> tuple[int, float]:
    """Calls of ``f`` (after ``prepare``, untimed) for about ``seconds``: (calls, seconds in f)."""
    calls, spent, wall = 0, 0.0, time.perf_counter()
    while time.perf_counter() - wall < seconds or calls < 3:
        arg = prepare() if prepare is not None else None
        sync(device)
        t0 = time.perf_counter()
        f(arg)
        sync(device)
        spent += time.perf_counter() - t0
        calls += 1
    return calls, spent


def measure_vector(
    name: str,
    b: int,
    device: torch.device,
    seconds: float,
    compile: bool = False,
    policy: str = "random",
) -> dict:
    """Agent-steps/s of the env and of its floor, bytes per agent-step and per env."""
    if compile:
        torch._dynamo.reset()  # a fresh compile per size: torch caps recompiles per function
    venv = VectorNegotiationEnv(
        name, num_envs=b, device=device, check_actions=False, compile=compile
    )
    box = [venv.reset(seed=0)]
    gen = torch.Generator(device=device).manual_seed(0)
    act = POLICIES[policy]
    for _ in range(3):  # warm-up: compiles on the first step when asked
        box[0], *_ = venv.step(act(venv, box[0], gen))
    agents = venv.layout.n + (1 if venv.scenario.mediated else 0)

    def step(acts):
        box[0] = None  # let the observations go, as a training loop does once it stored them
        box[0], *_ = venv.step(acts)

    steps, spent = timed(step, device, seconds, lambda: act(venv, box[0], gen))
    floor = Floor(venv, box[0])
    floor_steps, floor_spent = timed(lambda _: floor.step(), device, seconds)
    return {
        "rate": steps * b * agents / spent,
        "floor": floor_steps * b * agents / floor_spent,
        "bytes": floor.bytes / (b * agents),
        "env_bytes": venv.state_bytes(),
    }


def copy_bandwidth(device: torch.device, mib: int = 1024) -> float:
    """Bytes/s of a device-to-device copy (read + write counted)."""
    src = torch.empty(mib << 18, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    calls, spent = timed(lambda _: dst.copy_(src), device, 1.0)
    return calls * 2 * src.numel() * 4 / spent


def breakdown(
    name: str, b: int, device: torch.device, repeats: int = 10, compile: bool = False
) -> None:
    """Milliseconds per part of a step, and observation bytes, beside the floor; with
    ``compile``, also the part of the step that ``compile=True`` compiles (illegal-action
    check, decoding, rules, masks, observations), eager and compiled, on the same inputs."""
    from negenv import core, observe
    from negenv.randomness import draw_noise

    venv = VectorNegotiationEnv(name, num_envs=b, device=device, check_actions=False)
    obs = venv.reset(seed=0)
    gen = torch.Generator(device=device).manual_seed(0)
    ended = 0
    for _ in range(24):  # a mix of phases, and the rate at which random play ends episodes
        obs, _, terminated, truncated, _ = venv.step(masked(venv, obs, gen))
        ended += int((terminated | truncated).sum())
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

    decoded = venv.codec.decode(s, acts["party"], acts.get("mediator"))
    noise = draw_noise(s.key, s.clock, lay.n, venv.dtype)
    # the slots start new episodes at the rate the random play above ended them: a cycle of
    # `period` steps starts one in every slot (groups past b are empty: nothing to time)
    period = max(1, round(24 * b / ended)) if ended else 0
    group = torch.arange(b, device=device) % max(period, 1)

    # auto-resets write the new episodes' rows in place: they get copies of their own, so
    # that the other parts see the mid-episode state, its static features and masks
    scratch = core.State(**{k: v.clone() for k, v in s.__dict__.items()})
    obs_scratch = {role: {k: v.clone() for k, v in part.items()} for role, part in obs.items()}
    static, masks = venv._static, venv._masks
    held = tuple(t.clone() for t in static), tuple(t.clone() for t in masks)

    def reset_some():
        # The batched env draws new episodes ahead, in batches: time a cycle in which every
        # slot starts one, from no episode drawn ahead, and give the cost per step
        venv.state, (venv._static, venv._masks) = scratch, held
        venv._ahead, venv._ready = None, torch.zeros_like(venv._ready)
        for k in range(min(period, b)):
            venv.reset_where(group == k, obs_scratch)  # merges into the copies in place
        venv.state, venv._static, venv._masks = s, static, masks

    parts = {
        "illegal-action check": lambda: venv.codec.illegal(
            acts["party"], acts.get("mediator"), venv._masks
        ),
        "decode actions": lambda: venv.codec.decode(s, acts["party"], acts.get("mediator")),
        "draw noise": lambda: draw_noise(s.key, s.clock, lay.n, venv.dtype),
        "rules (step_state)": lambda: core.step_state(sc, s, decoded, noise),
        # what the eager CPU step runs: noise drawn for the rows that read it (negenv.rows)
        "rules, noise on demand": lambda: core.step_state(
            sc, s, decoded, venv._noise(s.key, s.clock, lay.n, venv.dtype)
        ),
        "action masks": lambda: venv._masks_of(s),
        "observations": lambda: observe.observations(sc, lay, s, venv._static, venv._buffer),
    }
    if period:
        parts[f"auto-reset of {100 / period:.1f}%"] = reset_some
    if compile:
        torch._dynamo.reset()
        compiled = VectorNegotiationEnv(name, num_envs=b, device=device, compile=True)
        inputs = (s, venv._static, venv._masks, acts["party"], acts.get("mediator"), noise)
        parts["compiled part, eager"] = lambda: venv._advance(*inputs)
        parts["compiled part, compiled"] = lambda: compiled._advance_fn(*inputs)
    floor = Floor(venv, obs)
    print(f"\n{name}, num_envs {b}: milliseconds per step")
    if not period:
        print("  (no episode ended in the 24 warm-up steps: no auto-reset to time)")
    for label, f in parts.items():
        cycle = period if f is reset_some else 1  # reset_some runs `period` steps' resets
        print(f"  {label:<24}{ms(f) / cycle:8.2f}")
    print(f"  {'floor (whole step)':<24}{ms(floor.step):8.2f}")
    size = sum(t.element_size() * t.numel() for role in obs.values() for t in role.values())
    state = sum(t.element_size() * t.numel() for t in s.__dict__.values())
    print(
        f"  state {state / 2**20:.1f} MiB (read and written), observations and masks "
        f"{size / 2**20:.1f} MiB (written): {floor.bytes / 2**20:.1f} MiB per step"
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
    bandwidth = copy_bandwidth(device) if device.type == "cuda" else None
    if bandwidth:
        print(
            f"{torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}: "
            f"copy bandwidth {bandwidth / 1e9:,.0f} GB/s (read + write)"
        )
    for name in args.scenarios:
        pz = bench_pettingzoo.measure(lambda n=name: negenv.parallel_env(n), args.seconds)
        print(f"\n{name}: PettingZoo API {pz:,.0f} agent-steps/s")
        head = f"{'num_envs':>9}{'agent-steps/s':>15}{'bytes/ag-step':>15}{'floor':>15}"
        head += f"{'x floor':>9}{'/ PettingZoo':>14}{'bytes/env':>11}"
        print(head + (f"{'roofline':>15}{'fraction':>10}" if bandwidth else ""))
        for b in args.sizes:
            m = measure_vector(name, b, device, args.seconds, args.compile, args.policy)
            line = f"{b:>9}{m['rate']:>15,.0f}{m['bytes']:>15.0f}{m['floor']:>15,.0f}"
            line += f"{m['floor'] / m['rate']:>9.1f}{m['rate'] / pz:>14.1f}{m['env_bytes']:>11}"
            if bandwidth:
                roof = bandwidth / m["bytes"]
                line += f"{roof:>15,.0f}{m['rate'] / roof:>10.3f}"
            print(line)
        if args.breakdown:
            breakdown(name, max(args.sizes), device, compile=args.compile)


if __name__ == "__main__":
    main()
