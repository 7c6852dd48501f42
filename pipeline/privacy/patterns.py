"""Detectors for structured PII: e-mail, phone, CPR, IBAN, bank account, URL, Slack mention, @handle.

Each detector yields ``(start, end)`` spans on the original text. The redactor and the audit share these
detectors, so the audit can never flag what the redactor deliberately keeps.

Rules that avoid false positives (each one is covered by the negative set in ``tests/data/pii``):

* CPR ``DDMMYY-SSSS`` / ``DDMMYYSSSS`` / ``DDMMYY SSSS`` / ``DDMMYY - SSSS``: the date must exist (century from the 7th digit as
  in the CPR rules) and not lie in the future. Modulus 11 is *not* required (numbers issued since 2007 need
  not pass it); it only raises :func:`cpr_confidence`. Letters and punctuation may touch the number
  ("cpr0101901234", "010190-1234/020290-2345"); digits may not, nor may a decimal point + digit.
* Danish phone: formatted ``12 34 56 78`` / ``1234 5678`` / ``12-34-56-78`` / ``123 45 678``, or with a
  ``+45``/``0045`` prefix, always count; a bare 8-digit run counts only when it starts with 2-9 (Danish
  numbering), is not a date (``YYYYMMDD``/``DDMMYYYY``) and is not labelled as an order/invoice/customer/CVR
  number (a phone label such as "tlf" wins). ``1234 5678`` where the halves are ascending years (``2023 2024``,
  ``1883-1931``) is not a phone. International numbers need ``+CC`` (or ``00CC`` + separator) and 8-15 digits.
* Payment card: 4x4 digit groups (or 16 digits) passing the Luhn check → ``[ACCOUNT]``.
* Account: Danish reg.+konto ``1234-1234567890`` (7-10 digit account; a leading year 1990-2039 with a
  shorter account is an invoice-style id, not an account), or labelled ``reg.nr. … konto …`` forms.
* IBAN: country code + check digits, per-country length where known, ISO 7064 mod 97 must hold.
* URL: generic URLs are kept (they carry context such as the wiki page being discussed); a URL is personal
  (redacted whole) when it points at a profile (LinkedIn /in/, Facebook, X/Twitter, Instagram, GitHub, …,
  or a ``/users/``, ``/people/``, ``/~name`` style path, or ``user=``/``email=`` query) or contains any other
  PII (the redactor checks that).
* ``@handle``: any ``@word`` outside e-mails and URLs is a mention of a person, except Slack's broadcast
  words ``@here``/``@channel``/``@everyone``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

Spans = Iterator[tuple[int, int]]

EMAIL, PHONE, CPR, IBAN, ACCOUNT, URL, MENTION, PERSON = (
    "EMAIL", "PHONE", "CPR", "IBAN", "ACCOUNT", "URL", "MENTION", "PERSON")
PLACEHOLDER_KINDS = (EMAIL, PHONE, CPR, IBAN, ACCOUNT, URL, MENTION, PERSON)
PLACEHOLDER_RE = re.compile(rf"\[(?:{'|'.join(PLACEHOLDER_KINDS)})\]")


def placeholder(kind: str) -> str:
    return f"[{kind}]"


# --- e-mail -------------------------------------------------------------------------------------------
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[\w.%+-]*\w@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])"
    # obfuscated: "mette [at] firma [dot] dk", "mette(at)firma.dk"
    r"|(?<![\w.+-])[\w.+-]*\w\s?[\[(]at[\])]\s?[\w-]+(?:\s?(?:[\[(]dot[\])]|\.)\s?[\w-]+)*"
    r"\s?(?:[\[(]dot[\])]|\.)\s?[^\W\d_]{2,}(?![\w-])",
    re.IGNORECASE)


def find_emails(text: str) -> Spans:
    if "@" not in text and "at]" not in text.lower() and "at)" not in text.lower():
        return
    for m in _EMAIL_RE.finditer(text):
        yield m.span()


# --- Slack mentions and @handles ----------------------------------------------------------------------
_SLACK_MENTION_RE = re.compile(r"<@[UW][A-Z0-9]{2,}(?:\|[^>\n]*)?>")
_HANDLE_RE = re.compile(r"(?<![\w.@+/-])@([^\W\d_][\w.-]*\w|[^\W\d_])")
_BROADCAST = frozenset({"here", "channel", "everyone"})


def find_slack_mentions(text: str) -> Spans:
    if "<@" not in text:
        return
    for m in _SLACK_MENTION_RE.finditer(text):
        yield m.span()


def find_handles(text: str) -> Spans:
    if "@" not in text:
        return
    for m in _HANDLE_RE.finditer(text):
        if m.group(1).casefold() not in _BROADCAST:
            yield m.span()


# --- URLs ---------------------------------------------------------------------------------------------
_SOCIAL_HOSTS = r"(?:linkedin|facebook|fb|instagram|twitter|x|github|gitlab|tiktok|medium|youtube|threads|bsky)"
_URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'|]+"
    rf"|(?<![\w.@-])(?:[\w-]+\.)?{_SOCIAL_HOSTS}\.(?:com|app|net)/[^\s<>\"'|]+",
    re.IGNORECASE)
_PERSONAL_URL_RE = re.compile(
    rf"(?:^|[/.]){_SOCIAL_HOSTS}\.(?:com|app|net)/(?!$)(?!(?:about|help|legal|policies|privacy|jobs|"
    r"company|groups|events|pages|school|watch|explore|search|hashtag|topics)(?:[/?#]|$))"
    r"|/(?:users?|u|profiles?|people|person|members?|employees?|staff|authors?|ansatte|medarbejdere?|"
    r"personer)/[^/?#\s]+"
    r"|/~[^/?#\s]+"
    r"|[?&](?:user(?:name|id)?|uid|e-?mail|mail|name|employee(?:id)?|cpr|phone|tlf)=",
    re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\"»"


def find_urls(text: str) -> Iterator[tuple[int, int, bool]]:
    """``(start, end, personal_by_pattern)`` for every URL; trailing punctuation is not part of a URL."""
    if "/" not in text and "www." not in text.lower():
        return
    for m in _URL_RE.finditer(text):
        start, end = m.span()
        while end > start and text[end - 1] in _URL_TRAILING:
            end -= 1
        url = text[start:end]
        yield start, end, bool(_PERSONAL_URL_RE.search(url))


# --- CPR ----------------------------------------------------------------------------------------------
_CPR_RE = re.compile(r"(?<!\d)(?<!\d[.,])(\d{2})(\d{2})(\d{2})(?: ?[-\u2013] ?| )?(\d{4})(?!\d)(?![.,]\d)")
_CPR_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_CPR_KEYWORD_RE = re.compile(r"(?:cpr|personnummer|personnr|person-nr|p-nr)\W{0,4}$", re.IGNORECASE)


def cpr_birth_date(digits: str) -> date | None:
    """The birth date encoded in 10 CPR digits, or None if there is no such (past or present) date.

    The century follows the 7th digit (first digit of the serial), as the CPR office assigns it.
    """
    day, month, yy, s7 = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    if s7 <= 3:
        century = 1900
    elif s7 in (4, 9):
        century = 2000 if yy <= 36 else 1900
    else:  # 5-8
        century = 2000 if yy <= 57 else 1800
    try:
        born = date(century + yy, month, day)
    except ValueError:
        return None
    return born if born <= date.today() else None


def cpr_mod11_ok(digits: str) -> bool:
    return sum(int(d) * w for d, w in zip(digits, _CPR_WEIGHTS, strict=True)) % 11 == 0


def find_cprs(text: str) -> Spans:
    for m in _CPR_RE.finditer(text):
        if cpr_birth_date("".join(m.groups())) is not None:
            yield m.span()


def cpr_confidence(text: str, start: int, end: int) -> str:
    """"high" when modulus 11 holds or a CPR label precedes the number, else "medium" (still redacted)."""
    digits = re.sub(r"\D", "", text[start:end])
    labelled = bool(_CPR_KEYWORD_RE.search(text[max(0, start - 20):start]))
    return "high" if labelled or cpr_mod11_ok(digits) else "medium"


# --- IBAN ---------------------------------------------------------------------------------------------
_IBAN_START_RE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})(?=[ ]?[A-Za-z0-9])")
_IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22,
    "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "UA": 29,
}


def iban_checksum_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False


def find_ibans(text: str) -> Spans:
    for m in _IBAN_START_RE.finditer(text):
        country = m.group(1).upper()
        lengths = [_IBAN_LENGTHS[country]] if country in _IBAN_LENGTHS else list(range(34, 14, -1))
        for length in lengths:
            end = _take_alnum(text, m.start(), length)
            if end is None or (end < len(text) and text[end].isalnum()):
                continue
            candidate = re.sub(r"\s", "", text[m.start():end]).upper()
            if iban_checksum_ok(candidate):
                yield m.start(), end
                break


def _take_alnum(text: str, start: int, count: int) -> int | None:
    """End index after ``count`` alphanumerics from ``start``, allowing single spaces between them."""
    i, seen = start, 0
    while i < len(text) and seen < count:
        c = text[i]
        if c.isascii() and c.isalnum():
            seen += 1
        elif not (c == " " and seen and i + 1 < len(text) and text[i + 1].isalnum()):
            return None
        i += 1
    return i if seen == count else None


# --- Danish bank account ------------------------------------------------------------------------------
_ACCOUNT_RE = re.compile(r"(?<![\w-])(\d{4})[ -](\d{7,10})(?![\w]|[-.,/]\d)")
_ACCOUNT_LABELLED_RE = re.compile(
    r"\breg(?:istrerings)?\.?\s*(?:nr\.?|nummer)?\s*:?\s*(\d{4})\s*[,/-]?\s*"
    r"(?:(?:og\s+)?konto(?:nummer|nr\.?)?\s*:?\s*)?(\d{4,10})(?!\d)"
    r"|\b(?:konto(?:nummer|nr\.?)|account\s+(?:number|no\.?))\s*:?\s*(\d{6,10})(?!\d)",
    re.IGNORECASE)


def find_accounts(text: str) -> Spans:
    for m in _ACCOUNT_LABELLED_RE.finditer(text):
        yield (m.start(1), m.end(2)) if m.group(1) else m.span(3)
    for m in _ACCOUNT_RE.finditer(text):
        reg, account = m.groups()
        if 1990 <= int(reg) <= 2039 and len(account) < 10:
            continue  # "2024-0012345": a year-prefixed invoice/order id
        yield m.span()


# --- payment cards (reported as ACCOUNT) ---------------------------------------------------------------
_CARD_RE = re.compile(r"(?<![\w.,/-])(?<!\d )(?:\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{16})(?!\w)(?![ .,/-]\d)")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def find_cards(text: str) -> Spans:
    for m in _CARD_RE.finditer(text):
        if luhn_ok(re.sub(r"\D", "", m.group())):
            yield m.span()


# --- phone numbers ------------------------------------------------------------------------------------
_PHONE_DK_PREFIXED_RE = re.compile(r"(?<![\w+])(?<!\d[ -])(?:\+45|0045|\(\+45\))[\s.-]?(?:\d[\s-]?){7}\d(?!\d)")
# Not part of a longer chain of digit groups ("DK51 0040 0440 …", serial numbers, card numbers).
_PHONE_DK_FORMATTED_RE = re.compile(
    r"(?<![\w.,/+-])(?<!\d[ -])(?:\d{2}([ -])\d{2}\1\d{2}\1\d{2}|\d{4}[ -]\d{4}|\d{3} \d{2} \d{3})"
    r"(?!\w)(?![.,/-]\d)(?![ -]\d)")
_PHONE_DK_BARE_RE = re.compile(r"(?<![\w.,/+#-])[2-9]\d{7}(?!\w)(?![.,/-]\d)")
_PHONE_INTL_RE = re.compile(
    r"(?<![\w+])(?<!\d[ -])(?:\+(?!45)[1-9]\d{0,2}|00(?!45)[1-9]\d{0,2}(?=[\s-]))"
    r"(?:[\s.-]?\(?\d{1,4}\)?){2,6}(?!\d)")
_NOT_PHONE_LABEL_RE = re.compile(
    r"(?:nr|no|id|ref|ordre\w*|order|faktura\w*|invoice|sag\w*|case|ticket|kunde\w*|customer|cvr|se|sku|"
    r"vare\w*|pin|kode|code|konto\w*|account|bilag|po)\s*[.:#]*\s*$",
    re.IGNORECASE)
_PHONE_LABEL_RE = re.compile(r"(?:tlf|telefon\w*|phone|mobil\w*|ring\w*|call|sms|fax|nummer)\b[^\n]{0,15}$",
                             re.IGNORECASE)


def _is_compact_date(digits: str) -> bool:
    for y, m, d in ((digits[0:4], digits[4:6], digits[6:8]), (digits[4:8], digits[2:4], digits[0:2])):
        try:
            if 1900 <= int(y) <= 2099:
                date(int(y), int(m), int(d))
                return True
        except ValueError:
            continue
    return False


def _is_year_range(first: str, second: str) -> bool:
    """"1883-1931", "2023 2024", "2008 2008": two plausible years in order. Danish numbers never start with
    1, and a 20xx 20yy number in ascending order is far more often a span of years than a phone."""
    a, b = int(first), int(second)
    return 1000 <= a <= b <= date.today().year + 5


def find_prefixed_phones(text: str) -> Spans:
    """Numbers with a country prefix; they run before CPR/account so "0045 87654321" stays a phone."""
    for m in _PHONE_DK_PREFIXED_RE.finditer(text):
        yield m.span()
    for m in _PHONE_INTL_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if m.group().startswith("00"):
            digits = digits[2:]
        if 8 <= len(digits) <= 15:
            yield m.span()


def find_local_phones(text: str) -> Spans:
    """Danish numbers without a prefix (formatted, or bare 8 digits with the guards in the module doc)."""
    for m in _PHONE_DK_FORMATTED_RE.finditer(text):
        groups = re.split(r"[ -]", m.group())
        if len(groups) == 2 and _is_year_range(*groups):
            continue
        yield m.span()
    for m in _PHONE_DK_BARE_RE.finditer(text):
        before = text[max(0, m.start() - 30):m.start()]
        if _is_compact_date(m.group()):
            continue
        if _NOT_PHONE_LABEL_RE.search(before) and not _PHONE_LABEL_RE.search(before):
            continue
        yield m.span()


# Priority order: an earlier detector wins an overlap (IBAN before phone: "DK50 0040 0440 …" holds
# phone-like groups; prefixed phones before account ("0045 87654321"); CPR before account/local phone).
Detector = Callable[[str], Spans]
STRUCTURED_DETECTORS: tuple[tuple[str, Detector], ...] = (
    (MENTION, find_slack_mentions),
    (EMAIL, find_emails),
    (IBAN, find_ibans),
    (PHONE, find_prefixed_phones),
    (CPR, find_cprs),
    (ACCOUNT, find_accounts),
    (ACCOUNT, find_cards),
    (PHONE, find_local_phones),
    (MENTION, find_handles),
)
# What the audit looks for in stored text: everything above except plain @handles (an "@team" in a stored
# aggregate label is not worth failing a run for; the redactor still removes handles).
AUDIT_DETECTORS: tuple[tuple[str, Detector], ...] = tuple(
    (kind, detector) for kind, detector in STRUCTURED_DETECTORS if detector is not find_handles)
_HAS_DIGIT_RE = re.compile(r"\d")
_DIGIT_KINDS = frozenset({IBAN, CPR, ACCOUNT, PHONE})


def find_structured(text: str, detectors: tuple[tuple[str, Detector], ...] = STRUCTURED_DETECTORS,
                    ) -> list[tuple[int, int, str]]:
    """Non-overlapping ``(start, end, kind)`` spans from the structured detectors (URLs excluded)."""
    has_digit = bool(_HAS_DIGIT_RE.search(text))
    taken: list[tuple[int, int, str]] = []
    for kind, detector in detectors:
        if kind in _DIGIT_KINDS and not has_digit:
            continue
        for start, end in detector(text):
            if not overlaps(taken, start, end):
                taken.append((start, end, kind))
    return taken


def overlaps(spans: list[tuple[int, int, str]], start: int, end: int) -> bool:
    return any(start < e and s < end for s, e, _ in spans)
