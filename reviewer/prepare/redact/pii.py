"""Personal data (China's PIPL, GDPR): e-mail addresses, mainland China mobile numbers and
resident ID numbers, payment card numbers and IBANs. Each number is validated the way its
issuer defines it (check digit, Luhn, mod-97), so an arbitrary run of digits is left alone.

Kept visible: addresses at reserved and documentation domains (example.com/.org/.net, .test,
.example, .invalid, .localhost), no-reply addresses, and user@host in SSH/scp targets.
"""

from __future__ import annotations

import datetime
import re

from reviewer.prepare.redact.model import DIGITS, Found, Rule

# --------------------------------------------------------------------------- e-mail

_RESERVED_TLDS = frozenset({"test", "example", "invalid", "localhost", "local", "internal"})
_DOC_DOMAINS = frozenset(
    {
        "example.com",
        "example.org",
        "example.net",
        "example.edu",
        "test.com",
        "test.org",
        "test.net",
        "localhost",
        "localhost.localdomain",
    }
)
_NOREPLY = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer-daemon)\b", re.I)
# Generic TLDs an address is likely to use; every two-letter TLD (country codes) is accepted
# too. Keeps `x@self.weight` (a matrix product) and `icon@2x.png` (an asset) out.
_GENERIC_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "mil",
        "int",
        "info",
        "biz",
        "name",
        "pro",
        "mobi",
        "asia",
        "jobs",
        "travel",
        "tel",
        "aero",
        "coop",
        "museum",
        "app",
        "dev",
        "io",
        "ai",
        "cloud",
        "tech",
        "online",
        "site",
        "xyz",
        "top",
        "club",
        "shop",
        "store",
        "live",
        "email",
        "work",
        "group",
        "ltd",
        "inc",
        "company",
        "team",
        "studio",
        "design",
        "digital",
        "network",
        "systems",
        "solutions",
        "services",
        "agency",
        "media",
        "news",
        "blog",
        "page",
        "link",
        "space",
        "website",
        "icu",
        "vip",
        "wang",
        "ren",
        "xin",
        "ink",
        "art",
        "fun",
        "games",
        "today",
        "world",
        "life",
        "center",
        "global",
        "city",
        "one",
        "plus",
        "zone",
        "tools",
        "software",
        "codes",
        "run",
        "build",
        "foundation",
        "academy",
        "science",
        "university",
        "school",
        "consulting",
        "finance",
        "bank",
        "money",
        "capital",
        "partners",
        "ventures",
        "health",
        "care",
        "legal",
        "law",
        "business",
        "marketing",
        "social",
        "chat",
        "mail",
        "cn",
        "me",
        "tv",
        "cc",
    ]
)
_SSH_CONTEXT = re.compile(r"(?:^|[\s\"'`(])(?:ssh|scp|sftp|rsync|mosh|ssh-copy-id)\s[^|;&]*$")


def _email_ok(found: Found) -> bool:
    m = found.match
    domain = m.group("domain").lower()
    tld = m.group("tld").lower()
    local = m.group("local")
    if tld in _RESERVED_TLDS or not (len(tld) == 2 or tld in _GENERIC_TLDS or tld[:4] == "xn--"):
        return False
    if domain in _DOC_DOMAINS or domain.endswith(tuple("." + d for d in _DOC_DOMAINS)):
        return False
    if domain.startswith("example.") or ".example." in domain:
        return False  # example.co.uk, example.co.jp: registries keep these for documentation
    if "noreply" in domain or _NOREPLY.match(local) or ".." in local or local.endswith("."):
        return False
    line, start, end = m.string, m.start(), m.end()
    before = line[:start]
    if before.endswith(("://", "ssh://")) or re.search(r"://[^\s/@]*:$", before):
        return False  # https://user@host: a URL's userinfo, not an address
    if line[end : end + 1] == ":" and line[end + 1 : end + 2] not in (" ", ""):
        return False  # git@github.com:org/repo.git, an scp target
    return _SSH_CONTEXT.search(before) is None


# --------------------------------------------------------------------------- numbers

