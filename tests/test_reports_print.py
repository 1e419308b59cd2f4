"""Reports on paper and for screen readers: print stylesheet, running header, page numbers,
figures' alt text, failed reports' error summary.

The browser tests render every demo report (``iopkit demo``, once per session) in headless
Chromium (the system's ``/usr/bin/chromium``; CI installs the Debian package ``chromium``)
through the DevTools protocol over ``--remote-debugging-pipe`` (no port, no extra
dependency), lay it out in print media at the A4 content width and print it to PDF
(``Page.printToPDF``, what ``--print-to-pdf`` calls). They check that nothing is wider than
the page, no page ends with a heading, the last page is not blank, every page carries the
running header and "Page n of N", and every image has a real description. They are skipped
only when no Chromium binary exists.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from iopkit.plots import FIGURE_MIMETYPE
from iopkit.reports.engine.export import (
    TEMPLATES,
    ReportExporter,
    _exporter,
    css_string,
    mark_tables,
    strip_ansi,
    to_html,
)
from iopkit.reports.engine.runner import ReportError, run_report

TINY = Path(__file__).parent / "fixtures" / "reports" / "tiny.ipynb"
NBCONVERT_DEFAULT_ALT = "No description has been provided for this image"

CHROMIUM = next(
    (p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
     if p and os.access(p, os.X_OK)),
    None,
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium binary on this machine (CI installs it: apt-get install -y chromium)",
)

#: A4 and the page margins of iopkit/reports/engine/templates/iopkit/report.css (@page).
PAPER_MM = (210.0, 297.0)
MARGIN_MM = (16.0, 14.0, 16.0, 14.0)  # top, right, bottom, left
PX_PER_MM = 96 / 25.4
CONTENT_W = (PAPER_MM[0] - MARGIN_MM[1] - MARGIN_MM[3]) * PX_PER_MM
CONTENT_H = (PAPER_MM[1] - MARGIN_MM[0] - MARGIN_MM[2]) * PX_PER_MM


# ---------------------------------------------------------------------------------------------
# fast checks of the export (no browser, no kernel)


def test_strip_ansi_removes_ipython_traceback_colours() -> None:
    coloured = ("\x1b[0;31m---------------------------------------------------------------\x1b[0m\n"
                "\x1b[0;31mRuntimeError\x1b[0m    Traceback (most recent call last)\n"
                "Cell \x1b[0;32mIn[3], line 8\x1b[0m\n\x1b[1;32m----> 8\x1b[0m "
                "\x1b[38;5;28;01mraise"
                "\x1b[39;00m RuntimeError\x1b]8;;file:///x.py\x07link\x1b]8;;\x07\x1b(B")
    clean = strip_ansi(coloured)
    assert "\x1b" not in clean
    assert "RuntimeError    Traceback" in clean and "Cell In[3], line 8" in clean
    assert "----> 8 raise RuntimeError" in clean and "link" in clean


def test_mark_tables_classes_numbers_dates_and_wide_tables() -> None:
    cols = "".join(f"<th>c{i}</th>" for i in range(6))
    frag = (
        "<table><thead><tr><th>measure</th><th>n</th><th>rate</th><th>date</th>" + cols
        + "</tr></thead><tbody>"
        "<tr><td>admissions</td><td>1,234</td><td>38.0%</td><td>2025-03-19</td>"
        + "<td>x</td>" * 6 + "</tr>"
        "<tr><td>completed</td><td>hidden (&lt;11)</td><td>–</td>"
        "<td>review recorded 2025-03-26 by the team</td>" + "<td>y</td>" * 6 + "</tr>"
        "</tbody></table>"
    )
    soup = BeautifulSoup(mark_tables(frag), "html.parser")
    table = soup.find("table")
    assert {"iop-wide", "iop-small"} <= set(table["class"])
    head = soup.find_all("th")
    assert "iop-num" in head[1]["class"] and "iop-num" in head[2]["class"]
    assert not head[0].get("class") and "iop-num" not in (head[3].get("class") or [])
    r1, r2 = (row.find_all("td") for row in soup.find("tbody").find_all("tr"))
    assert "iop-num" in r1[1]["class"] and "iop-num" in r2[1]["class"]  # the "hidden" cell too
    assert "iop-num" not in r1[0]["class"]  # text stays left
    assert "iop-word" in r1[0]["class"]  # one short word: never broken
    assert "iop-word" not in (r2[3].get("class") or [])  # a sentence wraps
    assert "iop-date" in r1[3]["class"]
    span = r2[3].find("span", class_="iop-date")
    assert span is not None and span.get_text() == "2025-03-26"
    assert r2[3].get_text() == "review recorded 2025-03-26 by the team"  # no text lost


def test_a_short_scale_name_is_never_broken_at_its_hyphen() -> None:
    """"PHQ-9" in a narrow column broke as "PHQ-" / "9" (issue 12): a one-word cell is
    classed ``iop-word``, which the stylesheet never wraps, on screen and in print."""
    frag = "<table><tr><th>scale</th></tr><tr><td>PHQ-9</td></tr><tr><td>GAD-7</td></tr></table>"
    cells = BeautifulSoup(mark_tables(frag), "html.parser").find_all("td")
    assert all("iop-word" in c["class"] for c in cells)
    css = (TEMPLATES / "iopkit" / "report.css").read_text()
    assert re.search(r"\.iop-word\s*\{\s*white-space:\s*nowrap", css)


def test_mark_tables_text_column_with_one_number_stays_text() -> None:
    frag = ("<table><tr><th>answer</th></tr><tr><td>item 9 = 1</td></tr>"
            "<tr><td>3</td></tr></table>")
    out = mark_tables(frag)
    assert "iop-num" not in out and "iop-wide" not in out


def test_css_string_cannot_end_the_string_or_the_style_element() -> None:
    text = 'Cohort "C01" \\ </style><script>alert(1)</script>\nnext'
    s = css_string(text)
    assert s.startswith('"') and s.endswith('"')
    inner = s[1:-1]
    assert '"' not in inner and "<" not in inner and ">" not in inner and "\n" not in inner
    assert "\\22 " in inner and "\\5c " in inner and "\\3c " in inner


def _nb_with_image(meta: dict[str, Any], plain: str) -> nbformat.NotebookNode:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 16).decode()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Cohort outcome report\n\n## 4. Attendance"),
        nbformat.v4.new_code_cell("", outputs=[]),  # dropped: prints as blank space
        nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": png, "text/plain": plain}, metadata=meta)]),
    ]
    return nb


def _alts(page: str) -> list[str]:
    return [img.get("alt") for img in BeautifulSoup(page, "html.parser").find_all("img")]


def test_export_writes_the_alt_metadata_of_an_image() -> None:
    nb = _nb_with_image({"image/png": {"alt": "Stacked bar chart: Attendance by week."}},
                        "Stacked bar chart: Attendance by week.")
    page = to_html(nb, title="outcomes-C01")
    assert _alts(page) == ["Stacked bar chart: Attendance by week."]
    assert NBCONVERT_DEFAULT_ALT not in page
    # the running header: the report's first heading and its name, as CSS strings
    assert '@top-left { content: "Cohort outcome report"' in page
    assert '@top-right { content: "outcomes-C01"' in page
    assert "counter(page)" in page and "@media print" in page  # the stylesheet is embedded
    body = page[page.index("<main>"):]
    assert body.count("jp-CodeCell") == 1  # the empty code cell is gone


def test_export_describes_an_image_without_alt_from_its_text_or_section() -> None:
    described = to_html(_nb_with_image({}, "Line chart: PHQ-9 trajectories."))
    assert _alts(described) == ["Line chart: PHQ-9 trajectories."]
    anonymous = to_html(_nb_with_image({}, "<Figure size 700x420 with 1 Axes>"))
    assert _alts(anonymous) == ["Figure 1 of section “4. Attendance”"]


def _tags(page: str) -> list[tuple[str, tuple[tuple[str, str], ...], str]]:
    """Every element of ``page`` in document order: name, attributes (sorted; class words
    joined) and its own text — a page's content and markup, whatever its attribute order."""
    soup = BeautifulSoup(page, "html.parser")
    return [
        (tag.name,
         tuple(sorted((k, " ".join(v) if isinstance(v, list) else v)
                      for k, v in tag.attrs.items())),
         "".join(t for t in tag.find_all(string=True, recursive=False)).strip())
        for tag in soup.find_all(True)
    ]


