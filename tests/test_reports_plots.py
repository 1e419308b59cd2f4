"""iopkit.plots: pure figure functions (data in → Figure out), readable in print."""

from __future__ import annotations

import io
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from iopkit import plots
from iopkit.errors import InputError

BANDS = pd.DataFrame({"lower": [0, 5, 10, 15, 20], "upper": [4, 9, 14, 19, 27],
                      "label": ["none", "mild", "moderate", "mod. severe", "severe"]})


@pytest.fixture()
def scores() -> pd.DataFrame:
    rng = np.random.default_rng(sum(map(ord, "iopkit plots")))
    rows = [(f"E{i}", w, float(np.clip(16 - 1.5 * w + rng.normal(0, 3), 0, 27)))
            for i in range(12) for w in range(5)]
    return pd.DataFrame(rows, columns=["episode_id", "week", "score"])


def _check(fig: Figure) -> plt.Axes:
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == []  # no pyplot state left behind
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() is not None and ax.get_ylabel()
    return ax


def test_trajectories_with_precomputed_mean_and_bands(scores: pd.DataFrame) -> None:
    mean = scores.groupby("week", as_index=False)["score"].mean().rename(columns={"score": "mean"})
    mean["ci_low"], mean["ci_high"] = mean["mean"] - 1, mean["mean"] + 1
    ax = _check(plots.trajectories(scores, mean=mean, bands=BANDS, scale_label="PHQ-9"))
    assert "points" in ax.get_ylabel() and "(n = 12 episodes)" in ax.get_title()
    band_texts = {t.get_text() for t in ax.texts}
    assert band_texts == set(BANDS["label"])
    mean_line = [ln for ln in ax.get_lines() if ln.get_label() == "mean"][0]
    assert to_rgb(mean_line.get_color()) == pytest.approx(sns.color_palette("colorblind")[0])
    np.testing.assert_allclose(mean_line.get_ydata(), mean["mean"])


def test_trajectories_bootstrap_mean_when_no_summary(scores: pd.DataFrame) -> None:
    ax = _check(plots.trajectories(scores, fit=(16.0, -1.5)))
    fit = [ln for ln in ax.get_lines() if ln.get_label().startswith("mixed-model fit")][0]
    np.testing.assert_allclose(fit.get_ydata(), [16.0, 16.0 - 1.5 * 4])


def test_admission_discharge_and_reliable_change() -> None:
    o = pd.DataFrame({"episode_id": list("abcdef"), "baseline": [20, 15, 12, 18, 9, np.nan],
                      "endpoint": [6, 14, 16, 4, 9, 3],
                      "category": ["recovered", "unchanged", "deteriorated", "recovered",
                                   "unchanged", None]})
    ax = _check(plots.admission_discharge(o, bands=BANDS, scale_label="PHQ-9"))
    assert "n = 5 complete" in ax.get_title()
    ax = _check(plots.reliable_change_plot(o, rc_points=5.2, cutoff=9.5, scale_label="PHQ-9"))
    labels = ax.get_legend_handles_labels()[1]
    assert "no reliable change (±5.2 points)" in labels and "clinical cut-off 9.5" in labels
    with pytest.raises(InputError, match="rc_points"):
        plots.reliable_change_plot(o, rc_points=0)


def test_coverage_heatmap_modality_and_attendance() -> None:
    cov = pd.DataFrame({"admission_slot": ["01 Mon"] * 2 + ["02 Wed"] * 2,
                        "skill": ["a", "b"] * 2, "exposures": [1, 2, 0, 1]})
    _check(plots.coverage_heatmap(cov))
    _check(plots.modality_balance(pd.DataFrame({"modality": ["dbt", "cbt"], "sessions": [5, 7]})))
    att = pd.DataFrame({"week": [1, 1, 2], "status": ["present", "absent_excused", "present"],
                        "n": [8, 2, 10]})
    ax = _check(plots.attendance(att))
    heights = [p.get_height() for p in ax.patches]
    assert sorted(heights) == pytest.approx(sorted([80.0, 100.0, 20.0, 0.0]))


