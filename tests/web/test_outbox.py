"""Sending the outbox through a real SMTP server on loopback: retries, failures, claims, the demo's files.

Time moves with time-machine (never sleep): the clock is frozen and shifted past each next attempt.
"""

from __future__ import annotations

import datetime as dt
import email
import logging
import re
import threading
from email import policy

import pytest

from portal import links, mail, reminders, wake_senders
from portal.db import database
from portal.models import ActionLink, Outbox
from portal.routing import Recipient
from tasks.mail import replay_outbox, send_outbox
from tasks.reminders import sweep_reminders
from tests import factories
from tests.web.conftest import START

pytestmark = pytest.mark.both_engines

CHILD = "Zzyzx Canaryson"
TOKEN = re.compile(r"/a/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def case(smtp_app, clock):
    raiser, ours, theirs = factories.world()
    links.init_secret(smtp_app.config["SECRET_KEY"])
    return factories.escalation(raiser, theirs, START)


def rows(case=None) -> list[Outbox]:
    query = Outbox.select().order_by(Outbox.id)
    return list(query.where(Outbox.escalation == case) if case else query)


def send_all() -> None:
    for row in rows():
        send_outbox.call_local(row.id)


def test_the_send_task_delivers_each_row_once_and_marks_it_sent(smtp_server, case):
    send_all()

    sent = rows(case)
    assert len(sent) >= 3 and all(r.status == "sent" and r.attempts == 1 for r in sent)
    assert len(smtp_server.messages) == len(sent)
    assert sorted(r.message_id for r in sent) == sorted(m["Message-ID"] for m in smtp_server.messages)
    for row in sent:
        message = next(m for m in smtp_server.messages if m["Message-ID"] == row.message_id)
        assert re.fullmatch(r"<[0-9a-f]{32}@localhost>", message["Message-ID"])
        assert [a.addr_spec for a in message["To"].addresses] == [row.recipient_email]
        assert row.sent_at == START and row.lease_until is None and row.last_error == ""
        assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    assert {rcpt for _, rcpts in smtp_server.envelopes for rcpt in rcpts} == {r.recipient_email for r in sent}
    assert {sender for sender, _ in smtp_server.envelopes} == {"escalations@portal.invalid"}

    send_all()  # a second wake-up for rows already sent
    assert len(smtp_server.messages) == len(sent)


def test_stage_parties_get_working_links_and_only_secure_addresses_see_the_child(smtp_server, smtp_app, clock):
    raiser, ours, theirs = factories.world()
    links.init_secret(smtp_app.config["SECRET_KEY"])
    case = factories.escalation(
        raiser,
        theirs,
        START,
        counterpart_email="pat@police.secure.example",
        counterpart_name="Eve\r\nBcc: x@evil.example",
    )
    send_all()

    by_rcpt = {m["To"].addresses[0].addr_spec: m for m in smtp_server.messages}
    secure, plain = by_rcpt["pat@police.secure.example"], by_rcpt[raiser.email]
    assert CHILD in secure.get_body(("plain",)).get_content() and CHILD in secure.get_body(("html",)).get_content()
    for message in smtp_server.messages:
        assert CHILD not in message["Subject"] and case.reference in message["Subject"]
        assert message["Bcc"] is None
    for message in [m for m in smtp_server.messages if m is not secure]:
        assert CHILD not in message.as_string()
    assert secure["To"].addresses[0].display_name == "Eve Bcc: x@evil.example"
    assert [rcpts for _, rcpts in smtp_server.envelopes if "pat@police.secure.example" in rcpts] == [
        ["pat@police.secure.example"]
    ]
    for message in (secure, plain):
        tokens = TOKEN.findall(message.get_body(("plain",)).get_content())
        found = [links.find_link(token) for token in tokens]  # each opens its own, still usable link
        assert [link.action for link in found] == ["resolve", "escalate"]
        assert {link.recipient_email for link in found} == {message["To"].addresses[0].addr_spec}


def test_raising_a_case_wakes_the_sender_after_commit(smtp_server, smtp_app, clock):
    mail.set_waker(wake_senders)  # as create_app installs it; huey is in immediate mode
    raiser, ours, theirs = factories.world()
    links.init_secret(smtp_app.config["SECRET_KEY"])

    case = factories.escalation(raiser, theirs, START)

    assert {r.status for r in rows(case)} == {"sent"}
    assert len(smtp_server.messages) == len(rows(case))


def test_a_queue_that_cannot_take_the_wake_up_loses_nothing(smtp_server, smtp_app, clock, monkeypatch, caplog):
    import tasks.mail

    def queue_down(outbox_id):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.mail, "send_outbox", queue_down)
    mail.set_waker(wake_senders)
    raiser, ours, theirs = factories.world()
    links.init_secret(smtp_app.config["SECRET_KEY"])

    with caplog.at_level(logging.WARNING, logger="portal"):
        case = factories.escalation(raiser, theirs, START)  # the raise itself succeeds

    warnings = [r for r in caplog.records if "the minute sweep will" in r.getMessage()]
    assert warnings and all(r.exc_info is None and "ConnectionError: Redis is down" in r.getMessage() for r in warnings)
    assert {r.status for r in rows(case)} == {"pending"} and not smtp_server.messages
    monkeypatch.undo()
    replay_outbox.call_local()
    assert {r.status for r in rows(case)} == {"sent"}
    assert len(smtp_server.messages) == len(rows(case))


