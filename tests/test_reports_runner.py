"""One report: execution, HTML without code, key figures, atomic publish, failures kept."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from iopkit.errors import InputError, SetupError
from iopkit.reports.engine import atomic, kernel
from iopkit.reports.engine.runner import KernelStartError, ReportError, report_name, run_report

TINY = Path(__file__).parent / "fixtures" / "reports" / "tiny.ipynb"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_report_is_published_with_html_figures_and_owner_only_modes(tmp_path: Path) -> None:
    res = run_report(TINY, {"cohort_id": "007", "weeks": "3"}, tmp_path / "out", from_text=True)
    folder = Path(res.path)
    assert res.status == "ok" and folder == tmp_path / "out" / "tiny--cohort_id=007--weeks=3"
    assert sorted(p.name for p in folder.iterdir()) == [
        "export.txt", "figures.json", "report.html", "report.ipynb",
    ]
    # the notebook's export went into the published folder; "007" stayed a string
    assert (folder / "export.txt").read_text() == "007"
    figures = json.loads((folder / "figures.json").read_text())
    assert figures["figures"] == {"cohort_id": "007", "weeks": 3}
    assert figures["parameters"] == {"cohort_id": "007", "weeks": 3}
    html = (folder / "report.html").read_text()
    assert "cohort 007: 3 weeks from 2026-01-05" in html  # the output is there
    assert "time.sleep(sleepy)" not in html  # the code is not
    assert "application/vnd.iopkit.figures+json" not in html
    assert _mode(tmp_path / "out") == 0o700 and _mode(folder) == 0o700
    assert {_mode(p) for p in folder.iterdir()} == {0o600}
    # no temporary folders left behind
    assert [p.name for p in (tmp_path / "out").iterdir()] == [folder.name]


def test_failed_run_keeps_notebook_and_error_and_leaves_good_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    good = run_report(TINY, {"cohort_id": "C9"}, out, name="c9")
    before = (Path(good.path) / "report.html").read_bytes()
    with pytest.raises(ReportError, match="broken cohort C9") as info:
        run_report(TINY, {"cohort_id": "C9", "fail": True}, out, name="c9")
    # the message names the template's cell and line (papermill's injected cell not counted)
    assert "failed in cell 3 (id 'b0203abd'), line 8: raise RuntimeError(" in str(info.value)
    res = info.value.result
    assert (res.error["cell"], res.error["line"]) == (3, 8)
    assert res.status == "failed" and Path(res.path) == out / "failed" / "c9"
    error = json.loads((out / "failed" / "c9" / "error.json").read_text())
    assert error["error"]["ename"] == "RuntimeError"
    assert error["error"]["kernel_start"] is False
    assert (out / "failed" / "c9" / "report.ipynb").is_file()
    assert (Path(good.path) / "report.html").read_bytes() == before
    assert _mode(out / "failed" / "c9" / "error.json") == 0o600
    # a later successful run clears the failure record
    run_report(TINY, {"cohort_id": "C9"}, out, name="c9")
    assert not (out / "failed" / "c9").exists()


def test_bad_parameters_run_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown parameter"):
        run_report(TINY, {"cohort": "C1"}, tmp_path / "out")
    with pytest.raises(InputError, match="set by the runner"):
        run_report(TINY, {"output_dir": "/tmp"}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_kernel_is_this_environments_python() -> None:
    argv = kernel.kernel_argv("python3")
    exe = Path(argv[0])
    assert exe.name.startswith("python")
    if exe.is_absolute():
        assert Path(sys.prefix).absolute() in exe.absolute().parents
    with pytest.raises(SetupError, match="no Jupyter kernel named 'nope'"):
        kernel.kernel_argv("nope")


def test_foreign_kernelspec_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "system", "language": "python"})
    )
    monkeypatch.setattr(kernel, "project_kernel_dirs", lambda: [str(tmp_path / "kernels")])
    with pytest.raises(SetupError, match="not this environment's Python"):
        kernel.kernel_argv("python3")


def test_kernel_that_never_starts_is_reported_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "kernels" / "dead"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", "import sys; sys.exit(3)", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "dead", "language": "python"})
    )
    monkeypatch.setattr(kernel, "project_kernel_dirs", lambda: [str(tmp_path / "kernels")])
    with pytest.raises(KernelStartError) as info:
        run_report(TINY, {}, tmp_path / "out", kernel="dead", start_timeout=10)
    assert info.value.result.error["kernel_start"] is True
    assert (tmp_path / "out" / "failed" / "tiny" / "error.json").is_file()


def test_report_name_leaves_out_paths() -> None:
    name = report_name("x/cohort_outcomes.ipynb", {"data_source": "/srv/a", "cohort_id": "C1"})
    assert name == "cohort_outcomes--cohort_id=C1"


def test_recover_restores_report_after_crash_between_renames(tmp_path: Path) -> None:
    """Simulates a crash after `final → .old-…` and before `tmp → final`."""
    dead_pid = 2**22 + 12345  # above the default pid_max: never a live process
    old = tmp_path / f".old-rep-{dead_pid}-0123abcd"
    old.mkdir()
    (old / "report.html").write_text("last week")
    tmp = tmp_path / f".tmp-rep2-{dead_pid}-0123abcd"
    tmp.mkdir()
    actions = atomic.recover(tmp_path)
    assert (tmp_path / "rep" / "report.html").read_text() == "last week"
    assert not tmp.exists() and len(actions) == 2


def test_recover_leaves_live_writers_alone(tmp_path: Path) -> None:
    live = tmp_path / f".tmp-rep-{os.getpid()}-0123abcd"
    live.mkdir()
    assert atomic.recover(tmp_path) == [] and live.exists()


def test_failure_names_the_notebook_line_not_the_library_line(tmp_path: Path) -> None:
    """An error raised deep inside a library names the notebook cell and line that called it
    (the first ``Cell In[n], line m`` frame of IPython's traceback)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    params = new_code_cell('source: str = "{bad"  # text to parse')
    params.metadata["tags"] = ["parameters"]
    body = new_code_cell("import json\n\nvalue = 1\nparsed = json.loads(source)\nprint(parsed)")
    body["id"] = "parse"
    nb = new_notebook(
        cells=[new_markdown_cell("# Parse"), params, new_code_cell("x = 1"), body],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}},
    )
    path = tmp_path / "parse.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ReportError) as info:
        run_report(path, {"source": "{still bad"}, tmp_path / "out")
    message = str(info.value)
    assert "in cell 4 (id 'parse'), line 4: parsed = json.loads(source)" in message
    assert "JSONDecodeError" in message
    error = json.loads((tmp_path / "out" / "failed" / "parse--source=_still_bad" /
                        "error.json").read_text())["error"]
    assert error["cell_id"] == "parse" and error["source_line"] == "parsed = json.loads(source)"


