"""A batch's checked rows in a temporary table, compared with the records in one join (PostgreSQL).

The check pass copies every row it reads into ``intake_row`` (a temporary table of the
session): the checked rows whole, the refused ones with their decision number, code and name
only. Then, each as one statement over the whole file:

- duplicates inside the file: a decision number on an earlier line, a code an earlier line
  names otherwise (what ``pipeline.RowChecker`` keeps a dictionary of on SQLite: here memory
  stays flat however long the file);
- the comparison with the published records: one join on (department, decision number)
  drops the rows that change nothing (``unchanged_sql``); the others come back in line order
  with the record they concern, for ``services.classify`` to decide what they do.

The apply pass, in the batch's transaction, joins again (the records as they are now), keeps
the rows that will write something in ``intake_plan``, locks their records and entities in id
order (step 1 of the lock order in ``disclosure.services``) with one statement each, and
streams them back in line order. A file imported again unchanged is two joins and nothing
else: no row comes back to Python, no lock is taken, nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection, transaction

from disclosure.models import Department, RecordStatus

from . import pipeline

CHUNK = 10_000
ROW = "intake_row"
PLAN = "intake_plan"
TYPES = {
    "line": "integer NOT NULL", "code": "text NOT NULL", "entity_name": "text NOT NULL", "catalog_item_id": "bigint",
    "decision_number": "text NOT NULL", "decision_date": "date", "facts": "text", "legal_basis_cited": "text",
    "outcome": "text", "penalty_amount": "numeric", "severity": "text", "valid_from": "date", "valid_until": "date",
    "revoked": "boolean", "revoke_reason": "text", "id_number_masked": "text",
}  # fmt: skip
assert tuple(TYPES) == pipeline.ROW_FIELDS
COLUMNS = ("ok", *pipeline.ROW_FIELDS)
REFUSED_PAD = (None,) * (len(pipeline.ROW_FIELDS) - 5)  # a refused row: its line, number, code and name only


# ``services.classify``'s CREATE in SQL: no current record under the number, not a revocation.
NEW_SQL = "(r.id IS NULL AND NOT COALESCE(t.revoked, false))"


def unchanged_sql(*, names: bool) -> str:
    """The SQL of ``services.classify`` finding a row of ``t`` unchanged against its record
    ``r`` (of entity ``e``), never null; ``names``: and under the same entity name (an
    unchanged row under a new name still renames). Parameters: the revoked status."""
    from .services import COMPARED

    compared = " AND ".join(f"r.{name} IS NOT DISTINCT FROM t.{name}" for name in COMPARED)
    name = " AND e.name = t.entity_name" if names else ""
    return (
        f"COALESCE(r.id IS NOT NULL AND CASE WHEN t.revoked THEN r.status = %s"
        f" ELSE {ENTITY_KEY} = t.code{name} AND {compared} END, false)"
    )


def _record_join() -> str:
    """The department's current record with the row's number (parameters: department, superseded)."""
    return (
        "LEFT JOIN disclosure_creditrecord r ON r.department_id = %s AND r.decision_number = t.decision_number"
        " AND r.status <> %s LEFT JOIN disclosure_entity e ON e.id = r.entity_id"
    )


# The key of a record's entity ``e`` as a row's ``code`` spells it: a natural person's is the
# digest of the identity number.
ENTITY_KEY = "COALESCE(e.code, e.id_number_digest)"


def _row_and_record_columns() -> str:
    from .services import COMPARED

    return ", ".join(
        [f"t.{name}" for name in pipeline.ROW_FIELDS]
        + ["r.id", "r.decision_number", "r.status", "r.entity_id", ENTITY_KEY]
        + [f"r.{name}" for name in COMPARED]
    )


def _split(values) -> tuple[pipeline.Row, dict | None]:
    from .services import EXISTING_FIELDS

    width = len(pipeline.ROW_FIELDS)
    row = pipeline.Row(*values[:width])
    if values[width] is None:
        return row, None
    return row, dict(zip(EXISTING_FIELDS, values[width:], strict=True))


class StagedRows:
    """The checked rows of one batch, in ``intake_row``. Use as a context manager."""

    python_duplicates = False  # RowChecker leaves duplicates to ``finish``

    def __init__(self, department: Department):
        self.department = department
        self.buffer: list[tuple] = []
        self.ok = 0
        self.persons = False  # whether a checked row names a natural person
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {ROW}, {PLAN}")
            cursor.execute(f"CREATE TEMPORARY TABLE {ROW} (ok boolean NOT NULL, "
                           + ", ".join(f"{name} {kind}" for name, kind in TYPES.items()) + ")")  # fmt: skip

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if connection.connection is None:
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {ROW}, {PLAN}")
        except Exception:  # noqa: BLE001 - an aborted transaction drops them itself (or the session's end does)
            pass

    # -- the check pass ---------------------------------------------------------------------

    def add(self, row: pipeline.Row | None, keys: tuple[int, str, str, str]) -> None:
        """A checked row, or (``row`` None) a refused row's (line, number, code, name)."""
        if row is not None:
            self.buffer.append((True, *row.as_tuple()))
            self.ok += 1
            self.persons = self.persons or bool(row.id_number_masked)
        else:
            line, number, code, name = keys
            if number or (code and name):
                self.buffer.append((False, line, code, name, None, number, *REFUSED_PAD))
        if len(self.buffer) >= CHUNK:
            self._copy()

    def _copy(self) -> None:
        from .bulk import copy_rows

        copy_rows(ROW, COLUMNS, self.buffer)
        self.buffer.clear()

    def finish(self, outcome, columns: dict[str, str]) -> None:
        """After the last row: refuse the duplicates, then compare with the records (counts
        and refusals into ``outcome``)."""
        from .services import classify

        self._copy()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute(f"ANALYZE {ROW}")
            self._duplicates(cursor, outcome, columns)
            # A row with no record under its number that does not revoke is a new record
            # (``classify``'s first answer): counted here, not sent back to be classified.
            cursor.execute(
                f"SELECT count(*) FROM {ROW} t {_record_join()} WHERE t.ok AND {NEW_SQL}",
                [self.department.pk, RecordStatus.SUPERSEDED],
            )
            (created,) = cursor.fetchone()
            outcome.actions["create"] += created
            refused, classified = [], created
            with connection.chunked_cursor() as rows:
                rows.execute(
                    f"SELECT {_row_and_record_columns()} FROM {ROW} t {_record_join()}"
                    f" WHERE t.ok AND NOT {NEW_SQL} AND NOT {unchanged_sql(names=False)} ORDER BY t.line",
                    [self.department.pk, RecordStatus.SUPERSEDED, RecordStatus.REVOKED],
                )
                while part := rows.fetchmany(CHUNK):
                    for values in part:
                        row, existing = _split(values)
                        classified += 1
                        action, _changes, error = classify(row, existing, None)
                        if error:
                            outcome.refuse([error])
                            refused.append(row.line)
                        else:
                            outcome.actions[action] += 1
            outcome.actions["unchanged"] += self.ok - classified
            if refused:
                cursor.execute(f"UPDATE {ROW} SET ok = false WHERE ok AND line = ANY(%s)", [refused])
                self.ok -= cursor.rowcount

    def _duplicates(self, cursor, outcome, columns) -> None:
        """Refuse each line whose decision number an earlier line has, or whose code an
        earlier line names otherwise (the errors ``RowChecker`` gives on SQLite)."""
        cursor.execute(
            f"SELECT line, first FROM (SELECT line, min(line) OVER (PARTITION BY decision_number) AS first"
            f" FROM {ROW} WHERE decision_number <> '') d WHERE line <> first"
        )
        errors: dict[int, list[pipeline.RowError]] = {}
        number_column = pipeline.column_of(columns, "decision_number")
        for line, first in cursor.fetchall():
            errors.setdefault(line, []).append(pipeline.duplicate_error(line, number_column, first))
        cursor.execute(
            f"SELECT line, first_line, first_name, code FROM (SELECT line, entity_name, code,"
            f" first_value(line) OVER w AS first_line, first_value(entity_name) OVER w AS first_name"
            f" FROM {ROW} WHERE code <> '' AND entity_name <> '' WINDOW w AS (PARTITION BY code ORDER BY line)) n"
            f" WHERE entity_name <> first_name"
        )
        name_column = pipeline.column_of(columns, "entity_name")
        for line, first, name, code in cursor.fetchall():
            errors.setdefault(line, []).append(
                pipeline.name_conflict_error(line, name_column, first, name, person=pipeline.is_person_key(code))
            )
        if not errors:
            return
        lines = sorted(errors)
        for line in lines:
            outcome.refuse(errors[line])
        cursor.execute(f"UPDATE {ROW} SET ok = false WHERE ok AND line = ANY(%s)", [lines])
        self.ok -= cursor.rowcount

    # -- the apply pass, in the batch's transaction -----------------------------------------

    def plan(self) -> int:
        """Compare every checked row with the records as they are now, keep in ``intake_plan``
        the rows that will write something, lock their records, then the entities they may
        change, in id order. Returns how many rows need nothing (unchanged, same name)."""
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute(f"DROP TABLE IF EXISTS {PLAN}")
            known, known_id = "LEFT JOIN disclosure_entity k ON k.code = t.code", "k.id"
            if self.persons:  # natural persons are known by their digest
                known += " LEFT JOIN disclosure_entity kp ON kp.id_number_digest = t.code"
                known_id = "COALESCE(k.id, kp.id)"
            cursor.execute(
                f"CREATE TEMPORARY TABLE {PLAN} AS SELECT t.line, r.id AS record_id, r.entity_id, {known_id} AS known_id"
                f" FROM {ROW} t {_record_join()} {known}"
                f" WHERE t.ok AND NOT {unchanged_sql(names=True)}",
                [self.department.pk, RecordStatus.SUPERSEDED, RecordStatus.REVOKED],
            )
            kept = cursor.rowcount
            cursor.execute(f"ANALYZE {PLAN}")
            cursor.execute(
                "SELECT count(*) FROM (SELECT id FROM disclosure_creditrecord"
                f" WHERE id IN (SELECT record_id FROM {PLAN}) ORDER BY id FOR NO KEY UPDATE) locked"
            )
            cursor.execute(
                "SELECT count(*) FROM (SELECT id FROM disclosure_entity WHERE id IN"
                f" (SELECT entity_id FROM {PLAN} UNION SELECT known_id FROM {PLAN}) ORDER BY id FOR NO KEY UPDATE) locked"
            )
        return self.ok - kept

    def changes(self) -> Iterator[list[tuple[pipeline.Row, dict | None]]]:
        """The rows of ``intake_plan``, in line order, each with its record as it is now
        (read after the locks), ``CHUNK`` at a time."""
        with connection.chunked_cursor() as rows:
            rows.execute(
                f"SELECT {_row_and_record_columns()} FROM {PLAN} p JOIN {ROW} t ON t.line = p.line {_record_join()}"
                " ORDER BY t.line",
                [self.department.pk, RecordStatus.SUPERSEDED],
            )
            while part := rows.fetchmany(CHUNK):
                yield [_split(values) for values in part]
