"""Report figures drawn with seaborn: pure functions, tidy DataFrame in → matplotlib Figure out.

Nothing here computes statistics that matter clinically: means, intervals, reliable-change
thresholds and coverage come precomputed from :mod:`iopkit.outcomes`, :mod:`iopkit.rotation`
and :mod:`iopkit.scales` (seaborn keeps ``_statistics`` apart from plotting; so do we).

Print-readability conventions: every figure has a title, labelled axes with units, and uses
seaborn's ``colorblind`` palette (after Wong 2011, *Nat Methods* 8:441, "Points of view:
Color blindness") for categories and ``cividis`` (Nuñez et al. 2018, *PLoS ONE*
13:e0199239, optimised for colour-vision deficiency) for continuous values. Severity bands
are shaded with a light sequential ramp and labelled in text, so they read in greyscale.

Figures are created through pyplot (so Jupyter's inline PNG display works) and closed before
they are returned: no global figure state is left behind, and a notebook shows each figure
once, where it is displayed.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from iopkit.errors import InputError
from iopkit.vocab import ATTENDANCE_STATUS

#: Categorical palette (seaborn "colorblind").
PALETTE = "colorblind"
#: Continuous colour map safe for colour-vision deficiency.
CMAP = "cividis"
#: Fixed colours of Jacobson–Truax categories (same order in every report).
CATEGORY_ORDER = ("recovered", "improved", "unchanged", "deteriorated", "harmed")
#: Attendance statuses of the data contract, in display order.
ATTENDANCE_ORDER = ATTENDANCE_STATUS


def colors(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours of the colour-blind-safe palette (cycled when ``n`` > 10)."""
    base = sns.color_palette(PALETTE, 10)
    return [base[i % len(base)] for i in range(n)]


def _need(frame: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{what}: expected a DataFrame, got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {missing} (columns present: {list(frame.columns)})",
            column=missing[0],
            rule="required column",
        )


def _figure(width: float = 7.0, height: float = 4.2) -> tuple[Figure, plt.Axes]:
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    plt.close(fig)  # no pyplot state left; the caller displays the returned figure
    return fig, ax


def _caption(ax: plt.Axes, text: str | None) -> None:
    """A small-print note under the axes (kept in the figure, so it travels with it)."""
    if text:
        ax.annotate(text, xy=(0, 0), xycoords="axes fraction", xytext=(0, -34),
                    textcoords="offset points", ha="left", va="top", fontsize=7.5,
                    color="0.3", annotation_clip=False, wrap=True)


def _suppressed_k(frame: pd.DataFrame) -> int | None:
    """``k`` of a frame hidden by :mod:`iopkit.outcomes.suppression` (None when not)."""
    k = frame.attrs.get("suppression", {}).get("k") if isinstance(frame.attrs, dict) else None
    return int(k) if k is not None and k > 1 else None


def _fewer(k: int | None) -> str:
    return f"fewer than {k} people" if k else "too few people"


def _band_colors(n: int) -> list[tuple[float, float, float]]:
    return sns.light_palette("#b35806", n_colors=n + 1)[1:]  # light → darker orange


def _shade_bands(ax: plt.Axes, bands: pd.DataFrame | None, *, horizontal: bool = True) -> None:
    """Shade severity bands (columns ``lower``, ``upper``, ``label``; inclusive integer totals)."""
    if bands is None or len(bands) == 0:
        return
    _need(bands, ["lower", "upper", "label"], "bands")
    cols = _band_colors(len(bands))
    for (lo, hi, label), col in zip(
        bands[["lower", "upper", "label"]].itertuples(index=False), cols, strict=True
    ):
        lo_, hi_ = float(lo) - 0.5, float(hi) + 0.5
        if horizontal:
            ax.axhspan(lo_, hi_, color=col, alpha=0.35, lw=0, zorder=0)
            ax.text(
                1.01, (lo_ + hi_) / 2, str(label), transform=ax.get_yaxis_transform(),
                va="center", ha="left", fontsize=8, color="0.25",
            )
        else:
            ax.axvspan(lo_, hi_, color=col, alpha=0.35, lw=0, zorder=0)


