"""One batch run per output folder at a time — also when the folder is shared by machines.

The lock is the file ``<out>/.iopkit-run.lock``, created with ``O_CREAT | O_EXCL`` (atomic on
local file systems and on NFS v3 and later, RFC 1813 ``CREATE`` with ``EXCLUSIVE``) and holding
the holder's host, PID, process start and start time as JSON. Releasing deletes it.

**Stale rule.** A lock file that exists is a live run unless:

* its holder is on *this* host and that process is gone — PID not alive, or alive but a
  different process (another boot, or a different start time read from ``/proc``); or
* its holder is on *another* host and it started more than :data:`MAX_AGE_S` ago (a
  batch longer than that is not expected; set ``IOPKIT_LOCK_MAX_AGE_S`` to change it), or
  the record is unreadable and the file is older than that.
* its holder names an ``owner`` (a run spanning processes, e.g. one Airflow DAG run: its
  first task takes the lock, its last task releases it) and it started more than
  :data:`MAX_AGE_S` ago; the same owner taking it again (a retried task) is not refused.

A stale lock is moved aside with one atomic ``rename`` (of two runs that both found it stale,
exactly one wins and the other retries and finds the winner's lock), reported in
:attr:`RunLock.stale` and replaced. Until its holder's age passes the limit, a lock of a
machine that crashed blocks the folder: delete the file by hand once you know that run is
over — the refusal message says which file, host and PID.

The lock file is opened close-on-exec and local workers are *spawned*, so neither workers nor
kernels inherit it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from iopkit.errors import IopkitError
from iopkit.reports.engine.atomic import host_name, pid_alive

LOCK_NAME = ".iopkit-run.lock"
#: A lock of another host older than this (seconds) is stale: 24 hours, far beyond a weekly
#: batch's length; overridable with the environment variable ``IOPKIT_LOCK_MAX_AGE_S``.
MAX_AGE_S = 24 * 3600.0


class RunLockedError(IopkitError):
    """Another run holds the lock on this output folder."""


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # not Linux
        return None


def _process_start(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22,
    proc(5)); None where ``/proc`` is absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # fields after "(comm)" start at field 3


def holder_record() -> dict[str, Any]:
    """This process as a lock holder: host, pid, boot id, process start, start time (UTC)."""
    return {
        "host": host_name(),
        "pid": os.getpid(),
        "boot_id": _boot_id(),
        "process_start": _process_start(os.getpid()),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def max_age_s() -> float:
    """The stale age for another host's lock (:data:`MAX_AGE_S` or ``IOPKIT_LOCK_MAX_AGE_S``)."""
    raw = os.environ.get("IOPKIT_LOCK_MAX_AGE_S")
    try:
        return float(raw) if raw else MAX_AGE_S
    except ValueError:
        return MAX_AGE_S


def stale_reason(holder: dict[str, Any], file_mtime: float, now: float | None = None) -> str | None:
    """Why the lock of ``holder`` is stale (see the module docstring), or None when it holds."""
    now = time.time() if now is None else now
    pid = holder.get("pid")
    host = holder.get("host") or host_name()  # records without a host predate hosts: ours
    if host == host_name() and isinstance(pid, int) and not holder.get("owner"):
        if not pid_alive(pid):
            return f"process {pid} on {host} is gone"
        boot = _boot_id()
        if holder.get("boot_id") and boot and holder["boot_id"] != boot:
            return f"{host} restarted since process {pid} took the lock"
        start = holder.get("process_start")
        if start and _process_start(pid) not in (None, start):
            return f"PID {pid} on {host} is now a different process"
        return None
    try:
        started = dt.datetime.fromisoformat(str(holder["started"])).timestamp()
    except (KeyError, ValueError):
        started = file_mtime
    if now - started > max_age_s():
        return f"held by {host} since {holder.get('started', '?')}, over {max_age_s():.0f} s ago"
    return None


class RunLock:
    """Context manager holding the run lock of ``out_dir``; ``stale`` describes a dead holder
    (its record plus ``reason``) that this lock replaced."""

    def __init__(self, out_dir: str | Path, owner: str | None = None) -> None:
        self.path = Path(out_dir) / LOCK_NAME
        self.owner = owner
        self.record: dict[str, Any] | None = None
        self.stale: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = holder_record()
        if self.owner:
            record["owner"] = self.owner
        for _ in range(5):
            try:
                fd = os.open(
                    self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
                )
            except FileExistsError:
                self._check_holder()
                continue  # stale lock moved aside: try again
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(record))
                fh.flush()
                os.fsync(fh.fileno())
            self.record = record
            return self
        raise RunLockedError(f"could not take the run lock {self.path} (it kept changing)")

    def _check_holder(self) -> None:
        """Raise when the existing lock holds; move it aside when it is stale."""
        holder = self._read()
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return  # released meanwhile
        if not holder and time.time() - mtime < 5:
            time.sleep(0.2)  # being written right now (created, not yet filled)
            holder = self._read()
        # an empty file: released by an iopkit that truncated instead of deleting, or a
        # holder that died between creating and filling it
        reason = "empty lock record" if not holder else stale_reason(holder, mtime)
        if self.owner and holder.get("owner") == self.owner:
            reason = f"taken again by its owner {self.owner}"
        if reason is None:
            raise RunLockedError(
                f"another iopkit run is already writing to {self.path.parent} "
                f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started "
                f"{holder.get('started', '?')}"
                + (f", owner {holder['owner']}" if holder.get("owner") else "")
                + "); wait for it to finish — a lock of a process "
                f"that ended is taken over automatically on its host, another host's after "
                f"{max_age_s():.0f} s (lock file {self.path})"
            )
        aside = self.path.with_name(f"{LOCK_NAME}.stale-{host_name()}-{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another run moved it first
        with contextlib.suppress(OSError):
            aside.unlink()
        self.stale = {**holder, "reason": reason}

    def release(self) -> None:
        if self.record is None:
            return
        current = self._read()
        if (current.get("host"), current.get("pid")) == (
            self.record["host"], self.record["pid"]
        ):
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self.record = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def holds_lock(out_dir: str | Path, owner: str) -> bool:
    """Whether ``owner`` holds the run lock of ``out_dir``."""
    return RunLock(out_dir, owner)._read().get("owner") == owner


def release_owned(out_dir: str | Path, owner: str) -> bool:
    """Delete the lock of ``out_dir`` when ``owner`` holds it (the last task of a run that
    spans processes); returns whether it did."""
    if not holds_lock(out_dir, owner):
        return False
    with contextlib.suppress(FileNotFoundError):
        (Path(out_dir) / LOCK_NAME).unlink()
    return True
