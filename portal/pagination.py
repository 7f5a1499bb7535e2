"""Keyset pagination, for every list that can grow: the inbox, the dashboard, the sent mail.

A page is found by where the last one ended (the sort values of its edge row, carried in the URL's cursor), not by
how many rows came before it: the database reads one index range whatever the depth (OFFSET reads and throws away
every row before the page), and a row added or removed meanwhile never makes the next page repeat or skip one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from peewee import CharField, DateTimeField, Field, Node, Tuple

PAGE_SIZE = 50


class InvalidCursor(ValueError):
    """A cursor this code did not write (edited, truncated, or from another list)."""


@dataclass(frozen=True)
class Order:
    """A list's sort: expressions ending with a unique column, all ascending or all descending.

    Each expression is named by the attribute its value has on a row: a field's name, or the alias it was
    selected under."""

    keys: Sequence[tuple[str, Node]]
    descending: bool = False

    def values(self, row) -> list:
        return [getattr(row, name) for name, _ in self.keys]


@dataclass(frozen=True)
class Page:
    rows: list
    next_cursor: str | None  # the rows after the last one here
    prev_cursor: str | None  # the rows before the first one here


def _encode(direction: str, values: list) -> str:
    plain = [{"t": v.isoformat()} if isinstance(v, dt.datetime) else v for v in values]
    data = json.dumps([direction, plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(cursor: str, width: int) -> tuple[str, list]:
    try:
        direction, plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        assert direction in ("after", "before") and isinstance(plain, list) and len(plain) == width
        values = []
        for value in plain:
            if isinstance(value, dict):
                moment = dt.datetime.fromisoformat(value["t"])
                assert moment.tzinfo is not None
                values.append(moment)
            else:
                assert value is None or isinstance(value, int | str)
                values.append(value)
    except (ValueError, TypeError, KeyError, AssertionError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursor(str(error)) from None
    return direction, values


def _bound(key: Node, value):
    """The cursor's value as the database compares it with `key`; refused if it is not the key's type (PostgreSQL
    would fail the query comparing a timestamp with a number)."""
    if value is None:
        return None
    wanted = dt.datetime if isinstance(key, DateTimeField) else str if isinstance(key, CharField) else int
    if not isinstance(value, wanted) or isinstance(value, bool):
        raise InvalidCursor(f"{type(value).__name__} where {wanted.__name__} was expected")
    return key.db_value(value) if isinstance(key, Field) else value


def paginate(query, order: Order, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of `query` in `order`, starting after (or ending before) the cursor's row. Reads size + 1 rows."""
    keys = [key for _, key in order.keys]
    direction, values = _decode(cursor, len(keys)) if cursor else ("after", None)
    backwards = direction == "before"
    descending = order.descending != backwards  # read away from the cursor, nearest row first
    if values is not None:
        bounds = [_bound(k, v) for k, v in zip(keys, values, strict=True)]
        here, there = Tuple(*keys), Tuple(*bounds)
        query = query.where(here < there if descending else here > there)
    fetched = list(query.order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(size + 1))
    more, rows = len(fetched) > size, fetched[:size]
    if backwards:
        rows.reverse()
    if not rows:
        return Page(rows, None, None)
    first, last = _encode("before", order.values(rows[0])), _encode("after", order.values(rows[-1]))
    if backwards:
        return Page(rows, next_cursor=last, prev_cursor=first if more else None)
    return Page(rows, next_cursor=last if more else None, prev_cursor=first if values is not None else None)
