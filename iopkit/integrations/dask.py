"""Run a batch on a ``dask.distributed`` cluster: ``iopkit run SCHEDULE --executor dask://HOST:PORT``.

Each job is the engine's :func:`~iopkit.reports.engine.batch.execute_job`, submitted with
``Client.submit(..., pure=False)`` through the client's ``concurrent.futures`` executor
(``Client.get_executor``, https://distributed.dask.org/en/stable/api.html#distributed.Client.get_executor),
so :func:`~iopkit.reports.engine.batch.run_jobs` drives it exactly like its local process pool:
the lock, records, manifest, index and ``--resume`` are the same. ``pure=False`` because a
report is a side effect (two runs of the same job are two runs, never a cached result).

Papermill must not run as threads of one process (papermill #578), so start workers with one
thread each and as many processes as jobs should run at once::

    dask scheduler --port 8786
    dask worker tcp://HOST:8786 --nworkers 2 --nthreads 1

Every worker needs this iopkit installed (its kernelspec included, ``make install``) and the
run folder and data at the same paths (a shared file system): a job writes its report and its
status record into the run folder itself. A worker that dies mid-job is retried by Dask on
another worker; when Dask gives up (``KilledWorker``) the job is recorded as failed and
``--resume`` re-runs it.
"""

from __future__ import annotations

import re
from concurrent.futures import Executor
from typing import Any

from iopkit.errors import InputError, SetupError
from iopkit.reports.engine.batch import ExecutorFactory

_ADDRESS = re.compile(r"^dask://(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")
#: Seconds to wait for the scheduler before giving up with a clear message.
CONNECT_TIMEOUT_S = 30


def scheduler_address(spec: str) -> str:
    """``dask://HOST:PORT`` → the scheduler's ``tcp://HOST:PORT``; InputError otherwise."""
    m = _ADDRESS.match(spec.strip())
    if not m or not 0 < int(m.group("port")) < 65536:
        raise InputError(
            f"executor {spec!r} is not `local` or `dask://HOST:PORT` (e.g. dask://sched:8786)",
            column="--executor",
            rule="executor address",
        )
    return f"tcp://{m.group('host')}:{m.group('port')}"


class DaskExecutor(Executor):
    """A ``concurrent.futures.Executor`` on a Dask scheduler; closes its client on exit."""

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise SetupError(
                "the Dask executor needs dask.distributed: pip install 'iopkit[dask]'"
            ) from None
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"cannot reach the Dask scheduler at {address} within {timeout:.0f} s "
                f"({type(exc).__name__}); is `dask scheduler` running there?",
                column="--executor",
                rule="executor reachable",
            ) from None
        self._pool = self.client.get_executor(pure=False)

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._pool.shutdown(wait=wait and not cancel_futures)
        finally:
            self.client.close()


def executor(spec: str) -> ExecutorFactory:
    """The ``executor_factory`` for ``run_jobs``/``run_schedule`` given ``dask://HOST:PORT``.

    The address is checked at once; the connection is made when the batch starts. The
    ``workers`` argument is ignored: the cluster's worker processes decide the parallelism.
    """
    address = scheduler_address(spec)

    def factory(workers: int) -> Executor:
        return DaskExecutor(address)

    return factory
