"""Content shipped with iopkit: curriculum, notebook templates, schedules, example mappings.

In the repository ``curriculum/``, ``notebooks/`` and ``reports/schedules/`` stay at the top
level (what clinical leads and researchers edit); the entries here are symbolic links to
them, so a built wheel carries the same files (setuptools copies the link targets) and
:mod:`iopkit.resources` finds them the same way in a checkout, an editable install and a
wheel. Nothing in this package is code.
"""
