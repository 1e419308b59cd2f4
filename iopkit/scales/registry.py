"""Load and validate the scale registry (``iopkit/scales/data/*.yaml``).

Each file holds one scale; its file name (without ``.yaml``) must equal its ``id``.
A broken file raises :class:`~iopkit.errors.ConfigError` naming the file and key path.
"""

from __future__ import annotations

import functools
from pathlib import Path

from iopkit.errors import ConfigError, UnknownIdError
from iopkit.scales.schema import Scale
from iopkit.yamlio import did_you_mean, load_model

DATA_DIR = Path(__file__).resolve().parent / "data"


def load_scale_file(path: Path) -> Scale:
    """Parse and validate one scale file; ConfigError names the file, line and key path."""
    scale = load_model(Scale, path, what="scale registry")
    if scale.id != path.stem:
        raise ConfigError(f"{path}: id: {scale.id!r} does not match the file name {path.stem!r}")
    return scale


@functools.cache
def scale_ids(data_dir: Path = DATA_DIR) -> tuple[str, ...]:
    """The ids of the registry, sorted: its file names, read without parsing any file (a
    report that checks a scale id and scores two scales parses two files, not thirteen)."""
    return tuple(sorted(path.stem for path in data_dir.glob("*.yaml")))


@functools.cache
def _load(scale_id: str, data_dir: Path = DATA_DIR) -> Scale:
    return load_scale_file(data_dir / f"{scale_id}.yaml")


def list_scales() -> list[Scale]:
    """All scales in the registry, sorted by id (every file parsed and checked)."""
    return [_load(scale_id) for scale_id in scale_ids()]


def get_scale(scale_id: str) -> Scale:
    """The scale with this id (case-insensitive, '-' ignored: 'PHQ-9' → 'phq9'); only its own
    file is parsed, once per process.

    Raises :class:`~iopkit.errors.UnknownIdError` listing the known ids when it is unknown.
    """
    key = scale_id.lower().replace("-", "").replace("_", "").strip()
    known = scale_ids()
    if key not in known:
        raise UnknownIdError(
            f"unknown scale {scale_id!r}{did_you_mean(key, known)}; known scales: "
            f"{', '.join(known)}",
            known=known,
            rule="unknown scale",
        )
    return _load(key)
