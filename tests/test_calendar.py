"""Calendar: closures, agendas, per-patient view and the CSV/ICS/XLSX exports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import icalendar
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from iopkit.calendar import build_calendar, date_rotation, patient_view, to_csv, to_ics, to_xlsx
from iopkit.errors import InputError
from iopkit.rotation import SolverOptions, plan_program

MON_FRI = [0, 1, 2, 3, 4]
THANKSGIVING = date(2026, 11, 26)  # US federal holiday, 4th Thursday of November


def test_us_holiday_is_skipped_and_rotation_pauses() -> None:
    """Thanksgiving 2026 (holidays package, US) falls on Thursday 26 Nov: no session that
    day; under "pause" Friday teaches the slot Thursday would have held."""
    us = holidays.country_holidays("US", years=2026)
    assert us.get(THANKSGIVING) == "Thanksgiving Day"
    closures = {d: n for d, n in us.items()}
    seq = list("ABCDE")
    s, closed = date_rotation(
        seq, weekdays=MON_FRI, start=date(2026, 11, 23), weeks=1, closures=closures
    )
    assert THANKSGIVING not in set(s["date"])
    assert closed["date"].tolist() == [THANKSGIVING]
    assert closed["reason"].tolist() == ["Thanksgiving Day"]
    assert s["skill_id"].tolist() == list("ABCD")
    fri = s.set_index("date").loc[date(2026, 11, 27)]
    assert fri["skill_id"] == "D" and fri["moved"] and fri["planned_weekday"] == "Thu"
    # "skip": weekdays stay aligned, Thursday's skill is dropped and reported
    s2, closed2 = date_rotation(
        seq, weekdays=MON_FRI, start=date(2026, 11, 23), weeks=1, closures=closures,
        on_closure="skip",
    )  # fmt: skip
    assert s2["skill_id"].tolist() == ["A", "B", "C", "E"]
    assert closed2["dropped_skill"].tolist() == ["D"]
    assert not s2["moved"].any()


def test_realign_drops_the_next_elective_after_a_closure() -> None:
    """Mon–Fri cycle A B C D (core) + E (elective). Thanksgiving closes Thursday: Friday
    teaches D (the next slot), then elective E is dropped so Monday is back on A."""
    rot = pd.DataFrame(
        {
            "slot": range(5),
            "weekday": MON_FRI,
            "skill_id": list("ABCDE"),
            "core": [True, True, True, True, False],
        }
    )
    s, closed = date_rotation(
        rot, weekdays=MON_FRI, start=date(2026, 11, 23), weeks=2,
        closures={THANKSGIVING: "Thanksgiving"}, on_closure="realign",
    )  # fmt: skip
    by_date = s.set_index("date")
    assert by_date.loc[date(2026, 11, 27), "skill_id"] == "D"
    assert by_date.loc[date(2026, 11, 30), "skill_id"] == "A"
    assert not by_date.loc[date(2026, 11, 30), "moved"]
    assert closed["dropped_skill"].tolist() == ["E"]
    assert int(s["moved"].sum()) == 1
    # every core skill still in order: A B C D A B C D E
    assert s["skill_id"].tolist() == list("ABCDABCDE")
    with pytest.raises(InputError, match="core column"):
        date_rotation(list("AB"), weekdays=[0, 1], start=date(2026, 1, 5), weeks=1,
                      on_closure="realign")  # fmt: skip


def test_start_midweek_aligns_with_the_planned_weekday() -> None:
    s, _ = date_rotation(list("ABC"), weekdays=[0, 2, 4], start=date(2026, 1, 7), weeks=1)
    assert s["date"].tolist()[0] == date(2026, 1, 7)
    assert s["skill_id"].tolist() == ["B", "C", "A"]  # Wed = slot B; 7 days reach Mon
    assert not s["moved"].any()


def test_conflict_flags_a_moved_facilitator_day() -> None:
    s, _ = date_rotation(
        list("ABCDE"), weekdays=MON_FRI, start=date(2026, 11, 23), weeks=1,
        closures={THANKSGIVING: "Thanksgiving"}, allowed={"D": [3]},
    )  # fmt: skip
    fri = s.set_index("date").loc[date(2026, 11, 27)]
    assert "only on Thu" in fri["conflict"]


def test_rotation_for_other_weekdays_is_refused() -> None:
    # a rotation planned for Mon/Tue, dated on a Mon/Wed/Fri program
    rot = pd.DataFrame({"slot": [0, 1], "weekday": [0, 1], "skill_id": ["A", "B"]})
    with pytest.raises(InputError, match="planned for Tue, which are not program days"):
        date_rotation(rot, weekdays=[0, 2, 4], start=date(2026, 1, 5), weeks=1)


def test_bad_horizon_is_an_input_error() -> None:
    with pytest.raises(InputError, match="horizon"):
        date_rotation(["A"], weekdays=[0], start=date(2026, 1, 5), weeks=0)


@pytest.fixture(scope="module")
def cur():
    from iopkit.curriculum import load_curriculum

    return load_curriculum()


@pytest.fixture(scope="module")
def cal(cur):
    plan = plan_program(cur, "adult_mood_anxiety_3d", options=SolverOptions(time_limit=5))
    assert plan.ok
    return build_calendar(
        plan.rotation,
        curriculum=cur,
        program_id="adult_mood_anxiety_3d",
        start=date(2026, 11, 23),
        weeks=6,
        extra_closures={date(2026, 12, 2): "staff training"},
    )


def test_calendar_skips_program_and_listed_closures(cal, cur) -> None:
    """The program closes for US (MA) public holidays; Christmas Day 2026 is a Friday."""
    dates = set(cal.sessions["date"])
    assert date(2026, 12, 25) not in dates
    assert date(2026, 12, 2) not in dates
    assert {date(2026, 12, 25), date(2026, 12, 2)} <= set(cal.closed["date"])
    prog = cur.program("adult_mood_anxiety_3d")
    assert all(d.weekday() in prog.weekdays for d in dates)
    assert len(cal.sessions) + len(cal.closed) == 6 * 3


def test_each_session_has_its_timed_agenda(cal, cur) -> None:
    prog = cur.program("adult_mood_anxiety_3d")
    per_day = cal.agendas.groupby("date").size()
    assert (per_day == len(prog.block)).all()
    assert len(per_day) == len(cal.sessions)
    times = cal.session_times()
    assert (times["start"].dt.strftime("%H:%M") == prog.default_start).all()
    minutes = (times["end"] - times["start"]).dt.total_seconds() / 60
    assert (minutes == prog.session_minutes).all()


def test_ics_parses_back_with_one_event_per_session(cal, tmp_path) -> None:
    stamp = datetime(2026, 11, 1, tzinfo=UTC)
    p = to_ics(cal, tmp_path / "a.ics", tz="America/New_York", stamp=stamp)
    parsed = icalendar.Calendar.from_ical(p.read_bytes())
    events = [c for c in parsed.walk("VEVENT")]
    assert len(events) == len(cal.sessions)
    first = events[0]
    assert first["DTSTART"].params["TZID"] == "America/New_York"
    assert first["DTSTART"].dt.hour == 9
    assert cal.sessions["title"].iloc[0] in str(first["SUMMARY"])
    assert "Check-in & safety scan" in str(first["DESCRIPTION"])
    assert len({str(e["UID"]) for e in events}) == len(events)
    assert len(list(parsed.walk("VTIMEZONE"))) == 1
    # stable output: the same inputs give the same file
    q = to_ics(cal, tmp_path / "b.ics", tz="America/New_York", stamp=stamp)
    assert p.read_bytes() == q.read_bytes()
    # floating local time without a zone
    f = icalendar.Calendar.from_ical(
        to_ics(cal, tmp_path / "c.ics", stamp=stamp, floating=True).read_bytes()
    )
    ev = next(iter(f.walk("VEVENT")))
    assert ev["DTSTART"].dt.tzinfo is None and "TZID" not in ev["DTSTART"].params


def test_ics_unknown_zone(cal, tmp_path) -> None:
    with pytest.raises(InputError, match="unknown time zone"):
        to_ics(cal, tmp_path / "x.ics", tz="Mars/Olympus")


def test_xlsx_opens_and_is_printable(cal, tmp_path) -> None:
    p = to_xlsx(cal, tmp_path / "cal.xlsx")
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == ["Schedule", "Agendas", "Closures"]
    ws = wb["Schedule"]
    assert ws.max_row == len(cal.sessions) + 1
    assert ws["A1"].value == "date" and ws["A1"].font.bold
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$1"
    assert ws.column_dimensions["F"].width > 10


def test_csv_export(cal, tmp_path) -> None:
    paths = to_csv(cal, tmp_path)
    sessions = pd.read_csv(paths[0])
    assert len(sessions) == len(cal.sessions)
    assert {"date", "skill_id", "title", "start", "end", "moved"} <= set(sessions.columns)
    assert len(pd.read_csv(paths[1])) == len(cal.agendas)


def test_patient_view_missed_core_skill_gets_a_make_up_date(cal, cur) -> None:
    """Absent on the only session of a core skill in the first half of the stay: 'missed',
    make-up = the next date it is taught; a core skill taught again later in the stay is
    still 'expected'."""
    s = cal.sessions
    core = cur.core_skills("adult_mood_anxiety_3d")
    admit = s["date"].iloc[0]
    stay = s.head(12)
    first_half = stay.iloc[:6]
    once = [
        r.date
        for r in first_half.itertuples()
        if r.core and (stay["skill_id"] == r.skill_id).sum() == 1
    ]
    twice = [
        r.date
        for r in first_half.itertuples()
        if r.core and (stay["skill_id"] == r.skill_id).sum() > 1
    ]
    absent = set(once[:1] + twice[:1])
    att = pd.DataFrame(
        {
            "date": first_half["date"],
            "status": [
                "absent_unexcused" if d in absent else "present" for d in first_half["date"]
            ],
        }
    )
    v = patient_view(s, admit_date=admit, core=core, min_sessions=12, attendance=att)
    v = v.set_index("skill_id")
    assert set(v.index) >= set(core)
    assert (v.loc[v["status"] == "met", "core"]).sum() >= 1
    missed_skill = stay.set_index("date").loc[once[0], "skill_id"]
    assert v.loc[missed_skill, "status"] == "missed"
    nxt = s[(s["date"] > att["date"].max()) & (s["skill_id"] == missed_skill)]["date"]
    want = nxt.iloc[0].isoformat() if len(nxt) else "individual make-up"
    assert v.loc[missed_skill, "make_up"] == want
    assert not bool(v.loc[missed_skill, "make_up_in_stay"])  # next taught after the stay
    if twice:
        again = stay.set_index("date").loc[twice[0], "skill_id"]
        assert v.loc[again, "status"] == "expected"


def test_patient_view_early_discharge_and_individual_make_up(cal, cur) -> None:
    s = cal.sessions
    core = cur.core_skills("adult_mood_anxiety_3d")
    admit, discharge = s["date"].iloc[0], s["date"].iloc[2]
    v = patient_view(
        s, admit_date=admit, core=core, min_sessions=12, discharge_date=discharge,
        as_of=discharge,
    ).set_index("skill_id")  # fmt: skip
    will_miss = v[v["status"] == "will_miss"]
    assert len(will_miss) == len(core) - int(s.head(3)["core"].sum())
    later = s.iloc[3:]
    for sk, r in will_miss.iterrows():
        nxt = later.loc[later["skill_id"] == sk, "date"]
        want = nxt.iloc[0].isoformat() if len(nxt) else "individual make-up"
        assert r["make_up"] == want, sk


def test_patient_view_attendance_on_an_unscheduled_day_is_refused(cal) -> None:
    s = cal.sessions
    closed_day = cal.closed["date"].iloc[0]
    admit = s.loc[s["date"] < closed_day, "date"].iloc[-1]
    att = pd.DataFrame({"date": [admit, closed_day], "status": ["present", "present"]})
    with pytest.raises(InputError, match="no session is scheduled") as exc:
        patient_view(s, admit_date=admit, core=[], min_sessions=12, attendance=att)
    assert exc.value.row == 3


def test_patient_view_bad_status_names_row(cal, cur) -> None:
    att = pd.DataFrame({"date": [cal.sessions["date"].iloc[0]], "status": ["here"]})
    with pytest.raises(InputError, match="unknown attendance status") as exc:
        patient_view(
            cal.sessions, admit_date=cal.sessions["date"].iloc[0], core=[], min_sessions=12,
            attendance=att,
        )  # fmt: skip
    assert exc.value.row == 2 and exc.value.column == "status"


def test_cli_plan_writes_every_export(tmp_path) -> None:
    from iopkit.cli import plan as _plan  # noqa: F401
    from iopkit.cli._common import app

    out = tmp_path / "plan"
    res = CliRunner().invoke(
        app,
        ["plan", "--program", "adult_mood_anxiety_3d", "--start", "2026-11-23", "--weeks", "8",
         "--mix", "depression=0.5,anxiety=0.3,insomnia=0.2", "--admit-days", "mon",
         "--time-limit", "5", "--out", str(out), "--patient-admit", "2026-11-30",
         "--patient-discharge", "2026-12-09"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    view = pd.read_csv(out / "patient_2026-11-30.csv")
    # a 5-session stay (Mon 30 Nov – Wed 9 Dec, MWF) cannot meet all 10 core skills
    assert (view.loc[view["core"], "status"] == "will_miss").sum() >= 5
    assert "will miss" in res.output
    for name in ("rotation.csv", "coverage.csv", "baselines.csv", "sessions.csv",
                 "agendas.csv", "closures.csv", "calendar.ics", "calendar.xlsx"):  # fmt: skip
        assert (out / name).exists(), name
    cov = pd.read_csv(out / "coverage.csv")
    assert cov["fully_covered"].all() and (cov["weekday"] == "Mon").all()
    assert "round_robin" in res.output and "module_blocks" in res.output


def test_cli_plan_infeasible_request_explains_and_exits_1(tmp_path) -> None:
    from iopkit.cli import plan as _plan  # noqa: F401
    from iopkit.cli._common import app

    res = CliRunner().invoke(
        app,
        ["plan", "--program", "adult_mood_anxiety_3d", "--start", "2026-11-23",
         "--margin", "0.5", "--out", str(tmp_path)],
    )  # fmt: skip
    assert res.exit_code == 1
    assert "core needs 10 sessions; a 4-week stay at 3 days a week has 12" in res.output
    assert "Traceback" not in res.output


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 5),
    st.integers(1, 3),
    st.sets(st.integers(0, 41), max_size=6),
    st.sampled_from(["realign", "pause"]),
)
def test_closures_keep_coverage_under_realign_and_pause(n_core, n_elec, closed_days, policy):
    """A cycle of n core + m elective skills covers every window of its own length; after
    random closures over 6 weeks, the dated sessions still cover every complete window
    (realign only drops electives; pause drops nothing)."""
    from iopkit.rotation import coverage_from_sessions

    skills = [f"c{i}" for i in range(n_core)] + [f"e{i}" for i in range(n_elec)]
    weekdays = [0, 2, 4]
    # pad the cycle to whole weeks with more electives
    while len(skills) % len(weekdays):
        skills.append(f"e{len(skills)}")
    rot = pd.DataFrame(
        {
            "slot": range(len(skills)),
            "weekday": [weekdays[i % 3] for i in range(len(skills))],
            "skill_id": skills,
            "core": [s.startswith("c") for s in skills],
        }
    )
    start = date(2026, 1, 5)
    closures = {start + timedelta(days=k): "closed" for k in closed_days}
    s, _ = date_rotation(
        rot, weekdays=weekdays, start=start, weeks=6, closures=closures, on_closure=policy
    )
    cov = coverage_from_sessions(
        s, core={f"c{i}" for i in range(n_core)}, window=len(skills), group_col=None
    )
    complete = cov[cov["window_complete"]]
    assert complete["fully_covered"].all()


# --- calendars that behave in calendar programs (issue 16) ------------------------------------
def _events(path):
    parsed = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(e["UID"]): e for e in parsed.walk("VEVENT")}


@pytest.fixture(scope="module")
def plan_rotation(cur):
    plan = plan_program(cur, "adult_mood_anxiety_3d", options=SolverOptions(time_limit=5))
    assert plan.ok
    return plan.rotation


def _cal(cur, rotation, cohort="", start=date(2026, 11, 2), weeks=4, closures=None):
    return build_calendar(
        rotation, curriculum=cur, program_id="adult_mood_anxiety_3d", start=start,
        weeks=weeks, cohort_id=cohort, extra_closures=closures or {},
    )  # fmt: skip


def test_two_cohorts_share_no_uid_and_are_named(cur, plan_rotation, tmp_path) -> None:
    """Two cohorts' plans imported into one shared calendar: every session stays."""
    a = _events(to_ics(_cal(cur, plan_rotation, "C01"), tmp_path / "a.ics"))
    b = _events(to_ics(_cal(cur, plan_rotation, "C 02"), tmp_path / "b.ics"))
    assert len(a) == len(b) > 0 and not set(a) & set(b)
    assert all(uid.startswith("adult_mood_anxiety_3d-C01-") for uid in a)
    assert all("-C%2002-" in uid for uid in b)  # percent-encoded (RFC 3986)
    assert all(str(e["SUMMARY"]).startswith("C01: ") for e in a.values())
    name = icalendar.Calendar.from_ical((tmp_path / "a.ics").read_bytes())["X-WR-CALNAME"]
    assert "cohort C01" in str(name)
    with pytest.raises(InputError, match="cohort id"):
        _cal(cur, plan_rotation, "../etc")


