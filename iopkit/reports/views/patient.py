"""Views of one episode for the patient progress report (issue 12 §6).

Item-level PHQ-9 with the item-9 history, attendance, where the stay stands (week X of
planned Y, next measurement due per the program's measurement schedule), care events and the
goals without duplicates. Scores come from :func:`iopkit.scales.engine.score_assessments`
(``ReportData.scores``), attendance counts from :func:`iopkit.outcomes.attendance_summary`;
these functions only select and arrange.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from iopkit.reports.views.source import ReportData

#: PHQ-9 item wording, abridged (Kroenke, Spitzer & Williams 2001, J Gen Intern Med
#: 16(9):606–613, doi:10.1046/j.1525-1497.2001.016009606.x; item 9 = thoughts that you would
#: be better off dead or of hurting yourself).
PHQ9_ITEMS = {
    "item_1": "1 interest", "item_2": "2 low mood", "item_3": "3 sleep", "item_4": "4 energy",
    "item_5": "5 appetite", "item_6": "6 self-worth", "item_7": "7 concentration",
    "item_8": "8 slowed / restless", "item_9": "9 self-harm thoughts",
}


def phq9_items(data: ReportData, episode_id: str) -> pd.DataFrame:
    """Every PHQ-9 of the episode by date: the nine item answers (0–3), total, band and
    whether item 9 is positive (≥ 1, the scale engine's ``safety_flag``)."""
    s = data.scores
    mine = s[(s["episode_id"] == episode_id) & (s["scale"] == "phq9")].sort_values("date")
    out = mine[["date", *PHQ9_ITEMS, "total", "band"]].rename(columns=PHQ9_ITEMS)
    for col in PHQ9_ITEMS.values():
        out[col] = pd.array(pd.to_numeric(out[col], errors="coerce").round(), dtype="Int64")
    out["total"] = pd.array(pd.to_numeric(out["total"], errors="coerce").round(), dtype="Int64")
    out["item 9 positive"] = (
        mine["safety_flag"].astype("boolean") if "safety_flag" in mine else pd.NA
    )
    return out.reset_index(drop=True)


def attendance_table(data: ReportData, episode_id: str) -> pd.DataFrame:
    """The episode's scheduled days by attendance status, with the share of each."""
    att = data["attendance"]
    mine = att[att["episode_id"] == episode_id]
    counts = mine["status"].value_counts()
    out = pd.DataFrame({"status": [str(s).replace("_", " ") for s in counts.index],
                        "days": counts.to_numpy().astype(int)})
    out["% of scheduled days"] = (100 * out["days"] / max(len(mine), 1)).round(1)
    out.attrs["n_scheduled"] = len(mine)
    return out


def stay_progress(
    data: ReportData, episode: dict[str, Any], curriculum: Any, as_of: dt.date | None
) -> str:
    """One sentence: week X of planned Y (as of the discharge date or the data's as-of
    date) and the next measurement due (the last weekly scale of the program's
    ``measurement.weekly`` + 7 days; at discharge the discharge scales)."""
    admit = pd.Timestamp(episode["admit_date"])
    end = pd.Timestamp(episode["discharge_date"] or as_of or admit)
    week = int((end - admit).days // 7) + 1
    planned = episode.get("planned_weeks")
    plan = f" of planned {int(planned)}" if planned is not None and pd.notna(planned) else ""
    text = f"Week {week}{plan}"
    schedule = curriculum.program(episode["program_id"]).measurement
    if not episode["active"]:
        return f"{text} (discharged {episode['discharge_date']}); no further measurement due."
    s = data.scores
    weekly = s[(s["episode_id"] == episode["episode_id"]) & s["scale"].isin(schedule.weekly)]
    last = weekly["date"].max() if len(weekly) else admit
    due = (pd.Timestamp(last) + pd.Timedelta(days=7)).date()
    names = ", ".join(schedule.weekly) or "none"
    overdue = " — overdue" if as_of is not None and due < as_of else ""
    return (f"{text} as of {end.date()}; next weekly measurement ({names}) due "
            f"{due}{overdue}; at discharge: {', '.join(schedule.discharge)}.")


def care_events(data: ReportData, episode_id: str) -> pd.DataFrame:
    """The episode's care events (reviews, appointments, contacts) by date, notes as
    recorded (free text was redacted at loading: :func:`iopkit.privacy.redact_text`)."""
    ev = data["events"]
    mine = ev[ev["episode_id"] == episode_id].sort_values("date")
    out = mine[["date", "kind", "note"]].rename(columns={"kind": "event"})
    out["event"] = out["event"].astype(str).str.replace("_", " ")
    return out.reset_index(drop=True)


def episode_goals(data: ReportData, episode_id: str) -> pd.DataFrame:
    """The episode's goals, each once: one row per horizon and goal text (a goal set again
    in a later week, or twice the same week, is the same goal), with the first and last
    date it was set, how many times, and its latest status."""
    g = data["goals"]
    mine = g[g["episode_id"] == episode_id].sort_values(["set_date", "goal_no"])
    if mine.empty:
        return pd.DataFrame(columns=["horizon", "goal", "first set", "last set", "times set",
                                     "latest status"])
    grouped = mine.groupby(["horizon", "goal"], sort=False)
    out = grouped.agg(**{
        "first set": ("set_date", "min"), "last set": ("set_date", "max"),
        "times set": ("set_date", "size"), "latest status": ("status", "last"),
    }).reset_index()
    out["latest status"] = out["latest status"].astype(str).str.replace("_", " ")
    out.attrs["n_rows"] = len(mine)
    return out.sort_values(["first set", "horizon"]).reset_index(drop=True)