def trajectories(
    scores: pd.DataFrame,
    *,
    x: str = "week",
    y: str = "score",
    unit: str = "episode_id",
    mean: pd.DataFrame | None = None,
    bands: pd.DataFrame | None = None,
    fit: tuple[float, float] | None = None,
    individual: bool = True,
    scale_label: str = "score",
    x_label: str = "Weeks since admission",
    x_unit: str = "week",
    title: str | None = None,
    caption: str | None = None,
) -> Figure:
    """Individual trajectories (thin grey lines) with the mean and its 95 % CI over bands.

    ``scores``: one row per unit and time point. ``mean``: precomputed summary with columns
    ``x, mean, ci_low, ci_high`` (e.g. :func:`iopkit.outcomes.weekly_trajectory`); rows with
    a missing mean — e.g. weeks of fewer than k people blanked by
    :func:`iopkit.outcomes.hide_small_groups` — are not drawn and are named in the caption.
    When ``mean`` is omitted, seaborn's bootstrap 95 % CI of the mean is drawn
    (``errorbar=("ci", 95)``, seed 0; no small-cell rule). ``bands``: severity bands
    (``lower, upper, label``) from the scale registry. ``fit``: (intercept, slope per x unit)
    of a model's fixed effects, drawn dashed (e.g. :func:`iopkit.outcomes.mixed_model` via
    ``iopkit.reports.views.tables.fixed_line``; the slope is labelled per ``x_unit``).
    ``individual=False`` leaves out the per-unit lines
    (aggregate-only figure). ``caption``: extra small print under the axes.
    """
    _need(scores, [x, y, unit], "trajectories")
    fig, ax = _figure()
    _shade_bands(ax, bands)
    data = scores[[unit, x, y]].dropna().sort_values([unit, x])
    if individual:
        segs = [g[[x, y]].to_numpy(float) for _, g in data.groupby(unit, sort=False)
                if len(g) > 1]
        if segs:
            ax.add_collection(LineCollection(segs, colors="0.45", linewidths=0.7, alpha=0.35))
        ax.scatter(data[x], data[y], s=6, color="0.45", alpha=0.35, lw=0, label="_nolegend_")
    c = colors(1)[0]
    notes = [caption] if caption else []
    if mean is not None:
        _need(mean, [x, "mean", "ci_low", "ci_high"], "trajectories mean")
        m = mean.sort_values(x)
        gone = m.loc[m["mean"].isna(), x].tolist()
        m = m[m["mean"].notna()]
        ax.fill_between(m[x], m["ci_low"], m["ci_high"], color=c, alpha=0.25, lw=0,
                        label="95% CI")
        ax.plot(m[x], m["mean"], color=c, lw=2.5, marker="o", label="mean")
        if gone:
            k = _suppressed_k(mean)
            notes.insert(0, f"Mean not shown for {x} {', '.join(f'{v:g}' for v in gone)}: "
                            f"{_fewer(k)} measured (small-cell rule).")
    elif len(data):
        sns.lineplot(data=data, x=x, y=y, errorbar=("ci", 95), seed=0, color=c, lw=2.5,
                     marker="o", ax=ax, label="mean (95% CI)")
    if fit is not None and len(data):
        xs = np.array([float(data[x].min()), float(data[x].max())])
        ax.plot(xs, fit[0] + fit[1] * xs, color=colors(2)[1], lw=2, ls="--",
                label=f"mixed-model fit ({fit[1]:+.2f} points per {x_unit})")
    ax.set_xlabel(x_label)
    ax.set_ylabel(f"{scale_label} total (points)")
    n = data[unit].nunique()
    ax.set_title(title or f"{scale_label} trajectories (n = {n} episodes)")
    if not individual and len(data):
        ax.set_xlim(float(data[x].min()) - 0.3, float(data[x].max()) + 0.3)
    if bands is not None and len(bands):
        ax.set_ylim(float(bands["lower"].min()) - 0.5, float(bands["upper"].max()) + 0.5)
    ax.legend(loc="upper right", frameon=True, fontsize=8)
    _caption(ax, " ".join(notes))
    return fig