def test_relay_down_then_up_backs_off_and_delivers_exactly_once(smtp_server, case, clock):
    smtp_server.stop()
    send_all()

    for row in rows(case):
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at == START + dt.timedelta(minutes=1)
        assert row.last_error.startswith("relay unavailable: cannot connect: ConnectionRefusedError")
    send_all()  # not due yet: nothing is tried
    assert {r.attempts for r in rows(case)} == {1}

    clock.shift(dt.timedelta(minutes=1))
    replay_outbox.call_local()  # due, relay still down: second attempt, 2 minutes' wait
    assert {(r.status, r.attempts) for r in rows(case)} == {("pending", 2)}
    assert {r.next_attempt_at for r in rows(case)} == {START + dt.timedelta(minutes=3)}

    smtp_server.start()
    clock.shift(dt.timedelta(minutes=1, seconds=59))
    send_all()
    assert not smtp_server.messages and {r.status for r in rows(case)} == {"pending"}
    clock.shift(dt.timedelta(seconds=1))
    replay_outbox.call_local()

    assert {(r.status, r.attempts, r.last_error) for r in rows(case)} == {("sent", 3, "")}
    assert smtp_server.by_message_id() == {r.message_id: 1 for r in rows(case)}
    clock.shift(dt.timedelta(hours=1))
    replay_outbox.call_local()
    assert len(smtp_server.messages) == len(rows(case))


def test_a_relay_that_accepts_and_never_answers_is_cut_by_the_connect_timeout(smtp_server, smtp_app, case):
    row = rows(case)[0]
    smtp_app.config.update(SMTP_CONNECT_TIMEOUT=0.5, SMTP_TIMEOUT=600)
    smtp_server.hang()
    outcome: list[str] = []

    def attempt() -> None:
        with smtp_app.app_context(), database.connection_context():
            outcome.append(mail.send_outbox_row(row.id, smtp_app))

    sender = threading.Thread(target=attempt, daemon=True)
    sender.start()
    sender.join(timeout=30)  # SMTP_TIMEOUT would hold it for 10 minutes

    assert outcome == ["pending"], "the sender was still waiting for the relay's greeting"
    row = Outbox.get_by_id(row.id)
    assert (
        row.last_error
        == "relay unavailable: cannot connect: SMTPServerDisconnected: Connection unexpectedly closed: timed out"
    )
    assert row.next_attempt_at == START + dt.timedelta(minutes=1)


