"""Scenario configs: a frozen, typed, validated tree loaded from YAML or built in code.

Every constant of the model lives here. A scenario holds numbers and enums only, never
behaviour. Construction validates every field and raises :class:`ScenarioError` naming the
field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

BUILTIN_DIR = Path(__file__).parent / "scenarios"
# Public trust moves in whole steps of this size, counted as integers by the rules, so that a
# float32 and a float64 run compare it with the collapse threshold alike (no rounding flips).
TRUST_UNIT = 1e-4


class ScenarioError(ValueError):
    """An invalid scenario field, YAML key, override or scenario name."""


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ScenarioError(f"scenario field {name!r} = {value!r} is invalid: {allowed}")


def _check_trust_step(name: str, value: float) -> None:
    if abs(value / TRUST_UNIT - round(value / TRUST_UNIT)) > 1e-6:
        _fail(name, value, f"must be a whole multiple of the trust unit {TRUST_UNIT}")


def _check_range(name: str, value: float, lo: float, hi: float, lo_open=False, hi_open=False):
    below = value <= lo if lo_open else value < lo
    above = value >= hi if hi_open else value > hi
    if not math.isfinite(value) or below or above:
        lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
        _fail(name, value, f"must lie in {lb}{lo}, {hi}{rb}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(name, value, f"must be one of {', '.join(map(repr, choices))}")


@dataclass(frozen=True)
class Power:
    """How bargaining powers p (summing to 1) are drawn.

    Attributes:
        kind: ``fixed`` (``values``), ``dirichlet`` (symmetric, ``concentration``; lower is more
            unequal) or ``lognormal`` (``sigma``; higher is more unequal), normalised to sum 1.
        values: fixed powers, one per party; normalised to sum 1.
        concentration: Dirichlet concentration.
        sigma: standard deviation of log-power.
    """

    kind: Literal["fixed", "dirichlet", "lognormal"] = "dirichlet"
    values: tuple[float, ...] | None = None
    concentration: float = 1.0
    sigma: float = 0.8

    def validate(self, prefix: str, n: int) -> None:
        _check_choice(f"{prefix}.kind", self.kind, ("fixed", "dirichlet", "lognormal"))
        _check_range(f"{prefix}.concentration", self.concentration, 0.0, 1e6, lo_open=True)
        _check_range(f"{prefix}.sigma", self.sigma, 0.0, 10.0)
        if self.kind == "fixed":
            _check_weights(f"{prefix}.values", self.values, (n,))


def _check_weights(name: str, values: Any, shape: tuple[int, ...]) -> None:
    """Non-negative numbers of the given nested shape with a positive sum along the last axis."""
    if values is None:
        _fail(name, values, f"must be given as a list of shape {shape}")
    rows = [values] if len(shape) == 1 else list(values)
    if len(rows) != (1 if len(shape) == 1 else shape[0]):
        _fail(name, values, f"must have {shape[0]} rows (one per party)")
    for row in rows:
        if len(row) != shape[-1] or any(not math.isfinite(v) or v < 0 for v in row):
            _fail(name, values, f"rows must hold {shape[-1]} finite numbers >= 0")
        if sum(row) <= 0:
            _fail(name, values, "each row must have a positive sum so that it can be normalised")


@dataclass(frozen=True)
class Types:
    """Private types of the parties (docs/model.md section 2).

    Attributes:
        power: distribution of bargaining power.
        conflict: in [0, 1]; ideals are ``0.5 + conflict * (U - 0.5)`` with U uniform on
            [0, 1]: 0 puts every ideal point at 0.5, 1 draws ideals uniformly on [0, 1]. No value
            forces parties apart; fix ``ideals`` for fully opposed parties.
        ideals: fixed ideal points, one row of ``n_issues`` per party (overrides ``conflict``).
        weight_concentration: Dirichlet concentration of issue weights (high: equal weights).
        weights: fixed issue weights, one row per party; rows are normalised.
        batna_base, batna_slope: BATNA ``d_i = batna_base + batna_slope * p_i`` (rises with power).
        batna_noise: standard deviation of private noise added to each BATNA, so that a BATNA
            is not an exact function of the public powers.
        risk_base, risk_slope: perceived risk ``rho_i = risk_base - risk_slope * p_i``, clipped.
        risk_noise: standard deviation of private noise added to each perceived risk.
        capability_exponent: capability ``c_i`` is ``p_i ** e`` normalised to sum 1.
    """

    power: Power = field(default_factory=Power)
    conflict: float = 0.7
    ideals: tuple[tuple[float, ...], ...] | None = None
    weight_concentration: float = 2.0
    weights: tuple[tuple[float, ...], ...] | None = None
    batna_base: float = 0.35
    batna_slope: float = 0.8
    batna_noise: float = 0.05
    risk_base: float = 0.5
    risk_slope: float = 0.8
    risk_noise: float = 0.05
    capability_exponent: float = 1.0

    def validate(self, prefix: str, n: int, k: int) -> None:
        self.power.validate(f"{prefix}.power", n)
        _check_range(f"{prefix}.conflict", self.conflict, 0.0, 1.0)
        if self.ideals is not None:
            name = f"{prefix}.ideals"
            if len(self.ideals) != n or any(len(r) != k for r in self.ideals):
                _fail(name, self.ideals, f"must have {n} rows of {k} numbers")
            for v in (v for r in self.ideals for v in r):
                _check_range(name, v, 0.0, 1.0)
        _check_range(f"{prefix}.weight_concentration", self.weight_concentration, 0, 1e6, True)
        if self.weights is not None:
            _check_weights(f"{prefix}.weights", self.weights, (n, k))
        _check_range(f"{prefix}.batna_base", self.batna_base, 0.0, 1.0)
        _check_range(f"{prefix}.batna_slope", self.batna_slope, -1.0, 1.0)
        _check_range(f"{prefix}.batna_noise", self.batna_noise, 0.0, 1.0)
        _check_range(f"{prefix}.risk_base", self.risk_base, 0.0, 1.0)
        _check_range(f"{prefix}.risk_slope", self.risk_slope, -1.0, 1.0)
        _check_range(f"{prefix}.risk_noise", self.risk_noise, 0.0, 1.0)
        _check_range(f"{prefix}.capability_exponent", self.capability_exponent, 0.0, 10.0)


@dataclass(frozen=True)
class Mediator:
    """The mediator's instruments (ignored under ``alternating_offers``).

    Attributes:
        budget: guarantee budget ``G`` in utility units, shared with monitoring.
        monitoring_cost: budget spent per stage per unit of monitoring level; the whole
            commitment ``m * monitoring_cost * S`` is set aside when a text enters into force.
        monitoring_levels: number of monitoring levels in the discrete action mode (>= 2).
        guarantee_step: in discrete mode, the share of the allocation moved to the chosen target.
        information: what the mediator sees of party types: ``none``, ``noisy`` or ``exact``.
        type_noise: standard deviation of the noise under ``noisy`` information.
        private_channels: demand signals reach only the mediator (else every party sees them).
        credibility: ``(low, high)``: the initial probability ``kappa_0`` that a guarantee
            claim is honoured is drawn uniformly from this range per episode (public). Equal
            ends fix it.
        credibility_loss: fall of ``kappa`` for each claim on existing cover that is refused.
    """

    budget: float = 0.5
    monitoring_cost: float = 0.05
    monitoring_levels: int = 5
    guarantee_step: float = 0.5
    information: Literal["none", "noisy", "exact"] = "noisy"
    type_noise: float = 0.05
    private_channels: bool = True
    credibility: tuple[float, ...] = (0.75, 1.0)
    credibility_loss: float = 0.1

    def validate(self, prefix: str) -> None:
        _check_range(f"{prefix}.budget", self.budget, 0.0, 1e3)
        _check_range(f"{prefix}.monitoring_cost", self.monitoring_cost, 0.0, 1e3)
        if self.monitoring_levels < 2 or self.monitoring_levels > 101:
            _fail(f"{prefix}.monitoring_levels", self.monitoring_levels, "must lie in [2, 101]")
        _check_range(f"{prefix}.guarantee_step", self.guarantee_step, 0.0, 1.0, lo_open=True)
        _check_choice(f"{prefix}.information", self.information, ("none", "noisy", "exact"))
        _check_range(f"{prefix}.type_noise", self.type_noise, 0.0, 1.0)
        cred = self.credibility
        if len(cred) != 2 or not all(math.isfinite(v) and 0 <= v <= 1 for v in cred):
            _fail(f"{prefix}.credibility", cred, "must be [low, high] with 0 <= low <= high <= 1")
        if cred[0] > cred[1]:
            _fail(f"{prefix}.credibility", cred, "must be [low, high] with 0 <= low <= high <= 1")
        _check_range(f"{prefix}.credibility_loss", self.credibility_loss, 0.0, 1.0)


@dataclass(frozen=True)
class Ratification:
    """Domestic ratification of a passed text (docs/model.md section 3.2).

    Attributes:
        enabled: if false every passed text enters into force.
        margin: utility margin an audience asks for above the BATNA.
        temperature: softness of the audience's logistic decision (> 0).
        trust_cost: public trust lost when ratification fails.
    """

    enabled: bool = True
    margin: float = 0.0
    temperature: float = 0.05
    trust_cost: float = 0.1

    def validate(self, prefix: str) -> None:
        _check_range(f"{prefix}.margin", self.margin, -1.0, 1.0)
        _check_range(f"{prefix}.temperature", self.temperature, 0.0, 10.0, lo_open=True)
        _check_range(f"{prefix}.trust_cost", self.trust_cost, 0.0, 1.0)
        _check_trust_step(f"{prefix}.trust_cost", self.trust_cost)


@dataclass(frozen=True)
class Implementation:
    """Staged implementation (docs/model.md section 3.3).

    Attributes:
        n_stages: ``S``; 0 pays an agreement at once with no implementation phase.
        temptation: ``gamma``; a defector claws back the share
            ``lambda_i = min(1, gamma (N p_i) ** leverage)`` of what it conceded in the stage,
            ``lambda_i delta**t (1 - u_i(x)) / S``.
        leverage: exponent of ``N p`` in ``lambda``: power makes reneging easier.
        victim_loss: ``l``; share of its stage value a party loses when all others defect.
        sanction, sanction_rate: a detected defector pays ``sanction + sanction_rate * gain``
            (burned: paid to no one).
        holdout_temptation: extra relative claw-back share of a party outvoted on the text in
            force (0: none; the legitimacy cost of imposed texts is already endogenous).
        trust_initial, trust_loss, late_factor, trust_recovery: public trust starts at
            ``trust_initial``, falls by ``trust_loss`` per detected defection, by
            ``trust_loss * late_factor`` one stage later for an undetected one, and recovers by
            ``trust_recovery`` after a stage with no defection. Trust moves in whole steps
            of ``TRUST_UNIT`` (1e-4): these four and ``collapse_threshold`` must be multiples
            of it, and the late step ``trust_loss * late_factor`` is rounded to it.
        collapse_threshold: an agreement collapses at a stage where a defection becomes known
            while trust is below it (never while everyone complies).
        relapse_cost: subtracted from ``d_i`` over the stages lost to a collapse.
        shock_prob: probability per stage and party of an exogenous shock.
        shock_power: relative rise of a shocked party's power (powers renormalised).
        shock_batna: rise of a shocked party's BATNA.
    """

    n_stages: int = 4
    temptation: float = 0.3
    leverage: float = 1.0
    victim_loss: float = 0.5
    sanction: float = 0.02
    sanction_rate: float = 2.0
    holdout_temptation: float = 0.0
    trust_initial: float = 1.0
    trust_loss: float = 0.15
    late_factor: float = 2.0
    trust_recovery: float = 0.05
    collapse_threshold: float = 0.5
    relapse_cost: float = 0.1
    shock_prob: float = 0.0
    shock_power: float = 0.5
    shock_batna: float = 0.1

    def validate(self, prefix: str) -> None:
        if not 0 <= self.n_stages <= 64:
            _fail(f"{prefix}.n_stages", self.n_stages, "must lie in [0, 64]")
        for name in ("temptation", "sanction", "sanction_rate", "relapse_cost", "shock_power"):
            _check_range(f"{prefix}.{name}", getattr(self, name), 0.0, 10.0)
        _check_range(f"{prefix}.leverage", self.leverage, 0.0, 5.0)
        _check_range(f"{prefix}.late_factor", self.late_factor, 0.0, 10.0)
        _check_range(f"{prefix}.holdout_temptation", self.holdout_temptation, 0.0, 10.0)
        for name in (
            "victim_loss",
            "trust_initial",
            "trust_loss",
            "trust_recovery",
            "collapse_threshold",
            "shock_prob",
            "shock_batna",
        ):
            _check_range(f"{prefix}.{name}", getattr(self, name), 0.0, 1.0)
        for name in ("trust_initial", "trust_loss", "trust_recovery", "collapse_threshold"):
            _check_trust_step(f"{prefix}.{name}", getattr(self, name))


@dataclass(frozen=True)
class Coalitions:
    """Coalitions of parties (docs/model.md section 4).

    Attributes:
        max_coalitions: ``C``, the number of coalitions a party may join; 0 switches them off.
    """

    max_coalitions: int = 0

    def validate(self, prefix: str) -> None:
        if not 0 <= self.max_coalitions <= 16:
            _fail(f"{prefix}.max_coalitions", self.max_coalitions, "must lie in [0, 16]")


@dataclass(frozen=True)
class Recognition:
    """Who proposes under ``alternating_offers``.

    Attributes:
        rule: ``power`` (probability proportional to ``p ** agenda_exponent``) or ``turn``.
        agenda_exponent: agenda-setting power exponent ``a``.
    """

    rule: Literal["power", "turn"] = "power"
    agenda_exponent: float = 1.0

    def validate(self, prefix: str) -> None:
        _check_choice(f"{prefix}.rule", self.rule, ("power", "turn"))
        _check_range(f"{prefix}.agenda_exponent", self.agenda_exponent, 0.0, 10.0)


@dataclass(frozen=True)
class Objective:
    """The mediator's reward, a weighted sum paid once, in the step where an episode ends.

    Every term reads *protected* gains: what the agreement, guarantee compensation and the
    fallback gave each party, net of losses to others' defections, excluding defectors'
    temptation gains and sanctions; a stage lost to a collapse counts at
    ``min(fallback_i, (1 - l) W_i / S)``. "Normalised Nash welfare" is
    ``prod((g_i)+ / (1 - d_i)) ** (1/N)`` of protected gains ``g_i`` over BATNAs ``d_i``.

    Attributes:
        agreement: weight on an agreement entering into force (0 or 1).
        durability: weight on the fraction of stages completed.
        fairness: weight on the normalised Nash welfare of protected gains.
        compliant_fairness: weight on the share of party-stages complied with (stages lost
            to a collapse count as not complied) times that normalised Nash welfare.
        budget: weight on the share of the budget committed to monitoring when the text
            entered into force, ``m * monitoring_cost * S / G`` (subtracted). It is fixed at
            entry, so an early collapse saves the mediator nothing.
    """

    agreement: float = 0.0
    durability: float = 0.0
    fairness: float = 0.0
    compliant_fairness: float = 1.0
    budget: float = 0.1

    def validate(self, prefix: str) -> None:
        for f in dataclasses.fields(self):
            _check_range(f"{prefix}.{f.name}", getattr(self, f.name), -100.0, 100.0)


PROTOCOLS = ("mediated", "alternating_offers")
DECISION_RULES = ("unanimity", "qualified_majority", "majority")


@dataclass(frozen=True)
class Scenario:
    """A negotiation scenario: parties, issues, protocol and every constant of the rules.

    Attributes:
        name: scenario name, used in records and reports.
        n_parties: ``N`` in [2, 64].
        n_issues: ``K`` in [1, 16].
        protocol: ``mediated`` (a mediator proposes) or ``alternating_offers``.
        max_rounds: ``T``, negotiation rounds before breakdown.
        discount: ``delta`` per round; an agreement entering into force at round t is worth
            ``W = d + delta ** t * (u - d)``: delay shrinks the gain over the BATNA.
        decision_rule: ``unanimity``, ``qualified_majority`` (power share >= quota) or
            ``majority`` (more than half of the parties).
        quota: the power-weighted threshold of ``qualified_majority``.
        conflict_cost: subtracted from the BATNA at breakdown.
        initial_proposal: the standing text on every issue at round 0 (never voted on: round 0
            has no vote).
        proposal_levels: in the discrete action mode a proposer picks one of this many
            evenly spaced levels on [0, 1] per issue.
        observe_context: append the scenario-context slice (discount, horizons, quota,
            temptation, sanctions, costs, budget, scaled to [0, 1]) to every observation.
        burden_issue: the last issue is a burden share: 0 splits the burden equally, 1 by
            capability; a party's cost is its share relative to its largest possible share.
    """

    name: str = "custom"
    n_parties: int = 5
    n_issues: int = 4
    protocol: Literal["mediated", "alternating_offers"] = "mediated"
    max_rounds: int = 20
    discount: float = 0.98
    decision_rule: Literal["unanimity", "qualified_majority", "majority"] = "qualified_majority"
    quota: float = 0.65
    conflict_cost: float = 0.0
    initial_proposal: float = 0.0
    proposal_levels: int = 21
    burden_issue: bool = False
    observe_context: bool = False
    types: Types = field(default_factory=Types)
    mediator: Mediator = field(default_factory=Mediator)
    ratification: Ratification = field(default_factory=Ratification)
    implementation: Implementation = field(default_factory=Implementation)
    coalitions: Coalitions = field(default_factory=Coalitions)
    recognition: Recognition = field(default_factory=Recognition)
    objective: Objective = field(default_factory=Objective)

    def __post_init__(self) -> None:
        _check_types(self, "")
        if not 2 <= self.n_parties <= 64:
            _fail("n_parties", self.n_parties, "must lie in [2, 64]")
        if not 1 <= self.n_issues <= 16:
            _fail("n_issues", self.n_issues, "must lie in [1, 16]")
        _check_choice("protocol", self.protocol, PROTOCOLS)
        if not 1 <= self.max_rounds <= 1000:
            _fail("max_rounds", self.max_rounds, "must lie in [1, 1000]")
        _check_range("discount", self.discount, 0.0, 1.0, lo_open=True)
        _check_choice("decision_rule", self.decision_rule, DECISION_RULES)
        _check_range("quota", self.quota, 0.5, 1.0, lo_open=True)
        _check_range("conflict_cost", self.conflict_cost, 0.0, 1.0)
        _check_range("initial_proposal", self.initial_proposal, 0.0, 1.0)
        if not 2 <= self.proposal_levels <= 1001:
            _fail("proposal_levels", self.proposal_levels, "must lie in [2, 1001]")
        self.types.validate("types", self.n_parties, self.n_issues)
        self.mediator.validate("mediator")
        self.ratification.validate("ratification")
        self.implementation.validate("implementation")
        self.coalitions.validate("coalitions")
        self.recognition.validate("recognition")
        self.objective.validate("objective")

    @property
    def mediated(self) -> bool:
        return self.protocol == "mediated"


def _check_types(obj: Any, prefix: str) -> None:
    """Reject a field whose value has the wrong Python type (dataclasses do not check)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        name, value = f"{prefix}{f.name}", getattr(obj, f.name)
        if not _matches(value, hints[f.name]):
            _fail(name, value, f"must be of type {_describe(hints[f.name])}")
        if dataclasses.is_dataclass(value):
            _check_types(value, f"{name}.")