# Every number these rules take holds four consecutive digits (card and IBAN groups, the
# parts of a phone number, ID numbers).
_DIGIT_RUN = (DIGITS, 4)
# ...and ten digits with at most single separators between them: a year or a port is not.
_TEN_DIGITS = r"\d(?:[ -]?\d){9}"


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _cn_mobile_ok(found: Found) -> bool:
    subscriber = _digits(found.match.group("num"))[-8:]
    return len(set(subscriber)) > 1  # 13800000000, 18888888888: fillers


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a mainland China resident ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def _cn_id_ok(found: Found) -> bool:
    value = found.value.upper()
    try:
        datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return cn_id_check_digit(value[:17]) == value[17]


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_network(number: str) -> bool:
    """Whether the number's prefix and length are those of a card network."""
    n, p2, p4 = len(number), int(number[:2]), int(number[:4])
    p6 = int(number[:6])
    return (
        (number[0] == "4" and n in (13, 16, 19))  # Visa
        or ((51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16)  # Mastercard
        or (p2 in (34, 37) and n == 15)  # American Express
        or (p2 == 62 and 16 <= n <= 19)  # UnionPay
        or (
            (p4 == 6011 or p2 == 65 or 644 <= p4 // 10 <= 649 or 622126 <= p6 <= 622925)
            and 16 <= n <= 19
        )  # Discover
        or (3528 <= p4 <= 3589 and 16 <= n <= 19)  # JCB
        or ((300 <= p4 // 10 <= 305 or p2 in (36, 38, 39)) and 14 <= n <= 19)  # Diners
        or (2200 <= p4 <= 2204 and 16 <= n <= 19)  # Mir
        or (p4 in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763) and 12 <= n <= 19)
    )


def _card_ok(found: Found) -> bool:
    text = found.value
    number = _digits(text)
    if not 12 <= len(number) <= 19 or len(set(number)) == 1:
        return False
    seps = {ch for ch in text if not ch.isdigit()}
    if len(seps) > 1:
        return False
    if seps:
        groups = re.split(r"[ -]", text)
        if any(not 3 <= len(g) <= 6 for g in groups):
            return False  # 4-4-4-4, 4-6-5, 4-6-4; not a date or a phone number
    return _card_network(number) and luhn_ok(number)


# IBAN lengths by country (the IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    cc: int(n)
    for cc, n in (
        item.split(":")
        for item in [
            "AD:24",
            "AE:23",
            "AL:28",
            "AT:20",
            "AZ:28",
            "BA:20",
            "BE:16",
            "BG:22",
            "BH:22",
            "BI:27",
            "BR:29",
            "BY:28",
            "CH:21",
            "CR:22",
            "CY:28",
            "CZ:24",
            "DE:22",
            "DJ:27",
            "DK:18",
            "DO:28",
            "EE:20",
            "EG:29",
            "ES:24",
            "FI:18",
            "FK:18",
            "FO:18",
            "FR:27",
            "GB:22",
            "GE:22",
            "GI:23",
            "GL:18",
            "GR:27",
            "GT:28",
            "HN:28",
            "HR:21",
            "HU:28",
            "IE:22",
            "IL:23",
            "IQ:23",
            "IS:26",
            "IT:27",
            "JO:30",
            "KW:30",
            "KZ:20",
            "LB:28",
            "LC:32",
            "LI:21",
            "LT:20",
            "LU:20",
            "LV:21",
            "LY:25",
            "MC:27",
            "MD:24",
            "ME:22",
            "MK:19",
            "MN:20",
            "MR:27",
            "MT:31",
            "MU:30",
            "NI:28",
            "NL:18",
            "NO:15",
            "OM:23",
            "PK:24",
            "PL:28",
            "PS:29",
            "PT:25",
            "QA:29",
            "RO:24",
            "RS:22",
            "RU:33",
            "SA:24",
            "SC:31",
            "SD:18",
            "SE:24",
            "SI:19",
            "SK:24",
            "SM:27",
            "SO:23",
            "ST:25",
            "SV:28",
            "TL:23",
            "TN:24",
            "TR:26",
            "UA:29",
            "VA:22",
            "VG:24",
            "XK:20",
            "YE:30",
        ]
    )
}


def iban_ok(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _iban_ok(found: Found) -> bool:
    return iban_ok(found.value)


# The edges of a number: not inside a word, a longer number, a decimal or a version.
_NB = r"(?<![\w.+\-/])(?<!\d\.)"
_NE = r"(?!\w|[.-]\d)"

PII: tuple[Rule, ...] = (
    Rule(
        "email",
        "pii",
        r"(?<![\w.%+-])(?P<secret>(?P<local>[A-Za-z0-9][A-Za-z0-9._%+-]{0,63})@"
        r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}"
        r"(?P<tld>[A-Za-z]{2,24}|xn--[a-z0-9-]{1,20})))(?![\w-])",
        "E-mail addresses, except reserved and documentation domains (example.com, .test, "
        ".invalid, .localhost), no-reply addresses and SSH/scp targets (git@host:repo).",
        _email_ok,
        needles=("@",),
    ),
    Rule(
        "phone-cn",
        "pii",
        _NB + r"(?P<secret>(?:(?:\+|00)86[ -]?)?(?P<num>1[3-9]\d(?:[ -]?\d{4}){2}))" + _NE,
        "Mainland China mobile numbers (1[3-9] + 9 digits, with +86 and separators).",
        _cn_mobile_ok,
        run=_DIGIT_RUN,
        gate=_TEN_DIGITS,
    ),
    Rule(
        "id-cn",
        "pii",
        _NB + r"(?P<secret>[1-8]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
        r"\d{3}[\dXx])" + _NE,
        "Mainland China resident ID numbers (18 characters, valid birth date and check digit).",
        _cn_id_ok,
        run=_DIGIT_RUN,
        gate=_TEN_DIGITS,
    ),
    Rule(
        "payment-card",
        "pii",
        _NB + r"(?P<secret>[2-6]\d{3}(?:[ -]?\d){8,15})" + _NE,
        "Payment card numbers: a card network's prefix and length, and a valid Luhn checksum.",
        _card_ok,
        run=_DIGIT_RUN,
        gate=_TEN_DIGITS,
    ),
    Rule(
        "iban",
        "pii",
        r"(?<![A-Za-z0-9])(?P<secret>[A-Z]{2}\d{2}(?:(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?"
        r"|[A-Z0-9]{11,30}))(?![A-Za-z0-9])",
        "International bank account numbers: a known country's length and a valid mod-97 checksum.",
        _iban_ok,
        run=_DIGIT_RUN,
        gate=_TEN_DIGITS,
    ),
)
