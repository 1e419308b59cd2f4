"""A real PostgreSQL server: a bundle loaded into a schema, read through views in another schema
by a read-only role whose password travels by PGPASSWORD, ~/.pgpass or a named connection;
validated, reported on, and the password found nowhere.

The server is a throw-away cluster (tests/pgserver.py); the tests skip only when no
PostgreSQL server binary exists on the machine, and say so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from typer.testing import CliRunner

from iopkit.cli import app
from iopkit.data import load_bundle, validate_bundle, write_bundle
from iopkit.errors import InputError
from tests.pgserver import PgServer, pg_server  # noqa: F401  (the session fixture)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "sources" / "postgresql.md"
runner = CliRunner()
COUNT_COLUMNS = ["table", "rows_in", "accepted", "rejected", "warnings"]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _doc_password() -> str:
    (sql,) = _blocks("sql")
    return re.search(r"PASSWORD '([^']+)'", sql).group(1)


PW = _doc_password()


def _secret_forms() -> list[str]:
    return [PW, quote(PW, safe=""), PW.replace("-", "")]


def _assert_no_password(text: str, where: str) -> None:
    flat = "".join(text.split())  # rich may wrap a long line inside the password
    for form in _secret_forms():
        assert form not in text and form not in flat, f"password found in {where}"


def _counts(result) -> pd.DataFrame:
    return result.counts[COUNT_COLUMNS].reset_index(drop=True)


@pytest.fixture(scope="module")
def db(pg_server: PgServer, tmp_path_factory):  # noqa: F811
    """Database ``iop``: synthetic:demo exported into schema ``clinic`` with iopkit export,
    then the docs page's SQL (views in ``reporting``, read-only role) run as the DBA."""
    pg_server.execute("CREATE DATABASE iop")
    admin = pg_server.url("iop", query="iopkit_schema=clinic")
    r = runner.invoke(app, ["export", "synthetic:demo", "--out", admin])
    assert r.exit_code == 0, r.output
    (sql,) = _blocks("sql")
    pg_server.execute([s.strip() for s in sql.split(";") if s.strip()], database="iop")
    folder = write_bundle(load_bundle("synthetic:demo"), tmp_path_factory.mktemp("f") / "b")
    return {"server": pg_server, "folder_counts": _counts(validate_bundle(load_bundle(folder)))}


@pytest.fixture
def connections(db, tmp_path, monkeypatch) -> Path:
    """The docs page's connections file, pointed at the test server's socket, mode 600."""
    server: PgServer = db["server"]
    (text,) = _blocks("yaml")
    local = f"@/iop?host={server.socket_dir}&port={server.port}"
    text = text.replace("@db.example.org:5432/iop", local)
    path = tmp_path / "connections.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.setenv("IOPKIT_CONNECTIONS", str(path))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    return path


def _reader_url(server: PgServer, schema: str = "reporting", password: str | None = None) -> str:
    pw = quote(password, safe="") if password is not None else None
    return server.url("iop", user="iop_reader", password=pw, query=f"iopkit_schema={schema}")


def test_read_views_through_a_named_connection(db, connections) -> None:
    bundle = load_bundle("connection:clinic")
    assert bundle.source == "connection:clinic"
    assert bundle.files["episodes"] == "connection:clinic view reporting.episodes"
    result = validate_bundle(bundle)
    assert result.ok, result.problems.head()
    pd.testing.assert_frame_equal(_counts(result), db["folder_counts"])
    assert _counts(result)["rows_in"].sum() > 5000
    # dates arrive as DATE values from PostgreSQL and validate as dates
    assert str(result.tables["episodes"]["admit_date"].dtype).startswith("datetime64")


def test_read_as_reader_with_pgpassword_and_pgpass(db, tmp_path, monkeypatch) -> None:
    server = db["server"]
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "absent"))
    with pytest.raises(InputError) as err:  # no password anywhere: refused by the server
        load_bundle(_reader_url(server))
    assert "password" in err.value.message and err.value.rule == "unreadable"
    assert "file" not in err.value.message.lower()
    monkeypatch.setenv("PGPASSWORD", PW)
    by_env = validate_bundle(load_bundle(_reader_url(server)))
    pd.testing.assert_frame_equal(_counts(by_env), db["folder_counts"])
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"*:*:iop:iop_reader:{PW}\n", encoding="utf-8")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    by_file = validate_bundle(load_bundle(_reader_url(server)))
    pd.testing.assert_frame_equal(_counts(by_file), db["folder_counts"])


def test_reader_cannot_read_the_base_schema_and_errors_hold_no_password(db) -> None:
    server = db["server"]
    with pytest.raises(InputError) as err:
        load_bundle(_reader_url(server, "clinic", password=PW))
    text = str(err.value)
    assert "permission denied" in text and "cannot read from the database" in text
    assert "reading or writing a file" not in text
    _assert_no_password(text, "the permission message")
    with pytest.raises(InputError) as err:
        load_bundle(_reader_url(server, password=PW + "-wrong"))
    assert "password authentication failed" in str(err.value)
    _assert_no_password(str(err.value), "the authentication message")
    with pytest.raises(InputError, match="no schema 'nowhere'") as err:
        load_bundle(_reader_url(server, "nowhere", password=PW))
    assert err.value.rule == "database schema"


