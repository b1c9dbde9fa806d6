"""Learned policies: masked MultiDiscrete actor networks, critics, and checkpoints as agents.

A role's actor maps its observation to one logit per option of every MultiDiscrete component
(the flat layout of negenv's action masks); :class:`MaskedMultiCategorical` is the product
of one masked categorical per component, so masked options have probability zero. A
checkpoint written by ``train.py`` loads with :func:`load_policy` as a policy with the
scripted agents' interface (``act(obs (M, D), mask (M, A))``), so a learned mediator is scored
by :mod:`negenv.evaluate` and a learned party policy serves as a background population.
Checkpoints are plain dicts of tensors and numbers, read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.activations import Tanh
from negenv.atomic import write_atomic
from negenv.distributions import MaskedMultiCategorical

FORMAT = "negenv-checkpoint-1"


def mlp(sizes: list[int], out_gain: float) -> nn.Sequential:
    """Tanh MLP with orthogonal weights (gain sqrt 2 inside, ``out_gain`` on the output)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = nn.Linear(a, b)
        last = i == len(sizes) - 2
        nn.init.orthogonal_(layer.weight, out_gain if last else 2**0.5)
        nn.init.zeros_(layer.bias)
        layers += [layer] if last else [layer, Tanh()]
    return nn.Sequential(*layers)


def actor_net(obs_dim: int, nvec: tuple[int, ...], hidden: tuple[int, ...]) -> nn.Sequential:
    return mlp([obs_dim, *hidden, int(sum(nvec))], out_gain=0.01)


def critic_net(in_dim: int, hidden: tuple[int, ...]) -> nn.Sequential:
    return mlp([in_dim, *hidden, 1], out_gain=1.0)


class LearnedPolicy:
    """An actor network as an agent: ``act(obs, mask)`` on numpy arrays, like a scripted one.

    Args:
        actor: maps (M, D) observations to (M, sum(nvec)) logits.
        nvec: options per action component.
        deterministic: play the most likely legal option (evaluation) or sample.
        generator: the random source when sampling.
    """

    def __init__(
        self,
        actor: nn.Module,
        nvec: tuple[int, ...],
        deterministic: bool = True,
        generator: torch.Generator | None = None,
    ):
        self.actor, self.nvec = actor.eval(), tuple(nvec)
        self.deterministic, self.generator = deterministic, generator

    @torch.no_grad()
    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(obs, np.float32))
        dist = MaskedMultiCategorical(self.actor(x), torch.as_tensor(mask), self.nvec)
        out = dist.mode if self.deterministic else dist.sample(generator=self.generator)
        return out.numpy().astype(np.int64)


# ----------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (a temporary file renamed over it)."""
    write_atomic(path, lambda f: torch.save({"format": FORMAT, **payload}, f), binary=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a negenv checkpoint (``weights_only=True``); one clear error if it is missing,
    corrupt or not a negenv checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise ValueError(f"checkpoint {str(path)!r} is corrupt or unreadable: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a negenv checkpoint (format {FORMAT!r})")
    return data


class LayoutError(ValueError):
    """A checkpoint's policy does not fit a scenario's observation or action layout."""


def check_compatible(data: dict[str, Any], role: str, scenario: Any, path: Any) -> dict:
    """The checkpoint's entry for ``role`` if its layout fits ``scenario``; else a clear error."""
    from negenv.layout import Layout

    roles = data.get("roles", {})
    if role not in roles:
        raise ValueError(
            f"checkpoint {str(path)!r} holds no {role!r} policy; it holds {sorted(roles)}"
        )
    entry = roles[role]
    lay = Layout.of(scenario)
    if entry.get("arch") == "set":
        levels = (entry["nvec"][0], entry["nvec"][-1])
        if not lay.mediated or (lay.proposal_levels, lay.monitoring_levels) != levels:
            raise LayoutError(
                f"checkpoint {str(path)!r} holds a set mediator for {levels[0]} proposal "
                f"levels and {levels[1]} monitoring levels; scenario {scenario.name!r} "
                + (
                    f"has {lay.proposal_levels} and {lay.monitoring_levels}"
                    if lay.mediated
                    else "has no mediator"
                )
            )
        return entry
    obs_dim = (lay.party_obs if role == "party" else lay.mediator_obs).size
    nvec = tuple(lay.party_nvec if role == "party" else lay.mediator_nvec)
    if entry["obs_dim"] != obs_dim or tuple(entry["nvec"]) != nvec:
        raise LayoutError(
            f"checkpoint {str(path)!r} was trained on scenario {data.get('scenario')!r}: its "
            f"{role} sees {entry['obs_dim']} features and acts on components {entry['nvec']}, "
            f"but scenario {scenario.name!r} has {obs_dim} and {list(nvec)}"
        )
    return entry


def load_policy(path: str | Path, role: str, scenario: Any, deterministic: bool = True):
    """A checkpoint's ``role`` policy (``"mediator"`` or ``"party"``) as an agent for
    ``scenario``, checked against the scenario's observation and action layout."""
    data = load_checkpoint(path)
    entry = check_compatible(data, role, scenario, path)
    nvec = tuple(int(n) for n in entry["nvec"])
    if data.get("backend") == "sb3":
        from agents.sb3_policy import SB3Policy

        return SB3Policy(entry, nvec, deterministic)
    log_precision = bool(entry.get("log_precision", False))  # absent in older checkpoints
    if entry.get("arch") == "set":
        from agents.set_actor import SetMediatorActor
        from negenv.layout import Layout

        lay = Layout.of(scenario)
        width = int(entry["set_width"])
        actor: nn.Module = SetMediatorActor(lay, width, log_precision=log_precision)
        nvec = tuple(int(n) for n in lay.mediator_nvec)
    elif entry.get("arch") in ("ordinal", "ego"):
        from agents.ordinal import EgoView, OrdinalActor, VoteThreshold, ordinal_components
        from negenv.layout import Layout

        lay = Layout.of(scenario)
        ordinal = ordinal_components(lay.party_components)
        seat = bool(entry.get("ego_seat", False))  # absent in older checkpoints
        view = EgoView(lay, seat=seat) if entry["arch"] == "ego" else None
        hidden = tuple(entry["hidden"])
        votes = VoteThreshold(lay) if entry.get("threshold_votes", False) else None
        actor = OrdinalActor(
            entry["obs_dim"],
            nvec,
            hidden,
            ordinal,
            view=view,
            log_precision=log_precision,
            votes=votes,
        )
    else:
        actor = actor_net(entry["obs_dim"], nvec, tuple(entry["hidden"]))
    actor.load_state_dict(entry["actor"])
    return LearnedPolicy(actor, nvec, deterministic)


def is_checkpoint_name(name: str) -> bool:
    return str(name).endswith(".pt")