def test_missing_column_is_named() -> None:
    with pytest.raises(InputError, match="missing column"):
        plots.trajectories(pd.DataFrame({"week": [1]}))


def test_trajectories_leave_out_hidden_weekly_means_and_say_so(scores: pd.DataFrame) -> None:
    """Weeks blanked by the small-cell rule are not drawn and are named under the figure."""
    from iopkit.outcomes import hide_small_groups

    mean = scores.groupby("week", as_index=False)["score"].agg(n="count", mean="mean")
    mean["ci_low"], mean["ci_high"] = mean["mean"] - 1, mean["mean"] + 1
    mean.loc[mean["week"] == 4, "n"] = 3
    hidden = hide_small_groups(mean, stat_cols=["mean", "ci_low", "ci_high"], k=11)
    ax = _check(plots.trajectories(scores, mean=hidden, individual=False))
    mean_line = [ln for ln in ax.get_lines() if ln.get_label() == "mean"][0]
    assert list(mean_line.get_xdata()) == [0, 1, 2, 3]
    assert not any(isinstance(c, LineCollection) for c in ax.collections)  # aggregate only
    notes = [t.get_text() for t in ax.texts]
    assert any("week 4" in t and "fewer than 11 people" in t for t in notes)


def test_aggregate_bars_and_boxes_follow_the_small_cell_rule() -> None:
    from iopkit.outcomes import hide_small_groups

    att = pd.DataFrame({"week": [1, 1, 2], "status": ["present", "late", "present"],
                        "n": [40, 4, 5], "n_episodes": [12, 12, 2]})
    ax = _check(plots.attendance(hide_small_groups(att, n_col="n_episodes", stat_cols=["n"],
                                                   k=11)))
    assert ax.get_xticklabels()[1].get_text() == "2"  # week 2 keeps its place
    assert sum(p.get_height() for p in ax.patches) == pytest.approx(100.0)  # week 1 only
    assert "<11" in {t.get_text() for t in ax.texts}
    mod = hide_small_groups(pd.DataFrame({"modality": ["cbt", "rp"], "sessions": [50, 3],
                                          "episodes": [20, 3]}),
                            n_col="episodes", stat_cols=["sessions"], k=11)
    ax = _check(plots.modality_balance(mod))
    assert sorted(p.get_width() for p in ax.patches) == [0, 50]
    assert any("Not shown: rp" in t.get_text() for t in ax.texts)
    o = pd.DataFrame({"episode_id": list("abc"), "baseline": [20, 15, 12],
                      "endpoint": [6, 14, 16]})
    ax = _check(plots.admission_discharge(o, min_group=11))
    assert not ax.patches and any("Boxes not drawn" in t.get_text() for t in ax.texts)
    assert _check(plots.admission_discharge(o, min_group=3)).patches  # 3 pairs ≥ 3: boxes


# ---------------------------------------------------------------------------------------------
# alternative text (WCAG 2.2 SC 1.1.1): built from the title and the data, handed to IPython


def test_every_figure_describes_its_title_and_data(scores: pd.DataFrame) -> None:
    o = pd.DataFrame({"episode_id": list("abcde"), "baseline": [20, 15, 12, 18, 22],
                      "endpoint": [6, 14, 16, 9, 8],
                      "category": ["recovered", "unchanged", "deteriorated", "improved",
                                   "recovered"]})
    alt = plots.alt_text(plots.reliable_change_plot(o, rc_points=5.2, cutoff=9.5,
                                                    scale_label="PHQ-9"))
    assert alt.startswith("Scatter plot: Reliable change, PHQ-9 (improvement below the diagonal).")
    assert "One point per episode (5): recovered 2, improved 1, unchanged 1, deteriorated 1." in alt
    assert "5.2 points" in alt and "cut-off 9.5" in alt

    p = pd.DataFrame({"date": pd.to_datetime(["2025-03-19", "2025-03-26", "2025-04-02"]),
                      "score": [18, 24, 21]})
    alt = plots.alt_text(plots.patient_scores(p, bands=BANDS, scale_label="PHQ-9"))
    assert "3 score(s) from 2025-03-19 to 2025-04-02: first 18, latest 21 (severe)" in alt
    assert "lowest 18, highest 24" in alt and "Severity bands shaded: none 0–4" in alt

    alt = plots.alt_text(plots.trajectories(scores, bands=BANDS, scale_label="PHQ-9"))
    weekly = scores.groupby("week")["score"].mean()
    assert alt.startswith("Line chart: PHQ-9 trajectories (n = 12 episodes).")
    assert f"{weekly.iloc[0]:.1f} at week 0" in alt and f"{weekly.iloc[-1]:.1f} at week 4" in alt

    cov = pd.DataFrame({"admission_slot": ["01 Mon"] * 2 + ["02 Wed"] * 2,
                        "skill": ["a", "b"] * 2, "exposures": [1, 2, 0, 1]})
    alt = plots.alt_text(plots.coverage_heatmap(cov))
    assert "2 admission day(s) by 2 core skill(s)" in alt and "from 0 to 2" in alt
    assert "1 cell(s) are 0: a for 02 Wed." in alt


