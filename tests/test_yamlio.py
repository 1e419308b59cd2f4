"""The one YAML loader (iopkit/yamlio.py): lines, key paths, duplicates, bombs, special files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from iopkit.errors import ConfigError
from iopkit.yamlio import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    _shape_problem,
    did_you_mean,
    key_path,
    load_model,
    load_yaml,
    read_yaml,
    validate_model,
)


class _Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weeks: int
    label: str = ""


class _Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    parts: list[_Inner]


def test_lines_and_key_paths() -> None:
    doc, problems = read_yaml("id: x\nparts:\n  - weeks: 1\n  - weeks: 2\n    label: b\n", file="f")
    assert not problems and doc is not None
    assert doc.line_of(("parts", 1, "label")) == 5
    assert doc.line_of(("parts", 7)) == 2  # nearest existing parent
    assert key_path(("parts", 1, "label")) == "parts[1].label"


def test_dates_stay_text() -> None:
    doc, _ = read_yaml("start: 2025-01-06\n", file="f")
    assert doc.data == {"start": "2025-01-06"}


def test_duplicate_keys_refused_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("a: 1\nb:\n  c: 1\n  c: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"s.yaml:4 b.c: key 'c' appears twice .*lines 3 and 4"):
        load_yaml(path, what="schedule")


def test_pydantic_problems_have_line_and_hint() -> None:
    text = "id: x\nparts:\n  - weeks: 1\n    lable: a\n  - weeks: many\n"
    doc, _ = read_yaml(text, file="p.yaml")
    obj, problems = validate_model(_Outer, doc)
    assert obj is None
    text = [str(p) for p in problems]
    assert any(t.startswith("p.yaml:4 parts[0].lable: unknown key 'lable' (did you mean 'label'?)")
               for t in text), text
    assert any(t.startswith("p.yaml:5 parts[1].weeks:") and "'many'" in t for t in text), text
    assert did_you_mean("wekks", ["weeks"]) == " (did you mean 'weeks'?)"
    assert did_you_mean("zzz", ["weeks"]) == ""


def test_alias_bomb_refused_fast() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    start = time.perf_counter()
    doc, problems = read_yaml("\n".join(lines), file="bomb.yaml")
    assert doc is None and "alias bomb" in problems[0].message
    assert time.perf_counter() - start < 1.0  # refused before anything walks the expansion


def test_small_aliases_are_fine() -> None:
    doc, problems = read_yaml("base: &b {weeks: 1}\nother: *b\n", file="f")
    assert not problems and doc.data["other"] == {"weeks": 1}


def test_recursion_and_depth_refused() -> None:
    assert "refers to itself" in read_yaml("a: &a [*a]\n", file="f")[1][0].message
    levels = MAX_DEPTH + 2
    deep = "".join("  " * i + f"k{i}:\n" for i in range(levels)) + "  " * levels + "x"
    doc, problems = read_yaml(deep, file="f")
    assert doc is None and "deeper than" in problems[0].message


def test_a_document_without_aliases_is_held_to_the_same_limits() -> None:
    """Alias-free text (no ``*``) is checked in one level-by-level pass: the depth and node
    limits are the full walk's, to the node (the full walk then names the problem)."""
    at_limit = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH - 1)) + "  " * (
        MAX_DEPTH - 1) + "x"
    doc, problems = read_yaml(at_limit, file="f")  # MAX_DEPTH levels of nodes: accepted
    assert doc is not None and not problems
    assert _shape_problem(doc.node, "f", at_limit) is None is _shape_problem(doc.node, "f")
    many = MAX_EXPANDED_NODES  # a mapping, its key, a list and its items: 3 nodes + items
    doc, problems = read_yaml("k: [" + "0, " * (many - 3) + "]", file="f")
    assert doc is not None and not problems
    doc, problems = read_yaml("k: [" + "0, " * (many - 2) + "]", file="f")
    assert doc is None and "expands to more than" in problems[0].message


def test_syntax_error_names_line() -> None:
    doc, problems = read_yaml("a: 1\nb: [1, 2\n", file="f.yaml")
    assert doc is None and problems[0].line is not None
    assert "YAML syntax error" in problems[0].message


def test_top_level_must_be_a_mapping() -> None:
    assert "expected a mapping" in read_yaml("- a\n- b\n", file="f")[1][0].message
    doc, problems = read_yaml("- a\n", file="f", top=None)
    assert doc.data == ["a"] and not problems


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_named_pipe_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_yaml(fifo, what="schedule")


def test_not_utf8_and_missing(tmp_path: Path) -> None:
    bad = tmp_path / "b.yaml"
    bad.write_bytes(b"a: \xff\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_yaml(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "none.yaml")


def test_load_model(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("id: x\nparts:\n  - weeks: 3\n", encoding="utf-8")
    assert load_model(_Outer, path).parts[0].weeks == 3
    path.write_text("id: x\nparts:\n  - week: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"m.yaml:3 parts\[0\].week: unknown key"):
        load_model(_Outer, path, what="test file")
