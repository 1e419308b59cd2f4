"""HTML export of an executed notebook: code hidden, print stylesheet, figures' alt text.

nbconvert templates ignore papermill's ``report_mode`` (``source_hidden``; papermill #506,
``jupyter/nbconvert:share/templates/base/null.j2``), so the input cells are removed with the
exporter's own ``exclude_input`` switch, and the ``In [n]`` prompts with
``exclude_output_prompt``. Cells tagged ``remove-cell`` are dropped and cells tagged
``remove-input`` keep only their output (nbconvert ``TagRemovePreprocessor``); code cells left
without any output are dropped too (they would print as empty space).

The page is nbconvert's JupyterLab template extended by ``templates/iopkit`` (shipped as
package data): ``report.css`` (screen: text left, numbers right, dates never wrapped; print:
tables within the page width, no printed scrollbars, headings kept with what follows, page
numbers) and a per-report ``@page`` rule carrying the running header (the report's first
``#`` heading and its name). Table cells are classed here (``iop-num``, ``iop-date``,
``iop-wide``, ``iop-small``) because CSS cannot tell a number or a date from text.

Alternative text: nbconvert 7 writes ``alt="No description has been provided for this
image"`` on every image (``HTMLExporter.from_notebook_node``). The template writes the image
output's ``alt`` metadata instead; :class:`iopkit.plots.ReportFigure` carries it, and any
other image gets its ``text/plain`` form when that is a description (not matplotlib's
``<Figure size ...>``), else "Figure n of section ‹heading›".
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
from bs4 import BeautifulSoup, NavigableString
from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from traitlets.config import Config

from iopkit.reports.engine.figures import strip_figures
from iopkit.reports.engine.tablecells import (
    DATE_RE,
    MARKED_ATTR,
    cell_classes,
    numeric_column,
    table_classes,
)

#: Folder of the nbconvert template ``iopkit`` (``templates/iopkit/``: conf, page, CSS).
TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_NAME = "iopkit"
#: Image MIME types that become an ``<img>`` with alternative text.
IMAGE_MIMETYPES = ("image/png", "image/jpeg", "image/svg+xml")

# Terminal escape sequences: ECMA-48 CSI "ESC [ params final" and OSC "ESC ] … BEL/ST", then
# any other ECMA-35 escape "ESC intermediates final" (charset "ESC ( B", "ESC =", ...).
# IPython colours tracebacks with them (``IPython.core.ultratb``), a browser shows them raw.
_ANSI_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]"
)
_TABLE_TAG = re.compile(r"<table\b[^>]*>", re.IGNORECASE)
_MD_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MD_HEADING = re.compile(r"^#{1,4}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_HTML_HEADING = re.compile(r"<h([1-4])[^>]*>(.*?)</h\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_DEFAULT_REPR = re.compile(r"^<(?:Figure|matplotlib)\b")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour and cursor codes (ECMA-48 escape sequences)."""
    return _ANSI_RE.sub("", text)


#: nbconvert's finishing pass, done without re-parsing the page (see :class:`ReportExporter`):
#: an image without ``alt`` gets nbconvert's default, and each input wrapper and output is
#: made focusable (``tabindex="0"``). Both tags are written by nbconvert's own templates
#: (``lab/base.html.j2``) in a fixed form with no ``>`` inside an attribute.
NO_ALT_TEXT = "No description has been provided for this image"
_IMG_NO_ALT = re.compile(r"<img\b(?![^>]*\salt=)", re.IGNORECASE)
_CLASS_WORD = r"(?<![\w-])jp-(?:Cell-inputWrapper|OutputArea-output)(?![\w-])"
_FOCUSABLE = re.compile(
    rf"""<div\b[^>]*\sclass=(?:"[^"]*{_CLASS_WORD}[^"]*"|'[^']*{_CLASS_WORD}[^']*')[^>]*>""",
    re.IGNORECASE,
)
_TABINDEX = re.compile(r"""\stabindex=(?:"[^"]*"|'[^']*'|[^\s>]*)""")


def _focusable(match: re.Match[str]) -> str:
    """The start tag with ``tabindex="0"`` (replacing any other value, as nbconvert does)."""
    tag = _TABINDEX.sub("", match.group(0))
    return f'<div tabindex="0"{tag[4:]}'


