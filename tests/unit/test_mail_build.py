"""Building a message from an outbox row: headers, both parts, links, and what a recipient may see."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import hmac
import itertools
import re
import subprocess
from email import policy
from pathlib import Path

import pytest

from portal import links, mail
from portal.config import ROOT
from portal.models import ActionLink, Escalation, Outbox
from portal.procedure import preset_ids, resolve_procedure
from portal.registry import version_for
from portal.routing import Recipient
from tests import factories

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)  # Tuesday, 10:00 London
CHILD = "Zzyzx Canaryson"
MESSAGE_ID = re.compile(r"^<[0-9a-f]{32}@portal\.example>$")
LINK = re.compile(r"https://portal\.example/a/([A-Za-z0-9_-]+)")
PURPOSES = [
    "stage_started",
    "stage_notice",
    "copy",
    "imminent_risk",
    "specific_circumstance",
    "business_manager_update",
    "resolved",
    "decided",
    "withdrawn",
    "escalated",
    "reminder",
    "overdue",
]


@pytest.fixture
def ctx(app):
    app.config["BASE_URL"] = "https://portal.example"
    with app.app_context():
        raiser, ours, theirs = factories.world()
        links.init_secret(app.config["SECRET_KEY"])  # world() set a fixed one; use the app's, as the sender does
        yield app, raiser, theirs


def row_for(case: Escalation, purpose: str, email: str) -> Outbox:
    return Outbox.get((Outbox.escalation == case) & (Outbox.purpose == purpose) & (Outbox.recipient_email == email))


def parts(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_a_stage_party_gets_reference_stage_deadline_and_their_own_links(ctx):
    app, raiser, theirs = ctx
    case = factories.escalation(raiser, theirs, START)
    row = row_for(case, "stage_started", "pat.counter@police.example")

    message = mail.build_message(row, app)

    assert message["Subject"] == f"Action needed: {case.reference}, Stage 1: Practitioners"
    assert MESSAGE_ID.match(message["Message-ID"])
    assert message["To"].addresses[0].addr_spec == "pat.counter@police.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    for body in (text, html):
        assert case.reference in body
        assert "Stage 1: Practitioners" in body
        assert "Tuesday 8 December 2026, 5:00pm" in body  # 5 working days, London time
        assert raiser.name in body
        assert CHILD not in body and "2019" not in body  # not a secure address: no child's details
    tokens = LINK.findall(text)
    assert LINK.findall(html) == tokens and len(tokens) == 2
    actions = [ActionLink.get(ActionLink.token_hash == links.hash_token(token)).action for token in tokens]
    assert actions == ["resolve", "escalate"]
    assert text.index("Resolve: https://") < text.index("Escalate: https://")
    for token in tokens:
        link = ActionLink.get(ActionLink.token_hash == links.hash_token(token))
        assert (link.escalation_id, link.stage_index, link.recipient_email) == (case.id, 0, row.recipient_email)


def test_a_secure_recipient_sees_the_child_but_never_in_the_subject(ctx):
    app, raiser, theirs = ctx
    case = factories.escalation(raiser, theirs, START, counterpart_email="pat@police.secure.example")
    row = row_for(case, "stage_started", "pat@police.secure.example")
    assert row.context["secure"] is True

    message = mail.build_message(row, app)

    text, html = parts(message)
    for body in (text, html):
        assert CHILD in body
        assert "1 March 2019" in body
        assert "The referral was closed without an assessment." in body
    assert CHILD not in message["Subject"]
    other = mail.build_message(row_for(case, "stage_started", raiser.email), app)
    assert CHILD not in other.as_string()


def test_the_message_id_is_stable_across_retries_and_unguessable(ctx):
    app, raiser, theirs = ctx
    case = factories.escalation(raiser, theirs, START)
    rows = list(Outbox.select().where(Outbox.escalation == case))
    first = mail.build_message(rows[0], app)["Message-ID"]

    assert mail.build_message(rows[0], app)["Message-ID"] == first
    assert len({mail.build_message(r, app)["Message-ID"] for r in rows}) == len(rows)
    digest = hmac.new(app.config["SECRET_KEY"].encode(), rows[0].idempotency_key.encode(), hashlib.sha256)
    assert first == f"<{digest.hexdigest()[:32]}@portal.example>"


def test_a_name_with_line_breaks_cannot_add_headers(ctx):
    app, raiser, theirs = ctx
    case = factories.escalation(raiser, theirs, START, counterpart_name="Eve\r\nBcc: x@evil.example")
    row = row_for(case, "stage_started", "pat.counter@police.example")

    raw = mail.build_message(row, app).as_bytes()

    header_block = raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in header_block and b"\nbcc:" not in header_block.lower()
    import email
    from email import policy

    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["pat.counter@police.example"]
    assert parsed["To"].addresses[0].display_name == "Eve Bcc: x@evil.example"


@pytest.mark.parametrize("value", ["a\r\nb", "a\nb", "a\rb", "a\x0bb", "a\x0cb", "a\u2028b", "a\u2029b", "a\x85b"])
def test_header_values_lose_every_kind_of_line_break(value):
    assert mail.header_text(value) == "a b"


def test_a_recipient_address_that_cannot_be_an_address_is_a_permanent_failure(ctx):
    app, raiser, theirs = ctx
    case = factories.escalation(raiser, theirs, START)
    mail.queue_email(case, "copy", Recipient("x", "X", "x@a.example\r\nBcc: y@evil.example"), "bad-address")
    row = Outbox.get(Outbox.idempotency_key == "bad-address")

    with pytest.raises(mail.DeliveryError) as refused:
        mail.build_message(row, app)
    assert refused.value.permanent


def test_html_is_autoescaped_and_text_is_not(ctx):
    app, raiser, theirs = ctx
    payload = '<script>alert(1)</script> & "quotes"'
    case = factories.escalation(
        raiser, theirs, START, counterpart_email="pat@secure.example", summary=f"The concern {payload}"
    )
    text, html = parts(mail.build_message(row_for(case, "stage_started", "pat@secure.example"), app))

    assert payload in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in html


def test_the_last_stage_offers_only_decide(ctx):
    app, raiser, theirs = ctx
    proc = factories.procedure()
    case = factories.escalation(raiser, theirs, START)
    from portal.workflow import Actor, escalate

    escalate(proc, case, Actor.of(raiser), "No agreement.", now=START + dt.timedelta(hours=1))
    case = Escalation.get_by_id(case.id)
    escalate(proc, case, factories.acting(case), "Still none.", now=START + dt.timedelta(hours=2))
    row = Outbox.get((Outbox.purpose == "stage_started") & (Outbox.context.contains('"stage_index": 2')))

    text, html = parts(mail.build_message(row, app))

    assert "Stage 3: The partnership" in text
    assert [label for label in ("Resolve", "Escalate", "Decide") if f"{label}: https://" in text] == ["Decide"]
    assert "final decision" in html


def test_used_and_superseded_links_are_left_out(ctx):
    app, raiser, theirs = ctx
    case = factories.escalation(raiser, theirs, START)
    row = row_for(case, "stage_started", "pat.counter@police.example")
    ActionLink.update(used_at=START).where(
        (ActionLink.recipient_email == row.recipient_email) & (ActionLink.action == "escalate")
    ).execute()

    text, _ = parts(mail.build_message(row, app))
    assert "Resolve: https://" in text and "Escalate: https://" not in text

    links.supersede_links(case, 0, START)
    text, html = parts(mail.build_message(row, app))
    assert not LINK.findall(text) and not LINK.findall(html)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_purpose_renders_both_parts(ctx, purpose):
    app, raiser, theirs = ctx
    case = factories.escalation(raiser, theirs, START)
    extra = {"stage_index": 0}
    if purpose in ("reminder", "overdue"):
        extra |= {"kind": "reminder" if purpose == "reminder" else "deadline", "due": "2026-12-08T17:00:00+00:00"}
    if purpose == "copy":
        extra["document"] = "escalation_notice"
    mail.queue_email(case, purpose, Recipient("raiser", raiser.name, raiser.email), f"every/{purpose}", extra)

    message = mail.build_message(Outbox.get(Outbox.idempotency_key == f"every/{purpose}"), app)

    text, html = parts(message)
    assert case.reference in message["Subject"] and "Stage 1: Practitioners" in message["Subject"]
    assert case.reference in text and case.reference in html
    assert html.lstrip().startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert CHILD not in message.as_string()
    if purpose in ("reminder", "overdue"):
        assert "Tuesday 8 December 2026, 5:00pm" in text


def test_every_purpose_has_a_text_and_an_html_template():
    folder = ROOT / "templates" / "email"
    for purpose in [*PURPOSES, "copy_overdue"]:
        assert (folder / f"{purpose}.txt").is_file() and (folder / f"{purpose}.html").is_file(), purpose
        assert purpose in mail.SUBJECTS


def test_backoff_is_1_2_5_10_30_then_every_30_minutes():
    assert [mail.backoff(n) for n in range(1, 9)] == [dt.timedelta(minutes=m) for m in (1, 2, 5, 10, 30, 30, 30, 30)]


def test_the_portal_never_uses_email_mime():
    found = subprocess.run(
        ["grep", "-rn", "--include=*.py", "email.mime", str(Path(ROOT) / "portal"), str(Path(ROOT) / "tasks")],
        capture_output=True,
        text=True,
    )
    assert found.stdout == ""


def longest_stage_names(count: int = 6) -> list[tuple[str, int, str]]:
    """(preset, stage index, name) for the presets' longest stage names, and the one that showed the fold."""
    stages = [(pid, s.index, s.name) for pid in preset_ids() for s in resolve_procedure(pid).stages]
    longest = sorted(stages, key=lambda stage: len(stage[2]), reverse=True)[:count]
    return longest + [s for s in stages if s[2] == "Stage 1: Professional engagement and challenge"]


