"""Outcome analytics for measurement-based care (DataFrame in → DataFrame out).

Every statistic names its variant (a ``method``/``measure``/``variant`` column or
``DataFrame.attrs["variant(s)"]``). Methods and sources: ``docs/outcomes.md``.
"""

from __future__ import annotations

from iopkit.outcomes._common import ScaleFacts, scale_facts
from iopkit.outcomes.change import (
    CATEGORIES,
    RCI_METHODS,
    categorize,
    category_counts,
    clinical_significance,
    cutoffs,
    percentage_change,
    reliability_ha,
    reliable_change,
    reliable_change_threshold,
    s_diff,
    se_measurement,
    se_prediction,
    true_score_cutoffs,
    z_critical,
)
from iopkit.outcomes.cohort import (
    cohort_summary,
    locf_sensitivity,
    mean_ci,
    weekly_means,
    weekly_trajectory,
    wilson_rate,
    with_weeks,
)
from iopkit.outcomes.effect_sizes import (
    HEDGES_J_METHODS,
    hedges_j,
    independent_effect_sizes,
    paired_effect_sizes,
)
from iopkit.outcomes.episodes import episode_outcomes, episode_scores, talking_therapies
from iopkit.outcomes.expected import (
    ON_TRACK_METHODS,
    ExpectedCurves,
    expected_recovery,
    recovery_status,
)
from iopkit.outcomes.exposure import (
    exposure_association,
    exposure_by_episode,
    exposure_descriptives,
    skill_exposure,
)
from iopkit.outcomes.flags import FLAG_KINDS, mbc_flags
from iopkit.outcomes.mixed import MIXED_OPTIMIZERS, mixed_model
from iopkit.outcomes.process import (
    attendance_summary,
    care_coordination,
    completion_rate,
    goal_attainment,
    length_of_stay,
    longest_run,
    measurement_completeness,
)
from iopkit.outcomes.suppression import (
    determined_cells,
    hide_small_groups,
    small_cells,
    suppress,
    suppress_rates,
    suppression_pattern,
)

__all__ = [
    "FLAG_KINDS",
    "attendance_summary",
    "care_coordination",
    "completion_rate",
    "determined_cells",
    "exposure_association",
    "exposure_by_episode",
    "exposure_descriptives",
    "goal_attainment",
    "hide_small_groups",
    "length_of_stay",
    "longest_run",
    "mbc_flags",
    "measurement_completeness",
    "mixed_model",
    "skill_exposure",
    "small_cells",
    "suppress",
    "suppress_rates",
    "suppression_pattern",
    "CATEGORIES",
    "RCI_METHODS",
    "ScaleFacts",
    "categorize",
    "category_counts",
    "clinical_significance",
    "cohort_summary",
    "cutoffs",
    "episode_outcomes",
    "episode_scores",
    "independent_effect_sizes",
    "locf_sensitivity",
    "mean_ci",
    "paired_effect_sizes",
    "percentage_change",
    "reliability_ha",
    "reliable_change",
    "s_diff",
    "scale_facts",
    "se_measurement",
    "se_prediction",
    "talking_therapies",
    "true_score_cutoffs",
    "weekly_means",
    "weekly_trajectory",
    "wilson_rate",
    "with_weeks",
    "z_critical",
    "reliable_change_threshold",
    "hedges_j",
    "HEDGES_J_METHODS",
    "expected_recovery",
    "recovery_status",
    "ExpectedCurves",
    "ON_TRACK_METHODS",
    "MIXED_OPTIMIZERS",
]
