"""Discharge-plan draft for the patient progress report (Markdown for the clinician to finish).

Built only from the episode's own data: skills attended (the strategies the patient has
practised), core skills still missing with the next dates they are taught (make-up list),
aftercare appointments recorded as events, open flags and the latest scores. Every clinical
judgement is left as a blank for the clinician (``____``); nothing is invented.
Structure follows the Stanley–Brown safety-plan elements (warning signs, coping strategies,
people and professionals to contact; Stanley & Brown 2012, Cognitive and Behavioral Practice
19(2):256–264, doi:10.1016/j.cbpra.2011.01.001) and relapse-prevention planning (Marlatt &
Donovan 2005, *Relapse Prevention*, 2nd ed., Guilford), plus aftercare.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from iopkit.errors import InputError

BLANK = "____"


def _bullets(items: list[str], empty: str) -> str:
    return "\n".join(f"- {i}" for i in items) if items else f"- {empty}"


def discharge_plan(
    *,
    episode_id: str,
    skills: pd.DataFrame | None,
    titles: Mapping[str, str] | None,
    events: pd.DataFrame | None,
    flags: pd.DataFrame | None,
    latest: pd.DataFrame | None,
) -> str:
    """Markdown draft. ``skills``: :func:`iopkit.calendar.patient_view` rows (skill_id, core,
    status, make_up); ``events``: the episode's events; ``flags``: its raised flags;
    ``latest``: one row per scale with ``scale_label, endpoint, band``. An input that a
    section above could not compute (None) raises InputError naming it: no partial draft."""
    absent = [n for n, v in (("skills", skills), ("titles", titles), ("events", events),
                             ("flags", flags), ("latest", latest)) if v is None]
    if absent:
        raise InputError(
            f"the draft needs {', '.join(absent)}, which could not be computed above",
            rule="discharge-plan inputs",
        )
    attended = skills[skills["status"].isin(["attended", "met"])]["skill_id"].tolist()
    missing = skills[skills["core"] & skills["status"].isin(["missed", "not taught", "expected"])]
    rp = [titles.get(s, s) for s in attended if s.startswith("rp.")]
    practised = [titles.get(s, s) for s in attended if not s.startswith("rp.")]
    make_up = [
        f"{titles.get(r.skill_id, r.skill_id)} — next taught "
        f"{r.make_up or 'after the stay: ' + BLANK}"
        for r in missing.itertuples()
    ]
    after = events[events["kind"] == "aftercare_appointment"] if len(events) else events
    aftercare = [f"appointment on {pd.Timestamp(d).date()}" for d in after.get("date", [])]
    scores = [
        f"{r.scale_label}: {r.endpoint:.0f} ({r.band})" for r in latest.itertuples()
        if pd.notna(r.endpoint)
    ]
    open_flags = [f"{r.flag}: {r.value}" for r in flags.itertuples()]
    return "\n".join([
        f"### Discharge plan — draft for episode {episode_id}",
        "*Generated from the record; a clinician completes and signs it.*",
        "",
        "**Where things stand**",
        _bullets(scores, "no scores recorded"),
        "",
        "**Open flags to resolve before discharge**",
        _bullets(open_flags, "none raised"),
        "",
        "**Next steps** (level of care after discharge, who, when)",
        f"- Step-down to: {BLANK}",
        f"- First appointment: {BLANK}",
        "",
        "**Relapse-prevention strategies practised in the program**",
        _bullets(rp, "no relapse-prevention session attended yet"),
        "",
        "**Other skills practised** (choose the ones that helped)",
        _bullets(practised, "none attended"),
        "",
        "**Core skills not yet met** (make-up before discharge)",
        _bullets(make_up, "all core skills met"),
        "",
        "**Personal warning signs**: " + BLANK,
        "",
        "**People and professionals to contact** (including crisis line 988): " + BLANK,
        "",
        "**Aftercare booked**",
        _bullets(aftercare, f"none recorded — book before discharge ({BLANK})"),
    ])