def patient_scores(
    scores: pd.DataFrame,
    *,
    x: str = "date",
    y: str = "score",
    bands: pd.DataFrame | None = None,
    scale_label: str = "score",
    x_label: str = "Date",
    title: str | None = None,
    expected: pd.DataFrame | None = None,
    expected_label: str = "expected range for this baseline",
) -> Figure:
    """One patient's scores over time against the scale's severity bands.

    ``expected`` (columns ``x``, ``expected``, ``lower``, ``upper`` — e.g.
    :meth:`iopkit.outcomes.ExpectedCurves.path`) draws the expected band behind the line.
    """
    _need(scores, [x, y], "patient_scores")
    fig, ax = _figure(7.0, 3.6)
    _shade_bands(ax, bands)
    if expected is not None and len(expected):
        _need(expected, [x, "expected", "lower", "upper"], "expected")
        ax.fill_between(expected[x], expected["lower"], expected["upper"], color="0.55",
                        alpha=0.35, lw=0, zorder=1, label=expected_label)  # fmt: skip
        ax.plot(expected[x], expected["expected"], color="0.3", lw=1, ls="--", zorder=2,
                label="expected (median)")  # fmt: skip
    d = scores[[x, y]].dropna().sort_values(x)
    ax.plot(d[x], d[y], color=colors(1)[0], lw=2, marker="o", zorder=3, label="patient")
    if expected is not None and len(expected):
        # below the axes (under the date labels): never over the data or the band labels
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.36), ncol=3, fontsize=8,
                  frameon=False)  # fmt: skip
    ax.set_xlabel(x_label)
    ax.set_ylabel(f"{scale_label} total (points)")
    ax.set_title(title or f"{scale_label} over the stay")
    if bands is not None and len(bands):
        ax.set_ylim(float(bands["lower"].min()) - 0.5, float(bands["upper"].max()) + 0.5)
    if pd.api.types.is_datetime64_any_dtype(d[x]):
        fig.autofmt_xdate()
    return fig


def admission_discharge(
    outcomes: pd.DataFrame,
    *,
    baseline: str = "baseline",
    endpoint: str = "endpoint",
    unit: str = "episode_id",
    bands: pd.DataFrame | None = None,
    scale_label: str = "score",
    title: str | None = None,
    min_group: int = 0,
) -> Figure:
    """Paired admission and discharge scores: one grey line per episode, boxes per time point.

    Only episodes with both scores are drawn (complete cases); the count is in the title.
    The boxes (median, quartiles) are aggregates: with fewer than ``min_group`` complete
    pairs (the small-cell k) they are left out and the caption says so.
    """
    _need(outcomes, [baseline, endpoint, unit], "admission_discharge")
    d = outcomes[[unit, baseline, endpoint]].dropna()
    long = d.melt(id_vars=unit, value_vars=[baseline, endpoint], var_name="when", value_name="v")
    long["when"] = long["when"].map({baseline: "Admission", endpoint: "Discharge / latest"})
    fig, ax = _figure(5.5, 4.5)
    _shade_bands(ax, bands)
    xs = np.array([0.0, 1.0])
    segs = [np.column_stack([xs, row]) for row in d[[baseline, endpoint]].to_numpy(float)]
    if segs:
        ax.add_collection(LineCollection(segs, colors="0.5", linewidths=0.6, alpha=0.4))
    boxes = len(d) >= min_group
    sns.boxplot(
        data=long if boxes else long.iloc[:0], x="when", y="v",
        order=["Admission", "Discharge / latest"], width=0.35,
        palette=colors(2), hue="when", legend=False, ax=ax, fliersize=0,
        boxprops={"alpha": 0.8},
    )
    if not boxes:
        ax.set_xticks([0, 1], ["Admission", "Discharge / latest"])
        ax.set_xlim(-0.5, 1.5)
        _caption(ax, f"Boxes not drawn: {_fewer(min_group)} with both scores "
                     "(small-cell rule).")
    ax.set_xlabel("")
    ax.set_ylabel(f"{scale_label} total (points)")
    ax.set_title(title or f"{scale_label} at admission and discharge (n = {len(d)} complete)")
    if bands is not None and len(bands):
        ax.set_ylim(float(bands["lower"].min()) - 0.5, float(bands["upper"].max()) + 0.5)
    return fig


