"""The command line's conventions, over EVERY command of the Typer app (docs/cli.md).

The command list comes from the app itself, so a new command is covered automatically:
usage errors exit 2, the output options exist, no short option has two meanings; and a new
command without a bad-input case or a JSON case below fails `test_every_command_has_cases`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from iopkit import __version__
from iopkit.cli import app

runner = CliRunner()
PHQ = [f"phq9_{i}" for i in range(1, 10)]
PROGRAM = "adult_mood_anxiety_3d"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _walk(cmd, path: tuple[str, ...] = ()):
    """(path, click command) for every command; a group that runs by itself counts too."""
    sub = getattr(cmd, "commands", None)
    if sub is None:
        yield path, cmd
        return
    if path and getattr(cmd, "invoke_without_command", False):
        yield path, cmd
    for name, child in sorted(sub.items()):
        yield from _walk(child, (*path, name))


COMMANDS = dict(_walk(typer.main.get_command(app)))
NAMES = [" ".join(p) for p in COMMANDS]


def invoke(args: list[object]):
    result = runner.invoke(app, [str(a) for a in args])
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"uncaught {exc!r}\n{result.output}"
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Small inputs shared by the cases: responses, a tiny bundle, a sessions table."""
    root = tmp_path_factory.mktemp("cli")
    responses = root / "phq.csv"
    responses.write_text(",".join(["id", *PHQ]) + "\n" + "1," + ",".join(["1"] * 9) + "\n")
    bundle = root / "bundle"
    res = invoke(["synth", "--out", bundle, "--cohorts", 1, "--per-cohort", 3, "-q"])
    assert res.exit_code == 0, res.output
    empty = root / "empty.yaml"
    empty.write_text("")
    a_file = root / "a_file.txt"
    a_file.write_text("x")
    return {"responses": responses, "bundle": bundle, "sessions": bundle / "sessions.csv",
            "empty": empty, "root": root, "a_file": a_file}  # fmt: skip


# bad input or an unknown id → exit 1 (None: the command reads no input)
BAD = {
    "version": None,
    "scales": None,
    "scales show": lambda f: ["scales", "show", "nope"],
    "score": lambda f: ["score", f["responses"], "--scale", "nope", "-o", f["root"] / "o.csv"],
    "curriculum validate": lambda f: ["curriculum", "validate", f["root"] / "missing"],
    "curriculum list": lambda f: ["curriculum", "list", "--program", "nope"],
    "curriculum show": lambda f: ["curriculum", "show", "no.such.skill"],
    "agenda": lambda f: ["agenda", "-p", PROGRAM, "-d", "2026-01-05", "--skill", "nope"],
    "plan": lambda f: ["plan", "-p", "nope", "--start", "2026-01-05", "-o", f["root"] / "p"],
    "coverage": lambda f: ["coverage", f["root"] / "missing.csv", "-p", PROGRAM],
    "validate": lambda f: ["validate", f["root"] / "missing"],
    "synth": lambda f: ["synth", "--out", f["root"] / "x.xlsx", "--format", "csv"],
    "report": lambda f: ["report", "/etc/passwd", "-o", f["root"] / "r"],
    "run": lambda f: ["run", f["empty"]],
    "demo": lambda f: ["demo", "-o", f["a_file"], "--no-progress"],
    "profile init": lambda f: ["profile", "init", f["root"] / "missing"],
    "export": lambda f: ["export", f["root"] / "missing", "-o", f["root"] / "copy"],
    "fhir export": lambda f: ["fhir", "export", f["root"] / "nope", "-o", f["root"] / "o.ndjson"],
}

