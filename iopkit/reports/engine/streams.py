"""A report kernel's output streams: a flush with nothing to send returns at once.

ipykernel's ``OutStream.flush`` (``ipykernel/iostream.py``) hands a flush to the kernel's IO
thread and waits for that thread to answer, whether or not anything was written. A kernel
flushes stdout and stderr before every display message it publishes
(``ZMQDisplayPublisher._flush_streams``) and around every cell (``execute_request``,
``dispatch_shell``): a cohort report, which prints nothing, made some 160 such round trips,
each a wake-up of the IO thread on a 2-core machine — about 60 ms of its run
(docs/performance.md). Here a stream's flush makes the round trip only when something is
there to send or on its way: text written and not yet flushed (``_flush_pending``, or
``_subprocess_flush_pending`` from a forked child) or a flush running in the IO thread at
that moment (its message may not be queued yet, so the wait keeps the order of outputs). With
neither, the stream's buffer is empty and anything it sent is already queued ahead of what
the caller publishes next, so outputs keep their order (``tests/test_reports_runner.py``).

Should a later ipykernel lack those attributes, the stream is left as it is. The runner loads
this as an IPython extension of the kernels it starts, as it does
:mod:`iopkit.reports.engine.cellgc`; a notebook opened in JupyterLab is unchanged.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

#: What the kernel is told to load (``--IPKernelApp.extra_extensions``).
EXTENSION = __name__

#: The ``OutStream`` attributes the shortcut reads; without all of them it is not installed.
_NEEDS = ("_flush", "_flush_pending", "_subprocess_flush_pending", "pub_thread")


def skip_idle_flushes(stream: Any) -> bool:
    """Make ``stream``'s ``flush`` return at once when it has nothing to send (see the module
    docstring). True when installed; False (stream unchanged) when ``stream`` is not an
    ipykernel ``OutStream`` with the attributes it relies on, or is already wrapped."""
    if getattr(stream, "_iopkit_idle_flush", False) or not all(
        hasattr(stream, name) for name in _NEEDS
    ):
        return False
    flush, send = stream.flush, stream._flush
    running = [0]  # flushes under way in the IO thread
    lock = threading.Lock()

    def tracked_flush() -> None:  # what the IO thread runs (timer, or a waited flush)
        with lock:
            running[0] += 1
        try:
            send()
        finally:
            with lock:
                running[0] -= 1

    def idle_aware_flush() -> None:
        if stream._flush_pending or stream._subprocess_flush_pending or running[0]:
            flush()

    stream._flush = tracked_flush  # the stream schedules ``self._flush``: this one
    stream.flush = idle_aware_flush
    stream._iopkit_idle_flush = True
    return True


def load_ipython_extension(ipython: Any) -> None:
    """IPython's extension hook: install the shortcut on the kernel's stdout and stderr."""
    for stream in (sys.stdout, sys.stderr):
        skip_idle_flushes(stream)
