"""Parsing procedure files: what loads, and the message a broken file gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from portal.deadlines import timeline
from portal.procedure import ProcedureError, load_procedure
from tests.conftest import TEST_PROCEDURE

UTC = dt.UTC

GOOD = """
id = "example"
name = "Example Escalation Policy"
partnership = "Example Partnership"
reminders = ["24 hours"]

[[stages]]
key = "practitioners"
name = "Stage 1: Practitioners"
parties = ["raiser", "counterpart"]
resolve_within = "5 working days"

[[stages]]
key = "managers"
name = "Stage 2: Managers"
parties = ["raiser.line_manager"]
escalate_within = "24 hours"
resolve_within = "1 working week"
"""


def write(tmp_path: Path, text: str, name: str = "example.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_file_loads_with_defaults(tmp_path):
    proc = load_procedure(write(tmp_path, GOOD))
    assert (proc.id, proc.partnership, proc.calendar.nation, proc.calendar.close_time) == (
        "example",
        "Example Partnership",
        "england-and-wales",
        dt.time(17, 0),
    )
    assert [s.key for s in proc.stages] == ["practitioners", "managers"]
    assert proc.stages[1].resolve_within.count == 5  # 1 working week = 5 working days
    assert proc.imminent_risk is None and proc.warnings == ()


def test_the_test_procedure_loads_every_optional_feature():
    proc = load_procedure(TEST_PROCEDURE)
    assert proc.imminent_risk_notify == ("raiser.safeguarding_lead",)
    assert proc.specific_circumstances_notify == ("dcs", "partnership.business_manager")
    assert proc.stages[1].notify[0].when == "child_on_plan_or_looked_after"
    assert proc.secure_domains == ("secure.example",)


def test_id_defaults_to_the_file_name(tmp_path):
    proc = load_procedure(write(tmp_path, GOOD.replace('id = "example"\n', ""), "kirklees.toml"))
    assert proc.id == "kirklees"


def test_unknown_keys_are_warnings_not_errors(tmp_path):
    proc = load_procedure(write(tmp_path, GOOD.replace('key = "managers"', 'key = "managers"\ncolour = "red"')))
    assert proc.warnings == (f"{tmp_path / 'example.toml'}: stage 2 (managers): unknown key 'colour' ignored",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('resolve_within = "5 working days"', 'resolve_within = "5 workdays"'),
            r"stage 1 \(practitioners\): resolve_within: unknown duration '5 workdays'",
        ),
        (
            ('escalate_within = "24 hours"', 'escalate_within = "a day"'),
            r"stage 2 \(managers\): escalate_within: unknown duration 'a day'",
        ),
        (('name = "Stage 2: Managers"\n', ""), r"stage 2 \(managers\): missing 'name'"),
        (
            ('key = "managers"', 'key = "practitioners"'),
            r"stage 2 \(practitioners\): duplicate stage key 'practitioners'",
        ),
        (('resolve_within = "1 working week"\n', ""), r"stage 2 \(managers\): missing 'resolve_within'"),
        (('reminders = ["24 hours"]', 'reminders = ["soon"]'), r"procedure: reminders: unknown duration 'soon'"),
        (
            ('partnership = "Example Partnership"', 'calendar = "wales-and-england"'),
            r"procedure: calendar = 'wales-and-england'",
        ),
        (('partnership = "Example Partnership"', 'close_of_business = "5pm"'), r"procedure: close_of_business = '5pm'"),
        (
            ('partnership = "Example Partnership"', 'closed_days = ["2026-13-01"]'),
            r"procedure: closed_days: '2026-13-01' is not an ISO date",
        ),
        (('key = "managers"', 'key = "Managers!"'), r"stage 2 \(Managers!\): key = 'Managers!'"),
    ],
)
def test_broken_files_name_the_file_stage_and_value(tmp_path, change, message):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ProcedureError, match=message) as raised:
        load_procedure(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_empty_stages_are_refused(tmp_path):
    path = write(tmp_path, GOOD.split("[[stages]]")[0] + "stages = []\n")
    with pytest.raises(ProcedureError, match=r"procedure: no stages: add at least one \[\[stages\]\] table"):
        load_procedure(path)


def test_invalid_toml_and_missing_files_are_reported(tmp_path):
    with pytest.raises(ProcedureError, match=r"example.toml: not valid TOML"):
        load_procedure(write(tmp_path, "id = "))
    with pytest.raises(ProcedureError, match=r"nowhere.toml: no such file"):
        load_procedure(tmp_path / "nowhere.toml")


def test_stage_starts_after_the_previous_deadline_plus_its_escalate_within(tmp_path):
    proc = load_procedure(write(tmp_path, GOOD))
    # Start Fri 18 Dec 2026 18:00 GMT, after close of business: the start's working day is Mon 21 Dec.
    stages = timeline(proc, dt.datetime(2026, 12, 18, 18, 0, tzinfo=UTC))
    # Stage 1: 5 working days after Mon 21: Tue 22, Wed 23, Thu 24, (Fri 25, Sat, Sun, Mon 28 Boxing Day
    # observed) Tue 29, Wed 30 -> Wed 30 Dec 17:00. Its reminder "24 hours" -> Sat 19 Dec 18:00 is not a
    # working day -> close of business Mon 21 Dec.
    assert stages[0].due == dt.datetime(2026, 12, 30, 17, 0, tzinfo=UTC)
    assert stages[0].reminders == (dt.datetime(2026, 12, 21, 17, 0, tzinfo=UTC),)
    # Stage 2 starts "24 hours" after Wed 30 Dec 17:00 -> Thu 31 Dec 17:00 (a working day).
    # Its start's working day: 17:00 is not before close of business -> Mon 4 Jan 2027 (Fri 1 Jan is a
    # bank holiday); 5 working days on -> Mon 11 Jan 17:00. "24 hours" reminder -> Fri 1 Jan 17:00, a bank
    # holiday -> close of business Mon 4 Jan.
    assert stages[1].starts == dt.datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert stages[1].due == dt.datetime(2027, 1, 11, 17, 0, tzinfo=UTC)
    assert stages[1].reminders == (dt.datetime(2027, 1, 4, 17, 0, tzinfo=UTC),)


def test_imminent_risk_only_brings_the_first_deadline_forward(tmp_path):
    proc = load_procedure(TEST_PROCEDURE)
    start = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    normal, imminent = timeline(proc, start), timeline(proc, start, imminent=True)
    assert imminent[0].due == dt.datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert normal[0].due == dt.datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
    # Stage 2 then starts 24 hours after 1 Dec 17:00 -> Wed 2 Dec 17:00; working day Thu 3; +5 -> Thu 10 Dec.
    assert imminent[1].starts == dt.datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    assert imminent[1].due == dt.datetime(2026, 12, 10, 17, 0, tzinfo=UTC)


def test_two_reminders_at_the_same_instant_are_one(tmp_path):
    text = GOOD.replace('reminders = ["24 hours"]', 'reminders = ["1 working day", "1 working day", "2 days"]')
    proc = load_procedure(write(tmp_path, text))
    # Start Mon 7 Dec 2026 09:00: "1 working day" -> Tue 8 Dec 17:00; "2 days" -> Wed 9 Dec 17:00.
    stages = timeline(proc, dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    assert stages[0].reminders == (
        dt.datetime(2026, 12, 8, 17, 0, tzinfo=UTC),
        dt.datetime(2026, 12, 9, 17, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize("text", ["５ days", "٥ working days", "10000 hours", "10000000000 days"])
def test_non_ascii_digits_and_absurd_counts_are_refused(text):
    from portal.procedure import Duration

    with pytest.raises(ValueError, match="unknown duration"):
        Duration.parse(text)


@pytest.mark.parametrize("party", ["raiser.boss", "the manager", "partnership"])
def test_parties_the_directory_does_not_know_load_with_a_warning(tmp_path, party):
    """Another partnership's file still gives its deadlines; the person escalating names who acts."""
    proc = load_procedure(write(tmp_path, GOOD.replace('parties = ["raiser.line_manager"]', f'parties = ["{party}"]')))
    assert proc.stages[1].parties == (party,)
    assert (
        len(proc.warnings) == 1
        and f"stage 2 (managers): parties: {party!r} is not a directory role" in proc.warnings[0]
    )


