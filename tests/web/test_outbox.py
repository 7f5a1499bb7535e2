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

from portal import links, mail, wake_senders
from portal.db import database
from portal.models import ActionLink, Outbox
from tasks.mail import replay_outbox, send_outbox
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

    assert "the minute sweep will" in caplog.text
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
        assert "ConnectionRefusedError" in row.last_error
    replay_outbox.call_local()  # not due yet: nothing is tried
    assert {r.attempts for r in rows(case)} == {1}

    clock.shift(dt.timedelta(minutes=1))
    replay_outbox.call_local()  # due, relay still down: second attempt, 2 minutes' wait
    assert {(r.status, r.attempts) for r in rows(case)} == {("pending", 2)}
    assert {r.next_attempt_at for r in rows(case)} == {START + dt.timedelta(minutes=3)}

    smtp_server.start()
    clock.shift(dt.timedelta(minutes=1, seconds=59))
    replay_outbox.call_local()
    assert not smtp_server.messages and {r.status for r in rows(case)} == {"pending"}
    clock.shift(dt.timedelta(seconds=1))
    replay_outbox.call_local()

    assert {(r.status, r.attempts, r.last_error) for r in rows(case)} == {("sent", 3, "")}
    assert smtp_server.by_message_id() == {r.message_id: 1 for r in rows(case)}
    clock.shift(dt.timedelta(hours=1))
    replay_outbox.call_local()
    assert len(smtp_server.messages) == len(rows(case))


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
    escalate(procedure, case, Actor.of(raiser), "No agreement at stage 2.")
    decide(procedure, case, Actor(email="chair@partnership.example", name="Chair"), "A strategy meeting by Friday.")
    send_all()

    (told,) = [
        m
        for m in smtp_server.messages
        if m["Subject"].startswith("Final decision recorded") and m["To"].addresses[0].addr_spec == raiser.email
    ]
    body = told.get_body(("plain",)).get_content()
    assert f"http://localhost:5000/cases/{case.reference}" in body and "read the decision in the portal" in body
    assert "Deadline:" not in body
