"""Queries every page runs (the signed-in user, the inbox's new counts, the sweep's heartbeat), whose SQL peewee
writes once per process and engine instead of once per request.

Writing a small query's SQL costs peewee about 150 µs, running it on SQLite about 5 µs: on a signed-in page it was
most of the time over the layout's (docs/performance.md, "Fixed queries"). A `Prepared` query is built with `Slot`s
where its values go; each run binds the values and reads the rows through the built query's own row reader, so the
rows are the same models, tuples or dicts the query would give."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peewee import ColumnBase, Field, Query

from portal.db import database


class _Value:
    """What stands in the built query's parameters until a run binds it."""

    def __init__(self, name: str, field: Field | None):
        self.name, self.field = name, field

    def bind(self, values: dict[str, Any]) -> Any:
        value = values[self.name]
        return self.field.db_value(value) if self.field is not None else value


class Slot(ColumnBase):
    """Where a value goes in a prepared query: `field`'s conversion is applied to each value bound to it."""

    def __init__(self, name: str, field: Field | None = None):
        super().__init__()
        self.value = _Value(name, field)

    def __sql__(self, ctx):
        return ctx.value(self.value, converter=False)


class Prepared:
    """A query of a fixed shape; `build` makes it with Slots, once per process and database engine."""

    def __init__(self, build: Callable[[], Query]):
        self._build = build
        self._made: dict[type, tuple[Query, str, list]] = {}

    def run(self, **values: Any):
        """The rows, read as the built query reads them (iterate once)."""
        engine = type(database.obj)
        if engine not in self._made:
            query = self._build()  # written by the engine's own context: a bare Select has no database of its own
            self._made[engine] = (query, *database.get_sql_context().sql(query).query())
        query, sql, params = self._made[engine]
        bound = [p.bind(values) if isinstance(p, _Value) else p for p in params]
        return query._get_cursor_wrapper(database.execute_sql(sql, bound))

    def first(self, **values: Any):
        return next(iter(self.run(**values)), None)
