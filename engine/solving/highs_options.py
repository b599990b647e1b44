"""The HiGHS options a planner may set from a command line (``--highs NAME=VALUE``).

Only options that change how a plan is searched for: the algorithm, tolerances, threads,
limits, presolve, parallelism and the random seed. Anything else (``log_file``,
``write_solution_to_file``, ``solution_file``, ``output_flag``, ...) is refused, so a
command line can never make the engine write a file or change what it reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import ScenarioError

_CHOICE = ("on", "off", "choose")


@dataclass(frozen=True)
class _Spec:
    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def read(self, text: str) -> object:
        """The value of ``text`` for this option; raises ValueError saying what is expected."""
        if self.choices:
            value = text.strip().lower()
            if value not in self.choices:
                raise ValueError(f"expected one of {', '.join(self.choices)}")
            return value
        cast: Callable[[str], float] = int if self.kind is int else float
        try:
            number = cast(text.strip())
        except ValueError:
            raise ValueError(
                f"expected {'an integer' if self.kind is int else 'a number'}"
            ) from None
        if not math.isfinite(number):
            raise ValueError("expected a finite number")
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise ValueError(f"expected a value from {self.low:g} to {self.high:g}")
        return number


def _tolerance() -> _Spec:
    return _Spec(float, 1e-12, 1e-1)


#: Allowed options with their types and ranges.
ALLOWED: dict[str, _Spec] = {
    "solver": _Spec(str, choices=("choose", "simplex", "ipm", "pdlp")),
    "simplex_strategy": _Spec(int, 0, 4),
    "presolve": _Spec(str, choices=_CHOICE),
    "parallel": _Spec(str, choices=_CHOICE),
    "run_crossover": _Spec(str, choices=_CHOICE),
    "primal_feasibility_tolerance": _tolerance(),
    "dual_feasibility_tolerance": _tolerance(),
    "ipm_optimality_tolerance": _tolerance(),
    "mip_feasibility_tolerance": _tolerance(),
    "mip_rel_gap": _Spec(float, 0.0, 1.0),
    "mip_abs_gap": _Spec(float, 0.0, 1e12),
    "threads": _Spec(int, 0, 1024),
    "time_limit": _Spec(float, 1e-3, 1e7),
    "random_seed": _Spec(int, 0, 2**31 - 1),
    "mip_max_nodes": _Spec(int, 1, 2**31 - 1),
    "simplex_iteration_limit": _Spec(int, 1, 2**31 - 1),
    "ipm_iteration_limit": _Spec(int, 1, 2**31 - 1),
}


def _usage(problem: str) -> ScenarioError:
    return ScenarioError([problem], "--highs")


def parse_pairs(pairs: list[str]) -> tuple[tuple[str, object], ...]:
    """``["solver=ipm", "threads=2"]`` as typed (name, value) pairs; raises ScenarioError
    (a usage error, exit 2) naming the option for a malformed pair, an option not in
    :data:`ALLOWED` or a value out of its range."""
    out: list[tuple[str, object]] = []
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise _usage(f"{pair!r}: expected NAME=VALUE, e.g. solver=ipm")
        spec = ALLOWED.get(name)
        if spec is None:
            raise _usage(
                f"{name!r} is not an option a planner may set; allowed: {', '.join(ALLOWED)}"
            )
        try:
            out.append((name, spec.read(text)))
        except ValueError as error:
            raise _usage(f"{name}={text!r}: {error}") from None
    return tuple(out)
