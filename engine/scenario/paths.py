"""The scenario's ``paths`` and ``pledges`` sections: policy paths and forecast-pledge settings.

Scenario data, not code. A scenario may carry a ``paths:`` section (name -> :class:`PolicyPath`)
that overrides or extends the built-in ``trend`` and ``hague-2035`` paths, and a
``pledges: {from_forecast: ...}`` block (:class:`ForecastPledges`) that makes the optimiser plan
on forecast pledges. The forecaster resolves a named path (``extends`` chains merged) with
:func:`models.paths.resolve_path`.

Example (YAML)::

    paths:
      hague-uk-leaves:
        extends: hague-2035
        leave: {GBR: 2028}
        rate_change: {DEU: {factor: 1.5, from_year: 2027}}
    pledges:
      from_forecast: {path: hague-2035, quantile: 0.1, seed: 0}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from engine.scenario.fields import Finite, Int, Seed, Strict


class RateChange(Strict):
    """A member's contribution rate multiplied by ``factor`` from ``from_year`` on."""

    factor: Finite = Field(ge=0, description="multiplier of the calibrated rate (1 = unchanged)")
    from_year: Int = Field(ge=1900, le=2200)


class PolicyPath(Strict):
    """How members' defence spending, and so their contributions, evolve.

    - ``base: trend``: GDP and the defence share of GDP both follow their own forecasts.
    - ``base: gdp_share``: GDP follows its forecast; the share goes in a straight line from the
      latest observed figure to the target (``core_pct_gdp`` or ``target_pct_gdp``, by ``basis``)
      in ``target_year`` and stays there. With ``never_cut``, members already above the target
      keep their latest share.
    - ``leave`` / ``join``: member (ISO alpha-3) -> first year out / in. A joining member's rate is
      the median rate of the pledging members.
    - ``rate_change``: member -> :class:`RateChange`.
    - ``extends``: name of another path whose settings this one starts from.
    """

    description: str = ""
    extends: str | None = None
    base: Literal["trend", "gdp_share"] = "trend"
    target_pct_gdp: Finite | None = Field(default=None, ge=0, le=100)
    core_pct_gdp: Finite | None = Field(default=None, ge=0, le=100)
    basis: Literal["core", "total"] = "core"
    target_year: Int | None = Field(default=None, ge=1900, le=2200)
    never_cut: bool = True
    leave: dict[str, Int] = Field(default_factory=dict)
    join: dict[str, Int] = Field(default_factory=dict)
    rate_change: dict[str, RateChange] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _target_given(self) -> PolicyPath:
        if self.extends is None and self.base == "gdp_share":
            pct = self.core_pct_gdp if self.basis == "core" else self.target_pct_gdp
            if pct is None or self.target_year is None:
                raise ValueError(
                    "a gdp_share path needs target_year and "
                    + ("core_pct_gdp" if self.basis == "core" else "target_pct_gdp")
                )
        if (
            self.core_pct_gdp is not None
            and self.target_pct_gdp is not None
            and self.core_pct_gdp > self.target_pct_gdp
        ):
            raise ValueError("core_pct_gdp cannot exceed target_pct_gdp")
        for group in (self.leave, self.join, self.rate_change):
            for member in group:
                if not (len(member) == 3 and member.isalpha() and member.isupper()):
                    raise ValueError(f"member ids are ISO alpha-3 codes like DEU; got {member!r}")
        return self

    def target_share(self) -> float | None:
        """The target share of GDP as a fraction (0.035 for 3.5%), or None for a trend path."""
        if self.base != "gdp_share":
            return None
        pct = self.core_pct_gdp if self.basis == "core" else self.target_pct_gdp
        return None if pct is None else pct / 100.0


class ForecastPledges(Strict):
    """Plan on forecast pledges: the ``quantile`` of the fund's total under path ``path``."""

    path: str
    quantile: Finite = Field(gt=0, lt=1, description="0.1 = the prudent 10th percentile")
    seed: Seed = 0
    n_samples: Int = Field(default=2000, ge=100, le=100_000)


class PledgesSection(Strict):
    """The scenario's optional ``pledges:`` block."""

    from_forecast: ForecastPledges


BUILTIN_PATHS: dict[str, PolicyPath] = {
    "trend": PolicyPath(
        description="GDP and the defence share of GDP follow their own forecasts",
        base="trend",
    ),
    "hague-2035": PolicyPath(
        description=(
            "The 2025 Hague commitment: 5% of GDP by 2035, of which 3.5% core defence; the core "
            "share goes in a straight line from the latest figure"
        ),
        base="gdp_share",
        target_pct_gdp=5.0,
        core_pct_gdp=3.5,
        basis="core",
        target_year=2035,
    ),
}


def available_paths(
    overrides: Mapping[str, PolicyPath | Mapping[str, Any]] | None = None,
) -> dict[str, PolicyPath]:
    """Built-in paths updated with a scenario's own (its entries win on a name clash)."""
    out = dict(BUILTIN_PATHS)
    for name, p in (overrides or {}).items():
        out[name] = p if isinstance(p, PolicyPath) else PolicyPath.model_validate(dict(p))
    return out
