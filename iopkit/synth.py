"""Synthetic IOP program data: a realistic bundle that contains no real patient.

:func:`synthesize` builds every table of the data contract (see ``docs/data.md``) for one
program of ``curriculum/programs`` — cohorts with rolling admission on the program's
admission days, stays, attendance, delivered sessions, item-level assessments on the
program's measurement schedule, goals and events — deterministically for a seed (one
:class:`numpy.random.Generator`, vectorised; 10,000 episodes take a few seconds).

Calibration targets (iopkit design decision [D], docs/data.md "Synthetic program",
anchored on Zimmerman 2021 completion 62–73 % (J Clin Psychiatry 82(2):20m13815), NHS Talking
Therapies 2022–23 PHQ-9 15.4 (5.5) → 9.4 (6.4) and GAD-7 14.0 (4.5) → 8.4 (5.7) (cbtwatch.com,
secondary), Kaiser response 46 % / remission 22 % (doi 10.1176/appi.ps.201900295), PHP
non-attendance 7 % of patient-days (doi 10.1176/appi.ps.201400416)):

* PHQ-9 about 16 ± 5 at admission, about 9–10 ± 6 at discharge; GAD-7 13–14 ± 5 → 8–9 ± 6;
* response (≥ 50 % reduction) 40–55 %, remission (PHQ-9 < 5) 20–30 % among completers;
* completion 60–75 %, the rest stepped up, dropped out, a few administrative or transferred;
* day-level non-attendance about 7–15 %, rising in the weeks before a drop-out.

Modelling choices [D] (not literature facts): one episode per patient; cohorts start every
two weeks and admit for ten weeks; improvement follows ``1 − exp(−weeks / 1.6)`` towards a
patient-level fraction drawn from a mixture of responders, partial responders,
non-responders and worseners; concern-specific scale baselines sit above each scale's
registry's clinical norm or :data:`SCALE_BASELINES`. Skills taught: by default
(``rotation="catalog"``) the generator does NOT call the CP-SAT planner — it must be fast
and bit-for-bit deterministic, and a time-limited solve is neither — but cycles the
program's core skills in catalog order, once per minimum stay, filling the remaining slots
with the program's electives in catalog order. ``rotation="plan"`` follows the cycle
planned by :func:`iopkit.rotation.plan_program` (single worker, a limit of 5 units of
CP-SAT deterministic time: identical runs on a busy or a quiet machine), and ``skills=``
takes any cycle of skill ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from iopkit.curriculum import Program, load_curriculum
from iopkit.data.bundle import Bundle
from iopkit.data.catalog import ScaleSpec, scale_specs
from iopkit.data.schemas import TABLES
from iopkit.errors import ConfigError, InputError
from iopkit.vocab import PATIENT_CONCERNS as CONCERNS

__all__ = ["SCALE_BASELINES", "DISCHARGE_MIX", "synthesize"]

#: Discharge-type mix [D]: completion 68 % sits inside the published 62.3–72.9 %
#: (Zimmerman 2021, J Clin Psychiatry 82(2):20m13815).
DISCHARGE_MIX: dict[str, float] = {
    "completed": 0.68,
    "stepped_up": 0.08,
    "dropped_out": 0.19,
    "administrative": 0.03,
    "transferred": 0.02,
}

#: Admission mean and SD (points) where iopkit sets its own target. phq9/gad7: iopkit
#: synthetic targets [D] (NHS TT 2022–23: PHQ-9 15.4 (5.5), GAD-7 14.0 (4.5)). isi, asrs,
#: wsas, asq [D]: isi inside the moderate band 15–21 and asrs (6 items) above the screening
#: sum ≥ 14 (ISI bands: Morin et al. 2011, Sleep 34:601; ASRS sum: Harvard HCP 2024
#: update). Other scales use the registry's clinical norm.
SCALE_BASELINES: dict[str, tuple[float, float]] = {
    "phq9": (16.0, 5.0),
    "gad7": (13.5, 4.5),
    "isi": (17.0, 4.5),
    "asrs": (15.0, 4.0),
    "wsas": (20.0, 8.0),
    "asq": (0.6, 0.8),
}
_GENERIC_BASELINE = (0.45, 0.16)  # fraction of the total range [D], for any other scale

#: Primary-concern weights [D] (adult transdiagnostic IOP), restricted to the program's concerns.
_CONCERN_WEIGHTS = {
    "depression": 0.42,
    "anxiety": 0.22,
    "panic": 0.07,
    "ptsd": 0.11,
    "ocd": 0.05,
    "adhd": 0.03,
    "insomnia": 0.04,
    "other": 0.06,
}
#: Probability of each concern as a secondary concern [D].
_COMORBID = {
    "depression": 0.30,
    "anxiety": 0.35,
    "panic": 0.10,
    "ptsd": 0.10,
    "ocd": 0.04,
    "adhd": 0.06,
    "insomnia": 0.30,
    "other": 0.03,
}
_REFERRALS = {
    "outpatient": 0.45,
    "php_step_down": 0.18,
    "inpatient_step_down": 0.12,
    "emergency": 0.07,
    "self": 0.13,
    "other": 0.05,
}
#: Improvement mixture [D]: (share, mean fraction of baseline lost, SD). Calibrated so the
#: §3 targets hold (tests/test_synth.py checks them).
_RESPONSE_CLASSES = (
    (0.44, 0.78, 0.15),  # responders
    (0.27, 0.35, 0.10),  # partial responders
    (0.20, 0.03, 0.08),  # non-responders
    (0.09, -0.45, 0.15),  # worsen
)
_TAU_WEEKS = 1.6
_P_MISSING_ITEM = 0.004  # per item and administration [D]
_ATTEND_BETA = (13.0, 1.6)  # patient attendance rate, mean ≈ 0.89 [D]
_GOAL_TEXTS = np.array(
    [
        "Practise paced breathing twice a day",
        "Complete the daily thought record",
        "Schedule three pleasant activities",
        "Keep the sleep diary every morning",
        "Use a distress-tolerance skill when urges rise",
        "Walk for 20 minutes on three days",
        "Practise one DEAR MAN request",
        "Follow the agreed wake-up time",
        "Do one exposure step from the hierarchy",
        "Notice and name emotions three times a day",
        "Review the safety plan with a support person",
        "Attend every program day this week",
    ]
)
_ADMIT_WINDOW_DAYS = 70  # a cohort admits for ten weeks [D]
_COHORT_SPACING_DAYS = 14


@dataclass(frozen=True)
class _Calendar:
    mask: str
    admit_mask: str
    holidays: np.ndarray

    def offset(self, dates: np.ndarray, k: np.ndarray | int, admit: bool = False) -> np.ndarray:
        return np.busday_offset(
            dates,
            k,
            roll="forward",
            weekmask=self.admit_mask if admit else self.mask,
            holidays=self.holidays,
        )

    def count(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.busday_count(a, b, weekmask=self.mask, holidays=self.holidays)


def _weekmask(days: Sequence[int]) -> str:
    return "".join("1" if d in set(days) else "0" for d in range(7))


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _choice(rng: np.random.Generator, weights: Mapping[str, float], n: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-parent counts, the parent index and 0-based position of every child row."""
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return parent, np.arange(len(parent)) - starts


