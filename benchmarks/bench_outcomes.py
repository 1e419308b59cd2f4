"""Benchmark: episode outcomes and cohort summaries for 10,000 episodes × ~10 assessments
in 50 cohorts (goal ≤ 5 s on the project machine); ``cohort_summary`` against the per-group
loop computing the same rows (``benchmarks/loop_outcomes.py``) as per-pair ratios, and at
100 and 1,000 cohorts (goal ≤ 2 s); the mixed model is timed separately.

Expected recovery curves (:mod:`iopkit.outcomes.expected`) are validated on a planted
slow-responder group: sensitivity, specificity and lead time (weeks earlier than the fixed
rule) of ``not_on_track`` by the expected curve versus the fixed rule.

The input comes from a small local generator (not ``iopkit.synth``) so the figure measures
only ``iopkit.outcomes``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from benchmarks.common import QUICK, load, pairs, ratio_text, timed
from benchmarks.loop_outcomes import loop_cohort_summary
from iopkit.outcomes import (
    ScaleFacts,
    cohort_summary,
    episode_outcomes,
    mixed_model,
    weekly_trajectory,
    with_weeks,
)
from iopkit.outcomes.expected import expected_recovery, recovery_status

N_EPISODES = 10_000
N_COHORTS = 50
GOAL_SECONDS = 5.0

FACTS = ScaleFacts(
    scale_id="phq9",
    reliability=0.84,
    clinical_mean=16.65,
    clinical_sd=4.25,
    functional_mean=3.1,
    functional_sd=3.5,
    remission_below=5,
    mcid=5,
    source="benchmark constants (PHQ-9 values from scales.md §1.1)",
)


def generate(
    n_episodes: int = N_EPISODES, n_cohorts: int = N_COHORTS, seed: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Episodes and weekly PHQ-9 totals (≈ 10 per episode; some dropout and missing)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"E{i:05d}" for i in range(n_episodes)])
    admit = pd.Timestamp("2025-01-06") + pd.to_timedelta(rng.integers(0, 300, n_episodes), "D")
    n_obs = rng.integers(6, 15, n_episodes)  # mean ≈ 10 assessments
    dropped = rng.random(n_episodes) < 0.2
    n_obs = np.where(dropped, np.maximum(2, n_obs // 2), n_obs)
    discharge = admit + pd.to_timedelta((n_obs - 1) * 7, "D")
    active = rng.random(n_episodes) < 0.05
    episodes = pd.DataFrame(
        {
            "episode_id": ids,
            "patient_id": np.char.replace(ids, "E", "P"),
            "cohort_id": np.array([f"C{c:02d}" for c in rng.integers(0, n_cohorts, n_episodes)]),
            "admit_date": admit,
            "discharge_date": pd.Series(discharge).where(~active),
            "discharge_type": np.where(active, None, np.where(dropped, "dropped_out", "completed")),
        }
    )
    rep = np.repeat(np.arange(n_episodes), n_obs)
    week = np.concatenate([np.arange(n) for n in n_obs])
    b0 = rng.normal(16, 4, n_episodes)
    b1 = rng.normal(-0.8, 0.5, n_episodes)
    total = np.clip(np.round(b0[rep] + b1[rep] * week + rng.normal(0, 2, rep.size)), 0, 27)
    total[rng.random(rep.size) < 0.03] = np.nan
    scores = pd.DataFrame(
        {
            "episode_id": ids[rep],
            "scale": "phq9",
            "date": admit.to_numpy()[rep] + pd.to_timedelta(week * 7, "D"),
            "total": total,
        }
    )
    return episodes, scores


def slow_responder_cohort(
    n: int, *, slow_share: float, seed: int, prefix: str, weeks: int = 8
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Weekly PHQ-9 totals (long, as ``with_weeks`` returns them) for completed episodes:
    responders improve by 35 % of baseline per unit of ln(1 + week), planted slow
    responders by 5 %; noise SD 2, clipped to 0–27; baseline uniform 10–25."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"{prefix}{i:05d}" for i in range(n)])
    slow = rng.random(n) < slow_share
    base = rng.uniform(10, 25, n)
    t = np.tile(np.arange(weeks + 1), n)
    rep = np.repeat(np.arange(n), weeks + 1)
    rate = np.where(slow, 0.05, 0.35)[rep]
    mean = base[rep] * (1 - rate * np.log1p(t))
    score = np.where(t == 0, base[rep], mean + rng.normal(0, 2, t.size))
    admit = pd.Timestamp("2025-01-06")
    long = pd.DataFrame(
        {
            "episode_id": ids[rep],
            "date": admit + pd.to_timedelta(7 * t, "D"),
            "score": np.clip(score, 0, 27),
            "days": 7 * t,
            "weeks": t.astype(float),
        }
    )
    episodes = pd.DataFrame({"episode_id": ids, "admit_date": admit, "discharge_type": "completed"})
    return long, episodes, pd.Series(slow, index=ids)


def expected_curve_validation(n_train: int = 600, n_eval: int = 400) -> dict:
    """Sensitivity/specificity (flagged at any week 1–8) and lead time of the expected curve
    (80 % band) against the fixed rule ([D] week ≥ 4, reduction < 20 %)."""
    train, train_eps, _ = slow_responder_cohort(n_train, slow_share=0.1, seed=11, prefix="T")
    t0 = time.perf_counter()
    curves = expected_recovery(train, train_eps, scale="phq9")
    t_fit = time.perf_counter() - t0
    ev, _, slow = slow_responder_cohort(n_eval, slow_share=0.25, seed=12, prefix="E")
    res: dict = {"expected_fit_s": round(t_fit, 3), "expected_model": curves.model}
    for method in ("expected_curve", "fixed_rule"):
        t0 = time.perf_counter()
        st = recovery_status(ev, curves, method=method)
        res[f"{method}_status_s"] = round(time.perf_counter() - t0, 3)
        hit = st[st["not_on_track"].fillna(False).astype(bool)]
        first = hit.groupby("episode_id")["weeks"].min().reindex(slow.index)
        res[f"{method}_sensitivity"] = round(float(first[slow].notna().mean()), 3)
        res[f"{method}_specificity"] = round(float(first[~slow].isna().mean()), 3)
        res[f"{method}_first_week"] = first
    both = res["expected_curve_first_week"].notna() & res["fixed_rule_first_week"].notna()
    lead = (res.pop("fixed_rule_first_week") - res.pop("expected_curve_first_week"))[both & slow]
    res["lead_time_weeks_mean"] = round(float(lead.mean()), 2)
    res["lead_time_weeks_median"] = float(lead.median())
    return res


def main() -> dict:
    n_ep = N_EPISODES // 10 if QUICK else N_EPISODES
    episodes, scores = generate(n_ep)
    t_episode, out = timed(
        lambda: episode_outcomes(scores, episodes, scale="phq9", facts=FACTS, sd_by="cohort_id")
    )
    t_cohort, summary = timed(lambda: cohort_summary(out, by="cohort_id"))
    t_traj, traj = timed(lambda: weekly_trajectory(scores, episodes, scale="phq9", by="cohort_id"))
    total = t_episode + t_cohort + t_traj

    # the same statistics by the straightforward per-group loop, same data, same process:
    # checked equal, then timed in alternating pairs (on a slice of cohorts: the loop is slow)
    few = out[out["cohort_id"].isin(sorted(out["cohort_id"].unique())[:10])]
    pd.testing.assert_frame_equal(cohort_summary(few), loop_cohort_summary(few), rtol=1e-9)
    vs_loop = pairs(lambda: cohort_summary(few), lambda: loop_cohort_summary(few), 3)

    # health-system size: 1,000 cohorts (goal ≤ 2 s), and growth with the number of cohorts
    many = {}
    for k in (100, 1000) if not QUICK else (100, 300):
        eps_k, sc_k = generate(20 * k, k, seed=3)
        o_k = episode_outcomes(sc_k, eps_k, scale="phq9", facts=FACTS, sd_by="cohort_id")
        many[k] = min(timed(lambda o_k=o_k: cohort_summary(o_k))[0] for _ in range(2))
    (k1, t1), (k2, t2) = many.items()
    cohort_exponent = float(np.log(t2 / t1) / np.log(k2 / k1))

    # mixed model, timed separately: one cohort (~200 episodes) and a 1,000-episode sample
    w = with_weeks(scores, episodes, scale="phq9")
    one = w[w["cohort_id"] == "C00"]
    t0 = time.perf_counter()
    m1 = mixed_model(one)
    t_mixed_cohort = time.perf_counter() - t0
    sample = w[w["episode_id"].isin(episodes["episode_id"].iloc[:1000])]
    t0 = time.perf_counter()
    m2 = mixed_model(sample)
    t_mixed_1000 = time.perf_counter() - t0

    t0 = time.perf_counter()
    m_ml = mixed_model(one, reml=False)
    t_mixed_ml = time.perf_counter() - t0
    validation = expected_curve_validation()

    res = {
        "episodes": len(episodes),
        "assessments": len(scores),
        "cohorts": N_COHORTS,
        "summary_rows": len(summary),
        "trajectory_rows": len(traj),
        "episode_outcomes_s": round(t_episode, 3),
        "cohort_summary_s": round(t_cohort, 3),
        "weekly_trajectory_s": round(t_traj, 3),
        "total_s": round(total, 3),
        "goal_s": GOAL_SECONDS,
        "within_goal": total <= GOAL_SECONDS,
        "load": load(),
        "cohort_summary_vs_per_group_loop": vs_loop,
        "cohort_summary_s_by_cohorts": {str(k): round(t, 3) for k, t in many.items()},
        "cohort_summary_growth_exponent": round(cohort_exponent, 2),
        "goal_1000_cohorts_s": 2.0,
        "within_goal_1000_cohorts": many.get(1000, float("nan")) <= 2.0 if not QUICK else None,
        "mixed_one_cohort_s": round(t_mixed_cohort, 3),
        "mixed_one_cohort_model": m1["model"].iloc[0],
        "mixed_1000_episodes_s": round(t_mixed_1000, 3),
        "mixed_1000_model": m2["model"].iloc[0],
        "mixed_1000_optimizers": m2["optimizers_tried"].iloc[0],
        "mixed_one_cohort_ml_s": round(t_mixed_ml, 3),
        "mixed_one_cohort_ml_optimizers": m_ml["optimizers_tried"].iloc[0],
        **validation,
    }
    print(f"{res['episodes']} episodes, {res['assessments']} assessments, {N_COHORTS} cohorts")
    print(
        f"episode_outcomes {t_episode:.2f} s · cohort_summary {t_cohort:.2f} s · "
        f"weekly_trajectory {t_traj:.2f} s · total {total:.2f} s (goal ≤ {GOAL_SECONDS} s)"
    )
    print(f"cohort_summary vs the per-group loop (same rows, 10 cohorts): {ratio_text(vs_loop)}")
    print(
        "cohort_summary by number of cohorts: "
        + ", ".join(f"{k}: {t:.3f} s" for k, t in many.items())
        + f" (growth exponent {cohort_exponent:.2f}; goal 1,000 cohorts ≤ 2 s)"
    )
    print(
        f"mixed model: one cohort ({one['episode_id'].nunique()} episodes) "
        f"{t_mixed_cohort:.2f} s [{res['mixed_one_cohort_model']}]; 1,000 episodes "
        f"{t_mixed_1000:.2f} s [{res['mixed_1000_model']}]"
    )
    print(f"mixed model optimisers (1,000 episodes): {res['mixed_1000_optimizers']}")
    print(
        "not on track, planted slow responders (25 %): expected curve sensitivity "
        f"{res['expected_curve_sensitivity']:.2f} / specificity "
        f"{res['expected_curve_specificity']:.2f}; fixed rule "
        f"{res['fixed_rule_sensitivity']:.2f} / {res['fixed_rule_specificity']:.2f}; "
        f"lead time {res['lead_time_weeks_mean']:.1f} weeks (median "
        f"{res['lead_time_weeks_median']:g})"
    )
    return res


if __name__ == "__main__":
    main()
