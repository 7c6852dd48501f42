"""Compositional message text: templates + slot fillers + the noise of real chat.

A message is an optional opener, a template of its intent (alternatives ``[a|b]`` and slots ``{x}``
expanded recursively), an optional closer, and perturbations (typos, lower-case, missing Danish
letters). Slots that name colleagues or contact details are PII on purpose: the pipeline must redact
them, and every message records which kinds of PII it carries.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline.simulate.data import Intent, ReplyPool, TextBank, text_bank
from pipeline.simulate.org import Employee

_ALTERNATIVE = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")
# Lower-case words outside e-mail addresses and URLs: safe targets for typos (names stay intact so
# that redaction can be checked against the roster).
_TYPO_TARGET = re.compile(r"(?<![\w@./:])[a-zæøå]{4,}(?![\w@]|\.\w|/)")
_SLACK_EMOJI: dict[str, str] = {
    "🙂": ":slightly_smiling_face:", "👍": ":+1:", "🙏": ":pray:", "🎉": ":tada:", "🙌": ":raised_hands:",
    "👏": ":clap:", "💪": ":muscle:", "❤️": ":heart:", "😊": ":blush:", "🥳": ":partying_face:", "🔥": ":fire:",
    "😩": ":weary:", "🙄": ":face_with_rolling_eyes:", "😤": ":triumph:", "😬": ":grimacing:",
    "😞": ":disappointed:", "🤦": ":face_palm:", "🙃": ":upside_down_face:", "😑": ":expressionless:",
    "🤡": ":clown_face:", "😅": ":sweat_smile:", "👋": ":wave:", "🍻": ":beers:", "😄": ":smile:",
    "😋": ":yum:", "👀": ":eyes:", "😢": ":cry:", "🍩": ":doughnut:", "👇": ":point_down:",
}
_MONTHS = {
    "da": ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
           "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}
KIND_OPENER_P = {"announcement": 0.3, "question": 0.2, "update": 0.1, "complaint": 0.12, "praise": 0.1}


@dataclass
class TextContext:
    """Who writes, to whom, and when: everything slot fillers may draw on."""

    author: Employee
    colleagues: Sequence[Employee]
    manager: Employee
    platform: str  # "slack" or "csv"
    day: date
    team: str
    department: str
    company: str
    newhire: Employee | None = None
    leaver: Employee | None = None
    leave_date: date | None = None


@dataclass
class Message:
    text: str
    pii: set[str] = field(default_factory=set)


def _first_word(text: str) -> str:
    return re.sub(r"\W", "", text.split()[0].lower()) if text.split() else ""


def format_date(day: date, lang: str, rng: random.Random) -> str:
    month = _MONTHS[lang][day.month - 1]
    if lang == "da":
        return rng.choice([f"d. {day.day}. {month}", f"{day.day}/{day.month}", f"den {day.day}. {month}"])
    return rng.choice([f"{day.day} {month}", f"{month} {day.day}", f"{day.day}/{day.month}"])


def danish_possessive(name: str) -> str:
    """``Mette`` -> ``Mettes``; ``Lars`` -> ``Lars'``."""
    return f"{name}'" if name[-1].lower() in "sxz" else f"{name}s"


def slack_markup(text: str) -> str:
    """Slack exports escape ``&`` and store emoji as ``:shortcodes:``."""
    text = text.replace("&", "&amp;")
    for emoji, code in _SLACK_EMOJI.items():
        text = text.replace(emoji, code)
    return text


