"""Small-cell suppression: CMS rule (no 1–10 cell shown or derivable; zeros may show)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from iopkit.errors import InputError
from iopkit.outcomes import mbc_flags, suppress, suppression_pattern


def _lp_range(grid: np.ndarray, hidden: np.ndarray, cell: tuple[int, int]) -> tuple[float, float]:
    """Min and max of a hidden cell over all non-negative tables with the published values
    (every line of the grid sums to its total; last row/column are totals)."""
    idx = {c: i for i, c in enumerate(zip(*np.nonzero(hidden), strict=True))}
    n_r, n_c = grid.shape
    a_eq, b_eq = [], []
    lines = [[(r, c) for c in range(n_c - 1)] + [(r, n_c - 1)] for r in range(n_r)]
    lines += [[(r, c) for r in range(n_r - 1)] + [(n_r - 1, c)] for c in range(n_c)]
    for line in lines:
        row = np.zeros(len(idx))
        rhs = 0.0
        for pos, (r, c) in enumerate(line):
            sign = -1.0 if pos == len(line) - 1 else 1.0  # parts − total = 0
            if (r, c) in idx:
                row[idx[(r, c)]] += sign
            else:
                rhs -= sign * grid[r, c]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    obj = np.zeros(len(idx))
    obj[idx[cell]] = 1
    kw = dict(
        A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=[(0, None)] * len(idx), method="highs"
    )
    lo = linprog(obj, **kw)
    hi = linprog(-obj, **kw)
    assert lo.status == 0 and hi.status in (0, 3)  # 3 = unbounded above: not recoverable
    return lo.fun, (np.inf if hi.status == 3 else -hi.fun)


def _grid(x: np.ndarray) -> np.ndarray:
    g = np.zeros((x.shape[0] + 1, x.shape[1] + 1), dtype=np.int64)
    g[:-1, :-1] = x
    g[:-1, -1] = x.sum(axis=1)
    g[-1, :-1] = x.sum(axis=0)
    g[-1, -1] = x.sum()
    return g


small_tables = st.integers(1, 5).flatmap(
    lambda r: st.integers(1, 5).flatmap(
        lambda c: st.lists(
            st.lists(st.one_of(st.integers(0, 12), st.integers(0, 200)), min_size=c, max_size=c),
            min_size=r,
            max_size=r,
        )
    )
)


@settings(max_examples=120, deadline=None)
@given(small_tables)
def test_no_small_cell_recoverable(rows):
    """Property (CMS/ResDAC rule, scales.md §3.6): after suppression no cell of 1–10 is shown
    and no hidden cell (interior or total) can be worked out exactly from the published
    cells and totals — checked independently by linear programming; zeros stay visible."""
    x = np.array(rows, dtype=np.int64)
    g = _grid(x)
    hidden, primary = suppression_pattern(g, k=11)
    shown = g[~hidden]
    assert not ((shown >= 1) & (shown <= 10)).any()
    assert not (hidden & (g == 0)).any()  # zeros may show: never hidden
    assert (primary == ((g >= 1) & (g <= 10))).all()
    for cell in zip(*np.nonzero(hidden), strict=True):
        lo, hi = _lp_range(g, hidden, cell)
        assert hi - lo >= 1 - 1e-7, f"cell {cell} = {g[cell]} recoverable in {g.tolist()}"
    # the DataFrame API shows exactly the unhidden cells
    frame = pd.DataFrame(x, columns=[f"c{j}" for j in range(x.shape[1])])
    frame["total"] = x.sum(axis=1)
    out = suppress(frame, list(frame.columns[:-1]), total_col="total")
    assert (out.isna().to_numpy() == hidden[:-1, :]).all()


def test_suppress_frame_counts_totals_and_percentages():
    t = pd.DataFrame(
        {
            "group": ["a", "b", "c"],
            "recovered": [25, 5, 40],
            "improved": [30, 12, 0],
            "unchanged": [14, 20, 33],
        }
    ).set_index("group")
    t["total"] = t[["recovered", "improved", "unchanged"]].sum(axis=1)
    t["pct_recovered"] = 100 * t["recovered"] / t["total"]
    s = suppress(
        t,
        ["recovered", "improved", "unchanged"],
        total_col="total",
        pct_cols={"recovered": "pct_recovered"},
    )
    assert pd.isna(s.loc["b", "recovered"])  # primary: 5
    assert s.loc["c", "improved"] == 0  # zero shown
    assert pd.isna(s.loc["b", "pct_recovered"])  # percentage of a hidden count
    info = s.attrs["suppression"]
    assert info["n_primary"] == 1 and info["n_complementary"] >= 1
    assert int(s["recovered"].isna().sum()) >= 2  # complement in the same column
    assert str(s["recovered"].dtype) == "Int64"
    assert t.loc["b", "recovered"] == 5  # input untouched


def test_hidden_denominator_hides_row_percentages():
    t = pd.DataFrame({"yes": [3, 40, 50], "no": [4, 60, 70]}, index=["x", "y", "z"])
    t["total"] = t["yes"] + t["no"]
    t["pct_no"] = 100 * t["no"] / t["total"]
    s = suppress(t, ["yes", "no"], total_col="total", pct_cols={"no": "pct_no"})
    assert pd.isna(s.loc["x", "total"])  # 7 is itself a small cell
    assert pd.isna(s.loc["x", "pct_no"])
    assert not pd.isna(s.loc["z", "pct_no"]) or pd.isna(s.loc["z", "no"])


def test_total_row_and_virtual_totals():
    t = pd.DataFrame({"n": [12, 30, 42]}, index=["a", "b", "total"])
    s = suppress(t, ["n"], total_row="total")
    assert s["n"].notna().all()
    v = suppress(pd.DataFrame({"a": [3], "b": [2]}), ["a", "b"])
    assert ("grand total", "") in v.attrs["suppression"]["hidden_virtual_totals"]


def test_suppress_rejects_bad_input_and_safety_flags():
    with pytest.raises(InputError) as err:
        suppress(pd.DataFrame({"n": [1.5, 20]}), ["n"])
    assert err.value.column == "n" and err.value.row == 2
    with pytest.raises(InputError, match="≠ sum"):
        suppress(pd.DataFrame({"a": [20, 30], "t": [21, 30]}), ["a"], total_col="t")
    eps = pd.DataFrame(
        {"episode_id": ["E1"], "admit_date": ["2025-01-06"], "discharge_date": [None]}
    )
    a = pd.DataFrame(
        {
            "episode_id": ["E1"],
            "date": ["2025-01-06"],
            "scale": ["phq9"],
            **{f"item_{i}": [1] for i in range(1, 10)},
        }
    )
    flags = mbc_flags(a, eps)
    with pytest.raises(InputError, match="never be suppressed"):
        suppress(flags.assign(n=1), ["n"])
    counts = flags.groupby("flag").size().rename("n").reset_index()
    with pytest.raises(InputError, match="never be suppressed"):
        suppress(counts, ["n"])
