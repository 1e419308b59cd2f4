"""Small-cell suppression for aggregate tables (CMS/ResDAC cell-size rule).

Rule [V, ResDAC/HHS CMS cell-size suppression policy, resdac.org]: no displayed count of
1 … k−1 (k = 11 by default, i.e. 1–10); zero may be shown; no hidden cell may be derivable
from other cells, totals or percentages.

Method:

1. **Primary suppression**: every count (interior cells and row/column/grand totals) in
   1 … k−1 is hidden. Zeros stay visible.
2. **Complementary suppression**: the table with its margins is a grid whose every line sums
   to its total. A hidden cell can be worked out exactly iff it is a *bridge* in the bipartite
   graph whose vertices are the lines (rows and columns, totals included) and whose edges are
   the hidden cells; when it lies on a cycle of hidden cells that are all ≥ 1, adding and
   subtracting 1 around the cycle gives another table with the same published figures, so its
   value is not determined. While a bridge remains, the cheaper of (a) the smallest non-zero
   visible cell in the same row or column that closes a cycle through it and (b) the
   cheapest rectangle of non-zero cells through it (smallest sum, then fewest cells, then
   fewest totals) is hidden; a final pass shows again, largest first, every complementary
   cell the protection does not need. The pass is run for several orders of the derivable
   cells and the pattern hiding the smallest total is kept; for small tables (at most
   :data:`EXACT_MAX_CANDIDATES` visible non-zero cells) a branch-and-bound search then finds
   the exact minimum-sum pattern. (Complementary suppression is NP-hard in general — Kelly,
   Golden & Assad 1992, Networks 22(4):397–417 — so large tables keep the heuristic;
   ``tests/test_reports_audience.py`` compares it with the exact minimum.) Hidden cells are
   never zeros, so the ±1 argument always holds.
3. **Percentages**: a percentage column derived from a hidden count is hidden; when a row
   total (the denominator) is hidden, every percentage in the row is hidden (a shown count
   and its percentage would give the denominator back).

Margins not present in the table are still modelled (they are usually published somewhere);
when such a *virtual* total must be hidden it is listed in ``attrs["suppression"]
["hidden_virtual_totals"]`` — do not publish it elsewhere.

Limitation (documented, as in CMS practice): the published pattern reveals that a hidden
primary cell lies in 1 … k−1; the method guarantees that its exact value cannot be derived.

**Safety flags must never go through this function**: :func:`iopkit.outcomes.mbc_flags`
returns per-episode rows for clinical follow-up, and ``suppress`` refuses such tables.

The same rule for statistics (DataFrame in → DataFrame out, ``k`` ≤ 1 switches them off, as
a report's ``suppress_below = 0``):

* :func:`hide_small_groups` — a mean, SD, effect size or share computed over 1 … k−1 people
  describes individuals (a mean of one is that person's value), so it is blanked with its n;
* :func:`suppress_rates` — a rate and its denominator give the numerator back, so a rate is
  hidden when its numerator or its complement (n − numerator) is 1 … k−1;
* :func:`small_cells` — the primary rule itself (count in 1 … k−1), for code that computes
  single figures.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from iopkit.errors import InputError

__all__ = [
    "determined_cells",
    "hide_small_groups",
    "small_cells",
    "suppress",
    "suppress_rates",
    "suppression_pattern",
]


def _bridges(hidden: np.ndarray) -> list[tuple[int, int]]:
    """Hidden cells that are bridges of the row/column bipartite graph (exactly derivable)."""
    n_r, n_c = hidden.shape
    edges = [(r, c) for r, c in zip(*np.nonzero(hidden), strict=True)]
    adj: dict[int, list[tuple[int, int]]] = defaultdict(list)  # vertex -> [(nbr, edge id)]
    for i, (r, c) in enumerate(edges):
        adj[r].append((n_r + c, i))
        adj[n_r + c].append((r, i))
    # Tarjan's bridge-finding (iterative) on the multigraph
    disc: dict[int, int] = {}
    low: dict[int, int] = {}
    out: list[tuple[int, int]] = []
    timer = 0
    for root in list(adj):
        if root in disc:
            continue
        disc[root] = low[root] = timer
        timer += 1
        stack = [(root, -1, iter(adj[root]))]
        while stack:
            v, via, it = stack[-1]
            advanced = False
            for w, eid in it:
                if eid == via:
                    continue
                if w in disc:
                    low[v] = min(low[v], disc[w])
                else:
                    disc[w] = low[w] = timer
                    timer += 1
                    stack.append((w, eid, iter(adj[w])))
                    advanced = True
                    break
            if not advanced:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[v])
                    if low[v] > disc[parent]:
                        out.append(edges[via])
    del n_c
    return out


def _connected_without(hidden: np.ndarray, a: int, b: int, skip: tuple[int, int]) -> bool:
    """Whether vertices a and b (rows 0..R-1, columns R..) are linked by hidden cells other
    than ``skip``."""
    n_r = hidden.shape[0]
    seen = {a}
    q = deque([a])
    while q:
        v = q.popleft()
        if v == b:
            return True
        if v < n_r:
            nbrs = [n_r + c for c in np.flatnonzero(hidden[v]) if (v, c) != skip]
        else:
            c = v - n_r
            nbrs = [r for r in np.flatnonzero(hidden[:, c]) if (r, c) != skip]
        for w in nbrs:
            if w not in seen:
                seen.add(w)
                q.append(w)
    return False


def suppression_pattern(grid: np.ndarray, k: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Hidden-cell mask for a full grid whose last row and column are totals.

    Returns ``(hidden, primary)`` boolean arrays. Raises InputError when the table cannot be
    protected (only possible when every non-zero cell is already hidden).
    """
    x = np.asarray(grid, dtype=np.int64)
    primary = (x >= 1) & (x <= k - 1)
    n_r, n_c = x.shape
    interior = np.zeros_like(primary)
    interior[:-1, :-1] = True
    # the greedy pass depends on which derivable cell it protects first: try a few orders
    # and keep the pattern that hides the least (then the fewest cells)
    orders = (
        lambda bs: bs[0],
        lambda bs: bs[-1],
        lambda bs: min(bs, key=lambda p: (int(x[p]), p)),
        lambda bs: max(bs, key=lambda p: (int(x[p]), p)),
    )
    best = None
    for pick in orders:
        hidden = _greedy(x, primary, interior, pick)
        cost = (int(x[hidden & ~primary].sum()), int(hidden.sum()))
        if best is None or cost < best[0]:
            best = (cost, hidden)
    if int((~primary & (x >= 1)).sum()) <= EXACT_MAX_CANDIDATES:
        exact = _exact(x, primary, best[0][0])
        if exact is not None:
            return exact, primary
    return best[1], primary


