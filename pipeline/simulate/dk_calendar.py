"""Danish working calendar: public holidays, holiday seasons and Copenhagen local time.

The UTC offset follows the EU daylight-saving rule directly instead of the system tz database, so the
simulator's bytes do not depend on which tzdata a machine happens to ship.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

# Share of normal activity in ISO weeks when many Danes are off (summer "industriferie" in weeks
# 29-31, winter and autumn school holidays, Christmas). Public holidays are handled per day.
_SEASON_BY_ISO_WEEK: dict[int, float] = {
    7: 0.85, 8: 0.9, 27: 0.85, 28: 0.7, 29: 0.35, 30: 0.3, 31: 0.4, 32: 0.7, 33: 0.9,
    42: 0.8, 51: 0.8, 52: 0.3, 53: 0.3, 1: 0.6,
}
# Relative chance that a post is written on Monday..Sunday.
WEEKDAY_WEIGHTS: tuple[float, ...] = (1.0, 1.1, 1.1, 1.0, 0.75, 0.04, 0.03)


def easter_sunday(year: int) -> date:
    """Gregorian Easter (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def danish_holidays(year: int) -> frozenset[date]:
    """Days most offices are closed (store bededag was abolished from 2024)."""
    easter = easter_sunday(year)
    movable = [-3, -2, 0, 1, 39, 49, 50]  # skærtorsdag .. 2. pinsedag
    fixed = [(1, 1), (6, 5), (12, 24), (12, 25), (12, 26), (12, 31)]
    days = {easter + timedelta(days=n) for n in movable}
    days.update(date(year, m, d) for m, d in fixed)
    return frozenset(days)


def is_holiday(day: date) -> bool:
    return day in danish_holidays(day.year)


def day_weight(day: date) -> float:
    """Relative chance of a post on this day; 0 on public holidays."""
    if is_holiday(day):
        return 0.0
    return WEEKDAY_WEIGHTS[day.weekday()]


def season_factor(monday: date) -> float:
    """Activity multiplier for the week starting ``monday`` (holiday seasons)."""
    return _SEASON_BY_ISO_WEEK.get(monday.isocalendar().week, 1.0)


def is_holiday_week(monday: date) -> bool:
    """A holiday season week, or a week with a public holiday on a weekday (fewer posts)."""
    weekdays = (monday + timedelta(days=i) for i in range(5))
    return season_factor(monday) < 1.0 or any(is_holiday(d) for d in weekdays)


def iso_week_label(day: date) -> str:
    """ISO week as used in truth.json and the marts, e.g. ``2026-W14``."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def copenhagen_offset_hours(local: datetime) -> int:
    """+2 in summer time (last Sunday of March 02:00 to last Sunday of October 03:00), else +1."""
    start = datetime.combine(_last_sunday(local.year, 3), datetime.min.time()).replace(hour=2)
    end = datetime.combine(_last_sunday(local.year, 10), datetime.min.time()).replace(hour=3)
    return 2 if start <= local.replace(tzinfo=None) < end else 1


def copenhagen(local: datetime) -> datetime:
    """Attach the Copenhagen UTC offset to a naive local wall-clock time."""
    return local.replace(tzinfo=timezone(timedelta(hours=copenhagen_offset_hours(local))))


def last_day_of_month(day: date) -> date:
    first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return first_next - timedelta(days=1)
