"""The kernel reports run on: the project's own ``python3`` kernelspec, never a system one.

The Makefile installs a ``python3`` kernelspec into the virtualenv (``ipykernel install
--sys-prefix``), i.e. ``<sys.prefix>/share/jupyter/kernels/python3``. Jupyter's normal search
path puts the *user* directory (``~/.local/share/jupyter``) before ``sys.prefix``
(``jupyter_core.paths.jupyter_path``), so a stray user-level ``python3`` kernelspec would run
reports on another interpreter without iopkit. :class:`ProjectKernelManager` searches only
``sys.prefix``; when no spec is installed there, jupyter_client falls back to the native
kernel, which is ``sys.executable -m ipykernel_launcher`` (``ensure_native_kernel``).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import default

from iopkit.errors import SetupError
from iopkit.reports.engine.cellgc import EXTENSION as CELL_GC
from iopkit.reports.engine.streams import EXTENSION as IDLE_FLUSH

_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS; keep room for "-ipc-N"


def _ipc_base() -> str:
    runtime = Path(jupyter_runtime_dir())
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(runtime / f"iopkit-{uuid.uuid4().hex[:12]}")


def project_kernel_dirs() -> list[str]:
    """Kernelspec directories of this environment only (``<sys.prefix>/share/jupyter/kernels``)."""
    return [str(Path(sys.prefix) / "share" / "jupyter" / "kernels")]


class ProjectKernelSpecManager(KernelSpecManager):
    """A kernelspec manager restricted to this environment's kernels."""

    @default("kernel_dirs")
    def _kernel_dirs_default(self) -> list[str]:
        return project_kernel_dirs()


class ProjectKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, resolving kernel names with :class:`ProjectKernelSpecManager`.

    Kernels talk over IPC (Unix sockets in the Jupyter runtime folder) instead of TCP: no
    localhost port race when several kernels start at once (papermill #511, ``ZMQError:
    Address already in use``) and no unencrypted TCP traffic.
    """

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc" if sys.platform != "win32" and len(_ipc_base()) < _MAX_SOCKET_PATH else "tcp"

    #: File the kernel process's own stdout/stderr go to ("" = inherit). The runner sets it
    #: per report, so kernel chatter ("KeyboardInterrupt caught in kernel" at shutdown) stays
    #: out of cron logs and is kept with a failed report for debugging.
    kernel_log: str = ""
    #: Extra environment variables of the kernel process (the runner passes, e.g., where a
    #: batch's validated data snapshots are: ``IOPKIT_SNAPSHOTS``).
    kernel_env: Mapping[str, str] = {}

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        # long-lived objects frozen after each cell (``cellgc``): a report kernel's imports
        # are not walked again by every full garbage collection; a flush of an output stream
        # with nothing to send returns at once (``streams``)
        kernel_cmd = [*kernel_cmd, *(f"--IPKernelApp.extra_extensions={ext}"
                                     for ext in (CELL_GC, IDLE_FLUSH))]
        if self.kernel_env:
            kw["env"] = {**(kw.get("env") or os.environ), **self.kernel_env}
        if self.kernel_log:
            log = open(self.kernel_log, "ab")  # noqa: SIM115 - closed after launch
            try:
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                log.close()  # the child process keeps its own descriptor
        else:
            await super()._async_launch_kernel(kernel_cmd, **kw)

    _launch_kernel = _async_launch_kernel  # AsyncKernelManager aliases the launcher

    @default("ip")
    def _ip_default(self) -> str:
        # jupyter_client's default IPC base is "kernel-ipc" in the *current folder* when no
        # connection file is set yet, so kernels started at the same moment pick the same
        # socket names and receive each other's messages ("Invalid Signature"). A unique base
        # per kernel in the per-user runtime folder avoids that.
        if self.transport == "ipc":
            return _ipc_base()
        return super()._ip_default()

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return ProjectKernelSpecManager(data_dir=self.data_dir)


def kernel_argv(kernel_name: str = "python3") -> list[str]:
    """The command line the named kernel would be started with; checks it is this env's Python.

    Raises :class:`~iopkit.errors.SetupError` when the name is unknown here or the spec
    points outside ``sys.prefix`` (e.g. a kernelspec copied from another virtualenv).
    """
    try:
        spec = ProjectKernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise SetupError(
            f"no Jupyter kernel named {kernel_name!r} in {project_kernel_dirs()[0]}; "
            "run `make install` (it installs the python3 kernelspec with --sys-prefix)"
        ) from None
    exe = spec.argv[0]
    prefix = Path(sys.prefix).absolute()
    exe_path = Path(exe)
    ours = exe in ("python", "python3") or (
        exe_path.is_absolute() and prefix in exe_path.absolute().parents
    )
    if not ours:
        raise SetupError(
            f"kernel {kernel_name!r} runs {exe}, not this environment's Python "
            f"({sys.executable}); reinstall it with `make install`"
        )
    return list(spec.argv)


def kernel_manager_class(
    log_path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> type[ProjectKernelManager]:
    """:class:`ProjectKernelManager`, or a subclass writing kernel output to ``log_path`` and
    adding ``env`` to the kernel's environment."""
    if log_path is None and not env:
        return ProjectKernelManager
    attrs: dict[str, Any] = {"kernel_env": dict(env or {})}
    if log_path is not None:
        attrs["kernel_log"] = str(log_path)
    return type("LoggingKernelManager", (ProjectKernelManager,), attrs)
