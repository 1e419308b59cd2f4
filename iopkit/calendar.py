"""Dated sessions from a rotation: closures, timed agendas, per-patient view, exports.

:func:`date_rotation` is pure: it walks the calendar from a start date over a horizon,
on the program's weekdays, and hands each open day the next slot of the repeating
rotation. **A closure pauses the rotation**: a closed day (public holiday from the
``holidays`` package, or a listed date) is skipped and the rotation continues with the next
slot on the next open program day — the slot the closed day would have held is taught
then, so every patient still meets the planned sequence of sessions. With the default
policy of :func:`build_calendar` (``"realign"``) the calendar then drops the next
*elective* slot to bring later sessions back onto their planned weekdays (facilitator days
and fixed placements); with ``"pause"`` nothing is dropped and every later slot moves to
another weekday (flagged ``moved``; ``conflict`` names a moved session that lands on a day
without a trained facilitator or off a fixed day). ``"skip"`` drops the closed day's slot.

:func:`build_calendar` adds skill titles and each day's timed agenda (from
:func:`iopkit.curriculum.agenda`). Exporters write CSV, iCalendar (.ics) and Excel (.xlsx).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from iopkit.errors import InputError
from iopkit.vocab import ATTENDANCE_STATUS, ATTENDED, WEEKDAYS

if TYPE_CHECKING:
    from iopkit.curriculum import Curriculum

ABSENT = tuple(s for s in ATTENDANCE_STATUS if s not in ATTENDED)  # absent_(un)excused


def date_rotation(
    rotation: pd.DataFrame | Sequence[str],
    *,
    weekdays: Sequence[int],
    start: date,
    weeks: int,
    closures: Mapping[date, str] | Iterable[date] = (),
    first_slot: int | None = None,
    on_closure: str = "pause",
    allowed: Mapping[str, Iterable[int]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map a repeating rotation onto dates; returns ``(sessions, closed)``.

    ``rotation`` is a :class:`~iopkit.rotation.RotationPlan.rotation` frame (slot, weekday,
    skill_id, modality, core) or a plain list of skill ids (slot ``i`` on
    ``weekdays[i % len(weekdays)]``). The horizon is ``weeks`` × 7 days from ``start``.
    The rotation starts at ``first_slot`` (default: the first slot planned for the weekday
    of the first program day on/after ``start``) and advances one slot per *open* day.

    ``on_closure="pause"`` (default here): a closed day consumes no slot — the rotation
    continues with the next slot on the next open day, so the planned sequence (and its
    coverage proof) is kept but every later slot moves to another weekday.
    ``"realign"`` (default of :func:`build_calendar`): pause as above, then drop the next
    *elective* slot so the following sessions are back on their planned weekdays. Removing
    an elective only shortens the distance between core sessions, so every stay still
    meets every core skill in the planned order; only the few sessions between the
    closure and the dropped elective move. ``"skip"``: the closed day's slot is dropped,
    weekdays stay aligned, and patients whose window held that slot may miss its skill
    (check with :func:`iopkit.rotation.coverage_from_sessions`).

    ``allowed`` (skill -> weekdays it may be taught, e.g. from
    :meth:`iopkit.rotation.RotationProblem.allowed_weekdays`) flags sessions that a closure
    moved onto a day without a trained facilitator or off a fixed day (``conflict``).

    ``sessions`` columns: date, weekday, session_no (1-based), slot, skill_id, modality,
    core, planned_weekday, moved, conflict. ``closed`` columns: date, weekday, reason,
    dropped_skill (the slot lost under ``"skip"``, the elective dropped to realign under
    ``"realign"``; empty under ``"pause"``).
    """
    if on_closure not in ("pause", "skip", "realign"):
        raise InputError(f"on_closure must be 'realign', 'pause' or 'skip', got {on_closure!r}")
    if weeks < 1:
        raise InputError(f"horizon must be ≥ 1 week, got {weeks}", column="weeks")
    if not weekdays:
        raise InputError("the program has no weekdays")
    if isinstance(rotation, pd.DataFrame):
        rot = rotation.sort_values("slot").reset_index(drop=True)
        if not len(rot):
            raise InputError("the rotation is empty (was the plan infeasible?)")
    else:
        skills = list(rotation)
        if not skills:
            raise InputError("the rotation is empty")
        rot = pd.DataFrame(
            {
                "slot": range(len(skills)),
                "weekday": [weekdays[i % len(weekdays)] for i in range(len(skills))],
                "skill_id": skills,
            }
        )
    for col in ("modality", "core"):
        if col not in rot.columns:
            rot[col] = None
    if stray := sorted(set(rot["weekday"].astype(int)) - set(weekdays)):
        raise InputError(
            "the rotation was planned for "
            + "/".join(WEEKDAYS[d].title() for d in stray)
            + ", which are not program days ("
            + "/".join(WEEKDAYS[d].title() for d in sorted(weekdays))
            + "); plan it for this program"
        )
    reasons = dict(closures) if isinstance(closures, Mapping) else dict.fromkeys(closures, "closed")
    end = start + timedelta(days=7 * weeks - 1)
    days = [start + timedelta(days=k) for k in range((end - start).days + 1)]
    program_days = [d for d in days if d.weekday() in set(weekdays)]
    if not program_days:
        raise InputError("no program day in the horizon", column="start")
    n = len(rot)
    if first_slot is None:
        first_wd = program_days[0].weekday()
        matches = rot.index[rot["weekday"] == first_wd]
        first_slot = int(matches[0]) if len(matches) else 0
    if not 0 <= first_slot < n:
        raise InputError(f"first slot {first_slot} outside the rotation (0–{n - 1})")
    if on_closure == "realign" and not rot["core"].isin([True, False]).all():
        raise InputError(
            "on_closure='realign' needs the rotation's core column (which slots are electives)"
        )
    rows, closed = [], []
    debt: list[int] = []  # closures (indices into ``closed``) not yet caught up
    pos = first_slot
    for d in program_days:
        if d in reasons:
            dropped = ""
            if on_closure == "skip":
                dropped = str(rot.iloc[pos % n]["skill_id"])
                pos += 1
            elif on_closure == "realign":
                debt.append(len(closed))
            closed.append(
                {
                    "date": d,
                    "weekday": WEEKDAYS[d.weekday()].title(),
                    "reason": reasons[d],
                    "dropped_skill": dropped,
                }
            )
            continue
        # realign: after a pause, drop the next elective slot(s) to get back onto the
        # planned weekdays; core slots are never dropped (at most one cycle is searched).
        guard = 0
        while debt and not bool(rot.iloc[pos % n]["core"]) and guard < n:
            closed[debt.pop(0)]["dropped_skill"] = str(rot.iloc[pos % n]["skill_id"])
            pos += 1
            guard += 1
        r = rot.iloc[pos % n]
        conflict = ""
        if allowed is not None and r["skill_id"] in allowed:
            ok = set(allowed[r["skill_id"]])
            if d.weekday() not in ok:
                days_txt = "/".join(WEEKDAYS[k].title() for k in sorted(ok))
                conflict = f"only on {days_txt} (facilitator or fixed day)"
        rows.append(
            {
                "date": d,
                "weekday": WEEKDAYS[d.weekday()].title(),
                "session_no": len(rows) + 1,
                "slot": int(r["slot"]),
                "skill_id": r["skill_id"],
                "modality": r["modality"],
                "core": r["core"],
                "planned_weekday": WEEKDAYS[int(r["weekday"])].title(),
                "moved": int(r["weekday"]) != d.weekday(),
                "conflict": conflict,
            }
        )
        pos += 1
    sessions = pd.DataFrame(
        rows,
        columns=[
            "date",
            "weekday",
            "session_no",
            "slot",
            "skill_id",
            "modality",
            "core",
            "planned_weekday",
            "moved",
            "conflict",
        ],
    )
    return sessions, pd.DataFrame(closed, columns=["date", "weekday", "reason", "dropped_skill"])