class ReportExporter(HTMLExporter):
    """nbconvert's HTML exporter without its BeautifulSoup pass over the finished page.

    ``HTMLExporter.from_notebook_node`` (nbconvert 7) parses the whole rendered page and
    writes it out again only to add a default ``alt`` to images that lack one and
    ``tabindex="0"`` to every ``div.jp-Cell-inputWrapper`` and ``div.jp-OutputArea-output``.
    On a cohort report that pass was 0.095 s of the export's 0.137 s (CPU time, most of the
    page being figure data). Here the same two attributes are added to the same start tags by
    :data:`_IMG_NO_ALT` and :data:`_FOCUSABLE`; everything else is nbconvert's own code path
    (``tests/test_reports_print.py`` checks that the page equals nbconvert's, tag for tag).
    """

    def from_notebook_node(  # type: ignore[override]
        self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        # as HTMLExporter.from_notebook_node registers them before rendering
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        page = _IMG_NO_ALT.sub(f'<img alt="{NO_ALT_TEXT}"', page)
        return _FOCUSABLE.sub(_focusable, page), resources


@lru_cache(maxsize=1)
def _exporter() -> HTMLExporter:
    """One exporter per process: its Jinja templates are compiled once (~0.1 s per report
    saved in a batch worker); ``from_notebook_node`` keeps no state between notebooks."""
    c = Config()
    # the page is validated once, after the preprocessors, instead of after each of the 11
    # (most of them disabled): nbconvert's own option; 0.03 s of a cohort report's export
    c.HTMLExporter.optimistic_validation = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = ("remove-cell", "injected-parameters")
    c.TagRemovePreprocessor.remove_input_tags = ("remove-input",)
    return ReportExporter(
        config=c,
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_output_prompt=True,
    )


def to_html(
    nb: nbformat.NotebookNode,
    *,
    title: str | None = None,
    failure: Mapping[str, Any] | None = None,
) -> str:
    """Render an executed notebook as a standalone HTML page without code.

    ``title``: the page's ``<title>`` and the right-hand running header in print (the
    left-hand one is the report's first ``#`` heading). ``failure``: the error summary of a
    failed run (``ename``, ``evalue``, ``where``, ``traceback`` as the runner records them),
    shown at the top; terminal colour codes are removed from it and from every output.
    """
    exporter = _exporter()
    clean = strip_figures(nb)  # a copy: the caller's notebook is not touched
    heading = _prepare(clean)
    if failure is not None:
        clean.cells.insert(0, _failure_cell(failure))
        heading = f"Report failed: {heading}" if heading else "Report failed"
    resources: dict[str, Any] = {"iopkit_page_css": _page_css(heading or title, title)}
    if title:
        resources["metadata"] = {"name": title}
    body, _ = exporter.from_notebook_node(clean, resources=resources)
    return body


# ---------------------------------------------------------------------------------------------
# notebook preparation (on the copy)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "".join(value)


def _prepare(nb: nbformat.NotebookNode) -> str | None:
    """Drop empty code cells, strip ANSI codes, give every image an ``alt``, class the
    cells of HTML tables. Returns the report's first level-1 heading (None if it has none)."""
    first_h1: str | None = None
    section: str | None = None
    n_images = 0
    keep = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            src = _text(cell.source)
            first_h1 = first_h1 or _first(_MD_H1, src)
            section = _last_heading(src) or section
            keep.append(cell)
            continue
        if cell.cell_type != "code":
            keep.append(cell)
            continue
        if not cell.get("outputs"):
            continue
        for out in cell.outputs:
            _strip_output_ansi(out)
            data = out.get("data", {})
            md_text = _text(data.get("text/markdown", ""))
            html_text = _text(data.get("text/html", ""))
            first_h1 = first_h1 or _first(_MD_H1, md_text) or _html_h1(html_text)
            section = _last_heading(md_text) or _html_last_heading(html_text) or section
            images = [m for m in IMAGE_MIMETYPES if m in data]
            if images:
                n_images += 1
                _set_alt(out, images, n_images, section)
            if "<table" in html_text:
                data["text/html"] = mark_tables(html_text)
        keep.append(cell)
    nb.cells = keep
    return first_h1


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text) if text else None
    return _plain(found.group(1)) if found else None


def _plain(fragment: str) -> str | None:
    """Heading text without Markdown emphasis, tags and entities (None when empty)."""
    text = html.unescape(_TAG.sub("", fragment)).replace("**", "").replace("`", "")
    return " ".join(text.split()) or None


def _html_h1(text: str) -> str | None:
    for level, inner in _HTML_HEADING.findall(text or ""):
        if level == "1":
            return _plain(inner)
    return None


def _last_heading(markdown: str) -> str | None:
    found = _MD_HEADING.findall(markdown or "")
    return _plain(found[-1]) if found else None


def _html_last_heading(text: str) -> str | None:
    found = _HTML_HEADING.findall(text or "")
    return _plain(found[-1][1]) if found else None


def _strip_output_ansi(out: nbformat.NotebookNode) -> None:
    if out.get("output_type") == "error":
        out["traceback"] = [strip_ansi(line) for line in out.get("traceback", [])]
        out["evalue"] = strip_ansi(str(out.get("evalue", "")))
    elif out.get("output_type") == "stream":
        out["text"] = strip_ansi(_text(out.get("text", "")))
    elif "text/plain" in out.get("data", {}):
        out["data"]["text/plain"] = strip_ansi(_text(out["data"]["text/plain"]))


def _set_alt(out: nbformat.NotebookNode, images: list[str], n: int, section: str | None) -> None:
    """Fill ``metadata[mime].alt`` of an image output that has none."""
    meta = out.setdefault("metadata", {})
    alt = next((meta.get(m, {}).get("alt") for m in images if meta.get(m, {}).get("alt")), None)
    if not alt:
        plain = " ".join(_text(out.get("data", {}).get("text/plain", "")).split())
        if plain and not _DEFAULT_REPR.match(plain):
            alt = plain
        else:
            alt = f"Figure {n}" + (f" of section “{section}”" if section else "")
    for m in images:
        entry = meta.get(m)
        meta[m] = {**entry, "alt": alt} if isinstance(entry, Mapping) else {"alt": alt}


