"""Named database connections: a private YAML file maps a name to a URL (and a schema).

So a source can be written ``connection:NAME`` — in a command, a report parameter, a
schedule — and the URL, with any password in it, stays in one file readable by its owner
only. Reports, manifests and messages record ``connection:NAME``, never the URL.

The file is ``$IOPKIT_CONNECTIONS`` or, by default, ``~/.config/iopkit/connections.yaml``::

    connections:
      clinic:                                   # used as connection:clinic
        url: postgresql://iop_reader:s3cret@db.example.org:5432/iop
        schema: reporting                       # optional: tables/views in this schema

It is read through :mod:`iopkit.yamlio` (lines, duplicate keys, alias bombs) and refused
unless it is a regular file owned by the current user with no permission for group or
others (``chmod 600``), the rule OpenSSH applies to private keys and libpq to ``~/.pgpass``
(PostgreSQL manual, "The Password File",
https://www.postgresql.org/docs/current/libpq-pgpass.html). A URL without a password works
too: libpq then takes it from ``PGPASSWORD`` or ``~/.pgpass``.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from iopkit.errors import ConfigError, UnknownIdError
from iopkit.privacy import redact_url
from iopkit.yamlio import did_you_mean, load_yaml, validate_model

__all__ = [
    "CONNECTIONS_ENV",
    "SCHEME",
    "Connection",
    "connections_path",
    "load_connections",
    "resolve_connection",
]

#: Environment variable naming the connections file.
CONNECTIONS_ENV = "IOPKIT_CONNECTIONS"
#: Source prefix of a named connection (``connection:NAME``).
SCHEME = "connection:"


@dataclass(frozen=True)
class Connection:
    """One named connection: its SQLAlchemy URL (may hold a password) and schema."""

    name: str
    url: str
    schema: str | None
    #: the file it was read from
    file: str

    @property
    def label(self) -> str:
        """How messages, reports and manifests name it: ``connection:NAME``."""
        return f"{SCHEME}{self.name}"

    def __repr__(self) -> str:  # never show the password, not even in a debugger
        return (
            f"Connection(name={self.name!r}, url={redact_url(self.url)!r}, "
            f"schema={self.schema!r}, file={self.file!r})"
        )


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    url: str = Field(min_length=1)
    db_schema: str | None = Field(default=None, alias="schema", min_length=1)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connections: dict[str, _Entry]


def connections_path() -> Path:
    """``$IOPKIT_CONNECTIONS``, else ``~/.config/iopkit/connections.yaml``."""
    env = os.environ.get(CONNECTIONS_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".config" / "iopkit" / "connections.yaml"


def _check_private(path: Path) -> None:
    """Refuse a file anyone but its owner (the current user) could read or change."""
    shown = str(path)
    if not path.exists():
        raise ConfigError(
            f"{shown}: connections file not found; create it (mode 600) or set "
            f"{CONNECTIONS_ENV} to its path (docs/sources/postgresql.md)"
        )
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{shown}: connections file is not a regular file")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigError(
            f"{shown}: connections file is owned by another user (uid {info.st_uid}); it "
            "holds passwords, so it must belong to you and be readable by you only (mode 600)"
        )
    if info.st_mode & 0o077:
        raise ConfigError(
            f"{shown}: connections file has mode {stat.S_IMODE(info.st_mode):03o}; it holds "
            f"passwords, so group and others must have no access: run chmod 600 {shown}"
        )


def load_connections(path: str | Path | None = None) -> dict[str, Connection]:
    """Every connection of the file (default :func:`connections_path`), by name.

    ConfigError (file, line, key path; any URL in a message redacted) for a file that is
    missing, not private (see the module docstring) or not of the documented shape.
    """
    p = Path(path).expanduser() if path is not None else connections_path()
    _check_private(p)
    try:
        doc = load_yaml(p, what="connections file")
        model, problems = validate_model(_File, doc)
    except ConfigError as exc:
        raise ConfigError(redact_url(str(exc))) from None
    if model is None:
        raise ConfigError("connections file: " + redact_url("; ".join(str(pr) for pr in problems)))
    out = {}
    for name, entry in model.connections.items():
        out[name] = Connection(name, entry.url.strip(), entry.db_schema, str(p))
    return out


def resolve_connection(name: str, path: str | Path | None = None) -> Connection:
    """The connection ``name`` (with or without the ``connection:`` prefix)."""
    key = name[len(SCHEME) :] if name.startswith(SCHEME) else name
    known = load_connections(path)
    if key not in known:
        file = str(path) if path is not None else str(connections_path())
        raise UnknownIdError(
            f"no connection named {key!r}{did_you_mean(key, known)}; the connections file "
            f"defines: {', '.join(known) or 'none'}",
            known=tuple(known),
            file=file,
            rule="unknown connection",
        )
    return known[key]
