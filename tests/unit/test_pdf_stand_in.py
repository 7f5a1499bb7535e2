"""The tests' PDF stand-in (tests/conftest.py): a valid PDF made through the document path, and WeasyPrint
for the tests marked `real_pdf`."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from portal import pdf
from portal.models import Document
from tests import factories
from tests.conftest import stand_in_pdf
from tests.web.conftest import START

PAGE = '<html lang="en"><head><title>Escalation Notice: ESC-2026-0001 &amp; “more”</title></head><body></body></html>'


def test_the_stand_in_is_a_one_page_pdf_titled_as_the_page():
    reader = PdfReader(io.BytesIO(stand_in_pdf(PAGE)), strict=True)
    assert len(reader.pages) == 1
    assert reader.metadata.title == "Escalation Notice: ESC-2026-0001 & “more”"


def test_a_raised_case_has_its_document_rendered_by_the_stand_in(app):
    with app.app_context():  # the app wakes the renderer; huey runs it at once: its template, then the stand-in
        raiser, ours, theirs = factories.world()
        case = factories.escalation(raiser, theirs, START)
        notice = Document.get(Document.escalation == case)
    assert notice.status == "rendered"
    reader = PdfReader(io.BytesIO(notice.content), strict=True)
    assert reader.metadata.producer == "escalation portal tests: stand-in"
    assert reader.metadata.title == f"Escalation Notice: {case.reference}"


@pytest.mark.real_pdf
def test_a_test_marked_real_pdf_renders_with_weasyprint():
    assert "WeasyPrint" in PdfReader(io.BytesIO(pdf.render(PAGE))).metadata.producer
