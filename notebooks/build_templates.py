"""Build the report templates in this folder (run: ``python notebooks/build_templates.py``).

The committed ``.ipynb`` files are the templates; this script is how they are written, so
their structure stays reviewable in a diff: exactly one cell tagged ``parameters`` (literal
defaults that run on the synthetic demo bundle, one ``name: type = value  # help`` per line
— papermill's pattern, no ``=`` inside the help), parameter checks in the first cell after
it, and every computation done by :mod:`iopkit` (cells are a few lines). Outputs are never
committed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

# Cells shared by the outcome reports -------------------------------------------------------
IMPORTS = """\
from IPython.display import Markdown, display

from iopkit import outcomes, plots
from iopkit.reports import checks, record
from iopkit.reports.data import episode_flags, open_source, scale_label, severity_bands
from iopkit.reports.display import figure, note, show
from iopkit.reports import tables"""


def _nb(title: str, intro: str, params: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    p = new_code_cell(params.strip("\n"))
    p.metadata["tags"] = ["parameters"]
    out = [new_markdown_cell(f"# {title}\n\n{intro}"), p]
    for kind, src in cells:
        src = src.strip("\n")
        out.append(new_markdown_cell(src) if kind == "md" else new_code_cell(src))
    return new_notebook(
        cells=out,
        metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
    )


def cohort_outcomes() -> nbformat.NotebookNode:
    params = """
data_source: str = "synthetic:demo"  # bundle folder, .xlsx, .sqlite, database URL or synthetic:demo
cohort_id: str = "C01"  # pseudonymous cohort ID
start_date: str = ""  # ISO date, first day of the period (blank for no limit)
end_date: str = ""  # ISO date, last day of the period (blank for the latest data)
scale: str = "phq9"  # primary outcome scale (registry id)
second_scale: str = "gad7"  # second outcome scale (blank for none)
suppress_below: int = 11  # counts 1 to k-1 are hidden (CMS/ResDAC k 11); 0 or 1 shows all
"""
    cells = [
        ("code", IMPORTS + """

checks.iso_dates(start_date=start_date, end_date=end_date)
checks.scale(scale)
if second_scale:
    checks.scale(second_scale)
data = open_source(data_source)
checks.cohort(data, cohort_id)
cohort = tables.select_period(
    data, cohort_id=cohort_id, start_date=start_date, end_date=end_date
)
eps = cohort["episodes"]
k = checks.suppression(suppress_below)
hidden = f"counts 1–{k - 1} hidden" if k > 1 else "small cells shown (suppression off)"
note(
    f"**Cohort {cohort_id}** · {len(eps)} episodes · period {start_date or 'start'} to "
    f"{end_date or 'latest data'} · rows rejected by validation: {data.n_rejected} · {hidden}"
)
record("cohort_id", cohort_id)
record("n_episodes", len(eps))"""),
        ("md", """
## 1. Safety and measurement-based-care flags

Raised flags of active episodes, safety first (pseudonymous episode IDs only). Flags are
for same-day clinical follow-up and are never suppressed."""),
        ("code", """
flags = episode_flags(cohort)
if len(flags):
    show(flags[["episode_id", "flag", "status", "value", "date", "rule"]], "Raised flags")
else:
    note(f"No raised flag among {int(eps['discharge_date'].isna().sum())} active episodes.")
record("n_flags", len(flags))
record("n_safety_flags", int((flags["flag"] == "safety").sum()))"""),
        ("md", "## 2. Census and flow"),
        ("code", """
show(outcomes.suppress(tables.census(eps, end_date=end_date), ["n"], k=k),
     "Admissions and discharges")
show(outcomes.hide_small_groups(outcomes.length_of_stay(eps), k=k),
     "Length of stay by discharge type (calendar days)")"""),
        ("md", """
## 3. Attendance

Share of scheduled days by status in each week of stay; a week with fewer than k people
scheduled is not drawn (small-cell rule) and is named under the figure."""),
        ("code", """