def test_mail_waiting_for_the_relay_goes_as_soon_as_the_relay_takes_a_message(smtp_server, smtp_app, case, clock):
    first, *others = rows(case)
    smtp_server.temporary(times=1)
    send_outbox.call_local(first.id)  # a 4xx about this message: it keeps its own backoff
    smtp_server.stop()
    for row in others:
        send_outbox.call_local(row.id)
    assert Outbox.get_by_id(first.id).last_error.startswith("451")
    assert {r.last_error.split(":")[0] for r in rows(case)[1:]} == {"relay unavailable"}

    smtp_server.start()
    clock.shift(dt.timedelta(seconds=20))  # every row's next attempt is 40 seconds away
    mail.set_waker(wake_senders)  # as create_app installs it; huey is in immediate mode
    later = factories.escalation(case.raiser, case.counterpart_agency, mail.utcnow())  # its mail goes at once

    assert {(r.status, r.attempts) for r in rows(later)} == {("sent", 1)}
    others = [Outbox.get_by_id(r.id) for r in others]
    assert {(r.status, r.attempts, r.sent_at) for r in others} == {("sent", 2, START + dt.timedelta(seconds=20))}
    first = Outbox.get_by_id(first.id)
    assert (first.status, first.attempts) == ("pending", 1)
    clock.shift(dt.timedelta(seconds=40))
    replay_outbox.call_local()
    assert {r.status for r in rows()} == {"sent"}
    assert set(smtp_server.by_message_id().values()) == {1}


def test_the_replay_tries_no_row_early_for_a_4xx_about_the_message_itself(smtp_server, case, clock):
    smtp_server.temporary()  # 451 to every message, until switched
    send_all()
    tried = smtp_server.data_commands

    clock.shift(dt.timedelta(seconds=59))
    replay_outbox.call_local()

    assert smtp_server.data_commands == tried
    assert {r.attempts for r in rows(case)} == {1}


def test_a_relay_hanging_for_ten_minutes_delays_no_sweep_and_its_mail_leaves_a_minute_after_it_answers(
    smtp_server, smtp_app, case, clock
):
    """Each minute the sweeps run as the schedule consumer runs them; the relay hangs from 5 minutes before the
    case's first reminder is due until 10 minutes later, each attempt cut by the connect timeout."""
    send_all()  # the raise's mail, before the relay hangs
    smtp_app.config.update(SMTP_CONNECT_TIMEOUT=0.1)
    mail.set_waker(wake_senders)  # the reminders' mail is woken as in production
    hang_from = START + dt.timedelta(hours=24, minutes=-5)  # the "24 hours" reminder is due at minute 5
    smtp_server.hang()
    for minute in range(11):
        clock.move_to(hang_from + dt.timedelta(minutes=minute))
        sweep_reminders.call_local()
        replay_outbox.call_local()
        assert reminders.last_sweep().beat_at == mail.utcnow()  # the sweep ran, on time, every minute

    reminder_mail = [r for r in rows() if r.purpose == "reminder"]
    assert len(reminder_mail) == 2  # the sweep fired the reminder on time, at minute 5, during the hang
    assert {r.created_at for r in reminder_mail} == {hang_from + dt.timedelta(minutes=5)}
    assert {r.status for r in reminder_mail} == {"pending"}
    assert all(r.last_error.endswith("timed out") for r in reminder_mail)

    clock.move_to(hang_from + dt.timedelta(minutes=10, seconds=1))
    smtp_server.start()  # the relay answers again
    clock.move_to(hang_from + dt.timedelta(minutes=11))  # the next minute
    sweep_reminders.call_local()
    replay_outbox.call_local()

    reminder_mail = [Outbox.get_by_id(r.id) for r in reminder_mail]
    assert {(r.status, r.sent_at) for r in reminder_mail} == {("sent", hang_from + dt.timedelta(minutes=11))}
    assert set(smtp_server.by_message_id().values()) == {1}


