"""Process measures, MBC flags and skill exposure."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iopkit.errors import InputError
from iopkit.outcomes import (
    attendance_summary,
    care_coordination,
    completion_rate,
    exposure_association,
    exposure_by_episode,
    exposure_descriptives,
    goal_attainment,
    length_of_stay,
    longest_run,
    mbc_flags,
    measurement_completeness,
    skill_exposure,
)
from iopkit.outcomes.process import ATTENDANCE_STATUSES, flag_runs

EPISODES = pd.DataFrame(
    {
        "episode_id": ["E1", "E2", "E3"],
        "cohort_id": ["C", "C", "D"],
        "admit_date": ["2025-01-06"] * 3,
        "discharge_date": ["2025-02-06", None, "2025-01-20"],
        "discharge_type": ["completed", None, "dropped_out"],
    }
)


def test_longest_run():
    assert longest_run(np.array([0, 1, 1, 0, 1, 1, 1, 0], bool)) == 3
    assert longest_run(np.array([], bool)) == 0


def test_attendance_summary():
    att = pd.DataFrame(
        {
            "episode_id": ["E1"] * 6 + ["E2"] * 3,
            "date": list(pd.date_range("2025-01-06", periods=6))
            + list(pd.date_range("2025-01-06", periods=3)),
            "status": [
                "present",
                "absent_unexcused",
                "absent_excused",
                "late",
                "absent_unexcused",
                "absent_unexcused",
                "present",
                "present",
                "absent_unexcused",
            ],
        }
    )
    s = attendance_summary(att, EPISODES).set_index("episode_id")
    assert s.loc["E1", "attendance_rate"] == pytest.approx(2 / 6)
    assert s.loc["E1", "longest_absence_run"] == 2
    assert s.loc["E1", "trailing_unexcused_run"] == 2
    assert s.loc["E2", "longest_unexcused_run"] == 1
    assert s.loc["E3", "n_scheduled"] == 0 and np.isnan(s.loc["E3", "attendance_rate"])
    bad = att.copy()
    bad.loc[3, "status"] = "sick"
    with pytest.raises(InputError) as err:
        attendance_summary(bad)
    assert err.value.row == 5 and err.value.column == "status"
    with pytest.raises(InputError, match="two rows"):
        attendance_summary(pd.concat([att, att.iloc[:1]]))


def _flag_runs_pandas(df: pd.DataFrame, id_col: str, flag: str) -> pd.DataFrame:
    """The group-by implementation flag_runs had before (the reference)."""
    f = df[flag].to_numpy(bool)
    ids = df[id_col].to_numpy()
    new_episode = np.r_[True, ids[1:] != ids[:-1]]
    breaks = new_episode | ~f | np.r_[True, ~f[:-1]]
    run_id = np.cumsum(breaks)
    run_len = pd.Series(f.astype(int)).groupby(run_id).transform("sum").to_numpy()
    run_len = np.where(f, run_len, 0)
    tmp = pd.DataFrame({id_col: ids, "run": run_len, "flag": f})
    longest = tmp.groupby(id_col, sort=False)["run"].max()
    last = tmp.groupby(id_col, sort=False).tail(1).set_index(id_col)
    trailing = pd.Series(np.where(last["flag"], last["run"], 0), index=last.index)
    return pd.DataFrame({"longest": longest, "trailing": trailing})


def _attendance_pandas(att: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """attendance_summary's counts and runs as pandas' crosstab and group-bys give them."""
    a = att.sort_values(["episode_id", "date"], kind="stable").reset_index(drop=True)
    counts = pd.crosstab(a["episode_id"], a["status"]).reindex(
        columns=list(ATTENDANCE_STATUSES), fill_value=0)
    counts.columns = [f"n_{c}" for c in counts.columns]
    out = counts.copy()
    out["n_scheduled"] = counts.sum(axis=1)
    out["n_attended"] = a[a["status"].isin(["present", "late"])].groupby(
        "episode_id").size().reindex(out.index, fill_value=0)
    out["attendance_rate"] = out["n_attended"] / out["n_scheduled"]
    a["absent"] = a["status"].str.startswith("absent").to_numpy(bool)
    a["unexcused"] = (a["status"] == "absent_unexcused").to_numpy(bool)
    ab, un = (_flag_runs_pandas(a, "episode_id", c) for c in ("absent", "unexcused"))
    out["longest_absence_run"] = ab["longest"]
    out["longest_unexcused_run"] = un["longest"]
    out["trailing_unexcused_run"] = un["trailing"]
    out = episodes[["episode_id"]].merge(out.rename_axis("episode_id").reset_index(),
                                         on="episode_id", how="left")
    ints = [c for c in out.columns if c.startswith(("n_", "longest", "trailing"))]
    out[ints] = out[ints].fillna(0).astype(int)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["E1", "E2", "E3", "E10"]),
                          st.integers(0, 20), st.sampled_from(ATTENDANCE_STATUSES)),
                max_size=60))
def test_attendance_summary_equals_the_group_by_computation(rows) -> None:  # noqa: ANN001
    """The bincount/run-length implementation gives what pandas' crosstab and group-bys
    give, on any attendance (episodes with no rows included, runs across episodes)."""
    att = pd.DataFrame(rows, columns=["episode_id", "day", "status"]).drop_duplicates(
        ["episode_id", "day"])
    att["date"] = pd.Timestamp("2025-01-06") + pd.to_timedelta(att["day"], unit="D")
    att = att.drop(columns="day").sample(frac=1, random_state=0).reset_index(drop=True)
    episodes = pd.DataFrame({"episode_id": ["E3", "E1", "E2", "E10", "E99"]})
    mine = attendance_summary(att, episodes)
    ref = _attendance_pandas(att, episodes)
    pd.testing.assert_frame_equal(mine[ref.columns], ref, check_dtype=False)
    a = att.sort_values(["episode_id", "date"]).reset_index(drop=True)
    a["unexcused"] = a["status"] == "absent_unexcused"
    pd.testing.assert_frame_equal(flag_runs(a, "episode_id", "unexcused"),
                                  _flag_runs_pandas(a, "episode_id", "unexcused"),
                                  check_dtype=False, check_index_type=False)


def test_length_of_stay_and_completion():
    los = length_of_stay(EPISODES).set_index("discharge_type")
    assert los.loc["completed", "mean"] == 31 and los.loc["dropped_out", "median"] == 14
    assert los.loc["active (no discharge)", "n"] == 1
    c = completion_rate(EPISODES)
    assert c["n_discharged"].iloc[0] == 2 and c["completion_rate"].iloc[0] == 0.5
    assert c["n_active"].iloc[0] == 1 and c["ci_method"].iloc[0] == "Wilson"
    neg = EPISODES.assign(discharge_date=["2025-01-01", None, None])
    with pytest.raises(InputError, match="before admission"):
        length_of_stay(neg)


def test_goal_attainment_excludes_pending():
    g = pd.DataFrame(
        {"episode_id": ["E1", "E1", "E1", "E2"], "status": ["met", "partial", "pending", "not_met"]}
    )
    out = goal_attainment(g).set_index("episode_id")
    assert out.loc["E1", "n_reviewed"] == 2 and out.loc["E1", "met_share"] == 0.5
    assert out.loc["E1", "met_or_partial_share"] == 1.0 and out.loc["E1", "n_pending"] == 1
    with pytest.raises(InputError, match="vocabulary"):
        goal_attainment(g.assign(status="done"))
    blank = goal_attainment(g.assign(status=["met", None, "met", "not_met"]))
    assert blank.set_index("episode_id").loc["E1", "n_no_status"] == 1


def test_measurement_completeness_schedule():
    sc = pd.DataFrame(
        {
            "episode_id": ["E1", "E1", "E1", "E2"],
            "scale": "phq9",
            "date": ["2025-01-06", "2025-01-14", "2025-02-05", "2025-01-07"],
        }
    )
    m = measurement_completeness(sc, EPISODES, scale="phq9", as_of="2025-02-06")
    m = m.set_index("episode_id")
    # E1: admission + weeks 1–4 + discharge = 6 points; done: admission, week 1, discharge
    assert m.loc["E1", "n_scheduled"] == 6 and m.loc["E1", "n_done"] == 3
    assert m.loc["E1", "completeness"] == pytest.approx(0.5)
    assert m.loc["E3", "n_done"] == 0
    adm_only = measurement_completeness(sc, EPISODES, scale="phq9", schedule=("admission",))
    assert adm_only.set_index("episode_id").loc["E2", "completeness"] == 1.0
    with pytest.raises(InputError, match="schedule"):
        measurement_completeness(sc, EPISODES, schedule=("monthly",))


def test_care_coordination():
    ev = pd.DataFrame(
        {
            "episode_id": ["E1", "E1", "E3"],
            "date": ["2025-02-01", "2025-01-10", "2025-01-25"],
            "kind": ["aftercare_appointment", "medication_review", "aftercare_appointment"],
        }
    )
    c = care_coordination(ev, EPISODES).set_index("episode_id")
    assert bool(c.loc["E1", "aftercare_before_discharge"])
    assert not bool(c.loc["E3", "aftercare_before_discharge"])  # booked after discharge
    assert pd.isna(c.loc["E2", "aftercare_before_discharge"])  # still active
    assert bool(c.loc["E1", "has_medication_review"]) and not c.loc["E1", "has_family_session"]


def _phq(eid, date, items):
    return {
        "episode_id": eid,
        "date": date,
        "scale": "phq9",
        **{f"item_{i + 1}": v for i, v in enumerate(items)},
    }


def _flag_data():
    eps = pd.DataFrame(
        {
            "episode_id": ["E1", "E2", "E3", "E4", "E5"],
            "admit_date": ["2025-01-06"] * 5,
            "discharge_date": [None, None, None, "2025-02-01", None],
        }
    )
    rows = [
        _phq("E1", "2025-01-06", [2] * 8 + [0]),
        _phq("E1", "2025-02-06", [3] * 8 + [1]),
        _phq("E2", "2025-01-06", [3] * 8 + [0]),
        _phq("E2", "2025-02-06", [1] * 8 + [np.nan]),
        _phq("E4", "2025-01-06", [3] * 9),
        {
            "episode_id": "E3",
            "date": "2025-01-07",
            "scale": "asq",
            "item_1": 0,
            "item_2": 1,
            "item_3": 0,
            "item_4": 0,
        },
        _phq("E5", "2025-01-06", [2] * 8 + [0]),
        _phq("E5", "2025-02-06", [1] * 8 + [0]),
    ]
    att = pd.DataFrame(
        {
            "episode_id": ["E1"] * 3 + ["E5"] * 3,
            "date": ["2025-02-03", "2025-02-04", "2025-02-05"] * 2,
            "status": [
                "present",
                "absent_unexcused",
                "absent_unexcused",
                "absent_unexcused",
                "absent_unexcused",
                "present",
            ],
        }
    )
    return pd.DataFrame(rows), eps, att


def test_mbc_flags_rules_and_sources():
    """Safety = PHQ-9 item 9 ≥ 1 (Simon 2013) or ASQ positive at the latest assessment;
    reliable worsening = PHQ-9 rise ≥ 6 (NHS TT); not on track [D]; outreach ≥ 2 trailing
    unexcused absences."""
    a, eps, att = _flag_data()
    f = mbc_flags(a, eps, att)
    assert set(f["episode_id"]) == {"E1", "E2", "E3", "E5"}  # active episodes only
    assert len(f) == 4 * 4  # every active episode × every flag
    v = f.set_index(["episode_id", "flag"])
    assert v.loc[("E1", "safety"), "raised"] and "Simon 2013" in v.loc[("E1", "safety"), "source"]
    assert v.loc[("E2", "safety"), "raised"]  # item 9 unanswered → review, not cleared
    assert "unknown" in v.loc[("E2", "safety"), "status"]
    assert v.loc[("E3", "safety"), "raised"] and "asq" in v.loc[("E3", "safety"), "rule"]
    assert not v.loc[("E5", "safety"), "raised"]
    assert v.loc[("E1", "reliable_worsening"), "raised"]
    assert v.loc[("E1", "not_on_track"), "raised"]
    assert not v.loc[("E5", "not_on_track"), "raised"]  # 16 → 8 is a 50 % reduction
    assert "[D]" in v.loc[("E5", "not_on_track"), "rule"]
    assert v.loc[("E1", "outreach"), "raised"]
    assert not v.loc[("E5", "outreach"), "raised"]  # the run did not continue to the end
    assert pd.isna(v.loc[("E3", "reliable_worsening"), "raised"])
    assert f.attrs["iopkit_table"] == "mbc_flags"


def test_safety_flag_cannot_be_switched_off():
    """No parameter of mbc_flags can hide the safety flag; tightening the other rules or
    passing an empty safety-scale list still reports every episode's safety row."""
    params = inspect.signature(mbc_flags).parameters
    assert not any(("hide" in p or "suppress" in p or p == "flags") for p in params)
    a, eps, att = _flag_data()
    f = mbc_flags(a, eps, att, safety_scales=(), week=99, absences=99)
    safety = f[f["flag"] == "safety"]
    assert len(safety) == 4
    assert safety["status"].eq("no safety screen on file").all()
    assert safety["raised"].eq(False).all()  # shown as "no screen", never dropped


