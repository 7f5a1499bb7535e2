"""Working days and durations against docs/deadlines.md (and docs/security.md, 'Time').

No app, no database. Every expected value below was worked out by hand from the
rules and the gov.uk bank holiday lists, never by calling the code under test; the
comment on each row gives the working (which days are skipped and why).

Reference weekdays (checked by hand): 2025-11-30 Sun; 2026-01-01 Thu; 2027-01-01 Fri;
2028-01-01 Sat. Close of business is 17:00 London = 17:00Z in GMT, 16:00Z in BST.
Clock changes: 2026-03-29 01:00Z (to BST), 2026-10-25 01:00Z (to GMT),
2027-03-28 01:00Z, 2027-10-31 01:00Z.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.procedure import Duration
from portal.workdays import WorkingCalendar, format_london, to_utc

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC

EW = "england-and-wales"
SCT = "scotland"
NI = "northern-ireland"


def lon(y: int, m: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> dt.datetime:
    """A London wall-clock time."""
    return dt.datetime(y, m, d, h, mi, tzinfo=LONDON, fold=fold)


def z(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    """A UTC instant."""
    return dt.datetime(y, m, d, h, mi, tzinfo=UTC)


def deadline(text: str, start: dt.datetime, nation: str = EW, **calendar) -> dt.datetime:
    return Duration.parse(text).after(start, WorkingCalendar(nation, **calendar))


def check(text: str, start: dt.datetime, nation: str, expected: dt.datetime, **calendar) -> None:
    got = deadline(text, start, nation, **calendar)
    assert got == expected, f"{text!r} from {start.isoformat()} ({nation}): got {got.isoformat()}"
    assert got.utcoffset() == dt.timedelta(0), "results are UTC"


# --------------------------------------------------------------------------------------------
# Christmas and New Year, per nation
# --------------------------------------------------------------------------------------------

# Tue 22 Dec 2026 10:00 GMT is before close on a working day, so counting starts from it.
# 2026: Fri 25 Dec Christmas; Sat 26 Boxing Day -> substitute Mon 28 Dec (all nations).
# 2027: Fri 1 Jan New Year (all nations); Sat 2 Jan is Scotland's 2 January -> substitute Mon 4 Jan (SCT only).
CHRISTMAS = [
    # 23 (1), 24 (2), skip Fri 25 Christmas, Sat 26, Sun 27, Mon 28 Boxing sub; 29 (3), 30 (4), 31 (5)
    ("5 working days", lon(2026, 12, 22, 10), EW, z(2026, 12, 31, 17)),
    ("5 working days", lon(2026, 12, 22, 10), SCT, z(2026, 12, 31, 17)),
    ("5 working days", lon(2026, 12, 22, 10), NI, z(2026, 12, 31, 17)),
    # ... then skip Fri 1 Jan New Year, Sat 2, Sun 3; Mon 4 Jan (6)
    ("6 working days", lon(2026, 12, 22, 10), EW, z(2027, 1, 4, 17)),
    ("6 working days", lon(2026, 12, 22, 10), NI, z(2027, 1, 4, 17)),
    # Scotland also skips Mon 4 Jan (2 January substitute): Tue 5 Jan (6)
    ("6 working days", lon(2026, 12, 22, 10), SCT, z(2027, 1, 5, 17)),
    # 7th: E&W/NI Tue 5 Jan; Scotland Wed 6 Jan
    ("7 working days", lon(2026, 12, 22, 10), EW, z(2027, 1, 5, 17)),
    ("7 working days", lon(2026, 12, 22, 10), NI, z(2027, 1, 5, 17)),
    ("7 working days", lon(2026, 12, 22, 10), SCT, z(2027, 1, 6, 17)),
    # "1 working week" = 5 working days: same as the first rows
    ("1 working week", lon(2026, 12, 22, 10), EW, z(2026, 12, 31, 17)),
    # Thu 31 Dec: skip Fri 1 Jan, weekend -> Mon 4 Jan (E&W); Scotland skips Mon 4 too -> Tue 5 Jan
    ("1 working day", lon(2026, 12, 31, 10), EW, z(2027, 1, 4, 17)),
    ("1 working day", lon(2026, 12, 31, 10), SCT, z(2027, 1, 5, 17)),
    ("1 working day", lon(2026, 12, 31, 10), NI, z(2027, 1, 4, 17)),
    # Thu 24 Dec: Fri 25, Sat, Sun, Mon 28 (Boxing Day substitute) skipped -> Tue 29 Dec
    ("1 working day", lon(2026, 12, 24, 10), EW, z(2026, 12, 29, 17)),
    ("1 working day", lon(2026, 12, 24, 10), SCT, z(2026, 12, 29, 17)),
    ("1 working day", lon(2026, 12, 24, 10), NI, z(2026, 12, 29, 17)),
    # Started ON Mon 28 Dec (Boxing Day substitute): the start's working day is Tue 29
    ("same working day", lon(2026, 12, 28, 10), EW, z(2026, 12, 29, 17)),
    # Started on Mon 4 Jan 2027: a working day in E&W; Scotland's 2 January substitute -> Tue 5 Jan
    ("same working day", lon(2027, 1, 4, 10), EW, z(2027, 1, 4, 17)),
    ("same working day", lon(2027, 1, 4, 10), SCT, z(2027, 1, 5, 17)),
    ("same working day", lon(2027, 1, 4, 10), NI, z(2027, 1, 4, 17)),
    # Christmas 2027: Sat 25 Dec -> substitute Mon 27; Sun 26 Boxing Day -> substitute Tue 28.
    # Fri 24 Dec 2027 10:00: skip Sat 25, Sun 26, Mon 27, Tue 28 -> Wed 29 Dec
    ("1 working day", lon(2027, 12, 24, 10), EW, z(2027, 12, 29, 17)),
    ("1 working day", lon(2027, 12, 24, 10), SCT, z(2027, 12, 29, 17)),
    ("1 working day", lon(2027, 12, 24, 10), NI, z(2027, 12, 29, 17)),
]


@pytest.mark.parametrize(("text", "start", "nation", "expected"), CHRISTMAS)
def test_christmas_and_new_year(text, start, nation, expected):
    check(text, start, nation, expected)


# --------------------------------------------------------------------------------------------
# Other nation-specific bank holidays
# --------------------------------------------------------------------------------------------

NATIONAL = [
    # --- St Andrew's Day: Mon 30 Nov 2026 is a Scottish bank holiday only.
    # Fri 27 Nov 2026 10:00 GMT: E&W/NI next working day Mon 30 Nov; Scotland skips it -> Tue 1 Dec
    ("1 working day", lon(2026, 11, 27, 10), EW, z(2026, 11, 30, 17)),
    ("1 working day", lon(2026, 11, 27, 10), NI, z(2026, 11, 30, 17)),
    ("1 working day", lon(2026, 11, 27, 10), SCT, z(2026, 12, 1, 17)),
    # --- St Andrew's Day 2025 is Sun 30 Nov: Scottish substitute Mon 1 Dec 2025.
    # Fri 28 Nov 2025: E&W Mon 1 Dec; Scotland skips Sat, Sun, Mon 1 Dec -> Tue 2 Dec
    ("1 working day", lon(2025, 11, 28, 10), EW, z(2025, 12, 1, 17)),
    ("1 working day", lon(2025, 11, 28, 10), SCT, z(2025, 12, 2, 17)),
    # --- Easter 2027 (Easter Sunday 28 Mar, also the day BST starts): Good Friday Fri 26 Mar (all nations),
    # Easter Monday Mon 29 Mar (E&W, NI; not Scotland). From Thu 25 Mar 10:00 GMT:
    # E&W/NI skip Fri 26, Sat, Sun, Mon 29 -> Tue 30 Mar, close 17:00 BST = 16:00Z
    ("1 working day", lon(2027, 3, 25, 10), EW, z(2027, 3, 30, 16)),
    ("1 working day", lon(2027, 3, 25, 10), NI, z(2027, 3, 30, 16)),
    # Scotland skips Fri 26, Sat, Sun -> Mon 29 Mar (Easter Monday is a working day there), 16:00Z
    ("1 working day", lon(2027, 3, 25, 10), SCT, z(2027, 3, 29, 16)),
    # --- Easter 2026: Good Friday Fri 3 Apr, Easter Monday Mon 6 Apr. From Thu 2 Apr 10:00 BST:
    ("1 working day", lon(2026, 4, 2, 10), EW, z(2026, 4, 7, 16)),  # skip 3, 4, 5, 6 -> Tue 7 Apr
    ("1 working day", lon(2026, 4, 2, 10), NI, z(2026, 4, 7, 16)),  # same as E&W
    ("1 working day", lon(2026, 4, 2, 10), SCT, z(2026, 4, 6, 16)),  # skip 3, 4, 5 -> Mon 6 Apr
    # --- August: Scotland first Monday (Mon 3 Aug 2026); E&W and NI last Monday (Mon 31 Aug 2026).
    ("1 working day", lon(2026, 7, 31, 10), EW, z(2026, 8, 3, 16)),  # Fri 31 Jul -> Mon 3 Aug
    ("1 working day", lon(2026, 7, 31, 10), NI, z(2026, 8, 3, 16)),  # Fri 31 Jul -> Mon 3 Aug
    ("1 working day", lon(2026, 7, 31, 10), SCT, z(2026, 8, 4, 16)),  # skip Sat, Sun, Mon 3 Aug -> Tue 4
    ("1 working day", lon(2026, 8, 28, 10), EW, z(2026, 9, 1, 16)),  # skip Sat, Sun, Mon 31 Aug -> Tue 1 Sep
    ("1 working day", lon(2026, 8, 28, 10), NI, z(2026, 9, 1, 16)),  # same as E&W
    ("1 working day", lon(2026, 8, 28, 10), SCT, z(2026, 8, 31, 16)),  # Fri 28 Aug -> Mon 31 Aug
    # --- NI: St Patrick's Day Tue 17 Mar 2026 (GMT). From Mon 16 Mar 10:00:
    ("1 working day", lon(2026, 3, 16, 10), NI, z(2026, 3, 18, 17)),  # skip Tue 17 -> Wed 18 Mar
    ("1 working day", lon(2026, 3, 16, 10), EW, z(2026, 3, 17, 17)),  # Tue 17 is a working day
    ("1 working day", lon(2026, 3, 16, 10), SCT, z(2026, 3, 17, 17)),  # Tue 17 is a working day
    # --- NI: Battle of the Boyne, Sun 12 Jul 2026 -> substitute Mon 13 Jul. From Fri 10 Jul 10:00 BST:
    ("1 working day", lon(2026, 7, 10, 10), NI, z(2026, 7, 14, 16)),  # skip Sat, Sun, Mon 13 -> Tue 14 Jul
    ("1 working day", lon(2026, 7, 10, 10), EW, z(2026, 7, 13, 16)),  # Mon 13 Jul
    ("1 working day", lon(2026, 7, 10, 10), SCT, z(2026, 7, 13, 16)),  # Mon 13 Jul
    # --- Scotland's one-off Mon 15 Jun 2026 (FIFA World Cup final participation). From Fri 12 Jun 10:00 BST:
    ("1 working day", lon(2026, 6, 12, 10), SCT, z(2026, 6, 16, 16)),  # skip Sat, Sun, Mon 15 -> Tue 16 Jun
    ("1 working day", lon(2026, 6, 12, 10), EW, z(2026, 6, 15, 16)),  # Mon 15 Jun
    ("1 working day", lon(2026, 6, 12, 10), NI, z(2026, 6, 15, 16)),  # Mon 15 Jun
    # --- "2 working weeks" = 10 working days from Mon 16 Nov 2026 10:00 GMT:
    # 17, 18, 19, 20, 23, 24, 25, 26, 27 (9), Mon 30 Nov (10) in E&W; Scotland skips St Andrew's -> Tue 1 Dec
    ("2 working weeks", lon(2026, 11, 16, 10), EW, z(2026, 11, 30, 17)),
    ("2 working weeks", lon(2026, 11, 16, 10), SCT, z(2026, 12, 1, 17)),
]


@pytest.mark.parametrize(("text", "start", "nation", "expected"), NATIONAL)
def test_national_bank_holidays(text, start, nation, expected):
    check(text, start, nation, expected)


@pytest.mark.parametrize(
    ("nation", "day", "holiday"),
    [
        (SCT, dt.date(2026, 6, 15), True),  # FIFA one-off: Scotland only
        (EW, dt.date(2026, 6, 15), False),
        (NI, dt.date(2026, 6, 15), False),
        (SCT, dt.date(2026, 11, 30), True),  # St Andrew's Day (Monday)
        (EW, dt.date(2026, 11, 30), False),
        (SCT, dt.date(2025, 12, 1), True),  # St Andrew's substitute (30 Nov 2025 is a Sunday)
        (EW, dt.date(2025, 12, 1), False),
        (SCT, dt.date(2027, 3, 29), False),  # Easter Monday: not in Scotland
        (EW, dt.date(2027, 3, 29), True),
        (NI, dt.date(2027, 3, 29), True),
        (SCT, dt.date(2027, 1, 4), True),  # 2 January substitute: Scotland only
        (EW, dt.date(2027, 1, 4), False),
        (NI, dt.date(2027, 1, 4), False),
        (NI, dt.date(2026, 3, 17), True),  # St Patrick's Day: NI only
        (EW, dt.date(2026, 3, 17), False),
        (SCT, dt.date(2026, 3, 17), False),
        (NI, dt.date(2026, 7, 13), True),  # Boyne substitute: NI only
        (EW, dt.date(2026, 7, 13), False),
    ],
)
def test_is_bank_holiday(nation, day, holiday):
    calendar = WorkingCalendar(nation)
    assert calendar.is_bank_holiday(day) is holiday
    assert calendar.is_working_day(day) is (not holiday and day.weekday() < 5)


# gov.uk https://www.gov.uk/bank-holidays.json, 2026 and 2027, written out by hand.
GOV_UK = {
    EW: [
        "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
        "2026-12-25", "2026-12-28",
        "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
        "2027-12-27", "2027-12-28",
    ],
    SCT: [
        "2026-01-01", "2026-01-02", "2026-04-03", "2026-05-04", "2026-05-25", "2026-06-15",
        "2026-08-03", "2026-11-30", "2026-12-25", "2026-12-28",
        "2027-01-01", "2027-01-04", "2027-03-26", "2027-05-03", "2027-05-31", "2027-08-02",
        "2027-11-30", "2027-12-27", "2027-12-28",
    ],
    NI: [
        "2026-01-01", "2026-03-17", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25",
        "2026-07-13", "2026-08-31", "2026-12-25", "2026-12-28",
        "2027-01-01", "2027-03-17", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31",
        "2027-07-12", "2027-08-30", "2027-12-27", "2027-12-28",
    ],
}  # fmt: skip


@pytest.mark.parametrize("nation", [EW, SCT, NI])
def test_calendar_matches_gov_uk_2026_2027(nation):
    expected = {dt.date.fromisoformat(day) for day in GOV_UK[nation]}
    assert all(day.weekday() < 5 for day in expected), "gov.uk lists only weekday (observed) dates"
    calendar = WorkingCalendar(nation)
    day, found = dt.date(2026, 1, 1), set()
    while day <= dt.date(2027, 12, 31):
        if calendar.is_bank_holiday(day) and day.weekday() < 5:
            found.add(day)
        day += dt.timedelta(days=1)
    assert sorted(found - expected) == [], "holidays the portal has that gov.uk does not"
    assert sorted(expected - found) == [], "gov.uk holidays the portal misses"


def test_unknown_calendar_is_refused():
    with pytest.raises(ValueError, match="unknown calendar"):
        WorkingCalendar("ENG")


# --------------------------------------------------------------------------------------------
# closed_days
# --------------------------------------------------------------------------------------------

CLOSED = [
    # No closures: Mon 8 Jun 2026 10:00 BST, 5 working days = 9, 10, 11, 12, Mon 15 Jun (E&W) -> 16:00Z
    ("5 working days", lon(2026, 6, 8, 10), (), z(2026, 6, 15, 16)),
    # Wed 10 Jun closed: 9 (1), skip 10, 11 (2), 12 (3), 15 (4), Tue 16 (5)
    ("5 working days", lon(2026, 6, 8, 10), (dt.date(2026, 6, 10),), z(2026, 6, 16, 16)),
    # Closing the day the count would land on (Mon 15) moves it to Tue 16
    ("5 working days", lon(2026, 6, 8, 10), (dt.date(2026, 6, 15),), z(2026, 6, 16, 16)),
    # A closed Saturday changes nothing
    ("5 working days", lon(2026, 6, 8, 10), (dt.date(2026, 6, 13),), z(2026, 6, 15, 16)),
    # Closed on the start day itself: the start's working day becomes Tue 9, so the 5th is Tue 16
    ("5 working days", lon(2026, 6, 8, 10), (dt.date(2026, 6, 8),), z(2026, 6, 16, 16)),
    ("same working day", lon(2026, 6, 8, 10), (dt.date(2026, 6, 8),), z(2026, 6, 9, 16)),
    # Two closures (Tue 9, Wed 10): 11 (1), 12 (2), 15 (3), 16 (4), Wed 17 (5)
    ("5 working days", lon(2026, 6, 8, 10), (dt.date(2026, 6, 9), dt.date(2026, 6, 10)), z(2026, 6, 17, 16)),
    # "7 days" from Mon 8 Jun -> Mon 15 Jun; closed -> Tue 16 Jun
    ("7 days", lon(2026, 6, 8, 10), (dt.date(2026, 6, 15),), z(2026, 6, 16, 16)),
    # "24 hours" from Sun 14 Jun 10:00 BST lands Mon 15 10:00 BST; Mon 15 closed -> close of Tue 16
    ("24 hours", lon(2026, 6, 14, 10), (dt.date(2026, 6, 15),), z(2026, 6, 16, 16)),
    # Closure next to a bank holiday: Thu 24 Dec 2026 closed; from Wed 23 Dec 10:00, 1 working day:
    # skip Thu 24 (closed), Fri 25, Sat, Sun, Mon 28 -> Tue 29 Dec
    ("1 working day", lon(2026, 12, 23, 10), (dt.date(2026, 12, 24),), z(2026, 12, 29, 17)),
]


@pytest.mark.parametrize(("text", "start", "closed", "expected"), CLOSED)
def test_closed_days_move_deadlines(text, start, closed, expected):
    check(text, start, EW, expected, closed_days=closed)


def test_closed_days_only_affect_their_own_calendar():
    # Same start as above (Mon 8 Jun 2026 10:00 BST), 5 working days.
    start = lon(2026, 6, 8, 10)
    # NI with Wed 10 Jun closed: 9 (1), skip 10, 11 (2), 12 (3), Mon 15 (4), Tue 16 (5)
    assert deadline("5 working days", start, NI, closed_days=[dt.date(2026, 6, 10)]) == z(2026, 6, 16, 16)
    # E&W without it: 9, 10, 11, 12, Mon 15 (5)
    assert deadline("5 working days", start, EW) == z(2026, 6, 15, 16)
    # Scotland with Wed 10 closed: 9 (1), 11 (2), 12 (3), skip Mon 15 (FIFA one-off), 16 (4), Wed 17 (5)
    assert deadline("5 working days", start, SCT, closed_days=[dt.date(2026, 6, 10)]) == z(2026, 6, 17, 16)


# --------------------------------------------------------------------------------------------
# When the start is: before/after close of business, weekends, bank holidays
# --------------------------------------------------------------------------------------------

# Week of Mon 16 Nov 2026 (GMT; close 17:00Z), E&W.
START_TIMES = [
    # Mon 16 Nov 10:00: start's working day is Mon 16
    ("same working day", lon(2026, 11, 16, 10), z(2026, 11, 16, 17)),
    ("1 working day", lon(2026, 11, 16, 10), z(2026, 11, 17, 17)),
    # Just before close: still Monday
    ("same working day", lon(2026, 11, 16, 16, 59), z(2026, 11, 16, 17)),
    ("1 working day", lon(2026, 11, 16, 16, 59), z(2026, 11, 17, 17)),
    ("same working day", dt.datetime(2026, 11, 16, 16, 59, 59, 999999, tzinfo=LONDON), z(2026, 11, 16, 17)),
    # 17:00 exactly is NOT before close of business: start's working day is Tue 17
    ("same working day", lon(2026, 11, 16, 17), z(2026, 11, 17, 17)),
    ("1 working day", lon(2026, 11, 16, 17), z(2026, 11, 18, 17)),
    # Late evening: Tue 17 is the start's working day
    ("1 working day", lon(2026, 11, 16, 23, 30), z(2026, 11, 18, 17)),
    # Early morning (00:00) counts as that day, before close
    ("same working day", lon(2026, 11, 16, 0, 0), z(2026, 11, 16, 17)),
    # Friday after close: start's working day is Mon 16, so 1 working day is Tue 17
    ("1 working day", lon(2026, 11, 13, 17), z(2026, 11, 17, 17)),
    ("1 working day", lon(2026, 11, 13, 16, 59), z(2026, 11, 16, 17)),  # Friday before close -> Mon 16
    # Weekend starts: start's working day is Mon 16
    ("same working day", lon(2026, 11, 14, 10), z(2026, 11, 16, 17)),  # Saturday
    ("1 working day", lon(2026, 11, 14, 10), z(2026, 11, 17, 17)),  # Saturday
    ("1 working day", lon(2026, 11, 15, 23, 59), z(2026, 11, 17, 17)),  # Sunday night
    ("5 working days", lon(2026, 11, 15, 12), z(2026, 11, 23, 17)),  # Sun: Mon 16 base; 17..20 (4), Mon 23 (5)
    # On a bank holiday (Mon 31 Aug 2026, E&W, BST): start's working day is Tue 1 Sep
    ("same working day", lon(2026, 8, 31, 10), z(2026, 9, 1, 16)),
    ("1 working day", lon(2026, 8, 31, 10), z(2026, 9, 2, 16)),
    # "0 working days" is the same as "same working day"
    ("0 working days", lon(2026, 11, 16, 17), z(2026, 11, 17, 17)),
    # In BST close is 16:00Z. Mon 8 Jun 2026: 15:59Z (16:59 BST) is before, 16:00Z (17:00 BST) is not,
    # 16:30Z (17:30 BST) is after close even though it is "before 17:00" in UTC.
    ("same working day", z(2026, 6, 8, 15, 59), z(2026, 6, 8, 16)),
    ("same working day", z(2026, 6, 8, 16, 0), z(2026, 6, 9, 16)),
    ("same working day", z(2026, 6, 8, 16, 30), z(2026, 6, 9, 16)),
    # Mon 8 Jun 23:30Z is Tue 9 Jun 00:30 BST: London date Tue 9, before close -> Tue 9
    ("same working day", z(2026, 6, 8, 23, 30), z(2026, 6, 9, 16)),
    # Sun 7 Jun 23:30Z is Mon 8 Jun 00:30 BST: London date Mon 8 -> Mon 8
    ("same working day", z(2026, 6, 7, 23, 30), z(2026, 6, 8, 16)),
]


@pytest.mark.parametrize(("text", "start", "expected"), START_TIMES)
def test_start_times(text, start, expected):
    check(text, start, EW, expected)


def test_later_close_of_business():
    # A procedure with close of business 17:30: a 17:00 start is then before close.
    # Mon 16 Nov 2026 17:00 GMT: same working day = Mon 16 17:30Z; 17:30 exactly -> Tue 17 17:30Z.
    late = {"close_of_business": dt.time(17, 30)}
    assert deadline("same working day", lon(2026, 11, 16, 17), EW, **late) == z(2026, 11, 16, 17, 30)
    assert deadline("same working day", lon(2026, 11, 16, 17, 30), EW, **late) == z(2026, 11, 17, 17, 30)


# --------------------------------------------------------------------------------------------
# N hours: elapsed hours in UTC
# --------------------------------------------------------------------------------------------

HOURS = [
    # Tue 17 Nov 2026 10:00Z + 24h = Wed 18 10:00Z, a working day: as is
    ("24 hours", lon(2026, 11, 17, 10), EW, z(2026, 11, 18, 10)),
    ("1 hour", lon(2026, 11, 17, 10), EW, z(2026, 11, 17, 11)),
    # Lands on a working day after close (Tue 17 Nov 18:00Z): stays as is, not moved
    ("24 hours", lon(2026, 11, 16, 18), EW, z(2026, 11, 17, 18)),
    # Fri 13 Nov 10:00Z + 24h = Sat 14 10:00Z, not working -> close of Mon 16 Nov
    ("24 hours", lon(2026, 11, 13, 10), EW, z(2026, 11, 16, 17)),
    # Start on a Saturday: Sat 14 Nov 10:00 + 48h = Mon 16 10:00Z (working) -> as is
    ("48 hours", lon(2026, 11, 14, 10), EW, z(2026, 11, 16, 10)),
    # Thu 24 Dec 2026 10:00Z + 48h = Sat 26 -> skip Sun 27, Mon 28 (Boxing sub) -> close Tue 29 Dec
    ("48 hours", lon(2026, 12, 24, 10), EW, z(2026, 12, 29, 17)),
    # Thu 24 Dec 18:00Z + 24h = Fri 25 18:00Z, Christmas -> close of Tue 29 Dec
    ("24 hours", lon(2026, 12, 24, 18), EW, z(2026, 12, 29, 17)),
    # Thu 31 Dec 2026 10:00Z + 96h = Mon 4 Jan 10:00Z: working in E&W (as is); Scotland's holiday -> Tue 5 close
    ("96 hours", lon(2026, 12, 31, 10), EW, z(2027, 1, 4, 10)),
    ("96 hours", lon(2026, 12, 31, 10), SCT, z(2027, 1, 5, 17)),
    # London date decides, not UTC date (BST):
    # Fri 12 Jun 2026 21:30Z + 2h = Fri 23:30Z = Sat 13 Jun 00:30 BST, a Saturday -> close of Mon 15 (16:00Z)
    ("2 hours", z(2026, 6, 12, 21, 30), EW, z(2026, 6, 15, 16)),
    # Sun 7 Jun 22:30Z + 1h = Sun 23:30Z = Mon 8 Jun 00:30 BST, a working day -> as is
    ("1 hour", z(2026, 6, 7, 22, 30), EW, z(2026, 6, 7, 23, 30)),
    # --- Across the clock changes: elapsed hours, not wall-clock.
    # Fri 27 Mar 2026 12:00 GMT (12:00Z) + 72h = Mon 30 Mar 12:00Z = 13:00 BST (wall-clock would be 11:00Z)
    ("72 hours", lon(2026, 3, 27, 12), EW, z(2026, 3, 30, 12)),
    # Sat 28 Mar 2026 12:00 GMT + 48h = Mon 30 Mar 12:00Z (13:00 BST)
    ("48 hours", lon(2026, 3, 28, 12), EW, z(2026, 3, 30, 12)),
    # docs/deadlines.md's example: Sat 28 Mar 12:00 GMT + 24h = Sun 29 Mar 12:00Z = 13:00 BST (23 wall-clock hours
    # would give 12:00 BST); Sunday is not a working day -> close of Mon 30 Mar = 17:00 BST = 16:00Z
    ("24 hours", lon(2026, 3, 28, 12), EW, z(2026, 3, 30, 16)),
    # Fri 23 Oct 2026 12:00 BST (11:00Z) + 72h = Mon 26 Oct 11:00Z = 11:00 GMT (wall-clock would be 12:00Z)
    ("72 hours", lon(2026, 10, 23, 12), EW, z(2026, 10, 26, 11)),
    # Sat 24 Oct 2026 12:00 BST (11:00Z) + 24h = Sun 25 11:00Z -> close Mon 26 Oct = 17:00 GMT = 17:00Z
    ("24 hours", lon(2026, 10, 24, 12), EW, z(2026, 10, 26, 17)),
]


@pytest.mark.parametrize(("text", "start", "nation", "expected"), HOURS)
def test_hours(text, start, nation, expected):
    check(text, start, nation, expected)


# --------------------------------------------------------------------------------------------
# N days / N months: calendar arithmetic on the start's London date, then close of business
# --------------------------------------------------------------------------------------------

CALENDAR = [
    # Mon 16 Nov 2026 + 28 days = Mon 14 Dec 2026 (working) -> 17:00Z
    ("28 days", lon(2026, 11, 16, 10), EW, z(2026, 12, 14, 17)),
    # The start's time of day does not matter: Mon 16 Nov 23:00 + 1 day = Tue 17 Nov
    ("1 day", lon(2026, 11, 16, 23), EW, z(2026, 11, 17, 17)),
    # Nor a weekend start: Sat 14 Nov + 1 day = Sun 15 -> Mon 16 Nov
    ("1 day", lon(2026, 11, 14, 10), EW, z(2026, 11, 16, 17)),
    # Fri 13 Nov + 1 day = Sat 14 -> Mon 16 Nov
    ("1 day", lon(2026, 11, 13, 10), EW, z(2026, 11, 16, 17)),
    # Tue 22 Dec 2026 + 3 days = Fri 25 (Christmas) -> skip Sat, Sun, Mon 28 -> Tue 29 Dec
    ("3 days", lon(2026, 12, 22, 10), EW, z(2026, 12, 29, 17)),
    # Tue 22 Dec 2026 + 10 days = Fri 1 Jan 2027 -> skip Sat, Sun -> Mon 4 Jan (E&W); Scotland also Mon 4 -> Tue 5
    ("10 days", lon(2026, 12, 22, 10), EW, z(2027, 1, 4, 17)),
    ("10 days", lon(2026, 12, 22, 10), SCT, z(2027, 1, 5, 17)),
    # London date, not UTC date: Mon 8 Jun 2026 23:30Z is Tue 9 Jun 00:30 BST; + 1 day = Wed 10 Jun (16:00Z)
    ("1 day", z(2026, 6, 8, 23, 30), EW, z(2026, 6, 10, 16)),
    # Tue 31 Mar 2026 + 1 month = 31 Apr -> clamped to Thu 30 Apr 2026 (BST) -> 16:00Z
    ("1 month", lon(2026, 3, 31, 10), EW, z(2026, 4, 30, 16)),
    # Sat 31 Jan 2026 + 1 month = clamped to Sat 28 Feb 2026 (2026 not leap) -> Mon 2 Mar 2026 17:00Z
    ("1 month", lon(2026, 1, 31, 10), EW, z(2026, 3, 2, 17)),
    # Mon 31 Jan 2028 + 1 month = clamped to Tue 29 Feb 2028 (leap year), working -> 17:00Z
    ("1 month", lon(2028, 1, 31, 10), EW, z(2028, 2, 29, 17)),
    # Tue 29 Feb 2028 + 1 month = Wed 29 Mar 2028 (BST from Sun 26 Mar 2028) -> 16:00Z
    ("1 month", lon(2028, 2, 29, 10), EW, z(2028, 3, 29, 16)),
    # Thu 31 Dec 2026 + 2 months = 31 Feb 2027 -> clamped Sun 28 Feb 2027 -> Mon 1 Mar 2027 17:00Z
    ("2 months", lon(2026, 12, 31, 10), EW, z(2027, 3, 1, 17)),
    # Mon 16 Nov 2026 + 12 months = Tue 16 Nov 2027 -> 17:00Z
    ("12 months", lon(2026, 11, 16, 10), EW, z(2027, 11, 16, 17)),
    # After close still uses the start's date: Mon 16 Nov 23:00 + 1 month = Wed 16 Dec 2026
    ("1 month", lon(2026, 11, 16, 23), EW, z(2026, 12, 16, 17)),
    # Wed 25 Nov 2026 + 1 month = Fri 25 Dec (Christmas) -> skip Sat, Sun, Mon 28 -> Tue 29 Dec
    ("1 month", lon(2026, 11, 25, 10), EW, z(2026, 12, 29, 17)),
    # Mon 30 Nov 2026 (St Andrew's) starts count from the date: + 1 month = Wed 30 Dec, working everywhere
    ("1 month", lon(2026, 11, 30, 10), SCT, z(2026, 12, 30, 17)),
    # Fri 15 May 2026 + 1 month = Mon 15 Jun 2026: Scotland's one-off -> Tue 16 (BST, 16:00Z); E&W as is
    ("1 month", lon(2026, 5, 15, 10), SCT, z(2026, 6, 16, 16)),
    ("1 month", lon(2026, 5, 15, 10), EW, z(2026, 6, 15, 16)),
]


@pytest.mark.parametrize(("text", "start", "nation", "expected"), CALENDAR)
def test_calendar_days_and_months(text, start, nation, expected):
    check(text, start, nation, expected)


# --------------------------------------------------------------------------------------------
# Clock changes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 3, 27), z(2026, 3, 27, 17)),  # Fri before BST: 17:00 GMT
        (dt.date(2026, 3, 30), z(2026, 3, 30, 16)),  # Mon after: 17:00 BST
        (dt.date(2026, 10, 23), z(2026, 10, 23, 16)),  # Fri, last BST working day
        (dt.date(2026, 10, 26), z(2026, 10, 26, 17)),  # Mon, GMT again
        (dt.date(2027, 3, 26), z(2027, 3, 26, 17)),  # Good Friday 2027 (GMT; not a working day, still a date)
        (dt.date(2027, 3, 29), z(2027, 3, 29, 16)),  # Mon after 2027-03-28 change
        (dt.date(2027, 10, 29), z(2027, 10, 29, 16)),  # Fri before 2027-10-31 change
        (dt.date(2027, 11, 1), z(2027, 11, 1, 17)),  # Mon after
    ],
)
def test_close_of_business_follows_the_clock(day, expected):
    got = WorkingCalendar(EW).close_of_business(day)
    assert got == expected
    assert got.utcoffset() == dt.timedelta(0)


CLOCK_CHANGES = [
    # Fri 27 Mar 2026 10:00 GMT: 1 working day -> Mon 30 Mar, close 17:00 BST = 16:00Z
    ("1 working day", lon(2026, 3, 27, 10), z(2026, 3, 30, 16)),
    # Fri 23 Oct 2026 10:00 BST: 1 working day -> Mon 26 Oct, close 17:00 GMT = 17:00Z
    ("1 working day", lon(2026, 10, 23, 10), z(2026, 10, 26, 17)),
    # Fri 23 Oct 2026 16:30 BST (15:30Z) is before close (16:00Z); 16:30Z (17:30 BST) is after
    ("same working day", z(2026, 10, 23, 15, 30), z(2026, 10, 23, 16)),
    ("same working day", z(2026, 10, 23, 16, 30), z(2026, 10, 26, 17)),
    # Fri 29 Oct 2027 10:00 BST -> Mon 1 Nov 2027 17:00Z
    ("1 working day", lon(2027, 10, 29, 10), z(2027, 11, 1, 17)),
    # Sun 28 Mar 2027 12:00 BST (change day, also Easter Sunday): E&W skips Easter Monday 29 -> Tue 30 16:00Z
    ("same working day", lon(2027, 3, 28, 12), z(2027, 3, 30, 16)),
]


@pytest.mark.parametrize(("text", "start", "expected"), CLOCK_CHANGES)
def test_across_clock_changes(text, start, expected):
    check(text, start, EW, expected)


@pytest.mark.parametrize("fold", [0, 1])
def test_repeated_hour_gives_the_same_working_day_deadline(fold):
    # Sun 25 Oct 2026 01:30 happens twice: fold=0 is BST (00:30Z), fold=1 is GMT (01:30Z).
    start = lon(2026, 10, 25, 1, 30, fold=fold)
    assert to_utc(start) == (z(2026, 10, 25, 0, 30) if fold == 0 else z(2026, 10, 25, 1, 30))
    # Either way a Sunday: start's working day Mon 26 Oct (GMT, close 17:00Z); 1 working day -> Tue 27 Oct;
    # 5 working days -> 27, 28, 29, 30, Mon 2 Nov 2026
    assert deadline("same working day", start) == z(2026, 10, 26, 17)
    assert deadline("1 working day", start) == z(2026, 10, 27, 17)
    assert deadline("5 working days", start) == z(2026, 11, 2, 17)
    # Calendar arithmetic uses the same London date (Sun 25 Oct) either way: + 1 day = Mon 26 Oct
    assert deadline("1 day", start) == z(2026, 10, 26, 17)


def test_repeated_hour_hours_are_elapsed():
    # fold=0 (00:30Z) + 1h = 01:30Z; fold=1 (01:30Z) + 1h = 02:30Z: both still Sunday -> close of Mon 26 Oct;
    # + 25h lands Mon 26 Oct 01:30Z / 02:30Z respectively, a working day: as is, one hour apart.
    first, second = lon(2026, 10, 25, 1, 30, fold=0), lon(2026, 10, 25, 1, 30, fold=1)
    assert deadline("1 hour", first) == deadline("1 hour", second) == z(2026, 10, 26, 17)
    assert deadline("25 hours", first) == z(2026, 10, 26, 1, 30)
    assert deadline("25 hours", second) == z(2026, 10, 26, 2, 30)


# --------------------------------------------------------------------------------------------
# Duration parsing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "unit"),
    [
        ("1 working day", 1, "working_days"),
        ("5 working days", 5, "working_days"),
        ("0 working days", 0, "working_days"),
        ("1 working week", 5, "working_days"),  # N working weeks = 5N working days
        ("2 working weeks", 10, "working_days"),
        ("24 hours", 24, "hours"),
        ("1 hour", 1, "hours"),
        ("28 days", 28, "days"),
        ("1 day", 1, "days"),
        ("1 month", 1, "months"),
        ("3 months", 3, "months"),
        ("same working day", 0, "same_working_day"),
        ("  5   Working   DAYS  ", 5, "working_days"),  # extra spaces and case
        ("5\tworking\ndays", 5, "working_days"),  # any whitespace
        ("Same  Working Day", 0, "same_working_day"),
        ("24 HOURS", 24, "hours"),
    ],
)
def test_duration_parses(text, count, unit):
    duration = Duration.parse(text)
    assert (duration.count, duration.unit) == (count, unit)
    assert str(duration) == text


@pytest.mark.parametrize(
    "text",
    [
        "five days",  # number in words
        "5 workdays",  # not a unit
        "5 working",  # unit missing its noun
        "-1 days",  # negative
        "+1 days",  # signed
        "1.5 hours",  # fractional
        "5",  # no unit
        "days",  # no number
        "5 weeks",  # only working weeks exist
        "5 days ago",  # trailing words
        "same day",  # not "same working day"
        "",  # empty
        "   ",  # blank
        None,  # not a string
        5,
        5.0,
        ["5 days"],
    ],
)
def test_duration_rejects(text):
    with pytest.raises(ValueError):
        Duration.parse(text)


# --------------------------------------------------------------------------------------------
# to_utc and format_london
# --------------------------------------------------------------------------------------------


def test_to_utc_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        to_utc(dt.datetime(2026, 11, 16, 10, 0))


def test_naive_start_is_refused_by_every_duration():
    naive = dt.datetime(2026, 11, 16, 10, 0)
    for text in ("same working day", "1 working day", "24 hours", "1 day", "1 month"):
        with pytest.raises(ValueError, match="naive"):
            deadline(text, naive)


def test_to_utc_converts_aware_datetimes():
    assert to_utc(lon(2026, 6, 8, 17)) == z(2026, 6, 8, 16)  # BST
    assert to_utc(lon(2026, 11, 16, 17)) == z(2026, 11, 16, 17)  # GMT
    assert to_utc(lon(2026, 11, 16, 17)).tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (z(2026, 12, 24, 17), "Thursday 24 December 2026, 5:00pm"),  # DESIGN's example, GMT
        (z(2026, 6, 8, 16), "Monday 8 June 2026, 5:00pm"),  # BST: 16:00Z is 5pm
        (z(2026, 11, 16, 9, 5), "Monday 16 November 2026, 9:05am"),
        (z(2026, 11, 16, 12, 0), "Monday 16 November 2026, 12:00pm"),
        (z(2026, 11, 16, 0, 30), "Monday 16 November 2026, 12:30am"),
        (z(2026, 6, 7, 23, 30), "Monday 8 June 2026, 12:30am"),  # London date, not UTC date
        (None, ""),
    ],
)
def test_format_london(moment, shown):
    assert format_london(moment) == shown


def _days_between_by_walking(calendar: WorkingCalendar, start: dt.datetime, end: dt.datetime) -> int:
    """The report's measure as the words say it, day by day with the calendar's reasons (not its fast paths): from
    the start's working day (its own if a working day and before close, else the next), each working day up to the
    end's London date."""

    def working(day: dt.date) -> bool:
        return calendar.why_not_working(day) is None

    day, last, count = start.astimezone(LONDON).date(), end.astimezone(LONDON).date(), 0
    if not (working(day) and start < calendar.close_of_business(day)):
        day += dt.timedelta(days=1)
        while not working(day):
            day += dt.timedelta(days=1)
    while day < last:
        day += dt.timedelta(days=1)
        count += working(day) and day <= last
    return count


