"""The same schedule on a real dask.distributed cluster: a scheduler and two workers started
as separate processes (``dask scheduler`` / ``dask worker --nthreads 1``), driven through
``iopkit run --executor dask://HOST:PORT``; the manifest and index match a local run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.manifests import comparable

pytest.importorskip("distributed", reason="the Dask tests need iopkit[dask] (in dev)")

from iopkit.errors import InputError  # noqa: E402
from iopkit.integrations.dask import executor, scheduler_address  # noqa: E402
from iopkit.reports.engine import batch  # noqa: E402
from iopkit.reports.engine.batch import run_jobs, run_schedule  # noqa: E402
from iopkit.reports.engine.schedule import Job  # noqa: E402
from iopkit.resources import schedules_dir  # noqa: E402

TINY = Path(__file__).parent / "fixtures" / "reports" / "tiny.ipynb"
DASK = Path(sys.executable).with_name("dask")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A scheduler and two single-thread workers, each its own OS process."""
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    log = open(folder / "dask.log", "wb")  # noqa: SIM115 - closed below
    procs = [subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(info)],
        stdout=log, stderr=log, start_new_session=True,
    )]
    try:
        deadline = time.monotonic() + 60
        while not info.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert info.is_file(), (folder / "dask.log").read_text()
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(DASK), "worker", "--scheduler-file", str(info), "--nthreads", "1",
                 "--nworkers", "1", "--no-dashboard", "--memory-limit", "0",
                 "--local-directory", str(folder)],
                stdout=log, stderr=log, start_new_session=True,
            ))
        from distributed import Client

        address = json.loads(info.read_text())["address"]
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=90)
            workers = client.scheduler_info()["workers"]
            pids = set(client.run(os.getpid).values())
        assert all(w["nthreads"] == 1 for w in workers.values())
        yield {"address": address, "spec": address.replace("tcp://", "dask://"),
               "worker_pids": pids}
    finally:
        for proc in reversed(procs):
            _stop(proc)
        log.close()




def test_executor_address_is_checked() -> None:
    assert scheduler_address("dask://sched.example:8786") == "tcp://sched.example:8786"
    for bad in ("dask://host", "tcp://host:8786", "dask://host:99999", "dask://a b:1"):
        with pytest.raises(InputError, match="dask://HOST:PORT"):
            scheduler_address(bad)


@pytest.mark.slow
def test_demo_schedule_on_dask_matches_a_local_run(
    cluster: dict[str, object], tmp_path: Path
) -> None:
    from iopkit.data import write_bundle
    from iopkit.data.sources.synthetic import DEMO_SETTINGS
    from iopkit.synth import synthesize

    data = write_bundle(synthesize(**{**DEMO_SETTINGS, "n_cohorts": 2}), tmp_path / "data")
    schedule = schedules_dir() / "demo.yaml"
    out_dask, out_local = tmp_path / "on-dask", tmp_path / "local"
    proc = subprocess.run(
        [sys.executable, "-m", "iopkit", "run", str(schedule), "--out", str(out_dask),
         "--var", f"data={data}", "--no-progress", "--executor", str(cluster["spec"])],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    import iopkit.reports.grids  # noqa: F401 - the demo schedule's data grids
    import iopkit.reports.views.source  # noqa: F401 - the data_source snapshotter

    local = run_schedule(schedule, workers=2, out=out_local, variables={"data": str(data)},
                         progress=False)
    assert local.exit_code == 0
    on_dask = json.loads((out_dask / "manifest.json").read_text())
    on_local = json.loads((out_local / "manifest.json").read_text())
    assert on_dask["executor"] == cluster["spec"] and on_local["executor"] == "local"
    assert on_dask["counts"] == on_local["counts"] == {
        "ok": 6, "failed": 0, "pending": 0, "not_run": 0}
    assert comparable(on_dask) == comparable(on_local)
    # every job ran in a worker process of the cluster, not in the iopkit process
    pids = {j["pid"] for j in on_dask["jobs"]}
    assert pids <= cluster["worker_pids"], (pids, cluster["worker_pids"])
    # the same reports were published, the index links every one of them
    def published(out: Path) -> set[str]:
        return {p.name for p in out.iterdir() if not p.name.startswith(".")} - {"data"}

    assert published(out_dask) == published(out_local)
    index = (out_dask / "index.html").read_text()
    for job in on_dask["jobs"]:
        assert f"href='{job['outputs']['html']}'" in index
        assert (out_dask / job["outputs"]["html"]).is_file()
    # the source was validated once by the batch; its snapshot is gone after the run
    assert not (out_dask / batch.RUN_DIR / "snapshots").exists()
    assert not on_dask["notes"], on_dask["notes"]


@pytest.mark.slow
def test_failed_job_on_dask_is_isolated_and_resume_reruns_only_it(
    cluster: dict[str, object], tmp_path: Path
) -> None:
    marker = tmp_path / "broken"
    marker.write_text("x")
    jobs = [Job("t-ok", str(TINY), {"cohort_id": "C1"}),
            Job("t-bad", str(TINY), {"cohort_id": "C2", "fail_if_exists": str(marker)})]
    out = tmp_path / "out"
    factory = executor(str(cluster["spec"]))
    first = run_jobs(jobs, out, progress=False, executor_factory=factory)
    assert first.counts == {"ok": 1, "failed": 1, "not_run": 0}
    assert not (out / "t-bad").exists() and (out / "failed" / "t-bad" / "error.json").is_file()
    ok_html = (out / "t-ok" / "report.html").stat().st_mtime_ns
    marker.unlink()
    second = run_jobs(jobs, out, resume=True, progress=False, executor_factory=factory)
    assert second.exit_code == 0 and second.reused == 1
    assert (out / "t-ok" / "report.html").stat().st_mtime_ns == ok_html
    by_name = {r["name"]: r for r in second.records}
    assert by_name["t-ok"]["reused"] is True and not by_name["t-bad"].get("reused")
    assert by_name["t-bad"]["pid"] in cluster["worker_pids"]
    shutil.rmtree(out)


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        from iopkit.integrations.dask import DaskExecutor

        DaskExecutor("tcp://127.0.0.1:9", timeout=2)