def reliable_change_plot(
    outcomes: pd.DataFrame,
    *,
    baseline: str = "baseline",
    endpoint: str = "endpoint",
    category: str | None = "category",
    rc_points: float,
    cutoff: float | None = None,
    scale_label: str = "score",
    lower_is_better: bool = True,
    title: str | None = None,
) -> Figure:
    """Jacobson–Truax plot: discharge vs admission score with the reliable-change band.

    The grey band around the diagonal holds changes smaller than ``rc_points`` (the
    reliable-change threshold in scale points, z·S_diff with z = 1.959964); dashed lines mark the
    clinical ``cutoff``. Points are coloured by ``category`` when given.
    """
    cols = [baseline, endpoint] + ([category] if category else [])
    _need(outcomes, cols, "reliable_change_plot")
    if not np.isfinite(rc_points) or rc_points <= 0:
        raise InputError(f"rc_points must be a positive number of points, got {rc_points}")
    d = outcomes[cols].dropna(subset=[baseline, endpoint])
    fig, ax = _figure(6.0, 5.5)
    lo = float(min(d[baseline].min(), d[endpoint].min(), 0)) if len(d) else 0.0
    hi = float(max(d[baseline].max(), d[endpoint].max())) + 1 if len(d) else 1.0
    line = np.array([lo, hi])
    ax.fill_between(line, line - rc_points, line + rc_points, color="0.85", lw=0, zorder=0,
                    label=f"no reliable change (±{rc_points:.1f} points)")
    ax.plot(line, line, color="0.4", lw=1, zorder=1)
    if cutoff is not None:
        ax.axhline(cutoff, color="0.2", ls="--", lw=1, label=f"clinical cut-off {cutoff:.1f}")
        ax.axvline(cutoff, color="0.2", ls="--", lw=1)
    if category and len(d):
        present = [c for c in CATEGORY_ORDER if c in set(d[category])]
        present += sorted(set(map(str, d[category])) - set(present))
        pal = dict(zip(present, colors(len(present)), strict=True))
        sns.scatterplot(data=d, x=baseline, y=endpoint, hue=category, hue_order=present,
                        palette=pal, style=category, style_order=present, s=40, ax=ax,
                        zorder=3)
    else:
        ax.scatter(d[baseline], d[endpoint], s=30, color=colors(1)[0], zorder=3)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    better = "below" if lower_is_better else "above"
    ax.set_xlabel(f"{scale_label} at admission (points)")
    ax.set_ylabel(f"{scale_label} at discharge / latest (points)")
    ax.set_title(title or f"Reliable change, {scale_label} (improvement {better} the diagonal)")
    ax.legend(loc="best", fontsize=8, frameon=True)
    return fig


def coverage_heatmap(
    coverage: pd.DataFrame,
    *,
    row: str = "admission_slot",
    col: str = "skill",
    value: str = "exposures",
    title: str | None = None,
    row_label: str = "Admission day",
    col_label: str = "Core skill",
    value_label: str = "sessions of the skill during the stay",
) -> Figure:
    """Heatmap of admission slot × core skill (e.g. times a patient admitted that day meets it).

    Zero cells (a skill missed by patients admitted that day) are outlined in text with "0",
    so gaps stay visible in greyscale print.
    """
    _need(coverage, [row, col, value], "coverage_heatmap")
    grid = coverage.pivot_table(index=row, columns=col, values=value, aggfunc="sum", sort=False)
    h = max(2.5, 0.32 * len(grid) + 1.5)
    w = max(5.0, 0.45 * grid.shape[1] + 2.5)
    fig, ax = _figure(w, h)
    top = max(float(np.nanmax(grid.to_numpy(float))) if grid.size else 1.0, 1.0)
    sns.heatmap(grid, cmap=CMAP, vmin=0, vmax=top, annot=grid.shape[0] * grid.shape[1] <= 600,
                fmt=".0f",
                linewidths=0.5, linecolor="white", cbar_kws={"label": value_label}, ax=ax)
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    ax.set_title(title or "Core-skill coverage by admission day")
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    ax.tick_params(axis="y", labelsize=8)
    return fig


