"""Atomic report folders: build in a temporary folder beside the target, then rename.

A report is a folder (``report.html``, ``report.ipynb``, ``figures.json``, exports). It is
built in ``<parent>/.tmp-<name>@<host>-<pid>-<rand>`` on the same file system and only then
renamed into place, so a crash (even SIGKILL) leaves either last week's complete report or the new
complete report, never a mixture. A non-empty folder cannot be replaced by one ``rename(2)``,
so replacing takes two renames: the old folder moves to ``.old-<name>@<host>-…`` first. If
the process dies between the two renames, :func:`recover` (run before every write) moves the
old report back. Everything written is readable by its owner only (files 0600, folders 0700).

On a folder shared by several machines (NFS, a Dask or Airflow cluster) a PID means nothing
on another host, so every temporary name carries the writer's host (:func:`host_name`) and
:func:`recover` touches only temporaries of *its own* host whose process is dead; another
host's temporaries are that host's to clean. Names without a host (written before this
rule) count as this host's.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
_TMP = re.compile(
    r"^\.(tmp|old)-(?P<name>[^@]+)@(?P<host>[A-Za-z0-9.-]+)-(?P<pid>\d+)-[0-9a-f]{8}$"
)
#: temporaries named before hosts were part of the name (this host's by definition)
_TMP_LEGACY = re.compile(r"^\.(tmp|old)-(?P<name>[^@]+)-(?P<pid>\d+)-[0-9a-f]{8}$")
_HOST_SAFE = re.compile(r"[^A-Za-z0-9.-]+")


def host_name() -> str:
    """This machine's host name as used in temporary names and lock records
    (``socket.gethostname()`` limited to letters, digits, ``.`` and ``-``)."""
    return _HOST_SAFE.sub("-", socket.gethostname()).strip("-") or "localhost"


def _owner_tag() -> str:
    return f"{host_name()}-{os.getpid()}-{secrets.token_hex(4)}"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed; the leaf folder is made owner-only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def make_private(root: Path) -> None:
    """chmod a folder tree: folders 0700, files 0600 (symlinks are left alone)."""
    os.chmod(root, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = Path(dirpath, d)
            if not p.is_symlink():
                os.chmod(p, DIR_MODE)
        for f in filenames:
            p = Path(dirpath, f)
            if not p.is_symlink():
                os.chmod(p, FILE_MODE)


def write_private_text(path: Path, text: str) -> None:
    """Write a text file atomically (temp file + ``os.replace``), mode 0600."""
    tmp = path.with_name(f".{path.name}.{_owner_tag()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def new_temp_dir(parent: Path, name: str) -> Path:
    """A fresh private folder beside the final one (same file system, so rename is atomic)."""
    ensure_private_dir(parent)
    tmp = parent / f".tmp-{name}@{_owner_tag()}"
    tmp.mkdir(mode=DIR_MODE)
    return tmp


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (ours counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish(tmp: Path, final: Path) -> None:
    """Move a completed temporary folder into place, replacing ``final`` if it exists."""
    make_private(tmp)
    _fsync_dir(tmp)
    if final.exists():
        old = final.parent / f".old-{final.name}@{_owner_tag()}"
        os.rename(final, old)
        os.rename(tmp, final)
        _fsync_dir(final.parent)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)
        _fsync_dir(final.parent)


def recover(parent: Path) -> list[str]:
    """Clean up after crashed writers in ``parent``; returns what was done (for logs).

    * ``.old-<name>@<host>-<pid>-…`` whose ``<name>`` is missing: the crash happened between
      the two renames of :func:`publish` — move the old (complete) report back.
    * ``.old-…`` whose report exists, and ``.tmp-…`` of dead processes: delete.
    Only this host's temporaries are considered; folders of processes still running, and
    every temporary of another host, are left alone.
    """
    actions: list[str] = []
    if not parent.is_dir():
        return actions
    here = host_name()
    for entry in sorted(parent.iterdir()):
        m = _TMP.match(entry.name) or _TMP_LEGACY.match(entry.name)
        if not m or not entry.is_dir():
            continue
        if m.re is _TMP and m.group("host") != here:
            continue  # another machine's writer: only it knows whether it is alive
        if pid_alive(int(m.group("pid"))):
            continue
        final = parent / m.group("name")
        if entry.name.startswith(".old-") and not final.exists():
            os.rename(entry, final)
            actions.append(f"restored {final.name} from an interrupted replace")
        else:
            shutil.rmtree(entry, ignore_errors=True)
            actions.append(f"removed stale {entry.name}")
    return actions


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
