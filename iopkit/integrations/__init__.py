"""Running the report engine on other executors: a Dask cluster (:mod:`~.dask`) and Apache
Airflow (:mod:`~.airflow`). Both run the engine's own job unit
(:func:`iopkit.reports.engine.batch.execute_job`) so every guarantee of a local run holds:
parameter checks, HTML export, identifier check, atomic publish, per-job records, manifest,
index, resume and the run lock. Each imports its library lazily (extras ``iopkit[dask]``,
``iopkit[airflow]``).
"""