def test_451_three_times_then_250_is_four_attempts_and_one_delivery(smtp_server, case, clock):
    row = rows(case)[0]
    smtp_server.temporary(times=3)

    send_outbox.call_local(row.id)
    for wait in (1, 2, 5):
        row = Outbox.get_by_id(row.id)
        assert row.status == "pending" and row.last_error.startswith("451")
        assert row.next_attempt_at == mail.utcnow() + dt.timedelta(minutes=wait)
        clock.shift(dt.timedelta(minutes=wait))
        send_outbox.call_local(row.id)

    row = Outbox.get_by_id(row.id)
    assert (row.status, row.attempts) == ("sent", 4)
    assert smtp_server.data_commands == 4
    assert smtp_server.by_message_id() == {row.message_id: 1}


def test_a_message_that_cannot_be_built_logs_its_traceback_once_then_a_line_an_attempt(case, clock, caplog):
    row_id = mail.queue_email(case, "no_such_purpose", Recipient("raiser", "Rae", "rae@agency.example"), "test/bug")
    with caplog.at_level(logging.INFO, logger="portal.mail"):
        for _ in range(3):
            send_outbox.call_local(row_id)
            clock.move_to(Outbox.get_by_id(row_id).next_attempt_at)

    logged = [r for r in caplog.records if r.getMessage().startswith(f"outbox {row_id} ")]
    assert [r.levelname for r in logged] == ["ERROR"] * 3
    assert [bool(r.exc_info) for r in logged] == [True, False, False]
    row = Outbox.get_by_id(row_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 3, "internal error: TemplateNotFound")


