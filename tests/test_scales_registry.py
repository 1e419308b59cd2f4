"""Scale registry: schema validation, sourced facts, accessors (facts from scales.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from iopkit.errors import ConfigError, UnknownIdError
from iopkit.scales import get_scale, list_scales, load_scale_file
from iopkit.scales.registry import DATA_DIR

EXPECTED = {
    "phq9", "phq2", "gad7", "gad2", "pcl5", "ocir", "pdss", "isi", "asrs", "wsas", "aaq2",
    "ders16", "asq",
}  # fmt: skip


def test_registry_holds_every_scale_of_issue_2():
    assert {s.id for s in list_scales()} == EXPECTED


@pytest.mark.parametrize("scale_id", sorted(EXPECTED))
def test_every_number_has_a_source_and_certainty(scale_id):
    """Walk the raw YAML: every mapping holding a number also holds source + certainty."""
    raw = yaml.safe_load((DATA_DIR / f"{scale_id}.yaml").read_text())
    structural = {"min", "max", "count", "item", "flag_at", "escalate_at", "min_count",
                  "max_count", "total_max_when_na", "n", "endorse_at", "items"}  # fmt: skip

    def walk(node, path, inherited):
        if isinstance(node, dict):
            has_src = "source" in node and "certainty" in node
            for key, val in node.items():
                is_number = isinstance(val, int | float) and not isinstance(val, bool)
                if is_number and key not in structural and not isinstance(key, int):
                    assert has_src or inherited, f"{scale_id}: {path}.{key} has no source"
                walk(val, f"{path}.{key}", inherited or has_src)
        elif isinstance(node, list):
            for i, val in enumerate(node):
                walk(val, f"{path}[{i}]", inherited)

    walk(raw, scale_id, False)


@pytest.mark.parametrize("scale", list_scales(), ids=lambda s: s.id)
def test_item_text_ships_only_for_public_domain(scale):
    """scales.md §0.4/§1.12: item text only for PHQ-9, GAD-7, PCL-5 (and their 2-item forms)."""
    if scale.items.text is not None:
        assert scale.licence.status == "public_domain"
        assert scale.id in {"phq9", "phq2", "gad7", "gad2", "pcl5"}
    if scale.id in {"ocir", "pdss", "isi", "asrs", "wsas", "aaq2", "ders16", "asq"}:
        assert scale.items.text is None and not scale.licence.ship_item_text


def test_phq9_facts_match_scales_md():
    """Reproduces scales.md §1.1: bands, item 9 rule (Simon 2013), NHS TT, LOINC, policy."""
    s = get_scale("PHQ-9")
    assert (s.total_min, s.total_max, s.lower_is_better) == (0, 27, True)
    assert [(b.min, b.max) for b in s.bands.levels] == [
        (0, 4), (5, 9), (10, 14), (15, 19), (20, 27)
    ]  # fmt: skip
    crit = s.critical_items[0]
    assert (crit.item, crit.flag_at, crit.escalate_at) == (9, 1, 2)
    assert "Simon 2013" in crit.source
    assert s.caseness[0].value == 10 and "NHS" in s.caseness[0].label
    assert s.reliable_change[0].value == 6
    assert s.mcid[0].value == 5 and "Loewe 2004" in s.mcid[0].source
    assert s.remission[0].op == "<" and s.remission[0].value == 5
    assert s.response[0].kind == "percent_reduction" and s.response[0].value == 50
    assert s.loinc.total == "44261-6" and s.loinc.items[8] == "44260-8"
    assert (s.missing.max_prorated, s.missing.never_prorate) == (1, [9])


def test_gad7_nhs_thresholds():
    """NHS Talking Therapies (PMC8411661): GAD-7 caseness >= 8, reliable improvement >= 4."""
    s = get_scale("gad7")
    assert s.caseness[0].value == 8
    assert s.reliable_change[0].value == 4
    assert s.loinc.panel == "69737-5"


def test_pcl5_clusters_and_rule():
    """scales.md §1.3: clusters B 1-5, C 6-7, D 8-14, E 15-20; DSM-5 rule 1/1/2/2 at >= 2."""
    s = get_scale("pcl5")
    assert [sub.items for sub in s.subscales] == [
        [1, 2, 3, 4, 5], [6, 7], list(range(8, 15)), list(range(15, 21))
    ]  # fmt: skip
    rule = s.rules[0]
    assert [c.min_count for c in rule.conditions] == [1, 1, 2, 2]
    assert all(c.endorse_at == 2 for c in rule.conditions)


def test_wsas_not_applicable_and_ocir_subscales():
    assert get_scale("wsas").not_applicable.total_max_when_na == 32
    ocir = get_scale("ocir")
    six = [sub for sub in ocir.subscales if sub.id != "ocd"]
    assert len(six) == 6 and sorted(i for sub in six for i in sub.items) == list(range(1, 19))


def test_accessors_reliability_norms():
    aaq = get_scale("aaq2")
    rel = aaq.reliability("test_retest")
    assert (rel.value, rel.type) == (0.81, "test_retest") and "Bond 2011" in rel.source
    assert aaq.reliability("alpha").value == 0.84
    assert get_scale("ocir").reliability("test_retest").type == "unspecified"  # falls back
    assert get_scale("asrs").reliability() is None
    clin, func = aaq.norm("clinical"), aaq.norm("functional")
    assert (clin.mean, clin.sd, func.mean, func.sd) == (28.3, 9.9, 18.51, 7.05)
    # scales.md §1.9 [C]: Jacobson–Truax c from Bond 2011 norms = 22.58
    c = (clin.sd * func.mean + func.sd * clin.mean) / (clin.sd + func.sd)
    assert round(c, 2) == 22.58


def test_band_for_rounds_half_up():
    s = get_scale("phq9")
    assert s.band_for(4.5) == "mild"  # half-to-even would give 4 → none/minimal
    assert s.band_for(4.4) == "none/minimal"
    assert s.band_for(None) is None
    with pytest.raises(ValueError):
        s.band_for(28)


def test_unknown_scale_is_config_error():
    with pytest.raises(UnknownIdError, match="known scales"):
        get_scale("beck")


def _write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_broken_file_names_file_and_key_path(tmp_path):
    raw = yaml.safe_load((DATA_DIR / "gad7.yaml").read_text())
    raw["bands"]["levels"][1]["colour"] = "red"  # unknown key
    path = _write(tmp_path, "gad7", raw)
    with pytest.raises(ConfigError) as exc:
        load_scale_file(path)
    assert f"{path}:9" in str(exc.value) and "bands.levels[1].colour" in str(exc.value)


def test_broken_band_gap_and_wrong_range_rejected(tmp_path):
    raw = yaml.safe_load((DATA_DIR / "phq9.yaml").read_text())
    raw["bands"]["levels"][1]["max"] = 8  # gap 9
    with pytest.raises(ConfigError, match="not contiguous"):
        load_scale_file(_write(tmp_path, "phq9", raw))
    raw = yaml.safe_load((DATA_DIR / "phq9.yaml").read_text())
    raw["total"]["max"] = 30
    with pytest.raises(ConfigError, match="does not match"):
        load_scale_file(_write(tmp_path, "phq9", raw))


def test_item_text_for_licensed_scale_rejected(tmp_path):
    raw = yaml.safe_load((DATA_DIR / "isi.yaml").read_text())
    raw["items"]["text"] = ["x"] * 7
    with pytest.raises(ConfigError, match="ship_item_text"):
        load_scale_file(_write(tmp_path, "isi", raw))


def test_file_name_must_match_id(tmp_path):
    raw = yaml.safe_load((DATA_DIR / "isi.yaml").read_text())
    with pytest.raises(ConfigError, match="does not match the file name"):
        load_scale_file(_write(tmp_path, "other", raw))


def test_public_api_importable():
    """The names other areas use (outcomes, data, curriculum) are exported lazily."""
    import iopkit
    from iopkit.scales import find_item_columns, score, score_assessments, score_long

    assert iopkit.score is score
    assert callable(score_assessments) and callable(score_long) and callable(find_item_columns)


def test_a_scale_checked_elsewhere_is_adopted_only_while_its_file_is_unchanged(monkeypatch):
    """``registry.adopt``: a batch hands report kernels the scales it parsed; the registry
    uses one only when its file still has the SHA-256 the batch read, and every adopted
    model equals the one parsed from the file (a JSON round trip of every scale)."""
    from iopkit.scales import registry
    from iopkit.scales.schema import Scale

    # An earlier test in this process may have opened a snapshot (which adopts its scales):
    # start from an empty adoption table whatever ran before.
    monkeypatch.setattr(registry, "_ADOPTED", {})
    registry._load.cache_clear()
    for scale in list_scales():
        assert Scale.model_validate(scale.model_dump(mode="json")) == scale, scale.id
    phq9 = Scale.model_validate(get_scale("phq9").model_dump(mode="json"))
    try:
        assert not registry.adopt(phq9, "0" * 64)  # the file changed since: parse it
        assert "phq9" not in registry._ADOPTED
        assert registry.adopt(phq9, registry.file_digest("phq9"))
        registry._load.cache_clear()
        assert registry.get_scale("PHQ-9") is phq9  # no file parsed
    finally:
        registry._ADOPTED.clear()
        registry._load.cache_clear()
    assert get_scale("phq9") is not phq9 and get_scale("phq9") == phq9
