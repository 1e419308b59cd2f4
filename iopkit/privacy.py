"""The direct-identifier rule, in one place.

iopkit holds pseudonymous data only. A column (or report parameter) whose name says it holds
a direct identifier — a name, a phone number, a medical record number, a date of birth … —
is refused wherever data enters or leaves: when a bundle is loaded
(:func:`check_identifiers`), when a report parameter is declared, and when a published report
shows a table (:func:`is_direct_identifier` on its headers).

The list itself is data, ``iopkit/identifiers.yaml``, one entry per HIPAA Safe Harbor
category (45 CFR 164.514(b)(2)(i)(A)–(R)); this module only normalises names and matches.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from iopkit.errors import ConfigError, InputError

__all__ = [
    "IdentifierRule",
    "check_identifiers",
    "identifier_category",
    "is_direct_identifier",
    "name_tokens",
]

_CAMEL_1 = re.compile(r"([a-z])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class IdentifierRule:
    """One Safe Harbor category: its letter, what it covers and how names are matched."""

    code: str
    what: str
    tokens: frozenset[str]
    pairs: tuple[tuple[frozenset[str], frozenset[str]], ...]
    compact: tuple[str, ...]
    exact: frozenset[str]
    person_name: bool

    def matches(self, tokens: list[str], compact: str, not_person: frozenset[str]) -> bool:
        """True when a name (as tokens and compact form) falls under this category."""
        if self.tokens.intersection(tokens) or compact in self.exact:
            return True
        if any(c in compact for c in self.compact):
            return True
        for first, second in self.pairs:
            a = [i for i, t in enumerate(tokens) if t in first]
            b = [i for i, t in enumerate(tokens) if t in second]
            if any(i != j for i in a for j in b):
                return True
        return (
            self.person_name
            and bool({"name", "names"}.intersection(tokens))
            and not not_person.intersection(tokens)
        )


@dataclass(frozen=True)
class _Rules:
    categories: tuple[IdentifierRule, ...]
    not_person: frozenset[str]
    allowed: Mapping[str, frozenset[str]]


@functools.cache
def _rules() -> _Rules:
    from iopkit.yamlio import load_yaml_text

    file = resources.files("iopkit") / "identifiers.yaml"
    doc = load_yaml_text(file.read_text(encoding="utf-8"), file="iopkit/identifiers.yaml")
    _words_only(doc.data)
    cats = []
    for c in doc.data["categories"]:
        cats.append(
            IdentifierRule(
                code=c["code"],
                what=c["what"],
                tokens=frozenset(c.get("tokens", ())),
                pairs=tuple((frozenset(a), frozenset(b)) for a, b in c.get("pairs", ())),
                compact=tuple(c.get("compact", ())),
                exact=frozenset(c.get("exact", ())),
                person_name=bool(c.get("person_name", False)),
            )
        )
    allowed = {str(t): frozenset(cols) for t, cols in doc.data["allowed"].items()}
    return _Rules(tuple(cats), frozenset(doc.data["not_person_names"]), allowed)


def _words_only(value: object, where: str = "identifiers.yaml") -> None:
    """Every list entry must be text: YAML 1.1 reads a bare ``no`` as False (quote it)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "person_name":
                _words_only(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _words_only(v, f"{where}[{i}]")
    elif not isinstance(value, str):
        raise ConfigError(f"{where}: {value!r} is not text — quote it in iopkit/identifiers.yaml")


def name_tokens(name: str) -> list[str]:
    """Lower-case word tokens of a column name: camelCase, punctuation and digits split.

    >>> name_tokens("PtDOB"), name_tokens("Addr1"), name_tokens("D.O.B.")
    (['pt', 'dob'], ['addr'], ['d', 'o', 'b'])
    """
    text = _CAMEL_2.sub(r"\1 \2", _CAMEL_1.sub(r"\1 \2", str(name)))
    return _WORD.findall(text.lower())


def identifier_category(column: str, table: str | None = None) -> IdentifierRule | None:
    """The Safe Harbor category a column name falls under, or None (see module docstring)."""
    rules = _rules()
    name = str(column).strip()
    if name in rules.allowed.get("*", ()) or (table and name in rules.allowed.get(table, ())):
        return None
    tokens = name_tokens(name)
    compact = "".join(tokens)
    for rule in rules.categories:
        if rule.matches(tokens, compact, rules.not_person):
            return rule
    return None


def is_direct_identifier(column: str, table: str | None = None) -> bool:
    """True when a column or parameter name looks like a direct identifier (name, MRN, DOB…).

    ``table`` names the contract table the column belongs to, where a few names are
    allowed (``cohorts.name`` is a cohort's name).
    """
    return identifier_category(column, table) is not None


def check_identifiers(columns: Mapping[str, tuple[str | None, Iterable[str]]]) -> None:
    """Refuse direct identifiers. ``columns``: file -> (table or None, column names).

    Raises :class:`InputError` listing every offending file and column with its category.
    """
    found: dict[str, list[tuple[str, IdentifierRule]]] = {}
    for file, (table, cols) in columns.items():
        hits = [(c, r) for c in cols if (r := identifier_category(str(c), table)) is not None]
        if hits:
            found[file] = hits
    if found:
        listing = "; ".join(
            f"{f}: " + ", ".join(f"{c!r} ({r.what.split(' (')[0]})" for c, r in hits)
            for f, hits in found.items()
        )
        first_file, first_hits = next(iter(found.items()))
        raise InputError(
            "direct identifiers are not accepted (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)) — "
            "remove these columns and use pseudonymous ids (P00001…) before loading: "
            f"{listing}",
            file=first_file,
            column=first_hits[0][0],
            rule="direct_identifier",
        )
