"""Vectorised scoring of rating scales over a whole DataFrame (numpy; no per-row Python loop).

Public entry points:

* :func:`score` — wide frame, one row per administration, item columns per scale.
* :func:`score_assessments` — the iopkit ``assessments`` table: a ``scale`` column and
  generic ``item_1 … item_n`` columns; rows of different scales mixed.
* :func:`score_long` — long format (one row per answered item), pivoted then scored.

Rules (all from the registry entry of each scale, see ``docs/scales.md``):

* An item is *missing* when blank/NaN, a missing-text (:data:`MISSING_TEXT`: "", "na",
  "n/a", "nan", "null", "none", ".", …) or one of ``missing_codes`` (e.g. NHANES 7
  refused / 9 don't know). For WSAS item 1 "n/a"/"not applicable" means not applicable.
* Any other value that is not an integer within the item range (non-numeric, fractional,
  out of range, infinite) makes the row ``invalid``; the reason names column and value.
  Nothing is clipped or coerced; totals, bands and subscales are NA for invalid rows.
* ``complete``: every required item answered. ``prorated``: at most
  ``missing.max_prorated`` items missing and none of ``missing.never_prorate``;
  total = sum × n_items / n_answered, **rounded half up** to an integer (4.5 → 5) before
  banding. ``incomplete``: more missing than the policy allows; no total.
* Critical items are flagged from the answered value even when the row is incomplete or
  invalid (a positive safety answer is never hidden by other problems).
* Rules (PHQ-9 MDS/ODS, PCL-5 provisional PTSD, ASRS shaded boxes, ASQ) use three-valued
  logic: reported True/False when the missing answers could not change the result,
  otherwise <NA>. Non-safety rules are <NA> on invalid rows; safety rules never are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from iopkit.errors import InputError, UnknownIdError
from iopkit.scales.registry import get_scale
from iopkit.scales.schema import Scale

_ASSESSMENT_COLS = ("total", "band", "answered", "status", "reason", "safety_flag")

__all__ = [
    "STATUSES",
    "SafetyCheck",
    "find_item_columns",
    "safety_check",
    "safety_from_scored",
    "safety_screen",
    "score",
    "score_assessments",
    "score_long",
]

#: Status categories, in order.
STATUSES = ("complete", "prorated", "incomplete", "invalid")
_COMPLETE, _PRORATED, _INCOMPLETE, _INVALID = range(4)

#: Text answers treated as missing (compared after strip + lower-case).
MISSING_TEXT = frozenset({"", "na", "n/a", "#n/a", "nan", "null", "none", ".", "missing", "<na>"})

_STYLES = ("{p}_{k}", "{p}{k}", "{p}_item{k}", "{p}_item_{k}", "{p}item{k}", "{p}_q{k}", "{p}q{k}")
_GENERIC = ("item_{k}", "item{k}", "q{k}", "i{k}")


# --------------------------------------------------------------------------------------
# column discovery
# --------------------------------------------------------------------------------------
def _schemes(scale: Scale, generic: bool) -> list[list[str]]:
    """Candidate naming schemes: each a list of lower-case names for items 1..n.

    Unpadded and zero-padded (``01``) variants alternate, unpadded first.
    """
    n = scale.items.count
    prefixes = [scale.id, *scale.aliases]
    schemes: list[list[str]] = []
    for p in prefixes:
        for style in _STYLES:
            for pad in (False, True):
                names = [style.format(p=p, k=f"{k:02d}" if pad else k) for k in range(1, n + 1)]
                if names not in schemes:
                    schemes.append(names)
    if generic:
        for style in _GENERIC:
            for pad in (False, True):
                schemes.append([style.format(k=f"{k:02d}" if pad else k) for k in range(1, n + 1)])
    return schemes


def find_item_columns(
    frame: pd.DataFrame, scale: Scale | str, *, generic: bool = False
) -> list[str]:
    """The frame's item columns for ``scale`` in item order, found by conventional names.

    Tried in order, case-insensitively, for each prefix (the scale id, then its aliases,
    e.g. ``phq9``, ``phq``): ``{p}_{k}``, ``{p}{k}``, ``{p}_item{k}``, ``{p}_item_{k}``,
    ``{p}item{k}``, ``{p}_q{k}``, ``{p}q{k}`` (k also zero-padded: ``01``). With
    ``generic=True`` (only one scale requested) also ``item_{k}``, ``item{k}``, ``q{k}``,
    ``i{k}``. The first scheme that matches *every* item wins.

    Raises InputError naming the column names looked for when no scheme matches.
    """
    sc = get_scale(scale) if isinstance(scale, str) else scale
    lower: dict[str, str] = {}
    for col in frame.columns:  # first column wins when two differ only in case
        lower.setdefault(str(col).strip().lower(), col)
    exact = {str(c): c for c in frame.columns}
    best: tuple[int, list[str]] = (0, [])
    schemes = _schemes(sc, generic)
    for names in schemes:
        found = [exact.get(nm) or lower.get(nm) for nm in names]
        hits = sum(f is not None for f in found)
        if hits == len(names):
            return found  # type: ignore[return-value]
        if hits > best[0]:
            best = (hits, names)
    unpadded = [s for s in schemes if not s[0].endswith("01")]
    shown = ", ".join(f"{s[0]}…{s[-1]}" if len(s) > 1 else s[0] for s in unpadded)
    msg = (
        f"{sc.short_name}: no item columns found; looked for {shown} "
        f"(also zero-padded, e.g. 01; case-insensitive). Pass items={{'{sc.id}': "
        f"[...{sc.items.count} column names in item order]}} (CLI: --items)."
    )
    if best[0]:
        missing = [nm for nm in best[1] if nm not in lower]
        msg += f" Closest match lacks: {', '.join(missing)}."
    raise InputError(msg, rule="item columns")


def _explicit_columns(frame: pd.DataFrame, scale: Scale, cols: Sequence[str]) -> list[str]:
    cols = list(cols)  # keep the caller's labels (they need not be strings)
    if len(cols) != scale.items.count:
        raise InputError(
            f"{scale.short_name}: {len(cols)} item columns given, expected "
            f"{scale.items.count} (items 1–{scale.items.count} in order)",
            rule="item columns",
        )
    absent = [c for c in cols if c not in frame.columns]
    if absent:
        raise InputError(
            f"{scale.short_name}: item columns not in the input: {', '.join(map(str, absent))}",
            rule="item columns",
        )
    if len(set(cols)) != len(cols):
        raise InputError(f"{scale.short_name}: an item column is listed twice", rule="item columns")
    return cols


# --------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------
@dataclass
class _Parsed:
    values: np.ndarray  # (k, n) float64; 0 where not a valid answer (see ``valid``)
    valid: np.ndarray  # (k, n) bool
    missing: np.ndarray  # (k, n) bool — blank or missing code
    na: np.ndarray  # (k, n) bool — "not applicable" (WSAS item 1)
    invalid: np.ndarray  # (n,) bool — any invalid cell in the row
    invalid_rows: np.ndarray  # positions of the invalid rows
    invalid_reason: np.ndarray  # object, one reason per invalid row


def _parse(
    frame: pd.DataFrame,
    cols: list[str],
    scale: Scale,
    missing_codes: frozenset[float],
    missing_text: frozenset[str],
) -> _Parsed:
    n, k = len(frame), len(cols)
    lo, hi = scale.items.min, scale.items.max
    values = np.empty((k, n), dtype=np.float64)
    missing = np.zeros((k, n), dtype=bool)
    na = np.zeros((k, n), dtype=bool)
    bad_cell = np.zeros((k, n), dtype=bool)
    reasons: list[tuple[int, np.ndarray, pd.Series]] = []
    na_items = set(scale.not_applicable.items) if scale.not_applicable else set()
    na_codes = set(scale.not_applicable.codes) if scale.not_applicable else set()
    codes = np.array(sorted(missing_codes), dtype=np.float64)

    def _record_out(j: int, out: np.ndarray) -> None:
        if out.any():
            bad_cell[j] |= out
            s_ = frame[cols[j]]
            why = f" is outside the item range {lo}–{hi} (whole numbers)"
            reasons.append((j, out, s_[out].astype(str) + why))

    for j, col in enumerate(cols):
        s = frame[col]
        dtype = s.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "iu":
            # plain integers: no NaN, no fractions — only the range can be wrong
            ints = s.to_numpy()
            arr = ints.astype(np.float64)
            miss = np.zeros(n, dtype=bool)
            if codes.size:
                miss = np.isin(ints, codes)
            out = ~miss & ((ints < lo) | (ints > hi))
            _record_out(j, out)
            values[j] = arr
            missing[j] = miss
            continue
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
            miss = np.isnan(arr)
        else:
            # text, object, categorical or boolean column. Parse everything as text first
            # (so True/False and other objects are never silently read as 1/0), then look
            # at the few cells that are not plain numbers: missing text, labels, N/A, junk.
            text = s.astype("string")
            isna = text.isna().to_numpy()
            arr = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            miss = isna.copy()
            labels = dict(scale.items.labels)
            if pd.api.types.is_bool_dtype(dtype) and lo == 0 and hi == 1:
                labels.update({"true": 1, "false": 0})  # yes/no scale: True = yes
            odd = np.flatnonzero(np.isnan(arr) & ~isna)
            if odd.size:
                word = text.iloc[odd].str.strip().str.lower()
                is_miss = word.isin(missing_text).to_numpy()
                is_na = np.zeros(odd.size, dtype=bool)
                if j + 1 in na_items:
                    is_na = word.isin(na_codes).to_numpy()
                    na[j, odd[is_na]] = True
                mapped = word.map(labels).to_numpy(dtype=np.float64, na_value=np.nan)
                arr[odd] = mapped
                miss[odd[is_miss & ~is_na]] = True
                junk = ~is_miss & ~is_na & np.isnan(mapped)
                if junk.any():
                    nonnum = np.zeros(n, dtype=bool)
                    nonnum[odd[junk]] = True
                    bad_cell[j] |= nonnum
                    reasons.append((j, nonnum, s[nonnum].astype(str) + " is not a number"))
        if codes.size:
            miss |= np.isin(arr, codes)
        # never clip or coerce: anything not a whole number in [lo, hi] is invalid
        # (NaN compares False, so `ok` is False for missing cells; they are excluded below)
        ok = (arr >= lo) & (arr <= hi)
        ok &= np.floor(arr) == arr
        out = ~(ok | miss | na[j] | bad_cell[j])  # not-a-number cells are already reported
        _record_out(j, out)
        values[j] = arr
        missing[j] = miss if j + 1 not in na_items else miss & ~na[j]
    valid = ~(missing | na | bad_cell)
    np.copyto(values, 0.0, where=~valid)
    invalid = bad_cell.any(axis=0)
    invalid_rows = np.flatnonzero(invalid)
    invalid_reason = np.full(invalid_rows.size, "", dtype=object)
    for j, mask, text_ in reasons:  # one pass per offending column, over bad rows only
        at = np.searchsorted(invalid_rows, np.flatnonzero(mask))
        prev = invalid_reason[at]
        sep = np.where(prev == "", "", "; ")
        invalid_reason[at] = prev + sep + (f"{cols[j]}=" + text_.to_numpy(dtype=object))
    return _Parsed(values, valid, missing, na, invalid, invalid_rows, invalid_reason)


# --------------------------------------------------------------------------------------
# scoring one scale
# --------------------------------------------------------------------------------------
def _rows(idx: list[int]) -> slice | list[int]:
    """A slice when the item indices are consecutive (a view instead of a fancy-index copy)."""
    if idx == list(range(idx[0], idx[-1] + 1)):
        return slice(idx[0], idx[-1] + 1)
    return idx


def _half_up(x: np.ndarray) -> np.ndarray:
    """Round half up (4.5 → 5), unlike numpy/Python round-half-to-even (4.5 → 4)."""
    return np.floor(x + 0.5)


def _banded(total: np.ndarray, levels) -> pd.Categorical:
    """Band codes by table look-up on the (integer) totals; NaN → no band."""
    lo, hi = levels[0].min, levels[-1].max
    lut = np.full(hi - lo + 2, -1, dtype=np.int8)  # last slot: NaN
    for code, lv in enumerate(levels):
        lut[lv.min - lo : lv.max - lo + 1] = code
    idx = np.where(np.isnan(total), hi - lo + 1, total - lo).astype(np.intp)
    labels = [lv.label for lv in levels]
    return pd.Categorical.from_codes(lut[idx], categories=labels, ordered=True)


def _reasons(
    p: _Parsed, status: np.ndarray, req_missing: np.ndarray, cols: list[str], scale: Scale
) -> pd.Categorical:
    """The ``{id}_reason`` column as a categorical ("" for complete rows).

    Text is built once per distinct missing-item pattern (bit j set = required item j
    missing) and once per distinct invalid-value message — never once per row.
    """
    n = status.size
    codes = np.zeros(n, dtype=np.int32)
    cats: list[str] = [""]
    todo = np.flatnonzero((status == _PRORATED) | (status == _INCOMPLETE))
    if todo.size:
        bits = np.left_shift(1, np.arange(len(cols), dtype=np.int64))[:, None]
        pattern = (req_missing[:, todo] * bits).sum(axis=0)
        uniq, inverse = np.unique(pattern, return_inverse=True)
        codes[todo] = len(cats) + inverse.ravel()
        cats += _missing_text(uniq, cols, scale)
    if p.invalid_rows.size:
        fac, uniques = pd.factorize(p.invalid_reason)
        codes[p.invalid_rows] = len(cats) + fac
        cats += [str(u) for u in uniques]
    if len(set(cats)) != len(cats):  # two messages happen to coincide: let pandas merge them
        return pd.Categorical(np.asarray(cats, dtype=object)[codes])
    return pd.Categorical.from_codes(codes, categories=cats)


def _missing_text(patterns: np.ndarray, cols: list[str], scale: Scale) -> list[str]:
    """Reason text for each distinct missing pattern (bit j set = required item j missing)."""
    pol = scale.missing
    never = set(pol.never_prorate)
    tail = " — no total" if scale.has_total else ""
    texts = []
    for key in patterns.tolist():
        miss = [j for j in range(len(cols)) if key >> j & 1]
        names = ", ".join(str(cols[j]) for j in miss)
        items = [j + 1 for j in miss]
        blocked = sorted(never.intersection(items))
        if blocked:
            texts.append(
                f"{len(miss)} missing ({names}); item {', '.join(map(str, blocked))} is never "
                f"prorated{tail}"
            )
        elif len(miss) <= pol.max_prorated:
            texts.append(f"prorated: {len(miss)} missing ({names})")
        else:
            texts.append(
                f"{len(miss)} missing ({names}); policy allows at most {pol.max_prorated}{tail}"
            )
    return texts


def _count(mask: np.ndarray) -> np.ndarray:
    """Per-row count of True cells in a (k, n) bool array (fast for small k)."""
    return mask.sum(axis=0, dtype=np.int16 if mask.shape[0] < 32_000 else np.int64)


class _RuleCache:
    """Endorsement counts per (items, thresholds), shared by rules that reuse them.

    Accumulates item by item (k vector additions of length n) instead of building
    (k, n) temporaries — the hot path of the 1M-row benchmark.
    """

    def __init__(self, p: _Parsed) -> None:
        self.p = p
        self.any_na = bool(p.na.any())
        self.cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def counts(self, items: list[int], thresholds: list[int]) -> tuple[np.ndarray, np.ndarray]:
        key = (tuple(items), tuple(thresholds))
        if key not in self.cache:
            n = self.p.values.shape[1]
            lo = np.zeros(n, dtype=np.int16)
            known = np.zeros(n, dtype=np.int16)  # answered or not applicable
            for i, t in zip(items, thresholds, strict=True):
                j = i - 1
                hit = self.p.values[j] >= t  # values are 0 where not valid
                if t <= 0:
                    hit &= self.p.valid[j]
                lo += hit
                known += self.p.valid[j]
                if self.any_na:
                    known += self.p.na[j]
            self.cache[key] = (lo, len(items) - known)
        return self.cache[key]


def _score_one(
    frame: pd.DataFrame,
    scale: Scale,
    cols: list[str],
    missing_codes: frozenset[float],
    missing_text: frozenset[str],
) -> dict[str, object]:
    sid = scale.id
    n = len(frame)
    p = _parse(frame, cols, scale, missing_codes, missing_text)
    k = scale.items.count
    if scale.items.reverse:
        rev = [i - 1 for i in scale.items.reverse]
        flipped = scale.items.min + scale.items.max - p.values[rev]
        p.values[rev] = np.where(p.valid[rev], flipped, 0.0)

    opt = [i - 1 for i in scale.items.optional]
    req = [j for j in range(k) if j not in opt]
    req_missing = p.missing[req] if opt else p.missing  # NA (not applicable) is not missing
    n_req_missing = _count(req_missing)
    never = [req.index(i - 1) for i in scale.missing.never_prorate]
    never_missing = req_missing[never].any(axis=0) if never else np.zeros(n, dtype=bool)
    answered = _count(p.valid)

    status = np.full(n, _INCOMPLETE, dtype=np.int8)
    status[n_req_missing == 0] = _COMPLETE
    status[(n_req_missing > 0) & (n_req_missing <= scale.missing.max_prorated) & ~never_missing] = (
        _PRORATED
    )
    status[p.invalid] = _INVALID
    is_complete, is_prorated = status == _COMPLETE, status == _PRORATED

    cols_out: dict[str, object] = {}
    if scale.has_total:
        raw = p.values.sum(axis=0)
        total = np.where(is_complete, raw, np.nan)
        if is_prorated.any():
            r = np.flatnonzero(is_prorated)
            scorable = k - _count(p.na[:, r]) if scale.not_applicable else k
            total[r] = _half_up(raw[r] * scorable / answered[r])
        cols_out[f"{sid}_total"] = total
        if scale.bands is not None:
            cols_out[f"{sid}_band"] = _banded(total, scale.bands.levels)
        if scale.not_applicable is not None:
            rng = np.where(
                p.na.any(axis=0),
                f"{scale.total_min}-{scale.not_applicable.total_max_when_na}",
                f"{scale.total_min}-{scale.total_max}",
            ).astype(object)
            rng[np.isnan(total)] = None
            cols_out[f"{sid}_range"] = rng
    cols_out[f"{sid}_answered"] = answered.astype(np.int64)
    cols_out[f"{sid}_status"] = pd.Categorical.from_codes(status, categories=list(STATUSES))

    cols_out[f"{sid}_reason"] = _reasons(p, status, req_missing, [cols[j] for j in req], scale)

    # subscales: sum of their items, only when all answered and the row is not invalid
    for sub in scale.subscales:
        idx = _rows([i - 1 for i in sub.items])
        full = p.valid[idx].all(axis=0) & ~p.invalid
        sub_total = np.where(full, p.values[idx].sum(axis=0), np.nan)
        cols_out[f"{sid}_{sub.id}"] = sub_total
        if sub.bands is not None:
            cols_out[f"{sid}_{sub.id}_band"] = _banded(sub_total, sub.bands.levels)

    # critical items: from the answered value, whatever the row status
    for crit in scale.critical_items:
        j = crit.item - 1
        v, ok_j = p.values[j], p.valid[j]
        cols_out[f"{sid}_{crit.name}_flag"] = ok_j & (v >= crit.flag_at)
        if crit.escalate_at is not None:
            cols_out[f"{sid}_{crit.name}_escalate"] = ok_j & (v >= crit.escalate_at)
        cols_out[f"{sid}_{crit.name}_missing"] = ~ok_j

    cache = _RuleCache(p)
    for rule in scale.rules:
        all_true = np.ones(n, dtype=bool)
        any_false = np.zeros(n, dtype=bool)
        for cond in rule.conditions:
            lo, unknown = cache.counts(cond.items, cond.thresholds())
            hi = lo + unknown
            max_c = np.iinfo(np.int16).max if cond.max_count is None else cond.max_count
            all_true &= (lo >= cond.min_count) & (hi <= max_c)
            any_false |= (hi < cond.min_count) | (lo > max_c)
            if cond.count_column:
                cols_out[f"{sid}_{cond.count_column}"] = np.where(
                    (unknown == 0) & ~p.invalid, lo, np.nan
                )
        unknown_rule = ~all_true & ~any_false
        if not rule.safety:
            unknown_rule |= p.invalid
        cols_out[f"{sid}_{rule.id}"] = pd.arrays.BooleanArray(
            all_true & ~unknown_rule, unknown_rule
        )
    return cols_out


# --------------------------------------------------------------------------------------
# the safety rule — the one place that says what a positive safety answer is
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SafetyCheck:
    """The safety rule of one scale, read from its registry file.

    A row is *positive* when any critical item is answered at or above its ``flag_at``
    (PHQ-9 item 9 ≥ 1, Simon et al. 2013, doi 10.1176/appi.ps.201200587) or any rule marked
    ``safety: true`` holds (ASQ: yes to any of items 1–4, NIMH ASQ toolkit 2017); *unknown*
    when not positive and a safety item is unanswered (review, never cleared).
    """

    scale_id: str
    #: 1-based items the rule reads, in order
    items: tuple[int, ...]
    #: the rule in words, e.g. "phq9 item 9 ≥ 1"
    text: str
    #: the published sources of every part of the rule
    source: str


def safety_check(scale: Scale | str) -> SafetyCheck | None:
    """The :class:`SafetyCheck` of a scale, or None when it has no safety item or rule."""
    sc = get_scale(scale) if isinstance(scale, str) else scale
    parts: list[str] = []
    items: list[int] = []
    sources: list[str] = []
    for crit in sc.critical_items:
        parts.append(f"{sc.id} item {crit.item} ≥ {crit.flag_at}")
        items.append(crit.item)
        sources.append(crit.source)
    for rule in sc.rules:
        if rule.safety:
            used = sorted({i for cond in rule.conditions for i in cond.items})
            parts.append(f"{sc.id} {rule.name} (items {'/'.join(map(str, used))})")
            items += used
            sources.append(rule.source)
    if not parts:
        return None
    return SafetyCheck(
        sc.id, tuple(dict.fromkeys(items)), " or ".join(parts), "; ".join(dict.fromkeys(sources))
    )


def safety_from_scored(scored: Mapping[str, Any], scale: Scale) -> tuple[np.ndarray, np.ndarray]:
    """(positive, unknown) boolean arrays from the ``{id}_*`` columns :func:`score` adds.

    ``positive``: a critical item flagged or a safety rule true. ``unknown``: not positive,
    and a critical item unanswered or a safety rule undetermined (<NA>).
    """
    if isinstance(scored, pd.DataFrame):
        n = len(scored)
    else:
        n = len(next(iter(scored.values()))) if scored else 0
    positive = np.zeros(n, dtype=bool)
    unknown = np.zeros(n, dtype=bool)
    for crit in scale.critical_items:
        positive |= np.asarray(scored[f"{scale.id}_{crit.name}_flag"], dtype=bool)
        unknown |= np.asarray(scored[f"{scale.id}_{crit.name}_missing"], dtype=bool)
    for rule in scale.rules:
        if rule.safety:
            value = pd.array(scored[f"{scale.id}_{rule.id}"], dtype="boolean")
            positive |= np.asarray(value.fillna(False), dtype=bool)
            unknown |= np.asarray(value.isna(), dtype=bool)
    return positive, unknown & ~positive


def safety_screen(
    frame: pd.DataFrame, scale: Scale | str, *, item_prefix: str = "item_"
) -> pd.DataFrame:
    """Safety result per row of ``frame`` (item columns ``item_1…``): ``positive``,
    ``unknown`` (bool) and ``escalated`` (a critical item at or above its ``escalate_at``,
    PHQ-9 item 9 ≥ 2; <NA> when the scale has no escalation level or it is unanswered),
    indexed like ``frame``.

    Only the items the rule reads must be present (InputError names a missing one); the
    other items of the scale may be absent — the rule reads answered values whatever the
    row's scoring status, so a positive answer is never hidden by other problems.
    """
    sc = get_scale(scale) if isinstance(scale, str) else scale
    check = safety_check(sc)
    if check is None:
        raise InputError(f"{sc.short_name} has no safety item or safety rule", rule="safety scale")
    need = [f"{item_prefix}{i}" for i in check.items]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise InputError(
            f"assessments for {sc.id} lack safety item column {missing[0]!r}",
            column=missing[0],
            rule="safety items required",
        )
    cols = [f"{item_prefix}{i}" for i in range(1, sc.items.count + 1)]
    items = frame.reindex(columns=cols)
    res = _score_one(items, sc, cols, frozenset(), MISSING_TEXT)  # type: ignore[arg-type]
    positive, unknown = safety_from_scored(res, sc)
    escalated = pd.array(np.zeros(len(frame), dtype=bool), dtype="boolean")
    levels = [c for c in sc.critical_items if c.escalate_at is not None]
    if levels:
        esc = np.logical_or.reduce(
            [np.asarray(res[f"{sc.id}_{c.name}_escalate"], dtype=bool) for c in levels]
        )
        unanswered = np.logical_and.reduce(
            [np.asarray(res[f"{sc.id}_{c.name}_missing"], dtype=bool) for c in levels]
        )
        escalated = pd.array(esc, dtype="boolean")
        escalated[~esc & unanswered] = pd.NA
    else:
        escalated[:] = pd.NA  # the scale has no escalation level (ASQ)
    return pd.DataFrame(
        {"positive": positive, "unknown": unknown, "escalated": escalated}, index=frame.index
    )


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------
MissingCodes = Iterable[float] | Mapping[str, Iterable[float]] | None


def _codes(missing_codes: MissingCodes, scale: Scale) -> frozenset[float]:
    """The missing codes that apply to ``scale``; refuses a code that is a valid answer.

    ``missing_codes`` is one set for every scale, or a mapping scale id → codes.
    """
    if missing_codes is None:
        return frozenset()
    if isinstance(missing_codes, Mapping):
        per = {get_scale(k).id: v for k, v in missing_codes.items()}
        chosen: Iterable[float] = per.get(scale.id, ())
    else:
        chosen = missing_codes
    out = set()
    for c in chosen:
        try:
            out.add(float(c))
        except (TypeError, ValueError):
            raise InputError(f"missing code {c!r} is not a number", rule="missing_codes") from None
    clash = sorted(c for c in out if scale.items.min <= c <= scale.items.max and c == int(c))
    if clash:
        raise InputError(
            f"missing code(s) {', '.join(f'{c:g}' for c in clash)} are valid answers on "
            f"{scale.short_name} ({scale.items.min}–{scale.items.max}); declare codes per "
            f"scale, e.g. missing_codes={{'phq9': {{7, 9}}}} (CLI: --missing-codes phq9=7,9)",
            rule="missing_codes",
        )
    return frozenset(out)


#: Rows scored at a time: the per-item work arrays ((items × rows) floats and masks) stay
#: near 100 MB whatever the input size, so peak memory is the input, the output and one
#: chunk's temporaries (issue 17: memory ≤ input + output + 20 %).
SCORE_CHUNK_ROWS = 1_000_000


def _concat_parts(parts: list[dict[str, object]]) -> dict[str, object]:
    """Join the columns of consecutive row chunks (categoricals by union of categories)."""
    out: dict[str, object] = {}
    for name, first in parts[0].items():
        pieces = [p[name] for p in parts]
        if isinstance(first, pd.Categorical):
            out[name] = union_categoricals(pieces, ignore_order=False)
        elif isinstance(first, np.ndarray):
            out[name] = np.concatenate(pieces)
        else:
            out[name] = pd.concat([pd.Series(x) for x in pieces], ignore_index=True).array
    return out


def score(
    frame: pd.DataFrame,
    scales: str | Sequence[str],
    *,
    items: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    missing_codes: MissingCodes = None,
    missing_text: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Score rating scales; return a copy of ``frame`` with score columns appended.

    Parameters
    ----------
    frame
        One row per administration; item columns as answered (numbers or numeric text).
        Not modified.
    scales
        Scale ids (``"phq9"``, ``["phq9", "gad7"]``); see ``iopkit scales``.
    items
        Explicit item columns in item order: ``{"phq9": ["DPQ010", …]}``, or a plain list
        when one scale is requested. Otherwise found by conventional names
        (:func:`find_item_columns`).
    missing_codes
        Numeric codes that mean "no answer" (NHANES: ``{7, 9}``); never scored. One set
        for all scales or ``{"phq9": {7, 9}}`` per scale. A code that is a valid answer
        on a scale (7 on AAQ-II, 1–7) raises InputError instead of hiding answers.
    missing_text
        Text answers meaning "no answer" (default :data:`MISSING_TEXT`).

    Returns
    -------
    DataFrame
        Every input row and column, then per scale ``{id}``:
        ``{id}_total`` (float points; NA unless complete/prorated), ``{id}_band``
        (ordered categorical), ``{id}_answered`` (int), ``{id}_status`` (categorical:
        complete, prorated, incomplete, invalid), ``{id}_reason`` (categorical text; ""
        when complete),
        ``{id}_{subscale}`` (+ ``_band``), critical items ``{id}_{name}_flag`` /
        ``_escalate`` / ``_missing`` (bool), rules ``{id}_{rule}`` (nullable boolean)
        and rule counts; WSAS adds ``wsas_range`` ("0-40" or "0-32").

    Raises
    ------
    InputError
        Item columns not found (message lists the names looked for), a score column
        that already exists in ``frame``, or a bad argument.
    ConfigError
        Unknown scale id.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    ids = [scales] if isinstance(scales, str) else list(scales)
    if not ids:
        raise InputError("no scale requested", rule="scales")
    scale_objs = [get_scale(s) for s in ids]
    if len({s.id for s in scale_objs}) != len(scale_objs):
        raise InputError(f"a scale is requested twice: {ids}", rule="scales")
    if items is not None and not isinstance(items, Mapping):
        if len(scale_objs) != 1:
            raise InputError("a plain list of item columns needs exactly one scale", rule="items")
        items = {scale_objs[0].id: list(items)}
    explicit = {get_scale(k).id: v for k, v in (items or {}).items()}
    unknown = set(explicit) - {s.id for s in scale_objs}
    if unknown:
        raise InputError(f"items given for scales not requested: {sorted(unknown)}", rule="items")
    mtext = frozenset(
        MISSING_TEXT if missing_text is None else (str(t).strip().lower() for t in missing_text)
    )
    if not frame.columns.is_unique:
        dup = frame.columns[frame.columns.duplicated()].tolist()
        raise InputError(f"duplicate column names in the input: {dup}", rule="unique columns")

    new: dict[str, object] = {}
    for sc in scale_objs:
        if sc.id in explicit:
            cols = _explicit_columns(frame, sc, explicit[sc.id])
        else:
            cols = find_item_columns(frame, sc, generic=len(scale_objs) == 1)
        codes = _codes(missing_codes, sc)
        parts = [
            _score_one(frame.iloc[a : a + SCORE_CHUNK_ROWS], sc, cols, codes, mtext)
            for a in range(0, max(len(frame), 1), SCORE_CHUNK_ROWS)
        ]
        new.update(parts[0] if len(parts) == 1 else _concat_parts(parts))
    clash = [c for c in new if c in frame.columns]
    if clash:
        raise InputError(
            f"the input already has score columns {clash}; drop or rename them before scoring",
            rule="no overwrite",
        )
    added = pd.DataFrame(new, index=frame.index)
    return pd.concat([frame, added], axis=1)


def score_assessments(
    frame: pd.DataFrame,
    *,
    scale_col: str = "scale",
    item_prefix: str = "item_",
    missing_codes: MissingCodes = None,
) -> pd.DataFrame:
    """Score a mixed assessments table (iopkit data contract: ``scale`` + ``item_1…item_n``).

    Returns every input row and column plus ``total``, ``band`` (str), ``answered``,
    ``status``, ``reason`` and ``safety_flag`` (any critical item flagged or safety rule
    true). Rows whose scale id is unknown are kept with status ``invalid`` and a reason.
    Item columns beyond a scale's item count must be blank for its rows (else invalid).
    """
    if scale_col not in frame.columns:
        raise InputError(f"column {scale_col!r} not found", column=scale_col, rule="required")
    clash = [c for c in _ASSESSMENT_COLS if c in frame.columns]
    if clash:
        raise InputError(f"the input already has columns {clash}", rule="no overwrite")
    n = len(frame)
    total = np.full(n, np.nan)
    band = np.full(n, None, dtype=object)
    answered = np.zeros(n, dtype=np.int64)
    status = np.full(n, "invalid", dtype=object)
    reason = np.full(n, "", dtype=object)
    safety = np.zeros(n, dtype=bool)
    keys = frame[scale_col].astype("string").str.strip().str.lower().fillna("").to_numpy()
    item_cols = {
        int(m.group(1)): str(c)
        for c in frame.columns
        if (m := re.fullmatch(re.escape(item_prefix) + r"(\d+)", str(c), flags=re.I))
    }
    for key in pd.unique(keys):
        r = np.flatnonzero(keys == key)
        try:
            sc = get_scale(str(key))
        except UnknownIdError:
            reason[r] = f"unknown scale {key!r}" if key else f"no scale in column {scale_col!r}"
            continue
        need = [item_cols.get(i) for i in range(1, sc.items.count + 1)]
        if None in need:
            lack = [f"{item_prefix}{i}" for i, c in enumerate(need, 1) if c is None]
            raise InputError(
                f"{sc.short_name} rows need item columns {', '.join(lack)}", rule="item columns"
            )
        rows = frame.iloc[r]
        codes = _codes(missing_codes, sc)
        res = _score_one(rows, sc, need, codes, MISSING_TEXT)  # type: ignore[arg-type]
        st = np.array(res[f"{sc.id}_status"], dtype=object)
        rs = np.array(res[f"{sc.id}_reason"], dtype=object)
        extra = [c for i, c in item_cols.items() if i > sc.items.count]
        spill = rows[extra].notna().to_numpy().any(axis=1) if extra else np.zeros(len(r), bool)
        st[spill] = "invalid"
        rs[spill] = f"{sc.short_name} has {sc.items.count} items but later item columns are filled"
        if sc.has_total:
            tot = np.where(spill, np.nan, np.asarray(res[f"{sc.id}_total"], dtype=np.float64))
            total[r] = tot
            if sc.bands is not None:
                labels = np.asarray(res[f"{sc.id}_band"], dtype=object)
                band[r] = np.where(np.isnan(tot), None, labels)
        answered[r] = res[f"{sc.id}_answered"]
        status[r], reason[r] = st, rs
        safety[r] = safety_from_scored(res, sc)[0]
    out = pd.DataFrame(
        {
            "total": total,
            "band": pd.Series(band, index=frame.index, dtype=object),
            "answered": answered,
            "status": pd.Categorical(status, categories=list(STATUSES)),
            "reason": pd.Series(reason, index=frame.index, dtype=object),
            "safety_flag": safety,
        },
        index=frame.index,
    )
    return pd.concat([frame, out], axis=1)


def score_long(
    frame: pd.DataFrame,
    id_cols: Sequence[str],
    scale_col: str = "scale",
    item_col: str = "item",
    response_col: str = "response",
    *,
    missing_codes: MissingCodes = None,
) -> pd.DataFrame:
    """Score long-format responses (one row per item answer).

    ``item_col`` holds the item number (1-based); rows sharing ``id_cols`` + scale form one
    administration. Returns one row per administration: ``id_cols``, ``scale_col``, the
    items as ``item_1…item_n`` and the :func:`score_assessments` columns. Duplicate answers
    to the same item raise InputError naming the first duplicate.
    """
    need = [*id_cols, scale_col, item_col, response_col]
    absent = [c for c in need if c not in frame.columns]
    if absent:
        raise InputError(f"columns not found: {', '.join(absent)}", rule="required columns")
    item_no = pd.to_numeric(frame[item_col], errors="coerce")
    bad = item_no.isna() | (item_no != np.floor(item_no)) | (item_no < 1)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"item number {frame[item_col].iloc[i]!r} is not a positive integer",
            row=i + 2,
            column=item_col,
            rule="item number",
        )
    keys = [*id_cols, scale_col]
    dup = frame.assign(_k=item_no).duplicated([*keys, "_k"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            "the same item is answered twice for one administration",
            row=i + 2,
            column=item_col,
            rule="one answer per item",
        )
    tidy = frame[keys].copy()
    tidy["_item"] = item_no.astype(int).to_numpy()
    tidy["_resp"] = frame[response_col].to_numpy()
    wide = tidy.pivot(index=keys, columns="_item", values="_resp")
    counts = []
    for key in pd.unique(frame[scale_col].astype("string").str.strip().str.lower().dropna()):
        try:
            counts.append(get_scale(str(key)).items.count)
        except UnknownIdError:  # unknown scale: reported row by row by score_assessments
            continue
    width = max([*counts, int(item_no.max()) if len(item_no) else 0])
    wide = wide.reindex(columns=range(1, width + 1))
    wide.columns = [f"item_{i}" for i in wide.columns]
    wide = wide.reset_index()
    return score_assessments(wide, scale_col=scale_col, missing_codes=missing_codes)
