"""Process measures: attendance, absences, length of stay, completion, goal attainment,
measurement completeness, care coordination.

All functions return one row per episode (plus summary helpers), keep every input episode,
and state their definitions in ``attrs["variant"]``. Status vocabularies follow the iopkit
data contracts (``../shared/design/architecture.md``); an unknown status raises
:class:`~iopkit.errors.InputError` naming the row and column — it is never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from iopkit.errors import InputError
from iopkit.outcomes._common import check_vocab, iso_dates, require_columns
from iopkit.outcomes.cohort import wilson_rate
from iopkit.vocab import ATTENDANCE_STATUS, ATTENDED, EVENT_KINDS, OCCASIONS

__all__ = [
    "ATTENDANCE_STATUSES",
    "GOAL_STATUSES",
    "attendance_summary",
    "length_of_stay",
    "completion_rate",
    "goal_attainment",
    "measurement_completeness",
    "care_coordination",
    "longest_run",
]

#: attendance.status vocabulary (iopkit.vocab, architecture.md "Data contracts").
ATTENDANCE_STATUSES = ATTENDANCE_STATUS
GOAL_STATUSES = ("met", "partial", "not_met", "pending")


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True values in a 1-D boolean array."""
    f = np.asarray(flags, dtype=bool)
    if not f.any():
        return 0
    padded = np.concatenate([[0], f.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def flag_runs(df: pd.DataFrame, id_col: str, flag: str) -> pd.DataFrame:
    """Longest and trailing run of ``flag`` per episode (each episode's rows together and in
    date order), indexed by episode in order of first appearance. A run is broken by a row
    without the flag or by the next episode; ``trailing`` is the run ending at the episode's
    last row (0 when that row has no flag). Rows without an episode id count for none."""
    f = df[flag].to_numpy(bool)
    ids = df[id_col].to_numpy()
    codes, uniques = pd.factorize(df[id_col], sort=False)
    new_episode = np.r_[True, ids[1:] != ids[:-1]] if len(ids) else np.zeros(0, bool)
    # run id increments whenever the flag turns on or the episode changes
    breaks = new_episode | ~f | np.r_[True, ~f[:-1]] if len(f) else np.zeros(0, bool)
    run_id = np.cumsum(breaks)
    run_len = np.where(f, np.bincount(run_id, weights=f).astype(np.int64)[run_id], 0)
    known = codes >= 0
    longest = np.zeros(len(uniques), dtype=np.int64)
    np.maximum.at(longest, codes[known], run_len[known])
    last = np.zeros(len(uniques), dtype=np.int64)
    np.maximum.at(last, codes[known], np.flatnonzero(known))
    trailing = np.where(f[last], run_len[last], 0).astype(np.int64)
    return pd.DataFrame({"longest": longest, "trailing": trailing},
                        index=pd.Index(uniques, name=id_col))


def attendance_summary(
    attendance: pd.DataFrame,
    episodes: pd.DataFrame | None = None,
    *,
    id_col: str = "episode_id",
    date_col: str = "date",
    status_col: str = "status",
    attended: Sequence[str] = ATTENDED,
) -> pd.DataFrame:
    """Per episode: counts by status, ``attendance_rate`` = attended days / scheduled days
    (attended = present or late; scheduled = every attendance row), ``longest_absence_run``
    (consecutive scheduled days absent, excused or not), ``longest_unexcused_run`` and
    ``trailing_unexcused_run`` (the run ending at the latest scheduled day).
    Episodes in ``episodes`` without attendance rows are kept with 0 scheduled days."""
    require_columns(attendance, [id_col, date_col, status_col], table="attendance")
    check_vocab(attendance, status_col, ATTENDANCE_STATUSES, "attendance")
    a = pd.DataFrame(
        {
            id_col: attendance[id_col].to_numpy(),
            "date": iso_dates(attendance, date_col, "attendance").to_numpy(),
            "status": attendance[status_col].to_numpy(),
        }
    )
    dup = a.duplicated([id_col, "date"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"attendance: episode {a[id_col].iloc[i]!r} has two rows for "
            f"{a['date'].iloc[i].date()}",
            row=i + 2,
            column=date_col,
            rule="one attendance row per episode and date",
        )
    a = a.sort_values([id_col, "date"], kind="stable").reset_index(drop=True)
    # rows by (episode, status): one bincount (check_vocab has refused any other status)
    statuses = list(ATTENDANCE_STATUSES)
    codes, episode_ids = pd.factorize(a[id_col], sort=True)
    status = pd.Categorical(a["status"], categories=statuses).codes
    n = np.bincount(codes * len(statuses) + status, minlength=len(episode_ids) * len(statuses))
    counts = pd.DataFrame(n.reshape(len(episode_ids), len(statuses)),
                          index=pd.Index(episode_ids, name=id_col),
                          columns=[f"n_{c}" for c in statuses])
    a["absent"] = a["status"].str.startswith("absent").to_numpy(bool)
    a["unexcused"] = (a["status"] == "absent_unexcused").to_numpy(bool)
    ab = flag_runs(a, id_col, "absent")
    un = flag_runs(a, id_col, "unexcused")
    out = counts.copy()
    out["n_scheduled"] = counts.sum(axis=1)
    out["n_attended"] = counts[[f"n_{c}" for c in statuses if c in set(attended)]].sum(axis=1)
    out["attendance_rate"] = out["n_attended"] / out["n_scheduled"]
    out["longest_absence_run"] = ab["longest"]
    out["longest_unexcused_run"] = un["longest"]
    out["trailing_unexcused_run"] = un["trailing"]
    out = out.rename_axis(id_col).reset_index()
    if episodes is not None:
        require_columns(episodes, [id_col], table="episodes")
        out = episodes[[id_col]].merge(out, on=id_col, how="left")
        int_cols = [c for c in out.columns if c.startswith(("n_", "longest", "trailing"))]
        out[int_cols] = out[int_cols].fillna(0).astype(int)
    out.attrs["variant"] = (
        f"attendance rate = days {'/'.join(attended)} / scheduled days "
        "(all attendance rows); runs count consecutive scheduled days"
    )
    return out


def length_of_stay(
    episodes: pd.DataFrame,
    *,
    id_col: str = "episode_id",
    admit_col: str = "admit_date",
    discharge_col: str = "discharge_date",
    type_col: str = "discharge_type",
) -> pd.DataFrame:
    """Length of stay (calendar days, discharge − admission) summarised by discharge type:
    ``n, mean, sd, median, q1, q3, min, max``; active episodes (no discharge date) are a row
    ``"active (no discharge)"`` with their n only. Negative stays raise InputError."""
    require_columns(episodes, [id_col, admit_col, discharge_col, type_col], table="episodes")
    adm = iso_dates(episodes, admit_col, "episodes")
    dis = iso_dates(episodes, discharge_col, "episodes")
    los = (dis - adm).dt.days
    neg = los < 0
    if neg.any():
        i = int(np.flatnonzero(neg.to_numpy())[0])
        raise InputError(
            "discharge date is before admission date",
            row=i + 2,
            column=discharge_col,
            rule="discharge_date ≥ admit_date",
        )
    t = episodes[type_col].astype(object).where(dis.notna(), "active (no discharge)")
    t = t.where(t.notna(), "discharged, type missing")
    g = pd.Series(los.to_numpy(float), index=episodes.index).groupby(t.to_numpy())
    out = (
        g.agg(
            n="size",
            mean="mean",
            sd="std",
            median="median",
            q1=lambda v: v.quantile(0.25),
            q3=lambda v: v.quantile(0.75),
            min="min",
            max="max",
        )
        .rename_axis(type_col)
        .reset_index()
    )
    out.attrs["variant"] = "length of stay = discharge_date − admit_date, calendar days"
    return out


def completion_rate(
    episodes: pd.DataFrame,
    *,
    type_col: str = "discharge_type",
    discharge_col: str = "discharge_date",
    completed_values: Sequence[str] = ("completed",),
    by: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of discharged episodes whose discharge type is in ``completed_values``, with a
    Wilson interval. Denominator: episodes with a discharge date (active ones excluded and
    counted in ``n_active``)."""
    require_columns(episodes, [type_col, discharge_col] + ([by] if by else []), table="episodes")
    dis = iso_dates(episodes, discharge_col, "episodes").notna().to_numpy()
    comp = episodes[type_col].isin(list(completed_values)).to_numpy() & dis
    key = episodes[by].to_numpy() if by else np.zeros(len(episodes), dtype=int)
    df = pd.DataFrame({"key": key, "dis": dis, "comp": comp})
    g = df.groupby("key", sort=True).agg(
        n_discharged=("dis", "sum"), n_completed=("comp", "sum"), n_episodes=("dis", "size")
    )
    g["n_active"] = g["n_episodes"] - g["n_discharged"]
    p, lo, hi = wilson_rate(g["n_completed"].to_numpy(), g["n_discharged"].to_numpy(), confidence)
    g["completion_rate"], g["ci_low"], g["ci_high"] = p, lo, hi
    g["ci_method"] = "Wilson"
    out = g.reset_index().rename(columns={"key": by}) if by else g.reset_index(drop=True)
    out.attrs["variant"] = f"completed = {type_col} in {list(completed_values)} among discharged"
    return out


def goal_attainment(
    goals: pd.DataFrame,
    *,
    id_col: str = "episode_id",
    status_col: str = "status",
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Goal attainment per episode (and optional extra keys such as ``horizon``): counts of
    met / partial / not_met / pending (and ``n_no_status`` for a blank status, which the data
    contract allows), with ``met_share`` and ``met_or_partial_share`` over **reviewed** goals
    (met + partial + not_met; pending and blank excluded from the denominator)."""
    require_columns(goals, [id_col, status_col, *by], table="goals")
    g = goals.assign(
        _status=goals[status_col].astype(object).where(goals[status_col].notna(), "no_status")
    )
    check_vocab(g, "_status", (*GOAL_STATUSES, "no_status"), "goals")
    keys = [id_col, *by]
    t = pd.crosstab([g[k] for k in keys], g["_status"]).reindex(
        columns=[*GOAL_STATUSES, "no_status"], fill_value=0
    )
    t.columns = [f"n_{c}" for c in t.columns]
    reviewed = t["n_met"] + t["n_partial"] + t["n_not_met"]
    t["n_reviewed"] = reviewed
    safe = reviewed.where(reviewed > 0, 1)
    t["met_share"] = np.where(reviewed > 0, t["n_met"] / safe, np.nan)
    t["met_or_partial_share"] = np.where(reviewed > 0, (t["n_met"] + t["n_partial"]) / safe, np.nan)
    out = t.reset_index()
    out.attrs["variant"] = "shares over reviewed goals (met + partial + not_met); pending excluded"
    return out


def measurement_completeness(
    scores: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    scale: str | None = None,
    schedule: Sequence[str] = OCCASIONS,
    window_days: int = 3,
    as_of: str | pd.Timestamp | None = None,
    id_col: str = "episode_id",
    date_col: str = "date",
    scale_col: str | None = "scale",
    admit_col: str = "admit_date",
    discharge_col: str = "discharge_date",
) -> pd.DataFrame:
    """Share of scheduled assessments that were done, per episode.

    Schedule points (a parameter): ``admission`` (admit date), ``weekly`` (admit + 7k days for
    k ≥ 1, before discharge or ``as_of`` for active episodes), ``discharge`` (discharge date,
    discharged episodes only). A point is done when an assessment of the scale is dated within
    ± ``window_days`` of it; one assessment can satisfy at most one point (nearest first).
    Returns ``n_scheduled, n_done, completeness`` per episode and per point type.
    """
    unknown = set(schedule) - set(OCCASIONS)
    if unknown:
        raise InputError(
            f"unknown schedule point(s) {sorted(unknown)}; use admission, weekly, discharge",
            rule="schedule vocabulary",
        )
    require_columns(
        scores, [id_col, date_col] + ([scale_col] if scale_col else []), table="assessments"
    )
    require_columns(episodes, [id_col, admit_col], table="episodes")
    s = scores if (scale is None or scale_col is None) else scores[scores[scale_col] == scale]
    adm = iso_dates(episodes, admit_col, "episodes")
    dis = (
        iso_dates(episodes, discharge_col, "episodes")
        if discharge_col in episodes.columns
        else pd.Series(pd.NaT, index=episodes.index)
    )
    if as_of is None:
        ref = pd.to_datetime(s[date_col]).max() if len(s) else adm.max()
        as_of_ts = ref
    else:
        as_of_ts = pd.Timestamp(as_of)
    end = dis.fillna(as_of_ts)
    pts = []
    ids = episodes[id_col].to_numpy()
    if "admission" in schedule:
        pts.append(pd.DataFrame({id_col: ids, "point": "admission", "due": adm.to_numpy()}))
    if "weekly" in schedule:
        n_weeks = np.maximum(((end - adm).dt.days.fillna(0).to_numpy() - 1) // 7, 0).astype(int)
        rep = np.repeat(np.arange(len(ids)), n_weeks)
        k = (
            np.concatenate([np.arange(1, n + 1) for n in n_weeks])
            if n_weeks.sum()
            else np.array([], dtype=int)
        )
        pts.append(
            pd.DataFrame(
                {
                    id_col: ids[rep],
                    "point": "weekly",
                    "due": adm.to_numpy()[rep] + pd.to_timedelta(k * 7, unit="D"),
                }
            )
        )
    if "discharge" in schedule:
        has = dis.notna().to_numpy()
        pts.append(
            pd.DataFrame({id_col: ids[has], "point": "discharge", "due": dis.to_numpy()[has]})
        )
    p = pd.concat(pts, ignore_index=True)
    a = pd.DataFrame(
        {id_col: s[id_col].to_numpy(), "adate": iso_dates(s, date_col, "assessments").to_numpy()}
    ).dropna()
    a = a.drop_duplicates()
    m = p.reset_index(names="pid").merge(a.reset_index(names="aid"), on=id_col, how="inner")
    m["gap"] = (m["adate"] - m["due"]).dt.days.abs()
    m = m[m["gap"] <= window_days].sort_values(["gap", "pid", "aid"])
    # greedy one-to-one matching: nearest pairs first
    used_p: set[int] = set()
    used_a: set[int] = set()
    done = np.zeros(len(p), dtype=bool)
    for pid, aid in zip(m["pid"].to_numpy(), m["aid"].to_numpy(), strict=True):
        if pid in used_p or aid in used_a:
            continue
        used_p.add(pid)
        used_a.add(aid)
        done[pid] = True
    p["done"] = done
    per = p.groupby([id_col, "point"]).agg(n_scheduled=("done", "size"), n_done=("done", "sum"))
    wide = per.unstack("point").fillna(0).astype(int)
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    tot = p.groupby(id_col).agg(n_scheduled=("done", "size"), n_done=("done", "sum"))
    out = episodes[[id_col]].merge(tot.join(wide), left_on=id_col, right_index=True, how="left")
    num = [c for c in out.columns if c != id_col]
    out[num] = out[num].fillna(0).astype(int)
    out["completeness"] = np.where(
        out["n_scheduled"] > 0,
        out["n_done"] / out["n_scheduled"].where(out["n_scheduled"] > 0, 1),
        np.nan,
    )
    out.attrs["variant"] = (
        f"scheduled = {', '.join(schedule)}; done = assessment within "
        f"±{window_days} days, one assessment per point; as of {as_of_ts}"
    )
    return out


def care_coordination(
    events: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    id_col: str = "episode_id",
    date_col: str = "date",
    kind_col: str = "kind",
    discharge_col: str = "discharge_date",
    kinds: Sequence[str] = (
        "medication_review",
        "family_session",
        "case_management",
        "safety_review",
        "step_up",
    ),
) -> pd.DataFrame:
    """Per episode: ``aftercare_before_discharge`` (an ``aftercare_appointment`` event dated on
    or before the discharge date; ``<NA>`` for active episodes), and ``has_<kind>`` / ``n_<kind>``
    for each of ``kinds`` (e.g. medication review, family session)."""
    require_columns(events, [id_col, date_col, kind_col], table="events")
    require_columns(episodes, [id_col], table="episodes")
    check_vocab(events, kind_col, EVENT_KINDS, "events")
    ev = pd.DataFrame(
        {
            id_col: events[id_col].to_numpy(),
            "date": iso_dates(events, date_col, "events").to_numpy(),
            "kind": events[kind_col].to_numpy(),
        }
    )
    dis = (
        iso_dates(episodes, discharge_col, "episodes")
        if discharge_col in episodes.columns
        else pd.Series(pd.NaT, index=episodes.index)
    )
    ep = pd.DataFrame({id_col: episodes[id_col].to_numpy(), "_dis": dis.to_numpy()})
    after = ev[ev["kind"] == "aftercare_appointment"].merge(ep, on=id_col, how="inner")
    ok_ids = set(after.loc[after["date"] <= after["_dis"], id_col])
    out = ep[[id_col]].copy()
    flag = pd.array(out[id_col].isin(ok_ids).to_numpy(), dtype="boolean")
    flag[ep["_dis"].isna().to_numpy()] = pd.NA
    out["aftercare_before_discharge"] = flag
    counts = pd.crosstab(ev[id_col], ev["kind"])
    for k in kinds:
        n = out[id_col].map(counts[k] if k in counts.columns else {}).fillna(0).astype(int)
        out[f"n_{k}"] = n
        out[f"has_{k}"] = n > 0
    out.attrs["variant"] = (
        "aftercare_before_discharge = aftercare_appointment dated ≤ discharge "
        "date (active episodes <NA>); has_<kind> = any event of that kind"
    )
    return out
