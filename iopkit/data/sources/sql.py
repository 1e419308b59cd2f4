"""SQL databases: any SQLAlchemy URL, SQLite files and named connections (``connection:NAME``).

Reading: the bundle's tables are found by name, case-insensitively, among the tables AND
views of one schema (SQLAlchemy's inspector: ``get_table_names`` + ``get_view_names``), and
read with a ``SELECT`` that SQLAlchemy Core compiles for the dialect — identifiers quoted by
the dialect's own rules (``"…"`` PostgreSQL/SQLite, backticks MySQL/MariaDB, ``[…]`` SQL
Server), so no hand-written SQL and no hand-made quoting. Rows come in the order the
database returns them; ``source_line`` is the row number + 1 (as if row 1 were a header).

The schema is named in the URL with the query option ``iopkit_schema`` (removed before
connecting: ``postgresql://iop_reader@db/iop?iopkit_schema=reporting``) or with ``schema:``
in a named connection (:mod:`iopkit.data.connections`); by default the connection's default
schema (PostgreSQL ``search_path``, MySQL database, SQL Server ``dbo``, SQLite ``main``).

A plain ``postgresql://`` URL uses psycopg 3 (installed by ``pip install 'iopkit[postgres]'``)
unless psycopg2 is installed. A password in a URL never reaches a message, a label or a
report (:func:`iopkit.privacy.redact_url`); better still, keep it out of the URL
(``PGPASSWORD``, ``~/.pgpass`` or a named connection; docs/sources/postgresql.md).

Writing (:data:`URL_WRITER`, format ``sql``): see :func:`write_sql`.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import numbers
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iopkit.data.bundle import Bundle
from iopkit.data.connections import SCHEME as CONNECTION_SCHEME
from iopkit.data.connections import resolve_connection
from iopkit.data.schemas import REQUIRED_TABLES, TABLE_ORDER, TABLES
from iopkit.data.sources.registry import (
    ANY_URL,
    BundleWriter,
    ReadOptions,
    SourceHandler,
    finish_bundle,
)
from iopkit.data.sources.text import dates_as_text
from iopkit.errors import InputError, SetupError
from iopkit.privacy import redact_url

__all__ = [
    "CONNECTION_HANDLER",
    "SCHEMA_OPTION",
    "SQLITE_HANDLER",
    "URL_HANDLER",
    "URL_WRITER",
    "WRITER",
    "DatabaseTarget",
    "database_target",
    "read_sql",
    "select_table",
    "write_sql",
]

#: SQLite file suffixes read as a bundle.
SQLITE_SUFFIXES: tuple[str, ...] = (".sqlite", ".sqlite3", ".db")
#: URL query option naming the schema to read or write (removed before connecting).
SCHEMA_OPTION = "iopkit_schema"
#: What to install for a dialect's default driver (shown when it is missing).
_DRIVER_HINT = {
    "postgresql": "pip install 'iopkit[postgres]' (psycopg 3)",
    "mysql": "pip install pymysql and write mysql+pymysql://",
    "mariadb": "pip install pymysql and write mariadb+pymysql://",
    "mssql": "pip install pyodbc (and the Microsoft ODBC driver) and write mssql+pyodbc://",
    "oracle": "pip install oracledb and write oracle+oracledb://",
}


class DatabaseTarget:
    """A database to read or write: connectable URL, schema and the label shown for it.

    ``label`` is what messages, bundles and reports name it: ``connection:NAME`` for a named
    connection, else the URL with its password hidden. ``url`` (a SQLAlchemy ``URL``) keeps
    the password; SQLAlchemy's own ``str(URL)`` and ``repr`` hide it too.
    """

    def __init__(self, url: Any, schema: str | None, label: str) -> None:
        self.url = url
        self.schema = schema
        self.label = label

    def __repr__(self) -> str:
        return f"DatabaseTarget({self.label!r}, schema={self.schema!r})"

    @property
    def dialect(self) -> str:
        """The dialect name: ``postgresql``, ``mysql``, ``mssql``, ``sqlite`` …"""
        return str(self.url.get_backend_name())

    def where(self, name: str | None = None) -> str:
        """``label`` plus the schema-qualified name, for messages."""
        place = ".".join(p for p in (self.schema, name) if p)
        return f"{self.label} {place}".strip() if place else self.label


def database_target(source: str, *, schema: str | None = None) -> DatabaseTarget:
    """Parse a SQLAlchemy URL or ``connection:NAME`` into a :class:`DatabaseTarget`.

    The URL option ``iopkit_schema`` (or a named connection's ``schema``) names the schema;
    ``schema`` overrides both. InputError for text that is not a database URL.
    """
    import sqlalchemy as sa

    label = None
    text = str(source).strip()
    conn_schema = None
    if text.startswith(CONNECTION_SCHEME):
        conn = resolve_connection(text)
        text, conn_schema, label = conn.url, conn.schema, conn.label
    try:
        url = sa.engine.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise InputError(
            "not a database URL; expected dialect[+driver]://user@host[:port]/database",
            file=label or redact_url(text),
            rule="database URL",
        ) from None
    if label is None:
        label = redact_url(text)
    url_schema = url.query.get(SCHEMA_OPTION)
    if isinstance(url_schema, tuple):
        raise InputError(
            f"{SCHEMA_OPTION} is given {len(url_schema)} times; give one schema",
            file=label,
            rule="database URL",
        )
    url = url.difference_update_query([SCHEMA_OPTION])
    if url.drivername == "postgresql" and importlib.util.find_spec("psycopg2") is None:
        url = url.set(drivername="postgresql+psycopg")  # the driver iopkit[postgres] installs
    chosen = schema or url_schema or conn_schema
    if chosen is not None and not str(chosen).strip():
        raise InputError("the schema name is blank", file=label, rule="database URL")
    return DatabaseTarget(url, chosen, label)


def _engine(target: DatabaseTarget) -> Any:
    import sqlalchemy as sa

    try:
        return sa.create_engine(target.url)
    except ImportError as exc:  # the dialect's DBAPI driver is not installed
        hint = _DRIVER_HINT.get(target.dialect, "install the DBAPI driver this URL names")
        raise SetupError(
            f"{target.label}: the database driver for {target.dialect} is not installed "
            f"({exc.name or exc}); {hint}"
        ) from None
    except sa.exc.NoSuchModuleError:
        raise InputError(
            f"unknown database dialect {target.url.drivername!r} (SQLAlchemy has no such "
            "dialect or driver)",
            file=target.label,
            rule="database URL",
        ) from None
    except sa.exc.ArgumentError as exc:
        raise InputError(
            f"not a usable database URL: {redact_url(str(exc))}",
            file=target.label,
            rule="database URL",
        ) from None


def _db_message(exc: BaseException) -> str:
    """The database's own words, first line, password-free (no SQL echo, no link)."""
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    text = " ".join(lines[:2]) if lines else type(orig).__name__
    return redact_url(f"{type(orig).__name__}: {text}")[:400]


def select_table(name: str, columns: Iterable[str], schema: str | None = None) -> Any:
    """``SELECT col, … FROM schema.name`` as a SQLAlchemy Core statement (quoted on compile
    by whichever dialect runs it)."""
    import sqlalchemy as sa

    return sa.select(*[sa.column(c) for c in columns]).select_from(sa.table(name, schema=schema))


def _check_sqlite_file(target: DatabaseTarget, *, must_exist: bool) -> None:
    """SQLite creates a missing file on connect: a reader refuses that instead."""
    db = target.url.database
    if target.dialect != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return
    if must_exist and not Path(db).is_file():
        raise InputError("database file not found", file=str(db), rule="unreadable")
    if target.schema not in (None, "main"):
        raise InputError(
            f"SQLite has no schema {target.schema!r} (only 'main'); leave {SCHEMA_OPTION} out",
            file=target.label,
            rule="database schema",
        )


def _find_schema(inspector: Any, target: DatabaseTarget) -> str | None:
    if target.schema is None or target.dialect == "sqlite":
        return None if target.dialect == "sqlite" else target.schema
    schemas = inspector.get_schema_names()
    by_lower: dict[str, list[str]] = {}
    for s in schemas:
        by_lower.setdefault(s.lower(), []).append(s)
    if target.schema in schemas:
        return target.schema
    found = by_lower.get(target.schema.lower(), [])
    if len(found) == 1:
        return found[0]
    raise InputError(
        f"no schema {target.schema!r} in this database (or no right to see it); schemas: "
        + ", ".join(s for s in schemas if not s.startswith(("pg_", "information_schema"))),
        file=target.label,
        rule="database schema",
    )


def read_sql(source: str, *, strict: bool = False, schema: str | None = None) -> Bundle:
    """Read the bundle's tables from tables or views of a database schema.

    ``source``: a SQLAlchemy URL (``?iopkit_schema=NAME`` picks the schema) or
    ``connection:NAME``; ``schema`` overrides. Names match case-insensitively; two objects
    whose names differ only by case are refused. See the module docstring.
    """
    import sqlalchemy as sa

    target = database_target(source, schema=schema)
    _check_sqlite_file(target, must_exist=True)
    engine = _engine(target)
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            where = _find_schema(inspector, target)
            target.schema = where
            kinds = {n: "table" for n in inspector.get_table_names(schema=where)}
            kinds.update({n: "view" for n in inspector.get_view_names(schema=where)})
            present: dict[str, list[str]] = {}
            for n in kinds:
                present.setdefault(n.lower(), []).append(n)
            for table in TABLE_ORDER:
                names = present.get(table, [])
                if len(names) > 1:
                    raise InputError(
                        f"{len(names)} objects are named like {table!r} ({', '.join(names)}); "
                        "keep one, or rename the others",
                        file=target.where(),
                        rule="ambiguous_table",
                    )
                if not names:
                    continue
                name = names[0]
                cols = [c["name"] for c in inspector.get_columns(name, schema=where)]
                result = conn.execute(select_table(name, cols, where))
                frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()), dtype=object)
                tables[table] = frame.where(frame.notna(), None)
                qualified = ".".join(p for p in (where, name) if p)
                files[table] = f"{target.label} {kinds[name]} {qualified}"
    except sa.exc.SQLAlchemyError as exc:
        raise InputError(
            f"cannot read from the database: {_db_message(exc)}",
            file=target.where(),
            rule="unreadable",
        ) from None
    finally:
        engine.dispose()
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        seen = ", ".join(sorted(kinds)) or "nothing"
        raise InputError(
            f"no table or view named {', '.join(missing)} in "
            + (f"schema {target.schema!r}" if target.schema else "the default schema")
            + f" (found: {seen}); expected tables or views named like {', '.join(TABLE_ORDER)}"
            f" ({', '.join(REQUIRED_TABLES)} required); name the schema with "
            f"?{SCHEMA_OPTION}=NAME or schema: in a named connection",
            file=target.label,
            rule="missing_table",
        )
    lines = {t: np.arange(2, len(f) + 2, dtype=np.int64) for t, f in tables.items()}
    return finish_bundle(tables, files, lines, [], [], target.label, strict)