class Composer:
    """Writes messages and replies in one language, with a shared random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.banks: dict[str, TextBank] = {lang: text_bank(lang) for lang in ("da", "en")}

    # ------------------------------------------------------------------ slots
    def _colleague(self, ctx: TextContext) -> Employee:
        others = [e for e in ctx.colleagues if e is not ctx.author]
        return self.rng.choice(others) if others else ctx.manager

    def _phone(self) -> str:
        digits = [str(self.rng.randint(2, 9))] + [str(self.rng.randint(0, 9)) for _ in range(7)]
        pairs = " ".join("".join(digits[i:i + 2]) for i in range(0, 8, 2))
        return self.rng.choice([f"+45 {pairs}", "".join(digits), f"+45 {''.join(digits)}", pairs])

    def _cpr(self) -> str:
        born = date(1960, 1, 1) + timedelta(days=self.rng.randrange(0, 43 * 365))
        return f"{born:%d%m%y}-{self.rng.randint(0, 9999):04d}"

    def _slots(self, ctx: TextContext, lang: str, pii: set[str]) -> dict[str, Callable[[], str]]:
        rng = self.rng

        def person_name(e: Employee, full: bool = False) -> str:
            pii.add("name")
            return e.name if full else e.first_name

        def possessive(name: str) -> str:
            return danish_possessive(name) if lang == "da" else f"{name}'s"

        def mention() -> str:
            who = self._colleague(ctx)
            if ctx.platform == "slack" and who.slack_id:
                pii.add("mention")
                return f"<@{who.slack_id}>"
            pii.add("name")
            return f"@{who.name}"

        def email() -> str:
            pii.add("email")
            return self._colleague(ctx).email

        def phone() -> str:
            pii.add("phone")
            return self._phone()

        def cpr() -> str:
            pii.add("cpr")
            return self._cpr()

        newhire = ctx.newhire or self._colleague(ctx)
        leaver = ctx.leaver or self._colleague(ctx)
        company = ctx.company
        return {
            "name": lambda: person_name(self._colleague(ctx)),
            "name_s": lambda: possessive(person_name(self._colleague(ctx))),
            "full_name": lambda: person_name(self._colleague(ctx), full=True),
            "manager": lambda: person_name(ctx.manager),
            "me": lambda: person_name(ctx.author),
            "newhire": lambda: person_name(newhire, full=rng.random() < 0.5),
            "leaver": lambda: person_name(leaver),
            "leaver_s": lambda: possessive(person_name(leaver)),
            "mention": mention,
            "email": email,
            "phone": phone,
            "cpr": cpr,
            "date": lambda: format_date(ctx.day + timedelta(days=rng.randint(5, 60)), lang, rng),
            "leave_date": lambda: format_date(ctx.leave_date or ctx.day + timedelta(days=30), lang, rng),
            "team": lambda: ctx.team,
            "dept": lambda: ctx.department,
            "company": lambda: company if rng.random() < 0.5 else company.split(" ")[0],
            "n": lambda: str(rng.randint(2, 12)),
        }

    def expand(self, template: str, bank: TextBank, dynamic: dict[str, Callable[[], str]], depth: int = 0) -> str:
        text = template
        while True:
            expanded = _ALTERNATIVE.sub(lambda m: self.rng.choice(m.group(1).split("|")), text)
            if expanded == text:
                break
            text = expanded

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in dynamic:
                return dynamic[key]()
            if depth > 4:
                raise ValueError(f"slot recursion too deep at {{{key}}}")
            return self.expand(self.rng.choice(bank.slots[key]), bank, dynamic, depth + 1)

        return _SLOT.sub(fill, text)

    # ------------------------------------------------------------------ messages
    def message(self, intent: Intent, lang: str, ctx: TextContext, decorate: bool = True) -> Message:
        """One message; ``decorate`` adds chat openers and closers (not in survey answers)."""
        bank = self.banks[lang]
        pii: set[str] = set()
        dynamic = self._slots(ctx, lang, pii)
        body = self.expand(self.rng.choice(bank.intents[intent.id]), bank, dynamic)
        opener_p = KIND_OPENER_P.get(intent.kind, 0.0) if decorate else 0.0
        if intent.kind in bank.openers and self.rng.random() < opener_p:
            opener = self.rng.choice(bank.openers[intent.kind])
            if _first_word(opener) in {_first_word(w) for w in body.split()[:3]}:
                opener = ""  # "Kæmpe tak! Kæmpe tak til ..." reads like a bug, not like chat
            sep = "\n\n" if intent.kind == "announcement" and self.rng.random() < 0.4 else " "
            body = f"{opener}{sep}{body}" if opener else body
        if decorate and self.rng.random() < 0.13:
            closer = self.expand(self.rng.choice(bank.closers[intent.sentiment]), bank, dynamic)
            body = body if closer in body else f"{body} {closer}"
        return Message(self._finish(self._perturb(body, lang), ctx.platform), pii)

    def reply(self, pool: ReplyPool, lang: str, ctx: TextContext) -> Message:
        bank = self.banks[lang]
        pii: set[str] = set()
        body = self.expand(self.rng.choice(pool.templates), bank, self._slots(ctx, lang, pii))
        return Message(self._finish(self._perturb(body, lang), ctx.platform), pii)

    def _finish(self, text: str, platform: str) -> str:
        text = re.sub(r"[ \t]{2,}", " ", text).strip()
        return slack_markup(text) if platform == "slack" else text

    def _perturb(self, text: str, lang: str) -> str:
        """Typos and sloppy chat style in a minority of messages."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.07:
            text = self._typo(text)
        elif roll < 0.12:
            text = text[0].lower() + text[1:] if text[:1].isupper() and not text.startswith(("I ", "I'")) else text
            text = text.rstrip(".")
        if lang == "da" and rng.random() < 0.02:
            # Typed on a keyboard without æ/ø/å.
            text = text.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
        if rng.random() < 0.03:
            text = text.replace("!", "!!")
        return text

    def _typo(self, text: str) -> str:
        words = list(_TYPO_TARGET.finditer(text))
        if not words:
            return text
        m = self.rng.choice(words)
        w = m.group(0)
        i = self.rng.randrange(1, len(w) - 1)
        op = self.rng.random()
        if op < 0.4:
            w = w[:i] + w[i + 1] + w[i] + w[i + 2:]
        elif op < 0.7:
            w = w[:i] + w[i + 1:]
        else:
            w = w[:i] + w[i] + w[i:]
        return text[: m.start()] + w + text[m.end():]