def test_report_exporter_writes_the_page_nbconverts_own_exporter_writes() -> None:
    """ReportExporter skips nbconvert's BeautifulSoup pass and adds its two attributes by
    pattern: the page must be nbconvert's, tag for tag (default alt on an image without one,
    tabindex on every input wrapper and output, one already focusable left alone)."""
    nb = _nb_with_image({"image/png": {"alt": "Bar chart."}}, "Bar chart.")
    nb.cells += [
        nbformat.v4.new_markdown_cell("Text with <img src='x.png'> and ![a map](m.png)."),
        nbformat.v4.new_code_cell("print(1)", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="1 > 0\n"),
            nbformat.v4.new_output("stream", name="stderr", text="careful\n"),
            nbformat.v4.new_output("display_data", data={
                "text/html": "<div class='jp-OutputArea-outputs x'><img src='y.png'>"
                             "<div tabindex='-1' class='jp-OutputArea-output'>kept</div>"
                             "<table><tr><td>2025-01-02</td><td>3.5</td></tr></table></div>",
                "text/plain": "html"}),
            nbformat.v4.new_output("display_data", data={
                FIGURE_MIMETYPE: "<svg xmlns='http://www.w3.org/2000/svg'/>",
                "text/plain": "Line chart."}, metadata={FIGURE_MIMETYPE: {"alt": "Line."}}),
            nbformat.v4.new_output("execute_result", data={"text/plain": "42"},
                                   execution_count=1),
        ]),
    ]
    exporter = _exporter()
    assert isinstance(exporter, ReportExporter)
    config = exporter.config
    stock = HTMLExporter(config=config, template_name=exporter.template_name,
                         extra_template_basedirs=exporter.extra_template_basedirs,
                         exclude_input=True, exclude_output_prompt=True)
    ours, _ = exporter.from_notebook_node(nbformat.from_dict(nb))
    theirs, _ = stock.from_notebook_node(nbformat.from_dict(nb))
    assert _tags(ours) == _tags(theirs)
    assert ours.count('tabindex="0"') >= 5 and NBCONVERT_DEFAULT_ALT in ours