# --- writing --------------------------------------------------------------------------------
def _refuse(target: DatabaseTarget, table: str, col: str, pos: int, value: object, want: str):
    return InputError(
        f"value {value!r} is not {want}; a typed database column cannot hold it — validate "
        "first (iopkit export --accepted-only) or write a folder (csv)",
        file=target.where(table),
        row=pos + 2,
        column=col,
        rule="database column type",
    )


def _as_date(v: object) -> dt.date | None:
    if isinstance(v, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(v)
        return ts.date() if ts == ts.normalize() else None
    if isinstance(v, dt.date):
        return v
    if isinstance(v, np.datetime64):
        return _as_date(pd.Timestamp(v))
    if isinstance(v, str) and len(v) == 10:
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return None
    return None


def _as_int(v: object) -> int | None:
    if isinstance(v, bool | np.bool_):
        return None
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real) and float(v).is_integer():
        return int(v)
    return None


def _column(target: DatabaseTarget, table: str, col: str, s: pd.Series) -> tuple[Any, list]:
    """The SQL type of one column and its values as the driver takes them (None = NULL).

    By the table contract (:data:`iopkit.data.schemas.TABLES`): ``date`` → DATE,
    ``int``/``item`` → INTEGER, the rest → TEXT; item columns and tables outside the
    contract by their values. A value the type cannot hold is refused, never coerced.
    """
    import sqlalchemy as sa

    values = s.astype(object).where(s.notna(), None).tolist()
    spec = TABLES.get(table)
    cspec = spec.column(col) if spec is not None else None
    kind = cspec.kind if cspec is not None else None
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if kind is None:  # by the values: dates, whole numbers, real numbers, booleans, else text
        if present and all(_as_date(v) is not None and not isinstance(v, str) for _, v in present):
            kind = "date"
        elif present and all(_as_int(v) is not None for _, v in present):
            kind = "int"
        elif present and all(isinstance(v, bool | np.bool_) for _, v in present):
            return sa.Boolean(), [None if v is None else bool(v) for v in values]
        elif present and all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for _, v in present
        ):
            return sa.Float(), [None if v is None else float(v) for v in values]
        else:
            kind = "str"
    if kind == "date":
        for i, v in present:
            d = _as_date(v)
            if d is None:
                raise _refuse(target, table, col, i, v, "a calendar date (YYYY-MM-DD)")
            values[i] = d
        return sa.Date(), values
    if kind in ("int", "item"):
        for i, v in present:
            n = _as_int(v)
            if n is None:
                raise _refuse(target, table, col, i, v, "a whole number")
            values[i] = n
        return sa.Integer(), values
    for i, v in present:
        if not isinstance(v, str):
            raise _refuse(target, table, col, i, v, "text")
    return sa.Text(), values