def test_alt_text_states_nothing_the_small_cell_rule_hides() -> None:
    from iopkit.outcomes import hide_small_groups

    att = pd.DataFrame({"week": [1, 1, 2], "status": ["present", "late", "present"],
                        "n": [40, 4, 5], "n_episodes": [12, 12, 2]})
    alt = plots.alt_text(plots.attendance(
        hide_small_groups(att, n_col="n_episodes", stat_cols=["n"], k=11)))
    assert "Present: week 1 91%." in alt  # 40 of 44
    assert "Not shown: week 2 (fewer than 11 people scheduled" in alt
    mod = hide_small_groups(pd.DataFrame({"modality": ["cbt", "rp"], "sessions": [50, 3],
                                          "episodes": [20, 3]}),
                            n_col="episodes", stat_cols=["sessions"], k=11)
    alt = plots.alt_text(plots.modality_balance(mod))
    assert "sessions: cbt 50." in alt and "Not shown: rp" in alt and " 3" not in alt
    o = pd.DataFrame({"episode_id": list("abc"), "baseline": [20, 15, 12],
                      "endpoint": [6, 14, 16]})
    alt = plots.alt_text(plots.admission_discharge(o, min_group=11))
    assert "Boxes not drawn" in alt and "median" not in alt
    assert "median 15 at admission, 14 at discharge" in plots.alt_text(
        plots.admission_discharge(o, min_group=3))