def modality_balance(
    frame: pd.DataFrame,
    *,
    modality: str = "modality",
    value: str = "sessions",
    target: str | None = None,
    value_label: str = "sessions",
    title: str | None = None,
) -> Figure:
    """Horizontal bars of sessions (or hours) per modality; ``target`` column drawn as ticks.

    A missing ``value`` (a bar hidden by :func:`iopkit.outcomes.hide_small_groups`) is drawn
    as an empty bar marked "hidden (<k)" and named in the caption.
    """
    _need(frame, [modality, value] + ([target] if target else []), "modality_balance")
    d = frame.sort_values(value, ascending=False, na_position="last")
    fig, ax = _figure(6.0, max(2.5, 0.45 * len(d) + 1.2))
    labels = d[modality].astype(str)
    ax.barh(labels, d[value].fillna(0), color=colors(len(d)))
    gone = labels[d[value].isna().to_numpy()].tolist()
    k = _suppressed_k(frame)
    for lab in gone:
        ax.text(0, lab, f" hidden (<{k})" if k else " hidden", va="center", ha="left",
                fontsize=8, color="0.3")
    ax.set_xlim(left=0, right=None if d[value].notna().any() else 1)
    if gone:
        _caption(ax, f"Not shown: {', '.join(gone)} ({_fewer(k)}; small-cell rule).")
    if target:
        ax.scatter(d[target], d[modality].astype(str), marker="|", s=400, color="0.1",
                   label="target", zorder=3)
        ax.legend(loc="lower right", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(value_label)
    ax.set_ylabel("Modality")
    ax.set_title(title or "Modality balance")
    return fig


def attendance(
    frame: pd.DataFrame,
    *,
    x: str = "week",
    status: str = "status",
    count: str = "n",
    x_label: str = "Program week",
    title: str | None = None,
) -> Figure:
    """Stacked shares of attendance status per period (statuses of the data contract).

    Periods whose counts are all missing (hidden by :func:`iopkit.outcomes.hide_small_groups`
    because fewer than k people were scheduled) keep their place on the axis, marked
    "<k", and are named in the caption.
    """
    _need(frame, [x, status, count], "attendance")
    k = _suppressed_k(frame)
    hidden_x = frame.groupby(x)[count].apply(lambda v: v.isna().all())
    gone = [p for p, h in hidden_x.items() if h]
    wide = frame.pivot_table(index=x, columns=status, values=count, aggfunc="sum", fill_value=0,
                             dropna=False)
    wide = wide.reindex(sorted(hidden_x.index))
    order = [s for s in ATTENDANCE_ORDER if s in wide.columns]
    order += [s for s in wide.columns if s not in order]
    wide = wide[order]
    share = wide.div(wide.sum(axis=1).where(lambda s: s > 0), axis=0) * 100
    fig, ax = _figure(7.0, 3.8)
    bottom = np.zeros(len(share))
    pos = np.arange(len(share))
    for st, c in zip(order, colors(len(order)), strict=True):
        vals = share[st].fillna(0).to_numpy(float)
        ax.bar(pos, vals, bottom=bottom, color=c, label=st.replace("_", " "), width=0.8)
        bottom += vals
    ax.set_xticks(pos, [str(v) for v in share.index])
    for i, p in enumerate(share.index):
        if p in gone:
            ax.text(i, 2, f"<{k}" if k else "hidden", ha="center", va="bottom", fontsize=8,
                    color="0.3")
    ax.set_ylim(0, 100)
    ax.set_xlabel(x_label)
    ax.set_ylabel("Share of scheduled days (%)")
    ax.set_title(title or "Attendance by week")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8, ncols=len(order),
              frameon=False)
    if gone:
        ax.annotate(f"Not shown: {x} {', '.join(str(p) for p in gone)} ({_fewer(k)} "
                    "scheduled; small-cell rule).", xy=(0, 0), xycoords="axes fraction",
                    xytext=(0, -58), textcoords="offset points", ha="left", va="top",
                    fontsize=7.5, color="0.3", annotation_clip=False)
    return fig