def test_uids_stable_and_sequence_rises_only_for_changed_sessions(
    cur, plan_rotation, tmp_path
) -> None:
    path = tmp_path / "calendar_C01.ics"
    first = _events(to_ics(_cal(cur, plan_rotation, "C01"), path))
    assert {int(e["SEQUENCE"]) for e in first.values()} == {0}
    same = _events(to_ics(_cal(cur, plan_rotation, "C01"), path))  # re-plan, no change
    assert set(same) == set(first) and {int(e["SEQUENCE"]) for e in same.values()} == {0}
    # a closure on Wednesday 4 Nov: that session is cancelled, later ones change skill
    closed = date(2026, 11, 4)
    again = _events(to_ics(_cal(cur, plan_rotation, "C01", closures={closed: "x"}), path))
    assert set(again) == set(first)  # same UIDs; the closed day's is kept as CANCELLED
    gone = again["adult_mood_anxiety_3d-C01-20261104-1@iopkit"]
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 1
    for uid, ev in again.items():
        seen = ("SUMMARY", "DESCRIPTION", "DTSTART", "DTEND", "STATUS")
        changed = any(str(ev.get(k)) != str(first[uid].get(k)) for k in seen)
        assert int(ev["SEQUENCE"]) == (1 if changed else 0), uid
    assert int(again["adult_mood_anxiety_3d-C01-20261102-1@iopkit"]["SEQUENCE"]) == 0
    assert any(int(e["SEQUENCE"]) == 1 for u, e in again.items() if u != gone["UID"])
    # once more with the same closure: nothing changes, nothing rises
    last = _events(to_ics(_cal(cur, plan_rotation, "C01", closures={closed: "x"}), path))
    assert {u: int(e["SEQUENCE"]) for u, e in last.items()} == {
        u: int(e["SEQUENCE"]) for u, e in again.items()
    }


