"""LOINC codes in the scale registry, checked against the loinc.org pages each file cites."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from iopkit.scales import get_scale
from iopkit.scales.schema import Loinc

#: As printed on the cited pages: https://loinc.org/44249-1 (panel, total 44261-6 member),
#: https://loinc.org/69729-2 (PHQ-SADS: GAD-7 items and total 70274-6), https://loinc.org/55757-9
#: (PHQ-2), https://loinc.org/LL358-3 (answer list with scores), https://loinc.org/101697-1.
EXPECTED = {
    "phq9": ("44249-1", "44261-6", ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
                                    "44258-2", "44252-5", "44253-3", "44260-8"]),
    "gad7": ("69737-5", "70274-6", ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9",
                                    "69689-8", "69736-7"]),
    "phq2": ("55757-9", "55758-7", ["44250-9", "44255-8"]),
    "pcl5": ("101697-1", "101698-9", None),
}  # fmt: skip
LL358_3 = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}


@pytest.mark.parametrize("scale_id", sorted(EXPECTED))
def test_codes_match_the_cited_loinc_pages(scale_id: str) -> None:
    lo = get_scale(scale_id).loinc
    panel, total, items = EXPECTED[scale_id]
    assert (lo.panel, lo.total, lo.items) == (panel, total, items)
    assert f"https://loinc.org/{panel}" in lo.source
    if items:
        assert lo.answer_list == "LL358-3" and lo.answers == LL358_3
        assert "https://loinc.org/LL358-3" in lo.source


def test_answer_scores_match_the_anchors() -> None:
    sc = get_scale("phq9")
    assert {sc.items.anchors[v] for v in sc.loinc.answers.values()} == {
        "not at all", "several days", "more than half the days", "nearly every day",
    }  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [
        {"panel": "44249"},
        {"items": ["44250-9", "44250-9"]},
        {"answer_list": "LL358-3", "answers": {"6568-5": 0}},
        {"answers": {"LA6568-5": 0}},
        {"answer_list": "LL358-3", "answers": {"LA6568-5": 0, "LA6569-3": 0}},
    ],
)
def test_schema_refuses_malformed_codes(bad: dict) -> None:
    with pytest.raises(ValidationError):
        Loinc(source="https://loinc.org", certainty="V", **bad)
