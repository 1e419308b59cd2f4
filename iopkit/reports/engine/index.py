"""``index.html``: one page linking every report of a run, failures first.

Built from the run's manifest (:mod:`iopkit.reports.engine.batch`) with the standard library's
``html.escape``; links are relative so the folder can be copied or served as a whole.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iopkit.reports.engine import atomic
from iopkit.reports.engine.figures import N_NOTES_KEY, NOTES_KEY, published_text, report_notes

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;max-width:70rem;
color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3rem .6rem;
border-bottom:1px solid #eee;vertical-align:top} th{background:#f4f4f4}
.ok{color:#1b7837} .failed{color:#b2182b;font-weight:bold} .muted{color:#666;font-size:.9em}
code{font-size:.85em}
"""


def _figure_text(figures: Mapping[str, Any], limit: int = 4) -> str:
    items = [
        (k, v)
        for k, v in figures.items()
        if isinstance(v, str | int | float) and v is not None and k not in (NOTES_KEY, N_NOTES_KEY)
    ][:limit]
    return "; ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in items)


def render_index(title: str, jobs: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> str:
    """HTML text of the index page for a run's job records (see ``batch.JobRecord``)."""
    esc = html.escape
    failed = [j for j in jobs if j.get("status") != "ok"]
    ok = [j for j in jobs if j.get("status") == "ok"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p class='muted'>Run started {esc(str(summary.get('started', '')))}, finished "
        f"{esc(str(summary.get('finished', '')))} · {summary.get('ok', 0)} ok, "
        f"{summary.get('failed', 0)} failed, {summary.get('not_run', 0)} not run · "
        "<a href='manifest.json'>manifest.json</a></p>",
    ]
    if failed:
        parts.append("<h2 class='failed'>Failed reports</h2><table><tr><th>report</th>"
                     "<th>template</th><th>error</th></tr>")
        for j in failed:
            err = j.get("error") or {}
            link = j.get("outputs", {}).get("html")
            name = esc(j["name"])
            cell = f"<a href='{esc(link)}'>{name}</a>" if link else name
            parts.append(
                f"<tr><td class='failed'>{cell}</td><td>{esc(Path(j['template']).stem)}</td>"
                f"<td><code>{esc(str(err.get('ename', j.get('status'))))}: "
                f"{esc(str(err.get('evalue', ''))[:300])}</code></td></tr>"
            )
        parts.append("</table>")
    by_template: dict[str, list[Mapping[str, Any]]] = {}
    for j in ok:
        by_template.setdefault(Path(j["template"]).stem, []).append(j)
    for template, group in by_template.items():
        parts.append(f"<h2>{esc(template.replace('_', ' ').capitalize())}</h2><table>"
                     "<tr><th>report</th><th>status</th><th>parameters</th><th>key figures</th>"
                     "<th>time</th></tr>")
        for j in sorted(group, key=lambda r: r["name"]):
            params = ", ".join(
                f"{k}={v}" for k, v in j.get("params", {}).items() if "/" not in str(v)
            )
            figs = j.get("figures") or {}
            notes = "".join(f"<li>{esc(n)}</li>" for n in report_notes(figs))
            status = esc(published_text(figs))
            if notes:
                status += f"<ul class='muted'>{notes}</ul>"
            parts.append(
                f"<tr><td><a href='{esc(j['outputs']['html'])}'>{esc(j['name'])}</a></td>"
                f"<td class='ok'>{status}</td><td class='muted'>{esc(params)}</td>"
                f"<td class='muted'>{esc(_figure_text(j.get('figures') or {}))}</td>"
                f"<td class='muted'>{float(j.get('duration_s') or 0):.1f} s</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_index(
    out_dir: Path, title: str, jobs: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]
) -> Path:
    """Write ``<out_dir>/index.html`` atomically (mode 0600) and return its path."""
    path = Path(out_dir) / "index.html"
    atomic.write_private_text(path, render_index(title, jobs, summary))
    return path
