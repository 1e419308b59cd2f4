"""The report header (issue 12 §5): as-of date, checksum of the data read, source label
without a password, audience marking, recorded for figures.json."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from iopkit.data.sources.synthetic import DEMO_SOURCE
from iopkit.reports.engine.figures import MIMETYPE
from iopkit.reports.views import header
from iopkit.reports.views.source import ReportData, open_source


@pytest.fixture(scope="module")
def demo() -> ReportData:
    return open_source(DEMO_SOURCE)


def _copy(data: ReportData, tables: dict) -> ReportData:
    return ReportData(data.source, tables, data.scores, data.counts, data.notes)


def _checksum_cell_by_cell(data: ReportData) -> str:
    """The canonical form of header.data_checksum written out one cell at a time."""
    import hashlib

    h = hashlib.sha256()
    for name in sorted(data.tables):
        frame = data.tables[name]
        cols = sorted(map(str, frame.columns))
        h.update(f"\x1e{name}\n{chr(9).join(cols)}\n".encode())
        rows = sorted("\t".join(header._canonical(v) for v in row)
                      for row in frame[cols].itertuples(index=False, name=None))
        h.update("\n".join(rows).encode())
    return h.hexdigest()


def test_checksum_per_distinct_value_equals_the_cell_by_cell_form(demo: ReportData) -> None:
    """Computing the canonical text once per distinct value changes nothing: the demo
    bundle, and a table whose object column mixes 1, 1.0, True, text and missing values."""
    assert header.data_checksum(demo) == _checksum_cell_by_cell(demo)
    odd = pd.DataFrame({
        "mixed": [1, 1.0, True, "1", None, float("nan"), 2.5, False],
        "when": pd.to_datetime(["2025-01-01", "2025-01-01 10:30", None, "2025-01-02"] * 2,
                               format="ISO8601"),
        "n": pd.array([1, None, 3, 3, 1, None, 0, 2], dtype="Int64"),
        "x": [0.5, -0.0, 2.0, float("nan"), 0.5, 1e20, 3.25, 2.0],
        "flag": [True, False] * 4,
    })
    data = _copy(demo, {"odd": odd})
    assert header.data_checksum(data) == _checksum_cell_by_cell(data)


def test_checksum_is_canonical_and_sensitive(demo: ReportData) -> None:
    first = header.data_checksum(demo)
    assert len(first) == 64 and first == header.data_checksum(open_source(DEMO_SOURCE))
    shuffled = {name: frame.sample(frac=1, random_state=1)[frame.columns[::-1]]
                for name, frame in reversed(list(demo.tables.items()))}
    assert header.data_checksum(_copy(demo, shuffled)) == first  # order does not matter
    changed = dict(demo.tables)
    att = changed["attendance"].copy()
    att.loc[att.index[0], "status"] = "late" if att["status"].iloc[0] != "late" else "present"
    changed["attendance"] = att
    assert header.data_checksum(_copy(demo, changed)) != first  # one cell changes it
    fewer = {**demo.tables, "goals": demo.tables["goals"].iloc[1:]}
    assert header.data_checksum(_copy(demo, fewer)) != first


def test_as_of_is_the_latest_date_in_the_data(demo: ReportData) -> None:
    latest = max(
        frame[c].max() for frame in demo.tables.values() for c in frame.columns
        if pd.api.types.is_datetime64_any_dtype(frame[c])
    )
    assert header.data_as_of(demo) == latest.date() == dt.date(2025, 4, 25)


def test_source_label_never_shows_a_password() -> None:
    label = header.source_label("postgresql://iop:s3cr@t@db.example/iop")
    assert "s3cr" not in label and "***" in label and "db.example/iop" in label
    assert header.source_label("/data/export") == "/data/export"


def test_header_is_displayed_and_recorded(demo: ReportData, monkeypatch) -> None:
    shown: list = []
    monkeypatch.setattr(header, "display", lambda obj, **kw: shown.append(obj))
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    head = header.report_header(demo, title="Cohort outcome report — C01", audience="care_team",
                                k=1, cohort="C01")
    from iopkit import __version__

    assert head["iopkit_version"] == __version__ and head["cohort"] == "C01"
    assert head["data_as_of"] == "2025-04-25" and head["period"].endswith("2025-04-25")
    assert head["data_checksum_sha256"] == header.data_checksum(demo)
    assert head["program"] and head["audience"] == "care_team"
    dt.datetime.strptime(head["generated_at"], "%Y-%m-%d %H:%M UTC")
    html = shown[0].data
    assert "Confidential — care team" in html and head["data_checksum_sha256"] in html
    recorded = [o for o in shown if isinstance(o, dict) and MIMETYPE in o]
    assert recorded and recorded[0][MIMETYPE]["header"] == head


def test_program_names_come_from_the_opened_data_when_it_has_them(monkeypatch) -> None:  # noqa: ANN001
    """A snapshot's program names are used as they are; the curriculum is read only when
    the data was opened without them."""
    from iopkit.data import catalog

    data = open_source("synthetic:demo")
    pid = str(data.tables["cohorts"]["program_id"].iloc[0])
    cid = str(data.tables["cohorts"]["cohort_id"].iloc[0])
    assert header.program_names(data, cid) == [catalog.program_names()[pid]]

    def refuse() -> dict[str, str]:
        raise AssertionError("curriculum read although the data carries the names")

    monkeypatch.setattr(catalog, "program_names", refuse)
    data.program_names = {pid: "Named by the snapshot"}
    assert header.program_names(data, cid) == ["Named by the snapshot"]
    data.program_names = None
    with pytest.raises(AssertionError, match="curriculum read"):
        header.program_names(data, cid)


def test_header_table_is_classed_as_the_export_would_class_it(demo: ReportData,
                                                              monkeypatch) -> None:  # noqa: ANN001
    """The header writes its table classed and marked, so the export leaves it alone; the
    classes are those ``export.mark_tables`` gives the same table written without them."""
    import re

    from bs4 import BeautifulSoup

    from iopkit.reports.engine.export import mark_tables
    from iopkit.reports.engine.tablecells import MARKED_ATTR

    shown: list = []
    monkeypatch.setattr(header, "display", lambda obj, **kw: shown.append(obj))
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    header.report_header(demo, title="Cohort outcome report — C01 & friends",
                         audience="aggregate", k=11, cohort="C01", start_date="2025-01-06",
                         end_date="2025-03-31")
    written = shown[0].data
    assert mark_tables(written) == written  # marked: returned as it is, not parsed
    bare = re.sub(r" data-iop-classed=''", "", written)
    bare = re.sub(r' class="[^"]*"', "", bare)  # the cells' classes
    bare = bare.replace("class='iopkit-header-table iop-small'", "class='iopkit-header-table'")
    bare = re.sub(r'<span>(.*?)</span>', r"\1", bare.replace('<span class="iop-date">', "<span>"))
    assert MARKED_ATTR not in bare and "iop-" not in bare
    exported = BeautifulSoup(mark_tables(bare), "html.parser").find("table")
    mine = BeautifulSoup(written, "html.parser").find("table")
    assert mine.get("class") == exported.get("class")
    cells = list(zip(mine.find_all(["th", "td"]), exported.find_all(["th", "td"]), strict=True))
    assert len(cells) == 18
    for a, b in cells:
        assert (a.name, a.get("class"), a.get("style")) == (b.name, b.get("class"), b.get("style"))
        assert a.decode_contents() == b.decode_contents()  # date spans and escaping alike
    assert any("iop-date" in (a.get("class") or []) for a, _ in cells)
    assert "<span class=\"iop-date\">2025-01-06</span>" in written  # a date inside text
