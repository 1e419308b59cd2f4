"""Comparing two runs' manifests: what must be equal when the same jobs ran elsewhere."""

from __future__ import annotations

import json

#: What differs between two runs of the same jobs (when, where, how long) — everything else
#: in a job record must be equal.
VOLATILE = {"started", "finished", "duration_s", "timings_s", "host", "pid", "run_id",
            "attempts"}  # fmt: skip


def comparable(manifest: dict) -> dict[str, dict]:
    """Job records by name without the volatile keys and the header's generated-at time."""
    out = {j["name"]: {k: v for k, v in j.items() if k not in VOLATILE}
           for j in json.loads(json.dumps(manifest["jobs"]))}  # fmt: skip
    for job in out.values():  # a report's header says when it was generated
        header = (job.get("figures") or {}).get("header")
        if isinstance(header, dict):
            header.pop("generated_at", None)
    return out
