"""Load and validate the scale registry (``iopkit/scales/data/*.yaml``).

Each file holds one scale; its file name (without ``.yaml``) must equal its ``id``.
A broken file raises :class:`~iopkit.errors.ConfigError` naming the file and key path.
"""

from __future__ import annotations

import functools
import hashlib
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


#: Scales parsed and checked by another process of this installation (a batch hands its
#: report kernels the scales of a source: :func:`adopt`), by id.
_ADOPTED: dict[str, Scale] = {}


def file_digest(scale_id: str, data_dir: Path = DATA_DIR) -> str:
    """SHA-256 (hex) of the scale's registry file as it is on disk now."""
    return hashlib.sha256((data_dir / f"{scale_id}.yaml").read_bytes()).hexdigest()


def adopt(scale: Scale, digest: str) -> bool:
    """Use ``scale``, parsed and checked elsewhere, for its id instead of parsing its file
    again — only while the file still has SHA-256 ``digest`` (else False, nothing changes:
    the file is parsed when first asked for). A batch snapshot carries the scales of its
    source so that a report kernel reads none of their YAML (9 files of a demo bundle:
    ~0.04 s per report)."""
    try:
        current = file_digest(scale.id)
    except OSError:
        return False
    if current != digest:
        return False
    _ADOPTED[scale.id] = scale
    return True


@functools.cache
def _load(scale_id: str, data_dir: Path = DATA_DIR) -> Scale:
    if data_dir == DATA_DIR and scale_id in _ADOPTED:
        return _ADOPTED[scale_id]
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