def test_failure_summary_is_clean_and_escaped() -> None:
    nb = _nb_with_image({}, "x")
    nb.cells.append(nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
        "error", ename="KeyError", evalue="\x1b[0;31m'goals'\x1b[0m",
        traceback=["\x1b[0;31mKeyError\x1b[0m: 'goals' <b>"])]))
    error = {"ename": "KeyError", "evalue": "'goals' <script>", "where": "cell 5, line 2: x[1]",
             "traceback": "\x1b[0;31mKeyError\x1b[0m Traceback\n  \x1b[1;32m----> 2\x1b[0m x"}
    page = to_html(nb, title="FAILED progress", failure=error)
    assert "\x1b" not in page and "[0;31m" not in page
    assert "Report failed" in page and "cell 5, line 2: x[1]" in page
    summary = page[page.index('role="alert"'):page.index(">Cohort outcome report<")]
    assert "'goals' &lt;script&gt;" in summary and "<script>" not in summary
    assert page.index("Report failed</h1>") < page.index(">Cohort outcome report<")


def test_failed_report_html_opens_with_the_error_and_has_no_colour_codes(tmp_path: Path) -> None:
    with pytest.raises(ReportError) as info:
        run_report(TINY, {"cohort_id": "C9", "fail": True}, tmp_path / "out", name="c9")
    page = (Path(info.value.result.path) / "report.html").read_text()
    assert "\x1b" not in page and not re.search(r"\[[0-9;]+m", page)
    summary = page[page.index('role="alert"'):]
    assert "RuntimeError" in summary and "broken cohort C9" in summary
    assert "cell 3 (id 'b0203abd'), line 8" in summary
    assert page.index("Report failed</h1>") < page.index(">Tiny report<")