# a successful run with --json, and the keys its document must hold (beside "schema")
JSON = {
    "version": (lambda f: ["version"], {"version", "python"}),
    "scales": (lambda f: ["scales"], {"scales"}),
    "scales show": (lambda f: ["scales", "show", "phq9"], {"id", "scale"}),
    "score": (
        lambda f: ["score", f["responses"], "-s", "phq9", "-o", f["root"] / "scored.csv"],
        {"file", "rows", "scales", "safety_flags", "out"},
    ),
    "curriculum validate": (
        lambda f: ["curriculum", "validate"],
        {"ok", "errors", "warnings", "problems", "skills", "programs"},
    ),
    "curriculum list": (lambda f: ["curriculum", "list", "-p", PROGRAM], {"count", "skills"}),
    "curriculum show": (lambda f: ["curriculum", "show", PROGRAM], {"kind", "id", "program"}),
    "agenda": (
        lambda f: ["agenda", "-p", PROGRAM, "-d", "2026-01-05", "--skill", "dbt.dt.tip"],
        {"program", "date", "skill", "segments"},
    ),
    "plan": (
        lambda f: ["plan", "-p", PROGRAM, "--start", "2026-11-02", "--weeks", 4,
                   "--cohort", "C01", "--time-limit", 5, "-o", f["root"] / "plan"],
        {"ok", "program", "cohort", "time_zone", "sessions", "share_fully_covered", "files"},
    ),  # fmt: skip
    "coverage": (
        lambda f: ["coverage", f["sessions"], "-p", PROGRAM],
        {"file", "program", "admission_dates", "summary"},
    ),
    "validate": (
        lambda f: ["validate", f["bundle"]],
        {"ok", "source", "rejected", "tables", "problems"},
    ),
    "synth": (
        lambda f: ["synth", "-o", f["root"] / "s2", "--cohorts", 1, "--per-cohort", 2],
        {"out", "format", "tables"},
    ),
    "report": (lambda f: ["report", "--list"], {"templates"}),
    "run": None,  # runs a notebook: test_report_and_run_print_their_json_summaries
    "demo": None,  # the same summary as run (cli/report.py _summary_and_exit), minutes long
    "profile init": (lambda f: ["profile", "init", f["bundle"]], {"source", "out", "draft"}),
    "export": (
        lambda f: ["export", f["bundle"], "-o", f["root"] / "copy"],
        {"source", "out", "format", "tables", "rejected"},
    ),
    "fhir export": (
        lambda f: ["fhir", "export", f["bundle"], "-o", f["root"] / "obs.ndjson"],
        {"source", "out", "resources", "rejected", "scales"},
    ),
}
TINY = Path(__file__).parent / "fixtures" / "reports" / "tiny.ipynb"


def test_every_command_has_cases() -> None:
    """A command added to the app needs a bad-input and a JSON case here (None = none)."""
    assert set(NAMES) == set(BAD), set(NAMES) ^ set(BAD)
    assert set(NAMES) == set(JSON), set(NAMES) ^ set(JSON)


@pytest.mark.parametrize("name", NAMES)
def test_usage_errors_exit_2(name: str) -> None:
    res = invoke([*name.split(), "--no-such-option"])
    assert res.exit_code == 2, res.output
    assert "No such option" in res.output


@pytest.mark.parametrize("name", NAMES)
def test_every_command_has_the_output_options(name: str) -> None:
    opts = {o for p in COMMANDS[tuple(name.split())].params for o in p.opts}
    assert {"--json", "--quiet", "-q", "--verbose", "-v"} <= opts