att = outcomes.attendance_summary(cohort["attendance"], eps)
weekly = outcomes.hide_small_groups(tables.weekly_attendance(cohort["attendance"], eps),
                                    n_col="n_episodes", stat_cols=["n"], k=k)
figure(plots.attendance(weekly, x_label="Week of stay",
                        title=f"Attendance by week of stay, {cohort_id}"))
rate = float(att["n_attended"].sum() / max(att["n_scheduled"].sum(), 1))
runs = int((att["longest_unexcused_run"] >= 2).sum())
runs_text = f"fewer than {k}" if outcomes.small_cells(runs, k) else str(runs)
note(f"Attended {rate:.0%} of scheduled days (present or late); {runs_text} episodes had "
     "≥ 2 consecutive unexcused absences.")
record("attendance_rate", round(rate, 4))"""),
        ("md", """
## 4. Symptom trajectories

Thin grey lines: individual episodes (pseudonymous; this report is for the care team);
bold line: weekly mean with 95 % t interval (`iopkit.outcomes.weekly_trajectory`), drawn
only for weeks with at least k people measured — the weeks left out are named under the
figure (same small-cell rule as the tables); shading: the scale's severity bands."""),
        ("code", """
for sc in [s for s in (scale, second_scale) if s]:
    weekly = outcomes.hide_small_groups(outcomes.weekly_trajectory(cohort.scores, eps, scale=sc),
                                        stat_cols=["mean", "sd", "ci_low", "ci_high"], k=k)
    figure(plots.trajectories(
        outcomes.with_weeks(cohort.scores, eps, scale=sc), mean=weekly,
        bands=severity_bands(sc), scale_label=scale_label(sc),
        x_label="Weeks since admission (week 0 = days 0–6)",
    ))"""),
        ("md", """
## 5. Admission vs discharge

Grey lines: individual episodes with both scores (care-team view); boxes (median and
quartiles) only when at least k episodes have both."""),
        ("code", """
o = outcomes.episode_outcomes(cohort.scores, eps, scale=scale)
figure(plots.admission_discharge(
    o, bands=severity_bands(scale), scale_label=scale_label(scale), min_group=k
))"""),
        ("md", """
## 6. Reliable change

Jacobson & Truax (1991): one point per episode (care-team view); points inside the grey band
changed by less than the reliable-change threshold; dashed lines mark the clinical cut-off."""),
        ("code", """
figure(plots.reliable_change_plot(
    o, rc_points=tables.reliable_change_points(o), cutoff=float(o["cutoff"].dropna().iloc[0]),
    scale_label=scale_label(scale),
))"""),
        ("md", "## 7. Response, remission and change categories"),
        ("code", """
summary = outcomes.cohort_summary(o, by=None)
rates = outcomes.suppress_rates(tables.rates_table(summary), count_col="count", rate_col="rate_%",
                                hide_cols=["ci_95_%"], k=k)
show(rates, f"{scale_label(scale)} rates among episodes with baseline and endpoint")
show(outcomes.suppress(tables.category_table(o), tables.CASE_STRATA, k=k),
     "Jacobson–Truax categories by baseline caseness")
resp = rates.loc[rates["outcome"] == "response", "rate_%"]
record("response_rate_pct", None if resp.isna().all() else float(resp.iloc[0]))"""),
        ("md", "## 8. Means and effect sizes"),
        ("code", """
means = outcomes.hide_small_groups(tables.mean_table(summary), k=k)
show(means, f"{scale_label(scale)} means (95 % t interval)")
show(outcomes.hide_small_groups(tables.effect_size_table(summary), k=k),
     "Pre–post effect sizes (paired)")
change = means[(means["analysis_set"] == "paired") & (means["statistic"] == "change_mean")]
record("mean_change_paired", float(change["estimate"].iloc[0]) if len(change) else None)"""),
        ("md", "## 9. Goals and care coordination"),
        ("code", """
show(outcomes.suppress(tables.goals_overview(cohort["goals"]),
                       ["met", "partial", "not_met", "pending"], k=k),
     "Goals by horizon and status")
coord = tables.coordination_overview(outcomes.care_coordination(cohort["events"], eps))
show(outcomes.suppress(coord, ["episodes"], k=k),
     f"Episodes with each care-coordination event (of {len(eps)})")"""),
        ("md", "## 10. Skill exposure"),
        ("code", """
exposure = outcomes.skill_exposure(cohort["attendance"], cohort["sessions"], eps)
by_modality = outcomes.hide_small_groups(tables.modality_sessions(exposure), n_col="episodes",
                                         stat_cols=["sessions"], k=k)
figure(plots.modality_balance(
    by_modality, value_label="attended skill sessions",
    title=f"Attended skill sessions by modality, {cohort_id}",
))
wide = outcomes.exposure_by_episode(exposure, eps)
skills = wide["n_distinct_skills"].median()
median = f"hidden (<{k})" if outcomes.small_cells(len(wide), k) else f"{skills:.0f}"
note(f"Median distinct skills met per episode: {median}.")"""),
    ]
    return _nb(
        "Cohort outcome report",
        "Census and flow, attendance, symptom trajectories, reliable change, response and "
        "remission, effect sizes, goals, care coordination and skill exposure for one "
        "cohort. Methods and sources: `docs/outcomes.md`; small cells are suppressed by "
        "default (CMS/ResDAC cell-size rule).",
        params,
        cells,
    )


