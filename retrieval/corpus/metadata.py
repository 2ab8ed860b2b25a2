"""What the lines around an article say about it: its date, author, source and a title.

Patterns for datelines ("19 juin 2024 23:09 Mis à jour : …"), bylines ("Par Adam Morrow"),
credit lines ("Avec Reuters", "Agence France-Presse") and the lead sentence of a news
story, from which a title and the media it cites can be derived when the file names none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date as _date

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("janvier", "january", "jan"),
            ("février", "fevrier", "february", "feb"),
            ("mars", "march", "mar"),
            ("avril", "april", "apr"),
            ("mai", "may"),
            ("juin", "june", "jun"),
            ("juillet", "july", "jul"),
            ("août", "aout", "august", "aug"),
            ("septembre", "september", "sept", "sep"),
            ("octobre", "october", "oct"),
            ("novembre", "november", "nov"),
            ("décembre", "decembre", "december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
DATE_PREFIX = re.compile(r"^\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)\b\s*", re.IGNORECASE)
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH_RE})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b")
_TIME = re.compile(r"\b\d{1,2}\s?(?:[:h]\s?\d{2}|h)\b(?:\s?(?:am|pm|GMT|UTC|HE|HNE|CET|CEST))?", re.IGNORECASE)
# What a dateline says besides its dates and times.
_DATELINE_WORDS = re.compile(
    r"\b(?:mis\s+à\s+jour|mise\s+à\s+jour|publié|publiée|modifié|updated|published|posted|modified|last|"
    r"le|à|a|at|on|du|de|the|et|and|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|heure|heures|il\s+y\s+a)\b",
    re.IGNORECASE,
)

_NAME = r"[A-ZÀ-ÖØ-Þ][\w’'.-]+"
BYLINE = re.compile(rf"^(?:Par|By)\s+({_NAME}(?:\s+(?:de\s+|van\s+|von\s+|et\s+|and\s+)?{_NAME}){{0,4}})\s*$")

_AGENCIES = (
    r"Agence France-Presse|AFP|Reuters|Associated Press|AP|ANSA|ATS|Belga|DPA|EFE"
    r"|Kyodo|Yonhap|TASS|Xinhua|KCNA|Bloomberg|The Associated Press"
)
AGENCY_LINE = re.compile(
    rf"^(?:(?:Avec|With|Source\s*:)\s+(?:l[’']|les?\s+|la\s+)?)?((?:{_AGENCIES})(?:\s+(?:et|and|,)\s+(?:{_AGENCIES}))*)\.?$",
    re.IGNORECASE,
)
# A place the story was filed from, opening its first paragraph: "(Séoul) ", "SÉOUL – ".
DATELINE = re.compile(r"^(?:\([^()]{2,30}\)\s+|[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ' .-]{2,30}\s+[–—-]\s+)")


def looks_like_dateline(line: str) -> bool:
    """A short line of dates and times with at most a word or two besides ("Mis à jour", "Publié le")."""
    if len(line) > 100:
        return False
    rest, found = line, 0
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR, _ISO_DATE, _NUMERIC_DATE, _TIME):
        rest, n = pattern.subn(" ", rest)
        found += n
    if not found:
        return False
    rest = _DATELINE_WORDS.sub(" ", rest)
    return len(re.findall(r"[^\W\d_]{2,}", rest)) <= 1


def find_date(lines: Iterable[str]) -> str | None:
    for line in lines:
        if len(line) > 80:  # a dateline is short; dates inside prose are events, not publication
            continue
        if m := _DAY_MONTH_YEAR.search(line):
            return _iso(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
        if m := _MONTH_DAY_YEAR.search(line):
            return _iso(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
        if m := _ISO_DATE.search(line):
            return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _NUMERIC_DATE.search(line):  # 19/06/2024, 19.06.2024: day first, as in French
            return _iso(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return _date(year, month, day).isoformat()
    except ValueError:
        return None


def normalise_date(value: str) -> str | None:
    """ISO ``YYYY-MM-DD`` or ``YYYY-MM``; an impossible date (2024-02-30) is dropped, not kept."""
    value = value.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", value):
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", value):
        return value if 1 <= int(m.group(2)) <= 12 else None
    return find_date([value[:80]]) or None


# The lead of a news story often opens on its date ("Le 19 juin, …", "On June 19, 2024, …"),
# names people with an apposition ("Vladimir Poutine, le chef d’État russe, …") and ends on
# where it got the news (", d’après les médias russes."). That media is the article's source
# when no credit line names one; without those pieces the lead makes a headline. Its date
# is not the article's: it may be an event's ("Le 20 mai 1875, …" opens an encyclopedia entry).
_LEAD_DATE = re.compile(
    rf"^(?:(?:Le|On)\s+)?(?:(\d{{1,2}})(?:er)?\s+({_MONTH_RE})|({_MONTH_RE})\.?\s+(\d{{1,2}}))"
    r"(?:,?\s+(\d{4}))?\s*,\s+",
    re.IGNORECASE,
)
_APPOSITION = re.compile(r"\b([A-ZÀ-ÖØ-Þ][\w’'-]+),\s+(?:(?:les|le|la|the)\s+|l[’']\s*)[^,;:()«»]{2,50},\s+")
_ATTRIBUTION = re.compile(r",\s+(?:d[’']après|selon|according to|citing)\s+([^,;:()«»]{2,60})$", re.IGNORECASE)
_MEDIA = re.compile(
    rf"^(?:(?:les|le|la|the)\s+|l[’']\s*)?((?:[\w’'-]+\s+)?(?:médias?|media|agences?|agency|presse|press|journal|quotidien"
    rf"|newspaper|télévision|television|radio|{_AGENCIES})\b.*)$",
    re.IGNORECASE,
)
_DERIVED_TITLE_MAX = 90


def lead_sentence(paragraph: str) -> str:
    first = DATELINE.sub("", paragraph)
    end = re.search(r"[.!?…](?=\s|$)", first)
    return first[: end.start()] if end else first


def lead_attribution(lead: str) -> str | None:
    """The media the lead sentence says the news comes from (", d’après les médias russes")."""
    m = _ATTRIBUTION.search(lead)
    media = _MEDIA.match(m.group(1).strip()) if m else None
    return media.group(1) if media else None


def derive_title(first_paragraph: str) -> str:
    sentence = lead_sentence(first_paragraph)
    headline = _ATTRIBUTION.sub("", _APPOSITION.sub(r"\1 ", _LEAD_DATE.sub("", sentence)))
    if len(headline) >= 20:  # what is left still says something
        sentence = headline[0].upper() + headline[1:]
    if len(sentence) <= _DERIVED_TITLE_MAX:
        return sentence
    cut = sentence.rfind(" ", 0, _DERIVED_TITLE_MAX)
    return sentence[: cut if cut > 0 else _DERIVED_TITLE_MAX].rstrip(" ,;:") + "…"
