"""The fund forecast object: joint sample paths of members' contributions, with summaries
(totals from the summed paths, members' bands, drivers that add up, pledges at a quantile).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.results.shares import shares_of_change
from models.base import level_label
from models.errors import ForecastInputError
from models.paths import PolicyPath


@dataclass
class FundForecast:
    """Joint sample paths of members' contributions, with summaries.

    ``samples[s, i, t]`` is member ``members[i]``'s contribution in ``years[t]`` in path ``s``,
    in currency units.
    """

    members: list[str]
    years: list[int]
    samples: np.ndarray
    path_name: str
    path: PolicyPath
    rates: dict[str, float] = field(default_factory=dict)

    def sample_paths(self) -> pd.DataFrame:
        """Long frame ``sample, member, year, contribution``."""
        s, n, t = self.samples.shape
        idx = np.indices((s, n, t)).reshape(3, -1)
        return pd.DataFrame(
            {
                "sample": idx[0],
                "member": np.asarray(self.members)[idx[1]],
                "year": np.asarray(self.years)[idx[2]],
                "contribution": self.samples.reshape(-1),
            }
        )

    def _summary(self, x: np.ndarray, levels: Iterable[float]) -> dict[str, np.ndarray]:
        out = {"mean": x.mean(axis=0), "median": np.median(x, axis=0)}
        for lv in sorted(levels):
            a = (100 - lv) / 200
            out[f"lo-{level_label(lv)}"] = np.quantile(x, a, axis=0)
            out[f"hi-{level_label(lv)}"] = np.quantile(x, 1 - a, axis=0)
        return out

    def total(self, levels: Iterable[float] = (80, 95), members: Sequence[str] | None = None):
        """The fund's (or a group's) total per year with intervals from the summed paths."""
        idx = [self.members.index(m) for m in members] if members else slice(None)
        tot = self.samples[:, idx, :].sum(axis=1)
        return pd.DataFrame({"year": self.years, **self._summary(tot, levels)})

    def by_member(self, levels: Iterable[float] = (80, 95)) -> pd.DataFrame:
        """Each member's contribution per year with its own intervals."""
        parts = []
        for i, m in enumerate(self.members):
            parts.append(
                pd.DataFrame(
                    {"member": m, "year": self.years, **self._summary(self.samples[:, i], levels)}
                )
            )
        return pd.concat(parts, ignore_index=True)

    def select(self, years: Sequence[int]) -> FundForecast:
        """The same forecast restricted to ``years`` (a view of the same joint paths)."""
        years = [int(y) for y in years]
        missing = [y for y in years if y not in self.years]
        if missing:
            raise ForecastInputError(f"years {missing} are outside the forecast {self.years}")
        if years == self.years:
            return self
        idx = [self.years.index(y) for y in years]
        return FundForecast(
            self.members, years, self.samples[:, :, idx], self.path_name, self.path, self.rates
        )

    def median_split(self) -> np.ndarray:
        """Members' parts of the fund total's median, ``(members, years)``: each member's own
        median, all scaled by one factor per year so that the parts add up to the total's
        median exactly (the median of a sum is not the sum of the medians)."""
        own = np.median(self.samples, axis=0)
        total = np.median(self.samples.sum(axis=1), axis=0)
        s = own.sum(axis=0)
        return own * np.where(s > 0, total / np.where(s > 0, s, 1.0), 0.0)[None, :]

    def drivers(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` members whose part of the fund's median changes most, first to last year.

        Decomposition (pro-rata medians): each year members' own medians are scaled by one
        common factor so that they add up to the fund total's median (:meth:`median_split`);
        a member's change is the change of its part, so all members' changes add up to the
        median's change exactly (``share_of_change`` sums to 1 over every member). Members'
        own medians would not add up: the median of a sum is not the sum of the medians.
        ``share_of_change`` is NaN when members' changes nearly cancel
        (:func:`engine.results.shares.shares_of_change`).
        """
        m = self.median_split()
        change = m[:, -1] - m[:, 0]
        shares = shares_of_change(change)
        order = np.argsort(-np.abs(change), kind="stable")[:k]
        return pd.DataFrame(
            {
                "member": [self.members[i] for i in order],
                "first": m[order, 0],
                "last": m[order, -1],
                "change": change[order],
                "share_of_change": shares[order],
            }
        )

    def pledges_at_quantile(self, quantile: float, years: Sequence[int] | None = None):
        """Members' pledges that add up to the ``quantile`` of the fund's total, per year.

        For each year, the paths whose total lies nearest that quantile (the closest 2%, at least
        20) are averaged member by member, then scaled to the quantile exactly: a coherent split,
        not a sum of members' own quantiles.
        """
        if not 0 < quantile < 1:
            raise ForecastInputError(f"quantile must be in (0, 1); got {quantile!r}")
        rows = []
        for t, yr in enumerate(self.years):
            if years is not None and yr not in years:
                continue
            tot = self.samples[:, :, t].sum(axis=1)
            q = float(np.quantile(tot, quantile))
            k = max(20, int(0.02 * len(tot)))
            near = np.argsort(np.abs(tot - q), kind="stable")[:k]
            avg = self.samples[near, :, t].mean(axis=0)
            s = avg.sum()
            avg = avg * (q / s) if s > 0 else avg
            rows += [(m, yr, float(v)) for m, v in zip(self.members, avg, strict=True)]
        return pd.DataFrame(rows, columns=["member", "year", "pledge"])
