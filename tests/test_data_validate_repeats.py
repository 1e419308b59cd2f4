"""Exact repeats of rows and keys (``cells.repeats``, ``cells.row_groups``) against pandas'
``DataFrame.duplicated``, the reference for "equal in every column", on generated frames that
mix the types exports carry: Arrow and object text, nullable and plain integers, floats with
−0.0 and NaN, dates with NaT, blanks in every form."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from iopkit.data.validation.cells import repeats, row_groups

_TEXT = st.sampled_from(["a", "b", "A", "", " a", "1", None])
_INT = st.one_of(st.none(), st.integers(-2, 2))
_FLOAT = st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.5, float("nan"), 2.0]))
_DATE = st.one_of(st.none(), st.sampled_from(["2025-01-06", "2025-01-07"]))
_OBJ = st.one_of(st.none(), st.sampled_from(["x", 1, 1.0, 2, "2"]))


def _frame(rows: list[tuple]) -> pd.DataFrame:
    text, ints, floats, dates, objs = (
        (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 5
    )
    return pd.DataFrame(
        {
            "arrow": pd.Series(text, dtype="str"),
            "object": pd.Series(text, dtype=object),
            "Int64": pd.Series(ints, dtype="Int64"),
            "float": pd.Series(floats, dtype="float64"),
            "date": pd.to_datetime(pd.Series(dates, dtype=object)),
            "mixed": pd.Series(objs, dtype=object),
        }
    )


def _canon(v: object) -> str:
    """A cell as the text equal cells share (1 == 1.0 and 0.0 == −0.0, as Python compares)."""
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "blank"
    if isinstance(v, int | float | np.integer | np.floating):
        return repr(float(v) + 0.0)
    return f"{type(v).__name__}:{v}"


def _expected(frame: pd.DataFrame, blank: bool) -> np.ndarray:
    # pandas treats None, NaN and NaT alike as one blank value, as repeats does
    keep = np.ones(len(frame), dtype=bool) if blank else frame.notna().all(axis=1).to_numpy()
    dup = np.zeros(len(frame), dtype=bool)
    dup[keep] = frame[keep].duplicated(keep=False).to_numpy()
    return np.flatnonzero(dup)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_TEXT, _INT, _FLOAT, _DATE, _OBJ), max_size=40), st.booleans())
def test_repeats_are_the_rows_pandas_calls_duplicated(rows, blank) -> None:
    frame = _frame(rows)
    # a small alphabet so that rows repeat; each column subset is a separate question
    for cols in (["arrow"], ["object", "Int64"], ["float", "date"], ["mixed"], list(frame)):
        sub = frame[cols]
        pos, group = repeats(sub, blank=blank)
        assert pos.tolist() == _expected(sub, blank).tolist(), cols
        if len(pos):
            # the same group ⇔ equal rows; groups numbered by first appearance
            first = [tuple(map(_canon, row)) for row in sub.iloc[pos].itertuples(index=False)]
            assert len(set(zip(group, first, strict=True))) == len(set(group)) == len(set(first))
            assert group[0] == 0 and (np.diff(np.maximum.accumulate(group)) <= 1).all()


def test_row_groups_survive_a_radix_past_64_bits() -> None:
    """Forty columns of 1,000 distinct values each: the mixed-radix id is renumbered before
    it overflows, and rows stay equal exactly when all their values are."""
    rng = np.random.default_rng(3)
    base = pd.DataFrame({f"c{i}": rng.integers(0, 1000, 500) for i in range(40)})
    frame = pd.concat([base, base.iloc[[7, 7, 300]]], ignore_index=True)
    g = row_groups(frame)
    assert len(set(g)) == 500 and g[500] == g[501] == g[7] and g[502] == g[300]
    pos, _ = repeats(frame)
    assert pos.tolist() == [7, 300, 500, 501, 502]


def test_a_forced_hash_collision_is_decided_by_the_values(monkeypatch) -> None:
    """Every row hashed alike: the exact comparison still finds only the true repeats."""
    import iopkit.data.validation.cells as cells

    monkeypatch.setattr(cells, "_MIX1", np.uint64(0))  # every word mixes to 0
    frame = pd.DataFrame({"a": ["x", "y", "x", "z"], "b": [1, 2, 1, 3]})
    pos, group = cells.repeats(frame)
    assert pos.tolist() == [0, 2] and group.tolist() == [0, 0]
