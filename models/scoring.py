"""Scoring the candidates on the backtest: the same rows for every one, MASE and sMAPE per
series, the panel's ranking and the fallback order of a series.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

#: A candidate with no backtest forecast on more than this share of the scored rows is left
#: out of the comparison (with a warning and a row in ``AutoForecaster.excluded_``).
MAX_MISSING = 0.1


def left_out_message(left_out: Sequence[str], forced: str | None) -> str:
    """The warning for candidates left out of the comparison; when the forced choice is one,
    say that the forecasts still use it (from whichever of its components fit)."""
    text = (
        f"left out of the model comparison (no backtest forecast on more than "
        f"{MAX_MISSING:.0%} of the rows): {', '.join(left_out)}"
    )
    if forced in left_out:
        text += (
            f"; the forecasts still use {forced}, from the components that fit each series "
            "(the 'model' column names them)"
        )
    return text


def common_rows(
    cv: pd.DataFrame, names: Sequence[str], combos: Mapping[str, Sequence[str]] | None = None
) -> tuple[np.ndarray, list[str]]:
    """The backtest rows every compared candidate forecast, and the candidates left out.

    A candidate missing on more than :data:`MAX_MISSING` of the rows is left out (returned, so
    that callers can say so), and with it every combination of ``combos`` that uses it; every
    other candidate is scored on exactly the same rows: those where each of them, and each
    component of a kept combination, has a forecast.
    """
    combos = combos or {}
    atoms = list(dict.fromkeys([n for n in names if n not in combos]))
    atoms += [c for n in names if n in combos for c in combos[n] if c not in atoms]
    atoms = [a for a in dict.fromkeys(atoms) if a in cv.columns]
    f = cv[atoms].to_numpy(float)
    ok = np.isfinite(f)
    share = 1 - ok.mean(axis=0) if len(f) else np.zeros(len(atoms))
    bad = {a for a, s in zip(atoms, share, strict=True) if s > MAX_MISSING}
    left_out = [n for n in names if n in bad or (n in combos and bad & set(combos[n]))]
    keep = [j for j, a in enumerate(atoms) if a not in bad]
    rows = ok[:, keep].all(axis=1) if keep else np.zeros(len(f), dtype=bool)
    return rows, left_out


def panel_scores(
    cv: pd.DataFrame,
    names: Sequence[str],
    scales: Mapping[str, float],
    rows: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest MASE and sMAPE of every candidate per series, on the same rows for all.

    ``rows`` (default: :func:`common_rows`) masks the backtest rows scored; a series with no
    such row, or a candidate missing on one of them, is NaN. Returns two frames indexed by
    ``unique_id`` (in order of appearance), one column per name.
    """
    if rows is None:
        rows, _ = common_rows(cv, names)
    codes, uids = pd.factorize(cv["unique_id"])
    y = cv["y"].to_numpy(float)
    sc = cv["unique_id"].map(scales).to_numpy(float)
    f = cv[list(names)].to_numpy(float)
    err = np.abs(y[:, None] - f)
    den = np.abs(y)[:, None] + np.abs(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        sm = np.where(den > 0, 200 * err / np.where(den > 0, den, 1), 0.0)
        sm = np.where(np.isfinite(err), sm, np.nan)
        rel = err / sc[:, None]
    w = np.asarray(rows, dtype=float)
    n = np.bincount(codes, weights=w, minlength=len(uids))
    out = []
    for table in (rel, sm):
        cols = {}
        for j, name in enumerate(names):
            col = table[:, j]
            bad = np.bincount(codes, weights=w * ~np.isfinite(col), minlength=len(uids))
            tot = np.bincount(codes, weights=w * np.nan_to_num(col), minlength=len(uids))
            with np.errstate(divide="ignore", invalid="ignore"):
                cols[name] = np.where((bad == 0) & (n > 0), tot / n, np.nan)
        out.append(pd.DataFrame(cols, index=pd.Index(uids, name="unique_id")))
    return out[0], out[1]


def selection_table(
    mase_t: pd.DataFrame, smape_t: pd.DataFrame, order: Sequence[str]
) -> pd.DataFrame:
    """Backtest means of the candidates and the global criterion, best first.

    Every candidate with a score is ranked, over the series where all of them have one (the
    scores come from the same backtest rows, :func:`common_rows`); a candidate with no score
    at all is listed last with NaN, never dropped silently.
    ``criterion = MASE / best MASE + sMAPE / best sMAPE`` (M4's OWA with the best candidate as
    the reference).
    """
    ok = [c for c in order if mase_t[c].notna().any()]
    common = mase_t[ok].notna().all(axis=1) & smape_t[ok].notna().all(axis=1)
    rows = common if common.any() else slice(None)
    table = pd.DataFrame(
        {"mase": mase_t.loc[rows, ok].mean(), "smape": smape_t.loc[rows, ok].mean()}
    )
    table["criterion"] = table["mase"] / table["mase"].min() + table["smape"] / table["smape"].min()
    table["rank_in_menu"] = [ok.index(c) for c in table.index]
    table = table.sort_values(["criterion", "rank_in_menu"]).drop(columns="rank_in_menu")
    missing = [c for c in order if c not in ok]
    if missing:
        table = pd.concat([table, pd.DataFrame(index=missing, columns=table.columns, dtype=float)])
    table.index.name = "candidate"
    return table


def global_choice(mase_t: pd.DataFrame, smape_t: pd.DataFrame, order: Sequence[str]) -> str:
    """The candidate with the best backtest on the panel (first row of :func:`selection_table`;
    the first of ``order`` if none is eligible)."""
    table = selection_table(mase_t, smape_t, order).dropna(subset=["criterion"])
    return str(table.index[0]) if len(table) else order[0]


def fallback_order(
    first: str | None, scores: Mapping[str, float], order: Sequence[str]
) -> list[str]:
    """Candidates in the order a series tries them: ``first`` (if given), then by the series'
    backtest ``scores`` (lower is better, missing last), ties in ``order``."""

    def key(nm: str) -> tuple[float, int]:
        v = scores.get(nm, np.nan)
        return (v if np.isfinite(v) else np.inf, list(order).index(nm))

    ranked = sorted(order, key=key)
    return [first, *[r for r in ranked if r != first]] if first else ranked