#: Tables with at most this many visible non-zero cells (totals included) get the exact
#: minimum-sum complementary pattern (branch and bound, bounded by the greedy pattern's sum).
EXACT_MAX_CANDIDATES = 20


def _exact(x: np.ndarray, primary: np.ndarray, bound: int) -> np.ndarray | None:
    """The complementary cells of least total value (< ``bound``) that leave no hidden cell
    derivable, by depth-first search over cells in increasing value; None when the greedy
    pattern (sum ``bound``) is already the minimum."""
    cand = sorted((tuple(p) for p in np.argwhere(~primary & (x >= 1))),
                  key=lambda p: (int(x[p]), p))
    vals = [int(x[p]) for p in cand]
    best: list = [bound, None]
    hidden = primary.copy()

    def search(start: int, cost: int) -> None:
        if not _bridges(hidden):
            if cost < best[0]:
                best[0], best[1] = cost, hidden.copy()
            return
        for j in range(start, len(cand)):
            if cost + vals[j] >= best[0]:
                break  # values ascend: nothing later is cheaper
            hidden[cand[j]] = True
            search(j + 1, cost + vals[j])
            hidden[cand[j]] = False

    search(0, 0)
    return best[1]


def _greedy(x, primary, interior, pick):
    """Complementary cells by repeated closure of the cycle through one derivable cell."""
    hidden = primary.copy()
    while True:
        bridges = _bridges(hidden)
        if not bridges:
            return _prune(x, hidden, primary)
        r, c = pick(bridges)
        options = [o for o in (_single_closure(x, hidden, interior, r, c),
                               _rectangle(x, hidden, interior, r, c)) if o]
        new_cells = min(options, key=lambda cells: (sum(int(x[cell]) for cell in cells),
                                                    len(cells))) if options else None
        if new_cells is None:
            others = ~hidden & (x >= 1)
            if not others.any():
                raise InputError(
                    "table cannot be protected by cell suppression; collapse categories",
                    rule="small-cell suppression",
                )
            vals = np.where(others, x, np.iinfo(np.int64).max)
            new_cells = [np.unravel_index(int(np.argmin(vals)), x.shape)]
        for cell in new_cells:
            hidden[cell] = True


