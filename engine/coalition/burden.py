"""Burden sharing and juste retour against a stated key, per member, over or under.

A key gives each member a share (its contribution share, its GDP share, a cost-share
key such as NATO common funding's). Two readings per member:

- **burden**: its share of the money the plan allocates against its key share; outside
  ``key share +/- band`` (percentage points) it is ``over`` or ``under``;
- **juste retour**: its share of the value its own money buys for it (``value_bought``,
  engine.coalition.members) against its key share; a ratio of 1 is a fair return, below 1
  its money buys it less than its share.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

BURDEN_COLUMNS = [
    "member",
    "key_share",
    "burden_share",
    "burden_gap",
    "burden",
    "value_share",
    "retour",
]


def contribution_key(members: pd.DataFrame) -> dict[str, float]:
    """Each member's share of the pledges (a members table's ``pledged`` column)."""
    return dict(zip(members["member"], members["pledged"].astype(float), strict=True))


def key_from_table(
    table: pd.DataFrame,
    member_ids: list[str],
    column: str,
    id_column: str = "iso3",
    year: int | None = None,
) -> tuple[dict[str, float], int | None]:
    """A key from a long table (one row per member and year, e.g. GDP): the latest year
    (or ``year``) in which every member that has any figure has one. Returns the key
    (members without a figure are left out) and the year used."""
    rows = table[table[id_column].isin(member_ids) & table[column].notna()]
    if rows.empty:
        return {}, None
    if year is None and "year" in rows:
        present = rows.groupby("year")[id_column].nunique()
        year = int(present[present == present.max()].index.max())
    if year is not None and "year" in rows:
        rows = rows[rows["year"] == year]
    return dict(zip(rows[id_column], rows[column].astype(float), strict=True)), year


def burden_bands(members: pd.DataFrame, key: dict[str, float], band: float = 0.02) -> pd.DataFrame:
    """Per member of a members table (columns ``member``, ``pledged``, ``allocated``,
    ``value_bought``): key share, burden share and gap, ``over``/``under``/``within`` the
    band, value share and the juste-retour ratio (see the module). Key shares are
    normalised over the members that pledge and have a key; the others read ``no pledge``
    or ``no key``."""
    ids = list(members["member"])
    pledging = set(members.loc[members["pledged"].astype(float) > 0, "member"])
    known = {m: float(key[m]) for m in ids if m in key and key[m] > 0 and m in pledging}
    total_key = sum(known.values())
    allocated = members["allocated"].astype(float).to_numpy()
    bought = members["value_bought"].astype(float).to_numpy()
    burden = allocated / allocated.sum() if allocated.sum() > 0 else np.zeros(len(ids))
    value = bought / bought.sum() if bought.sum() > 0 else np.zeros(len(ids))
    rows = []
    for i, m in enumerate(ids):
        share = known[m] / total_key if m in known and total_key > 0 else math.nan
        gap = burden[i] - share
        status = (
            "no pledge"
            if m not in pledging
            else "no key"
            if math.isnan(share)
            else "over"
            if gap > band
            else "under"
            if gap < -band
            else "within"
        )
        retour = value[i] / share if share and not math.isnan(share) else math.nan
        rows.append((m, share, burden[i], gap, status, value[i], retour))
    return pd.DataFrame(rows, columns=BURDEN_COLUMNS)