def test_long_subjects_start_on_the_subject_line_and_read_back_exactly(ctx):
    app, raiser, theirs = ctx
    case = factories.escalation(raiser, theirs, START)
    recipient = Recipient("raiser", raiser.name, raiser.email)
    subjects = []
    for pid, index, name in longest_stage_names():
        version = version_for(resolve_procedure(pid))
        Escalation.update(procedure_id=pid, procedure_version=version).where(Escalation.id == case.id).execute()
        for purpose, label in mail.SUBJECTS.items():
            key = f"subject/{pid}/{index}/{purpose}"
            mail.queue_email(case, purpose, recipient, key, {"stage_index": index})
            message = mail.build_message(Outbox.get(Outbox.idempotency_key == key), app)
            intended = f"{label}: {case.reference}, {name}"
            subjects.append(intended)

            raw = message.as_bytes()
            lines = raw.split(b"\n\n", 1)[0].split(b"\n")
            at = next(i for i, line in enumerate(lines) if line.startswith(b"Subject:"))
            folded = [lines[at]] + list(itertools.takewhile(lambda line: line[:1] in (b" ", b"\t"), lines[at + 1 :]))
            assert folded[0].removeprefix(b"Subject:").strip(), folded  # text on the Subject line itself
            assert all(len(line) <= 78 for line in folded), folded
            assert all(len(line) <= 998 for line in lines)
            parsed = email.message_from_bytes(raw, policy=policy.default)
            assert parsed["Subject"] == message["Subject"] == intended
    # The fold moved a value whole only when it fitted a line of its own but not after "Subject: ": ASCII of 70-77.
    assert any(s.isascii() and 70 <= len(s) <= 77 for s in subjects)
    assert any(not s.isascii() for s in subjects) and any(len(s) > 78 for s in subjects)
