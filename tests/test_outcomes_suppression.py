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


# --- the same rule for statistics: small_cells, hide_small_groups, suppress_rates ----------


def test_small_cells_is_the_primary_rule():
    """CMS/ResDAC: counts 1–10 are small (k = 11); zero and missing are not."""
    from iopkit.outcomes import small_cells

    assert small_cells([0, 1, 10, 11, np.nan], 11).tolist() == [False, True, True, False, False]
    assert not small_cells([1, 5], 0).any() and not small_cells([1, 5], 1).any()  # off
    assert bool(small_cells(3, 11)) and small_cells(np.array([[2, 20]]), 11).shape == (1, 2)


def test_hide_small_groups_blanks_statistics_of_few_people():
    """A mean of 1 … k−1 episodes describes individuals (CMS/ResDAC k = 11)."""
    from iopkit.outcomes import hide_small_groups

    f = pd.DataFrame(
        {
            "group": ["a", "b", "c"],
            "estimate": [1.0, 2.0, np.nan],
            "ci_low": [0.5, 1.5, np.nan],
            "n": [1, 11, 0],
        }
    )
    f.attrs["variant"] = "mean"
    out = hide_small_groups(f, k=11)
    assert out["estimate"].isna().tolist() == [True, False, True]
    assert out["ci_low"].isna().tolist() == [True, False, True]
    assert out["n"].isna().tolist() == [True, False, False]  # n = 0 stays visible
    assert out["group"].tolist() == ["a", "b", "c"]
    assert out.attrs["variant"] == "mean" and out.attrs["suppression"]["hidden"] == 1
    assert hide_small_groups(f, k=0)["estimate"].iloc[0] == 1.0
    assert f["estimate"].iloc[0] == 1.0  # input untouched


def test_hide_small_groups_named_columns_keep_numeric_keys():
    from iopkit.outcomes import hide_small_groups

    weekly = pd.DataFrame(
        {
            "week": [0, 1, 2],
            "n": [30, 12, 3],
            "mean": [16.0, 13.0, 9.0],
            "ci_low": [15.0, 11.0, 4.0],
        }
    )
    out = hide_small_groups(weekly, stat_cols=["mean", "ci_low"], k=11)
    assert out["week"].tolist() == [0, 1, 2]
    assert out["mean"].isna().tolist() == [False, False, True]
    with pytest.raises(InputError) as err:
        hide_small_groups(weekly.assign(n=[30, 2.5, 3]), k=11)
    assert err.value.column == "n" and err.value.row == 3
    with pytest.raises(InputError, match="no column 'people'"):
        hide_small_groups(weekly, n_col="people")


def test_suppress_rates_hides_small_numerators_and_complements():
    """A rate with its n gives the count back: numerator and n − numerator must be 0 or ≥ k."""
    from iopkit.outcomes import suppress_rates

    rates = pd.DataFrame(
        {
            "outcome": ["a", "b", "c", "d", "e"],
            "rate_%": [40.0, 95.0, 50.0, 0.0, 100.0],
            "ci_95_%": ["x"] * 5,
            "n": [20, 20, 40, 30, 12],
        }
    )
    out = suppress_rates(rates, rate_col="rate_%", hide_cols=["ci_95_%"], k=11)
    # a: 8/20 → numerator 8; b: 19/20 → complement 1; c: 20/40; d: 0/30; e: 12/12
    assert out["rate_%"].isna().tolist() == [True, True, False, False, False]
    assert out["ci_95_%"].isna().tolist() == [True, True, False, False, False]
    assert out.attrs["suppression"]["hidden"] == 2
    assert suppress_rates(rates, rate_col="rate_%", k=0)["rate_%"].notna().all()
    counted = rates.assign(count=[8, 19, 20, 0, 12])
    out = suppress_rates(counted, count_col="count", rate_col="rate_%", k=11)
    assert out["count"].isna().tolist() == [True, True, False, False, False]
    with pytest.raises(InputError, match="count_col or rate_col"):
        suppress_rates(rates)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=8),
    st.integers(2, 20),
)
def test_no_shown_rate_reveals_a_small_count(pairs, k):
    """Property: every rate left visible has numerator and complement in {0} ∪ [k, ∞)."""
    from iopkit.outcomes import suppress_rates

    n = [a + b for a, b in pairs]
    count = [a for a, _ in pairs]
    rate = [100 * a / t if t else np.nan for a, t in zip(count, n, strict=True)]
    out = suppress_rates(pd.DataFrame({"rate": rate, "n": n}), rate_col="rate", k=k)
    for shown, num, total in zip(out["rate"].notna(), count, n, strict=True):
        if shown:
            assert num == 0 or num >= k
            assert total - num == 0 or total - num >= k


def test_statistics_of_safety_flags_are_refused():
    from iopkit.outcomes import hide_small_groups, suppress_rates

    flags = pd.DataFrame({"flag": ["safety"], "n": [1], "rate": [100.0]})
    with pytest.raises(InputError, match="never be suppressed"):
        hide_small_groups(flags)
    with pytest.raises(InputError, match="never be suppressed"):
        suppress_rates(flags, rate_col="rate")


def test_hidden_cells_are_recorded_exactly_and_shown_apart_from_blanks():
    """A report must tell a suppressed cell from a value that does not apply ("–"): the small
    count reads "< 11", the statistic hidden with it "hidden to protect a small cell" (e.g.
    the mean stay of active episodes reads "–"); hidden cells accumulate over steps."""
    import re

    import iopkit.reports.views.display as display
    from iopkit.outcomes import hide_small_groups

    f = pd.DataFrame(
        {"group": ["active", "done", "few"], "n": [20, 12, 3], "mean": [None, 30.9, 5.0]}
    )
    h = hide_small_groups(f, n_col="n", stat_cols=["mean"], k=11)
    assert h.attrs["suppression"]["hidden_cells"] == [(2, "n"), (2, "mean")]
    t = suppress(pd.DataFrame({"a": [3, 20], "b": [12, 14]}, index=["x", "y"]), ["a", "b"], k=11)
    na = t.isna()
    assert (
        set(t.attrs["suppression"]["hidden_cells"])
        == {(r, c) for r in t.index for c in t.columns if na.at[r, c]}
        >= {("x", "a"), ("x", "b")}
    )
    shown = []
    original = display.display
    display.display = shown.append
    try:
        display.show(h, "stay")
    finally:
        display.display = original
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>.*?</td>", shown[0].data)
    ]
    assert cells == [
        "active",
        "20",
        "–",
        "done",
        "12",
        "30.9",  # a one-decimal value keeps one decimal
        "few",
        "&lt; 11",
        "hidden to protect a small cell",
    ]
    assert h.attrs["suppression"]["primary_cells"] == [(2, "n")]