def _skill_cycle(core: list[str], electives: list[str], window: int, k: np.ndarray) -> np.ndarray:
    """Skill of session ``k`` (0-based, per cohort) when no planned rotation is given.

    A cycle of ``max(window, len(core))`` sessions (window = minimum stay in sessions)
    teaches every core skill once in catalog order, then fills the remaining slots with
    electives in catalog order, continuing through the elective list from cycle to cycle.
    With only ``core`` given (an explicit sequence), that sequence is simply repeated.
    """
    if not electives:
        return np.array(core, dtype=object)[k % len(core)]
    length = max(window, len(core) + (1 if electives else 0))
    slots = length - len(core)
    cycle_no, pos = k // length, k % length
    el = np.array(electives, dtype=object)[(cycle_no * slots + pos - len(core)) % len(electives)]
    if not core:
        return el
    return np.where(
        pos < len(core), np.array(core, dtype=object)[np.minimum(pos, len(core) - 1)], el
    )


def _weekday_pos(dates: np.ndarray, weekdays: Sequence[int]) -> np.ndarray:
    """Position of each date's weekday among the program days (Mon = 0 convention)."""
    wd = (dates.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    order = {d: i for i, d in enumerate(sorted(weekdays))}
    return np.array([order.get(int(w), 0) for w in wd], dtype=np.int64)


def _planned_cycle(program_id: str, seed: int) -> list[str]:
    """The skills cycle planned by :func:`iopkit.rotation.plan_program` (CP-SAT, ≤ ~5 s)."""
    from iopkit.rotation import SolverOptions, plan_program

    # one worker and deterministic time: the same cycle every run, whatever the machine's load
    options = SolverOptions(time_limit=5.0, seed=seed, deterministic=True)
    plan = plan_program(load_curriculum(), program_id, options=options)
    if not plan.ok:
        raise InputError(f"no rotation found for {program_id}: {' '.join(plan.explanation)}")
    return list(plan.sequence)


def _d64(d: date | str) -> np.datetime64:
    return np.datetime64(pd.Timestamp(d).date(), "D")


def synthesize(
    n_cohorts: int = 6,
    seed: int = 0,
    program_id: str | None = None,
    start: date | str = date(2025, 1, 6),
    *,
    episodes_per_cohort: int = 24,
    defects: bool = False,
    as_of: date | str | None = None,
    program: Program | None = None,
    skills: Sequence[str] | None = None,
    rotation: str = "catalog",
    scales: Mapping[str, ScaleSpec] | None = None,
) -> Bundle:
    """Generate a synthetic program bundle (deterministic for ``seed``).

    Parameters: ``n_cohorts`` groups of ``episodes_per_cohort`` episodes each, following
    ``program_id`` (default: :meth:`~iopkit.curriculum.Curriculum.default_program`) from
    ``start``.
    ``rotation``: ``"catalog"`` (default) or ``"plan"`` (see the module docstring).
    ``as_of`` cuts the data at a date (later admissions dropped; stays running on that date
    become active episodes with a blank discharge). ``program``, ``skills`` (the cycle of
    skill ids taught, in order) and ``scales`` (scale id → :class:`ScaleSpec`) override what
    is read from the curriculum and the scale registry.

    ``defects=True`` injects realistic defects (vocabulary typos, out-of-range items, exact
    duplicate rows, dates outside the episode, orphan references, discharge before admission,
    unreadable dates); ``bundle.defects`` lists each one (table, source_line, column, kind),
    so ``len(bundle.defects)`` is the number of rows the validator must reject directly.
    """
    if n_cohorts < 1 or episodes_per_cohort < 1:
        raise InputError("n_cohorts and episodes_per_cohort must be at least 1")
    rng = np.random.default_rng(seed)
    if program is not None:
        prog = program
    else:
        cur = load_curriculum()
        prog = cur.default_program() if program_id is None else cur.program(program_id)
    if skills is None and rotation == "plan":
        skills = _planned_cycle(prog.id, seed)
    elif rotation not in ("catalog", "plan"):
        raise InputError(f"rotation must be 'catalog' or 'plan', not {rotation!r}")
    aligned = skills is not None
    if skills is not None:
        core, electives = list(skills), []
    else:
        core, electives = load_curriculum().core_and_electives(prog.id)
    if not core and not electives:
        raise ConfigError(f"program {prog.id!r} has no group skills to teach")
    start64 = _d64(start)
    as_of64 = _d64(as_of) if as_of is not None else None
    horizon = start64 + np.timedelta64(
        _COHORT_SPACING_DAYS * min(n_cohorts, 26)
        + _ADMIT_WINDOW_DAYS
        + 7 * prog.max_weeks * 2
        + 90,
        "D",
    )
    hol = sorted(prog.closures(pd.Timestamp(start64).date(), pd.Timestamp(horizon).date()))
    admit_days = [d for d in prog.admission_weekdays if d in prog.weekdays] or list(prog.weekdays)
    cal = _Calendar(
        _weekmask(prog.weekdays), _weekmask(admit_days), np.array(hol, dtype="datetime64[D]")
    )
    dpw = len(prog.weekdays)

    # --- cohorts --------------------------------------------------------------------------
    c_idx = np.arange(n_cohorts)
    c_start = cal.offset(start64 + (c_idx % 26) * _COHORT_SPACING_DAYS, 0, admit=True)
    c_ids = _ids("C", n_cohorts, max(2, len(str(n_cohorts))))
    # facilitators: the program's, each on the weekdays they work (program file); a cohort
    # takes them in turn on each weekday. Without facilitators in the program: f1, f2.
    facs = prog.facilitators
    by_day = (
        {d: [f.id for f in facs if d in f.weekdays] or ["f1", "f2"] for d in range(7)}
        if facs
        else {d: ["f1", "f2"] for d in range(7)}
    )
    c_facs = [
        ";".join(dict.fromkeys(by_day[d][c % len(by_day[d])] for d in prog.weekdays)) for c in c_idx
    ]
    cohorts = pd.DataFrame(
        {
            "cohort_id": c_ids,
            "program_id": prog.id,
            "name": [f"{prog.name} — group {i + 1}" for i in c_idx],
            "start_date": c_start.astype("datetime64[ns]"),
            "facilitators": c_facs,
        }
    )

    # --- episodes -------------------------------------------------------------------------
    n = n_cohorts * episodes_per_cohort
    ep_c = np.repeat(c_idx, episodes_per_cohort)
    admit = cal.offset(c_start[ep_c] + rng.integers(0, _ADMIT_WINDOW_DAYS, n), 0, admit=True)
    order = np.lexsort((admit, ep_c))
    ep_c, admit = ep_c[order], admit[order]
    planned_weeks = rng.integers(prog.min_weeks, prog.max_weeks + 1, n)
    planned = planned_weeks * dpw
    dtype = _choice(rng, DISCHARGE_MIX, n)
    frac = np.ones(n)
    m = dtype == "dropped_out"
    frac[m] = rng.beta(1.4, 2.6, m.sum())
    m = dtype == "stepped_up"
    frac[m] = rng.uniform(0.2, 0.8, m.sum())
    m = np.isin(dtype, ["administrative", "transferred"])
    frac[m] = rng.uniform(0.3, 0.9, m.sum())
    n_sess = np.maximum(1, np.rint(frac * planned)).astype(int)
    n_sess[dtype == "completed"] = planned[dtype == "completed"]
    discharge = cal.offset(admit, n_sess - 1)
    active = np.zeros(n, dtype=bool)
    if as_of64 is not None:
        keep = admit <= as_of64
        ep_c, admit, planned_weeks, dtype, n_sess, discharge = (
            a[keep] for a in (ep_c, admit, planned_weeks, dtype, n_sess, discharge)
        )
        n = len(admit)
        active = discharge > as_of64
        n_sess = np.where(active, cal.count(admit, np.full(n, as_of64 + 1)), n_sess)
        discharge = np.where(active, np.datetime64("NaT"), discharge)
        dtype = np.where(active, None, dtype)
    last = cal.offset(admit, n_sess - 1)  # last program day of the stay (or of the data)
    e_ids = _ids("E", n, max(5, len(str(n))))
    p_ids = _ids("P", n, max(5, len(str(n))))
    episodes = pd.DataFrame(
        {
            "episode_id": e_ids,
            "patient_id": p_ids,
            "cohort_id": c_ids[ep_c],
            "admit_date": admit.astype("datetime64[ns]"),
            "discharge_date": discharge.astype("datetime64[ns]"),
            "discharge_type": pd.array(dtype, dtype="str"),
            "planned_weeks": pd.array(planned_weeks, dtype="Int64"),
        }
    )

    # --- patients -------------------------------------------------------------------------
    ages = (13, 18) if prog.population == "adolescent" else (18, 71)  # [D]
    allowed = [c for c in CONCERNS if c in set(prog.concerns)] or list(CONCERNS)
    primary = _choice(rng, {c: _CONCERN_WEIGHTS[c] for c in allowed}, n)
    co = {c: (rng.random(n) < p) & (primary != c) for c, p in _COMORBID.items()}
    other = np.array([";".join(c for c in CONCERNS if co[c][i]) for i in range(n)], dtype=object)
    other[other == ""] = None
    patients = pd.DataFrame(
        {
            "patient_id": p_ids,
            "birth_year": pd.array(
                admit.astype("datetime64[Y]").astype(int) + 1970 - rng.integers(*ages, n),
                dtype="Int64",
            ),
            "sex": _choice(rng, {"female": 0.64, "male": 0.33, "other": 0.02, "unknown": 0.01}, n),
            "primary_concern": primary,
            "other_concerns": other,
            "referral_source": _choice(rng, _REFERRALS, n),
        }
    )
    concern_sets = [frozenset([primary[i], *(c for c in CONCERNS if co[c][i])]) for i in range(n)]

    # --- attendance -----------------------------------------------------------------------
    a_ep, a_k = _segments(n_sess)
    a_date = cal.offset(admit[a_ep], a_k)
    p_att = rng.beta(*_ATTEND_BETA, n)[a_ep]
    tail = np.minimum(6, n_sess)[a_ep]
    pos = a_k - (n_sess[a_ep] - tail) + 1  # 1..tail within the last sessions
    declining = (dtype[a_ep] == "dropped_out") & (pos >= 1)
    p_att = np.where(declining, p_att * (1 - 0.6 * pos / tail), p_att)
    attended = rng.random(len(a_ep)) < p_att
    attended |= a_k == 0
    attended |= (dtype[a_ep] == "completed") & (a_k == n_sess[a_ep] - 1)
    excused_p = np.where(dtype[a_ep] == "dropped_out", 0.25, 0.55)
    status = np.where(
        attended,
        np.where(rng.random(len(a_ep)) < 0.07, "late", "present"),
        np.where(rng.random(len(a_ep)) < excused_p, "absent_excused", "absent_unexcused"),
    ).astype(object)
    attendance = pd.DataFrame(
        {
            "episode_id": e_ids[a_ep],
            "date": a_date.astype("datetime64[ns]"),
            "status": status,
        }
    )

    # --- sessions -------------------------------------------------------------------------
    c_end = np.full(n_cohorts, np.datetime64("NaT"), dtype="datetime64[D]")
    ends = pd.Series(last).groupby(ep_c).max()
    c_end[ends.index.to_numpy()] = ends.to_numpy().astype("datetime64[D]")
    has = ~np.isnat(c_end)
    c_n = np.zeros(n_cohorts, dtype=int)
    c_n[has] = cal.count(c_start[has], c_end[has] + 1)
    s_c, s_k = _segments(c_n)
    s_date = cal.offset(c_start[s_c], s_k)
    if aligned:
        # a planned cycle's slot i falls on weekdays[i % days a week]: the slot of a session
        # is its calendar position (whole weeks since the cohort's first week, then its
        # weekday), so a closure skips that slot's skill instead of shifting the cycle
        first_monday = c_start - ((c_start.astype(np.int64) + 3) % 7)
        weeks_in = (s_date - first_monday[s_c]).astype(np.int64) // 7
        slot = weeks_in * dpw + _weekday_pos(s_date, prog.weekdays)
    else:
        slot = s_k
    s_wd = (s_date.astype(np.int64) + 3) % 7  # Monday = 0
    s_fac = np.empty(len(s_date), dtype=object)
    for d in set(prog.weekdays):
        m = s_wd == d
        avail = np.array(by_day[d], dtype=object)
        s_fac[m] = avail[s_c[m] % len(avail)]
    sessions = pd.DataFrame(
        {
            "cohort_id": c_ids[s_c],
            "date": s_date.astype("datetime64[ns]"),
            "skill_id": _skill_cycle(core, electives, prog.min_weeks * dpw, slot),
            "facilitator": s_fac,
        }
    )

    # --- assessments ----------------------------------------------------------------------
    discharged_measured = (~active) & (dtype != "dropped_out") & (n_sess > 1)
    n_weekly = np.where(n_sess >= 2, (n_sess - 2) // dpw, 0)
    occ_n = 1 + n_weekly + discharged_measured
    o_ep, o_pos = _segments(occ_n)
    o_k = o_pos * dpw
    is_dis = discharged_measured[o_ep] & (o_pos == occ_n[o_ep] - 1)
    o_k = np.where(is_dis, n_sess[o_ep] - 1, o_k)
    occasion = np.where(o_pos == 0, "admission", np.where(is_dis, "discharge", "weekly")).astype(
        object
    )
    sched = prog.measurement
    combos: dict[tuple[str, frozenset[str]], list[str]] = {}
    scale_lists = []
    for i, occ in zip(o_ep, occasion, strict=True):
        key = (occ, concern_sets[i])
        if key not in combos:
            combos[key] = sched.scales_for(occ, sorted(concern_sets[i]))
        scale_lists.append(combos[key])
    wanted = sorted({s for v in combos.values() for s in v})
    specs = dict(scales) if scales is not None else scale_specs(wanted)
    notes = [
        f"scale {s!r} of the measurement schedule is not in the registry; not generated"
        for s in wanted
        if s not in specs
    ]
    occ_frame = pd.DataFrame({"row": np.arange(len(o_ep)), "scale": scale_lists}).explode("scale")
    occ_frame = occ_frame[occ_frame["scale"].isin(list(specs))]
    r_row = occ_frame["row"].to_numpy(dtype=int)
    asc = occ_frame["scale"].to_numpy(dtype=object)
    x_ep, x_k = o_ep[r_row], o_k[r_row]
    t_weeks = x_k / dpw

    z = rng.standard_normal(n)
    cls = rng.choice(len(_RESPONSE_CLASSES), size=n, p=[c[0] for c in _RESPONSE_CLASSES])
    means = np.array([c[1] for c in _RESPONSE_CLASSES])
    sds = np.array([c[2] for c in _RESPONSE_CLASSES])
    r = means[cls] + sds[cls] * rng.standard_normal(n)
    max_items = max((specs[s].n_items for s in set(asc)), default=0)
    items = np.full((len(asc), max_items), np.nan)
    safety_rows: list[np.ndarray] = []
    for sid in sorted(set(asc)):
        spec = specs[sid]
        m = asc == sid
        eps, tw = x_ep[m], t_weeks[m]
        n_it, lo, hi = spec.n_items, spec.min, spec.max
        tot_lo, tot_hi = n_it * lo, n_it * hi
        mean, sd = (
            SCALE_BASELINES.get(sid)
            or spec.clinical_norm
            or (
                tot_lo + _GENERIC_BASELINE[0] * (tot_hi - tot_lo),
                _GENERIC_BASELINE[1] * (tot_hi - tot_lo),
            )
        )
        anchor = sid == "phq9"
        own = rng.standard_normal(n)
        zs = z if anchor else 0.6 * z + 0.8 * own
        rs = r if anchor else r + 0.08 * rng.standard_normal(n)
        base = mean + sd * zs
        g = 1 - np.exp(-tw / _TAU_WEEKS)
        target = tot_lo + (base[eps] - tot_lo) * (1 - rs[eps] * g)  # points
        target = np.clip(
            target + 0.03 * (tot_hi - tot_lo) * rng.standard_normal(m.sum()), tot_lo, tot_hi
        )
        block = np.empty((m.sum(), n_it))
        crit = [c for c in spec.critical if 1 <= c[0] <= n_it]
        crit_items = [c[0] - 1 for c in crit]
        others = [j for j in range(n_it) if j not in crit_items]
        frac_sev = (target - tot_lo) / (tot_hi - tot_lo)
        crit_sum = np.zeros(m.sum())
        for j in crit_items:
            positive = rng.random(m.sum()) < 0.3 * frac_sev**2
            val = np.where(positive, lo + 1 + rng.binomial(max(hi - lo - 1, 0), 0.2, m.sum()), lo)
            block[:, j] = val
            crit_sum += val - lo
        w = rng.uniform(0.8, 1.2, len(others))
        w = w / w.mean()
        p = np.clip((target - tot_lo - crit_sum) / (len(others) * (hi - lo)), 0, 1)
        for jj, j in enumerate(others):
            block[:, j] = lo + rng.binomial(hi - lo, np.clip(p * w[jj], 0, 1))
        block[rng.random(block.shape) < _P_MISSING_ITEM] = np.nan
        items[np.flatnonzero(m), :n_it] = block
        if crit:
            flagged = np.zeros(m.sum(), dtype=bool)
            for item_no, flag_at in crit:
                flagged |= block[:, item_no - 1] >= flag_at
            safety_rows.append(np.flatnonzero(m)[flagged])
    assessments = pd.DataFrame(
        {
            "episode_id": e_ids[x_ep],
            "date": cal.offset(admit[x_ep], x_k).astype("datetime64[ns]"),
            "scale": asc,
        }
    )
    for j in range(max_items):
        assessments[f"item_{j + 1}"] = pd.array(items[:, j], dtype="Int64")

    # --- goals ----------------------------------------------------------------------------
    weeks = -(-n_sess // dpw)
    g_ep, g_w = _segments(weeks)
    extra = rng.random(len(g_ep)) < 0.25
    per = 2 + extra
    gg, g_no = _segments(per)
    g_ep, g_w = g_ep[gg], g_w[gg]
    set_k = g_w * dpw
    rev_k = np.minimum((g_w + 1) * dpw, n_sess[g_ep] - 1)
    reviewed = rev_k > set_k
    reviewed &= ~((dtype[g_ep] == "dropped_out") & (rev_k == n_sess[g_ep] - 1))
    reviewed &= ~(active[g_ep] & (rev_k == n_sess[g_ep] - 1))
    pm = 0.30 + 0.35 * np.clip(r[g_ep], 0, 1)
    u = rng.random(len(g_ep))
    g_status = np.where(u < pm, "met", np.where(u < pm + 0.30, "partial", "not_met")).astype(object)
    g_status[~reviewed] = "pending"
    review = cal.offset(admit[g_ep], rev_k).astype("datetime64[ns]")
    goals = pd.DataFrame(
        {
            "episode_id": e_ids[g_ep],
            "set_date": cal.offset(admit[g_ep], set_k).astype("datetime64[ns]"),
            "goal_no": pd.array(g_no + 1, dtype="Int64"),
            "horizon": np.where(g_no == 2, "daily", "weekly").astype(object),
            "goal": _GOAL_TEXTS[rng.integers(0, len(_GOAL_TEXTS), len(g_ep))],
            "status": g_status,
            "review_date": np.where(reviewed, review, np.datetime64("NaT")).astype(
                "datetime64[ns]"
            ),
        }
    )

    # --- events ---------------------------------------------------------------------------
    ev: list[pd.DataFrame] = []
    for kind, prob, note in (
        ("medication_review", 0.60, "psychiatric medication review"),
        ("family_session", 0.25, "family session"),
        ("case_management", 0.35, "case management contact"),
    ):
        m = rng.random(n) < prob
        k = (rng.random(n) * n_sess).astype(int)
        ev.append(
            pd.DataFrame(
                {
                    "episode_id": e_ids[m],
                    "date": cal.offset(admit[m], k[m]),
                    "kind": kind,
                    "note": note,
                }
            )
        )
    m = ((dtype == "completed") & (rng.random(n) < 0.9)) | (
        (dtype == "transferred") & (rng.random(n) < 0.5)
    )
    ev.append(
        pd.DataFrame(
            {
                "episode_id": e_ids[m],
                "date": last[m],
                "kind": "aftercare_appointment",
                "note": "aftercare appointment booked at discharge",
            }
        )
    )
    m = dtype == "stepped_up"
    ev.append(
        pd.DataFrame(
            {
                "episode_id": e_ids[m],
                "date": last[m],
                "kind": "step_up",
                "note": "stepped up to a higher level of care",
            }
        )
    )
    srows = np.concatenate(safety_rows) if safety_rows else np.array([], dtype=int)
    ev.append(
        pd.DataFrame(
            {
                "episode_id": e_ids[x_ep[srows]],
                "date": cal.offset(admit[x_ep[srows]], x_k[srows]),
                "kind": "safety_review",
                "note": "same-day safety review after a positive item",
            }
        )
    )
    events = pd.concat(ev, ignore_index=True)
    events["date"] = events["date"].astype("datetime64[ns]")
    events = events.sort_values(["episode_id", "date", "kind"], kind="stable").reset_index(
        drop=True
    )

    tables = {
        "cohorts": cohorts,
        "patients": patients,
        "episodes": episodes,
        "attendance": attendance,
        "sessions": sessions,
        "assessments": assessments,
        "goals": goals,
        "events": events,
    }
    bundle = Bundle(tables=tables, notes=notes, source=f"synthesize(seed={seed})")
    bundle.defects = _empty_defects()
    if defects:
        bundle.tables, bundle.defects = _inject_defects(bundle.tables, rng, specs)
        bundle.lines = {}
        bundle.__post_init__()
    return bundle


# --- defects --------------------------------------------------------------------------------
def _empty_defects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": pd.Series(dtype=object),
            "source_line": pd.Series(dtype="int64"),
            "column": pd.Series(dtype=object),
            "kind": pd.Series(dtype=object),
        }
    )


def _inject_defects(
    tables: dict[str, pd.DataFrame], rng: np.random.Generator, specs: Mapping[str, ScaleSpec]
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Inject defects into distinct rows; each defect makes exactly one row invalid by itself.

    Defects in child tables are placed only on rows whose episode is not itself defective, so
    that every defective row is rejected for its own reason (the validator may add a cascade).
    """
    t = {k: v.copy() for k, v in tables.items()}
    for name in t:  # text columns so that typos and bad dates can be stored
        for col in t[name].columns:
            spec = TABLES[name].column(col)
            if (spec is not None and spec.kind == "date") or t[name][col].dtype == "str":
                t[name][col] = t[name][col].astype(object)
    n_ep = len(t["episodes"])
    k = max(1, n_ep // 60)
    rows: list[tuple[str, int, str, str]] = []

    def pick(table: str, count: int, eligible: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(eligible)
        return (
            np.sort(rng.choice(idx, size=min(count, len(idx)), replace=False)) if len(idx) else idx
        )

    # episode-level defects (patients and episodes), chosen first
    ep_bad = np.zeros(n_ep, dtype=bool)
    ep = t["episodes"]
    discharged = ep["discharge_date"].notna().to_numpy()
    sel = pick("episodes", 2 * k, discharged)
    half = len(sel) // 2
    for i in sel[:half]:
        ep.at[i, "discharge_type"] = rng.choice(["complted", "Completed", "drop-out"])
        rows.append(("episodes", i, "discharge_type", "vocabulary_typo"))
    for i in sel[half:]:
        ep.at[i, "discharge_date"] = ep.at[i, "admit_date"] - timedelta(days=3)
        rows.append(("episodes", i, "discharge_date", "discharge_before_admit"))
    ep_bad[sel] = True
    pt = t["patients"]
    psel = pick("patients", k, ~ep_bad)  # patient i ↔ episode i (one episode per patient)
    for i in psel:
        pt.at[i, "primary_concern"] = rng.choice(["depresion", "Anxiety", "ptsd "])
        rows.append(("patients", i, "primary_concern", "vocabulary_typo"))
    ep_bad[psel] = True
    good_eps = set(ep.loc[~ep_bad, "episode_id"])
    bounds = ep.set_index("episode_id")[["admit_date", "discharge_date"]]

    def ok(table: str) -> np.ndarray:
        return t[table]["episode_id"].isin(good_eps).to_numpy()

    at = t["attendance"]
    sel = pick("attendance", 3 * k, ok("attendance"))
    thirds = np.array_split(sel, 3)
    for i in thirds[0]:
        at.at[i, "status"] = rng.choice(["presnt", "Present", "absent"])
        rows.append(("attendance", i, "status", "vocabulary_typo"))
    for i in thirds[1]:
        at.at[i, "date"] = bounds.at[at.at[i, "episode_id"], "admit_date"] - timedelta(days=28)
        rows.append(("attendance", i, "date", "outside_episode"))
    for i in thirds[2]:
        at.at[i, "episode_id"] = "E" + "9" * 7
        rows.append(("attendance", i, "episode_id", "orphan_reference"))
    used_at = set(sel)

    asm = t["assessments"]
    sel = pick(
        "assessments", 3 * k, ok("assessments") & (asm["scale"].isin(list(specs))).to_numpy()
    )
    thirds = np.array_split(sel, 3)
    for i in thirds[0]:
        spec = specs[asm.at[i, "scale"]]
        asm.at[i, "item_1"] = spec.max + int(rng.integers(1, 4))
        rows.append(("assessments", i, "item_1", "item_out_of_range"))
    for i in thirds[1]:
        dis = bounds.at[asm.at[i, "episode_id"], "discharge_date"]
        ref = dis if pd.notna(dis) else asm.at[i, "date"]
        asm.at[i, "date"] = ref + timedelta(days=56)
        rows.append(("assessments", i, "date", "outside_episode"))
    for i in thirds[2]:
        spec = specs[asm.at[i, "scale"]]
        asm.at[i, "scale"] = "phq-9x" if spec.id == "phq9" else spec.id + "_v2"
        rows.append(("assessments", i, "scale", "unknown_scale"))
    used_asm = set(sel)

    go = t["goals"]
    sel = pick("goals", k, ok("goals"))
    for i in sel:
        go.at[i, "set_date"] = "2025-02-30"
        rows.append(("goals", i, "set_date", "impossible_date"))
    evt = t["events"]
    sel = pick("events", k, ok("events"))
    for i in sel:
        evt.at[i, "episode_id"] = "E" + "8" * 7
        rows.append(("events", i, "episode_id", "orphan_reference"))
    ss = t["sessions"]
    sel = pick("sessions", max(1, k // 2), np.ones(len(ss), dtype=bool))
    for i in sel:
        ss.at[i, "cohort_id"] = "C" + "9" * 4
        rows.append(("sessions", i, "cohort_id", "orphan_reference"))

    # exact duplicates of clean rows, appended (the later copy is the defective one)
    for table, used in (("attendance", used_at), ("assessments", used_asm)):
        frame = t[table]
        eligible = ok(table).copy()
        eligible[list(used)] = False
        src = pick(table, k, eligible)
        start = len(frame)
        t[table] = pd.concat([frame, frame.iloc[src]], ignore_index=True)
        rows.extend((table, start + j, "", "duplicate_row") for j in range(len(src)))
    defects = pd.DataFrame(rows, columns=["table", "row", "column", "kind"])
    defects["source_line"] = defects["row"].astype("int64") + 2
    return t, defects[["table", "source_line", "column", "kind"]].sort_values(
        ["table", "source_line"], ignore_index=True
    )
