"""Reports: parameterised notebooks run with papermill, exported to HTML, batched.

Modules, one concern each (papermill's layout): :mod:`~iopkit.reports.params` (declared
parameters and checks), :mod:`~iopkit.reports.runner` (one report), :mod:`~iopkit.reports.kernel`
(the project's kernel), :mod:`~iopkit.reports.export` (HTML without code),
:mod:`~iopkit.reports.figures` (key figures), :mod:`~iopkit.reports.atomic` (atomic folders),
:mod:`~iopkit.reports.schedule` (jobs from YAML), :mod:`~iopkit.reports.batch` (parallel runs,
manifest, resume), :mod:`~iopkit.reports.lock` (one run at a time), :mod:`~iopkit.reports.index`
(index.html).
"""

from __future__ import annotations

from iopkit.reports.figures import record

__all__ = ["record"]