@settings(max_examples=400, deadline=None)
@given(
    start=st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2028, 12, 31), timezones=st.just(dt.UTC)),
    length=st.timedeltas(dt.timedelta(0), dt.timedelta(days=800)),
    before=st.booleans(),
)
def test_working_days_between_counts_as_walking_the_days_does(start, length, before):
    """Counted from running totals of each year (across years, clock changes, bank holidays, closed days), the
    figure is the one walking day by day gives; an end before the start counts 0."""
    calendar = WorkingCalendar(closed_days={dt.date(2026, 12, 24): "Christmas Eve", dt.date(2027, 8, 2): ""})
    end = start - length if before else start + length
    assert calendar.working_days_between(start, end) == _days_between_by_walking(calendar, start, end)


def test_working_days_between_on_known_dates():
    """Friday 18 December 2026, 10:00 to Monday 4 January 2027 counts the 21st, 22nd, 23rd, 29th, 30th, 31st and
    4 January: not the 24th (closed here), Christmas Day, the 28th (Boxing Day's substitute), New Year's Day or
    the weekends."""
    calendar = WorkingCalendar(closed_days={dt.date(2026, 12, 24): "Christmas Eve"})
    start = to_utc(dt.datetime(2026, 12, 18, 10, 0, tzinfo=LONDON))
    end = to_utc(dt.datetime(2027, 1, 4, 12, 0, tzinfo=LONDON))
    assert calendar.working_days_between(start, end) == 7
    after_close = to_utc(dt.datetime(2026, 12, 18, 17, 0, tzinfo=LONDON))  # counted from Monday 21st
    assert calendar.working_days_between(after_close, end) == 6