def mark_tables(fragment: str) -> str:
    """Add the print/screen classes of :mod:`iopkit.reports.engine.tablecells` to the tables
    of an HTML fragment (numeric columns ``iop-num``, ISO dates ``iop-date``, one short word
    ``iop-word``, ``iop-wide`` and ``iop-small`` tables). A fragment whose every table was
    classed as it was written (``show`` marks them :data:`~.tablecells.MARKED_ATTR`) is
    returned as it is."""
    tags = _TABLE_TAG.findall(fragment)
    if tags and all(MARKED_ATTR in t for t in tags):
        return fragment
    soup = BeautifulSoup(fragment, "html.parser")
    for table in soup.find_all("table"):
        if table.has_attr(MARKED_ATTR):
            continue
        rows = table.find_all("tr")
        body_rows = [r for r in rows if r.find_parent("thead") is None and r.find("td")]
        grid: dict[int, list[Any]] = {}
        n_cols = 0
        for row in rows:
            col = 0
            for cell in row.find_all(["td", "th"], recursive=False):
                grid.setdefault(col, []).append(cell)
                try:
                    span = max(1, int(cell.get("colspan", 1)))
                except ValueError:
                    span = 1
                col += span
            n_cols = max(n_cols, col)
        for cells in grid.values():
            numeric = numeric_column([c.get_text(" ", strip=True) for c in cells
                                      if c.name == "td"])
            for cell in cells:
                text = cell.get_text(" ", strip=True)
                classes = cell_classes(text, numeric=numeric, body=cell.name == "td",
                                       header=cell.find_parent("thead") is not None)
                for name in classes:
                    _add_class(cell, name)
                if "iop-date" not in classes:
                    _wrap_dates(soup, cell)
        for name in table_classes(n_cols, len(body_rows)):
            _add_class(table, name)
    return str(soup)


def _add_class(tag: Any, name: str) -> None:
    classes = tag.get("class") or []
    if name not in classes:
        tag["class"] = [*classes, name]


def _wrap_dates(soup: BeautifulSoup, cell: Any) -> None:
    for node in list(cell.find_all(string=DATE_RE)):
        if not isinstance(node, NavigableString) or node.find_parent(class_="iop-date"):
            continue
        parts = DATE_RE.split(str(node))
        pieces = []
        for i, part in enumerate(parts):
            if i % 2:
                span = soup.new_tag("span", attrs={"class": "iop-date"})
                span.string = part
                pieces.append(span)
            elif part:
                pieces.append(NavigableString(part))
        node.replace_with(*pieces)


# ---------------------------------------------------------------------------------------------
# running header and failure summary


def css_string(text: str) -> str:
    """``text`` as a CSS string literal (CSS Syntax §4.3.5: escapes, no line breaks), safe
    inside a ``<style>`` element (``<`` and ``>`` escaped too)."""
    out = []
    for ch in " ".join(str(text).split()):
        if ch in '"\\<>' or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _page_css(heading: str | None, name: str | None) -> str:
    """The ``@page`` rule with the running header: heading left, report name right."""
    boxes = []
    if heading:
        boxes.append(f"@top-left {{ content: {css_string(heading[:120])}; }}")
    if name and name != heading:
        boxes.append(f"@top-right {{ content: {css_string(name[:80])}; }}")
    if not boxes:
        return ""
    style = "font: 8pt sans-serif; color: #444;"
    return "@page { " + " ".join(b.replace("; }", f"; {style} }}") for b in boxes) + " }"


def _failure_cell(failure: Mapping[str, Any]) -> nbformat.NotebookNode:
    """A code cell whose only output is the failure summary (HTML, escaped, no ANSI; text
    content escapes ``<``, ``>`` and ``&`` — quotes need no escaping outside attributes)."""
    def text(value: str) -> str:
        return html.escape(value, quote=False)

    ename = strip_ansi(str(failure.get("ename") or "error"))
    evalue = strip_ansi(str(failure.get("evalue") or ""))
    where = strip_ansi(str(failure.get("where") or ""))
    tb = strip_ansi(str(failure.get("traceback") or "")).strip()
    parts = [
        '<div class="iop-failure" role="alert">',
        "<h1>Report failed</h1>",
        f"<p><strong>{text(ename)}</strong>: {text(evalue)}</p>",
    ]
    if where:
        parts.append(f"<p>Where: {text(where)}</p>")
    parts.append(
        "<p>Nothing was published for this report; the executed notebook and "
        "<code>error.json</code> are kept beside this page.</p>"
    )
    if tb:
        parts.append(f"<details><summary>Traceback</summary><pre>{text(tb)}</pre></details>")
    parts.append("</div>")
    return nbformat.v4.new_code_cell(
        source="",
        outputs=[nbformat.v4.new_output("display_data", data={"text/html": "".join(parts)})],
    )
