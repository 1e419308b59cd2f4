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
def _registry(data_dir: Path = DATA_DIR) -> dict[str, Scale]:
    scales = {}
    for path in sorted(data_dir.glob("*.yaml")):
        scale = load_scale_file(path)
        scales[scale.id] = scale
    return scales


def list_scales() -> list[Scale]:
    """All scales in the registry, sorted by id."""
    return list(_registry().values())


def get_scale(scale_id: str) -> Scale:
    """The scale with this id (case-insensitive, '-' ignored: 'PHQ-9' → 'phq9').

    Raises :class:`~iopkit.errors.UnknownIdError` listing the known ids when it is unknown.
    """
    key = scale_id.lower().replace("-", "").replace("_", "").strip()
    reg = _registry()
    if key not in reg:
        raise UnknownIdError(
            f"unknown scale {scale_id!r}{did_you_mean(key, reg)}; known scales: {', '.join(reg)}",
            known=tuple(reg),
            rule="unknown scale",
        )
    return reg[key]
