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
    "TextFinding",
    "check_identifiers",
    "find_identifiers_in_text",
    "has_url_password",
    "identifier_category",
    "is_direct_identifier",
    "name_tokens",
    "redact_text",
    "redact_url",
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

    def matches(self, tokens: list[str], compact: str, person: frozenset[str]) -> bool:
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
        if not self.person_name or not {"name", "names"}.intersection(tokens):
            return False
        others = [t for t in tokens if t not in ("name", "names")]
        return not others or bool(person.intersection(others))


@dataclass(frozen=True)
class _Rules:
    categories: tuple[IdentifierRule, ...]
    person_words: frozenset[str]
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
    return _Rules(tuple(cats), frozenset(doc.data["person_words"]), allowed)


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
        if rule.matches(tokens, compact, rules.person_words):
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


# --- identifiers inside free text ------------------------------------------------------------
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS},?\s+\d{{4}}|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
#: (kind, pattern) scanned in free-text fields (goal text, event notes), in this order.
#: E-mail: RFC 5322 simplified to what people type; telephone: NANP (555-867-5309,
#: (555) 867 5309, +1 …), UK (+44 / 0 trunk prefix) and other E.164 numbers; SSN-like:
#: ddd-dd-dddd; dates of birth: a full date within a few words after DOB / born / birthday.
TEXT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "email address",
        re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ),
    ("social security number", re.compile(r"(?<!\d)\d{3}[- ]\d{2}[- ]\d{4}(?!\d)")),
    (
        "date of birth",
        re.compile(
            rf"(?i)\b(?:d\.?o\.?b\.?|date\s+of\s+birth|born(?:\s+on)?|birth\s*day|birth\s*date)"
            rf"\W{{0,3}}(?:\w+\W+){{0,3}}?{_DATE}"
        ),
    ),
    (
        "telephone number",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,5}\)[\s.-]?|\d{2,5}[\s.-])"
            r"\d{3,4}[\s.-]?\d{3,4}(?![\w-])"
            r"|(?<![\w+])\+?\d{10,13}(?!\w)"
        ),
    ),
)


@dataclass(frozen=True)
class TextFinding:
    """An identifier found in free text: its kind and where (character offsets)."""

    kind: str
    start: int
    end: int


def find_identifiers_in_text(text: str) -> list[TextFinding]:
    """Identifiers (e-mail, SSN-like, date of birth, telephone) in a free-text value."""
    found: list[TextFinding] = []
    taken = [False] * len(text)
    for kind, pattern in TEXT_PATTERNS:
        for m in pattern.finditer(text):
            if any(taken[m.start() : m.end()]):
                continue
            digits = sum(ch.isdigit() for ch in m.group(0))
            if kind == "telephone number" and digits < 10:
                continue  # "3 times a week", "20-30 minutes": not a number people dial
            found.append(TextFinding(kind, m.start(), m.end()))
            taken[m.start() : m.end()] = [True] * (m.end() - m.start())
    return sorted(found, key=lambda f: f.start)


def redact_text(text: str) -> tuple[str, list[TextFinding]]:
    """``text`` with every identifier replaced by ``[redacted <kind>]``, and the findings."""
    findings = find_identifiers_in_text(text)
    out, pos = [], 0
    for f in findings:
        out += [text[pos : f.start], f"[redacted {f.kind}]"]
        pos = f.end
    out.append(text[pos:])
    return "".join(out), findings


# --- secrets in URLs -----------------------------------------------------------------------
# RFC 3986 §3.2.1 (userinfo = user[:password]@host); the password is everything between the
# first ':' of the userinfo and the LAST '@' before the host, so a password holding '@', ':'
# or '/' is still hidden whole. Matched anywhere in a text (a message, a log line).
#: up to the last '@' of a whitespace- or quote-delimited token
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<pw>\S*?)@(?=[^@\s'\"]*(?:[\s'\"]|$))"
)
#: any remaining ``user:pw@`` (a token that holds several URLs)
_URL_PASSWORD_ANY = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]+)@")


def has_url_password(text: str) -> bool:
    """Whether ``text`` holds a URL with a password in its userinfo (``user:pw@host``)."""
    return _URL_PASSWORD_ANY.search(text) is not None


def redact_url(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    Use it on anything shown or stored that may hold a database URL: messages, report
    parameters, manifests, logs. ``postgresql://iop:s3cr@t@db/iop`` →
    ``postgresql://iop:***@db/iop``.
    """

    def hide(m: re.Match[str]) -> str:
        return f"{m.group('head')}***@"

    out = _URL_PASSWORD.sub(hide, text)
    return _URL_PASSWORD_ANY.sub(hide, out)