def patient_progress() -> nbformat.NotebookNode:
    params = """
data_source: str = "synthetic:demo"  # bundle folder, .xlsx, .sqlite, database URL or synthetic:demo
episode_id: str = "E00123"  # pseudonymous episode ID
scale: str = "phq9"  # primary outcome scale (registry id)
"""
    cells = [
        ("code", IMPORTS + """
from iopkit import calendar
from iopkit.curriculum import load_curriculum
from iopkit.reports.drafts import discharge_plan

checks.scale(scale)
data = open_source(data_source)
checks.episode(data, episode_id)
ep = tables.episode_summary(data, episode_id)
cohort = tables.select_period(data, cohort_id=ep["cohort_id"])
mine = data.scores[data.scores["episode_id"] == episode_id]
note(f"**Episode {episode_id}** · cohort {ep['cohort_id']} · admitted {ep['admit_date']} · "
     f"{ep['status']} · planned {ep['planned_weeks']} weeks")
record("episode_id", episode_id)"""),
        ("md", "## 1. Flags (safety first)"),
        ("code", """
flags = episode_flags(cohort)
flags = flags[flags["episode_id"] == episode_id]
if len(flags):
    show(flags[["flag", "status", "value", "date", "rule"]], "Raised flags")
else:
    note("No raised flag." if ep["active"] else "Flags are evaluated for active episodes only.")
record("n_flags", len(flags))"""),
        ("md", "## 2. Scores against the severity bands"),
        ("code", """
for sc in mine["scale"].drop_duplicates():
    s = mine[(mine["scale"] == sc) & mine["total"].notna()].rename(columns={"total": "score"})
    if len(severity_bands(sc)) and len(s) > 1:
        figure(plots.patient_scores(s, bands=severity_bands(sc), scale_label=scale_label(sc)))
show(mine[["date", "scale", "total", "band", "status"]].sort_values(["scale", "date"]),
     "All assessments")"""),
        ("md", """
## 3. Reliable change

Reliable change (Jacobson & Truax 1991) with the SD of the patient's cohort at admission;
response = ≥ 50 % reduction, remission per the registry's threshold."""),
        ("code", """
rc = tables.episode_change(data, episode_id, [scale, "phq9", "gad7"])
show(rc[["scale_label", "baseline", "endpoint", "change", "rci", "reliable_improvement",
         "reliable_deterioration", "response", "remission", "category", "band"]],
     "Change since admission")"""),
        ("md", "## 4. Goals"),
        ("code", """
goals = data["goals"][data["goals"]["episode_id"] == episode_id]
show(goals[["set_date", "horizon", "goal_no", "goal", "status", "review_date"]], "Goals")"""),
        ("md", "## 5. Skills met, core skills missed, make-up list"),
        ("code", """
cur = load_curriculum()
program = cur.programs[ep["program_id"]]
att = data["attendance"][data["attendance"]["episode_id"] == episode_id]
sessions = tables.stay_sessions(data, cohort_id=ep["cohort_id"], program_id=program.id,
                               admit_date=ep["admit_date"], min_sessions=program.min_sessions)
view = calendar.patient_view(
    sessions, admit_date=ep["admit_date"], core=cur.core_skills(program.id),
    min_sessions=program.min_sessions, attendance=att, discharge_date=ep["discharge_date"],
)
if sessions["planned"].any():
    note(f"Sessions after {sessions.loc[~sessions['planned'], 'date'].max():%Y-%m-%d} are "
         "projected from the program's planned rotation.")
titles = {s: cur.skill(s).title for s in view["skill_id"]}
show(view.assign(title=view["skill_id"].map(titles)),
     f"Skills during the stay ({program.name})")"""),
        ("md", "## 6. Discharge plan (draft for the clinician)"),
        ("code", """
display(Markdown(discharge_plan(
    episode_id=episode_id, skills=view, titles=titles, flags=flags, latest=rc,
    events=data["events"][data["events"]["episode_id"] == episode_id],
)))"""),
    ]
    return _nb(
        "Patient progress",
        "One episode's scores against the severity bands, reliable change, goals, skills met "
        "and missed with a make-up list, and a discharge-plan draft for the clinician to "
        "complete. Pseudonymous IDs only.",
        params,
        cells,
    )