def _matches(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return any(_matches(value, a) for a in args)
    if origin is Literal:
        return isinstance(value, str)
    if origin is tuple:
        return isinstance(value, tuple) and all(_matches(v, args[0]) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:  # numpy scalars are numbers.Real / numbers.Integral too
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    return str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")


# ---------------------------------------------------------------------------- building


def from_dict(data: dict[str, Any], cls: type = Scenario, prefix: str = "") -> Any:
    """Build a config dataclass from nested plain data, rejecting unknown keys."""
    if not isinstance(data, dict):
        _fail(prefix.rstrip(".") or "<root>", data, "must be a mapping of field names to values")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise ScenarioError(
                f"unknown scenario key {prefix + str(key)!r}; allowed keys here: {', '.join(names)}"
            )
        kwargs[key] = _coerce(value, hints[key], f"{prefix}{key}")
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, name: str) -> Any:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_dict(value, hint, f"{name}.")
    if isinstance(value, list):  # YAML lists become (nested) tuples
        return tuple(_coerce(v, hint, name) if isinstance(v, list) else v for v in value)
    return value


def to_dict(obj: Any) -> Any:
    """Plain nested data (lists, not tuples) that :func:`from_dict` turns back into the config."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [to_dict(v) for v in obj]
    return obj


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """A copy of ``scenario`` with fields replaced; nested names by dots or double underscores.

    Example: ``{"implementation.n_stages": 6, "types__power__kind": "fixed"}``.
    """
    data = to_dict(scenario)
    for raw_key, value in overrides.items():
        path = raw_key.replace("__", ".").split(".")
        node = data
        for depth, part in enumerate(path):
            if not isinstance(node, dict) or part not in node:
                where = ".".join(path[:depth]) or "<root>"
                allowed = ", ".join(node) if isinstance(node, dict) else "none (not a section)"
                raise ScenarioError(
                    f"unknown scenario override {raw_key!r}: no field {part!r} under {where}; "
                    f"allowed: {allowed}"
                )
            if depth == len(path) - 1:
                node[part] = to_dict(value)
            else:
                node = node[part]
    return from_dict(data)


def builtin_names() -> list[str]:
    """Names of the scenarios shipped in ``negenv/scenarios`` (the one source: package data)."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def read_yaml(path: Path, error: type[Exception] = ValueError) -> Any:
    """``yaml.safe_load`` of a file; a syntax error names the file, line and column."""
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise error(f"{where}: YAML syntax error: {problem}") from None


def load(spec: str | Path | Scenario | dict[str, Any]) -> Scenario:
    """A scenario from a built-in name, a YAML path, a plain dict or a scenario object."""
    if isinstance(spec, Scenario):
        return spec
    if isinstance(spec, dict):
        return from_dict(spec)
    if not isinstance(spec, (str, Path)):
        raise ScenarioError(
            f"scenario = {spec!r} is invalid: must be a built-in name, a YAML path, a dict "
            "or a Scenario"
        )
    path = Path(spec)
    if path.suffix not in (".yaml", ".yml"):
        if str(spec) not in builtin_names():
            raise ScenarioError(
                f"unknown scenario name {spec!r}; built-in scenarios: {', '.join(builtin_names())}"
            )
        path = BUILTIN_DIR / f"{spec}.yaml"
    if not path.is_file():
        raise ScenarioError(f"scenario file {str(path)!r} does not exist")
    data = read_yaml(path, ScenarioError)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            f"scenario file {str(path)!r} holds a {type(data).__name__} at the top level: "
            "must be a mapping of scenario fields to values"
        )
    if "name" not in data:
        data = {"name": path.stem, **data}
    return from_dict(data)