@dataclass
class ProgramCalendar:
    """Dated sessions with titles and agendas, the skipped closures, and program facts."""

    program_id: str
    program_name: str
    sessions: pd.DataFrame
    closed: pd.DataFrame
    agendas: pd.DataFrame
    start: date
    weeks: int
    #: IANA zone of the program (``Program.zone_name``); ``None``: floating local times
    time_zone: str | None = None
    #: the cohort this calendar is for ("" = the program's rotation, no cohort named)
    cohort_id: str = ""

    def session_times(self) -> pd.DataFrame:
        """date, start, end of each session (from the first and last agenda segment)."""
        if not len(self.agendas):
            return pd.DataFrame(
                {"date": [], "start": pd.Series(dtype="datetime64[ns]"),
                 "end": pd.Series(dtype="datetime64[ns]")}
            )  # fmt: skip
        g = self.agendas.groupby("date", sort=True)
        return pd.DataFrame({"start": g["start"].min(), "end": g["end"].max()}).reset_index()


def build_calendar(
    rotation: pd.DataFrame,
    *,
    curriculum: Curriculum,
    program_id: str,
    start: date,
    weeks: int,
    extra_closures: Mapping[date, str] | Iterable[date] = (),
    start_time: str | None = None,
    on_closure: str = "realign",
    allowed: Mapping[str, Iterable[int]] | None = None,
    cohort_id: str = "",
) -> ProgramCalendar:
    """Dated calendar of a program's rotation with titles and timed agendas.

    Closures = the program's public holidays and listed dates
    (``Program.closure_reasons``) plus ``extra_closures``. ``cohort_id`` names the cohort in
    the exports (titles, file names, UIDs). The sessions gain a ``facilitators`` column:
    the program's facilitators who work that weekday and hold the skill's training
    (``Curriculum.training_for``; any facilitator of the day when none is needed), joined
    by ``;`` — the people who can lead it, not an assignment.
    """
    prog = curriculum.program(program_id)
    end = start + timedelta(days=7 * weeks - 1)
    closures = dict(prog.closure_reasons(start, end))
    extra = (
        dict(extra_closures)
        if isinstance(extra_closures, Mapping)
        else dict.fromkeys(extra_closures, "listed closure")
    )
    closures.update(extra)
    check_cohort_id(cohort_id)
    sessions, closed = date_rotation(
        rotation,
        weekdays=prog.weekdays,
        start=start,
        weeks=weeks,
        closures=closures,
        on_closure=on_closure,
        allowed=allowed,
    )
    if not len(sessions):
        raise InputError(
            f"every program day from {start} over {weeks} week(s) is closed "
            f"({len(closed)} closure(s)); extend the horizon",
            column="weeks",
        )
    sessions.insert(
        sessions.columns.get_loc("skill_id") + 1,
        "title",
        [curriculum.skill(s).title for s in sessions["skill_id"]],
    )
    need = {sid: curriculum.training_for(sid) for sid in set(sessions["skill_id"])}
    sessions["facilitators"] = [
        ";".join(
            f.id
            for f in prog.facilitators
            if d.weekday() in f.weekdays and (need[sid] is None or need[sid] in f.trainings)
        )
        for d, sid in zip(sessions["date"], sessions["skill_id"], strict=True)
    ]
    frames = []
    for d, sid in zip(sessions["date"], sessions["skill_id"], strict=True):
        ag = curriculum.agenda(program_id, d, sid, start_time)
        ag.insert(0, "date", d)
        ag.insert(1, "skill_id", sid)
        frames.append(ag)
    agendas = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(
            columns=["date", "skill_id", "segment", "title", "start", "end", "minutes", "content"]
        )
    )
    return ProgramCalendar(
        prog.id, prog.name, sessions, closed, agendas, start, weeks, prog.zone_name, cohort_id
    )


_COHORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$")


def check_cohort_id(cohort_id: str) -> None:
    """A cohort id goes into titles, file names and UIDs: letters, digits, ``._ -``."""
    if cohort_id and not _COHORT_ID.match(cohort_id):
        raise InputError(
            f"cohort id {cohort_id!r} must start with a letter or digit and hold only letters, "
            "digits, '.', '_', '-' or spaces (at most 64 characters)",
            column="cohort_id",
            rule="cohort id characters",
        )


def file_stem(name: str, cohort_id: str = "", facilitator: str = "") -> str:
    """``calendar``, ``calendar_C01`` or ``calendar_C01_fac_a``: a file name stem naming the
    cohort and facilitator (spaces become ``-``)."""
    parts = [name, *(p.replace(" ", "-") for p in (cohort_id, facilitator) if p)]
    return "_".join(parts)


# --------------------------------------------------------------------------------------
# Per-patient view
# --------------------------------------------------------------------------------------


def patient_view(
    sessions: pd.DataFrame,
    *,
    admit_date: date,
    core: Iterable[str],
    min_sessions: int,
    discharge_date: date | None = None,
    attendance: pd.DataFrame | None = None,
    as_of: date | None = None,
    date_col: str = "date",
    status_col: str = "status",
) -> pd.DataFrame:
    """What one patient meets, misses and can make up, from the dated sessions.

    The stay runs from ``admit_date`` to ``discharge_date`` (planned or actual) or, if
    none, over the next ``min_sessions`` sessions. ``attendance`` (date, status ∈ present,
    late, absent_excused, absent_unexcused) marks sessions on or before ``as_of`` (default:
    the last attendance date) as attended or missed; later sessions are expected. An
    attendance date inside the stay with no scheduled session is an InputError (pass the
    delivered sessions instead of the planned calendar).

    One row per skill taught in the stay plus every core skill: skill_id, core, taught_on
    (dates in the stay), attended_on, status ∈ met, expected, missed, unrecorded,
    will_miss (core skill not taught in the stay), make_up (next date the skill is taught
    after the miss, within the calendar, or "individual make-up"), make_up_in_stay.
    """
    core = set(core)
    s = sessions.copy()
    s[date_col] = pd.to_datetime(s[date_col]).dt.date
    s = s.sort_values(date_col)
    after = s[s[date_col] >= admit_date]
    if discharge_date is not None:
        if discharge_date < admit_date:
            raise InputError(
                f"discharge {discharge_date} is before admission {admit_date}",
                column="discharge_date",
                rule="discharge on or after admission",
            )
        stay = after[after[date_col] <= discharge_date]
    else:
        stay = after.head(min_sessions)
    if not len(stay):
        raise InputError(
            f"no session scheduled between {admit_date} and the end of the stay",
            column="admit_date",
        )
    if len(after) < min_sessions and discharge_date is None:
        # the calendar ends before the stay does; say so rather than silently shorten
        raise InputError(
            f"the calendar has only {len(after)} sessions from {admit_date}; the minimum stay is "
            f"{min_sessions}. Extend the horizon (--weeks).",
            column="weeks",
        )
    status_by_date: dict[date, str] = {}
    if attendance is not None:
        for col in (date_col, status_col):
            if col not in attendance.columns:
                raise InputError(f"attendance has no column {col!r}", column=col)
        att = attendance.copy()
        att[date_col] = pd.to_datetime(att[date_col]).dt.date
        bad = att[~att[status_col].isin(ATTENDED + ABSENT)]
        if len(bad):
            i = int(bad.index[0])
            raise InputError(
                f"unknown attendance status {bad[status_col].iloc[0]!r}; use "
                + ", ".join(ATTENDED + ABSENT),
                row=i + 2,
                column=status_col,
                rule="attendance status vocabulary",
            )
        status_by_date = dict(zip(att[date_col], att[status_col], strict=True))
        if as_of is None and len(att):
            as_of = max(att[date_col])
    if as_of is None:
        as_of = admit_date - timedelta(days=1)
    stay_end = max(stay[date_col])
    if attendance is not None:
        scheduled = set(stay[date_col])
        for i, d in zip(att.index, att[date_col], strict=True):
            if admit_date <= d <= stay_end and d not in scheduled:
                raise InputError(
                    f"attendance on {d} but no session is scheduled that day; pass the sessions "
                    "actually delivered (date, skill_id) as `sessions`",
                    row=int(i) + 2,
                    column=date_col,
                    rule="attendance dates must be session dates",
                )
    rows = []
    skills = list(dict.fromkeys([*stay["skill_id"], *sorted(core)]))
    for sk in skills:
        taught = [d for d, x in zip(stay[date_col], stay["skill_id"], strict=True) if x == sk]
        past = [d for d in taught if d <= as_of]
        future = [d for d in taught if d > as_of]
        attended = [d for d in past if status_by_date.get(d) in ATTENDED]
        unrecorded = [d for d in past if d not in status_by_date]
        if attended:
            status = "met"
        elif future:
            status = "expected"
        elif unrecorded:
            status = "unrecorded"
        elif past:
            status = "missed"
        else:
            status = "will_miss"
        make_up, in_stay = "", None
        if status in ("missed", "will_miss") and sk in core:
            since = max(as_of, past[-1] if past else admit_date)
            nxt = s[(s[date_col] > since) & (s["skill_id"] == sk)]
            if len(nxt):
                d = nxt[date_col].iloc[0]
                make_up, in_stay = d.isoformat(), bool(d <= stay_end)
            else:
                make_up, in_stay = "individual make-up", False
        rows.append(
            {
                "skill_id": sk,
                "core": sk in core,
                "taught_on": ";".join(d.isoformat() for d in taught),
                "attended_on": ";".join(d.isoformat() for d in attended),
                "status": status,
                "make_up": make_up,
                "make_up_in_stay": in_stay,
            }
        )
    out = pd.DataFrame(rows)
    return out.sort_values(
        ["core", "status", "skill_id"], ascending=[False, True, True]
    ).reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------


