"""HTML export of an executed notebook with the code hidden.

nbconvert templates ignore papermill's ``report_mode`` (``source_hidden``; papermill #506,
``jupyter/nbconvert:share/templates/base/null.j2``), so the input cells are removed with the
exporter's own ``exclude_input`` switch, and the ``In [n]`` prompts with
``exclude_output_prompt``. Cells tagged ``remove-cell`` are dropped and cells tagged
``remove-input`` keep only their output (nbconvert ``TagRemovePreprocessor``).
"""

from __future__ import annotations

from functools import lru_cache

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

from iopkit.reports.engine.figures import strip_figures


@lru_cache(maxsize=1)
def _exporter() -> HTMLExporter:
    """One exporter per process: its Jinja templates are compiled once (~0.1 s per report
    saved in a batch worker); ``from_notebook_node`` keeps no state between notebooks."""
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = ("remove-cell", "injected-parameters")
    c.TagRemovePreprocessor.remove_input_tags = ("remove-input",)
    return HTMLExporter(config=c, exclude_input=True, exclude_output_prompt=True)


def to_html(nb: nbformat.NotebookNode, *, title: str | None = None) -> str:
    """Render an executed notebook as a standalone HTML page without code."""
    exporter = _exporter()
    clean = strip_figures(nb)
    # papermill's error banners are markdown; they stay visible in failed reports on purpose
    resources = {"metadata": {"name": title}} if title else {}
    body, _ = exporter.from_notebook_node(clean, resources=resources)
    return body
