"""`iopkit scales`, `iopkit scales show` and `iopkit score`: output, files, exit codes."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from iopkit.cli import app

runner = CliRunner()
PHQ = [f"PHQ9_{i}" for i in range(1, 10)]


@pytest.fixture
def responses(tmp_path):
    path = tmp_path / "phq.csv"
    path.write_text(
        "pid," + ",".join(PHQ) + "\n"
        "007,3,0,1,2,0,0,1,0,3\n"  # awell example: 10 moderate, item 9 flag
        "008,0,0,0,2,0,0,2,,0\n"  # prorated 4.5 → 5
        "009,x,0,0,0,0,0,0,0,0\n"  # invalid
        "010,N/A,0,0,0,0,0,0,0,\n"  # incomplete (item 9 missing)
    )
    return path


def test_scales_lists_registry():
    result = runner.invoke(app, ["scales"])
    assert result.exit_code == 0, result.output
    for sid in ("phq9", "gad7", "pcl5", "ocir", "pdss", "isi", "asrs", "wsas", "aaq2", "asq"):
        assert sid in result.output


def test_scales_show_prints_rules_and_sources():
    result = runner.invoke(app, ["scales", "show", "phq9"], terminal_width=200)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Critical item 9" in out and "Simon 2013" in out
    assert "10–14: moderate" in out and "Loewe 2004" in out
    assert "Little interest or pleasure" in out  # public domain: text ships


def test_scales_show_licensed_scale_has_no_text():
    result = runner.invoke(app, ["scales", "show", "isi"], terminal_width=200)
    assert result.exit_code == 0 and "item text not shipped" in result.output


def test_scales_show_unknown_is_bad_input():
    """An unknown id is bad input (exit 1, "did you mean"), as everywhere (issue 16)."""
    result = runner.invoke(app, ["scales", "show", "beck"])
    assert result.exit_code == 1 and "unknown scale" in result.output


def test_score_csv_keeps_rows_and_columns(responses, tmp_path):
    out_path = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", str(responses), "--scale", "phq9", "-o", str(out_path)])
    assert result.exit_code == 0, result.output
    assert "complete 1, prorated 1, incomplete 1, invalid 1" in result.output
    assert "safety flags 1" in result.output and "line 4" in result.output
    out = pd.read_csv(out_path, dtype={"pid": str})
    assert out["pid"].tolist() == ["007", "008", "009", "010"]  # text kept as written
    assert list(out.columns[:10]) == ["pid", *PHQ]
    assert out["phq9_total"].tolist()[:2] == [10, 5]
    assert out["phq9_band"].tolist()[:2] == ["moderate", "mild"]


def test_score_stdout_when_no_output(responses):
    result = runner.invoke(app, ["score", str(responses), "-s", "phq9"])
    assert result.exit_code == 0
    assert "phq9_total" in result.stdout


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_score_excel_and_parquet_with_explicit_items(tmp_path, suffix):
    cols = [f"DPQ0{i}0" for i in range(1, 10)]
    df = pd.DataFrame([[3, 0, 1, 2, 0, 0, 1, 0, 3], [1, 2, 2, 2, 2, 7, 0, 0, 0]], columns=cols)
    src = tmp_path / f"in{suffix}"
    df.to_excel(src, index=False) if suffix == ".xlsx" else df.to_parquet(src)
    out_path = tmp_path / f"out{suffix}"
    result = runner.invoke(
        app,
        ["score", str(src), "-s", "phq9", "--items", ",".join(cols), "--missing-codes", "7,9",
         "-o", str(out_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = pd.read_excel(out_path) if suffix == ".xlsx" else pd.read_parquet(out_path)
    assert out["phq9_status"].astype(str).tolist() == ["complete", "prorated"]
    assert out["phq9_total"].tolist() == [10, 10]


def test_score_two_scales_with_items_per_scale(tmp_path):
    src = tmp_path / "two.csv"
    a = [f"a{i}" for i in range(1, 10)]
    g = [f"g{i}" for i in range(1, 8)]
    src.write_text(",".join(a + g) + "\n" + ",".join(["1"] * 16) + "\n")
    result = runner.invoke(
        app,
        ["score", str(src), "-s", "phq9", "-s", "gad7", "--items", "phq9=" + ",".join(a),
         "--items", "gad7=" + ",".join(g), "-o", str(tmp_path / "o.csv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "o.csv")
    assert (out["phq9_total"].iloc[0], out["gad7_total"].iloc[0]) == (9, 7)


def test_missing_columns_exit_1_names_file_and_columns(responses):
    result = runner.invoke(app, ["score", str(responses), "--scale", "gad7"])
    assert result.exit_code == 1
    assert str(responses) in result.output and "gad7_1…gad7_7" in result.output
    assert "Traceback" not in result.output


def test_unreadable_and_absent_files_exit_1(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    assert runner.invoke(app, ["score", str(bad), "-s", "phq9"]).exit_code == 1
    assert runner.invoke(app, ["score", str(tmp_path / "no.csv"), "-s", "phq9"]).exit_code == 1
    odd = tmp_path / "x.json"
    odd.write_text("{}")
    result = runner.invoke(app, ["score", str(odd), "-s", "phq9"])
    assert result.exit_code == 1 and "unsupported file type" in result.output


def test_score_reads_latin1_and_names_windows1252(tmp_path):
    """CSV text is decoded like a bundle's (iopkit.data.sources.decode_bytes): Latin-1 is read
    and said so; a Windows-1252-only byte is refused with the line named."""
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        ("site," + ",".join(PHQ) + "\nMontr\xe9al," + "1," * 8 + "1\n").encode("latin-1")
    )
    out_path = tmp_path / "o.csv"
    ok = runner.invoke(app, ["score", str(latin), "-s", "phq9", "-o", str(out_path)])
    assert ok.exit_code == 0, ok.output
    assert "read as Latin-1" in ok.output
    assert pd.read_csv(out_path)["site"].tolist() == ["Montr\xe9al"]
    cp = tmp_path / "cp1252.csv"
    cp.write_bytes(("site," + ",".join(PHQ) + "\n\u2013," + "1," * 8 + "1\n").encode("cp1252"))
    bad = runner.invoke(app, ["score", str(cp), "-s", "phq9"])
    assert bad.exit_code == 1 and "Windows-1252" in bad.output and "Traceback" not in bad.output


@pytest.mark.parametrize(
    "args",
    [["-s", "phq9", "--missing-codes", "seven"], [],
     ["-s", "phq9", "-s", "gad7", "--items", "a,b"]],
)  # fmt: skip
def test_usage_errors_exit_2(responses, args):
    assert runner.invoke(app, ["score", str(responses), *args]).exit_code == 2


def test_unknown_scale_is_bad_input(responses):
    result = runner.invoke(app, ["score", str(responses), "-s", "beck"])
    assert result.exit_code == 1 and "beck" in result.output


def test_missing_codes_per_scale(tmp_path):
    src = tmp_path / "mix.csv"
    cols = [f"phq9_{i}" for i in range(1, 10)] + [f"aaq2_{i}" for i in range(1, 8)]
    src.write_text(",".join(cols) + "\n" + ",".join(["1"] * 8 + ["7"] + ["7"] * 7) + "\n")
    base = ["score", str(src), "-s", "phq9", "-s", "aaq2", "-o", str(tmp_path / "o.csv")]
    clash = runner.invoke(app, [*base, "--missing-codes", "7,9"])
    assert clash.exit_code == 1 and "valid answers on AAQ-II" in clash.output
    ok = runner.invoke(app, [*base, "--missing-codes", "phq9=7,9"])
    assert ok.exit_code == 0, ok.output
    out = pd.read_csv(tmp_path / "o.csv")
    assert out["aaq2_total"].iloc[0] == 49 and out["phq9_status"].iloc[0] == "incomplete"


@pytest.mark.parametrize("scale_id", ["phq2", "gad7", "gad2", "pcl5", "ocir", "pdss", "isi",
                                      "asrs", "wsas", "aaq2", "ders16", "asq"])  # fmt: skip
def test_scales_show_every_scale_prints_sources_literally(scale_id):
    """Sources in brackets (e.g. "[scales.md §1.8; D]") must not be eaten as rich markup."""
    result = runner.invoke(app, ["scales", "show", scale_id])
    assert result.exit_code == 0, result.output
    assert "Missing items: prorate at most" in result.output
    missing_line = next(ln for ln in result.output.splitlines() if ln.startswith("Missing items"))
    assert missing_line.rstrip().endswith("]")  # the [source; certainty] tag survived


def test_score_encoding_option_windows_1252_and_garble_guard(tmp_path) -> None:
    """A Windows-1252 file is refused with the remedy and read with --encoding cp1252; a file
    that is valid UTF-8 stays UTF-8 even then (an em dash is not garbled to 'â€”')."""
    header = b"id," + b",".join(f"phq9_{i}".encode() for i in range(1, 10)) + b"\n"
    cp = tmp_path / "cp.csv"
    cp.write_bytes(header + b"A\x96,1,1,1,1,1,1,1,1,0\n")
    r = runner.invoke(app, ["score", str(cp), "-s", "phq9", "-o", str(tmp_path / "o.csv")])
    assert r.exit_code == 1 and "--encoding cp1252" in r.output
    r = runner.invoke(
        app, ["score", str(cp), "-s", "phq9", "--encoding", "cp1252", "-o", str(tmp_path / "o.csv")]
    )
    assert r.exit_code == 0, r.output
    assert pd.read_csv(tmp_path / "o.csv")["id"].iloc[0] == "A\u2013"  # en dash, decoded
    utf = tmp_path / "utf.csv"
    utf.write_bytes(header + "A\u2014,1,1,1,1,1,1,1,1,0\n".encode())
    r = runner.invoke(
        app,
        ["score", str(utf), "-s", "phq9", "--encoding", "cp1252", "-o", str(tmp_path / "p.csv")],
    )
    assert r.exit_code == 0, r.output  # valid UTF-8 is never garbled by a forced code page
    assert pd.read_csv(tmp_path / "p.csv")["id"].iloc[0] == "A\u2014"