def _run_cells(tmp_path: Path, sources: list[str], *, params_at: int = 0) -> Any:
    """Run code cells ``sources`` as a report, with a parameters cell (``n: int = 1``) at
    position ``params_at``; returns the executed notebook."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    params = new_code_cell("n: int = 1")
    params.metadata["tags"] = ["parameters"]
    cells = [new_code_cell(src) for src in sources]
    cells.insert(params_at, params)
    nb = new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})  # fmt: skip
    path = tmp_path / "cells.ipynb"
    nbformat.write(nb, path)
    run_report(path, {}, tmp_path / "out")
    return nbformat.read(next((tmp_path / "out").rglob("*.ipynb")), 4)


def test_report_kernel_freezes_what_each_cell_leaves(tmp_path: Path) -> None:
    """The runner's kernels load ``cellgc``: after a cell, its long-lived objects (here the
    imports) are frozen out of the cyclic collector's walks, and the cell's fresh cyclic
    garbage is collected first, not frozen."""
    out = _run_cells(tmp_path, [
        "import gc, weakref\nimport pandas\n\n\nclass Node:\n    pass\n\n\n"
        "a = Node()\na.self = a\nprobe = weakref.ref(a)\ndel a",
        "print(gc.get_freeze_count() > 10_000, probe() is None)",
    ])
    assert "".join(o.get("text", "") for o in out.cells[-1].outputs).strip() == "True True"


def test_report_kernel_freezes_its_start_before_the_first_cell(tmp_path: Path) -> None:
    """What the kernel built at its start is frozen before the first cell runs (a report's
    first cell is usually its imports); without it, nothing is frozen until that cell ends."""
    out = _run_cells(tmp_path, ["import gc\nprint(gc.get_freeze_count() > 1_000)"],
                     params_at=1)
    printed = ["".join(o.get("text", "") for o in c.outputs).strip() for c in out.cells]
    assert [p for p in printed if p] == ["True"]


def test_kernel_event_hooks_run_once_before_and_after_each_cell() -> None:
    """``before_first_cell`` unregisters itself: later cells are not frozen twice."""
    import gc

    from IPython.core.events import EventManager

    from iopkit.reports.engine import cellgc

    class Shell:
        def showtraceback(self) -> None:
            raise AssertionError("a hook failed")

    events = EventManager(Shell(), {"pre_run_cell": None, "post_run_cell": None})
    shell = type("IP", (), {"events": events})()
    cellgc.load_ipython_extension(shell)
    assert len(events.callbacks["pre_run_cell"]) == 1
    try:
        events.trigger("pre_run_cell", None)
        assert events.callbacks["pre_run_cell"] == []
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_after_cell_collects_young_cycles_then_freezes() -> None:
    import gc
    import weakref

    from iopkit.reports.engine.cellgc import after_cell

    class Node:
        pass

    a = Node()
    a.self = a
    probe = weakref.ref(a)
    del a
    try:
        after_cell()
        assert probe() is None and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


class _FakeStream:
    """The parts of ipykernel's ``OutStream`` that ``streams.skip_idle_flushes`` reads."""

    def __init__(self) -> None:
        self._flush_pending = False
        self._subprocess_flush_pending = False
        self.pub_thread = object()
        self.round_trips = 0
        self.sends = 0

    def flush(self) -> None:  # the original: a round trip to the IO thread, which sends
        self.round_trips += 1
        self._flush()

    def _flush(self) -> None:
        self.sends += 1
        self._flush_pending = False


