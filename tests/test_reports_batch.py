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

from iopkit.errors import ConfigError, InputError
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


# --- guarantees that travel with the job ---------------------------------------------------
def test_job_round_trips_through_json() -> None:
    job = Job("outcomes-C01", str(TINY), {"cohort_id": "007", "weeks": 3, "ids": ["a", "b"]},
              timeout=90, text_params=frozenset({"weeks", "cohort_id"}))
    text = job.to_json()
    assert json.loads(text)["text_params"] == ["cohort_id", "weeks"]  # plain JSON, no set
    assert Job.from_json(text) == job
    with pytest.raises(InputError, match="unknown key"):
        Job.from_dict({**job.to_dict(), "surprise": 1})
    with pytest.raises(InputError, match="not JSON"):
        Job.from_json("{nope")


def test_status_record_hides_passwords_and_manifest_is_assembled_from_records(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    url = "postgresql://iop:s3cr@t:pw@db.example/iop"
    # a URL password in a parameter refuses the run before anything is written (papermill
    # would write it into the notebook); the message hides it
    with pytest.raises(InputError, match="password") as err:
        run_jobs([Job("c", str(TINY), {"cohort_id": "C3", "fail_if_exists": url})], out,
                 progress=False)
    assert "s3cr" not in str(err.value)
    assert not (out / "manifest.json").exists()
    jobs = [Job("a", str(TINY), {"cohort_id": "C1", "fail_if_exists": "postgresql://iop@db/iop"}),
            Job("b", str(TINY), {"cohort_id": "C2", "fail": True})]
    summary = run_jobs(jobs, out, progress=False)
    assert summary.counts == {"ok": 1, "failed": 1, "not_run": 0}
    records = batch.read_records(out)
    assert set(records) == {"a", "b"}
    rec = records["a"]
    assert rec["status"] == "ok" and rec["published"] == "published" and rec["n_notes"] == 0
    assert set(rec["timings_s"]) == {"execute", "export", "publish"}
    assert rec["timings_s"]["export"] > 0 and rec["host"] and rec["pid"] != os.getpid()
    for path in [*out.rglob("*.json"), out / "index.html"]:
        assert "s3cr" not in path.read_text(), path
    # the manifest and the index are a pure function of plan + records: assembling again
    # from another process gives the same jobs
    before = json.loads((out / "manifest.json").read_text())
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from iopkit.reports.engine.batch import "
         "assemble_run; assemble_run(sys.argv[1])", str(out)], capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    after = json.loads((out / "manifest.json").read_text())
    assert after["jobs"] == before["jobs"] and after["counts"] == before["counts"]
    index = (out / "index.html").read_text()
    assert "href='a/report.html'" in index and "href='failed/b/report.html'" in index


def test_index_lists_every_report_with_its_notes(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    params = new_code_cell('n: int = 2  # notes to record')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(
        cells=[params, new_code_cell(
            "from iopkit.reports import record\n"
            "record('notes', [f'section {i} could not be computed' for i in range(n)])")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}},
    )
    template = tmp_path / "notes.ipynb"
    nbformat.write(nb, template)
    out = tmp_path / "out"
    summary = run_jobs([Job("two", str(template), {"n": 2}), Job("none", str(template),
                                                                 {"n": 0})], out,
                       workers=2, progress=False)
    assert summary.exit_code == 0
    by_name = {r["name"]: r for r in summary.records}
    assert by_name["two"]["published"] == "published with 2 notes"
    assert by_name["none"]["published"] == "published"
    index = (out / "index.html").read_text()
    assert "published with 2 notes" in index and "section 1 could not be computed" in index
    assert "href='two/report.html'" in index and "href='none/report.html'" in index


