"""Norwegian working days: a deadline that ends on a Saturday, Sunday or public holiday moves to
the next working day (domstolloven § 149, applied to administrative deadlines through
forvaltningsloven § 30). Holidays come from the maintained ``holidays`` package."""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays
from django.utils.formats import date_format
from django.utils.translation import get_language


@lru_cache(maxsize=64)
def _holidays(year: int):
    return holidays.country_holidays("NO", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_days(day: date, days: int) -> date:
    """``day`` moved by ``days``, held at the ends of the calendar: a date stored before dates
    were bounded (year 9999) must give a deadline, not an OverflowError that stops the case."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def next_working_day(day: date) -> date:
    """``day`` itself if it is a working day, else the first working day after it (or the last
    day of the calendar, which has no day after it)."""
    while not is_working_day(day) and day < date.max:
        day += timedelta(days=1)
    return day


def deadline_after(start: date, days: int) -> date:
    """A deadline ``days`` calendar days after ``start``, moved off weekends and holidays."""
    return next_working_day(add_days(start, days))


# The package names Norway's holidays in Norwegian ("no") or English; the site speaks bokmål.
HOLIDAY_LANGUAGES = {"nb": "no", "nn": "no", "no": "no"}


@lru_cache(maxsize=64)
def _holiday_names(year: int, language: str):
    return holidays.country_holidays("NO", years=year, language=language)


def holiday_name(day: date) -> str:
    """The holiday's name in the active language, or "" (for explaining why a deadline
    moved)."""
    language = HOLIDAY_LANGUAGES.get((get_language() or "nb").split("-")[0], "en_US")
    return _holiday_names(day.year, language).get(day, "")


@dataclass(frozen=True)
class DueDate:
    """A deadline as set (in an order, by an extension) and as it falls: a day off moves it to
    the next working day. The moved date is the deadline; the set one is noted beside it."""

    set_on: date

    @property
    def due(self) -> date:
        return next_working_day(self.set_on)

    @property
    def moved(self) -> bool:
        return self.due != self.set_on

    @property
    def reason(self) -> str:
        """Why it moved: the holiday's name, else the weekday (a Saturday or Sunday)."""
        if not self.moved:
            return ""
        return holiday_name(self.set_on) or date_format(self.set_on, "l")
