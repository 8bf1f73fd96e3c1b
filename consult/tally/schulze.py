"""The Schulze (beat path) ranking on ranked > approved > not approved ballots.

Each ballot is read as a weak order: its priorities in their order, then its
other approved items (tied with each other), then the items it did not approve
(tied with each other). Tied items give no preference either way, so two
approved but unranked items, or two unapproved items, count for neither.
Link strengths are margins (ballots preferring a to b minus the reverse), the
convention of pref_voting's beat_path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]


def preference_levels(
    approve: NDArray[np.bool_], position: NDArray[np.int16], rank_depth: int
) -> Ints:
    """Return each ballot's level per item: 0 not approved, 1 approved, then ranked higher."""
    ranked = position >= 0
    top = rank_depth + 1
    levels = np.where(ranked, top - position.astype(np.int64), approve.astype(np.int64))
    return np.asarray(levels, dtype=np.int64)


def pairwise_preferences(
    approve: NDArray[np.bool_], position: NDArray[np.int16], rank_depth: int
) -> Ints:
    """Return d with d[a, b] = number of ballots that prefer item a to item b."""
    levels = preference_levels(approve, position, rank_depth)
    m = approve.shape[1]
    d = np.zeros((m, m), dtype=np.float64)
    below = np.zeros(levels.shape, dtype=np.float64)
    for level in range(rank_depth + 2):
        at = (levels == level).astype(np.float64)
        if level:
            d += at.T @ below
        below += at
    return np.rint(d).astype(np.int64)


def strongest_paths(d: Ints) -> Ints:
    """Return p[a, b], the strength of the strongest path from a to b (0 when none).

    A path's strength is its weakest link; a link a -> b exists when the margin
    d[a, b] - d[b, a] is positive and has that margin as its strength.
    """
    margin = d - d.T
    p = np.where(margin > 0, margin, 0).astype(np.int64)
    m = p.shape[0]
    for k in range(m):
        np.maximum(p, np.minimum(p[:, k : k + 1], p[k : k + 1, :]), out=p)
    p[np.arange(m), np.arange(m)] = 0
    return p


def beats(p: Ints) -> NDArray[np.bool_]:
    """Return the Schulze defeat relation: a beats b when p[a, b] > p[b, a]."""
    return np.asarray(p > p.T)


def schulze_order(
    approve: NDArray[np.bool_],
    position: NDArray[np.int16],
    rank_depth: int,
    approvals: Sequence[int],
    ids: Sequence[str],
) -> list[int]:
    """Return item indices in Schulze order.

    The order extends the defeat relation (which is transitive): whenever a
    beats b, a comes first. Among the items no remaining item beats, the one
    with more approvals comes first, then the lower id. With no ballots every
    item is unbeaten, so the order falls back to approvals, then id.
    """
    defeat = beats(strongest_paths(pairwise_preferences(approve, position, rank_depth)))
    remaining = list(range(len(ids)))
    order: list[int] = []
    while remaining:
        sub = defeat[np.ix_(remaining, remaining)]
        unbeaten = [remaining[k] for k in np.flatnonzero(~sub.any(axis=0)).tolist()]
        best = min(unbeaten, key=lambda i: (-approvals[i], ids[i]))
        order.append(best)
        remaining.remove(best)
    return order


def schulze_winners(
    approve: NDArray[np.bool_], position: NDArray[np.int16], rank_depth: int
) -> list[int]:
    """Return the indices of the items no other item beats (the beat path winners)."""
    defeat = beats(strongest_paths(pairwise_preferences(approve, position, rank_depth)))
    winners: list[int] = np.flatnonzero(~defeat.any(axis=0)).tolist()
    return winners
