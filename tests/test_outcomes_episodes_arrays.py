"""``episode_scores`` on arrays against the merge-and-group-by implementation it replaced
(kept here verbatim as the reference), on generated scores: unknown episodes, blank scores
and dates, several scores a day, active episodes, both endpoint rules, any windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
from hypothesis import given, settings
from hypothesis import strategies as st

from iopkit.outcomes import episode_scores
from iopkit.outcomes._common import iso_dates, numeric_scores


def reference(scores, episodes, *, baseline_window=(-7, 7), endpoint="last",
              discharge_window=7) -> pd.DataFrame:  # fmt: skip
    """The implementation before issue 17 (merge, group-by first/last, join)."""
    id_col, date_col, score_col = "episode_id", "date", "total"
    s = scores
    sc = numeric_scores(s, score_col, "scores")
    s = pd.DataFrame({"_id": s[id_col].to_numpy(),
                      "_date": iso_dates(s, date_col, "scores").to_numpy(),
                      "_score": sc.to_numpy(dtype=float)})  # fmt: skip
    s = s[~np.isnan(s["_score"].to_numpy())]
    ep = pd.DataFrame({"_id": episodes[id_col].to_numpy(),
                       "_admit": iso_dates(episodes, "admit_date", "episodes").to_numpy(),
                       "_discharge": iso_dates(episodes, "discharge_date", "episodes").to_numpy()})  # fmt: skip  # noqa: E501
    unknown = ~s["_id"].isin(ep["_id"])
    s = s[~unknown].merge(ep, on="_id", how="left").sort_values(["_id", "_date"], kind="stable")
    day = (s["_date"] - s["_admit"]).dt.days
    lo, hi = baseline_window
    in_base = (day >= lo) & (day <= hi)
    base = s[in_base.to_numpy()].groupby("_id", sort=False).first()[["_date", "_score"]]
    base.columns = ["baseline_date", "baseline"]
    s = s.merge(base.rename_axis(None), left_on="_id", right_index=True, how="inner")
    s = s.reset_index(drop=True)
    after = s["_date"] > s["baseline_date"]
    has_dis = s["_discharge"].notna()
    if endpoint == "last":
        limit = s["_discharge"] + pd.Timedelta(days=discharge_window)
        keep = after & (~has_dis | (s["_date"] <= limit))
    else:
        gap = (s["_date"] - s["_discharge"]).dt.days.abs()
        keep = after & has_dis & (gap <= discharge_window)
    end = s[keep.to_numpy()].groupby("_id", sort=False).last()[["_date", "_score"]]
    end.columns = ["endpoint_date", "endpoint"]
    n_scores = s.groupby("_id", sort=False).size().rename("n_scores")
    out = ep.set_index("_id").join(base).join(end).join(n_scores)
    out["n_scores"] = out["n_scores"].fillna(0).astype(int)
    gap = (out["endpoint_date"] - out["_discharge"]).dt.days.abs()
    out["endpoint_at_discharge"] = (gap <= discharge_window).where(out["endpoint"].notna())
    out["days_observed"] = (out["endpoint_date"] - out["baseline_date"]).dt.days
    out = out.drop(columns=["_admit", "_discharge"]).rename_axis(id_col).reset_index()
    out.attrs["n_scores_for_unknown_episodes"] = int(unknown.sum())
    return out


_DAY0 = pd.Timestamp("2025-03-03")


@st.composite
def _inputs(draw):  # noqa: ANN001, ANN202
    n_ep = draw(st.integers(1, 6))
    ids = [f"E{i}" for i in range(n_ep)]
    admit = [_DAY0 + pd.Timedelta(days=draw(st.integers(0, 10))) for _ in ids]
    stay = [draw(st.one_of(st.none(), st.integers(0, 40))) for _ in ids]
    episodes = pd.DataFrame({
        "episode_id": pd.Series(ids, dtype=object),
        "admit_date": pd.to_datetime(admit),
        "discharge_date": pd.to_datetime([None if d is None else a + pd.Timedelta(days=d)
                                          for a, d in zip(admit, stay, strict=True)]),
    })  # fmt: skip
    rows = draw(st.lists(st.tuples(
        st.sampled_from([*ids, "X9"]),  # X9: not an episode
        st.integers(-13, 45).map(lambda d: None if d == -13 else d),  # day; None: blank
        st.integers(-1, 27).map(lambda v: None if v < 0 else v),  # None: a blank score
    ), max_size=40))  # fmt: skip
    scores = pd.DataFrame({
        "episode_id": pd.Series([r[0] for r in rows], dtype=object),
        "date": pd.to_datetime([None if r[1] is None else _DAY0 + pd.Timedelta(days=r[1])
                                for r in rows]),
        "total": pd.Series([np.nan if r[2] is None else float(r[2]) for r in rows],
                           dtype=float),
    })  # fmt: skip
    window = draw(st.sampled_from([(-7, 7), (0, 3), (-2, 0)]))
    return scores, episodes, window, draw(st.sampled_from(["last", "discharge"])), draw(
        st.integers(0, 10))


@settings(max_examples=300, deadline=None)
@given(_inputs())
def test_episode_scores_equal_the_merge_and_group_by_implementation(case) -> None:
    scores, episodes, window, endpoint, dwin = case
    mine = episode_scores(scores, episodes, baseline_window=window, endpoint=endpoint,
                          discharge_window=dwin, scale_col=None)  # fmt: skip
    ref = reference(scores, episodes, baseline_window=window, endpoint=endpoint,
                    discharge_window=dwin)  # fmt: skip
    assert mine.attrs["n_scores_for_unknown_episodes"] == ref.attrs[
        "n_scores_for_unknown_episodes"]
    pdt.assert_frame_equal(mine, ref, check_like=False)


def _with_weeks_merge(scores, episodes) -> pd.DataFrame:  # noqa: ANN001
    """``with_weeks`` as it was: a left merge of the scores with their episodes."""
    ep = episodes[["episode_id", "admit_date", "cohort_id"]].copy()
    out = pd.DataFrame({"episode_id": scores["episode_id"].to_numpy(),
                        "date": scores["date"].to_numpy(),
                        "score": scores["total"].to_numpy(float)})  # fmt: skip
    out = out[~np.isnan(out["score"].to_numpy())]
    out = out[out["episode_id"].isin(ep["episode_id"]).to_numpy()]
    out = out.merge(ep, on="episode_id", how="left")
    days = (out["date"] - out["admit_date"]).dt.days.to_numpy()
    out["days"], out["week"], out["weeks"] = days, np.floor_divide(days, 7), days / 7.0
    return out.drop(columns=["admit_date"])


@settings(max_examples=150, deadline=None)
@given(_inputs(), st.booleans())
def test_with_weeks_equals_the_merge(case, twice) -> None:
    from iopkit.outcomes import with_weeks

    scores, episodes = case[0], case[1].assign(cohort_id=lambda e: [f"C{i % 2}" for i in
                                                                     range(len(e))])
    if twice:  # an episode listed twice: its scores repeat, as a merge repeats them
        episodes = pd.concat([episodes, episodes.iloc[:1]], ignore_index=True)
    mine = with_weeks(scores, episodes, scale_col=None)
    # the ids keep the episodes' dtype (object here); a merge of no rows gave pandas' str
    pdt.assert_frame_equal(mine, _with_weeks_merge(scores, episodes), check_dtype=len(mine) > 0)