def test_idle_flush_returns_at_once_and_a_pending_one_goes_through() -> None:
    from iopkit.reports.engine.streams import skip_idle_flushes

    s = _FakeStream()
    assert skip_idle_flushes(s) is True
    assert skip_idle_flushes(s) is False  # already wrapped: not wrapped twice
    s.flush()
    assert (s.round_trips, s.sends) == (0, 0)  # nothing written: no round trip
    s._flush_pending = True  # text written, not yet sent
    s.flush()
    assert (s.round_trips, s.sends) == (1, 1) and s._flush_pending is False
    s._subprocess_flush_pending = True  # a forked child's text on its way
    s.flush()
    assert s.round_trips == 2
    assert skip_idle_flushes(object()) is False  # not an OutStream: left alone


def test_flush_while_the_io_thread_sends_still_waits() -> None:
    """A flush running in the IO thread has cleared ``_flush_pending`` before its message is
    queued: a flush asked meanwhile must wait for it, or a display could overtake the text."""
    import threading

    from iopkit.reports.engine.streams import skip_idle_flushes

    s = _FakeStream()
    started, release = threading.Event(), threading.Event()
    original_send = _FakeStream._flush.__get__(s)

    def slow_send() -> None:
        original_send()
        started.set()
        release.wait(5)

    s._flush = slow_send
    skip_idle_flushes(s)
    s._flush_pending = True
    io = threading.Thread(target=s._flush)  # what the IO thread's timer runs
    io.start()
    assert started.wait(5)
    assert s._flush_pending is False
    release_later = threading.Timer(0.05, release.set)
    release_later.start()
    s.flush()  # under way in the IO thread: a real round trip
    io.join(5)
    assert s.round_trips == 1


def test_report_kernel_keeps_the_order_of_printed_text_and_displays(tmp_path: Path) -> None:
    """With idle flushes skipped (``streams``), text printed before a display still comes
    before it — printed just before, or long enough before that the IO thread's timer is
    sending it — and stdout, stderr and displays interleave as written."""
    body = (
        "import sys, time\n"
        "from IPython.display import HTML, display\n"
        "print('installed', getattr(sys.stdout, '_iopkit_idle_flush', False))\n"
        "for i in range(30):\n"
        "    print(f'out {i}')\n"
        "    if i % 3 == 0:\n"
        "        print(f'err {i}', file=sys.stderr)\n"
        "    if i % 7 == 0:\n"
        "        time.sleep(0.21)  # the stream's timer flush (0.2 s) is due\n"
        "    display(HTML(f'<p>display {i}</p>'))\n"
    )
    out = _run_cells(tmp_path, [body, "display(HTML('x'))"])
    cell = next(c for c in out.cells if "range(30)" in c.source)
    seen: list[str] = []
    for o in cell.outputs:
        if o.output_type == "stream":
            seen += [f"{o.name}:{line}" for line in o.text.splitlines()]
        else:
            seen.append(f"display:{o.data['text/html']}")
    expected = ["stdout:installed True"]
    for i in range(30):
        expected.append(f"stdout:out {i}")
        if i % 3 == 0:
            expected.append(f"stderr:err {i}")
        expected.append(f"display:<p>display {i}</p>")
    assert seen == expected


def test_record_all_is_one_output_in_order_and_checks_every_figure_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import math

    import IPython.display
    import nbformat

    from iopkit.reports import record, record_all
    from iopkit.reports.engine.figures import MIMETYPE, read_figures

    shown: list = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    record_all({"n_admissions": 14, "completion_pct": math.nan, "labels": ["a", "b"]})
    assert shown == [{MIMETYPE: {"n_admissions": 14, "completion_pct": None,
                                 "labels": ["a", "b"]}}]
    assert list(shown[0][MIMETYPE]) == ["n_admissions", "completion_pct", "labels"]
    record("n_admissions", 15)
    record_all({})  # nothing to record: no output
    assert len(shown) == 2
    with pytest.raises(TypeError, match="'rows'"):
        record_all({"ok": 1, "rows": object()})  # a bad figure: nothing of it is displayed
    with pytest.raises(ValueError, match="non-empty string"):
        record_all({"": 1})
    assert len(shown) == 2
    cell = nbformat.v4.new_code_cell()
    cell.outputs = [nbformat.v4.new_output("display_data", data=d) for d in shown]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert read_figures(nb) == {"n_admissions": 15, "completion_pct": None, "labels": ["a", "b"]}