def test_skill_exposure_and_association():
    eps = pd.DataFrame({"episode_id": [f"E{i}" for i in range(8)], "cohort_id": "C"})
    dates = pd.date_range("2025-01-06", periods=10)
    sess = pd.DataFrame(
        {
            "cohort_id": "C",
            "date": dates,
            "skill_id": ["cbt.cr.a", "dbt.m.b", "cbt.ba.c", "act.x", "dbt.dt.y"] * 2,
        }
    )
    att = pd.DataFrame(
        [
            (e, d, "present" if (i + j) % 3 else "absent_excused")
            for i, e in enumerate(eps["episode_id"])
            for j, d in enumerate(dates)
        ],
        columns=["episode_id", "date", "status"],
    )
    att = pd.concat(
        [
            att,
            pd.DataFrame(
                {"episode_id": ["E0"], "date": [pd.Timestamp("2025-03-01")], "status": ["present"]}
            ),
        ]
    )
    ex = skill_exposure(att, sess, eps)
    assert ex.attrs["attended_no_session"] == 1
    assert set(ex["modality"]) == {"cbt", "dbt", "act"}
    e0 = ex[ex["episode_id"] == "E0"]
    assert e0["n_attended"].sum() == int((att["episode_id"] == "E0").sum()) - 1 - 4
    w = exposure_by_episode(ex, eps)
    assert (w["n_sessions_attended"] == w[["n_act", "n_cbt", "n_dbt"]].sum(axis=1)).all()
    cat = pd.DataFrame(
        {
            "skill_id": ["cbt.cr.a", "dbt.m.b", "cbt.ba.c", "act.x", "dbt.dt.y"],
            "modality": ["CBT", "DBT", "CBT", "ACT", "DBT"],
        }
    )
    assert set(skill_exposure(att, sess, eps, catalog=cat)["modality"]) == {"CBT", "DBT", "ACT"}
    with pytest.raises(InputError, match="catalog"):
        skill_exposure(att, sess, eps, catalog=cat.iloc[:2])
    rng = np.random.default_rng(0)
    out = pd.DataFrame({"episode_id": eps["episode_id"], "baseline": rng.integers(10, 25, 8)})
    out["change"] = -0.8 * w["n_sessions_attended"].to_numpy() + rng.normal(0, 0.5, 8)
    d = exposure_descriptives(w, out, exposure="n_sessions_attended")
    assert d["n"].sum() == 8 and d.attrs["spearman_rho"] < 0
    m = exposure_association(w, out, predictors=["n_sessions_attended"]).set_index("term")
    assert m.loc["n_sessions_attended", "ci_low"] < -0.8 < m.loc["n_sessions_attended", "ci_high"]
    assert "not causal" in exposure_association(w, out, predictors=["n_cbt"]).attrs["variant"]
    with pytest.raises(InputError, match="same value"):
        exposure_association(w.assign(n_act=1), out, predictors=["n_act"])