def test_unreadable_previous_calendar_is_refused(cur, plan_rotation, tmp_path) -> None:
    path = tmp_path / "calendar.ics"
    path.write_text("this is not a calendar")
    with pytest.raises(InputError, match="SEQUENCE"):
        to_ics(_cal(cur, plan_rotation), path)


def test_second_parser_reads_program_local_times(cur, plan_rotation, tmp_path) -> None:
    """The `ics` package (independent of icalendar) reads 09:00 America/New_York: 14:00
    UTC in November (EST, UTC−5) and 13:00 UTC in June (EDT, UTC−4)."""
    ics = pytest.importorskip("ics")
    for start, utc_hour in ((date(2026, 11, 2), 14), (date(2026, 6, 1), 13)):
        cal = _cal(cur, plan_rotation, "C01", start=start)
        assert cal.time_zone == "America/New_York"  # from the program file
        text = to_ics(cal, tmp_path / f"{start}.ics").read_text()
        assert "BEGIN:VTIMEZONE" in text and "TZID:America/New_York" in text
        events = sorted(ics.Calendar(text).events, key=lambda e: e.begin)
        assert len(events) == len(cal.sessions)
        for ev, day in zip(events, cal.sessions["date"], strict=True):
            assert ev.begin.date() == day
            assert (ev.begin.hour, ev.begin.minute) == (9, 0)
            utc = ev.begin.to("UTC")
            assert (utc.hour, utc.minute) == (utc_hour, 0)


