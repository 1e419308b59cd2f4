"""SQL sources without a server: dialect quoting (MySQL, SQL Server, PostgreSQL, SQLite
compiled by SQLAlchemy), SQLite tables and views, the SQL writer's types and refusals, named
connections (private file only), missing drivers, and passwords kept out of every message,
parameter and destination. The real-server half is tests/test_sql_postgres.py."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iopkit.cli import app
from iopkit.data import load_bundle, validate_bundle, write_bundle
from iopkit.data.connections import load_connections, resolve_connection
from iopkit.data.sources.sql import database_target, select_table, write_sql
from iopkit.errors import ConfigError, InputError, SetupError, UnknownIdError
from iopkit.synth import synthesize

runner = CliRunner()
SECRET = "hunter2-Quokka"
TEMPLATE = Path(__file__).resolve().parents[1] / "notebooks" / "cohort_outcomes.ipynb"
COUNTS = ["table", "rows_in", "accepted", "rejected", "warnings"]


@pytest.fixture(scope="module")
def synth():
    return synthesize(n_cohorts=2, seed=8, episodes_per_cohort=8)


def _no_secret(text: str) -> None:
    assert SECRET not in text and SECRET not in "".join(text.split()), text


# --- dialect quoting ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "dialect,expected",
    [
        ("mysql", "SELECT `Episode ID`, date, `order` \nFROM clinic.`Sessions`"),
        ("mssql", "SELECT [Episode ID], date, [order] \nFROM clinic.[Sessions]"),
        ("postgresql", 'SELECT "Episode ID", date, "order" \nFROM clinic."Sessions"'),
        ("sqlite", 'SELECT "Episode ID", date, "order" \nFROM clinic."Sessions"'),
    ],
)
def test_the_select_is_quoted_by_each_dialect(dialect, expected) -> None:
    import importlib

    module = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
    stmt = select_table("Sessions", ["Episode ID", "date", "order"], "clinic")
    assert str(stmt.compile(dialect=module.dialect())) == expected


def test_schema_option_is_removed_before_connecting_and_plain_postgresql_uses_psycopg() -> None:
    t = database_target(f"postgresql://iop:{SECRET}@db.example/iop?iopkit_schema=clinic&sslmode=require")
    assert t.schema == "clinic" and "iopkit_schema" not in t.url.query
    assert t.url.query["sslmode"] == "require" and t.url.drivername == "postgresql+psycopg"
    assert t.label == "postgresql://iop:***@db.example/iop?iopkit_schema=clinic&sslmode=require"
    _no_secret(repr(t) + str(t.url) + t.where("patients"))
    with pytest.raises(InputError, match="given 2 times"):
        database_target("postgresql://db/iop?iopkit_schema=a&iopkit_schema=b")


@pytest.mark.parametrize(
    "url,needle",
    [
        (f"mysql://iop:{SECRET}@127.0.0.1:1/iop", "pip install pymysql"),
        (f"mssql+pyodbc://iop:{SECRET}@127.0.0.1:1/iop", "pip install pyodbc"),
    ],
)
def test_a_missing_driver_names_what_to_install(url, needle) -> None:
    pytest.importorskip("sqlalchemy")
    driver = {"mysql": "MySQLdb", "mssql": "pyodbc"}[url.split(":")[0].split("+")[0]]
    try:
        __import__(driver)
        pytest.skip(f"{driver} is installed here")
    except ImportError:
        pass
    with pytest.raises(SetupError) as err:
        load_bundle(url)
    assert needle in str(err.value) and "***" in str(err.value)
    _no_secret(str(err.value))
    r = runner.invoke(app, ["validate", url])
    assert r.exit_code == 1 and needle in " ".join(r.output.split())
    _no_secret(r.output)


def test_unknown_dialect_and_unreachable_server_are_named_not_a_file() -> None:
    with pytest.raises(InputError, match="unknown database dialect"):
        load_bundle(f"nosuchdb://iop:{SECRET}@h/db")
    with pytest.raises(InputError) as err:  # nothing listens on port 1
        load_bundle(f"postgresql://iop:{SECRET}@127.0.0.1:1/iop?connect_timeout=3")
    text = str(err.value)
    assert "cannot read from the database" in text and "file" not in err.value.message.lower()
    _no_secret(text)


# --- SQLite: tables, views, the writer ----------------------------------------------------
def test_sql_writer_stores_dates_as_dates_and_round_trips(synth, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    assert write_bundle(synth, url, format="sql") == url
    with sqlite3.connect(tmp_path / "b.db") as con:
        types = {r[1]: r[2] for r in con.execute("PRAGMA table_info(episodes)")}
        first = con.execute("SELECT admit_date FROM episodes LIMIT 1").fetchone()[0]
    assert types["admit_date"] == "DATE" and types["planned_weeks"] == "INTEGER"
    assert len(first) == 10 and first[4] == "-"  # ISO date YYYY-MM-DD
    reference, copy = validate_bundle(synth), validate_bundle(load_bundle(url))
    assert copy.ok
    for t in reference.tables:
        x, y = reference.tables[t], copy.tables[t]
        pd.testing.assert_frame_equal(x, y[x.columns], check_dtype=False, obj=t)
    # replace semantics: a second write replaces every bundle table, adds nothing
    small = synthesize(n_cohorts=1, seed=2, episodes_per_cohort=3)
    write_bundle(small, url, format="sql")
    assert len(load_bundle(url)["episodes"]) == 3


def test_views_and_names_in_any_case_are_read(synth, tmp_path) -> None:
    db = tmp_path / "v.db"
    write_bundle(synth, db, format="sqlite")
    with sqlite3.connect(db) as con:
        for t in ("cohorts", "patients", "episodes"):
            con.execute(f'ALTER TABLE {t} RENAME TO "base_{t}"')
            con.execute(f'CREATE VIEW "{t.upper()}" AS SELECT * FROM "base_{t}"')
    bundle = load_bundle(db)
    assert bundle.files["patients"].endswith("view PATIENTS")
    assert len(bundle["episodes"]) == len(synth["episodes"])
    # (SQLite names are case-insensitive, so two objects named alike cannot exist here;
    # PostgreSQL twins are refused in tests/test_sql_postgres.py)


def test_a_missing_sqlite_file_is_not_created_and_sqlite_has_no_schemas(tmp_path) -> None:
    with pytest.raises(InputError, match="database file not found"):
        load_bundle(f"sqlite:///{tmp_path / 'nope.db'}")
    assert not (tmp_path / "nope.db").exists()
    with pytest.raises(InputError, match="SQLite has no schema"):
        write_bundle({}, f"sqlite:///{tmp_path / 'x.db'}?iopkit_schema=clinic", format="sql")


def test_writer_refuses_values_its_column_cannot_hold_before_writing(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    cohorts = pd.DataFrame(
        {"cohort_id": ["C01", "C02"], "program_id": ["p", "p"], "name": ["a", "b"],
         "start_date": ["2025-01-06", "2025-02-30"]}
    )  # fmt: skip
    with pytest.raises(InputError) as err:
        write_sql({"cohorts": cohorts}, url)
    e = err.value
    assert (e.row, e.column, e.rule) == (3, "start_date", "database column type")
    assert "'2025-02-30'" in e.message
    ints = pd.DataFrame({"episode_id": ["E1"], "set_date": ["2025-01-06"], "goal_no": [1.5]})
    with pytest.raises(InputError, match="not a whole number"):
        write_sql({"goals": ints}, url)
    twins = pd.DataFrame({"A": [1], "a": [2]})
    with pytest.raises(InputError, match="differ only by case"):
        write_sql({"extra": twins}, url)


# --- named connections --------------------------------------------------------------------
def _connections(tmp_path: Path, body: str, mode: int = 0o600) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(body, encoding="utf-8")
    path.chmod(mode)
    return path


def test_a_named_connection_reads_its_database_and_is_labelled_by_name(
    synth, tmp_path, monkeypatch
) -> None:
    db = write_bundle(synth, tmp_path / "c.db", format="sqlite")
    path = _connections(tmp_path, f"connections:\n  clinic:\n    url: sqlite:///{db}\n")
    monkeypatch.setenv("IOPKIT_CONNECTIONS", str(path))
    bundle = load_bundle("connection:clinic")
    assert bundle.source == "connection:clinic"
    assert bundle.files["episodes"] == "connection:clinic table episodes"
    assert validate_bundle(bundle).ok
    with pytest.raises(UnknownIdError, match="no connection named 'clinc'.*did you mean 'clinic'"):
        load_bundle("connection:clinc")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_connections_file_others_can_read_is_refused(tmp_path, mode) -> None:
    path = _connections(
        tmp_path, f"connections:\n  x:\n    url: postgresql://u:{SECRET}@h/db\n", mode
    )
    with pytest.raises(ConfigError) as err:
        load_connections(path)
    assert f"mode {mode:03o}" in str(err.value) and "chmod 600" in str(err.value)
    _no_secret(str(err.value))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_connections_file_owned_by_someone_else_is_refused(tmp_path) -> None:
    import pwd

    path = _connections(tmp_path, "connections:\n  x:\n    url: sqlite:///x.db\n")
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(ConfigError, match="owned by another user"):
        load_connections(path)


@pytest.mark.parametrize(
    "body,needle",
    [
        (f"connections:\n  x:\n    url: postgresql://u:{SECRET}@h/db\n    passwd: 1\n",
         "unknown key 'passwd'"),
        (f"connections:\n  x:\n    url: postgresql://u:{SECRET}@h/db\n"
         f"    url: postgresql://u:{SECRET}@h/db2\n", "appears twice"),
        ("connections:\n  x:\n    schema: clinic\n", "required key 'url'"),
        (f"connections:\n  x: postgresql://u:{SECRET}@h/db\n", "connections.x"),
    ],
)  # fmt: skip
def test_a_malformed_connections_file_names_line_and_key_never_the_password(
    tmp_path, body, needle
) -> None:
    with pytest.raises(ConfigError) as err:
        load_connections(_connections(tmp_path, body))
    assert needle in str(err.value) and "connections.yaml" in str(err.value)
    _no_secret(str(err.value))


def test_connections_default_path_and_missing_file(tmp_path, monkeypatch) -> None:
    from iopkit.data.connections import connections_path

    monkeypatch.delenv("IOPKIT_CONNECTIONS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert connections_path() == tmp_path / ".config" / "iopkit" / "connections.yaml"
    with pytest.raises(ConfigError, match="connections file not found"):
        resolve_connection("clinic")
    r = runner.invoke(app, ["validate", "connection:clinic"])
    assert r.exit_code == 1 and "connections file not found" in r.output


# --- passwords never leave --------------------------------------------------------------
def test_report_parameters_refuse_a_url_password() -> None:
    from iopkit.reports.engine.params import parse_cli_pairs, validate_parameters

    for value in (f"postgresql://iop:{SECRET}@db/iop", [f"mysql://u:{SECRET}@h/d"]):
        with pytest.raises(InputError) as err:
            validate_parameters(TEMPLATE, {"data_source": value})
        text = str(err.value)
        assert "***" in text and "PGPASSWORD" in text and "connection:NAME" in text
        assert err.value.rule == "no password in parameters"
        _no_secret(text)
    checked = validate_parameters(TEMPLATE, {"data_source": "connection:clinic"})
    assert checked["data_source"] == "connection:clinic"
    with pytest.raises(InputError) as err:
        parse_cli_pairs([f"data_source=postgresql://u:{SECRET}@h/d", "data_source=x"])
    _no_secret(str(err.value))


def test_synth_to_a_url_writes_the_database_or_refuses_never_a_folder(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"postgresql://iop:{SECRET}@127.0.0.1:1/iop?connect_timeout=3"
    r = runner.invoke(app, ["synth", "--out", url, "--cohorts", "1", "--per-cohort", "2"])
    assert r.exit_code == 1 and "cannot write to the database" in r.output
    _no_secret(r.output)
    for args in (["--out", url, "--format", "csv"], ["--out", str(tmp_path / "d"), "-f", "sql"]):
        r = runner.invoke(app, ["synth", *args, "--cohorts", "1", "--per-cohort", "2"])
        assert r.exit_code == 1 and "format" in r.output
        _no_secret(r.output)
    assert list(tmp_path.iterdir()) == []  # nothing named after the URL, nothing at all
    with pytest.raises(InputError, match="format sql"):
        write_bundle({}, url, format="csv")
    assert list(tmp_path.iterdir()) == []
    db = tmp_path / "s.db"
    r = runner.invoke(app, ["synth", "--out", f"sqlite:///{db}", "--cohorts", "1",
                            "--per-cohort", "2"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert len(load_bundle(db)["episodes"]) == 2


def test_export_refuses_rejected_rows_unless_accepted_only(tmp_path) -> None:
    src = tmp_path / "src"
    r = runner.invoke(app, ["synth", "--out", str(src), "--cohorts", "1", "--per-cohort", "6",
                            "--defects"])  # fmt: skip
    assert r.exit_code == 0, r.output
    dest = tmp_path / "copy.db"
    r = runner.invoke(app, ["export", str(src), "--out", str(dest)])
    assert r.exit_code == 1 and "nothing written" in r.output and not dest.exists()
    r = runner.invoke(
        app, ["export", str(src), "--out", f"sqlite:///{dest}", "--accepted-only",
              "--rejects", str(tmp_path / "rej")],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "set aside" in r.output and (tmp_path / "rej" / "problems.csv").exists()
    source, copy = validate_bundle(load_bundle(src)), validate_bundle(load_bundle(dest))
    assert copy.ok
    accepted = source.counts.set_index("table")["accepted"]
    assert (copy.counts.set_index("table")["rows_in"] == accepted[copy.counts["table"]]).all()


def test_a_schedule_with_a_url_password_is_refused_before_anything_is_written(tmp_path) -> None:
    schedule = tmp_path / "s.yaml"
    schedule.write_text(
        "name: leak\nout: out\njobs:\n  - template: program_outcomes\n    name: program\n"
        "    params: {data_source: \"{data}\"}\n",
        encoding="utf-8",
    )
    url = f"postgresql://iop:{SECRET}@127.0.0.1:1/iop"
    r = runner.invoke(app, ["run", str(schedule), "--var", f"data={url}"])
    assert r.exit_code == 1 and "PGPASSWORD" in " ".join(r.output.split())
    _no_secret(r.output)
    assert not (tmp_path / "out").exists()  # no manifest, no index, no notebook


def test_without_psycopg_postgresql_names_the_iopkit_extra(monkeypatch) -> None:
    import sys

    for name in ("psycopg", "psycopg2"):  # as on a machine without the [postgres] extra
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(SetupError) as err:
        load_bundle(f"postgresql://iop:{SECRET}@db.example/iop")
    assert "pip install 'iopkit[postgres]'" in str(err.value)
    assert "postgresql://iop:***@db.example/iop" in str(err.value)
    _no_secret(str(err.value))