def test_pipeline_with_scales_engine():
    """Assessments scored by iopkit.scales.score_assessments feed episode_outcomes (its
    ``total`` column) and mbc_flags (items and its ``safety_flag`` column)."""
    engine = pytest.importorskip("iopkit.scales.engine")
    if not hasattr(engine, "score_assessments"):
        pytest.skip("score_assessments not available")
    a, eps, _ = _flag_data()
    scored = engine.score_assessments(a)
    from iopkit.outcomes import episode_outcomes

    o = episode_outcomes(scored, eps, scale="phq9", cutoff=None).set_index("episode_id")
    assert o.loc["E1", "baseline"] == 16 and o.loc["E1", "endpoint"] == 25
    f = mbc_flags(scored, eps).set_index(["episode_id", "flag"])
    assert f.loc[("E1", "safety"), "raised"] and f.loc[("E3", "safety"), "raised"]
    assert not f.loc[("E5", "safety"), "raised"]


# --- safety_events: every positive safety answer, active and discharged ----------------------
def _phq9(eid: str, day: str, item9: float | None) -> dict:
    row = {"episode_id": eid, "date": day, "scale": "phq9"}
    row.update({f"item_{i}": 1 for i in range(1, 9)})
    row["item_9"] = item9
    return row


def test_safety_events_lists_every_positive_answer_of_discharged_episodes_too():
    from iopkit.outcomes.flags import SAFETY_EVENT_COLUMNS, safety_events

    days = ["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"]
    a = pd.DataFrame(
        [_phq9("E1", d, 1) for d in days]  # E1 is discharged
        + [_phq9("E2", "2025-01-06", 0), _phq9("E2", "2025-01-13", 3)]
        + [_phq9("E3", "2025-01-07", None)]  # unanswered: listed, never cleared
        + [{"episode_id": "E3", "date": "2025-01-08", "scale": "asq", "item_1": 1,
            "item_2": 0, "item_3": 0, "item_4": 0, "item_5": 0}]
    )
    ev = pd.DataFrame(
        {"episode_id": ["E1", "E1", "E2"], "date": ["2025-01-06", "2025-01-21", "2025-01-20"],
         "kind": ["safety_review", "safety_review", "safety_review"]}
    )
    out = safety_events(a, EPISODES, ev)
    assert list(out.columns) == list(SAFETY_EVENT_COLUMNS)
    e1 = out[out["episode_id"] == "E1"]
    assert list(e1["date"].dt.strftime("%Y-%m-%d")) == days
    assert set(e1["episode_status"]) == {"discharged"}
    assert list(e1["answer"]) == ["item 9 = 1"] * 4
    assert not e1["escalation"].any()
    # review same day and next day count (default 1 day); a week later does not
    assert list(e1["follow_up_missing"]) == [False, True, False, True]
    assert e1["follow_up"].iloc[1] == "follow-up not recorded"
    e2 = out[out["episode_id"] == "E2"]
    assert len(e2) == 1 and bool(e2["escalation"].iloc[0]) and e2["follow_up_missing"].all()
    e3 = out[out["episode_id"] == "E3"].set_index("scale")
    assert e3.at["phq9", "status"] == "unanswered — review"
    assert e3.at["asq", "status"] == "positive" and pd.isna(e3.at["asq", "escalation"])
    assert out.attrs["n_screened"] == len(a)
    # a longer interval finds the E2 review six days later; the period restricts by date
    wide = safety_events(a, EPISODES, ev, review_within_days=7)
    assert not wide.loc[wide["episode_id"] == "E2", "follow_up_missing"].any()
    jan = safety_events(a, EPISODES, ev, start="2025-01-10", end="2025-01-20")
    assert len(jan) == 3 and jan.attrs["n_screened"] == 3
    # no events table: every positive is "follow-up not recorded"
    assert safety_events(a, EPISODES)["follow_up_missing"].all()


def test_safety_events_has_no_parameter_that_hides_a_positive():
    from iopkit.outcomes.flags import safety_events

    params = set(inspect.signature(safety_events).parameters)
    assert params == {"assessments", "episodes", "events", "start", "end",
                      "review_within_days", "review_kinds", "item_prefix"}
    a = pd.DataFrame([_phq9("E2", "2025-01-06", 2)])
    for kw in ({"review_within_days": -1}, {"review_within_days": 1.5},
               {"review_kinds": ()}, {"review_kinds": ("safety_reviw",)}):
        with pytest.raises(InputError):
            safety_events(a, EPISODES, **kw)
    with pytest.raises(InputError, match="item_9"):
        safety_events(a.drop(columns="item_9"), EPISODES)
