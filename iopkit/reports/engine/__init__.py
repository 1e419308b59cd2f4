"""The report engine: runs any parameterised notebook; knows nothing about IOP data.

One concern per module (papermill's layout): :mod:`~.params` (declared parameters and their
checks), :mod:`~.kernel` (this environment's kernel), :mod:`~.runner` (one report: papermill →
HTML, ``failed/``), :mod:`~.export` (HTML with the code hidden), :mod:`~.atomic` (build beside
the target, then rename), :mod:`~.lock` (one run per output folder), :mod:`~.schedule` (jobs
from YAML; the grid-expander registry), :mod:`~.batch` (any executor: per-job records, manifest,
resume, :func:`~.batch.assemble_run`), :mod:`~.snapshots` (validated data handed to the
reports), :mod:`~.index` (``index.html``), :mod:`~.figures` (key figures).

The engine imports no domain package (``iopkit.data``, ``scales``, ``outcomes``,
``curriculum``, ``rotation``) and nothing of :mod:`iopkit.reports.views`;
``tests/test_reports_engine_imports.py`` checks it.
"""
