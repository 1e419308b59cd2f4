"""Batches: isolation of a broken job, manifest, resume, lock, SIGKILL safety, index."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from iopkit.errors import ConfigError
from iopkit.reports.engine import batch
from iopkit.reports.engine.batch import execute_job, run_jobs, run_schedule
from iopkit.reports.engine.lock import RunLock, RunLockedError
from iopkit.reports.engine.runner import KernelStartError, ReportResult
from iopkit.reports.engine.schedule import Job, load_schedule

TINY = Path(__file__).parent / "fixtures" / "reports" / "tiny.ipynb"
REPORT_FILES = {"export.txt", "figures.json", "report.html", "report.ipynb"}


def _schedule(tmp_path: Path, jobs: list[dict], **top: object) -> Path:
    path = tmp_path / "schedule.yaml"
    path.write_text(yaml.safe_dump({"out": "out", "jobs": jobs, **top}))
    return path


def _published(out: Path) -> dict[str, set[str]]:
    """Report folders in place (hidden temp folders and failed/ excluded) → their files."""
    return {
        p.name: {f.name for f in p.iterdir()}
        for p in out.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name != "failed"
    }


@pytest.mark.slow
def test_broken_job_is_isolated_then_resume_reruns_only_it(tmp_path: Path) -> None:
    marker = tmp_path / "broken-data"
    marker.write_text("C02's data is broken")
    path = _schedule(
        tmp_path,
        [
            {
                "template": str(TINY),
                "name": "tiny-{cohort_id}",
                "for_each": {"grid": {"cohort_id": ["C01", "C02", "C03"]}},
                "params": {"cohort_id": "{cohort_id}"},
            }
        ],
        vars={"marker": str(marker)},
    )
    # C02 alone points at the marker file: its report fails until the marker is removed
    spec = yaml.safe_load(path.read_text())
    spec["jobs"].append(
        {"template": str(TINY), "name": "tiny-C02", "params": {"cohort_id": "C02",
                                                              "fail_if_exists": "{marker}"}}
    )
    spec["jobs"][0]["for_each"]["grid"]["cohort_id"] = ["C01", "C03"]
    path.write_text(yaml.safe_dump(spec))

    first = run_schedule(path, workers=2, progress=False)
    out = tmp_path / "out"
    assert first.exit_code == 1
    assert first.counts == {"ok": 2, "failed": 1, "not_run": 0}
    assert _published(out) == {"tiny-C01": REPORT_FILES, "tiny-C03": REPORT_FILES}
    manifest = json.loads((out / "manifest.json").read_text())
    by_name = {j["name"]: j for j in manifest["jobs"]}
    assert by_name["tiny-C02"]["status"] == "failed"
    assert "broken cohort C02" in by_name["tiny-C02"]["error"]["evalue"]
    assert by_name["tiny-C02"]["outputs"]["error"] == "failed/tiny-C02/error.json"
    assert by_name["tiny-C01"]["params"] == {"cohort_id": "C01"}
    assert by_name["tiny-C01"]["duration_s"] > 0
    index = (out / "index.html").read_text()
    for href in ("tiny-C01/report.html", "tiny-C03/report.html", "failed/tiny-C02/report.html"):
        assert f"href='{href}'" in index
    c01_html = (out / "tiny-C01" / "report.html").stat().st_mtime_ns

    marker.unlink()  # the data is fixed
    second = run_schedule(path, workers=2, resume=True, progress=False)
    assert second.exit_code == 0 and second.reused == 2
    manifest = json.loads((out / "manifest.json").read_text())
    by_name = {j["name"]: j for j in manifest["jobs"]}
    assert by_name["tiny-C01"].get("reused") is True
    assert by_name["tiny-C02"]["status"] == "ok" and not by_name["tiny-C02"].get("reused")
    assert (out / "tiny-C01" / "report.html").stat().st_mtime_ns == c01_html
    assert not (out / "failed" / "tiny-C02").exists()
    assert _published(out) == {n: REPORT_FILES for n in ("tiny-C01", "tiny-C02", "tiny-C03")}


def test_second_overlapping_run_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with RunLock(out), pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
        run_jobs([Job("a", str(TINY))], out, progress=False)
    # released: a stale record of a dead holder does not block
    (out / ".iopkit-run.lock").write_text(json.dumps({"pid": 2**22 + 7, "started": "x"}))
    with RunLock(out) as lock:
        assert lock.stale and lock.stale["pid"] == 2**22 + 7


def test_kernel_start_failure_is_retried_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = []

    def fake_run_report(*args: object, **kwargs: object) -> ReportResult:
        calls.append(1)
        res = ReportResult("a", str(TINY), {}, "failed", str(tmp_path / "failed" / "a"), 0.1,
                           error={"ename": "RuntimeError", "evalue": "Kernel died",
                                  "kernel_start": True})
        raise KernelStartError(res)

    monkeypatch.setattr("iopkit.reports.engine.runner.run_report", fake_run_report)
    monkeypatch.setattr(batch.time, "sleep", lambda s: None)
    rec = execute_job(Job("a", str(TINY)), str(tmp_path))
    assert len(calls) == 2 and rec["attempts"] == 2 and rec["status"] == "failed"
    assert rec["error"]["kernel_start"] is True


def test_schedule_expansion_and_errors(tmp_path: Path) -> None:
    path = _schedule(
        tmp_path,
        [
            {
                "template": str(TINY),
                "name": "t-{cohort_id}-{weeks}",
                "for_each": {"grid": {"cohort_id": ["007", "008"], "weeks": [2, 3]}},
                "params": {"cohort_id": "{cohort_id}", "weeks": "{weeks}",
                           "start_date": "{start}"},
            }
        ],
        vars={"start": "2026-03-02"},
    )
    sched = load_schedule(path, variables={"start": "2026-03-09"})
    assert [j.name for j in sched.jobs] == ["t-007-2", "t-007-3", "t-008-2", "t-008-3"]
    # typed grid values keep their type; the YAML date stays a string
    assert sched.jobs[0].params == {"cohort_id": "007", "weeks": 2, "start_date": "2026-03-09"}
    assert sched.out == str((tmp_path / "out").resolve())

    dup = _schedule(tmp_path, [{"template": str(TINY), "name": "x"},
                               {"template": str(TINY), "name": "x"}])
    with pytest.raises(ConfigError, match="same report folder"):
        load_schedule(dup)
    bad = _schedule(tmp_path, [{"template": str(TINY), "params": {"a": "{nope}"}}])
    with pytest.raises(ConfigError, match="unknown placeholder"):
        load_schedule(bad)
    typo = _schedule(tmp_path, [{"template": str(TINY), "parms": {}}])
    with pytest.raises(ConfigError, match="schema.*parms"):
        load_schedule(typo)


def _recorded_ok(out: Path) -> set[str]:
    """Published reports whose job wrote an ok status record (each written atomically)."""
    ok = {n for n, r in batch.read_records(out).items() if r["status"] == "ok"}
    return ok & set(_published(out))


@pytest.mark.slow
def test_sigkill_mid_batch_leaves_no_partial_report(tmp_path: Path) -> None:
    """A run killed with SIGKILL (the whole process group) leaves only complete reports."""
    names = [f"S{i}" for i in range(6)]
    path = _schedule(
        tmp_path,
        [
            {
                "template": str(TINY),
                "name": "tiny-{cohort_id}",
                "for_each": {"grid": {"cohort_id": names}},
                "params": {"cohort_id": "{cohort_id}", "sleepy": 1.5},
            }
        ],
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "iopkit", "run", str(path), "--workers", "2", "--no-progress"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        # wait until at least one report is published and has its status record (the job
        # publishes, then writes its record: a kill in between leaves a complete report that
        # resume re-runs) and others are still being built
        while time.monotonic() < deadline:
            if out.is_dir() and _recorded_ok(out) and any(
                p.name.startswith(".tmp-") for p in out.iterdir()
            ):
                break
            time.sleep(0.05)
        else:
            pytest.fail("batch never reached the middle of its run")
        with pytest.raises(RunLockedError, match="already writing"):
            run_jobs([Job("x", str(TINY))], out, progress=False)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    published = _published(out)
    assert published, "expected some reports before the kill"
    assert all(files == REPORT_FILES for files in published.values()), published
    assert len(published) < len(names)
    recorded = _recorded_ok(out)
    # the next run recovers: the lock is free, leftovers are cleaned, resume finishes the rest
    summary = run_schedule(path, workers=2, resume=True, progress=False)
    # reused: exactly the published reports the killed run had recorded
    assert summary.exit_code == 0 and summary.reused == len(recorded) > 0
    assert _published(out) == {f"tiny-{n}": REPORT_FILES for n in names}
    assert not [p for p in out.iterdir() if p.name.startswith((".tmp-", ".old-"))]