def test_unknown_documents_and_conditions_are_warnings(tmp_path):
    text = GOOD.replace(
        'resolve_within = "1 working week"',
        'resolve_within = "1 working week"\nresolve_documents = ["memo"]\n'
        'notify = [{ when = "full_moon", role = "dcs" }]',
    )
    proc = load_procedure(write(tmp_path, text))
    assert proc.stages[1].resolve_documents == ()
    assert proc.stages[1].notify[0].when == "always"
    assert len(proc.warnings) == 2


def test_calendar_names_are_read_generously(tmp_path):
    text = GOOD.replace('partnership = "Example Partnership"', 'calendar = "England and Wales"')
    assert load_procedure(write(tmp_path, text)).calendar.nation == "england-and-wales"


@pytest.mark.parametrize(
    ("party", "read"),
    [
        ("raiser.designated_lead", "raiser.safeguarding_lead"),
        ("Counterpart.Line Manager", "counterpart.line_manager"),
        ("referrer.DSL", "raiser.safeguarding_lead"),
        ("other-agency.assistant director", "counterpart.director"),
        ("partnership.Business Manager", "partnership.business_manager"),
        ("IRO", "cp_chair_or_iro"),
        ("Director of Children's Services", "dcs"),
    ],
)
def test_other_names_for_roles_are_read_as_the_portals_with_a_warning(tmp_path, party, read):
    proc = load_procedure(write(tmp_path, GOOD.replace('parties = ["raiser.line_manager"]', f'parties = ["{party}"]')))
    assert proc.stages[1].parties == (read,)
    assert list(proc.warnings) == [
        f"{tmp_path / 'example.toml'}: stage 2 (managers): parties: {party!r} read as {read!r}"
    ]
