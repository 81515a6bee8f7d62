"""Querysets built and compiled to SQL once, then run with each request's values.

Building a queryset (resolving its lookups) and compiling it to SQL costs Django about
0.5 ms for the records of an entity page: more than PostgreSQL needs to plan, run and send
the answer. The entity page is the site's busiest, so its queries are made once per
database connection from the ordinary querysets, with marker values where a request's
values go; each request runs that SQL with its own values in their place and gets model
instances as the queryset would give them. The querysets stay the definition:
``disclosed()`` still decides what the public may see, and the tests check that both ways
give the same rows.

It uses Django's private ORM machinery (``SQLCompiler.klass_info``, ``.select``,
``.annotation_col_map``, ``.get_converters``, ``.apply_converters`` and
``django.db.models.query.get_related_populators``), verified for the Django release that
``tests/disclosure/test_compiled.py`` pins: an upgrade fails that test until this module is
checked against the new release. Measured gain (``bench/compiled.py``, bench/README.md):
the records query costs a third of what building and compiling it each time does, about a
quarter of an uncached entity page.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.query import get_related_populators


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: tuple[tuple[int, str, Callable[[Any], Any]], ...]  # (position, name, adapt)
    compiler: Any
    converters: dict
    model: type
    fields: slice
    init_list: list[str]
    populators: list


def _same(value):
    return value


class CompiledQuery:
    """``CompiledQuery(build, name=marker, ...)``: ``build(**markers)`` returns the queryset
    (with ``select_related`` as needed); calling the object with real values returns the list
    of model instances that ``build(**values)`` would give. A marker must be a value no
    request ever sends, of the type the lookup takes, and must reach the SQL as a parameter:
    compiling fails loudly when one does not."""

    def __init__(self, build: Callable[..., QuerySet], **markers):
        self.build = build
        self.markers = markers
        self._by_connection: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._model = None

    def __call__(self, *, using: str | None = None, **values) -> list:
        if using is None:
            # Where the ordinary queryset would read (a replica, for a public request).
            if self._model is None:
                self._model = self.build(**self.markers).model
            using = router.db_for_read(self._model)
        connection = connections[using]
        compiled = self._by_connection.get(connection)
        if compiled is None:
            compiled = self._by_connection[connection] = self._compile(connection)
        params = list(compiled.params)
        for position, name, adapt in compiled.slots:
            params[position] = adapt(values[name])
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        objects = []
        for row in rows:
            obj = compiled.model.from_db(using, compiled.init_list, row[compiled.fields])
            for populator in compiled.populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects

    def _compile(self, connection) -> _Compiled:
        queryset = self.build(**self.markers)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        slots = []
        for name, marker in self.markers.items():
            # A backend may hand the driver a value as it is or as text (SQLite's dates).
            found = [
                (i, name, _same) for i, p in enumerate(params) if type(p) is type(marker) and p == marker
            ]
            found += [(i, name, str) for i, p in enumerate(params) if isinstance(p, str) and p == str(marker)]
            if not found:
                raise ImproperlyConfigured(f"The marker for {name!r} does not reach the SQL: {sql}")
            slots.extend(found)
        select, klass_info = compiler.select, compiler.klass_info
        if klass_info is None or compiler.annotation_col_map:
            raise ImproperlyConfigured("CompiledQuery runs model querysets without annotations.")
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            compiler=compiler,
            converters=compiler.get_converters([column[0] for column in select]),
            model=klass_info["model"],
            fields=slice(first, last),
            init_list=[column[0].target.attname for column in select[first:last]],
            populators=get_related_populators(klass_info, select, connection.alias),
        )
