"""A list's row links built once and filled in per row are the links `url_for` builds."""

from __future__ import annotations

import pytest
from flask import url_for

from portal.views.display import ROW_MARK, url_per_row


@pytest.mark.parametrize(
    ("endpoint", "vary", "fixed", "values"),
    [
        ("cases.case", "reference", {}, ["ESC-2026-0001", "ESC-2026-123456", "A/B x@y:z", "50% & é"]),
        ("inbox.review", "item_id", {"kind": "case", "back": "/inbox/?status=open&q=Smith+J"}, [1, 2**40]),
        ("inbox.review", "item_id", {"kind": "document", "back": f"/inbox/?q={ROW_MARK}"}, [7]),  # the mark typed
    ],
)
def test_each_rows_link_is_the_one_url_for_builds(app, endpoint, vary, fixed, values):
    with app.test_request_context("/inbox/"):
        link = url_per_row(endpoint, vary, **fixed)
        assert [link(value) for value in values] == [url_for(endpoint, **fixed, **{vary: value}) for value in values]
