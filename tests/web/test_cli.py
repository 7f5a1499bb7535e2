"""The flask commands, as an administrator or another partnership would use them."""

from __future__ import annotations

import json

import pytest

from portal.models import Agency, Contact, User
from portal.users import verify_password
from tests.conftest import TEST_PROCEDURE


def test_timeline_json_has_the_promised_shape(runner):
    result = runner.invoke(args=["procedure", "timeline", TEST_PROCEDURE, "--start", "2026-12-01T10:00", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["procedure"] == "three-stage"
    assert [s["key"] for s in payload["stages"]] == ["practitioners", "line-managers", "partnership"]
    first = payload["stages"][0]
    assert set(first) == {"key", "name", "starts", "reminders", "due", "limits"}
    # 1 Dec 2026 10:00 London (GMT): 24 hours -> 2 Dec 10:00; 2 working days -> 3 Dec 17:00; due 8 Dec 17:00.
    assert first["starts"] == "2026-12-01T10:00:00+00:00"
    assert first["reminders"] == ["2026-12-02T10:00:00+00:00", "2026-12-03T17:00:00+00:00"]
    assert first["due"] == "2026-12-08T17:00:00+00:00"


def test_timeline_shows_london_offsets_in_summer(runner):
    result = runner.invoke(
        args=["procedure", "timeline", TEST_PROCEDURE, "--start", "2026-06-01T08:30:00Z", "--imminent", "--json"]
    )
    first = json.loads(result.output)["stages"][0]
    # Mon 1 Jun 2026 09:30 BST; imminent risk: same working day, 17:00 BST.
    assert (first["starts"], first["due"]) == ("2026-06-01T09:30:00+01:00", "2026-06-01T17:00:00+01:00")


def test_timeline_text_lists_every_stage(runner):
    result = runner.invoke(args=["procedure", "timeline", TEST_PROCEDURE, "--start", "2026-12-01T10:00"])
    assert result.exit_code == 0
    assert "Stage 3: The partnership" in result.output
    assert "due       Tue 08 Dec 2026 17:00 GMT" in result.output


def test_timeline_refuses_a_bad_start(runner):
    result = runner.invoke(args=["procedure", "timeline", TEST_PROCEDURE, "--start", "next tuesday"])
    assert result.exit_code == 2
    assert "not an ISO 8601 date-time" in result.stderr


def test_check_accepts_a_good_file(runner):
    result = runner.invoke(args=["procedure", "check", TEST_PROCEDURE])
    assert result.exit_code == 0
    assert "ok: three-stage, 3 stages" in result.output


def test_check_names_the_file_stage_and_value(runner, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text(
        'id = "broken"\nname = "Broken"\n[[stages]]\nkey = "one"\nname = "One"\nresolve_within = "5 wrking days"\n'
    )
    result = runner.invoke(args=["procedure", "check", str(broken)])
    assert result.exit_code == 1
    assert f"error: {broken}: stage 1 (one): resolve_within: unknown duration '5 wrking days'" in result.stderr


def test_check_and_timeline_report_a_missing_file(runner, tmp_path):
    for args in (["check", str(tmp_path / "none.toml")], ["timeline", "nonesuch", "--start", "2026-12-01"]):
        result = runner.invoke(args=["procedure", *args])
        assert result.exit_code == 1
        assert "no such file" in result.stderr


def test_users_create_with_a_password(runner, app):
    result = runner.invoke(
        args=["users", "create", "BM@Partnership.example", "--role", "business_manager", "--name", "Bea Manager"]
        + ["--password", "a long enough password"],
    )
    assert result.exit_code == 0, result.output
    user = User.get(User.email == "bm@partnership.example")
    assert (user.role, user.name) == ("business_manager", "Bea Manager")
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "a long enough password")
    again = runner.invoke(args=["users", "create", "bm@partnership.example", "--password", "another long password"])
    assert again.exit_code == 1 and "already has an account" in again.stderr
    short = runner.invoke(args=["users", "create", "x@partnership.example", "--password", "short"])
    assert short.exit_code == 1 and "12 characters or more" in short.stderr
    common = runner.invoke(args=["users", "create", "y@partnership.example", "--password", "1qaz2wsx3edc"])
    assert common.exit_code == 1 and "most common passwords" in common.stderr


def test_demo_seed_runs_once(runner):
    assert "demo data created" in runner.invoke(args=["demo", "seed"]).output
    counts = (User.select().count(), Agency.select().count(), Contact.select().count())
    assert "already present" in runner.invoke(args=["demo", "seed"]).output
    assert counts == (User.select().count(), Agency.select().count(), Contact.select().count())
    assert {u.role for u in User.select()} == {"practitioner", "business_manager", "admin"}
    # The partnership as the procedure names it (the header's name); its business manager is the demo's account.
    partnership = Agency.get(Agency.kind == "partnership")
    assert partnership.name == "Test Safeguarding Children Partnership"
    manager = Contact.get((Contact.agency == partnership) & (Contact.role == "business_manager"))
    assert manager.email == User.get(User.role == "business_manager").email


@pytest.mark.both_engines
def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "up to date" in result.output
    status = runner.invoke(args=["db", "status"])
    assert status.exit_code == 0 and "[x] 0001_initial" in status.output
