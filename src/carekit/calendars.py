"""Business calendars: working time, business days, breaks, holidays and their feeds.

:class:`BusinessCalendar` (also at the top level) says when a desk works;
:class:`CombinedCalendar` combines calendars in any zones (an agent's shift and
the support hours); :meth:`BusinessCalendar.why_closed` answers with a
:class:`Closure`. Holidays come as dates, yearly ``"MM-DD"`` dates, feeds (a
:data:`HolidayFeed`, such as :func:`ics_holidays` over an iCalendar file) or a
country's public holidays (:func:`country_holidays`).
"""

from __future__ import annotations

from carekit._calendar import WEEKDAYS, BusinessCalendar, Closure, IntervalSpec
from carekit._combined import CombinedCalendar
from carekit._country_holidays import country_holidays
from carekit._hours import HolidayFeed
from carekit._ics import IcsHolidays, ics_holidays

__all__ = [
    "WEEKDAYS",
    "BusinessCalendar",
    "Closure",
    "CombinedCalendar",
    "HolidayFeed",
    "IcsHolidays",
    "IntervalSpec",
    "country_holidays",
    "ics_holidays",
]