def test_time_zone_comes_from_the_program_file_or_its_holiday_country(cur) -> None:
    from iopkit.curriculum.models import Program, region_time_zone

    assert cur.program("adult_mood_anxiety_3d").zone_name == "America/New_York"
    assert region_time_zone("DE") == "Europe/Berlin"  # Berlin and Busingen agree
    assert region_time_zone("FR") == "Europe/Paris"
    assert region_time_zone("US") is None  # several zones: never guessed
    data = cur.program("adult_mood_anxiety_3d").model_dump()
    data["time_zone"] = None
    data["closure_rules"] = {"country": "DE"}
    assert Program(**data).zone_name == "Europe/Berlin"
    data["time_zone"] = "Mars/Olympus"
    with pytest.raises(ValueError, match="IANA"):
        Program(**data)


def test_per_facilitator_calendar_holds_the_sessions_they_can_lead(
    cur, plan_rotation, tmp_path
) -> None:
    cal = _cal(cur, plan_rotation, "C01")
    prog = cur.program("adult_mood_anxiety_3d")
    for fac in prog.facilitators:
        mine = _events(to_ics(cal, tmp_path / f"{fac.id}.ics", facilitator=fac.id))
        assert mine, fac.id
        for ev in mine.values():
            day = ev["DTSTART"].dt.date()
            assert day.weekday() in fac.weekdays
            row = cal.sessions[cal.sessions["date"] == day].iloc[0]
            need = cur.training_for(row["skill_id"])
            assert need is None or need in fac.trainings
    fac_c = _events(tmp_path.joinpath("fac_c.ics"))
    assert {e["DTSTART"].dt.weekday() for e in fac_c.values()} == {4}  # Fridays only


