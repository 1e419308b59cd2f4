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

Alternative text: every figure is a :class:`ReportFigure` carrying a description built from
its title and its data (chart type, axes, what the data show, what is left out by the
small-cell rule), as WCAG 2.2 success criterion 1.1.1 "Non-text Content" asks
(https://www.w3.org/TR/WCAG22/#non-text-content). Displayed in a notebook, the figure hands
that text to IPython as the ``alt`` metadata of its image (and as its ``text/plain``
form), and the report export writes it into the ``<img alt=...>``
(:mod:`iopkit.reports.engine.export`). The text states only what the figure itself shows.
"""

from __future__ import annotations

import colorsys
import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

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


#: Image MIME types a displayed figure may take (inline PNG by default, SVG or JPEG if chosen).
IMAGE_MIMETYPES = ("image/png", "image/svg+xml", "image/jpeg")


class ReportFigure(Figure):
    """A matplotlib Figure that carries its alternative text (``alt_text``).

    IPython asks ``_repr_mimebundle_`` first and the inline backend's per-MIME formatter
    for the image bytes (``IPython.core.formatters.DisplayFormatter.format``), so the image
    itself is drawn exactly as for any Figure and only the metadata is added here.
    """

    alt_text: str = ""

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        text = alt_text(self)
        return {"text/plain": text}, {m: {"alt": text} for m in IMAGE_MIMETYPES}


#: How a report draws its figures — the one place, chosen by measurement
#: (``benchmarks/bench_figures.py``, docs/performance.md): SVG with no tight bounding box
#: (every figure here has constrained layout, so the margins are right already), two thirds
#: of the bytes of matplotlib-inline's default PNG (100 dpi, ``bbox_inches="tight"``) and
#: sharp at any zoom and on paper. No date and a fixed id salt: the same figure gives the
#: same bytes, so two runs of a report can be compared.
FIGURE_MIMETYPE = "image/svg+xml"
FIGURE_SAVE: dict[str, Any] = {"format": "svg", "metadata": {"Date": None}}
FIGURE_RC: dict[str, Any] = {"svg.hashsalt": "iopkit", "svg.fonttype": "path"}


class _OneRendererSVG(FigureCanvasSVG):
    """An SVG canvas whose layout engine measures text with the renderer that then draws.

    ``Figure.savefig`` with a layout engine draws a figure three times over three renderers
    (``FigureCanvasBase.print_figure``: one to find a renderer, one for the layout and a
    draw with drawing disabled, one for the output). Text metrics are cached per renderer
    (``matplotlib.text._get_text_metrics_with_cache``), so every label is measured more
    than once. A figure asks its canvas's ``get_renderer`` for the layout renderer when the
    canvas has one (``Figure._get_renderer``, as Agg canvases do), so here the layout and
    the one draw share one renderer. Should matplotlib stop asking, the layout gets a
    renderer of its own and the output is unchanged, only slower; ``tests/test_reports_plots.py``
    checks the output against ``savefig`` and that one renderer measures every text.
    """

    renderer: MixedModeRenderer

    def get_renderer(self) -> MixedModeRenderer:
        return self.renderer

    def is_saving(self) -> bool:
        return True  # as while savefig runs: animated artists are drawn too


#: The font tables a text's line height is read from, in matplotlib's order
#: (``Text._get_layout``): (table, line gap, ascender, descender).
_HEIGHT_TABLES = (
    ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
    ("hhea", "lineGap", "ascent", "descent"),
)


class _TextsSVG(RendererSVG):
    """An SVG renderer that keeps the text artists it draws (to check none is cut off) and
    reads each font's line-height metrics once.

    ``Text._get_layout`` asks a renderer that has ``_get_font_height_metrics`` for a font's
    ascent, descent and line gap (as the PDF and PS renderers answer from AFM files);
    otherwise it finds the font file and reads two of its tables on every measure of every
    text — a figure measures its ~150 texts several times, and that lookup was the largest
    single cost of drawing one (``get_sfnt_table``). Here the answer is the same
    computation, from the same tables, once per font and size. Should matplotlib stop
    asking, it computes the same numbers itself; ``tests/test_reports_plots.py`` checks the
    SVG is the same byte for byte either way.
    """

    def __init__(self, *args: Any, figure: Figure | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drawn_texts: dict[int, Any] = {}
        self._figure = figure  # whose dpi the heights scale with, read at each call
        self._heights: dict[Any, tuple[float | None, float | None, float | None]] = {}

    def _get_font_height_metrics(
        self, prop: Any
    ) -> tuple[float | None, float | None, float | None]:
        """(ascent, descent, line gap) of ``prop``'s font in pixels, as ``Text._get_layout``
        computes them (None, None, None: no such table; matplotlib then measures)."""
        if self._figure is None:
            return None, None, None  # matplotlib computes them
        dpi = self._figure.dpi  # as Text._get_layout reads it: 72 while drawing an SVG
        key = (prop, dpi)
        found = self._heights.get(key)
        if found is None:
            from matplotlib.font_manager import fontManager, get_font

            found = (None, None, None)
            font = get_font(fontManager._find_fonts_by_props(prop))
            for table_name, gap_key, ascent_key, descent_key in _HEIGHT_TABLES:
                table = font.get_sfnt_table(table_name)
                if table is None:
                    continue
                units_per_em = font.get_sfnt_table("head")["unitsPerEm"]
                scale = 1 / units_per_em * prop.get_size_in_points() * dpi / 72
                found = (table[ascent_key] * scale, -table[descent_key] * scale,
                         table[gap_key] * scale)  # fmt: skip
                break
            self._heights[key] = found
        return found

    def draw_text(self, gc: Any, x: float, y: float, s: str, prop: Any, angle: float,
                  ismath: bool | str = False, mtext: Any = None) -> None:
        if mtext is not None:
            self.drawn_texts[id(mtext)] = mtext
        super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)


#: Slack of the cut-off check (points): a text may reach this far past the figure's edge.
_EDGE_SLACK = 0.5


def _place_in_one_pass(fig: Figure, renderer: MixedModeRenderer) -> bool:
    """Lay out a one-axes figure as its constrained layout does, measuring once.

    Constrained layout (``matplotlib._constrained_layout``) makes room for what sticks out of
    the axes — tick labels, axis labels, title, band labels, captions — with a pad of
    ``w_pad``/``h_pad`` at the figure's edges; it measures twice (the second pass because the
    ticks may change once the axes moved), which was half of a report figure's drawing time.
    Here the decorations are measured once (``Axes.get_tightbbox(for_layout_only=True)``,
    the layout's own measure, with the renderer that then draws, so no text is measured
    again) and the axes placed so they fit. The caller draws and then checks that no drawn
    text lies outside the figure (:func:`_cut_off`), and falls back to the constrained layout
    when one does. False (nothing changed) when the figure is not one axes alone.
    """
    engine = fig.get_layout_engine()
    if (len(fig.axes) != 1 or fig.legends or fig.texts or fig.images or fig.subfigs
            or type(engine) is not ConstrainedLayoutEngine):
        return False
    (ax,) = fig.axes
    pads = engine.get()
    w_pad, h_pad = pads["w_pad"] * fig.dpi, pads["h_pad"] * fig.dpi  # inches → display units
    cell = ax.get_position(original=True).transformed(fig.transSubfigure)
    tight = ax.get_tightbbox(renderer, for_layout_only=True)
    if tight is None:
        return False
    left, right = max(cell.x0 - tight.x0, 0.0), max(tight.x1 - cell.x1, 0.0)
    bottom, top = max(cell.y0 - tight.y0, 0.0), max(tight.y1 - cell.y1, 0.0)
    width, height = fig.bbox.width, fig.bbox.height
    x0, x1 = w_pad + left, width - w_pad - right
    y0, y1 = h_pad + bottom, height - h_pad - top
    if x1 - x0 < 0.2 * width or y1 - y0 < 0.2 * height:
        return False  # crowded: leave it to the constrained layout
    in_layout = ax.get_in_layout()
    ax.set_position([x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height])
    ax.set_in_layout(in_layout)  # set_position takes the axes out of the layout; keep it in
    return True


def _title_settled(ax: Axes) -> bool:
    """True when the automatic title placement the measuring pass just ran left every title
    of ``ax`` at y = 1 and would do so again at the draw.

    ``Axes._update_title_position`` (run by both ``get_tightbbox`` and ``draw``) raises a
    title above whatever is drawn on top of the axes: top x ticks or label, twinned or child
    axes, or a y offset text ("1e6") under it; otherwise the title stays at y = 1, its pad
    and descent being in points, so moving or resizing the axes changes nothing. Each run
    measures the y axis again (a fifth of a figure's drawing). With none of those present,
    the draw skips it (``_autotitlepos`` False, as when a title's ``y`` is given).
    """
    titles = (ax.title, ax._left_title, ax._right_title)
    offset = ax.yaxis.offsetText
    return (
        ax._autotitlepos is True
        and all(t.get_position()[1] == 1.0 for t in titles)
        and ax.xaxis.get_ticks_position() not in ("top", "unknown")
        and ax.xaxis.get_label_position() != "top"
        and not ax.child_axes
        and ax._twinned_axes.get_siblings(ax) == [ax]
        and ax.get_figure(root=False)._align_label_groups["title"].get_siblings(ax) == [ax]
        and not (offset.get_visible() and offset.get_text())
    )


def _cut_off(fig: Figure, renderer: MixedModeRenderer, svg: _TextsSVG) -> list[str]:
    """The texts ``svg`` drew that reach past the edges of ``fig`` (measured with the
    renderer that drew them, whose metrics are cached: the check measures nothing again)."""
    width, height = fig.bbox.width, fig.bbox.height
    out = []
    for text in svg.drawn_texts.values():
        box = text.get_window_extent(renderer)
        if (box.x0 < -_EDGE_SLACK or box.y0 < -_EDGE_SLACK or box.x1 > width + _EDGE_SLACK
                or box.y1 > height + _EDGE_SLACK):
            out.append(text.get_text())
    return out


class _TicksOnce:
    """While drawing ``fig``, each axis computes its ticks once per state instead of at
    every query.

    One draw of a one-axes figure asks each axis for its ticks 14 times
    (``Axis._update_ticks``: from the axis' own draw and tight bbox, from the placement of
    its label, which asks it and its aligned siblings again, and from the title's
    placement), each run locating, formatting and positioning every tick anew. What it
    returns depends on the view interval, the axes' size and place in pixels (the locator's
    tick space) and the figure's dpi; locator, formatter, scale and tick parameters do not
    change during a draw. So the first answer for that state is kept (its side effects on
    the ticks and the formatter are in place) and given again; a state not seen yet (the
    axes moved by the layout, a view set by autoscaling) is computed. The figure's SVG is
    byte-identical (``tests/test_reports_plots.py``); 10–14 % less drawing time per report
    figure (docs/performance.md). The per-instance wrappers are removed on exit.
    """

    def __init__(self, fig: Figure) -> None:
        self._axes = [axis for ax in fig.axes for axis in ax._axis_map.values()]

    def __enter__(self) -> _TicksOnce:
        for axis in self._axes:
            axis._update_ticks = self._once(axis)
        return self

    def __exit__(self, *exc: object) -> None:
        for axis in self._axes:
            axis.__dict__.pop("_update_ticks", None)

    @staticmethod
    def _once(axis: Any) -> Any:
        answers: dict[tuple, list] = {}

        def update_ticks() -> list:
            state = (tuple(axis.get_view_interval()), axis.axes.bbox.bounds,
                     axis.get_figure(root=True).dpi)  # fmt: skip
            ticks = answers.get(state)
            if ticks is None:
                ticks = answers[state] = type(axis)._update_ticks(axis)
            return ticks

        return update_ticks


def _draw_svg(fig: Figure, *, one_pass: bool) -> tuple[str, list[str] | None]:
    """Draw ``fig`` as SVG with one renderer (:class:`_OneRendererSVG`). ``one_pass``: place
    the axes with :func:`_place_in_one_pass` instead of the layout engine. Returns the SVG
    and, when the one-pass placement was used, the texts it left cut off (else None)."""
    buf = io.StringIO()
    old_canvas, dpi, engine = fig.canvas, fig.dpi, fig.get_layout_engine()
    width, height = fig.get_size_inches()
    with mpl.rc_context(FIGURE_RC), _TicksOnce(fig):
        canvas = _OneRendererSVG(fig)
        try:
            fig.dpi = 72  # SVG user units are points (FigureCanvasSVG.print_svg)
            svg = _TextsSVG(width * 72, height * 72, buf, image_dpi=dpi,
                            metadata=FIGURE_SAVE.get("metadata"), figure=fig)
            canvas.renderer = renderer = MixedModeRenderer(fig, width, height, dpi, svg)
            placed = one_pass and _place_in_one_pass(fig, renderer)
            settled = []
            if placed:
                fig.set_layout_engine("none")
                settled = [ax for ax in fig.axes if _title_settled(ax)]
            for ax in settled:
                ax._autotitlepos = False
            try:
                fig.draw(renderer)
            finally:
                for ax in settled:
                    ax._autotitlepos = True
            renderer.finalize()
            cut = _cut_off(fig, renderer, svg) if placed else None
        finally:
            fig.dpi = dpi
            if fig.get_layout_engine() is not engine:
                fig.set_layout_engine(engine)
            fig.set_canvas(old_canvas)
    return buf.getvalue(), cut


def _svg(fig: Figure) -> str:
    """``fig`` as SVG text, as ``fig.savefig(buf, **FIGURE_SAVE)`` writes it under
    :data:`FIGURE_RC` but drawn once: a one-axes figure is placed in one measuring pass
    (:func:`_place_in_one_pass`), any other, or one whose texts that pass left cut off, by
    its constrained layout with one renderer (:class:`_OneRendererSVG`). On a cohort
    report's six figures: about 0.55× savefig's time (docs/performance.md)."""
    svg, cut = _draw_svg(fig, one_pass=True)
    if cut:
        svg, _ = _draw_svg(fig, one_pass=False)
    return svg


def render(fig: Figure) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The display bundle of ``fig`` as reports show it: ``(data, metadata)`` with the image
    (:data:`FIGURE_MIMETYPE`, drawn as :data:`FIGURE_SAVE` says), its alternative text as
    ``text/plain`` and as the image's ``alt`` metadata."""
    text = alt_text(fig)
    return ({FIGURE_MIMETYPE: _svg(fig), "text/plain": text},
            {FIGURE_MIMETYPE: {"alt": text}})  # fmt: skip


def describe(fig: Figure, text: str) -> Figure:
    """Set the alternative text of ``fig`` (any Figure; shown as ``alt`` when it is a
    :class:`ReportFigure`) and return ``fig``. Whitespace is collapsed to single spaces."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("a figure description must be non-empty text", rule="alt text")
    fig.alt_text = " ".join(text.split())
    return fig


def alt_text(fig: Figure) -> str:
    """The alternative text of ``fig``: the description set by :func:`describe`, else one
    built from its axes (titles, axis labels, legend entries) — never empty."""
    own = getattr(fig, "alt_text", "")
    if own:
        return own
    parts = [_axes_sentence(ax) for ax in fig.axes if ax.get_visible()]
    parts = [p for p in parts if p]
    title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    text = " ".join(([f"{title}."] if title else []) + parts)
    return text or "Figure without title or labelled axes."


def _axes_sentence(ax: plt.Axes) -> str:
    bits = []
    if ax.get_title():
        bits.append(f"{ax.get_title()}.")
    xl, yl = ax.get_xlabel(), ax.get_ylabel()
    if xl or yl:
        bits.append(f"Horizontal axis: {xl or 'unlabelled'}; vertical axis: {yl or 'unlabelled'}.")
    legend = _legend_labels(ax)
    if legend:
        bits.append(f"Legend: {', '.join(legend)}.")
    return " ".join(bits)


def _legend_labels(ax: plt.Axes) -> list[str]:
    leg = ax.get_legend()
    if leg is None:
        return []
    return [t.get_text() for t in leg.get_texts() if t.get_text()]


def _num(v: Any) -> str:
    """A number as a reader says it: integers without decimals, others with one."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return "missing"
    return f"{f:,.0f}" if f == round(f) else f"{f:,.1f}"


def _when(v: Any) -> str:
    """A date (no time of day when there is none) or a number."""
    if isinstance(v, pd.Timestamp | np.datetime64) or hasattr(v, "strftime"):
        t = pd.Timestamp(v)
        return t.strftime("%Y-%m-%d") if t == t.normalize() else t.strftime("%Y-%m-%d %H:%M")
    return _num(v)


def _listed(items: Sequence[str], most: int = 8) -> str:
    items = list(items)
    if len(items) <= most:
        return ", ".join(items)
    return f"{', '.join(items[:most])} and {len(items) - most} more"


def _finish(fig: Figure, ax: plt.Axes, kind: str, *details: str) -> Figure:
    """Describe ``fig``: chart kind, title, axes, the given data sentences, legend."""
    head = f"{kind}: {ax.get_title()}." if ax.get_title() else f"{kind}."
    axes = (f"Horizontal axis: {ax.get_xlabel() or 'unlabelled'}; vertical axis: "
            f"{ax.get_ylabel() or 'unlabelled'}.")
    legend = _legend_labels(ax)
    tail = [f"Legend: {', '.join(legend)}."] if legend else []
    return describe(fig, " ".join([head, axes, *[d for d in details if d], *tail]))


def _bands_sentence(bands: pd.DataFrame | None) -> str:
    if bands is None or len(bands) == 0:
        return ""
    return "Severity bands shaded: " + "; ".join(
        f"{lab} {_num(lo)}–{_num(hi)}" for lo, hi, lab in
        bands[["lower", "upper", "label"]].itertuples(index=False)
    ) + "."


def _band_of(value: float, bands: pd.DataFrame | None) -> str | None:
    if bands is None or len(bands) == 0 or not math.isfinite(float(value)):
        return None
    for lo, hi, lab in bands[["lower", "upper", "label"]].itertuples(index=False):
        if float(lo) - 0.5 <= float(value) <= float(hi) + 0.5:
            return str(lab)
    return None


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
        fig, ax = plt.subplots(figsize=(width, height), layout="constrained",
                               FigureClass=ReportFigure)
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


def _without_attrs(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a shallow copy) without its ``attrs``: pandas deep-copies a frame's attrs
    into the result of every operation on it, and a suppressed frame carries its whole
    suppression record there (read it first with :func:`_suppressed_k`)."""
    out = frame.copy(deep=False)
    out.attrs = {}
    return out


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
        # one polyline per unit: the rows are sorted by unit, so each unit's run is a slice
        units = data[unit].to_numpy()
        starts = np.flatnonzero(units[1:] != units[:-1]) + 1
        segs = [p for p in np.split(data[[x, y]].to_numpy(float), starts) if len(p) > 1]
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
    lines = f"One thin grey line per episode ({n} episodes)." if individual and len(data) else ""
    if mean is not None:
        drawn = m[[x, "mean"]].to_numpy(float)
        what = "Mean with its 95% confidence interval shaded"
    else:
        drawn = data.groupby(x)[y].mean().reset_index().to_numpy(float) if len(data) else []
        what = "Mean with a bootstrap 95% confidence interval"
    path = ""
    if len(drawn):
        lo = drawn[np.argmin(drawn[:, 1])]
        path = (f"{what}: {_num(drawn[0][1])} at {x} {_num(drawn[0][0])}, "
                f"{_num(drawn[-1][1])} at {x} {_num(drawn[-1][0])}, lowest {_num(lo[1])} at "
                f"{x} {_num(lo[0])}.")
    slope = (f"Dashed mixed-model line: {fit[1]:+.2f} points per {x_unit} from "
             f"{_num(fit[0])}." if fit is not None and len(data) else "")
    return _finish(fig, ax, "Line chart", lines, path, slope, _bands_sentence(bands),
                   " ".join(notes))


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
    seen = ""
    if len(d):
        first, last = d.iloc[0], d.iloc[-1]
        band = _band_of(float(last[y]), bands)
        seen = (f"{len(d)} score(s) from {_when(first[x])} to {_when(last[x])}: first "
                f"{_num(first[y])}, latest {_num(last[y])}"
                + (f" ({band})" if band else "")
                + f", lowest {_num(d[y].min())}, highest {_num(d[y].max())}.")
    else:
        seen = "No score to draw."
    band_note = (f"Grey band: {expected_label}, dashed line its median."
                 if expected is not None and len(expected) else "")
    return _finish(fig, ax, "Line chart", seen, band_note, _bands_sentence(bands))


#: Filled marker shapes for categories, in seaborn's order (``seaborn._base.unique_markers``),
#: so points of each category differ in shape as well as colour.
MARKERS = ("o", "X", (4, 0, 45), "P", (4, 0, 0), (4, 1, 0), "^", (4, 1, 45), "v")


def _boxes(ax: plt.Axes, values: list[np.ndarray], fills: list[Any]) -> None:
    """Box plots at x = 0, 1, … as ``seaborn.boxplot`` draws them (Tukey boxes: quartiles,
    median, whiskers to the last point within 1.5 IQR, Tukey 1977; outliers not marked;
    fills at saturation 0.75, lines in a grey 0.6 × the palette's darkest lightness — as
    ``seaborn.categorical`` does), with matplotlib's own
    ``Axes.boxplot``: seaborn's was a third of this figure's building time."""
    lum = 0.6 * min(colorsys.rgb_to_hls(*to_rgb(c))[1] for c in fills)
    line = {"color": (lum, lum, lum)}
    parts = ax.boxplot(values, positions=range(len(values)), widths=0.35, capwidths=0.175,
                       whis=1.5, patch_artist=True, showfliers=False, manage_ticks=False,
                       medianprops={**line, "solid_capstyle": "butt"},
                       whiskerprops={**line, "solid_capstyle": "butt"}, capprops=line,
                       boxprops={"edgecolor": line["color"]})
    for patch, fill in zip(parts["boxes"], fills, strict=True):
        patch.set_facecolor(sns.desaturate(fill, 0.75))  # seaborn's default saturation
        patch.set_alpha(0.8)


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
    fig, ax = _figure(5.5, 4.5)
    _shade_bands(ax, bands)
    xs = np.array([0.0, 1.0])
    segs = [np.column_stack([xs, row]) for row in d[[baseline, endpoint]].to_numpy(float)]
    if segs:
        ax.add_collection(LineCollection(segs, colors="0.5", linewidths=0.6, alpha=0.4))
    boxes = len(d) >= min_group
    if boxes and len(d):
        _boxes(ax, [d[baseline].to_numpy(float), d[endpoint].to_numpy(float)], colors(2))
    ax.set_xticks([0, 1], ["Admission", "Discharge / latest"])
    ax.set_xlim(-0.5, 1.5)
    ax.grid(False, axis="x")
    if not boxes:
        _caption(ax, f"Boxes not drawn: {_fewer(min_group)} with both scores "
                     "(small-cell rule).")
    ax.set_xlabel("")
    ax.set_ylabel(f"{scale_label} total (points)")
    ax.set_title(title or f"{scale_label} at admission and discharge (n = {len(d)} complete)")
    if bands is not None and len(bands):
        ax.set_ylim(float(bands["lower"].min()) - 0.5, float(bands["upper"].max()) + 0.5)
    pairs = f"One grey line per episode with both scores ({len(d)})."
    if boxes and len(d):
        box = (f"Boxes (median and quartiles): median {_num(d[baseline].median())} at admission, "
               f"{_num(d[endpoint].median())} at discharge / latest.")
    else:
        box = f"Boxes not drawn: {_fewer(min_group)} with both scores (small-cell rule)."
    return _finish(fig, ax, "Paired box plot", pairs, box, _bands_sentence(bands))


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
        cats = d[category].astype(str)
        for i, cat in enumerate(present):
            sub = d[cats == cat]
            ax.scatter(sub[baseline], sub[endpoint], s=40, color=pal[cat], label=cat,
                       marker=MARKERS[i % len(MARKERS)], edgecolors="w",
                       linewidths=0.08 * np.sqrt(40), zorder=3)
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
    pts = f"One point per episode ({len(d)})"
    if category and len(d):
        counts = d[category].astype(str).value_counts()
        pts += ": " + ", ".join(f"{c} {int(counts[c])}" for c in present)
    band = (f"Grey band around the diagonal: change smaller than {rc_points:.1f} points "
            "(no reliable change).")
    cut = f"Dashed lines: clinical cut-off {cutoff:.1f}." if cutoff is not None else ""
    return _finish(fig, ax, "Scatter plot", pts + ".", band, cut)


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
    values = grid.to_numpy(float)
    size = f"{grid.shape[0]} {row_label.lower()}(s) by {grid.shape[1]} {col_label.lower()}(s)"
    if grid.size and np.isfinite(values).any():
        size += (f"; {value_label} from {_num(np.nanmin(values))} to {_num(np.nanmax(values))}, "
                 "darker is fewer.")
    else:
        size += "; no value."
    zeros = [f"{c} for {r}" for r, row_ in grid.iterrows() for c, v in row_.items() if v == 0]
    gaps = (f"{len(zeros)} cell(s) are 0: {_listed(zeros)}." if zeros
            else "No cell is 0.")
    return _finish(fig, ax, "Heatmap", size, gaps)


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
    bars = [
        f"{lab} {_num(v)}" + (f" (target {_num(t)})" if target and pd.notna(t) else "")
        for lab, v, t in zip(labels, d[value], d[target] if target else [None] * len(d),
                             strict=True)
        if pd.notna(v)
    ]
    shown = f"{value_label}: {_listed(bars, 12)}." if bars else "No bar drawn."
    hid = f"Not shown: {', '.join(gone)} ({_fewer(k)}; small-cell rule)." if gone else ""
    return _finish(fig, ax, "Horizontal bar chart", shown, hid)


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
    frame = _without_attrs(frame[[x, status, count]])
    hidden_x = frame[count].isna().groupby(frame[x]).all()  # every count of the period hidden
    gone = [p for p, h in hidden_x.items() if h]
    # the pivot table of sums, missing counts as 0 (pivot_table(aggfunc="sum", fill_value=0,
    # dropna=False) gives the same frame at three times the cost)
    wide = frame.groupby([x, status], dropna=False)[count].sum().unstack(fill_value=0)
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
    parts = [f"{len(share)} {x}(s), each bar split by status into shares of scheduled days."]
    first = order[0] if order else None
    if first is not None:
        vis = share.loc[[p for p in share.index if p not in gone], first].dropna()
        if len(vis):
            parts.append(f"{first.replace('_', ' ').capitalize()}: " + ", ".join(
                f"{x} {p} {v:.0f}%" for p, v in vis.items()) + ".")
    if gone:
        parts.append(f"Not shown: {x} {', '.join(str(p) for p in gone)} ({_fewer(k)} "
                     "scheduled; small-cell rule).")
    return _finish(fig, ax, "Stacked bar chart", *parts)