def test_ipython_display_carries_the_alt_text() -> None:
    """The inline backend draws the PNG; the figure adds its description as ``alt`` metadata
    and as ``text/plain`` (kept even where a format such as "retina" replaces the metadata)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats

    shell = InteractiveShell.instance()
    fig = plots.modality_balance(pd.DataFrame({"modality": ["dbt", "cbt"], "sessions": [5, 7]}))
    try:
        for fmt in ("png", "retina"):
            select_figure_formats(shell, {fmt})
            data, md = shell.display_formatter.format(fig)
            assert data["image/png"] and data["text/plain"] == plots.alt_text(fig)
            if fmt == "png":
                assert md["image/png"]["alt"] == plots.alt_text(fig)
    finally:
        InteractiveShell.clear_instance()
    assert plots.alt_text(fig).startswith("Horizontal bar chart: Modality balance.")


def test_describe_and_the_fallback_for_any_figure() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [2, 3], label="series")
    ax.set_title("Own figure")
    ax.set_xlabel("week")
    ax.legend()
    assert plots.alt_text(fig) == ("Own figure. Horizontal axis: week; vertical axis: "
                                   "unlabelled. Legend: series.")
    assert plots.alt_text(Figure()) == "Figure without title or labelled axes."
    assert plots.alt_text(plots.describe(fig, "  Two   points.\n")) == "Two points."
    with pytest.raises(InputError, match="non-empty"):
        plots.describe(fig, " ")


def _figures(scores: pd.DataFrame) -> dict[str, Figure]:
    """One fresh figure of every kind (a drawn figure caches its layout)."""
    mean = scores.groupby("week", as_index=False)["score"].mean().rename(columns={"score": "mean"})
    mean["ci_low"], mean["ci_high"] = mean["mean"] - 1, mean["mean"] + 1
    o = pd.DataFrame({"episode_id": list("abcdef"), "baseline": [20, 15, 12, 18, 9, 14],
                      "endpoint": [6, 14, 16, 4, 9, 3],
                      "category": ["recovered", "unchanged", "deteriorated", "recovered",
                                   "unchanged", "improved"]})
    cov = pd.DataFrame({"admission_slot": ["01 Mon"] * 2 + ["02 Wed"] * 2,
                        "skill": ["a", "b"] * 2, "exposures": [1, 2, 0, 1]})
    att = pd.DataFrame({"week": [1, 1, 2], "status": ["present", "absent_excused", "present"],
                        "n": [8, 2, 10]})
    return {
        "trajectories": plots.trajectories(scores, mean=mean, bands=BANDS, scale_label="PHQ-9",
                                           caption="A long caption under the axes " * 6),
        "admission_discharge": plots.admission_discharge(o, bands=BANDS, scale_label="PHQ-9"),
        "reliable_change": plots.reliable_change_plot(o, rc_points=5.2, cutoff=9.5),
        "coverage": plots.coverage_heatmap(cov),
        "modality": plots.modality_balance(pd.DataFrame({"modality": ["dbt", "cbt"],
                                                         "sessions": [5, 7]})),
        "attendance": plots.attendance(att),
    }


_SVG_NUMBER = re.compile(r"-?\d+\.\d+|-?\d+")
_SVG_ID = re.compile(r"\b(p|m|[A-Z][A-Za-z]+-)[0-9a-f]{10}\b")


def _svg_parts(svg: str) -> tuple[list[str], np.ndarray]:
    """An SVG's text without its numbers (ids derived from drawn content normalised), and
    the numbers."""
    text = _SVG_ID.sub(r"\1#", svg)
    return _SVG_NUMBER.split(text), np.array(_SVG_NUMBER.findall(text), dtype=float)


def _count_renderers(monkeypatch: pytest.MonkeyPatch) -> list:
    from matplotlib.backends import backend_svg

    made: list = []
    init = backend_svg.RendererSVG.__init__

    def counting(self, *args, **kwargs):  # noqa: ANN001, ANN202
        made.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(backend_svg.RendererSVG, "__init__", counting)
    return made


def _savefig(fig: Figure) -> str:
    import matplotlib as mpl

    buf = io.BytesIO()
    with mpl.rc_context(plots.FIGURE_RC):
        fig.savefig(buf, **plots.FIGURE_SAVE)
    return buf.getvalue().decode()


def test_constrained_drawing_writes_what_savefig_writes_with_one_renderer(
    scores: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The constrained-layout drawing of iopkit.plots draws once (one renderer measures every
    text, so each label is measured once) and writes what ``savefig`` writes with the same
    settings: the same SVG elements, coordinates within 0.01 pt."""
    made = _count_renderers(monkeypatch)
    ours, theirs = _figures(scores), _figures(scores)
    for kind in ours:
        made.clear()
        svg, cut = plots._draw_svg(ours[kind], one_pass=False)
        assert len(made) == 1 and cut is None, kind
        made.clear()
        ref = _savefig(theirs[kind])
        assert len(made) >= 2, kind  # savefig: renderers for the layout, another to draw
        mine, theirs_ = _svg_parts(svg), _svg_parts(ref)
        assert mine[0] == theirs_[0], kind
        np.testing.assert_allclose(mine[1], theirs_[1], atol=0.01, err_msg=kind)