def _agenda_text(agendas: pd.DataFrame, d: date) -> str:
    rows = agendas[agendas["date"] == d]
    return "\n".join(
        f"{r.start:%H:%M}–{r.end:%H:%M} {r.title}: {r.content}" for r in rows.itertuples()
    )


def to_csv(cal: ProgramCalendar, out_dir: str | Path) -> list[Path]:
    """Write ``sessions.csv``, ``agendas.csv`` and ``closures.csv`` (``sessions_<cohort>.csv``
    … for a cohort's calendar); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = ("sessions", "agendas", "closures")
    paths = [out / f"{file_stem(n, cal.cohort_id)}.csv" for n in names]
    times = cal.session_times()
    sessions = cal.sessions.merge(times, on="date", how="left")
    sessions.to_csv(paths[0], index=False)
    ag = cal.agendas.copy()
    if len(ag):
        ag["start"] = ag["start"].dt.strftime("%H:%M")
        ag["end"] = ag["end"].dt.strftime("%H:%M")
    ag.to_csv(paths[1], index=False)
    cal.closed.to_csv(paths[2], index=False)
    return paths


def event_uid(program_id: str, cohort_id: str, day: date, slot: int = 1) -> str:
    """UID of one session: ``<program>-<cohort>-<YYYYMMDD>-<slot>@iopkit`` (no cohort:
    ``<program>-<YYYYMMDD>-<slot>@iopkit``). ``slot`` = the session's place in its day
    (1 = first). Unique per (program, cohort, date, slot) and independent of the skill, so
    a re-planned session keeps its UID and calendar programs update it (RFC 5545 §3.8.4.7).
    The cohort is percent-encoded (RFC 3986), so two cohorts never share a UID."""
    cohort = quote(cohort_id, safe="")
    middle = f"{cohort}-" if cohort else ""
    return f"{program_id}-{middle}{day:%Y%m%d}-{slot}@iopkit"


_COMPARED = ("SUMMARY", "DESCRIPTION", "DTSTART", "DTEND", "LOCATION", "STATUS")


def _fingerprint(ev: object) -> tuple[object, ...]:
    """What a calendar user sees of an event: a change here needs a higher SEQUENCE."""
    out: list[object] = []
    for name in _COMPARED:
        prop = ev.get(name)  # type: ignore[attr-defined]
        if prop is None:
            out.append(None)
            continue
        tzid = getattr(prop, "params", {}).get("TZID") if hasattr(prop, "params") else None
        out.append((prop.to_ical(), tzid))
    return tuple(out)


def previous_events(path: str | Path) -> dict[str, tuple[int, tuple[object, ...], object]]:
    """UID → (SEQUENCE, fingerprint, event) of an earlier export (``{}`` when none).

    An unreadable earlier file is an InputError naming it: sequence numbers are never
    reset silently (a calendar program would then ignore the updates)."""
    import icalendar

    p = Path(path)
    if not p.is_file():
        return {}
    try:
        old = icalendar.Calendar.from_ical(p.read_bytes())
    except ValueError:
        raise InputError(
            "the earlier calendar here is not iCalendar, so SEQUENCE numbers cannot be "
            "continued; move it away or delete it",
            file=str(p),
            rule="previous calendar readable",
        ) from None
    out = {}
    for ev in old.walk("VEVENT"):
        uid = str(ev.get("UID", ""))
        if uid:
            out[uid] = (int(ev.get("SEQUENCE", 0)), _fingerprint(ev), ev)
    return out


def to_ics(
    cal: ProgramCalendar,
    path: str | Path,
    *,
    tz: str | None = None,
    floating: bool = False,
    stamp: datetime | None = None,
    location: str | None = None,
    facilitator: str | None = None,
    previous: str | Path | None = None,
) -> Path:
    """iCalendar file: one VEVENT per session, skill in SUMMARY, agenda in DESCRIPTION.

    Times are in ``tz`` (an IANA name such as ``America/New_York``), else the program's zone
    (``cal.time_zone``): DTSTART/DTEND carry a TZID and the file holds its VTIMEZONE
    (RFC 5545 §3.6.5, built by icalendar from the IANA tz database). ``floating=True`` (or
    no zone at all) writes *floating* local times (RFC 5545 §3.3.5), which some calendar
    programs read as UTC — avoid them for shared calendars.

    UID = :func:`event_uid`; the cohort (``cal.cohort_id``) is named in the calendar name,
    every SUMMARY and the UIDs. SEQUENCE (RFC 5545 §3.8.7.4) continues the earlier export
    ``previous`` (default: the file at ``path``, read before it is replaced): unchanged
    events keep their number, changed ones get the next, new ones start at 0, and a
    session of the earlier file that is no longer planned stays as STATUS:CANCELLED with
    the next number, so an importing calendar removes it. ``facilitator``: only the
    sessions that facilitator can lead (the ``facilitators`` column). DTSTAMP = ``stamp``
    (default: now, UTC).
    """
    import icalendar

    zone_name = None if floating else (tz or cal.time_zone)
    zone = None
    if zone_name:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(
                f"unknown time zone {zone_name!r} (use an IANA name)", column="tz"
            ) from None
    p = Path(path)
    before = previous_events(p if previous is None else previous)
    sessions = cal.sessions
    if facilitator is not None:
        if "facilitators" not in sessions.columns:
            raise InputError("the calendar has no facilitators column (build_calendar adds it)")
        mask = sessions["facilitators"].fillna("").str.split(";").map(lambda f: facilitator in f)
        sessions = sessions[mask]
    ical = icalendar.Calendar()
    ical.add("prodid", "-//iopkit//rotation calendar//EN")
    ical.add("version", "2.0")
    ical.add("method", "PUBLISH")
    name = cal.program_name + (f" — cohort {cal.cohort_id}" if cal.cohort_id else "")
    name += f" — {facilitator}" if facilitator else ""
    ical.add("x-wr-calname", f"{name} — skills rotation")
    if zone_name:
        ical.add("x-wr-timezone", zone_name)
    stamp = stamp or datetime.now(UTC)
    times = cal.session_times().set_index("date")
    prefix = f"{cal.cohort_id}: " if cal.cohort_id else ""
    slot_of_day = sessions.groupby("date").cumcount() + 1
    seen: set[str] = set()
    for r, n in zip(sessions.itertuples(), slot_of_day, strict=True):
        t0 = times.loc[r.date, "start"].to_pydatetime()
        t1 = times.loc[r.date, "end"].to_pydatetime()
        if zone is not None:
            t0, t1 = t0.replace(tzinfo=zone), t1.replace(tzinfo=zone)
        ev = icalendar.Event()
        uid = event_uid(cal.program_id, cal.cohort_id, r.date, int(n))
        seen.add(uid)
        ev.add("uid", uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", t0)
        ev.add("dtend", t1)
        core = " · core" if r.core is True else ""
        ev.add("summary", f"{prefix}{r.title} ({r.modality}{core})")
        desc = f"Session {r.session_no}, rotation slot {r.slot}: {r.skill_id}\n"
        if r.moved:
            desc += f"(moved from {r.planned_weekday} after a closure)\n"
        ev.add("description", desc + _agenda_text(cal.agendas, r.date))
        ev.add("categories", [str(r.modality)])
        if location:
            ev.add("location", location)
        ev.add("sequence", _sequence(before.get(uid), _fingerprint(ev)))
        ical.add_component(ev)
    for uid, (seq, _, old) in sorted(before.items()):
        if uid in seen:
            continue  # cancelled: the session is no longer planned
        gone = icalendar.Event()
        for key in ("UID", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "LOCATION"):
            if key in old:
                gone[key] = old[key]
        gone.add("dtstamp", stamp)
        cancelled = str(old.get("STATUS", "")).upper() == "CANCELLED"
        gone.add("status", "CANCELLED")
        gone.add("sequence", seq if cancelled else seq + 1)
        ical.add_component(gone)
    if zone is not None and len(sessions):
        # VTIMEZONE rules only for the years the calendar spans (smaller file)
        first = min(sessions["date"])
        last = max(sessions["date"])
        ical.add_missing_timezones(
            first_date=date(first.year, 1, 1), last_date=date(last.year + 1, 12, 31)
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(ical.to_ical())
    return p


def _sequence(before: tuple[int, tuple[object, ...], object] | None, now: tuple) -> int:
    if before is None:
        return 0
    seq, fingerprint, _ = before
    return seq if fingerprint == now else seq + 1


#: Excel column width unit ≈ one "0" of the default font (Calibri 11); the default row
#: height of that font is 15 points (ECMA-376 Part 1 §18.3.1.13 and §18.3.1.81)
LINE_HEIGHT_PT = 15.0
WRAP_WIDTH = 60  # characters: a wider text column wraps at this width


def wrapped_lines(text: object, width: float) -> int:
    """Lines a wrapped cell of ``width`` characters needs for ``text`` (each explicit line
    break starts a line; a long line takes ⌈length / width⌉ lines). Counted in "0"
    widths, so proportional text fits with room to spare."""
    if text is None or text == "":
        return 1
    usable = max(1.0, width - 1)  # Excel keeps about one character of padding
    return sum(max(1, math.ceil(len(line) / usable)) for line in str(text).split("\n"))


def to_xlsx(
    cal: ProgramCalendar,
    path: str | Path,
    *,
    coverage: pd.DataFrame | None = None,
    comparison: pd.DataFrame | None = None,
) -> Path:
    """Printable workbook: Schedule, Agendas, Closures (+ Coverage, Baselines when given).

    Dates are date cells (``yyyy-mm-dd``), start and end are time cells (``hh:mm``), so a
    spreadsheet sorts and computes with them. A text column wider than 60 characters
    wraps at 60, and every row with wrapped text gets the height its longest cell needs
    (:func:`wrapped_lines` × 15 pt), so wrapped text never runs into the next row. Every
    sheet prints landscape, fitted to one page wide (as many pages tall as needed), with
    the header row bold, frozen and repeated on every printed page, and a header/footer
    naming the program, cohort and page.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    times = cal.session_times()
    sched = cal.sessions.merge(times, on="date", how="left")
    sched["start"] = sched["start"].dt.time
    sched["end"] = sched["end"].dt.time
    cols = ["date", "weekday", "start", "end", "session_no", "title", "skill_id", "modality",
            "core", "moved", "conflict"]  # fmt: skip
    if "facilitators" in sched.columns:
        cols.append("facilitators")
    sched = sched[cols]
    ag = cal.agendas.copy()
    if len(ag):
        ag["start"] = ag["start"].dt.time
        ag["end"] = ag["end"].dt.time
        ag = ag[["date", "skill_id", "start", "end", "title", "minutes", "content"]]
    sheets: list[tuple[str, pd.DataFrame]] = [
        ("Schedule", sched),
        ("Agendas", ag),
        ("Closures", cal.closed),
    ]
    if coverage is not None:
        sheets.append(("Coverage", coverage))
    if comparison is not None:
        sheets.append(("Baselines", comparison))
    ws0 = wb.active
    wb.remove(ws0)
    title = cal.program_name + (f" — cohort {cal.cohort_id}" if cal.cohort_id else "")
    for name, df in sheets:
        ws = wb.create_sheet(name)
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        widths: dict[int, float] = {}
        wrap: set[int] = set()
        for j, col in enumerate(df.columns, start=1):
            values = [str(col), *(_shown(v) for v in df[col].head(500))]
            longest = max(len(line) for v in values for line in v.split("\n"))
            width = min(WRAP_WIDTH, longest + 2)
            widths[j] = width
            ws.column_dimensions[get_column_letter(j)].width = width
            if longest + 2 > WRAP_WIDTH:
                wrap.add(j)
        for i, row in enumerate(ws.iter_rows(min_row=2), start=2):
            lines = 1
            for cell in row:
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(cell.value, time):
                    cell.number_format = "hh:mm"
                if cell.column in wrap:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                    lines = max(lines, wrapped_lines(cell.value, widths[cell.column]))
                else:
                    cell.alignment = Alignment(vertical="top")
            if lines > 1:
                ws.row_dimensions[i].height = lines * LINE_HEIGHT_PT
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = True
        ws.oddHeader.center.text = f"{title} — {name}"
        ws.oddFooter.center.text = "Page &P of &N"
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    wb.save(p)
    return p


def _shown(v: object) -> str:
    """The text a cell shows (times as hh:mm, dates ISO), for column widths."""
    if isinstance(v, time):
        return v.strftime("%H:%M")
    return str(v)


def _cell(v: object) -> object:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, str | date):
        return v.item()  # numpy scalar
    return v
