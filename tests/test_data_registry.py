"""The source registry (scheme/suffix -> handler) and the cross-table rule registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iopkit.data import FORMATS, load_bundle, validate_bundle, write_bundle
from iopkit.data.bundle import Bundle
from iopkit.data.catalog import scale_specs
from iopkit.data.sources import SOURCES
from iopkit.data.sources.redcap import write_redcap
from iopkit.data.sources.registry import FOLDER, ReadOptions, SourceHandler, SourceRegistry
from iopkit.data.sources.synthetic import DEMO_SETTINGS
from iopkit.data.validation import rules
from iopkit.data.validation.cells import cell_problems
from iopkit.data.validation.tables import TableState
from iopkit.errors import ConfigError, InputError, UnknownIdError
from iopkit.synth import synthesize


@pytest.fixture(scope="module")
def synth() -> Bundle:
    return synthesize(n_cohorts=1, seed=3, episodes_per_cohort=6)


# --- sources ----------------------------------------------------------------------------------
def test_every_kind_and_format_is_registered() -> None:
    assert SOURCES.kinds == (
        "folder", "excel", "sqlite", "sql", "redcap", "synthetic", "fhir", "connection"
    )  # fmt: skip
    assert FORMATS == ("csv", "parquet", "excel", "sqlite", "sql")


@pytest.mark.parametrize("fmt,name", [("csv", "dir"), ("excel", "b.xlsx"), ("sqlite", "b.db")])
def test_a_mapping_for_a_source_that_is_not_redcap_is_refused(synth, tmp_path, fmt, name) -> None:
    dest = write_bundle(synth, tmp_path / name, format=fmt)
    redcap = tmp_path / "redcap"
    write_redcap(synth, redcap)
    with pytest.raises(InputError, match="a mapping file is for a REDCap export") as err:
        load_bundle(dest, mapping=redcap / "mapping.yaml")
    assert err.value.rule == "source_kind"


def test_redcap_scheme_and_kind_name_the_export(synth, tmp_path) -> None:
    export = write_redcap(synth, tmp_path)
    mapping = tmp_path / "mapping.yaml"
    by_suffix = load_bundle(export, mapping=mapping)
    by_scheme = load_bundle(f"redcap:{export}", mapping=mapping)
    renamed = export.rename(tmp_path / "export.txt")  # not a suffix the registry knows
    by_kind = load_bundle(renamed, mapping=mapping, kind="redcap")
    for b in (by_scheme, by_kind):
        assert b.table_names == by_suffix.table_names
        for t in b.table_names:
            pd.testing.assert_frame_equal(b[t], by_suffix[t], obj=t)
    with pytest.raises(InputError, match="needs a mapping file"):
        load_bundle(f"redcap:{renamed}")
    with pytest.raises(InputError, match="unknown source kind 'nope'"):
        load_bundle(renamed, kind="nope")


def test_synthetic_demo_is_a_source() -> None:
    bundle = load_bundle("synthetic:demo")
    expected = synthesize(**DEMO_SETTINGS)
    for t in expected.table_names:
        pd.testing.assert_frame_equal(bundle[t], expected[t], obj=t)
    with pytest.raises(InputError, match="synthetic:demo") as err:
        load_bundle("synthetic:nope")
    assert err.value.rule == "source_kind"


def test_unknown_suffix_lists_every_registered_kind(tmp_path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text("{}")
    with pytest.raises(InputError) as err:
        load_bundle(path)
    assert err.value.message == (
        "unknown source kind '.json': expected a folder, .xlsx, .sqlite/.db, a SQLAlchemy URL, "
        "a REDCap .csv with a mapping, synthetic:demo, a FHIR export (fhir:PATH or .ndjson) "
        "or connection:NAME"
    )


def test_a_new_source_is_a_new_handler() -> None:
    registry = SourceRegistry()
    seen: list[tuple[str, ReadOptions]] = []

    def read(location: str, options: ReadOptions) -> Bundle:
        seen.append((location, options))
        return Bundle(tables={})

    registry.register(SourceHandler(kind="demo", keys=("demo:", ".demo"), read=read, label="x"))
    handler, location = registry.resolve("demo:abc")
    assert handler.kind == "demo" and location == "abc"
    with pytest.raises(InputError, match="source not found"):  # a drive letter is no scheme
        registry.resolve("C:/data/file.demo")
    with pytest.raises(ValueError, match="already registered"):
        registry.register(SourceHandler(kind="other", keys=(".demo",), read=read, label="y"))
    with pytest.raises(InputError, match="source not found"):
        registry.resolve("nowhere/folder")
    registry.register(SourceHandler(kind="dir", keys=(FOLDER,), read=read, label="a folder"))
    assert registry.resolve(Path.cwd())[0].kind == "dir"


# --- REDCap mappings through the project YAML loader -----------------------------------------
def test_mapping_with_a_repeated_key_is_refused_with_its_line(synth, tmp_path) -> None:
    export = write_redcap(synth, tmp_path)
    text = (tmp_path / "mapping.yaml").read_text()
    (tmp_path / "twice.yaml").write_text("record_id: a\n" + text)
    with pytest.raises(ConfigError, match="record_id.*appears twice"):
        load_bundle(export, mapping=tmp_path / "twice.yaml")


def test_mapping_shape_problems_name_the_line(synth, tmp_path) -> None:
    export = write_redcap(synth, tmp_path)
    (tmp_path / "bad.yaml").write_text(
        "record_id: record_id\ntables:\n  nosuch:\n    columns: {}\n"
    )
    with pytest.raises(InputError, match="tables.nosuch: not a bundle table") as err:
        load_bundle(export, mapping=tmp_path / "bad.yaml")
    assert err.value.row == 3 and err.value.rule == "mapping"


# --- cross-table rules ------------------------------------------------------------------------
def test_cross_rules_are_registered_by_table_in_order() -> None:
    names = {t: [r.__name__ for r in rs] for t, rs in rules.CROSS_RULES.items()}
    assert names["attendance"] == ["references", "inside_episode", "program_day"]
    assert names["assessments"] == ["references", "inside_episode", "scale_items"]
    assert names["sessions"] == ["references", "known_skill", "program_day"]
    assert names["cohorts"] == ["known_program"]
    with pytest.raises(ValueError, match="table names"):
        rules.cross_rule("nosuch")


def test_a_new_rule_is_a_new_function(synth) -> None:
    def no_monday(t: TableState, ctx: rules.RuleContext) -> None:
        monday = (t.typed["date"].dt.day_of_week == 0).to_numpy()
        rows = np.flatnonzero(monday)
        t.add(cell_problems(rows, [None] * len(rows), "no_monday", "a Monday"), "date")

    before = validate_bundle(synth)
    rules.cross_rule("attendance")(no_monday)
    try:
        after = validate_bundle(synth)
    finally:
        rules.CROSS_RULES["attendance"].remove(no_monday)
    mondays = int((before.tables["attendance"]["date"].dt.day_of_week == 0).sum())
    assert mondays and (after.problems["rule"] == "no_monday").sum() == mondays
    assert after.counts.set_index("table").at["attendance", "rejected"] == mondays
    assert before.ok and validate_bundle(synth).ok


# --- scale specs ----------------------------------------------------------------------------
def test_scale_specs_say_what_happens_to_unknown_ids() -> None:
    assert set(scale_specs(["phq9", "nosuch"])) == {"phq9"}
    with pytest.raises(UnknownIdError, match="nosuch"):
        scale_specs(["phq9", "nosuch"], unknown="raise")


def test_path_sources_are_not_mistaken_for_schemes(synth, tmp_path: Path, monkeypatch) -> None:
    write_bundle(synth, tmp_path / "site:north", format="csv")  # a colon in a folder name
    monkeypatch.chdir(tmp_path)
    assert load_bundle("site:north").table_names == synth.table_names
