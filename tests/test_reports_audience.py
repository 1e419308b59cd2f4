"""Audience (issue 12 §3, §4): a care-team report shows every cell; an aggregate report hides
small cells so that no hidden count can be recovered from any table, total, difference
across tables or figure data; each headline figure reads the same everywhere."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from iopkit.data.sources.synthetic import DEMO_SOURCE
from iopkit.errors import InputError
from iopkit.outcomes import cohort_summary, episode_outcomes
from iopkit.outcomes.suppression import _bridges, suppress, suppression_pattern
from iopkit.reports.views import checks, display, summary, tables
from iopkit.reports.views.source import ReportData, open_source

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
K = 11


@pytest.fixture(scope="module")
def demo() -> ReportData:
    return open_source(DEMO_SOURCE)


def _shown_cells(frame: pd.DataFrame) -> list[str]:
    out: list = []
    original = display.display
    display.display = out.append
    try:
        display.show(frame)
    finally:
        display.display = original
    return [re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>.*?</td>", out[0].data, flags=re.S)]


def test_audience_parameter() -> None:
    assert checks.audience("care_team", 11) == 1  # the care team sees every cell
    assert checks.audience("aggregate", 11) == 11
    assert checks.audience("aggregate", 5) == 5
    with pytest.raises(InputError, match="aggregate report suppresses"):
        checks.audience("aggregate", 0)
    with pytest.raises(InputError, match="care_team, aggregate"):
        checks.audience("board", 11)
    with pytest.raises(InputError, match="care team only"):
        checks.care_team_only("aggregate", "the patient progress report")


def test_primary_cells_read_lt_k_and_complementary_cells_say_why() -> None:
    t = pd.DataFrame({"a": [3, 20], "b": [12, 14]}, index=["x", "y"])
    s = suppress(t, ["a", "b"], k=K)
    cells = _shown_cells(s)
    assert cells.count("< 11".replace("<", "&lt;")) == 1  # only the 3 is a small count
    assert cells.count(display.COMPLEMENTARY_TEXT) == 3  # 12, 20, 14: the one cycle


def test_booleans_and_whole_numbers_print_plainly() -> None:
    frame = pd.DataFrame({"text": ["a", "b"], "flag": [True, False], "n": [24.0, 3.0],
                          "mean": [1.5, 2.25]})
    assert _shown_cells(frame) == ["a", "yes", "24", "1.50", "b", "no", "3", "2.25"]


def _exact_minimum(g: np.ndarray, primary: np.ndarray) -> int:
    cand = [tuple(p) for p in np.argwhere(~primary & (g >= 1))]
    best = None
    for n in range(len(cand) + 1):
        for sub in itertools.combinations(cand, n):
            h = primary.copy()
            for p in sub:
                h[p] = True
            if not _bridges(h):
                cost = sum(int(g[p]) for p in sub)
                best = cost if best is None else min(best, cost)
        if best is not None and n >= 4:
            return best
    return best if best is not None else -1


def test_complementary_cells_are_the_smallest_that_protect() -> None:
    """The issue's goals table: one small count beside cells of 54, 44 and 56 — the cheapest
    protecting cells are hidden, never the big ones; and on random small tables the pattern
    is protected, irredundant and (nearly always) the exact minimum."""
    x = np.array([[54, 44, 56, 3], [20, 15, 13, 12], [30, 25, 14, 16]])
    g = np.zeros((4, 5), int)
    g[:3, :4], g[:3, 4], g[3, :4], g[3, 4] = x, x.sum(1), x.sum(0), x.sum()
    h, primary = suppression_pattern(g, K)
    assert primary.sum() == 1 and not _bridges(h)
    assert int(g[h & ~primary].sum()) == _exact_minimum(g, primary)
    assert not h[0, 0] and not h[0, 2]  # 54 and 56 stay visible
    rng = np.random.default_rng(7)
    optimal = trials = 0
    for _ in range(60):
        r, c = rng.integers(2, 4, size=2)
        x = rng.choice([0, 2, 3, 5, 8, 12, 15, 20, 30, 44, 54, 56], size=(r, c))
        g = np.zeros((r + 1, c + 1), int)
        g[:r, :c], g[:r, c], g[r, :c], g[r, c] = x, x.sum(1), x.sum(0), x.sum()
        try:
            h, primary = suppression_pattern(g, K)
        except InputError:
            continue
        if not primary.any():
            continue
        trials += 1
        assert not _bridges(h)  # no hidden cell derivable
        for cell in np.argwhere(h & ~primary):  # irredundant: each extra cell is needed
            less = h.copy()
            less[tuple(cell)] = False
            assert _bridges(less)
        best = _exact_minimum(g, primary)
        cost = int(g[h & ~primary].sum())
        assert cost == best  # small tables: the exact minimum
        optimal += 1
    assert trials >= 30 and optimal == trials


# --- the attack: recover hidden cells from every published number of a program report -------
class _System:
    """Linear equations over the report's cells: unknowns are the hidden cells (≥ 1: the
    pattern shows that a hidden cell is not zero; primary cells ≤ k − 1)."""

    def __init__(self) -> None:
        self.var: dict = {}
        self.upper: dict = {}
        self.rows: list[tuple[dict, float]] = []

    def term(self, key, value):
        if value is not None:
            return {}, float(value)
        self.var.setdefault(key, len(self.var))
        return {key: 1.0}, 0.0

    def equal(self, left: list, right: list) -> None:
        coef: dict = {}
        const = 0.0
        for sign, items in ((1.0, left), (-1.0, right)):
            for key, value in items:
                t, c = self.term(key, value)
                for kk, vv in t.items():
                    coef[kk] = coef.get(kk, 0.0) + sign * vv
                const -= sign * c
        if coef:
            self.rows.append((coef, const))

    def recovered(self) -> list:
        """Hidden cells whose value every solution shares (min = max)."""
        n = len(self.var)
        if not n:
            return []
        a = np.zeros((len(self.rows), n))
        b = np.zeros(len(self.rows))
        for i, (coef, const) in enumerate(self.rows):
            for key, v in coef.items():
                a[i, self.var[key]] += v
            b[i] = const
        bounds = [(1, self.upper.get(key)) for key in self.var]
        out = []
        for key, j in self.var.items():
            c = np.zeros(n)
            c[j] = 1
            lo = linprog(c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
            hi = linprog(-c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
            assert lo.status == 0 and hi.status == 0
            if abs(lo.fun + hi.fun) < 1e-6:  # min == max
                out.append((key, lo.fun))
        return out


def _published(frame: pd.DataFrame, cols: list[str], sys_: _System, name: str) -> dict:
    """{(row, col): value or None (hidden)} of a suppressed count table; a hidden primary
    cell is known to be at most k − 1."""
    sup = frame.attrs.get("suppression", {})
    hidden = {tuple(c) for c in sup.get("hidden_cells", [])}
    for r, c in sup.get("primary_cells", []):
        sys_.upper[(name, r, c)] = K - 1
    out = {}
    for i, lab in enumerate(frame.index):
        for c in cols:
            v = frame.iat[i, list(frame.columns).index(c)]
            out[(lab, c)] = None if (lab, c) in hidden or pd.isna(v) else int(v)
    return out


def _grid_equations(sys_: _System, name: str, cells: dict, rows: list, parts: list,
                    total_col: str, total_row) -> None:
    for r in rows + [total_row]:
        sys_.equal([((name, r, c), cells[(r, c)]) for c in parts],
                   [((name, r, total_col), cells[(r, total_col)])])
    for c in parts + [total_col]:
        sys_.equal([((name, r, c), cells[(r, c)]) for r in rows],
                   [((name, total_row, c), cells[(total_row, c)])])


def test_no_hidden_cell_of_an_aggregate_program_report_can_be_recovered(demo) -> None:
    """Census by cohort, both subgroup tables, admissions and discharges by month and the key
    figures of one program report (k = 11), linked wherever they count the same episodes: a
    linear program bounds every hidden cell; none is pinned to a single value."""
    eps = demo["episodes"]
    sys_ = _System()
    census = tables.census_by_cohort(eps, k=K)
    census_cells = _published(census, list(census.columns[1:]), sys_, "census")
    parts = [c for c in census.columns[1:] if c != "episodes in care"]
    rows = list(range(len(census) - 1))
    _grid_equations(sys_, "census", census_cells, rows, parts, "episodes in care", len(rows))
    for by in ("primary_concern", "referral_source"):
        sub = summary.subgroup_table(demo, by, k=K)
        sparts = [c for c in sub.columns[1:] if c != "episodes"]
        cells = _published(sub, list(sub.columns[1:]), sys_, by)
        srows = list(range(len(sub) - 1))
        _grid_equations(sys_, by, cells, srows, sparts, "episodes", len(srows))
        for c in sparts + ["episodes"]:  # the same episodes as the census total row
            sys_.equal([((by, len(srows), c), cells[(len(srows), c)])],
                       [(("census", len(rows), c if c != "episodes" else "episodes in care"),
                         census_cells[(len(rows), c if c != "episodes" else "episodes in care")]
                         )])
    flow = summary.monthly_flow(eps, k=K)
    fcells = _published(flow, ["admissions", "discharges"], sys_, "flow")
    frows = list(range(len(flow) - 1))
    for c in ("admissions", "discharges"):
        sys_.equal([(("flow", r, c), fcells[(r, c)]) for r in frows],
                   [(("flow", len(frows), c), fcells[(len(frows), c)])])
    o = {sc: episode_outcomes(demo.scores, eps, scale=sc, sd_by="cohort_id")
         for sc in ("phq9", "gad7")}
    summ = {sc: cohort_summary(v, by=None) for sc, v in o.items()}
    key = summary.key_figures(demo, outcomes_by_scale=o, summaries=summ, n_safety_events=0,
                              n_follow_up_missing=0, k=K)
    kc = {r: (None if pd.isna(key.loc[r, "count"]) else int(key.loc[r, "count"]),
              None if pd.isna(key.loc[r, "of"]) else int(key.loc[r, "of"])) for r in key.index}
    total = len(rows)
    sys_.equal([(("key", "adm"), kc["n_admissions"][0])],
               [(("flow", len(frows), "admissions"), fcells[(len(frows), "admissions")])])
    sys_.equal([(("key", "adm_of"), kc["n_admissions"][1])],
               [(("census", total, "episodes in care"),
                 census_cells[(total, "episodes in care")])])
    sys_.equal([(("key", "completed"), kc["completion_pct"][0])],
               [(("census", total, "completed"), census_cells[(total, "completed")])])
    discharged = [(("census", total, c), census_cells[(total, c)]) for c in parts
                  if c != "active"]
    sys_.equal([(("key", "discharged"), kc["completion_pct"][1])], discharged)
    sys_.equal([(("flow", len(frows), "discharges"), fcells[(len(frows), "discharges")])],
               discharged)
    hidden_any = [k for k in sys_.var if k[0] in ("census", "primary_concern",
                                                  "referral_source", "flow")]
    assert hidden_any  # the demo has small cells: the attack has something to find
    assert sys_.recovered() == []


@pytest.mark.slow
def test_aggregate_report_shows_no_individual_and_one_number_everywhere(tmp_path: Path) -> None:
    """Cohort and program reports in aggregate: no episode ID outside the safety section, no
    per-episode figure, every hidden key figure is null in figures.json; response, completion
    and attendance read the same in the key figures, figures.json, the rates table and the
    benchmark row (issue 12 §4)."""
    from iopkit.data import write_bundle
    from iopkit.reports.engine.batch import run_jobs
    from iopkit.reports.engine.schedule import Job
    from iopkit.synth import synthesize

    bundle = synthesize(n_cohorts=2, seed=3, episodes_per_cohort=14, as_of="2025-03-21")
    src = str(write_bundle(bundle, tmp_path / "data"))
    jobs = [
        Job("outcomes", str(NOTEBOOKS / "cohort_outcomes.ipynb"),
            {"data_source": src, "cohort_id": "C01", "audience": "aggregate"}),
        Job("program", str(NOTEBOOKS / "program_outcomes.ipynb"), {"data_source": src}),
        Job("care", str(NOTEBOOKS / "cohort_outcomes.ipynb"),
            {"data_source": src, "cohort_id": "C01"}),
    ]
    out = tmp_path / "out"
    res = run_jobs(jobs, out, workers=2, progress=False)
    errors = {r["name"]: r["error"] for r in res.records if r["status"] != "ok"}
    assert not errors, json.dumps(errors, default=str)[:3000]
    data = open_source(src)
    for name in ("outcomes", "program"):
        page = (out / name / "report.html").read_text()
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
        start, end = text.index("1. Safety"), text.index("2. ", text.index("1. Safety"))
        outside = text[:start] + text[end:]
        assert not re.findall(r"\bE\d{5}\b", outside), name
        assert "&lt; 11" in page or "< 11" in text
        assert "Aggregate report" in text and "Confidential — care team" not in text
        figures = json.loads((out / name / "figures.json").read_text())["figures"]
        assert figures["header"]["audience"] == "aggregate"
        allowed = (figures.get("n_safety_events"), figures.get("n_safety_follow_up_missing"),
                   figures.get("n_cohorts"), figures.get("n_notes"))
        for value in figures.values():  # no small count in the sidecar but the never-hidden
            assert not (isinstance(value, int) and 1 <= value < K) or value in allowed
    care = (out / "care" / "report.html").read_text()
    assert "Confidential — care team" in care and "hidden to protect" not in care
    assert care.count("<img") > (out / "outcomes" / "report.html").read_text().count("<img")
    # one number, one computation: the program's response rate
    prog = tables.select_period(data)
    o = {sc: episode_outcomes(prog.scores, prog["episodes"], scale=sc, sd_by="cohort_id")
         for sc in ("phq9", "gad7")}
    summ = {sc: cohort_summary(v, by=None) for sc, v in o.items()}
    figures = json.loads((out / "program" / "figures.json").read_text())["figures"]
    rates = tables.rates_table(summ["phq9"]).set_index("outcome")
    bench = tables.benchmark_table(tables.program_figures(o, prog["episodes"],
                                                          prog["attendance"], k=K,
                                                          summaries=summ))
    row = bench[bench["measure"] == tables.MEASURE_LABELS["phq9_response_pct"]]
    resp = rates.loc["response", tables.RATE]
    # shown, the key figure equals the rates table and the benchmark row; hidden by the
    # key-figure table (a small cell or its complement), the benchmark row hides it too
    key = {k: v for k, v in figures.items() if not isinstance(v, dict)}
    bench = tables.benchmark_table(tables.program_figures(
        o, prog["episodes"], prog["attendance"], k=K, summaries=summ, key_figures=key))
    row = bench[bench["measure"] == tables.MEASURE_LABELS["phq9_response_pct"]]
    if figures["phq9_response_pct"] is not None:
        assert figures["phq9_response_pct"] == pytest.approx(resp)
        assert row["this program"].iloc[0] == pytest.approx(resp)
    else:
        assert pd.isna(row["this program"].iloc[0])
    page = (out / "program" / "report.html").read_text()
    if figures["phq9_response_pct"] is not None:
        assert f"{resp:.1f}" in page
    else:  # hidden in one table, hidden in every table (the benchmark row showed it before)
        assert f">{resp:.1f}<" not in page
    index = (out / "index.html").read_text()
    assert f"phq9_response_pct = {resp:.3g}" in index or "phq9_response_pct" not in index