@pytest.mark.parametrize("name", [n for n in NAMES if BAD[n] is not None])
def test_bad_input_exits_1_with_a_json_error_document(name: str, files) -> None:
    args = BAD[name](files)
    res = invoke(args)
    assert res.exit_code == 1, res.output
    assert "error" in res.output
    assert "root:x:0:0" not in res.output  # never a file's contents (iopkit report /etc/passwd)
    res = invoke([*args, "--json"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    own = f"iopkit.{name.replace(' ', '.')}/1"
    if doc["schema"] == own:  # a checker (validate, curriculum validate) reports its findings
        assert doc["ok"] is False
        return
    assert doc["schema"] == "iopkit.error/1"
    assert doc["command"] == name.replace(" ", ".") and doc["exit_code"] == 1
    assert doc["message"] and "root:x:0:0" not in doc["message"]


@pytest.mark.parametrize("name", [n for n in NAMES if JSON[n] is not None])
def test_json_documents_parse_with_their_schema(name: str, files) -> None:
    make_args, keys = JSON[name]
    res = invoke([*make_args(files), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # stdout is exactly one JSON document
    schema = ("report.list" if name == "report" else name.replace(" ", ".")) + "/1"
    assert doc["schema"] == f"iopkit.{schema}"
    assert keys <= set(doc), keys - set(doc)
    assert f"`iopkit.{schema}`" in DOCS.read_text()  # documented


def test_json_values_have_their_documented_types(files) -> None:
    res = invoke([*JSON["score"][0](files), "--json"])
    doc = json.loads(res.stdout)
    assert doc["rows"] == 1 and doc["safety_flags"] == 1  # item 9 answered 1
    (phq,) = doc["scales"]
    assert phq["id"] == "phq9" and phq["status"]["complete"] == 1 and phq["invalid"] == []
    res = invoke([*JSON["plan"][0](files), "--json"])
    doc = json.loads(res.stdout)
    assert doc["cohort"] == "C01" and doc["time_zone"] == "America/New_York"
    assert 0 <= doc["share_fully_covered"] <= 1 and isinstance(doc["sessions"], int)
    assert any(p.endswith("calendar_C01.ics") for p in doc["files"])


def test_short_options_have_one_meaning_across_the_cli() -> None:
    meanings: dict[str, set[str]] = {}
    for cmd in COMMANDS.values():
        for p in cmd.params:
            if getattr(p, "hidden", False) or p.param_type_name != "option":
                continue
            longs = [o for o in p.opts if o.startswith("--")] or [p.name]
            for short in (o for o in (*p.opts, *p.secondary_opts) if re.fullmatch(r"-\w", o)):
                meanings.setdefault(short, set()).add(longs[0])
    clashes = {s: m for s, m in meanings.items() if len(m) > 1}
    assert not clashes, clashes
    assert meanings["-o"] == {"--out"} and meanings["-p"] == {"--program"}


# renamed options: the old spelling works for one release and is hidden from --help
ALIASES = [
    (["score"], "--output", "--out"),
    (["report"], "-p", "--param"),
    (["curriculum", "list"], "-m", "--modality"),
    (["curriculum", "list"], "-w", "--wide"),
    (["curriculum", "list"], "--dir", "--curriculum"),
    (["curriculum", "show"], "--dir", "--curriculum"),
    (["agenda"], "-s", "--skill"),
    (["agenda"], "--start", "--start-time"),
    (["agenda"], "--dir", "--curriculum"),
]


@pytest.mark.parametrize(("command", "old", "new"), ALIASES)
def test_old_spellings_are_hidden_from_help(command: list[str], old: str, new: str) -> None:
    text = invoke([*command, "--help"]).output
    assert re.search(rf"(?<![\w-]){re.escape(new)}(?![\w-])", text), text
    assert not re.search(rf"(?<![\w-]){re.escape(old)}(?![\w-])", text), text


def test_old_spellings_still_work(files, tmp_path) -> None:
    new = invoke(["curriculum", "list", "--modality", "dbt", "--wide"])
    old = invoke(["curriculum", "list", "-m", "dbt", "-w"])
    assert old.exit_code == new.exit_code == 0
    assert old.stdout == new.stdout and "is deprecated" in old.output
    cur = Path(__file__).resolve().parents[1] / "curriculum"
    assert invoke(["curriculum", "show", "dbt.dt.tip", "--dir", cur]).exit_code == 0
    res = invoke(["agenda", "-p", PROGRAM, "-d", "2026-01-05", "-s", "dbt.dt.tip",
                  "--start", "10:00", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["segments"][0]["start"] == "10:00"
    out = tmp_path / "s.csv"
    res = invoke(["score", files["responses"], "-s", "phq9", "--output", out])
    assert res.exit_code == 0 and out.is_file()
    # -p still means --param for `report` (a usage error names the key given twice)
    res = invoke(["report", "cohort_outcomes", "-o", tmp_path, "-p", "cohort_id=C01",
                  "-p", "cohort_id=C02"])  # fmt: skip
    assert res.exit_code == 2 and "twice" in res.output
    # both spellings of one value: a usage error
    res = invoke(["score", files["responses"], "-s", "phq9", "-o", out, "--output", out])
    assert res.exit_code == 2


def test_version_option_and_command() -> None:
    assert invoke(["--version"]).stdout.strip() == f"iopkit {__version__}"
    assert invoke(["version"]).stdout.strip() == f"iopkit {__version__}"


def test_completion_is_installable() -> None:
    text = invoke(["--help"]).output
    assert "--install-completion" in text and "--show-completion" in text
    script = Path(sys.executable).parent / "iopkit"
    if not script.is_file():
        pytest.skip("the iopkit console script is not installed beside this Python")
    proc = subprocess.run(
        [str(script), "--show-completion"], capture_output=True, text=True, check=False,
        env={**os.environ, "SHELL": "/bin/bash"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "_IOPKIT_COMPLETE" in proc.stdout and "complete " in proc.stdout


def test_quiet_prints_errors_only_and_verbose_adds_detail(files, tmp_path) -> None:
    res = invoke(["curriculum", "validate", "-q"])
    assert res.exit_code == 0 and res.output == ""
    res = invoke(["scales", "show", "nope", "-q"])
    assert res.exit_code == 1 and "unknown scale" in res.output
    bad = tmp_path / "bad.csv"
    rows = "\n".join(f"{i}," + ",".join(["9"] * 9) for i in range(8))  # 9 is out of range
    bad.write_text(",".join(["id", *PHQ]) + "\n" + rows + "\n")
    quiet = invoke(["score", bad, "-s", "phq9", "-o", tmp_path / "o.csv"])
    loud = invoke(["score", bad, "-s", "phq9", "-o", tmp_path / "o.csv", "-v"])
    assert "3 more invalid rows" in quiet.output and "line 9:" not in quiet.output
    assert "line 9:" in loud.output  # every invalid row with --verbose


def test_score_json_needs_an_output_file(files) -> None:
    res = invoke(["score", files["responses"], "-s", "phq9", "--json"])
    assert res.exit_code == 2 and "--out" in res.output


def test_no_wrapping_when_not_on_a_terminal(tmp_path) -> None:
    """A cron log gets one line per message, however long (rich wraps at 80 otherwise)."""
    deep = tmp_path.joinpath(*(["a_rather_long_folder_name"] * 6))
    deep.mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, "-m", "iopkit", "plan", "-p", "nope", "--start", "2026-01-05",
         "-o", deep], capture_output=True, text=True, check=False, env={"PATH": "/usr/bin"},
    )  # fmt: skip
    assert proc.returncode == 1
    (line,) = [ln for ln in proc.stderr.splitlines() if "unknown program" in ln]
    assert "known programs:" in line and len(line) > 80
    proc = subprocess.run(
        [sys.executable, "-m", "iopkit", "curriculum", "validate"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    (ok,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("ok ")]
    assert ok.endswith("scales).") and len(ok) > 80


def test_report_lists_templates_and_their_parameters() -> None:
    res = invoke(["report", "--list"])
    assert res.exit_code == 0 and "curriculum_plan" in res.output
    res = invoke(["report", "curriculum_plan", "--help-params", "--json"])
    doc = json.loads(res.stdout)
    assert doc["schema"] == "iopkit.report.params/1"
    weeks = next(p for p in doc["parameters"] if p["name"] == "weeks")
    assert weeks["type"] == "int" and weeks["default"] == 6
    text = " ".join(invoke(["report", "curriculum_plan", "--help-params"]).output.split())
    assert "time_limit" in text and "float" in text and "10.0" in text
    assert invoke(["report"]).exit_code == 2  # neither TEMPLATE nor --list
    assert invoke(["report", "curriculum_plan"]).exit_code == 2  # no --out


def test_unreadable_template_messages_never_quote_the_file(tmp_path) -> None:
    for name, data in (
        ("secret.ipynb", b"SECRET-VALUE-123 not json"),
        ("schema.ipynb", b'{"cells": [{"source": "SECRET-VALUE-123"}], "nbformat": 4}'),
        ("bytes.ipynb", b'{"x": "\xff\xfeSECRET-VALUE-123"}'),
    ):
        f = tmp_path / name
        f.write_bytes(data)
        res = invoke(["report", f, "-o", tmp_path / "out"])
        assert res.exit_code == 1 and name in res.output
        assert "SECRET-VALUE-123" not in res.output, res.output


def test_docs_name_every_command() -> None:
    text = DOCS.read_text()
    for name in NAMES:
        assert f"iopkit {name}" in text, name


def test_report_and_run_print_their_json_summaries(tmp_path) -> None:
    res = invoke(["report", TINY, "-P", "weeks=3", "-o", tmp_path / "one", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["schema"] == "iopkit.report/1" and doc["ok"] is True
    assert Path(doc["html"]).is_file() and doc["duration_s"] > 0
    sched = tmp_path / "s.yaml"
    sched.write_text(
        f"out: {tmp_path / 'out'}\njobs:\n  - template: {TINY}\n    name: a\n"
        f"  - template: {TINY}\n    name: b\n    params: {{fail: true}}\n"
    )
    res = invoke(["run", sched, "--json"])
    assert res.exit_code == 1, res.output  # one report failed
    doc = json.loads(res.stdout)  # no progress bar, one document
    assert doc["schema"] == "iopkit.run/1" and doc["ok"] is False
    assert doc["counts"] == {"ok": 1, "failed": 1, "not_run": 0}
    assert {r["name"]: r["status"] for r in doc["reports"]} == {"a": "ok", "b": "failed"}
    assert Path(doc["index"]).is_file()