def test_xlsx_time_cells_row_heights_and_print_setup(cur, plan_rotation, tmp_path) -> None:
    from datetime import time

    from iopkit.calendar import LINE_HEIGHT_PT, wrapped_lines

    cal = _cal(cur, plan_rotation, "C01")
    wb = openpyxl.load_workbook(to_xlsx(cal, tmp_path / "c.xlsx"))
    sched = wb["Schedule"]
    header = [c.value for c in sched[1]]
    start = sched.cell(2, header.index("start") + 1)
    assert isinstance(start.value, time) and start.value == time(9, 0)
    assert start.number_format == "hh:mm"
    day = sched.cell(2, header.index("date") + 1)
    assert day.value.date() == cal.sessions["date"].iloc[0] and day.number_format == "yyyy-mm-dd"
    ag = wb["Agendas"]
    header = [c.value for c in ag[1]]
    content = header.index("content") + 1
    width = ag.column_dimensions[openpyxl.utils.get_column_letter(content)].width
    assert width == 60
    tall = 0
    for r in range(2, ag.max_row + 1):
        cell = ag.cell(r, content)
        assert isinstance(ag.cell(r, header.index("end") + 1).value, time)
        need = wrapped_lines(cell.value, width)
        height = ag.row_dimensions[r].height
        if need > 1:
            assert cell.alignment.wrap_text
            assert height == need * LINE_HEIGHT_PT  # fits the wrapped text
            tall += 1
        else:
            assert height is None  # the default height fits one line
    assert tall > 0
    assert ag.page_setup.fitToWidth == 1 and ag.page_setup.fitToHeight == 0
    assert ag.sheet_properties.pageSetUpPr.fitToPage
    assert ag.print_title_rows == "$1:$1" and ag.page_setup.orientation == "landscape"
    assert "cohort C01" in ag.oddHeader.center.text


def test_wrapped_lines_counts_breaks_and_long_lines() -> None:
    from iopkit.calendar import wrapped_lines

    assert wrapped_lines("", 60) == 1
    assert wrapped_lines("a" * 59, 60) == 1
    assert wrapped_lines("a" * 60, 60) == 2
    assert wrapped_lines("a\nb\n" + "c" * 150, 60) == 2 + 3
