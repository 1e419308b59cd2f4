"""cohort_summary computes every group at once; it must give exactly the rows of the
straightforward loop that calls the scalar statistics group by group (benchmarks/
loop_outcomes.py: mean_ci, paired_effect_sizes, wilson_rate, category_counts per group)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.bench_outcomes import FACTS, generate
from benchmarks.loop_outcomes import loop_cohort_summary
from iopkit.outcomes import cohort_summary, episode_outcomes


@pytest.fixture(scope="module")
def outcomes() -> pd.DataFrame:
    episodes, scores = generate(n_episodes=900, n_cohorts=12, seed=5)
    # awkward groups: a cohort of 1 and of 2 episodes, one with a constant baseline,
    # a missing cohort key, missing categories and baseline-case flags
    episodes.loc[0, "cohort_id"] = "Z_one"
    episodes.loc[[1, 2], "cohort_id"] = "Z_two"
    episodes.loc[[3, 4], "cohort_id"] = None
    out = episode_outcomes(scores, episodes, scale="phq9", facts=FACTS, sd_by="cohort_id")
    flat = out["cohort_id"] == "C03"
    out.loc[flat, "baseline"] = 15.0
    out.loc[out.index[10:14], "category"] = None
    out.loc[out.index[20:23], "baseline_case"] = pd.NA
    return out


@pytest.mark.parametrize("by", ["cohort_id", None, ["cohort_id", "discharge_type"]])
def test_vectorised_summary_equals_the_per_group_loop(outcomes: pd.DataFrame, by) -> None:
    new = cohort_summary(outcomes, by=by)
    old = loop_cohort_summary(outcomes, by=by)
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9, atol=1e-12)
    assert new.attrs["skipped"] == old.attrs["skipped"]
    assert new.attrs["variants"] == old.attrs["variants"]


def test_small_groups_get_no_effect_sizes_and_are_named(outcomes: pd.DataFrame) -> None:
    s = cohort_summary(outcomes)
    es = s[s["statistic"] == "d_z"]
    assert not es["cohort_id"].isin(["Z_one", "Z_two", "C03"]).any()
    assert any("Z_two" in text for text in s.attrs["skipped"])
    assert np.isfinite(es["ci_low"]).all()


def test_without_effect_sizes_or_optional_columns(outcomes: pd.DataFrame) -> None:
    slim = outcomes.drop(columns=["category", "remission"])
    new = cohort_summary(slim, effect_sizes=False, confidence=0.9)
    old = loop_cohort_summary(slim, effect_sizes=False, confidence=0.9)
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9, atol=1e-12)
    assert "category_n" not in set(new["statistic"])