def write_sql(tables: dict[str, pd.DataFrame], dest: str, *, schema: str | None = None) -> str:
    """Write a bundle's tables into a database schema; returns the label written to.

    ``dest``: a SQLAlchemy URL (``?iopkit_schema=NAME``) or ``connection:NAME``.
    **Replace semantics**: in the target schema (created if missing), every existing
    *table* named like a bundle table (the contract's eight names and the bundle's own,
    case-insensitively) is dropped and the bundle's tables are created and filled — in one
    transaction, so a failure leaves the database as it was (on PostgreSQL, SQL Server and
    SQLite; MySQL/MariaDB commit DDL implicitly). A *view* of such a name, or a view that
    depends on a table to be replaced, is refused (drop or recreate it yourself): the
    writer never drops what it did not make. Column types: DATE for dates (ISO dates),
    INTEGER for whole numbers, TEXT otherwise (see :func:`_column`); no keys or indexes, so
    a bundle with duplicates or defects is stored as it is — unless a value cannot be held
    by its column's type, which is refused before anything is written.
    """
    import sqlalchemy as sa

    target = database_target(dest, schema=schema)
    _check_sqlite_file(target, must_exist=False)
    if target.dialect == "sqlite":
        target.schema = None
    meta = sa.MetaData()
    built: list[tuple[sa.Table, list[dict[str, Any]]]] = []
    for table, frame in tables.items():
        names = [str(c) for c in frame.columns]
        lowered = [n.lower() for n in names]
        if len(set(lowered)) != len(lowered):
            dup = sorted({n for n in names if lowered.count(n.lower()) > 1})
            raise InputError(
                f"columns {dup} differ only by case; a database cannot tell them apart",
                file=target.where(table),
                rule="database column names",
            )
        typed = [
            _column(target, table, n, frame[c]) for n, c in zip(names, frame.columns, strict=True)
        ]
        sql_table = sa.Table(
            table,
            meta,
            *[sa.Column(n, t) for n, (t, _) in zip(names, typed, strict=True)],
            schema=target.schema,
        )
        rows = [
            dict(zip(names, vals, strict=True)) for vals in zip(*[v for _, v in typed], strict=True)
        ]
        built.append((sql_table, rows))
    replaced = {t.lower() for t in (*TABLE_ORDER, *tables)}
    engine = _engine(target)
    try:
        with engine.begin() as conn:
            if target.schema is not None:
                conn.execute(sa.schema.CreateSchema(target.schema, if_not_exists=True))
            inspector = sa.inspect(conn)
            views = [v for v in inspector.get_view_names(schema=target.schema)
                     if v.lower() in replaced]  # fmt: skip
            if views:
                raise InputError(
                    f"the schema holds view(s) named like bundle tables ({', '.join(views)}); "
                    "write the bundle into another schema, or drop those views first",
                    file=target.where(),
                    rule="database replace",
                )
            for name in inspector.get_table_names(schema=target.schema):
                if name.lower() in replaced:
                    sa.Table(name, sa.MetaData(), schema=target.schema).drop(conn)
            for sql_table, rows in built:
                sql_table.create(conn)
                for start in range(0, len(rows), 10_000):
                    conn.execute(sql_table.insert(), rows[start : start + 10_000])
    except sa.exc.SQLAlchemyError as exc:
        depends = "depend" in str(getattr(exc, "orig", exc)).lower()
        undone = "" if target.dialect in ("mysql", "mariadb") else " (nothing was changed)"
        raise InputError(
            f"cannot write to the database{undone}: {_db_message(exc)}"
            + (
                "; drop the dependent views first and recreate them after loading"
                if depends
                else ""
            ),  # fmt: skip
            file=target.where(),
            rule="database write",
        ) from None
    finally:
        engine.dispose()
    return target.where()


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


def _read_connection(location: str, options: ReadOptions) -> Bundle:
    return read_sql(f"{CONNECTION_SCHEME}{location}", strict=options.strict)


def _read_sqlite(location: str, options: ReadOptions) -> Bundle:
    return read_sql(f"sqlite:///{Path(location).resolve()}", strict=options.strict)


URL_HANDLER = SourceHandler(kind="sql", keys=(ANY_URL,), read=_read_url, label="a SQLAlchemy URL")
SQLITE_HANDLER = SourceHandler(
    kind="sqlite", keys=SQLITE_SUFFIXES, read=_read_sqlite, label=".sqlite/.db"
)
CONNECTION_HANDLER = SourceHandler(
    kind="connection",
    keys=(CONNECTION_SCHEME,),
    read=_read_connection,
    label="connection:NAME",
)
WRITER = BundleWriter(
    format="sqlite", write=_write_sqlite, folder=False, suffixes=(".sqlite", ".db")
)
URL_WRITER = BundleWriter(format="sql", write=write_sql, folder=False, suffixes=(), url=True)
