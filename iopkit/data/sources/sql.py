"""SQL databases: any SQLAlchemy URL (``dialect://…``) and SQLite files (``.sqlite``/``.db``).

The bundle's tables are read by name (case-insensitive) in storage order; line numbers are
row number + 1. A password in a URL never reaches a message (:func:`redact_url`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from iopkit.data.bundle import Bundle
from iopkit.data.schemas import TABLE_ORDER
from iopkit.data.sources.registry import (
    ANY_URL,
    BundleWriter,
    ReadOptions,
    SourceHandler,
    finish_bundle,
)
from iopkit.data.sources.text import dates_as_text
from iopkit.errors import InputError
from iopkit.privacy import redact_url

__all__ = ["SQLITE_HANDLER", "URL_HANDLER", "WRITER", "read_sql"]

#: SQLite file suffixes read as a bundle.
SQLITE_SUFFIXES: tuple[str, ...] = (".sqlite", ".sqlite3", ".db")


def read_sql(url: str, *, strict: bool = False) -> Bundle:
    """Read the bundle's tables from a SQL database (any SQLAlchemy URL; same table names).

    Rows are read in storage order; ``source_line`` is the row number + 1.
    """
    import sqlalchemy as sa

    engine = None
    tables: dict[str, pd.DataFrame] = {}
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            present = {n.lower(): n for n in sa.inspect(conn).get_table_names()}
            for table in TABLE_ORDER:
                if table in present:
                    frame = pd.read_sql_query(sa.text(f'SELECT * FROM "{present[table]}"'), conn)
                    tables[table] = frame.astype(object).where(frame.notna(), None)
    except sa.exc.SQLAlchemyError as exc:
        raise InputError(
            f"cannot read database: {exc.__class__.__name__}: {exc}",
            file=redact_url(url),
            rule="unreadable",
        ) from None
    except ImportError as exc:  # the URL names a database whose driver is not installed
        raise InputError(
            f"the database driver for this URL is not installed ({exc.name or exc}); "
            "install it into this environment (e.g. pip install psycopg for postgresql://)",
            file=redact_url(url),
            rule="unreadable",
        ) from None
    finally:
        if engine is not None:
            engine.dispose()
    if not tables:
        raise InputError(
            f"no tables named like {', '.join(TABLE_ORDER)}",
            file=redact_url(url),
            rule="missing_table",
        )
    files = {t: f"{redact_url(url)} table {t}" for t in tables}
    lines = {t: np.arange(2, len(f) + 2, dtype=np.int64) for t, f in tables.items()}
    return finish_bundle(tables, files, lines, [], [], redact_url(url), strict)


def _write_sqlite(tables: dict[str, pd.DataFrame], dest: Path) -> Path:
    """One SQL table per bundle table; dates as ISO text. Replaces an existing file."""
    import sqlalchemy as sa

    if dest.exists():
        dest.unlink()
    engine = sa.create_engine(f"sqlite:///{dest.resolve()}")
    try:
        with engine.begin() as conn:
            for t, frame in tables.items():
                dates_as_text(t, frame).to_sql(t, conn, index=False, chunksize=20_000)
    finally:
        engine.dispose()
    return dest


def _read_url(location: str, options: ReadOptions) -> Bundle:
    return read_sql(location, strict=options.strict)


def _read_sqlite(location: str, options: ReadOptions) -> Bundle:
    return read_sql(f"sqlite:///{Path(location).resolve()}", strict=options.strict)


URL_HANDLER = SourceHandler(kind="sql", keys=(ANY_URL,), read=_read_url, label="a SQLAlchemy URL")
SQLITE_HANDLER = SourceHandler(
    kind="sqlite", keys=SQLITE_SUFFIXES, read=_read_sqlite, label=".sqlite/.db"
)
WRITER = BundleWriter(
    format="sqlite", write=_write_sqlite, folder=False, suffixes=(".sqlite", ".db")
)