def test_font_heights_read_once_draw_the_same_bytes(
    scores: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renderer's cached font heights (``_TextsSVG._get_font_height_metrics``) are the
    numbers matplotlib computes itself: every report figure draws the same SVG byte for byte
    with and without them, and matplotlib does ask for them (each font read once)."""
    ours, theirs = _figures(scores), _figures(scores)
    asked: list = []
    cached = plots._TextsSVG._get_font_height_metrics

    def counting(self, prop):  # noqa: ANN001, ANN202
        asked.append(prop)
        return cached(self, prop)

    monkeypatch.setattr(plots._TextsSVG, "_get_font_height_metrics", counting)
    with_cache = {kind: plots._svg(fig) for kind, fig in ours.items()}
    assert len(asked) > 10 * len(ours)
    monkeypatch.delattr(plots._TextsSVG, "_get_font_height_metrics")
    for kind, fig in theirs.items():
        assert plots._svg(fig) == with_cache[kind], kind


def test_ticks_computed_once_per_state_draw_the_same_bytes(
    scores: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_TicksOnce``: every report figure draws the same SVG byte for byte whether each axis
    recomputes its ticks at every query (matplotlib as shipped) or once per view, axes box
    and dpi — in the one-pass placement and in the constrained layout's two passes — and
    matplotlib's tick computation runs far fewer times with it."""
    from contextlib import nullcontext

    import matplotlib.axis as maxis

    runs: list = []
    update = maxis.Axis._update_ticks

    def counting(self):  # noqa: ANN001, ANN202
        runs.append(self)
        return update(self)

    def narrow() -> Figure:
        # the axes shrinks once its labels are placed, so the x axis fits fewer ticks at the
        # draw than when measured (0–1000 by 250, then by 500): a cached answer for the old
        # box would draw the wrong ticks
        fig, ax = plots._figure(3.0, 2.0)
        ax.plot(np.linspace(0, 1000, 10), np.linspace(0, 1e5, 10))
        ax.set_ylabel("a long label\nover two lines", fontsize=14)
        ax.tick_params(labelsize=11)
        return fig

    monkeypatch.setattr(maxis.Axis, "_update_ticks", counting)
    for one_pass in (True, False):
        ours = {**_figures(scores), "narrow": narrow()}
        theirs = {**_figures(scores), "narrow": narrow()}
        runs.clear()
        once = {kind: plots._draw_svg(fig, one_pass=one_pass)[0] for kind, fig in ours.items()}
        n_once = len(runs)
        with monkeypatch.context() as m:
            m.setattr(plots, "_TicksOnce", lambda fig: nullcontext())
            runs.clear()
            every = {kind: plots._draw_svg(fig, one_pass=one_pass)[0]
                     for kind, fig in theirs.items()}  # fmt: skip
        assert once == every
        assert 0 < n_once < len(runs) / 2, (n_once, len(runs))
        assert not any("_update_ticks" in vars(a) for f in ours.values() for ax in f.axes
                       for a in ax._axis_map.values())  # fmt: skip


def test_render_places_one_axes_figures_in_one_pass_as_the_constrained_layout_does(
    scores: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """render() lays out a one-axes figure with one measuring pass: the axes lands where the
    constrained layout puts it (within 3 pt; the cell of the equal-aspect Jacobson–Truax
    plot within 15 pt: its square box is shrunk and centred inside the cell, which a second
    pass moves again), no drawn text is cut off, one renderer is made,
    and the figure keeps its constrained layout engine afterwards."""
    made = _count_renderers(monkeypatch)
    ours, theirs = _figures(scores), _figures(scores)
    for kind in ours:
        one_axes = len(ours[kind].axes) == 1
        made.clear()
        data, meta = plots.render(ours[kind])
        assert len(made) == 1, kind
        assert meta[plots.FIGURE_MIMETYPE]["alt"] == data["text/plain"] == plots.alt_text(
            ours[kind])
        assert ours[kind].get_layout_engine() is not None
        _savefig(theirs[kind])
        if not one_axes:  # a colour bar: the constrained layout itself (test above)
            continue
        mine = ours[kind].axes[0].get_position(original=True).get_points() * 72
        ref = theirs[kind].axes[0].get_position(original=True).get_points() * 72
        size = np.array(ours[kind].get_size_inches())
        tol = 15 if kind == "reliable_change" else 3
        np.testing.assert_allclose(mine * size, ref * size, atol=tol, err_msg=kind)
        assert "<svg" in data[plots.FIGURE_MIMETYPE]


def _title_y(fig: Figure) -> float:
    return fig.axes[0].title.get_window_extent().y0


def test_the_draw_keeps_the_title_where_the_automatic_placement_puts_it(
    scores: pd.DataFrame,
) -> None:
    """render() lets the draw skip matplotlib's automatic title placement only when the
    measuring pass left the title at y = 1 with nothing on top of the axes: the title is
    drawn where savefig puts it (within 0.5 pt), the automatic placement is on again after
    drawing, and top ticks, a twin axes or a y offset text keep it automatic."""
    for kind, fig in _figures(scores).items():
        if len(fig.axes) != 1:
            continue
        ref = _figures(scores)[kind]
        plots.render(fig)
        _savefig(ref)
        assert fig.axes[0]._autotitlepos is True, kind
        assert abs(_title_y(fig) - _title_y(ref)) < 0.5, kind

    def top_ticks(ax: plt.Axes) -> None:
        ax.xaxis.tick_top()

    def twin(ax: plt.Axes) -> None:
        ax.twiny().set_xlabel("top axis")

    def offset(ax: plt.Axes) -> None:
        ax.plot([0, 1], [1e6, 1e6 + 1])

    for change in (top_ticks, twin, offset):
        fig, ax = plt.subplots(layout="constrained")
        ax.plot([0, 1], [0, 1])
        change(ax)
        ax.set_title("A title")
        fig.canvas.draw()
        assert not plots._title_settled(ax), change.__name__
        plt.close(fig)
    fig, ax = plt.subplots(layout="constrained")
    ax.plot([0, 1], [0, 1])
    ax.set_title("A title")
    fig.canvas.draw()
    assert plots._title_settled(ax)
    plt.close(fig)


def test_a_text_the_one_pass_would_cut_off_falls_back_to_the_constrained_layout(
    scores: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text that the one-pass placement leaves outside the figure is caught after drawing
    and the figure is drawn again by its constrained layout (which then fits it)."""
    calls = []
    draw = plots._draw_svg

    def spy(fig: Figure, *, one_pass: bool) -> tuple[str, list[str] | None]:
        svg, cut = draw(fig, one_pass=one_pass)
        calls.append((one_pass, cut))
        return svg, cut

    monkeypatch.setattr(plots, "_draw_svg", spy)
    plots.render(_figures(scores)["trajectories"])
    assert calls == [(True, [])]  # an ordinary figure: one pass, nothing cut off

    calls.clear()
    fig = _figures(scores)["trajectories"]
    place = plots._place_in_one_pass

    def too_far_left(fig: Figure, renderer) -> bool:  # noqa: ANN001 - a placement that errs
        placed = place(fig, renderer)
        x0, y0, w, h = fig.axes[0].get_position().bounds
        fig.axes[0].set_position([0.0, y0, w + x0, h])
        fig.axes[0].set_in_layout(True)
        return placed

    monkeypatch.setattr(plots, "_place_in_one_pass", too_far_left)
    svg = plots._svg(fig)
    assert calls[0][0] is True and calls[0][1]  # the y tick labels and label were cut off
    assert calls[1] == (False, None)  # drawn again by the constrained layout
    assert fig.axes[0].get_position().x0 > 0.03 and "<svg" in svg


def test_a_crowded_or_multi_axes_figure_keeps_the_constrained_layout() -> None:
    """The one-pass placement declines what it does not handle: several axes, or a figure
    whose decorations leave the axes under a fifth of the figure."""
    from matplotlib.backends.backend_mixed import MixedModeRenderer

    def renderer(fig: Figure) -> MixedModeRenderer:
        w, h = fig.get_size_inches()
        return MixedModeRenderer(fig, w, h, 72, plots._TextsSVG(w * 72, h * 72, io.StringIO()))

    fig = plots.ReportFigure(figsize=(3, 2), layout="constrained")
    fig.subplots(1, 2)
    assert plots._place_in_one_pass(fig, renderer(fig)) is False
    fig = plots.ReportFigure(figsize=(3, 2), layout="constrained")
    ax = fig.add_subplot()
    ax.set_yticks([0, 1], ["a tick label far too long for so small a figure"] * 2)
    assert plots._place_in_one_pass(fig, renderer(fig)) is False
    fig = plots.ReportFigure(figsize=(3, 2))  # no constrained layout: nothing to imitate
    fig.add_subplot()
    assert plots._place_in_one_pass(fig, renderer(fig)) is False