def test_run_without_resume_forgets_old_records_and_interrupted_jobs_are_not_run(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    run_jobs([Job("a", str(TINY), {"cohort_id": "C1"})], out, progress=False)
    # a new run whose job never finished: its record from last time must not be reused
    plan = batch.prepare_run([Job("a", str(TINY), {"cohort_id": "C1"})], out)
    assert [j.name for j in plan.todo] == ["a"] and batch.read_records(out) == {}
    summary = batch.assemble_run(out)
    assert summary.records[0]["status"] == "not_run" and summary.exit_code == 1
    # resume keeps a complete report whose template and parameters did not change ...
    run_jobs([Job("a", str(TINY), {"cohort_id": "C1"})], out, progress=False)
    plan = batch.prepare_run([Job("a", str(TINY), {"cohort_id": "C1"})], out, resume=True)
    assert plan.todo == [] and plan.reused == 1
    # ... and re-runs one whose parameters changed
    plan = batch.prepare_run([Job("a", str(TINY), {"cohort_id": "C9"})], out, resume=True)
    assert [j.name for j in plan.todo] == ["a"]


def test_lock_stale_rule_for_shared_folders(tmp_path: Path) -> None:
    import datetime as dt

    from iopkit.reports.engine import lock as lock_mod
    from iopkit.reports.engine.atomic import host_name

    out = tmp_path / "out"
    out.mkdir()
    path = out / lock_mod.LOCK_NAME
    now = dt.datetime.now(dt.UTC)
    # another host's lock is live until it is older than the max age, whatever its PID
    path.write_text(json.dumps({"host": "other-node", "pid": 1, "started": now.isoformat()}))
    with pytest.raises(RunLockedError, match="other-node"):
        RunLock(out).acquire()
    old = (now - dt.timedelta(seconds=lock_mod.MAX_AGE_S + 60)).isoformat()
    path.write_text(json.dumps({"host": "other-node", "pid": 1, "started": old}))
    with RunLock(out) as lock:
        assert lock.stale and "other-node" in lock.stale["reason"]
        assert json.loads(path.read_text())["host"] == host_name()
    assert not path.exists()  # released = removed
    # this host: a live PID holds (here: ourselves), a dead one is stale
    path.write_text(json.dumps({"host": host_name(), "pid": os.getpid(),
                                "started": now.isoformat()}))
    with pytest.raises(RunLockedError):
        RunLock(out).acquire()
    path.write_text(json.dumps({"host": host_name(), "pid": 2**22 + 9,
                                "started": now.isoformat()}))
    with RunLock(out) as lock:
        assert "gone" in lock.stale["reason"]
    # a PID that is alive but is another process (different start time) is stale
    path.write_text(json.dumps({"host": host_name(), "pid": os.getpid(),
                                "process_start": "1", "started": now.isoformat()}))
    if lock_mod._process_start(os.getpid()) is not None:
        with RunLock(out) as lock:
            assert "different process" in lock.stale["reason"]
    # an owner lock (one Airflow DAG run over several processes): others refused, owner not
    RunLock(out, owner="airflow:weekly/r1").acquire()
    with pytest.raises(RunLockedError, match="owner airflow:weekly/r1"):
        RunLock(out).acquire()
    RunLock(out, owner="airflow:weekly/r1").acquire()  # a retried plan task
    assert not lock_mod.release_owned(out, "airflow:weekly/r2")
    assert lock_mod.release_owned(out, "airflow:weekly/r1") and not path.exists()


def test_cleanup_removes_only_this_hosts_dead_temporaries(tmp_path: Path) -> None:
    from iopkit.reports.engine import atomic

    here = atomic.host_name()
    dead = 2**22 + 77
    mine = tmp_path / f".tmp-rep@{here}-{dead}-0123abcd"
    theirs = tmp_path / f".tmp-rep@other-node.lan-{dead}-0123abcd"
    live = tmp_path / f".tmp-rep2@{here}-{os.getpid()}-0123abcd"
    for p in (mine, theirs, live):
        p.mkdir()
    actions = atomic.recover(tmp_path)
    assert not mine.exists() and theirs.exists() and live.exists()
    assert actions == [f"removed stale {mine.name}"]
    tmp = atomic.new_temp_dir(tmp_path, "x")
    assert tmp.name.startswith(f".tmp-x@{here}-{os.getpid()}-")


# --- validated snapshots -------------------------------------------------------------------
def _origin_notebook(path: Path) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    params = new_code_cell('data_source: str = ""  # bundle\ncohort_id: str = "C01"  # cohort')
    params.metadata["tags"] = ["parameters"]
    body = new_code_cell(
        "from iopkit.reports import record\n"
        "from iopkit.reports.views.source import open_source\n"
        "data = open_source(data_source)\n"
        "record('origin', data.origin)\n"
        "record('checksum', data.checksum)\n"
        "record('label', data.label)\n"
        "record('as_of', str(data.as_of))\n"
        "record('n_scores', len(data.scores))"
    )
    nb = new_notebook(cells=[params, body], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_batch_validates_once_and_jobs_read_the_checksummed_snapshot(tmp_path: Path) -> None:
    import pandas.testing as pdt

    from iopkit.data import write_bundle
    from iopkit.data.sources.synthetic import DEMO_SETTINGS
    from iopkit.reports.engine.runner import run_report
    from iopkit.reports.views import source as views_source
    from iopkit.synth import synthesize

    data = str(write_bundle(synthesize(**{**DEMO_SETTINGS, "n_cohorts": 2}), tmp_path / "d"))
    template = _origin_notebook(tmp_path / "origin.ipynb")
    calls: list[str] = []
    real = views_source.write_snapshot

    def counting(value: str, folder: Path) -> dict:
        calls.append(value)
        return real(value, folder)

    from iopkit.reports.engine import snapshots

    old = snapshots.SNAPSHOTTERS.get("data_source")
    snapshots.SNAPSHOTTERS["data_source"] = counting
    try:
        jobs = [Job(f"c{c}", str(template), {"data_source": data, "cohort_id": c})
                for c in ("C01", "C02", "C03")]
        summary = run_jobs(jobs, tmp_path / "out", workers=2, progress=False)
    finally:
        snapshots.SNAPSHOTTERS["data_source"] = old or real
    assert summary.exit_code == 0 and calls == [data]  # validated once for three reports
    direct = views_source.validate_source(data)
    for rec in summary.records:
        assert rec["figures"]["origin"] == "batch snapshot"
        assert rec["figures"]["checksum"] == direct.checksum
        assert rec["figures"]["as_of"] == str(direct.as_of) and rec["figures"]["label"] == data
    assert not (tmp_path / "out" / batch.RUN_DIR / "snapshots").exists()
    # a report run alone validates the source itself, to the same checksum
    alone = run_report(template, {"data_source": data}, tmp_path / "alone")
    assert alone.figures["origin"] == "validated now"
    assert alone.figures["checksum"] == direct.checksum
    # a snapshot reads back the very frames validation gives; a changed byte is refused
    folder = tmp_path / "snap"
    folder.mkdir()
    entry = views_source.write_snapshot(data, folder)
    assert entry["checksum"] == direct.checksum
    snap = views_source.read_snapshot(folder, data)
    for name, frame in direct.tables.items():
        pdt.assert_frame_equal(snap.tables[name], frame)
        for col in frame.select_dtypes(include="object").columns:  # blanks None, text str
            assert list(map(type, snap.tables[name][col])) == list(map(type, frame[col]))
    pdt.assert_frame_equal(snap.scores, direct.scores)
    pdt.assert_frame_equal(snap.counts, direct.counts)
    # the curriculum's program names travel with the snapshot: a job's header needs no
    # curriculum read (the batch read it once)
    assert snap.program_names == direct.program_names
    assert direct.program_names["adult_mood_anxiety_3d"].startswith("Adult")
    # the header's canonical checksum too, as the batch computed it from the same tables
    from iopkit.reports.views.header import data_checksum as canonical

    assert "table_checksum" in snap.__dict__  # carried, not computed again
    assert snap.table_checksum == canonical(direct) == direct.table_checksum
    # each scale's expected-recovery curves are fitted once, by the batch: a snapshot gives
    # the curves a report would fit (frames and fields), and the same refusal where too few
    # episodes completed; a changed curve file is refused when it is first read
    scales = sorted(direct.scores["scale"].unique())
    fitted = refused = 0
    for scale in scales:
        try:
            mine = direct.expected_curves(scale)
        except InputError as exc:
            with pytest.raises(InputError) as info:
                snap.expected_curves(scale)
            assert (str(info.value), info.value.rule) == (str(exc), exc.rule)
            refused += 1
            continue
        theirs = snap.expected_curves(scale)
        for name in ("table", "coefficients"):
            pdt.assert_frame_equal(getattr(theirs, name), getattr(mine, name))
        assert {k: v for k, v in vars(theirs).items() if k not in ("table", "coefficients")
                and not k.startswith("_")} == {k: v for k, v in vars(mine).items() if k not in
                ("table", "coefficients") and not k.startswith("_")}
        band = theirs.expected([mine.baseline_range[0]], [3.0])
        pdt.assert_frame_equal(band, mine.expected([mine.baseline_range[0]], [3.0]))
        fitted += 1
    assert fitted >= 2 and refused >= 1, (fitted, refused)
    curve_file = folder / json.loads((folder / "snapshot.json").read_text())["curves"][
        "phq9"]["files"]["table"]["file"]
    curve_file.write_bytes(curve_file.read_bytes()[:-3] + b"xyz")
    again = views_source.read_snapshot(folder, data)  # read lazily: the data still opens
    with pytest.raises(InputError, match="SHA-256"):
        again.expected_curves("phq9")
    # the source's scales travel as checked models: a report kernel parses no scale file,
    # and an altered scales entry is ignored (the files are parsed instead)
    meta = json.loads((folder / "snapshot.json").read_text())
    assert set(meta["scales"]["models"]) == set(direct.scores["scale"].unique())
    probe = (
        "import json, sys\n"
        "from iopkit.reports.views import source\n"
        "import iopkit.scales.registry as r\n"
        f"source.read_snapshot({str(folder)!r}, {data!r})\n"
        "r.load_scale_file = None  # parsing a scale file now would fail\n"
        "print(json.dumps([r.get_scale(s).id for s in sorted(r._ADOPTED)]))\n"
    )
    import subprocess
    import sys

    def adopted() -> list[str]:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             check=True)
        return json.loads(out.stdout)

    assert adopted() == sorted(meta["scales"]["models"])
    meta["scales"]["models"]["phq9"]["model"]["name"] = "Altered"
    (folder / "snapshot.json").write_text(json.dumps(meta))
    assert adopted() == []
    victim = folder / "00.arrow"
    blob = bytearray(victim.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    victim.write_bytes(bytes(blob))
    with pytest.raises(InputError, match="SHA-256"):
        views_source.read_snapshot(folder, data)


def test_snapshot_of_a_password_url_is_keyed_without_the_password() -> None:
    import pandas as pd

    from iopkit.reports.views.source import ReportData

    empty = pd.DataFrame()
    data = ReportData("postgresql://iop:pw@db/iop", {}, empty, empty, [])
    assert data.label == "postgresql://iop:***@db/iop" and data.as_of is None
