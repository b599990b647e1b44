"""How a plan under uncertainty treats floors and risk: :class:`FloorRule`, :class:`Risk`.

Floors (every ``floor[area,year]`` row of the model) are

- ``soft`` (the default): a shortfall column per future and floor, charged ``penalty``
  value points per fund unit short (default 10 points per unit, ten times the largest
  marginal value of the shipped scenarios, so it is an exact penalty there: a floor is
  met in every future where the committed first stage lets the money reach it). Why the
  default: hard floors make the whole programme infeasible as soon as one of hundreds
  of sampled futures cannot fund them (a member leaving, a deep recession), throwing
  away the plan over one tail draw; chance constraints need a binary per future and
  area, a MIP growing with the futures. Soft floors always have a plan, meet the floors
  wherever that is possible, and the floor probabilities say where it is not.
- ``hard``: met in every in-sample future (the deterministic model's rule).
- ``chance:p``: each area's floors are met in all years with probability at least ``p``
  over the in-sample futures: a binary ``v[k,a]`` per future and area allows a
  shortfall ``s[k,f] <= M v[k,a]`` (M: the floor plus its share of the year's money,
  which bounds any shortfall), and ``sum_k p_k v[k,a] <= 1 - p``. Exact, not an LP
  approximation.

Risk: ``expected`` maximises the expected value; ``cvar:alpha`` the conditional value at
risk of value at level alpha (the mean of the worst alpha share of futures), linearised
after Rockafellar and Uryasev as ``max eta - (1/alpha) sum_k p_k u_k`` with
``u_k >= eta - V_k, u_k >= 0``; ``mix:lambda:alpha`` maximises
``(1 - lambda) E[V] + lambda CVaR_alpha(V)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from engine.errors import ScenarioError

#: Value points charged per fund unit of floor shortfall (soft floors, and out-of-sample
#: scoring of every plan).
DEFAULT_PENALTY = 10.0


def _bad(option: str, text: str, why: str) -> ScenarioError:
    return ScenarioError([f"{option} {text!r}: {why}"], option)


@dataclass(frozen=True)
class FloorRule:
    """How floors hold across futures (see the module's docstring)."""

    mode: Literal["hard", "chance", "soft"] = "soft"
    probability: float = 0.9
    penalty: float = DEFAULT_PENALTY

    @classmethod
    def parse(cls, text: str) -> FloorRule:
        """``hard``, ``soft``, ``soft:PENALTY`` or ``chance:P`` (0 < P <= 1)."""
        head, _, arg = text.strip().partition(":")
        try:
            number = float(arg) if arg else None
        except ValueError:
            raise _bad("--floors", text, "the part after ':' must be a number") from None
        if head == "hard" and number is None:
            return cls("hard")
        if head == "soft":
            if number is not None and not (np.isfinite(number) and number >= 0):
                raise _bad("--floors", text, "the penalty must be a number >= 0")
            return cls("soft", penalty=DEFAULT_PENALTY if number is None else number)
        if head == "chance" and number is not None:
            if not 0 < number <= 1:
                raise _bad("--floors", text, "the probability must be in (0, 1]")
            return cls("chance", probability=number)
        raise _bad("--floors", text, "give hard, soft, soft:PENALTY or chance:P")

    @property
    def charged(self) -> float:
        """Penalty per unit of shortfall in the programme's objective (a tiny one under a
        chance constraint, so no shortfall is taken where it is not needed)."""
        return self.penalty if self.mode == "soft" else 1e-6


@dataclass(frozen=True)
class Risk:
    """The objective over futures: ``(1 - weight) E[V] + weight CVaR_alpha(V)``."""

    weight: float = 0.0
    alpha: float = 1.0

    @classmethod
    def parse(cls, text: str) -> Risk:
        """``expected``, ``cvar:ALPHA`` or ``mix:LAMBDA:ALPHA``, 0 < ALPHA <= 1 and
        0 <= LAMBDA <= 1."""
        parts = text.strip().split(":")
        try:
            numbers = [float(p) for p in parts[1:]]
        except ValueError:
            raise _bad("--objective", text, "levels must be numbers") from None
        if parts[0] == "expected" and not numbers:
            return cls()
        if parts[0] == "cvar" and len(numbers) == 1:
            risk = cls(1.0, numbers[0])
        elif parts[0] == "mix" and len(numbers) == 2:
            risk = cls(numbers[0], numbers[1])
        else:
            raise _bad("--objective", text, "give expected, cvar:ALPHA or mix:LAMBDA:ALPHA")
        if not (0 < risk.alpha <= 1 and 0 <= risk.weight <= 1):
            raise _bad("--objective", text, "need 0 < ALPHA <= 1 and 0 <= LAMBDA <= 1")
        return risk

    @property
    def label(self) -> str:
        """The objective as typed on the command line."""
        if self.weight == 0:
            return "expected"
        if self.weight == 1:
            return f"cvar:{self.alpha:g}"
        return f"mix:{self.weight:g}:{self.alpha:g}"

    def of(self, values: np.ndarray, probs: np.ndarray | None = None) -> float:
        """The objective's value for per-future values (equal probabilities by default)."""
        p = _probs(values, probs)
        mean = float(p @ values)
        if self.weight == 0:
            return mean
        return (1 - self.weight) * mean + self.weight * cvar(values, self.alpha, p)


def _probs(values: np.ndarray, probs: np.ndarray | None) -> np.ndarray:
    n = len(values)
    return np.full(n, 1.0 / n) if probs is None else np.asarray(probs, dtype=float)


def cvar(values: np.ndarray, alpha: float, probs: np.ndarray | None = None) -> float:
    """Conditional value at risk of ``values`` (higher is better) at level ``alpha``: the
    probability-weighted mean of the worst ``alpha`` share of futures (the expected value
    at ``alpha = 1``); equals ``max_eta eta - E[(eta - V)+] / alpha``."""
    values = np.asarray(values, dtype=float)
    p = _probs(values, probs)
    order = np.argsort(values, kind="stable")
    v, w = values[order], p[order]
    before = np.concatenate([[0.0], np.cumsum(w)[:-1]])
    take = np.clip(alpha - before, 0.0, w)
    return float(take @ v / alpha)
