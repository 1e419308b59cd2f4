"""Reports: parameterised notebooks run with papermill, exported to HTML, batched.

Two layers, one direction of import:

* :mod:`iopkit.reports.engine` runs any notebook and knows nothing about IOP data —
  parameters, kernel, runner, HTML export, atomic publish, run lock, schedules with their
  grid-expander registry, batches, the index page and key figures.
* :mod:`iopkit.reports.views` is what the report notebooks call: open a data source, arrange
  the domain's results into tables, check parameters against the data, display, drafts.
  Views arrange; statistics, coverage and plans come from their domains.
* :mod:`iopkit.reports.grids` registers the data-driven schedule grids (cohorts, episodes,
  flagged episodes) with the engine's registry.

``record`` (a key figure for ``figures.json``) and ``record_all`` (several in one output) are
re-exported here because every notebook calls them: ``from iopkit.reports import record``.
"""

from __future__ import annotations

from iopkit.reports.engine.figures import record, record_all

__all__ = ["record", "record_all"]
