"""What report notebooks call: open a source, arrange tables, checks, display, drafts.

:mod:`~.source` (load, validate and score a data source; scale facts for display),
:mod:`~.tables` (select a period and arrange the domains' results into report tables),
:mod:`~.checks` (parameter checks that need the data), :mod:`~.display` (tables and figures
in HTML), :mod:`~.drafts` (the discharge-plan draft). Views only arrange: statistics come from
:mod:`iopkit.outcomes`, scores from :mod:`iopkit.scales`, plans and coverage from
:mod:`iopkit.rotation`.
"""