# ---------------------------------------------------------------------------------------------
# headless Chromium over the DevTools protocol (pipe transport)


class Chromium:
    """One headless Chromium driven through ``--remote-debugging-pipe`` (fd 3 in, fd 4 out,
    messages are JSON ended by NUL; https://chromedevtools.github.io/devtools-protocol/).
    Every wait has a deadline, so a stuck browser fails the test instead of hanging it."""

    def __init__(self, exe: str, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="iopkit-chromium-")
        to_read, self._to_write = os.pipe()
        self._from_read, from_write = os.pipe()

        def child() -> None:  # the protocol's fixed descriptors 3 and 4, inheritable
            a, b = os.dup(to_read), os.dup(from_write)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={self.profile}", "--remote-debugging-pipe",
             "about:blank"],
            preexec_fn=child, close_fds=False,  # noqa: PLW1509 - sets up fds 3/4 only
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_read)
        os.close(from_write)
        self._buf = b""
        self._id = 0
        self._events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_write, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self._events.append(reply)

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_read], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"Chromium sent nothing for {self.timeout:.0f} s")
            chunk = os.read(self._from_read, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited (code {self.proc.poll()})")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def wait_event(self, method: str, session: str) -> dict[str, Any]:
        for i, e in enumerate(self._events):
            if e.get("method") == method and e.get("sessionId") == session:
                return self._events.pop(i)
        while True:
            m = self._read()
            if m.get("method") == method and m.get("sessionId") == session:
                return m
            self._events.append(m)

    def open(self, url: str) -> str:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        self.send("Page.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session)
        return session

    def evaluate(self, session: str, expression: str) -> Any:
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True}, session=session)
        if "exceptionDetails" in res:
            raise RuntimeError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self._to_write)
        os.close(self._from_read)
        shutil.rmtree(self.profile, ignore_errors=True)


#: Run in the page after print-media emulation at the page's content width: what sticks out
#: of the page (right edge beyond the width) or is cut inside a scroll/clip box, the headings,
#: the images' alt, the document height.
_LAYOUT_JS = r"""
(() => {
  const W = document.documentElement.clientWidth;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const over = [];
  for (const el of document.querySelectorAll('body *')) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const boxed = ['auto', 'scroll', 'hidden', 'clip'].includes(cs.overflowX);
    const cut = boxed && el.scrollWidth > el.clientWidth + 1;
    if (r.right > W + 1 || r.left < -1 || cut)
      over.push(`${name(el)} right=${Math.round(r.right)} scroll=${el.scrollWidth} ` +
                `client=${el.clientWidth} text=${(el.innerText || '').slice(0, 40)}`);
  }
  const headings = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
    .filter(h => h.getClientRects().length).map(h => h.innerText.replace(/¶/g, '').trim());
  const alts = [...document.querySelectorAll('img')].map(i => i.getAttribute('alt'));
  return {W, docW: document.documentElement.scrollWidth, over, headings, alts,
          height: document.documentElement.scrollHeight, title: document.title};
})()
"""


def _print(browser: Chromium, html: Path) -> tuple[dict[str, Any], bytes]:
    s = browser.open(html.as_uri())
    browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=s)
    browser.send("Emulation.setDeviceMetricsOverride", {
        "width": math.floor(CONTENT_W), "height": math.floor(CONTENT_H),
        "deviceScaleFactor": 1, "mobile": False}, session=s)
    layout = browser.evaluate(s, _LAYOUT_JS)
    browser.send("Emulation.clearDeviceMetricsOverride", session=s)
    pdf = browser.send("Page.printToPDF", {
        "paperWidth": PAPER_MM[0] / 25.4, "paperHeight": PAPER_MM[1] / 25.4,
        "printBackground": True, "displayHeaderFooter": False}, session=s)
    return layout, base64.b64decode(pdf["data"])