def program_outcomes() -> nbformat.NotebookNode:
    params = """
data_source: str = "synthetic:demo"  # bundle folder, .xlsx, .sqlite, database URL or synthetic:demo
start_date: str = ""  # ISO date, first day of the period (blank for no limit)
end_date: str = ""  # ISO date, last day of the period (blank for the latest data)
suppress_below: int = 11  # counts 1 to k-1 are hidden (CMS/ResDAC k 11); 0 or 1 shows all
"""
    cells = [
        ("code", IMPORTS + """

checks.iso_dates(start_date=start_date, end_date=end_date)
data = open_source(data_source)
prog = tables.select_period(data, start_date=start_date, end_date=end_date)
eps = prog["episodes"]
k = checks.suppression(suppress_below)
note(f"**All cohorts** · {eps['cohort_id'].nunique()} cohorts · {len(eps)} episodes · period "
     f"{start_date or 'start'} to {end_date or 'latest data'} · rows rejected by validation: "
     f"{data.n_rejected}")
record("n_cohorts", int(eps["cohort_id"].nunique()))
record("n_episodes", len(eps))"""),
        ("md", "## 1. Census by cohort"),
        ("code", """
census = tables.census_by_cohort(eps, end_date=end_date)
parts = [c for c in census.columns if c not in ("cohort_id", "admissions")]
show(outcomes.suppress(census, parts, total_col="admissions", k=k),
     "Admissions, discharges by type and active episodes per cohort")"""),
        ("md", """
## 2. Intent-to-treat vs completers

ITT: every episode with a baseline score; paired: episodes with baseline and endpoint (last
observation); completers: discharge type *completed*. Means with 95 % t intervals."""),
        ("code", """
o = {sc: outcomes.episode_outcomes(prog.scores, eps, scale=sc, sd_by="cohort_id")
     for sc in ("phq9", "gad7")}
for sc, frame in o.items():
    summary = outcomes.cohort_summary(frame, by=None)
    show(outcomes.hide_small_groups(tables.mean_table(summary), k=k),
         f"{scale_label(sc)} by analysis set")
    show(outcomes.suppress_rates(tables.rates_table(summary), count_col="count",
                                 rate_col="rate_%", hide_cols=["ci_95_%"], k=k),
         f"{scale_label(sc)} rates (paired)")"""),
        ("md", """
## 3. Mixed-effects trajectories

Linear mixed model `score ~ weeks` with a random intercept and slope per episode
(statsmodels MixedLM via `iopkit.outcomes.mixed_model`; all observed scores, no imputation).
The figure is aggregate only: weekly means with 95 % t intervals for weeks with at least k
people measured (the others are named under the figure) and the model's fixed-effect line;
no individual trajectories in the program report."""),
        ("code", """
for sc in ("phq9", "gad7"):
    long = outcomes.with_weeks(prog.scores, eps, scale=sc)
    model = outcomes.mixed_model(long, outcome="score", time="weeks", group="episode_id")
    show(model, f"{scale_label(sc)}: fixed effects (points; weeks since admission)")
    weekly = outcomes.hide_small_groups(outcomes.weekly_trajectory(prog.scores, eps, scale=sc),
                                        stat_cols=["mean", "sd", "ci_low", "ci_high"], k=k)
    figure(plots.trajectories(long, mean=weekly, fit=tables.fixed_line(model), individual=False,
                              bands=severity_bands(sc), scale_label=scale_label(sc),
                              x_label="Weeks since admission (week 0 = days 0–6)"))"""),
        ("md", "## 4. Cohort comparison"),
        ("code", """
by_cohort = outcomes.cohort_summary(o["phq9"], by="cohort_id")
changes = tables.mean_table(by_cohort).query("statistic == 'change_mean'")
show(outcomes.hide_small_groups(changes, k=k), "PHQ-9 mean change by cohort")"""),
        ("md", """
## 5. The program beside published benchmarks

Published IOP/PHP figures and comparators from `../shared/reference/curriculum.md` §3
(sources and certainty in the last column: V = stated in the cited source, 3P = secondary
source). Settings differ (PHP vs IOP, weekly outpatient comparators); read them as
orientation, not as targets. "–" marks a program figure hidden by small-cell suppression
(fewer than `suppress_below` people behind it) or not available."""),
        ("code", """
figures = tables.program_figures(o, eps, prog["attendance"], k=k)
show(tables.benchmark_table(figures), "This program vs published figures")
for key in ("phq9_mean_reduction", "phq9_response_pct", "completion_pct", "nonattendance_day_pct"):
    record(key, round(figures[key], 2))"""),
    ]
    return _nb(
        "Program outcomes",
        "All cohorts of the program: census, intent-to-treat vs completers, mixed-effects "
        "trajectories, cohort comparison, and the program's figures beside published "
        "benchmarks. Small cells are suppressed by default (CMS/ResDAC cell-size rule).",
        params,
        cells,
    )


