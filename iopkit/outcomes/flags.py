"""Measurement-based-care flags for active episodes: one row per (episode, flag).

Flags (each row names its ``rule`` and ``source``):

* ``safety`` — PHQ-9 item 9 ≥ 1 (Simon 2013; escalate at ≥ 2) at the latest PHQ-9, or an ASQ
  positive screen (yes to any of items 1–4, NIMH ASQ) at the latest ASQ. **Never suppressed
  and not optional**: no argument removes it, every active episode gets a safety row, and an
  unanswered item 9 / ASQ item at the latest assessment raises the flag as
  ``"unknown — review"`` instead of clearing it. These per-episode rows are for clinical
  follow-up and must not go through :func:`iopkit.outcomes.suppress` (which refuses them).
* ``reliable_worsening`` — latest total minus baseline ≥ the reliable-change points
  (registry; PHQ-9 6, NHS Talking Therapies), or a JT RCI when ``reliability`` is given.
* ``not_on_track`` — configurable early non-response rule [D]: by ``week`` (default 4)
  the reduction from baseline is < ``min_reduction`` (default 20 %).
* ``outreach`` — ≥ ``absences`` (default 2) consecutive unexcused absences ending at the
  latest scheduled day.

:func:`safety_events` is the other view of safety: every positive (or unanswered) safety
answer of every assessment in a period, for active and discharged episodes alike, with the
follow-up recorded in the ``events`` table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from iopkit.errors import InputError
from iopkit.outcomes._common import check_vocab, iso_dates, require_columns, scale_facts
from iopkit.outcomes.change import z_critical
from iopkit.outcomes.expected import fixed_rule
from iopkit.outcomes.process import flag_runs
from iopkit.scales import get_scale
from iopkit.scales.engine import safety_check, safety_screen
from iopkit.vocab import ATTENDANCE_STATUS, EVENT_KINDS

__all__ = [
    "mbc_flags",
    "FLAG_KINDS",
    "safety_events",
    "REVIEW_KINDS",
    "REVIEW_WITHIN_DAYS",
    "SAFETY_EVENT_COLUMNS",
]

FLAG_KINDS = ("safety", "reliable_worsening", "not_on_track", "outreach")


def mbc_flags(
    assessments: pd.DataFrame,
    episodes: pd.DataFrame,
    attendance: pd.DataFrame | None = None,
    *,
    outcome_scale: str = "phq9",
    total_col: str = "total",
    id_col: str = "episode_id",
    date_col: str = "date",
    scale_col: str = "scale",
    item_prefix: str = "item_",
    admit_col: str = "admit_date",
    discharge_col: str = "discharge_date",
    safety_scales: Sequence[str] = ("phq9", "asq"),
    safety_flag_col: str = "safety_flag",
    baseline_window: tuple[int, int] = (-7, 7),
    worsening_points: float | None = None,
    reliability: float | None = None,
    sd: float | None = None,
    week: int = 4,
    min_reduction: float = 0.20,
    absences: int = 2,
    status_col: str = "status",
) -> pd.DataFrame:
    """Flags per active episode (no discharge date): long rows
    ``episode_id, flag, raised, status, value, date, rule, source``.

    ``assessments``: one row per assessment with ``scale``, ``date``, item columns
    (``item_1`` …) and, for ``outcome_scale``, a total (``total_col``; computed as the item sum
    when the column is absent). ``raised`` is True/False, or True with status
    ``"unknown — review"`` when the safety items of the latest assessment are missing.
    A ``safety_flag_col`` column (as added by ``iopkit.scales.score_assessments``) is honoured
    too: true at the latest assessment of any scale raises the flag.
    Rows for every (active episode × flag) are returned, so nothing is silently absent;
    a flag that cannot be evaluated has ``raised`` <NA> and a status saying why.
    """
    require_columns(assessments, [id_col, date_col, scale_col], table="assessments")
    require_columns(episodes, [id_col, admit_col], table="episodes")
    dis = (
        iso_dates(episodes, discharge_col, "episodes")
        if discharge_col in episodes.columns
        else pd.Series(pd.NaT, index=episodes.index)
    )
    active = episodes.loc[dis.isna().to_numpy(), [id_col, admit_col]].copy()
    active[admit_col] = iso_dates(active, admit_col, "episodes")
    ids = active[id_col].to_numpy()
    a = assessments[assessments[id_col].isin(ids)].copy()
    a["_date"] = iso_dates(a, date_col, "assessments")
    a = a.sort_values([id_col, "_date"], kind="stable")
    rows: list[dict] = []

    def add(eid, flag, raised, status, value, date, rule, source):
        rows.append(
            {
                id_col: eid,
                "flag": flag,
                "raised": raised,
                "status": status,
                "value": value,
                "date": date,
                "rule": rule,
                "source": source,
            }
        )

    # --- safety: latest assessment of each safety scale ---------------------------------
    safety: dict[str, dict] = {
        eid: {
            "raised": False,
            "status": "no safety screen on file",
            "value": None,
            "date": pd.NaT,
            "rules": [],
            "src": [],
        }
        for eid in ids
    }
    for sid in safety_scales:
        sc = get_scale(sid)
        check = safety_check(sc)
        if check is None:
            raise InputError(
                f"{sid} has no safety item or safety rule in the scale registry",
                rule="safety scale",
            )
        sub = a[a[scale_col] == sid]
        if sub.empty:
            continue
        latest = sub.groupby(id_col, sort=False).tail(1)
        screen = safety_screen(latest, sc, item_prefix=item_prefix)
        cols = [f"{item_prefix}{i}" for i in check.items]
        vals = latest[cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        rule = f"{check.text} at the latest {sid}"
        for eid, p, u, v, d in zip(
            latest[id_col],
            screen["positive"].to_numpy(),
            screen["unknown"].to_numpy(),
            vals,
            latest["_date"],
            strict=True,
        ):
            s = safety[eid]
            s["rules"].append(rule)
            s["src"].append(check.source)
            if p:
                s["raised"], s["status"] = True, "positive"
                s["value"] = f"{sid}: " + ", ".join(
                    f"item {i}={'' if np.isnan(x) else int(x)}"
                    for i, x in zip(check.items, v, strict=True)
                )
                s["date"] = d
            elif u and s["status"] != "positive":
                s["raised"], s["status"] = True, "unknown — review (safety item missing)"
                s["value"], s["date"] = f"{sid}: safety item missing", d
            elif s["status"] == "no safety screen on file":
                s["status"], s["date"] = "negative", d
    if safety_flag_col in a.columns:
        # scorer output (iopkit.scales.score_assessments): any critical item or safety rule
        latest_any = a.groupby([id_col, scale_col], sort=False).tail(1)
        hit = latest_any[latest_any[safety_flag_col].astype("boolean").fillna(False)]
        for eid, sid, d in zip(hit[id_col], hit[scale_col], hit["_date"], strict=True):
            s = safety[eid]
            s["rules"].append(f"{safety_flag_col} true at the latest {sid}")
            s["src"].append("iopkit.scales registry critical items / safety rules")
            if s["status"] != "positive":
                s["raised"], s["status"] = True, "positive"
                s["value"], s["date"] = f"{sid}: {safety_flag_col}", d
    for eid in ids:
        s = safety[eid]
        add(
            eid,
            "safety",
            s["raised"],
            s["status"],
            s["value"],
            s["date"],
            "; ".join(s["rules"]) or "PHQ-9 item 9 ≥ 1 or ASQ positive at the latest assessment",
            "; ".join(dict.fromkeys(s["src"])) or "Simon 2013; NIMH ASQ",
        )
    # --- outcome-scale trajectory: worsening and not on track -----------------------------
    facts = scale_facts(
        outcome_scale, reliable_change_points=worsening_points, reliability=reliability
    )
    sub = a[a[scale_col] == outcome_scale].copy()
    if total_col in sub.columns:
        sub["_total"] = pd.to_numeric(sub[total_col], errors="coerce")
    else:
        item_cols = [c for c in sub.columns if str(c).startswith(item_prefix)]
        sub["_total"] = (
            sub[item_cols]
            .apply(pd.to_numeric, errors="coerce")
            .sum(axis=1, min_count=len(item_cols))
        )
    sub = sub[sub["_total"].notna()].merge(active, on=id_col, how="left")
    sub["_days"] = (sub["_date"] - sub[admit_col]).dt.days
    lo, hi = baseline_window
    base = sub[(sub["_days"] >= lo) & (sub["_days"] <= hi)].groupby(id_col).first()
    last = sub.groupby(id_col).last()
    d = -1 if facts.lower_is_better else 1
    if reliability is not None:
        if sd is None:
            raise InputError(
                "reliable worsening by RCI needs sd= (e.g. the clinical-norm SD)",
                rule="RCI needs an SD",
            )
        sdiff = np.sqrt(2) * sd * np.sqrt(1 - reliability)
        z = z_critical(0.95)
        wrule = f"JT RCI of latest vs baseline < −{z:.6f} (r = {reliability}, SD = {sd})"
        wsrc = "Jacobson & Truax 1991"
    else:
        pts = facts.need("reliable_change_points")
        wrule = f"latest − baseline worse by ≥ {pts:g} points"
        wsrc = f"{facts.source}: reliable change points"
    nrule = (
        f"configurable early non-response [D]: at week ≥ {week}, reduction from baseline "
        f"< {min_reduction:.0%}"
    )
    for eid in ids:
        if eid not in base.index:
            add(
                eid,
                "reliable_worsening",
                pd.NA,
                f"no baseline {outcome_scale}",
                None,
                pd.NaT,
                wrule,
                wsrc,
            )
            add(
                eid,
                "not_on_track",
                pd.NA,
                f"no baseline {outcome_scale}",
                None,
                pd.NaT,
                nrule,
                "iopkit default [D]",
            )
            continue
        b, bd = float(base.at[eid, "_total"]), base.at[eid, "_date"]
        lt, ld = float(last.at[eid, "_total"]), last.at[eid, "_date"]
        if ld <= bd:
            add(
                eid,
                "reliable_worsening",
                pd.NA,
                "no assessment after baseline",
                None,
                pd.NaT,
                wrule,
                wsrc,
            )
        else:
            worse = d * (lt - b)  # negative when worse
            raised = (worse / sdiff < -z) if reliability is not None else (-worse >= pts)
            add(
                eid,
                "reliable_worsening",
                bool(raised),
                "evaluated",
                f"baseline {b:g} → latest {lt:g}",
                ld,
                wrule,
                wsrc,
            )
        weeks_in = (ld - active.set_index(id_col).at[eid, admit_col]).days / 7
        flag, due, red = fixed_rule(
            [b], [lt], [weeks_in], lower_is_better=bool(facts.lower_is_better), week=week,
            min_reduction=min_reduction,
        )  # fmt: skip
        if not due[0]:
            status, value = f"not yet due (week {weeks_in:.1f} < {week})", None
        elif b == 0:
            status, value = "baseline 0: reduction undefined", None
        else:
            status, value = "evaluated", f"reduction {red[0]:.0%} by week {weeks_in:.1f}"
        raised = pd.NA if pd.isna(flag[0]) else bool(flag[0])
        add(eid, "not_on_track", raised, status, value, ld, nrule, "iopkit default [D]")
    # --- outreach -----------------------------------------------------------------------
    orule = f"≥ {absences} consecutive unexcused absences ending at the latest scheduled day"
    if attendance is None:
        for eid in ids:
            add(
                eid,
                "outreach",
                pd.NA,
                "no attendance table given",
                None,
                pd.NaT,
                orule,
                "iopkit default [D]",
            )
    else:
        require_columns(attendance, [id_col, date_col, status_col], table="attendance")
        check_vocab(attendance, status_col, ATTENDANCE_STATUS, "attendance")
        at = attendance[attendance[id_col].isin(ids)].copy()
        at["_date"] = iso_dates(at, date_col, "attendance")
        at = at.sort_values([id_col, "_date"], kind="stable").reset_index(drop=True)
        at["unexcused"] = (at[status_col] == "absent_unexcused").to_numpy(bool)
        runs = (
            flag_runs(at, id_col, "unexcused")
            if len(at)
            else pd.DataFrame(columns=["longest", "trailing"])
        )
        last_day = at.groupby(id_col)["_date"].max() if len(at) else pd.Series(dtype=object)
        for eid in ids:
            if eid not in runs.index:
                add(
                    eid,
                    "outreach",
                    pd.NA,
                    "no attendance rows",
                    None,
                    pd.NaT,
                    orule,
                    "iopkit default [D]",
                )
                continue
            tr = int(runs.at[eid, "trailing"])
            add(
                eid,
                "outreach",
                tr >= absences,
                "evaluated",
                f"{tr} consecutive unexcused absence(s) at the latest day",
                last_day[eid],
                orule,
                "iopkit default [D]",
            )
    out = pd.DataFrame(
        rows, columns=[id_col, "flag", "raised", "status", "value", "date", "rule", "source"]
    )
    out["raised"] = out["raised"].astype("boolean")
    order = {eid: i for i, eid in enumerate(ids)}
    out = out.sort_values(
        [id_col, "flag"],
        key=lambda c: (
            c.map(order) if c.name == id_col else c.map({k: i for i, k in enumerate(FLAG_KINDS)})
        ),
        kind="stable",
    ).reset_index(drop=True)
    out.attrs.update(
        iopkit_table="mbc_flags",
        note="per-episode safety rows: never suppress, never aggregate away",
    )
    return out


#: ``events.kind`` values that count as the follow-up of a positive safety answer
#: (iopkit.vocab.EVENT_KINDS; a documented safety review) [D].
REVIEW_KINDS: tuple[str, ...] = ("safety_review",)
#: Days after a positive answer within which the safety review must be recorded (0 = same
#: day; default 1 = same or next day) [D]: iopkit's choice, configurable per report.
REVIEW_WITHIN_DAYS = 1

#: Columns of :func:`safety_events`.
SAFETY_EVENT_COLUMNS = (
    "episode_id", "cohort_id", "episode_status", "date", "scale", "answer", "status",
    "escalation", "follow_up", "follow_up_date", "follow_up_missing", "rule", "source",
)


def safety_events(
    assessments: pd.DataFrame,
    episodes: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    review_within_days: int = REVIEW_WITHIN_DAYS,
    review_kinds: Sequence[str] = REVIEW_KINDS,
    item_prefix: str = "item_",
) -> pd.DataFrame:
    """Every positive safety answer in the period: one row per (assessment, scale).

    Every scale of ``assessments`` whose registry file has a safety item or rule is screened
    with :func:`iopkit.scales.engine.safety_screen` (PHQ-9 item 9 ≥ 1, Simon et al. 2013,
    doi 10.1176/appi.ps.201200587; ASQ yes to any of items 1–4, NIMH ASQ toolkit 2017) — at
    every assessment of every episode in ``episodes``, active or discharged, not only the
    latest. A row with a safety item unanswered is listed too (``status`` "unanswered —
    review"): a missing answer never clears the flag. No parameter removes a positive:
    ``start``/``end`` (inclusive ISO dates, None = open) only state the period.

    Columns :data:`SAFETY_EVENT_COLUMNS`: ``answer`` ("item 9 = 1"), ``escalation``
    (a critical item at or above its registry ``escalate_at``, PHQ-9 item 9 ≥ 2; <NA> for a
    rule without an escalation level), ``follow_up`` ("safety review recorded YYYY-MM-DD" or
    "follow-up not recorded") from ``events`` rows of ``review_kinds`` dated from the answer's
    day to ``review_within_days`` days after it; ``follow_up_missing`` is itself a flag.
    ``attrs["n_screened"]``: assessments of a safety scale screened in the period.
    """
    require_columns(assessments, ["episode_id", "date", "scale"], table="assessments")
    require_columns(episodes, ["episode_id"], table="episodes")
    if isinstance(review_within_days, bool) or not isinstance(review_within_days, int | np.integer):
        raise InputError(
            f"review_within_days must be a whole number of days, got {review_within_days!r}",
            rule="review interval",
        )
    if review_within_days < 0:
        raise InputError(
            f"review_within_days must be 0 or more, got {review_within_days}",
            rule="review interval",
        )
    unknown_kinds = [k for k in review_kinds if k not in EVENT_KINDS]
    if unknown_kinds or not review_kinds:
        raise InputError(
            f"review_kinds {list(review_kinds)!r}: each must be one of {', '.join(EVENT_KINDS)}",
            rule="events.kind vocabulary",
        )
    lo = pd.Timestamp(start) if start is not None and str(start) != "" else None
    hi = pd.Timestamp(end) if end is not None and str(end) != "" else None
    if lo is not None and hi is not None and lo > hi:
        raise InputError(f"start {start} is after end {end}", rule="period")
    eps = episodes.drop_duplicates("episode_id").set_index("episode_id")
    discharged = (
        iso_dates(eps, "discharge_date", "episodes").notna()
        if "discharge_date" in eps.columns
        else pd.Series(False, index=eps.index)
    )
    known = assessments["episode_id"].isin(eps.index).to_numpy()
    dates = iso_dates(assessments.loc[known, ["date"]], "date", "assessments")
    keep = np.ones(len(dates), dtype=bool)
    if lo is not None:
        keep &= (dates >= lo).to_numpy()
    if hi is not None:
        keep &= (dates <= hi).to_numpy()
    # only the columns the screen reads (the items of the safety scales): a wide assessments
    # table is filtered and iterated once per scale, so every other column would be copied
    checks = {}
    for sid in assessments.loc[known, "scale"].dropna().astype(str).unique():
        sc = get_scale(sid)
        if safety_check(sc) is not None:
            checks[sid] = sc
    items = {f"{item_prefix}{i}" for sc in checks.values() for i in range(1, sc.items.count + 1)}
    cols = ["episode_id", "scale", *(c for c in assessments.columns if c in items)]
    a = assessments.loc[known, cols][keep]
    a["_date"] = dates[keep].to_numpy()
    ev = None
    if events is not None and len(events):
        require_columns(events, ["episode_id", "date", "kind"], table="events")
        ev = events[events["kind"].isin(list(review_kinds))].copy()
        ev["_date"] = iso_dates(ev, "date", "events")
        ev = ev.sort_values("_date", kind="stable")
    # review dates per episode, in date order: the first on or after an answer's day is the
    # earliest review of it (one sorted lookup per answer, not a scan of every event); the
    # positions of each episode's events are ascending, so in date order (``ev`` is sorted)
    ev_dates = None if ev is None else ev["_date"].to_numpy(dtype="datetime64[ns]")
    ev_rows: dict[Any, np.ndarray] = (
        {} if ev is None else ev.groupby("episode_id", sort=False).indices
    )
    window = np.timedelta64(int(review_within_days), "D")
    kinds_text = " or ".join(k.replace("_", " ") for k in review_kinds)
    rows: list[dict] = []
    n_screened = 0
    for sid in a["scale"].dropna().astype(str).unique():
        if sid not in checks:
            continue
        sc = checks[sid]
        check = safety_check(sc)
        sub = a[a["scale"] == sid]
        n_screened += len(sub)
        screen = safety_screen(sub, sc, item_prefix=item_prefix)
        hit = screen["positive"] | screen["unknown"]
        sub, screen = sub[hit.to_numpy()], screen[hit.to_numpy()]
        cols = [f"{item_prefix}{i}" for i in check.items]
        vals = sub[cols].apply(pd.to_numeric, errors="coerce")
        for eid, day, pos, escalation, v in zip(
            sub["episode_id"].to_numpy(),
            sub["_date"].tolist(),
            screen["positive"].to_numpy(),
            screen["escalated"].astype(object).to_numpy(),
            vals.to_numpy(dtype=object),
            strict=True,
        ):
            answer = ", ".join(
                f"item {i} = {'unanswered' if pd.isna(x) else int(x)}"
                for i, x in zip(check.items, v, strict=True)
            )
            review = None
            rows_of = ev_rows.get(eid)
            dates_of = None if rows_of is None else ev_dates[rows_of]
            if dates_of is not None and not pd.isna(day):
                at = np.datetime64(day, "ns")
                j = int(np.searchsorted(dates_of, at, side="left"))
                if j < len(dates_of) and dates_of[j] <= at + window:
                    review = pd.Timestamp(dates_of[j])
            rows.append(
                {
                    "episode_id": eid,
                    "cohort_id": eps.at[eid, "cohort_id"] if "cohort_id" in eps.columns else None,
                    "episode_status": "discharged" if discharged[eid] else "active",
                    "date": day,
                    "scale": sid,
                    "answer": answer,
                    "status": "positive" if pos else "unanswered — review",
                    "escalation": escalation,
                    "follow_up": (
                        f"{kinds_text} recorded {review:%Y-%m-%d}"
                        if review is not None
                        else "follow-up not recorded"
                    ),
                    "follow_up_date": review,
                    "follow_up_missing": review is None,
                    "rule": check.text,
                    "source": check.source,
                }
            )
    out = pd.DataFrame(rows, columns=list(SAFETY_EVENT_COLUMNS))
    out["escalation"] = out["escalation"].astype("boolean")
    out["follow_up_missing"] = out["follow_up_missing"].astype(bool)
    out["date"] = pd.to_datetime(out["date"])
    out["follow_up_date"] = pd.to_datetime(out["follow_up_date"])
    out = out.sort_values(["date", "episode_id", "scale"], kind="stable").reset_index(drop=True)
    out.attrs.update(
        iopkit_table="safety_events",
        n_screened=int(n_screened),
        review_within_days=review_within_days,
        review_kinds=tuple(review_kinds),
        note="per-assessment safety rows: never suppress, never aggregate away",
    )
    return out