def _norm(text: str) -> str:
    return " ".join(text.replace("¶", "").split()).casefold()


#: PDF path-painting operators (ISO 32000-1 Table 60): stroke, fill, fill and stroke.
_PAINT = {b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"}


def _page_content(page: Any) -> list[tuple[float, str, str]]:
    """What a PDF page shows inside its margins, as ``(y, kind, text)`` from top to bottom:
    text lines (``"text"``, grouped by baseline) and images or vector drawings (``"image"``,
    at their lower edge; an SVG figure prints as paths, not as an image). y is in PDF points
    from the bottom; the running header and the page number sit in the margins and are left
    out."""
    top = float(page.mediabox.height) - MARGIN_MM[0] * 72 / 25.4
    bottom = MARGIN_MM[2] * 72 / 25.4
    lines: dict[float, list[str]] = {}
    images: list[float] = []
    path: list[float] = []

    def on_text(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if text.strip():
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            lines.setdefault(round(y), []).append(text.strip())

    def on_operator(op: bytes, args: Any, cm: list[float], tm: list[float]) -> None:
        if op == b"Do":  # an image (or form) drawn in the unit square scaled by cm
            images.append(cm[5] + min(0.0, cm[3]))
        elif op in (b"m", b"l", b"re") and len(args) >= 2:  # a path: an SVG figure's lines
            x, y = float(args[0]), float(args[1])
            ys = [y] if op != b"re" else [y, y + float(args[3])]
            path.extend(cm[1] * x + cm[3] * v + cm[5] for v in ys)
        elif op in _PAINT and path:  # painted (a clip path ends with "n" and is not)
            if max(path) - min(path) < 0.8 * (top - bottom):  # not a page background
                images.append(min(path))
            path.clear()
        elif op == b"n":
            path.clear()

    page.extract_text(visitor_text=on_text, visitor_operand_before=on_operator)
    items = [(y, "text", " ".join(parts)) for y, parts in lines.items()]
    items += [(y, "image", "") for y in images]
    inside = [it for it in items if bottom - 1 <= it[0] <= top + 1]
    return sorted(inside, key=lambda it: -it[0])


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``iopkit demo`` once: every demo report's HTML by name."""
    out = tmp_path_factory.mktemp("print-demo")
    subprocess.run([sys.executable, "-m", "iopkit", "demo", "--out", str(out), "--no-progress"],
                   check=True, capture_output=True, timeout=1800)
    reports = {p.parent.name: p for p in sorted(out.glob("*/report.html"))}
    assert reports, f"iopkit demo published no report in {out}"
    return reports


@pytest.fixture(scope="module")
def chromium() -> Chromium:
    browser = Chromium(CHROMIUM)  # type: ignore[arg-type]
    yield browser
    browser.close()


def _print_problems(browser: Chromium, name: str, html: Path, keep: Path) -> list[str]:
    """Print ``html`` (A4) and list what is wrong with it on paper; the PDF is kept."""
    from pypdf import PdfReader

    layout, pdf = _print(browser, html)
    (keep / f"{name}.pdf").write_bytes(pdf)  # kept for a person to look at
    problems = []
    if layout["over"] or layout["docW"] > layout["W"]:
        problems.append(f"{name}: wider than the page ({layout['W']} px): "
                        f"{layout['over'][:5]} (document {layout['docW']} px)")
    reader = PdfReader(io.BytesIO(pdf))
    n = len(reader.pages)
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - PAPER_MM[0] / 25.4 * 72) < 2  # A4, in points
    # page count sane: at least one page, at most twice the laid-out height plus one
    most = 2 * math.ceil(layout["height"] / CONTENT_H) + 1
    if not 1 <= n <= most:
        problems.append(f"{name}: {n} pages for {layout['height']} px of content")
    headings = {_norm(h) for h in layout["headings"] if h}
    h1 = layout["headings"][0] if layout["headings"] else ""
    for i, page in enumerate(reader.pages, start=1):
        raw = page.extract_text() or ""
        if f"Page {i} of {n}" not in raw:
            problems.append(f"{name}: page {i} has no 'Page {i} of {n}'")
        if name not in raw or (h1 and h1 not in raw):
            problems.append(f"{name}: page {i} lacks the running header ({h1!r}, {name!r})")
        content = _page_content(page)
        if not content:
            problems.append(f"{name}: page {i} of {n} is blank")
            continue
        _, kind, text = content[-1]  # the lowest thing on the page
        if kind == "text" and _norm(text) in headings:
            problems.append(f"{name}: page {i} ends with the heading {text!r}")
    bad_alt = [a for a in layout["alts"]
               if not a or a == NBCONVERT_DEFAULT_ALT or a.startswith("Figure ")
               or "axis" not in a]
    if bad_alt:
        problems.append(f"{name}: figures without a description: {bad_alt[:3]}")
    return problems


@needs_chromium
def test_print_checks_catch_overflow_a_stranded_heading_and_a_blank_page(
    chromium: Chromium, tmp_path: Path
) -> None:
    """The checks below can fail: a page built to break every rule is caught on each."""
    nb = nbformat.v4.new_notebook()
    wide = "<table><tr>" + "<td style='white-space:nowrap'>2025-01-06 wide cell</td>" * 12
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Bad report\n\nintro"),
        nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("display_data", data={
            "text/html": "<div style='width:2000px;white-space:nowrap'>too wide</div>"
                         + wide + "</tr></table>"
                         "<h2 style='break-after:page'>Stranded heading</h2>"
                         "<p>after</p><div style='break-before:page'></div>"})]),
    ]
    html = tmp_path / "bad" / "report.html"
    html.parent.mkdir()
    html.write_text(to_html(nb, title="bad"))
    problems = "\n".join(_print_problems(chromium, "bad", html, tmp_path))
    assert "bad: wider than the page" in problems and "too wide" in problems
    assert "page 1 ends with the heading 'Stranded heading'" in problems
    assert "is blank" in problems


