"""Shares of a net change: how much of a total's change each part accounts for."""

from __future__ import annotations

import numpy as np

#: Below this ratio of net to gross change (the sum of the parts' absolute changes), the parts
#: nearly cancel and their shares of the net (thousands of percent either way) mean nothing.
MIN_NET_TO_GROSS = 0.05


def shares_of_change(change: np.ndarray) -> np.ndarray:
    """Each part's change divided by the net change (the parts' sum), so the shares add up to 1.

    All NaN when the net change is below :data:`MIN_NET_TO_GROSS` of the gross change (parts
    that nearly cancel, or no change at all): a share of a near-zero net is not a driver.
    """
    change = np.asarray(change, dtype=float)
    net, gross = float(change.sum()), float(np.abs(change).sum())
    if gross == 0 or abs(net) < MIN_NET_TO_GROSS * gross:
        return np.full(change.shape, np.nan)
    return change / net