def curriculum_plan() -> nbformat.NotebookNode:
    params = """
data_source: str = "synthetic:demo"  # bundle with the cohort (blank to plan from the program alone)
cohort_id: str = "C01"  # pseudonymous cohort ID (blank to plan from the program alone)
program_id: str = ""  # program in curriculum/programs (blank for the cohort's program)
start_date: str = ""  # ISO date, first day of the plan (blank for the cohort's start date)
weeks: int = 6  # weeks to lay out on the calendar
concern_mix: str = ""  # e.g. depression:0.6,anxiety:0.4 (blank for the cohort's primary concerns)
time_limit: float = 10.0  # seconds for the CP-SAT planner
output_dir: str = "."  # where the .ics/.xlsx/.csv exports are written (set by the runner)
"""
    cells = [
        ("code", """
import datetime as dt
from pathlib import Path

from iopkit import calendar, plots, rotation
from iopkit.curriculum import load_curriculum
from iopkit.reports import checks, record
from iopkit.reports.display import figure, note, show
from iopkit.reports import tables
from iopkit.reports.data import open_source

checks.iso_dates(start_date=start_date)
checks.positive(weeks=weeks, time_limit=time_limit)
cur = load_curriculum()
plan_inputs = tables.plan_inputs(
    open_source(data_source) if data_source and cohort_id else None,
    cohort_id=cohort_id, program_id=program_id, start_date=start_date, concern_mix=concern_mix,
)
checks.program(plan_inputs["program_id"])
program = cur.programs[plan_inputs["program_id"]]
note(f"**{program.name}** · cohort {cohort_id or '–'} · from {plan_inputs['start']} for "
     f"{weeks} weeks · concern mix: {plan_inputs['mix_text']}")
record("program_id", program.id)"""),
        ("md", "## 1. Rotation (one cycle)"),
        ("code", """
problem = rotation.problem_from_program(cur, program.id, mix=plan_inputs["mix"])
plan = rotation.plan_rotation(problem, time_limit=time_limit, num_workers=1)
note(f"Planner status: **{plan.status}** — {plan.explanation or ''}")
show(plan.rotation, f"Cycle of {len(plan.rotation)} sessions")
record("cycle_sessions", len(plan.rotation))"""),
        ("md", "## 2. Dated plan with agendas"),
        ("code", """
cal = calendar.build_calendar(plan.rotation, curriculum=cur, program_id=program.id,
                              start=plan_inputs["start"], weeks=weeks)
show(cal.sessions[["date", "weekday", "session_no", "title", "modality", "core", "moved"]],
     f"Sessions from {plan_inputs['start']}", max_rows=200)
if len(cal.closed):
    show(cal.closed, "Closed days (the rotation pauses)")
first = cal.agendas[cal.agendas["date"] == cal.agendas["date"].min()]
show(first[["title", "start", "end", "minutes", "content"]], "Agenda of the first day")"""),
        ("md", """
## 3. Coverage proof per admission day

Times each core skill is taught in the minimum stay after each admission slot; a 0 would be
a core skill missed by a patient admitted that day who stays the minimum."""),
        ("code", """
matrix = tables.coverage_matrix(plan.sequence, core=problem.core, window=problem.window,
                                weekdays=problem.weekdays, admit_weekdays=problem.admit_weekdays)
figure(plots.coverage_heatmap(matrix, value_label="sessions in the minimum stay"))
summary = rotation.coverage_summary(rotation.coverage_table(
    plan.sequence, core=problem.core, window=problem.window, weekdays=problem.weekdays,
    admit_weekdays=problem.admit_weekdays, requires=problem.requires))
note(f"Share of admission slots with every core skill: **{summary['share_fully_covered']:.0%}**; "
     f"worst case {summary['worst_sessions_to_cover']:.0f} sessions to meet all core skills.")
record("share_fully_covered", float(summary["share_fully_covered"]))"""),
        ("md", "## 4. Modality balance"),
        ("code", """
figure(plots.modality_balance(tables.rotation_modalities(plan.rotation),
                              value_label="sessions per cycle",
                              title="Modality balance of the cycle"))"""),
        ("md", "## 5. Comparison with the baselines"),
        ("code", """
show(rotation.compare_with_baselines(plan, cur),
     "Planned rotation vs round-robin and module blocks (same window and core)")"""),
        ("md", "## 6. Exports"),
        ("code", """
out = Path(output_dir)
files = [calendar.to_ics(cal, out / "plan.ics"), calendar.to_xlsx(cal, out / "plan.xlsx")]
files += calendar.to_csv(cal, out)
note("Files beside this report: " + " · ".join(f"[{p.name}]({p.name})" for p in files))"""),
    ]
    return _nb(
        "Curriculum plan",
        "A dated skills plan for a cohort: the rotation, sessions with agendas, the coverage "
        "proof per admission day, modality balance, the comparison with simple baselines, and "
        "calendar/workbook exports.",
        params,
        cells,
    )


def write_all() -> list[Path]:
    """Write every template; returns the paths."""
    paths = []
    builders = {
        "curriculum_plan": curriculum_plan,
        "cohort_outcomes": cohort_outcomes,
        "patient_progress": patient_progress,
        "program_outcomes": program_outcomes,
    }
    for name, build in builders.items():
        path = HERE / f"{name}.ipynb"
        nb = build()
        for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
            cell["id"] = f"{name[:12]}-{i:02d}"
        nbformat.validate(nb)
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_all():
        print(p)