def _prune(x: np.ndarray, hidden: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Drop every complementary cell the protection does not need, largest first: a cell
    whose removal leaves no hidden cell derivable is shown again (the greedy pass may have
    hidden a large cell that later choices made unnecessary)."""
    out = hidden.copy()
    extra = [tuple(p) for p in np.argwhere(out & ~primary)]
    for cell in sorted(extra, key=lambda p: -int(x[p])):
        out[cell] = False
        if _bridges(out):
            out[cell] = True
    return out


def _single_closure(x, hidden, interior, r, c):
    """One visible non-zero cell in row r or column c that puts (r, c) on a hidden cycle."""
    n_r, n_c = x.shape
    best = None
    for rr, cc in [(r, j) for j in range(n_c) if j != c] + [(i, c) for i in range(n_r) if i != r]:
        if hidden[rr, cc] or x[rr, cc] < 1:
            continue
        closes = (
            _connected_without(hidden, n_r + c, n_r + cc, (r, c))
            if rr == r
            else _connected_without(hidden, r, rr, (r, c))
        )
        if not closes:
            continue
        key = (int(x[rr, cc]), not interior[rr, cc], rr, cc)
        if best is None or key < best[0]:
            best = (key, (rr, cc))
    return None if best is None else [best[1]]


def _rectangle(x, hidden, interior, r, c):
    """Cheapest rectangle (r, c)–(r, c')–(r', c')–(r', c) of non-zero cells: smallest hidden
    sum, then fewest new cells, then fewest new totals."""
    n_r, n_c = x.shape
    best = None
    for rr in range(n_r):
        if rr == r:
            continue
        for cc in range(n_c):
            if cc == c:
                continue
            cells = [(r, cc), (rr, c), (rr, cc)]
            if any(x[cell] < 1 for cell in cells):
                continue
            new = [cell for cell in cells if not hidden[cell]]
            key = (
                sum(int(x[cell]) for cell in new),
                len(new),
                sum(not interior[cell] for cell in new),
                rr,
                cc,
            )
            if best is None or key < best[0]:
                best = (key, new)
    return None if best is None else best[1]


def determined_cells(grid: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Boolean mask of hidden cells whose value is exactly derivable (graph bridges)."""
    out = np.zeros_like(hidden, dtype=bool)
    for r, c in _bridges(hidden):
        out[r, c] = True
    return out


def _refuse_flags(table: pd.DataFrame) -> None:
    if table.attrs.get("iopkit_table") == "mbc_flags" or (
        "flag" in table.columns and table["flag"].astype(str).eq("safety").any()
    ):
        raise InputError(
            "safety-flag tables are per-episode clinical worklists and must never be "
            "suppressed or aggregated away; publish them only to the care team",
            rule="safety flags are never suppressed",
        )


def _hidden_cells(before: pd.DataFrame, after: pd.DataFrame) -> list[tuple[object, str]]:
    """(row label, column) of every cell that had a value and is now hidden, plus the cells
    an earlier suppression step on ``before`` already hid (``attrs["suppression"]``)."""
    earlier = before.attrs.get("suppression", {}).get("hidden_cells", [])
    shared = [c for c in after.columns if c in before.columns]
    newly = after[shared].isna().to_numpy() & before[shared].notna().to_numpy()
    rows, cols = np.nonzero(newly)
    cells = [(after.index[r], shared[c]) for r, c in zip(rows, cols, strict=True)]
    return list(dict.fromkeys([*map(tuple, earlier), *cells]))


def _primary_cells(before: pd.DataFrame, new: Sequence[tuple[object, str]]) -> list:
    """(row label, column) of every hidden *count in 1 … k−1* (the primary cells), plus those
    an earlier suppression step on ``before`` recorded. Every other hidden cell was hidden to
    protect one of them (complementary cells, rates, means, percentages)."""
    earlier = before.attrs.get("suppression", {}).get("primary_cells", [])
    return list(dict.fromkeys([*map(tuple, earlier), *map(tuple, new)]))


def suppress(
    table: pd.DataFrame,
    count_cols: Sequence[str],
    *,
    k: int = 11,
    total_col: str | None = None,
    total_row: Hashable | None = None,
    pct_cols: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Apply primary + complementary small-cell suppression to ``table``.

    ``count_cols``: the count columns (non-negative integers). ``total_col``: an existing
    row-total column (must equal the row sum); ``total_row``: the index label of an existing
    totals row (must equal the column sums). Missing totals are modelled as published
    (conservative). ``pct_cols``: {count column: percentage column} to hide with their counts.

    Returns a copy with hidden counts as ``<NA>`` (nullable Int64) and hidden percentages as
    NaN; ``attrs["suppression"]`` records k, the number of primary and complementary cells,
    each hidden cell with its reason, and hidden virtual totals.
    """
    _refuse_flags(table)
    if k < 1:
        raise InputError(f"k must be ≥ 1, got {k}", rule="k ≥ 1")
    cols = list(count_cols)
    for c in cols + ([total_col] if total_col else []):
        if c not in table.columns:
            raise InputError(f"table has no column {c!r}", column=c, rule="required column")
    if total_row is not None and total_row not in table.index:
        raise InputError(
            f"total_row {total_row!r} is not an index label of the table",
            rule="total_row in index",
        )
    body = table.drop(index=[total_row]) if total_row is not None else table
    vals = body[cols].apply(pd.to_numeric, errors="coerce")
    for j, c in enumerate(cols):
        v = vals[c].to_numpy(float)
        bad = np.isnan(v) | (v < 0) | (v != np.round(v))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"count {body[c].iloc[i]!r} is not a non-negative integer",
                row=i + 2,
                column=c,
                rule="counts are non-negative integers",
            )
        del j
    x = vals.to_numpy(np.int64)
    n_r, n_c = x.shape
    grid = np.zeros((n_r + 1, n_c + 1), dtype=np.int64)
    grid[:n_r, :n_c] = x
    grid[:n_r, n_c] = x.sum(axis=1)
    grid[n_r, :n_c] = x.sum(axis=0)
    grid[n_r, n_c] = x.sum()
    if total_col is not None:
        given = pd.to_numeric(body[total_col], errors="coerce").to_numpy(float)
        bad = given != grid[:n_r, n_c]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"row total {body[total_col].iloc[i]!r} ≠ sum of {cols} "
                f"({grid[i, n_c]}); add the missing category as a column",
                row=i + 2,
                column=total_col,
                rule="totals equal the row sum",
            )
    if total_row is not None:
        given = pd.to_numeric(table.loc[total_row, cols], errors="coerce").to_numpy(float)
        if (given != grid[n_r, :n_c]).any():
            raise InputError(
                f"total row {total_row!r} ≠ column sums", rule="totals equal the column sums"
            )
    hidden, primary = suppression_pattern(grid, k)
    out = table.copy()
    labels = list(body.index)
    cells = []
    for j, c in enumerate(cols + [total_col]):
        if c is None:
            continue
        col_vals = pd.array(pd.to_numeric(out[c], errors="coerce"), dtype="Int64")
        for i, lab in enumerate(labels):
            if hidden[i, j]:
                col_vals[out.index.get_loc(lab)] = pd.NA
                cells.append((lab, c, "primary" if primary[i, j] else "complementary"))
        if total_row is not None and hidden[n_r, j]:
            col_vals[out.index.get_loc(total_row)] = pd.NA
            cells.append((total_row, c, "primary" if primary[n_r, j] else "complementary"))
        out[c] = col_vals
    virtual = []
    if total_col is None:
        virtual += [(lab, "row total") for i, lab in enumerate(labels) if hidden[i, n_c]]
    if total_row is None:
        virtual += [("column total", c) for j, c in enumerate(cols) if hidden[n_r, j]]
    if total_col is None and total_row is None and hidden[n_r, n_c]:
        virtual.append(("grand total", ""))
    # percentages
    for c, p in (pct_cols or {}).items():
        if p not in out.columns:
            raise InputError(
                f"table has no percentage column {p!r}", column=p, rule="required column"
            )
        j = cols.index(c)
        mask = np.zeros(len(out), dtype=bool)
        for i, lab in enumerate(labels):
            if hidden[i, j] or hidden[i, n_c]:
                mask[out.index.get_loc(lab)] = True
        if total_row is not None and (hidden[n_r, j] or hidden[n_r, n_c]):
            mask[out.index.get_loc(total_row)] = True
        out[p] = out[p].astype(float).mask(mask)
    out.attrs = dict(table.attrs)
    out.attrs["suppression"] = {
        "k": k,
        "rule": f"counts 1–{k - 1} hidden (zeros shown) + complementary suppression",
        "n_primary": int(primary.sum()),
        "n_complementary": int((hidden & ~primary).sum()),
        "cells": cells,
        "hidden_virtual_totals": virtual,
        "hidden_cells": _hidden_cells(table, out),
        "primary_cells": _primary_cells(
            table, [(lab, c) for lab, c, why in cells if why == "primary"]
        ),
    }
    return out


def small_cells(counts: ArrayLike, k: int = 11) -> np.ndarray:
    """Boolean mask of counts in 1 … k−1 (the primary rule; zeros and NaN are not small).

    ``k`` ≤ 1 marks nothing (suppression off).
    """
    c = np.asarray(pd.to_numeric(pd.Series(np.ravel(counts)), errors="coerce"), dtype=float)
    c = c.reshape(np.shape(counts))
    if k <= 1:
        return np.zeros(c.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return (c >= 1) & (c < k)


def hide_small_groups(
    frame: pd.DataFrame,
    *,
    n_col: str = "n",
    stat_cols: Sequence[str] | None = None,
    k: int = 11,
) -> pd.DataFrame:
    """Blank the statistics (and the n) of rows that summarise 1 … k−1 people.

    ``n_col``: the number of people (episodes) behind each row. ``stat_cols``: the columns to
    blank (NaN); default every numeric column but ``n_col`` — name them when the frame has
    numeric keys (a week, a cohort number). Hidden n show as ``<NA>`` (nullable Int64); n = 0
    stays visible. ``k`` ≤ 1 returns a copy unchanged. ``attrs["suppression"]`` records
    ``k``, the rule and the number of rows hidden (``hidden``).
    """
    _refuse_flags(frame)
    if n_col not in frame.columns:
        raise InputError(f"table has no column {n_col!r}", column=n_col, rule="required column")
    stats = (
        list(stat_cols)
        if stat_cols is not None
        else [c for c in frame.columns
              if c != n_col and pd.api.types.is_numeric_dtype(frame[c])
              and not pd.api.types.is_bool_dtype(frame[c])]
    )
    missing = [c for c in stats if c not in frame.columns]
    if missing:
        raise InputError(
            f"table has no column {missing[0]!r}", column=missing[0], rule="required column"
        )
    out = frame.copy()
    if k <= 1 or len(out) == 0:
        return out
    n = pd.to_numeric(out[n_col], errors="coerce")
    bad = n.notna() & ((n < 0) | (n != n.round()))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"group size {out[n_col].iloc[i]!r} is not a non-negative integer",
            row=i + 2,
            column=n_col,
            rule="counts are non-negative integers",
        )
    small = pd.Series(small_cells(n.to_numpy(float), k), index=out.index)
    for c in stats:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float).mask(small)
    out[n_col] = pd.array(n.round(), dtype="Int64")
    out.loc[small, n_col] = pd.NA
    out.attrs = dict(frame.attrs)
    out.attrs["suppression"] = {
        "k": k,
        "rule": f"statistics of 1–{k - 1} people hidden",
        "hidden": int(small.sum()),
        "hidden_cells": _hidden_cells(frame, out),
        "primary_cells": _primary_cells(frame, [(lab, n_col) for lab in out.index[small]]),
    }
    return out


def suppress_rates(
    frame: pd.DataFrame,
    *,
    n_col: str = "n",
    count_col: str | None = None,
    rate_col: str | None = None,
    hide_cols: Sequence[str] = (),
    percent: bool = True,
    k: int = 11,
) -> pd.DataFrame:
    """Hide rates whose numerator or complement (n − numerator) is 1 … k−1.

    A rate shown with its denominator gives the count back (and 1 − rate gives the
    complement), so both must be 0 or ≥ k. The numerator is ``count_col`` when given
    (hidden too), otherwise recovered from ``rate_col`` as round(rate · n) (``percent``:
    the rate is in %). ``rate_col`` and ``hide_cols`` (e.g. the CI) are blanked on hidden
    rows. ``k`` ≤ 1 returns a copy unchanged. ``attrs["suppression"]`` records ``k``, the
    rule and the number of rows hidden (``hidden``).
    """
    _refuse_flags(frame)
    if count_col is None and rate_col is None:
        raise InputError("suppress_rates needs count_col or rate_col", rule="rate columns")
    for c in [n_col, count_col, rate_col, *hide_cols]:
        if c is not None and c not in frame.columns:
            raise InputError(f"table has no column {c!r}", column=c, rule="required column")
    out = frame.copy()
    if k <= 1 or len(out) == 0:
        return out
    n = pd.to_numeric(out[n_col], errors="coerce").to_numpy(float)
    if count_col is not None:
        num = pd.to_numeric(out[count_col], errors="coerce").to_numpy(float)
    else:
        rate = pd.to_numeric(out[rate_col], errors="coerce").to_numpy(float)
        num = np.round(rate / (100.0 if percent else 1.0) * n)
    small = small_cells(num, k) | small_cells(n - num, k)
    mask = pd.Series(small, index=out.index)
    if rate_col is not None:
        out[rate_col] = pd.to_numeric(out[rate_col], errors="coerce").astype(float).mask(mask)
    if count_col is not None:
        out[count_col] = pd.array(pd.to_numeric(out[count_col], errors="coerce").round(),
                                  dtype="Int64")
        out.loc[mask, count_col] = pd.NA
    for c in hide_cols:
        out[c] = out[c].astype(object).mask(mask)
    out.attrs = dict(frame.attrs)
    out.attrs["suppression"] = {
        "k": k,
        "rule": f"rates with a numerator or complement of 1–{k - 1} hidden",
        "hidden": int(small.sum()),
        "hidden_cells": _hidden_cells(frame, out),
        "primary_cells": _primary_cells(frame, [] if count_col is None else [
            (lab, count_col) for lab in out.index[small_cells(num, k)]
        ]),
    }
    return out
