"""One batch run per output folder at a time.

The lock is ``<out>/.iopkit-run.lock`` held with ``fcntl.flock``: the kernel releases it when
the holder dies, even by SIGKILL, so a stale lock never blocks the next Monday run. The file
keeps the holder's pid, host and start time for the refusal message; when the lock is free
but the file names a process that is gone, the stale record is reported and replaced.

The lock file descriptor is opened close-on-exec and worker processes are *spawned*, not
forked, so neither workers nor kernels inherit (and prolong) the lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from pathlib import Path
from types import TracebackType

from iopkit.errors import IopkitError

LOCK_NAME = ".iopkit-run.lock"


class RunLockedError(IopkitError):
    """Another run holds the lock on this output folder."""


class RunLock:
    """Context manager holding the run lock of ``out_dir``; ``stale`` describes a dead holder."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir) / LOCK_NAME
        self._fd: int | None = None
        self.stale: dict[str, object] | None = None

    def _read(self) -> dict[str, object]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self._read()
            raise RunLockedError(
                f"another iopkit run is already writing to {self.path.parent} "
                f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started "
                f"{holder.get('started', '?')}); wait for it to finish — the lock is released "
                f"automatically when that process ends (lock file {self.path})"
            ) from None
        previous = self._read()
        if previous.get("pid"):
            self.stale = previous  # the lock was free, so its recorded holder is gone
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)  # an empty file means "no holder"
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
