"""The five seed procedures as presets: each loads cleanly and its timeline matches deadlines worked out by hand.

Every expected instant below was counted on a calendar from the seed's words and the rules of docs/deadlines.md,
not computed with the code under test. Times are UTC: close of business 17:00 London is 17:00Z in winter (GMT)
and 16:00Z in summer (BST; 2026-03-29 to 2026-10-25 and from 2027-03-28).

England & Wales bank holidays used: 2026 May 4, May 25, Aug 31, Dec 25, Dec 28 (Boxing Day observed);
2027 Jan 1, Mar 26 (Good Friday), Mar 29 (Easter Monday), May 3, May 31.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from portal.deadlines import timeline
from portal.procedure import PRESETS_DIR, preset_ids, resolve_procedure

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
PRESETS = ["salford", "hounslow", "birmingham", "wirral", "bury"]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def actual(procedure_id: str, start: dt.datetime, imminent: bool = False) -> list[tuple]:
    proc = resolve_procedure(procedure_id)
    return [(s.stage.key, s.starts, s.reminders, s.due) for s in timeline(proc, start, imminent=imminent)]


def test_the_five_seed_procedures_are_the_presets():
    assert sorted(PRESETS) == [pid for pid in preset_ids() if pid in PRESETS]
    for pid in PRESETS:
        assert (PRESETS_DIR / f"{pid}.toml").exists()


@pytest.mark.parametrize("procedure_id", PRESETS)
def test_preset_loads_without_warnings(procedure_id):
    proc = resolve_procedure(procedure_id)
    assert proc.id == procedure_id
    assert proc.warnings == ()
    assert proc.calendar.nation == "england-and-wales"
    assert proc.calendar.close_time == dt.time(17, 0)
    assert str(proc.imminent_risk) == "same working day"
    assert proc.imminent_risk_notify
    assert proc.specific_circumstances_notify == ("dcs", "partnership.business_manager")
    assert proc.final_documents
    assert proc.source
    for stage in proc.stages:
        assert stage.parties, stage.key
        assert stage.description, stage.key
        assert stage.records, stage.key


def test_preset_shapes_follow_the_seeds():
    salford, hounslow, birmingham, wirral, bury = (resolve_procedure(pid) for pid in PRESETS)
    assert [len(p.stages) for p in (salford, hounslow, birmingham, wirral, bury)] == [3, 5, 5, 4, 4]
    assert salford.raise_documents == ("escalation_notice",)
    copy = salford.stages[2].copies[0]
    assert (copy.role, str(copy.within), copy.document) == (
        "raiser.service_manager",
        "2 working days",
        "escalation_notice",
    )
    assert hounslow.stages[0].records == ("child", "counterpart", "concern", "action_taken", "outcome_sought")
    assert [(n.when, n.role) for n in hounslow.stages[1].notify] == [
        ("child_on_plan_or_looked_after", "cp_chair_or_iro")
    ]
    assert [str(s.escalate_within) for s in hounslow.stages] == [
        "None",
        "24 hours",
        "24 hours",
        "2 working days",
        "None",
    ]
    assert birmingham.stages[0].parties == ("raiser", "raiser.line_manager")
    assert "partnership.board_member" in birmingham.stages[-1].parties
    assert [s.resolve_documents for s in wirral.stages] == [(), ("resolution_proforma",), ("resolution_proforma",), ()]
    assert wirral.stages[-1].parties == ("partnership.independent_chair",)
    assert wirral.secure_domains == ("gcsx.gov.uk",)
    assert bury.raise_documents == ("request_for_resolution",)
    assert bury.stages[-1].parties == ("partnership.business_manager",)


def test_salford_from_a_friday_evening_before_christmas_2026():
    # Fri 18 Dec 2026 17:30 GMT: after close of business, so the start's working day is Mon 21 Dec.
    start = dt.datetime(2026, 12, 18, 17, 30, tzinfo=LONDON)
    assert actual("salford", start) == [
        (
            "practitioners",
            utc(2026, 12, 18, 17, 30),
            # "24 hours" -> Sat 19 Dec 17:30, not a working day -> close of Mon 21 Dec.
            # "2 working days" after Mon 21 -> Tue 22 (1), Wed 23 (2). "5 working days" is the deadline: dropped.
            (utc(2026, 12, 21, 17), utc(2026, 12, 23, 17)),
            # "5 working days" (no time in the seed; one working week): Tue 22 (1), Wed 23 (2), Thu 24 (3),
            # [Fri 25 Christmas, Mon 28 Boxing Day observed] Tue 29 (4), Wed 30 (5).
            utc(2026, 12, 30, 17),
        ),
        (
            # 2.4 "If unresolved, the problem should be referred": no escalate_within, starts at the deadline.
            "line-managers",
            utc(2026, 12, 30, 17),
            # Start at 17:00 is not before close: its working day is Thu 31 Dec.
            # "24 hours" -> Thu 31 Dec 17:00 (a working day). "2 working days": [Fri 1 Jan] Mon 4 (1), Tue 5 (2).
            (utc(2026, 12, 31, 17), utc(2027, 1, 5, 17)),
            # "5 working days" after Thu 31: Mon 4, Tue 5, Wed 6, Thu 7, Fri 8 Jan.
            utc(2027, 1, 8, 17),
        ),
        (
            # 3.1 "at the earliest opportunity" read as "same working day": Fri 8 Jan 17:00 is not before close,
            # so its working day is Mon 11 Jan -> close of Mon 11 Jan.
            "service-managers",
            utc(2027, 1, 11, 17),
            # Working day Tue 12. "24 hours" -> Tue 12 17:00. "2 working days" -> Wed 13 (1), Thu 14 (2).
            (utc(2027, 1, 12, 17), utc(2027, 1, 14, 17)),
            # "5 working days" after Tue 12: Wed 13, Thu 14, Fri 15, Mon 18, Tue 19.
            utc(2027, 1, 19, 17),
        ),
    ]


def test_hounslow_before_easter_2027_and_across_the_march_clock_change():
    # Wed 24 Mar 2027 10:00 GMT, a working day before close: the start's working day is Wed 24.
    # Clocks go forward on Sun 28 Mar, so every close of business from then on is 16:00Z.
    start = utc(2027, 3, 24, 10)
    assert actual("hounslow", start) == [
        (
            "practitioners",
            utc(2027, 3, 24, 10),
            # "24 hours" -> Thu 25 Mar 10:00 (working). "2 working days": Thu 25 (1), [Fri 26 Good Friday,
            # Mon 29 Easter Monday] Tue 30 (2) -> 17:00 BST.
            (utc(2027, 3, 25, 10), utc(2027, 3, 30, 16)),
            # "within 5 working days": Thu 25 (1), Tue 30 (2), Wed 31 (3), Thu 1 Apr (4), Fri 2 Apr (5).
            utc(2027, 4, 2, 16),
        ),
        (
            # "escalated to their line manager within 24 hours": Fri 2 Apr 16:00Z + 24h = Sat 3 Apr, not a
            # working day -> close of Mon 5 Apr.
            "line-managers",
            utc(2027, 4, 5, 16),
            # Working day Tue 6. "24 hours" -> Tue 6 16:00Z. "2 working days" -> Wed 7 (1), Thu 8 (2).
            (utc(2027, 4, 6, 16), utc(2027, 4, 8, 16)),
            # "within 5 working days": Wed 7, Thu 8, Fri 9, Mon 12, Tue 13. But the flowchart's window, 10 working
            # days from the raise: Thu 25 Mar (1), Tue 30 (2), Wed 31 (3), Thu 1 Apr (4), Fri 2 (5), Mon 5 (6),
            # Tue 6 (7), Wed 7 (8), Thu 8 (9), Fri 9 (10): the earlier, Fri 9 Apr.
            utc(2027, 4, 9, 16),
        ),
        (
            # "within 24 hours": Fri 9 16:00Z + 24h = Sat 10 Apr -> close of Mon 12 Apr.
            "safeguarding-leads",
            utc(2027, 4, 12, 16),
            # Working day Tue 13. "24 hours" -> Tue 13 16:00Z. "2 working days" -> Wed 14 (1), Thu 15 (2).
            (utc(2027, 4, 13, 16), utc(2027, 4, 15, 16)),
            # "within 5 working days": Wed 14 ... Tue 20. Window of 15 from the raise: Mon 12 (11), Tue 13 (12),
            # Wed 14 (13), Thu 15 (14), Fri 16 (15): Fri 16 Apr.
            utc(2027, 4, 16, 16),
        ),
        (
            # "to the Head of Service ... within 2 working days": after Fri 16 (working day Mon 19): Tue 20 (1),
            # Wed 21 (2).
            "heads-of-service",
            utc(2027, 4, 21, 16),
            # Working day Thu 22. "24 hours" -> Thu 22 16:00Z. "2 working days" -> Fri 23 (1), Mon 26 (2).
            (utc(2027, 4, 22, 16), utc(2027, 4, 26, 16)),
            # "within 5 working days": Fri 23 ... Thu 29. Window of 22 from the raise: Mon 19 (16), Tue 20 (17),
            # Wed 21 (18), Thu 22 (19), Fri 23 (20), Mon 26 (21), Tue 27 (22): Tue 27 Apr.
            utc(2027, 4, 27, 16),
        ),
        (
            # "refer the matter to the HSCP for resolution within 28 days": no separate escalate_within.
            "partnership",
            utc(2027, 4, 27, 16),
            # Working day Wed 28. "24 hours" -> Wed 28 16:00Z. Working days after Wed 28: "2" -> Fri 30 Apr,
            # "5" -> [Mon 3 May bank holiday] Thu 6, "10" -> Thu 13, "15" -> Thu 20 May.
            (
                utc(2027, 4, 28, 16),
                utc(2027, 4, 30, 16),
                utc(2027, 5, 6, 16),
                utc(2027, 5, 13, 16),
                utc(2027, 5, 20, 16),
            ),
            # "28 days" from Tue 27 Apr -> Tue 25 May 2027, a working day.
            utc(2027, 5, 25, 16),
        ),
    ]


def test_hounslow_imminent_risk_from_a_summer_friday_evening():
    # Fri 10 Jul 2026 18:00 BST (17:00Z): after close of business; the start's working day is Mon 13 Jul.
    start = dt.datetime(2026, 7, 10, 18, 0, tzinfo=LONDON)
    stages = actual("hounslow", start, imminent=True)
    assert stages[:2] == [
        (
            "practitioners",
            utc(2026, 7, 10, 17),
            # "24 hours" -> Sat 11 Jul -> close of Mon 13 Jul, which is the deadline itself: dropped, as are
            # the later ones.
            (),
            # "escalated to their manager/supervisor and/or safeguarding lead on the same working day": close of
            # Mon 13 Jul (17:00 BST), sooner than 5 working days (Mon 20 Jul).
            utc(2026, 7, 13, 16),
        ),
        (
            # "within 24 hours": Tue 14 Jul 16:00Z. Working day Wed 15.
            "line-managers",
            utc(2026, 7, 14, 16),
            # "24 hours" -> Wed 15 16:00Z. "2 working days" -> Thu 16 (1), Fri 17 (2).
            (utc(2026, 7, 15, 16), utc(2026, 7, 17, 16)),
            # "within 5 working days": Thu 16, Fri 17, Mon 20, Tue 21, Wed 22. Imminent risk changes only stage 1.
            utc(2026, 7, 22, 16),
        ),
    ]
    # Without imminent risk the first stage runs its 5 working days: Tue 14 ... Mon 20 Jul.
    assert actual("hounslow", start)[0][3] == utc(2026, 7, 20, 16)


def test_hounslow_24_hour_reminder_is_elapsed_time_across_the_october_clock_change_sent_in_working_hours():
    # Sun 25 Oct 2026 00:30Z = 01:30 BST, half an hour before the clocks go back. Sunday: working day Mon 26.
    stages = actual("hounslow", utc(2026, 10, 25, 0, 30))
    assert stages[0] == (
        "practitioners",
        utc(2026, 10, 25, 0, 30),
        # "24 hours" elapsed -> Mon 26 Oct 00:30Z (00:30 GMT: a working day, so the instant stands, not close of
        # business), before working hours: the reminder goes at 09:00 GMT (09:00Z) that day.
        # "2 working days" after Mon 26 -> Tue 27 (1), Wed 28 (2) -> 17:00 GMT.
        (utc(2026, 10, 26, 9), utc(2026, 10, 28, 17)),
        # "within 5 working days": Tue 27, Wed 28, Thu 29, Fri 30, Mon 2 Nov.
        utc(2026, 11, 2, 17),
    )


def test_birmingham_one_working_week_across_the_october_clock_change():
    # Fri 23 Oct 2026 15:00 BST (14:00Z): before close, the start's working day is Fri 23. The clocks go back on
    # Sun 25 Oct: close of business is 16:00Z on Fri 23 and 17:00Z from Mon 26.
    start = dt.datetime(2026, 10, 23, 15, 0, tzinfo=LONDON)
    assert actual("birmingham", start) == [
        (
            "consult-manager",
            utc(2026, 10, 23, 14),
            # "24 hours" -> Sat 24 -> close of Mon 26: after the deadline, dropped.
            (),
            # "This should be done on the same working day that the disagreement arises." -> Fri 23 17:00 BST.
            utc(2026, 10, 23, 16),
        ),
        (
            "professionals",
            utc(2026, 10, 23, 16),
            # Working day Mon 26. "24 hours" -> Sat 24 Oct 16:00Z, not a working day -> close of Mon 26 (17:00 GMT).
            # "2 working days" is the deadline: dropped.
            (utc(2026, 10, 26, 17),),
            # Share of "within one working week": 2 working days after Mon 26 -> Tue 27 (1), Wed 28 (2).
            utc(2026, 10, 28, 17),
        ),
        (
            # "24 hours" stages: Wed 28 17:00Z + 24h = Thu 29 17:00Z; their reminders all fall at or after it.
            "line-managers",
            utc(2026, 10, 28, 17),
            (),
            utc(2026, 10, 29, 17),
        ),
        (
            "safeguarding-leads",
            utc(2026, 10, 29, 17),
            (),
            # Fri 30 Oct 17:00Z: the 5th working day after Fri 23 (Mon 26, Tue 27, Wed 28, Thu 29, Fri 30), so
            # stages one to four end within "one working week".
            utc(2026, 10, 30, 17),
        ),
        (
            # The seed's second "Stage Four": mediation, one working week of its own.
            "mediation",
            utc(2026, 10, 30, 17),
            # Working day Mon 2 Nov. "24 hours" -> Sat 31 Oct -> close of Mon 2 Nov. "2 working days" -> Wed 4 Nov.
            (utc(2026, 11, 2, 17), utc(2026, 11, 4, 17)),
            # "1 working week" = 5 working days after Mon 2: Tue 3, Wed 4, Thu 5, Fri 6, Mon 9 Nov.
            utc(2026, 11, 9, 17),
        ),
    ]


def test_wirral_from_christmas_eve_2026():
    # Thu 24 Dec 2026 11:00 GMT: before close, the start's working day is Thu 24.
    start = utc(2026, 12, 24, 11)
    assert actual("wirral", start) == [
        (
            "professionals",
            utc(2026, 12, 24, 11),
            # "24 hours" -> Fri 25 Dec (Christmas) -> next working day's close, Tue 29 Dec (Mon 28 is Boxing Day
            # observed). "2 working days" -> Tue 29 (1), Wed 30 (2).
            (utc(2026, 12, 29, 17), utc(2026, 12, 30, 17)),
            # "within a working week": Tue 29 (1), Wed 30 (2), Thu 31 (3), [Fri 1 Jan] Mon 4 (4), Tue 5 (5).
            utc(2027, 1, 5, 17),
        ),
        (
            # "their manager should be contacted within one working day": after Tue 5 Jan 17:00 (working day
            # Wed 6) -> Thu 7 Jan 17:00.
            "safeguarding-leads",
            utc(2027, 1, 7, 17),
            # Working day Fri 8. "24 hours" -> Fri 8 17:00. "2 working days" -> Mon 11 (1), Tue 12 (2).
            (utc(2027, 1, 8, 17), utc(2027, 1, 12, 17)),
            # A working week: Mon 11, Tue 12, Wed 13, Thu 14, Fri 15.
            utc(2027, 1, 15, 17),
        ),
        (
            "board-members",
            utc(2027, 1, 15, 17),
            # Working day Mon 18. "24 hours" -> Sat 16 -> close of Mon 18. "2 working days" -> Wed 20.
            (utc(2027, 1, 18, 17), utc(2027, 1, 20, 17)),
            # A working week: Tue 19, Wed 20, Thu 21, Fri 22, Mon 25.
            utc(2027, 1, 25, 17),
        ),
        (
            "chair",
            utc(2027, 1, 25, 17),
            # Working day Tue 26. "24 hours" -> Tue 26 17:00. "2 working days" -> Wed 27 (1), Thu 28 (2).
            (utc(2027, 1, 26, 17), utc(2027, 1, 28, 17)),
            # A working week: Wed 27, Thu 28, Fri 29, Mon 1 Feb, Tue 2 Feb.
            utc(2027, 2, 2, 17),
        ),
    ]


def test_wirral_imminent_risk_on_christmas_eve():
    # "ESCALATED ON THE SAME WORKING DAY": raised Thu 24 Dec 2026 16:30 GMT -> due 17:00 that day.
    stages = actual("wirral", utc(2026, 12, 24, 16, 30), imminent=True)
    assert stages[0] == ("professionals", utc(2026, 12, 24, 16, 30), (), utc(2026, 12, 24, 17))
    # "within one working day" of Thu 24 Dec 17:00 (working day Tue 29, after Christmas and Boxing Day observed)
    # -> Wed 30 Dec 17:00; working day Thu 31; reminders "24 hours" Thu 31 17:00, "2 working days" [Fri 1 Jan]
    # Mon 4 (1), Tue 5 (2); due after a working week: Mon 4, Tue 5, Wed 6, Thu 7, Fri 8 Jan.
    assert stages[1] == (
        "safeguarding-leads",
        utc(2026, 12, 30, 17),
        (utc(2026, 12, 31, 17), utc(2027, 1, 5, 17)),
        utc(2027, 1, 8, 17),
    )
    # Raised at exactly 17:00, close of business has passed: the same working day is the next one, Tue 29 Dec.
    assert actual("wirral", utc(2026, 12, 24, 17), imminent=True)[0][3] == utc(2026, 12, 29, 17)


def test_bury_from_a_friday_evening_before_the_spring_bank_holiday_2026():
    # Fri 22 May 2026 17:30 BST (16:30Z): after close of business; Sat, Sun, Mon 25 May (Spring bank holiday)
    # are not working days, so the start's working day is Tue 26 May.
    start = dt.datetime(2026, 5, 22, 17, 30, tzinfo=LONDON)
    assert actual("bury", start) == [
        (
            "practitioners",
            utc(2026, 5, 22, 16, 30),
            # "24 hours" -> Sat 23 May 16:30Z -> next working day Tue 26 May, 17:00 BST. "2 working days" after
            # Tue 26 -> Wed 27 (1), Thu 28 (2).
            (utc(2026, 5, 26, 16), utc(2026, 5, 28, 16)),
            # One week, 5 working days: Wed 27, Thu 28, Fri 29, Mon 1 Jun, Tue 2 Jun.
            utc(2026, 6, 2, 16),
        ),
        (
            "line-managers",
            utc(2026, 6, 2, 16),
            # Working day Wed 3. "24 hours" -> Wed 3 Jun 16:00Z. "2 working days" -> Thu 4 (1), Fri 5 (2).
            (utc(2026, 6, 3, 16), utc(2026, 6, 5, 16)),
            # "Within one week": Thu 4, Fri 5, Mon 8, Tue 9, Wed 10.
            utc(2026, 6, 10, 16),
        ),
        (
            "heads-of-service",
            utc(2026, 6, 10, 16),
            # Working day Thu 11. "24 hours" -> Thu 11 16:00Z. "2 working days" (directors "within 2 working
            # days") -> Fri 12 (1), Mon 15 (2).
            (utc(2026, 6, 11, 16), utc(2026, 6, 15, 16)),
            # "Within one week": Fri 12, Mon 15, Tue 16, Wed 17, Thu 18.
            utc(2026, 6, 18, 16),
        ),
        (
            "partnership",
            utc(2026, 6, 18, 16),
            # Working day Fri 19. "24 hours" -> Fri 19 16:00Z. "2 working days" -> Mon 22 (1), Tue 23 (2).
            (utc(2026, 6, 19, 16), utc(2026, 6, 23, 16)),
            # "Within one week": Mon 22, Tue 23, Wed 24, Thu 25, Fri 26 Jun.
            utc(2026, 6, 26, 16),
        ),
    ]
