"""What a generated database occupies: pg_database_size, the biggest relations (table, its
indexes, its TOAST), the rows of the main tables, and the bytes per entity.

    DATABASE_URL=postgres://... python bench/size.py [--top 15]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import start_run, write_result  # noqa: E402

COUNTED = (
    "disclosure_entity",
    "disclosure_formername",
    "disclosure_namegram",
    "disclosure_namegramcount",
    "disclosure_creditrecord",
    "disclosure_recordevent",
    "disclosure_publisheddocument",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to the PostgreSQL database generate_dataset filled.")
    run = start_run(args.database_url)
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        rows = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED}
        relations = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),"
            " pg_indexes_size(c.oid), coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC LIMIT %s",
            [args.top],
        ).fetchall()
        indexes = conn.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'i' ORDER BY 2 DESC LIMIT %s",
            [args.top],
        ).fetchall()
    entities = rows["disclosure_entity"] or 1
    print(f"database {database / 2**30:.2f} GiB, {database / entities:,.0f} bytes per entity")
    for table, count in rows.items():
        print(f"  {table:32} {count:>13,} rows")
    print(f"{'table':32} {'total':>10} {'heap':>10} {'indexes':>10} {'toast':>10}  (MiB)")
    for name, total, heap, index, toast in relations:
        print(
            f"{name:32} {total / 2**20:10,.0f} {heap / 2**20:10,.0f} {index / 2**20:10,.0f} {toast / 2**20:10,.0f}"
        )
    print("biggest indexes (MiB):")
    for name, size in indexes:
        print(f"  {name:48} {size / 2**20:10,.0f}")
    result = {
        "database_bytes": database,
        "bytes_per_entity": round(database / entities),
        "rows": rows,
        "relations": [
            {"table": name, "total": total, "heap": heap, "indexes": index, "toast": toast}
            for name, total, heap, index, toast in relations
        ],
        "indexes": [{"index": name, "bytes": size} for name, size in indexes],
    }
    print(f"written to {write_result('size', result, run)}")


if __name__ == "__main__":
    main()
