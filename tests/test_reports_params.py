"""Parameter checks of the report runner (no kernel needed).

Reproduces two papermill pitfalls (https://github.com/nteract/papermill):
unknown names only warn in papermill (PR #701) and ``-p cohort 007`` becomes the int 7
(issue #55); iopkit refuses the first and keeps "007" a string.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from iopkit.errors import ConfigError, InputError
from iopkit.privacy import is_direct_identifier
from iopkit.reports.engine.params import (
    declared_parameters,
    parse_cli_pairs,
    validate_parameters,
)

TINY = Path(__file__).parent / "fixtures" / "reports" / "tiny.ipynb"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _notebook(tmp_path: Path, *sources: str, tag_all: bool = True) -> Path:
    cells = []
    for src in sources:
        cell = new_code_cell(src)
        if tag_all:
            cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC}), path)
    return path


def test_declared_parameters_of_fixture() -> None:
    specs = declared_parameters(TINY)
    assert specs["cohort_id"].type_name == "str" and specs["cohort_id"].default == "C01"
    assert specs["weeks"].type_name == "int"
    assert specs["start_date"].is_date and not specs["cohort_id"].is_date


def test_optional_parameters(tmp_path: Path) -> None:
    path = _notebook(tmp_path, 'episode_id: "Optional[str]" = None  # optional ID\n')
    spec = declared_parameters(path)["episode_id"]
    assert spec.optional and spec.type_name == "str"
    assert validate_parameters(path, {"episode_id": "none"}, from_text=True) == {"episode_id": None}
    assert validate_parameters(path, {"episode_id": "E1"}) == {"episode_id": "E1"}


def test_unknown_parameter_is_refused_with_suggestion() -> None:
    with pytest.raises(InputError, match="unknown parameter 'wekks'.*did you mean 'weeks'"):
        validate_parameters(TINY, {"wekks": "3"}, from_text=True)


def test_leading_zeros_stay_a_string_when_default_is_str() -> None:
    """papermill coerces `-p cohort 007` to 7 (#55); typed by the default it stays "007"."""
    out = validate_parameters(TINY, {"cohort_id": "007", "weeks": "3"}, from_text=True)
    assert out == {"cohort_id": "007", "weeks": 3}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"weeks": "3.5"}, "declared int"),
        ({"weeks": "three"}, "declared int"),
        ({"fail": "maybe"}, "declared bool"),
        ({"start_date": "2026-13-01"}, "ISO date"),
        ({"start_date": "5 Jan 2026"}, "ISO date"),
        ({"ratio": "x"}, "declared float"),
    ],
)
def test_text_values_are_checked_by_declared_type(params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        validate_parameters(TINY, params, from_text=True)


def test_text_coercions() -> None:
    out = validate_parameters(
        TINY,
        {"fail": "yes", "ratio": "0.25", "end_date": "", "start_date": "2026-02-02"},
        from_text=True,
    )
    assert out == {"fail": True, "ratio": 0.25, "end_date": "", "start_date": "2026-02-02"}


def test_typed_values_must_match() -> None:
    # YAML `cohort_id: 007` arrives as the int 7: refused, with the advice to quote it
    with pytest.raises(InputError, match="quote it"):
        validate_parameters(TINY, {"cohort_id": 7})
    with pytest.raises(InputError, match="declared int"):
        validate_parameters(TINY, {"weeks": True})
    with pytest.raises(InputError, match="None is not allowed"):
        validate_parameters(TINY, {"weeks": None})
    assert validate_parameters(TINY, {"ratio": 1}) == {"ratio": 1.0}


def test_data_frames_and_large_values_are_refused() -> None:
    with pytest.raises(InputError, match="IDs and paths only"):
        validate_parameters(TINY, {"cohort_id": pd.DataFrame({"a": [1]})})
    with pytest.raises(InputError, match="IDs and paths only"):
        validate_parameters(TINY, {"cohort_id": np.arange(3)})
    with pytest.raises(InputError, match="characters long"):
        validate_parameters(TINY, {"cohort_id": "x" * 600})


def test_identifier_like_parameter_names_are_refused(tmp_path: Path) -> None:
    path = _notebook(tmp_path, 'patient_name: str = "x"\n')
    with pytest.raises(ConfigError, match="direct identifier"):
        declared_parameters(path)


def test_exactly_one_parameters_cell(tmp_path: Path) -> None:
    path = _notebook(tmp_path, "a: int = 1\n", "b: int = 2\n")
    with pytest.raises(ConfigError, match="exactly one cell tagged 'parameters'"):
        declared_parameters(path)


def test_lines_papermill_cannot_read_are_refused(tmp_path: Path) -> None:
    # papermill's PARAMETER_PATTERN does not understand `str | None`: the parameter would be
    # invisible to inspect_notebook and escape every check
    path = _notebook(tmp_path, "y: str | None = None\n")
    with pytest.raises(ConfigError, match="cannot read parameter"):
        declared_parameters(path)


def test_none_default_needs_a_type(tmp_path: Path) -> None:
    path = _notebook(tmp_path, "y = None\n")
    with pytest.raises(ConfigError, match="without a type"):
        declared_parameters(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("patient_name", True), ("mrn", True), ("date_of_birth", True), ("dob", True),
        ("email", True), ("phone_number", True), ("home_address", True),
        ("patient_id", False), ("episode_id", False), ("cohort_id", False),
        ("program_name", False), ("birth_year", False), ("skill_name", False),
        ("weekday_name", False),
    ],
)
def test_identifier_pattern(name: str, expected: bool) -> None:
    """HIPAA Safe Harbor identifiers (45 CFR 164.514(b)(2)) vs pseudonymous IDs: report
    parameters and output headers go through the one rule of iopkit.privacy."""
    assert is_direct_identifier(name) is expected


def test_parse_cli_pairs() -> None:
    assert parse_cli_pairs(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(InputError, match="key=value"):
        parse_cli_pairs(["novalue"])
