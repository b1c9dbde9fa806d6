"""Roles, enums, and the layouts of actions and observations for a scenario.

A layout is computed once per scenario and names every slice of every flat vector, so that
agents, the env shells and the docs all read the same table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from negenv.scenario import Scenario

MEDIATOR = "mediator"
CONTEXT_SIZE = 16


def party_names(n: int) -> list[str]:
    return [f"party_{i}" for i in range(n)]


class Phase(enum.IntEnum):
    NEGOTIATE = 0
    IMPLEMENT = 1
    DONE = 2


class Status(enum.IntEnum):
    RUNNING = 0
    COMPLETED = 1
    COLLAPSED = 2
    BREAKDOWN = 3
    TRUNCATED = 4


class Vote(enum.IntEnum):
    REJECT = 0
    ACCEPT = 1


class Comply(enum.IntEnum):
    COMPLY = 0
    DEFECT = 1


class Move(enum.IntEnum):
    """A demand signal on one issue: ask for the text to move down, hold, or move up."""

    DOWN = 0
    HOLD = 1
    UP = 2


class Coalition(enum.IntEnum):
    """The coalition component: keep membership, leave, or ``JOIN_0 + c`` to join coalition c."""

    KEEP = 0
    LEAVE = 1
    JOIN_0 = 2


class GuaranteeTarget(enum.IntEnum):
    """The mediator's guarantee component: keep the allocation or ``TO_PARTY_0 + j``."""

    KEEP = 0
    TO_PARTY_0 = 1


@dataclass(frozen=True)
class Slices:
    """Named slices of a flat vector, in order."""

    names: tuple[str, ...]
    sizes: tuple[int, ...]

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def __getitem__(self, name: str) -> slice:
        start = 0
        for n, s in zip(self.names, self.sizes):
            if n == name:
                return slice(start, start + s)
            start += s
        raise KeyError(f"no slice {name!r}; slices: {', '.join(self.names)}")


def _slices(*pairs: tuple[str, int]) -> Slices:
    kept = [(n, s) for n, s in pairs if s > 0]
    return Slices(tuple(n for n, _ in kept), tuple(s for _, s in kept))


@dataclass(frozen=True)
class Layout:
    """Action and observation layouts of one scenario."""

    n: int
    k: int
    c: int
    mediated: bool
    monitoring_levels: int
    proposal_levels: int = 21
    context: bool = False

    @classmethod
    def of(cls, sc: Scenario) -> Layout:
        return cls(
            sc.n_parties,
            sc.n_issues,
            sc.coalitions.max_coalitions,
            sc.mediated,
            sc.mediator.monitoring_levels,
            sc.proposal_levels,
            sc.observe_context,
        )

    @property
    def coalition_choices(self) -> int:
        return self.c + 2 if self.c > 0 else 1

    # --- discrete actions -------------------------------------------------------------
    @property
    def party_nvec(self) -> tuple[int, ...]:
        """vote, comply, coalition, a demand signal per issue, and without a mediator a
        proposal level per issue (read for the recognised proposer)."""
        proposal = () if self.mediated else (self.proposal_levels,) * self.k
        return (2, 2, self.coalition_choices) + (3,) * self.k + proposal

    @property
    def party_components(self) -> tuple[str, ...]:
        """The names of the components of :attr:`party_nvec`, in order."""
        proposal = () if self.mediated else tuple(f"proposal_{j}" for j in range(self.k))
        demand = tuple(f"demand_{j}" for j in range(self.k))
        return ("vote", "comply", "coalition", *demand, *proposal)

    @property
    def mediator_components(self) -> tuple[str, ...]:
        """The names of the components of :attr:`mediator_nvec`, in order."""
        return (*(f"proposal_{j}" for j in range(self.k)), "guarantee", "monitoring")

    @property
    def mediator_nvec(self) -> tuple[int, ...]:
        """a proposal level per issue, guarantee target, monitoring level."""
        return (self.proposal_levels,) * self.k + (self.n + 1, self.monitoring_levels)

    # --- continuous actions -----------------------------------------------------------
    @property
    def party_box(self) -> Slices:
        """vote and defect (>= 0.5 means yes), coalition (bins over [0, 1]: keep, leave, join
        c), demand per issue in [-1, 1] (below -1/3 down, above 1/3 up), absolute proposal."""
        return _slices(
            ("vote", 1), ("defect", 1), ("coalition", 1), ("demand", self.k), ("proposal", self.k)
        )

    @property
    def mediator_box(self) -> Slices:
        """absolute proposal, guarantee weights (normalised when their sum exceeds 1),
        monitoring level."""
        return _slices(("proposal", self.k), ("guarantee", self.n), ("monitoring", 1))

    # --- observations -----------------------------------------------------------------
    def public(self) -> tuple[tuple[str, int], ...]:
        n, k, c = self.n, self.k, self.c
        return (
            ("powers", n),
            ("phase", 2),
            ("round", 1),
            ("stage", 1),
            ("proposal", k),
            ("guarantees", n),
            ("monitoring", 1),
            ("trust", 1),
            ("credibility", 1),
            ("budget_left", 1),
            ("last_votes", n),
            ("proposer", 0 if self.mediated else n),
            ("detected", n),
            ("holdout", n),
            ("coalitions", n * c),
        )

    @property
    def party_obs(self) -> Slices:
        """Own identity and private type, public facts, demand signals seen."""
        n, k = self.n, self.k
        own = (
            ("self", n),
            ("risk", 1),
            ("capability", 1),
            ("ideal", k),
            ("weight", k),
            ("power", 1),
            ("batna", 1),
            ("worth", 1),
        )
        return _slices(*own, *self.public(), ("demands", n * k), *self._context())

    def _context(self) -> tuple[tuple[str, int], ...]:
        return (("context", CONTEXT_SIZE),) if self.context else ()

    @property
    def mediator_obs(self) -> Slices:
        """Public facts, every demand signal, and party types as the information setting
        allows (exact, noisy, or zeros)."""
        n, k = self.n, self.k
        return _slices(
            *self.public(),
            ("demands", n * k),
            ("ideals", n * k),
            ("weights", n * k),
            ("batnas", n),
            ("risks", n),
            *self._context(),
        )

    @property
    def global_state(self) -> Slices:
        """Public facts, every party's types and signals, the agreement, hidden defections."""
        n, k = self.n, self.k
        per_party = (
            "power0",
            "batna0",
            "batna",
            "risk",
            "capability",
            "stage_value",
            "stage_concession",
            "pending",
            "cover",
        )
        return _slices(
            *self.public(),
            *((name, n) for name in per_party),
            ("ideals", n * k),
            ("weights", n * k),
            ("demands", n * k),
            ("agreement", k),
            ("hidden", 1),
        )