def test_550_fails_at_once_with_the_reason_and_is_never_retried(smtp_server, case, clock):
    row = rows(case)[0]
    smtp_server.permanent()

    send_outbox.call_local(row.id)

    row = Outbox.get_by_id(row.id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("550 5.1.1")
    smtp_server.accept()
    clock.shift(dt.timedelta(days=1))
    replay_outbox.call_local()
    send_outbox.call_local(row.id)
    assert Outbox.get_by_id(row.id).attempts == 1
    assert row.message_id not in smtp_server.by_message_id() and row.id not in mail.due_for_sending()


def test_after_five_days_of_temporary_failures_the_row_fails(smtp_server, case, clock):
    row = rows(case)[0]
    smtp_server.stop()
    send_outbox.call_local(row.id)
    while (row := Outbox.get_by_id(row.id)).status == "pending":
        clock.move_to(row.next_attempt_at)
        send_outbox.call_local(row.id)

    assert row.status == "failed" and row.last_error.startswith("gave up after 5 days")
    assert mail.utcnow() - row.created_at >= dt.timedelta(days=5)
    assert mail.utcnow() - row.created_at < dt.timedelta(days=5, minutes=30)
    # Attempts at 0, 1, 3, 8, 18 and 48 minutes, then every 30; the first at or past 5 days (7,200 min) fails.
    assert row.attempts == 6 + -(-(5 * 24 * 60 - 48) // 30) == 245


def test_a_claimed_row_is_left_alone_until_its_lease_expires(smtp_server, case, clock):
    row = rows(case)[0]

    assert mail.claim(row.id) is True
    assert mail.claim(row.id) is False
    send_outbox.call_local(row.id)  # a second wake-up while another sender holds the row
    replay_outbox.call_local()
    assert row.id not in mail.due_for_sending()
    assert not [m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == row.recipient_email]
    assert Outbox.get_by_id(row.id).attempts == 1

    clock.shift(mail.LEASE + dt.timedelta(seconds=1))  # the holder died: its lease runs out
    assert row.id in mail.due_for_sending()
    replay_outbox.call_local()

    row = Outbox.get_by_id(row.id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert smtp_server.by_message_id()[row.message_id] == 1


def test_two_senders_at_once_deliver_one_copy(smtp_server, smtp_app, case, clock):
    row = rows(case)[0]
    smtp_server.block()
    outcome = {}

    def first_sender():
        with smtp_app.app_context(), database.connection_context():
            outcome["first"] = mail.send_outbox_row(row.id, smtp_app)

    sender = threading.Thread(target=first_sender)
    sender.start()
    assert smtp_server.blocked.wait(10)  # the first sender is inside DATA, holding the row
    assert mail.send_outbox_row(row.id, smtp_app) == "skipped"
    smtp_server.release.set()
    sender.join(10)

    assert outcome == {"first": "sent"}
    row = Outbox.get_by_id(row.id)
    assert (row.status, row.attempts) == ("sent", 1)
    assert smtp_server.by_message_id() == {row.message_id: 1}


def test_the_file_backend_writes_a_parseable_eml(smtp_app, case, tmp_path):
    smtp_app.config.update(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path / "outbox"))
    send_all()

    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == sorted(f"20261201T100000Z-{r.id}.eml" for r in rows(case))
    for file, row in zip(files, sorted(rows(case), key=lambda r: f"20261201T100000Z-{r.id}.eml"), strict=True):
        message = email.message_from_bytes(file.read_bytes(), policy=policy.default)
        assert message["Message-ID"] == row.message_id and row.status == "sent"
        assert message["To"].addresses[0].addr_spec == row.recipient_email
        assert case.reference in message["Subject"]
        assert message.get_body(("html",)) is not None
        assert file.stat().st_mode & 0o077 == 0  # may hold a child's details: owner only


def test_no_link_token_is_stored_anywhere_in_the_database(smtp_server, case):
    send_all()
    tokens = {t for m in smtp_server.messages for t in TOKEN.findall(m.get_body(("plain",)).get_content())}
    assert len(tokens) == 4
    assert {links.hash_token(t) for t in tokens} == {link.token_hash for link in ActionLink.select()}

    dump = []
    for table in database.get_tables():
        cursor = database.execute_sql(f'SELECT * FROM "{table}"')  # noqa: S608 (table names from the database)
        dump += [repr(row) for row in cursor.fetchall()]
    text = "\n".join(dump)
    assert case.reference in text and len(dump) > 10
    for token in tokens:
        assert token not in text


def test_undelivered_lists_mail_still_unsent_after_an_hour(smtp_server, case, clock):
    first, *others = rows(case)
    send_outbox.call_local(first.id)
    smtp_server.stop()
    for row in others:
        send_outbox.call_local(row.id)

    assert mail.undelivered() == []
    clock.shift(dt.timedelta(minutes=59))
    assert mail.undelivered() == []
    clock.shift(dt.timedelta(minutes=1))
    assert [r.id for r in mail.undelivered()] == [r.id for r in others]
    smtp_server.start()
    replay_outbox.call_local()
    assert mail.undelivered() == []


def test_the_raiser_told_of_the_final_decision_gets_the_case_link_and_no_deadline(smtp_server, case):
    from portal.workflow import Actor, decide, escalate

    procedure, raiser = factories.procedure(), case.raiser
    escalate(procedure, case, Actor.of(raiser), "No agreement at stage 1.")
    escalate(procedure, case, factories.acting(case, "escalate"), "No agreement at stage 2.")
    decide(procedure, case, factories.acting(case, "decide"), "A strategy meeting by Friday.")
    send_all()

    (told,) = [
        m
        for m in smtp_server.messages
        if m["Subject"].startswith("Final decision recorded") and m["To"].addresses[0].addr_spec == raiser.email
    ]
    body = told.get_body(("plain",)).get_content()
    assert f"http://localhost:5000/cases/{case.reference}" in body and "read the decision in the portal" in body
    assert "Deadline:" not in body