def test_the_reader_role_is_read_only(db) -> None:
    import psycopg

    server = db["server"]
    with psycopg.connect(
        host=str(server.socket_dir), port=server.port, dbname="iop", user="iop_reader",
        password=PW,
    ) as conn, pytest.raises(psycopg.errors.Error):  # fmt: skip
        conn.execute("CREATE TABLE reporting.x (a int)")


def test_names_match_in_any_case_and_twins_are_refused(db) -> None:
    server = db["server"]
    statements = ["CREATE SCHEMA mixed", "CREATE SCHEMA twins"]
    for t, shown in (("cohorts", "Cohorts"), ("patients", "PATIENTS"), ("episodes", "Episodes")):
        statements.append(f'CREATE VIEW mixed."{shown}" AS SELECT * FROM clinic.{t}')
        statements.append(f"CREATE TABLE twins.{t} AS SELECT * FROM clinic.{t}")
    statements.append('CREATE TABLE twins."Patients" AS SELECT * FROM clinic.patients')
    server.execute(statements, database="iop")
    bundle = load_bundle(server.url("iop", query="iopkit_schema=MIXED"))
    assert bundle.table_names == ["cohorts", "patients", "episodes"]
    assert bundle.files["patients"].endswith("view mixed.PATIENTS")
    base = load_bundle(server.url("iop", query="iopkit_schema=clinic"))
    assert len(bundle["episodes"]) == len(base["episodes"])
    with pytest.raises(InputError, match="named like 'patients'") as err:
        load_bundle(server.url("iop", query="iopkit_schema=twins"))
    assert err.value.rule == "ambiguous_table"


def test_writer_replaces_in_one_transaction_and_refuses_to_break_views(db) -> None:
    server = db["server"]
    url = server.url("iop", query="iopkit_schema=scratch")
    r = runner.invoke(app, ["synth", "--out", url, "--cohorts", "2", "--per-cohort", "5"])
    assert r.exit_code == 0, r.output
    first = load_bundle(url)
    r = runner.invoke(app, ["synth", "--out", url, "--cohorts", "1", "--per-cohort", "4"])
    assert r.exit_code == 0, r.output
    second = load_bundle(url)
    assert len(first["episodes"]) == 10 and len(second["episodes"]) == 4  # replaced, not added
    assert validate_bundle(second).ok
    before = len(load_bundle(server.url("iop", query="iopkit_schema=clinic"))["patients"])
    with pytest.raises(InputError, match="depend") as err:  # reporting.* views use clinic.*
        write_bundle(second, server.url("iop", query="iopkit_schema=clinic"), format="sql")
    assert "nothing was changed" in err.value.message
    after = load_bundle(server.url("iop", query="iopkit_schema=clinic"))
    assert len(after["patients"]) == before  # rolled back whole
    with pytest.raises(InputError, match="view"):  # never drops a view it did not make
        write_bundle(second, server.url("iop", query="iopkit_schema=reporting"), format="sql")


def test_cli_validate_and_cohort_report_publish_no_password(db, connections, tmp_path) -> None:
    server = db["server"]
    r = runner.invoke(app, ["validate", "connection:clinic"])
    assert r.exit_code == 0, r.output
    assert "all rows accepted" in r.output
    r = runner.invoke(app, ["validate", _reader_url(server, password=PW)])
    assert r.exit_code == 0, r.output
    assert "iop_reader:***@" in "".join(r.output.split())
    _assert_no_password(r.output, "iopkit validate output")
    bad = runner.invoke(app, ["validate", _reader_url(server, "clinic", password=PW)])
    assert bad.exit_code == 1 and "permission denied" in bad.output
    _assert_no_password(bad.output, "iopkit validate error")

    out = tmp_path / "reports"
    refused = runner.invoke(app, ["report", "cohort_outcomes", "-o", str(out), "-p",
                                  f"data_source={_reader_url(server, password=PW)}",
                                  "-p", "cohort_id=C01"])  # fmt: skip
    assert refused.exit_code == 1, refused.output
    assert "password" in refused.output and "connection:NAME" in "".join(refused.output.split())
    _assert_no_password(refused.output, "the refused report's message")

    r = runner.invoke(app, ["report", "cohort_outcomes", "-o", str(out), "-p",
                            "data_source=connection:clinic", "-p", "cohort_id=C01"])  # fmt: skip
    assert r.exit_code == 0, r.output
    _assert_no_password(r.output, "iopkit report output")
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "figures.json" for p in files) and any(p.suffix == ".ipynb" for p in files)
    for p in files:
        _assert_no_password(p.read_bytes().decode("utf-8", "replace"), str(p))
    nb = next(p for p in files if p.suffix == ".ipynb")
    assert "connection:clinic" in nb.read_text(encoding="utf-8")
    figures = json.loads(next(p for p in files if p.name == "figures.json").read_text())
    assert figures  # the report recorded its key figures from the database


def test_export_from_postgres_to_a_folder_and_synth_refuses_nothing_silently(
    db, connections, tmp_path
) -> None:
    out = tmp_path / "copy"
    r = runner.invoke(app, ["export", "connection:clinic", "--out", str(out)])
    assert r.exit_code == 0, r.output
    result = validate_bundle(load_bundle(out))
    pd.testing.assert_frame_equal(_counts(result)[COUNT_COLUMNS[2:]],
                                  db["folder_counts"][COUNT_COLUMNS[2:]])  # fmt: skip
    r = runner.invoke(app, ["synth", "--out", "connection:clinic", "--defects"])
    assert r.exit_code == 1 and "--defects" in r.output
    assert not any(p.name.startswith("connection") for p in Path.cwd().iterdir())
