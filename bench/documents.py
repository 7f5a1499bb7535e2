"""Benchmark: rendering each of the procedure's PDF records with WeasyPrint, as the render task does.

    .venv/bin/python bench/documents.py [--runs 20]

Builds the app on a scratch SQLite database and raises Bury cases (its procedure asks for the most
documents), one ending at each stage, with a written record at every stage, resolved or, at the last
stage, decided. Then, for each kind of document, times `--runs` layouts by WeasyPrint in this process
(`portal.pdf.html_to_pdf`) and `--runs` renders as the task does them (`portal.documents.render_pdf`:
template, then a child process that starts Python and WeasyPrint and lays out the PDF/UA), reporting the
median and slowest of each, the size and the pages. Figures are recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader  # noqa: E402

from portal import create_app  # noqa: E402
from portal.cli import upgrade_database  # noqa: E402
from portal.db import database  # noqa: E402
from portal.documents import document_context, render_pdf, wake_renderer  # noqa: E402
from portal.models import Agency, Contact, Document, User  # noqa: E402
from portal.pdf import html_to_pdf  # noqa: E402
from portal.procedure import resolve_procedure  # noqa: E402
from portal.workflow import Actor, EscalationDetails, add_record, decide, escalate, raise_escalation, resolve  # noqa: E402

RECORD = "Discussed with the other agency's manager by phone; " * 12


def seed_cases(now: dt.datetime) -> None:
    ours, theirs = Agency.create(name="Bench social care"), Agency.create(name="Bench police", kind="police")
    partnership = Agency.create(name="Bench partnership", kind="partnership")
    for agency, role in [
        (ours, "line_manager"),
        (theirs, "line_manager"),
        (ours, "safeguarding_lead"),
        (theirs, "safeguarding_lead"),
        (ours, "head_of_service"),
        (theirs, "head_of_service"),
        (ours, "director"),
        (theirs, "director"),
        (partnership, "business_manager"),
        (partnership, "dcs"),
    ]:
        Contact.create(agency=agency, role=role, name=f"{role} {agency.name}", email=f"{role}.{agency.id}@b.example")
    raiser = User.create(email="raiser@b.example", name="Sam Raiser", role="practitioner", agency=ours)
    procedure = resolve_procedure("bury")
    details = EscalationDetails(
        child_name="Bench Child",
        child_dob=dt.date(2016, 5, 3),
        summary="The referral was closed without an assessment. " * 20,
        action_taken="Two calls with the duty manager. " * 10,
        outcome_sought="A strategy discussion this week. " * 10,
        counterpart_name="Pat Counter",
        counterpart_email="pat@b.example",
        counterpart_agency_id=theirs.id,
        categories=["thresholds", "communication"],
    )
    actor = Actor.of(raiser)
    for last in range(len(procedure.stages)):  # one case ending at each stage: every document the procedure has
        case = raise_escalation(procedure, raiser, details, now=now)
        for stage in procedure.stages[: last + 1]:
            add_record(case, actor, f"{stage.name}: {RECORD}", now=now + dt.timedelta(hours=stage.index + 1))
            if stage.index < last:
                escalate(
                    procedure,
                    case,
                    actor,
                    f"No agreement at {stage.name}.",
                    now=now + dt.timedelta(days=stage.index + 1),
                )
        ended = now + dt.timedelta(days=last + 1, hours=1)
        if last == procedure.last_index:
            decide(procedure, case, actor, "The partnership's decision: " + RECORD, now=ended)
        else:
            resolve(procedure, case, actor, "Agreed: " + RECORD, now=ended)


def timed(runs: int, work, *args) -> tuple[float, float]:
    """Median and slowest of `runs` calls of work(*args), in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work(*args)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def page_html(document: Document, app) -> str:
    procedure = resolve_procedure(document.escalation.procedure_id)
    return app.jinja_env.get_template(f"pdf/{document.kind}.html").render(document_context(document, procedure))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{scratch}/bench.db",
                "INSTANCE_PATH": scratch,
                "SECRET_KEY": "bench-secret-" + "x" * 32,
                "PROCEDURE": "bury",
                "MAIL_FILE_DIR": f"{scratch}/outbox",
            }
        )
        wake_renderer.install(None)  # render here, timed, not in a task
        with app.app_context(), database.connection_context():
            upgrade_database()
            seed_cases(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC))
            print(f"{platform.node()}, Python {platform.python_version()}, {args.runs} runs per document")
            print(f"{'document':36} {'layout median/slowest':>22} {'task median/slowest':>20} {'size':>6} {'pages':>5}")
            seen = set()
            for document in Document.select().order_by(Document.id):
                name = document.kind + ("" if document.stage_index is None else f" (stage {document.stage_index + 1})")
                if name in seen:
                    continue
                seen.add(name)
                html = page_html(document, app)
                layout = timed(args.runs, html_to_pdf, html)  # WeasyPrint alone, in this process
                task = timed(args.runs, render_pdf, document, app)  # template + child process, as the task
                content = render_pdf(document, app)
                print(
                    f"{name:36} {layout[0]:9.0f} / {layout[1]:5.0f} ms {task[0]:8.0f} / {task[1]:5.0f} ms"
                    f" {len(content) / 1024:4.0f}KB {len(PdfReader(io.BytesIO(content)).pages):5}"
                )


if __name__ == "__main__":
    main()
