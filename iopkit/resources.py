"""Where shipped content lives: found through :mod:`importlib.resources`.

One lookup for every kind of content, so ``pip install iopkit`` (a wheel, no checkout)
plans and reports exactly like a source checkout. The files themselves are the repository's
top-level ``curriculum/``, ``notebooks/`` and ``reports/schedules/`` (linked from
``iopkit/content/``) and ``iopkit/content/mappings/``.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from iopkit.errors import SetupError

__all__ = [
    "CURRICULUM_ENV",
    "content_dir",
    "curriculum_dir",
    "mappings_dir",
    "notebooks_dir",
    "schedules_dir",
]

#: Environment variable that points iopkit at another curriculum folder.
CURRICULUM_ENV = "IOPKIT_CURRICULUM"


def content_dir(kind: str) -> Path:
    """Folder of one kind of shipped content (``curriculum``, ``notebooks``, ``schedules``,
    ``mappings``); SetupError when the installation lacks it (a broken build)."""
    folder = resources.files("iopkit.content") / kind
    if not folder.is_dir():
        raise SetupError(
            f"iopkit's shipped {kind!r} folder is missing from this installation "
            f"({folder}); reinstall iopkit"
        )
    return Path(str(folder))


def curriculum_dir() -> Path:
    """``$IOPKIT_CURRICULUM`` if set, else the shipped curriculum (skills and programs)."""
    env = os.environ.get(CURRICULUM_ENV)
    if env:
        return Path(env).expanduser()
    return content_dir("curriculum")


def notebooks_dir() -> Path:
    """The report notebook templates (``*.ipynb``)."""
    return content_dir("notebooks")


def schedules_dir() -> Path:
    """The shipped batch schedules (``demo.yaml``, ``weekly.example.yaml``)."""
    return content_dir("schedules")


def mappings_dir() -> Path:
    """Example source mappings (``redcap_example.yaml``)."""
    return content_dir("mappings")