@pytest.mark.slow
@needs_chromium
def test_demo_reports_print_within_the_page_with_headers_and_no_stranded_heading(
    demo_reports: dict[str, Path], chromium: Chromium, tmp_path: Path
) -> None:
    templates = {json.loads((p.parent / "figures.json").read_text())["template"]
                 for p in demo_reports.values()}
    assert len(templates) >= 4, templates  # plan, cohort, patient and program reports
    problems: list[str] = []
    for name, html in demo_reports.items():
        problems += _print_problems(chromium, name, html, tmp_path)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_every_demo_figure_has_alt_text_built_from_its_title_and_data(
    demo_reports: dict[str, Path],
) -> None:
    n_images = 0
    for name, html in demo_reports.items():
        page = html.read_text()
        assert NBCONVERT_DEFAULT_ALT not in page, name
        alts = {img.get("alt") for img in BeautifulSoup(page, "html.parser").find_all("img")}
        nb = nbformat.read(html.parent / "report.ipynb", as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                if FIGURE_MIMETYPE not in out.get("data", {}):
                    continue
                n_images += 1
                alt = out["metadata"][FIGURE_MIMETYPE]["alt"]
                # the description the figure carried is what the page says
                assert alt in alts, (name, alt)
                assert re.match(r"^(Line chart|Paired box plot|Scatter plot|Heatmap|"
                                r"Horizontal bar chart|Stacked bar chart): .+\. Horizontal axis",
                                alt), alt
                assert re.search(r"\d", alt), alt  # it states the data, not only labels
    assert n_images >= 10

