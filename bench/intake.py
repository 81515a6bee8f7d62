"""Department intake at scale: a 1,000,000-row CSV imported with ``import_records`` (the bulk
path), the same file imported again (nothing changes), and ``COPY`` of the same file into a
scratch table, for comparison. PostgreSQL only; use a database of its own:

    createdb cc_intake_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_intake_bench .venv/bin/python bench/intake.py [--rows N]

``--floor`` also measures what no change to the Python side can remove (see ``floor``);
``--upload 10000`` instead times a 10,000-row upload through the admin (see ``admin_upload``);
``--api 100000`` a department system's POST of a 100,000-row file and the worker's run of it
(see ``api_submit``). ``--persons``: the file names natural persons by identity number.
Each run uses a new department (so the first import creates every record); entities are
shared between runs (the first run creates them, later runs find them known).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditchina.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from common import start_run  # noqa: E402
from django.db import connection  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from disclosure import uscc  # noqa: E402
from disclosure.models import CatalogItem, Department, LegalBasisLevel  # noqa: E402
from disclosure.rules import Category, Severity  # noqa: E402
from intake import services  # noqa: E402
from intake.models import Channel  # noqa: E402

HEADER = ["统一社会信用代码", "主体名称", "目录项编码", "决定文书号", "决定日期", "事实", "依据", "结果", "金额（元）",
          "有效期自", "有效期至"]  # fmt: skip


def identity_number(e: int) -> str:
    """A valid resident identity number per ``e`` (a birth day per thousand, a sequence number)."""
    first17 = f"110105{dt.date(1960, 1, 1) + dt.timedelta(days=e // 1000):%Y%m%d}{e % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def write_csv(path: Path, rows: int, tag: str, *, persons: bool = False) -> None:
    """``persons``: the entities are natural persons named by identity number, not codes."""
    entities = max(rows // 5, 1)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["身份证号码", *HEADER[1:]] if persons else HEADER)
        for n in range(rows):
            e = n % entities
            code = identity_number(e) if persons else uscc.make_code("91", "110105", f"{e + 30000000:08d}")
            day = f"2026-{1 + n % 10:02d}-{1 + n % 28:02d}"
            if n % 4 == 0:
                writer.writerow([code, f"北京基准测试科技有限公司{e}", f"{tag}-licence", f"京基许〔2026〕{n}号", day,
                                 "准予从事食品经营。", "《中华人民共和国食品安全法》第三十五条", "准予许可", "",
                                 day, "2030-12-31"])  # fmt: skip
            else:
                writer.writerow([code, f"北京基准测试科技有限公司{e}", f"{tag}-penalty", f"京基罚〔2026〕{n}号", day,
                                 "未按规定公示年度报告。", "《企业信息公示暂行条例》第十八条",
                                 f"罚款人民币{1000 + n % 9000}元", f"{1000 + n % 9000}", "", ""])  # fmt: skip


def department(tag: str) -> Department:
    dept = Department.objects.create(code=tag, name=f"基准测试局{tag}")
    for suffix, category, severity in (("penalty", Category.ADMINISTRATIVE_PENALTY, Severity.GENERAL),
                                       ("licence", Category.ADMINISTRATIVE_LICENCE, "")):  # fmt: skip
        item = CatalogItem.objects.create(
            code=f"{tag}-{suffix}", name=f"{suffix}", category=category, legal_basis="《行政处罚法》",
            legal_basis_level=LegalBasisLevel.LAW, provider=dept, severity=severity,
        )  # fmt: skip
        dept.scope.add(item)
    return dept


def copy_baseline(path: Path) -> float:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_intake_copy")
        cursor.execute("CREATE UNLOGGED TABLE bench_intake_copy (" + ", ".join(f"c{i} text" for i in range(len(HEADER))) + ")")
        with path.open("rb") as stream, cursor.connection.cursor().copy(
            "COPY bench_intake_copy FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy:
            while block := stream.read(1 << 20):
                copy.write(block)
        cursor.execute("DROP TABLE bench_intake_copy")
    return time.monotonic() - started


def floor(dept: Department) -> None:
    """What part of an import no change to the Python side can remove.

    The database's share: the first import's records, events, published documents and batch
    links copied again, under a scratch department and new ids, with ``COPY ... FROM`` fed
    straight from ``COPY ... TO`` (no Python per row), the deferred foreign-key checks run as
    at commit, then rolled back. The Python share that the rows themselves need: building
    the documents and the events' snapshots from rows already in memory."""
    import json

    import psycopg
    from django.db import transaction

    from disclosure import publication
    from disclosure import services as disclosure_services
    from disclosure.models import CreditRecord
    from intake.bulk import SNAPSHOT_FIELDS

    ids = CreditRecord.objects.filter(department=dept).order_by("id").values_list("id", flat=True)
    low, high = ids.first(), ids.last()
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM disclosure_creditrecord")
        shift = cursor.fetchone()[0] - low + 1
    record_columns = [f.column for f in CreditRecord._meta.concrete_fields]
    copied = {
        "disclosure_creditrecord": (
            record_columns,
            ", ".join("id + %(shift)s" if c == "id" else "%(scratch)s" if c == "department_id" else c for c in record_columns)
            + " FROM disclosure_creditrecord WHERE department_id = %(department)s",
        ),
        "disclosure_recordevent": (
            ["record_id", "kind", "occurred_at", "effective_on", "actor_id", "actor_label", "reason", "reference",
             "changes", "feed_type", "document"],
            "record_id + %(shift)s, kind, occurred_at, effective_on, actor_id, actor_label, reason, reference, changes,"
            " feed_type, document FROM disclosure_recordevent WHERE record_id BETWEEN %(low)s AND %(high)s",
        ),
        "disclosure_publisheddocument": (
            ["record_id", "version", "document"],
            "record_id + %(shift)s, version, document FROM disclosure_publisheddocument"
            " WHERE record_id BETWEEN %(low)s AND %(high)s",
        ),
        "intake_recordbatch": (
            ["record_id", "batch_id", "action", "line", "before"],
            'record_id + %(shift)s, batch_id, action, line, "before" FROM intake_recordbatch'
            " WHERE record_id BETWEEN %(low)s AND %(high)s",
        ),
    }  # fmt: skip
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as source:
        started = time.monotonic()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                scratch = Department.objects.create(code=f"{dept.code}-floor", name="floor")
                params = {"shift": shift, "scratch": scratch.pk, "department": dept.pk, "low": low, "high": high}
                for table, (columns, select) in copied.items():
                    query = psycopg.ClientCursor(source).mogrify(f"COPY (SELECT {select}) TO STDOUT", params)
                    with source.cursor().copy(query) as out, cursor.connection.cursor().copy(
                        f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                    ) as into:
                        for block in out:
                            into.write(block)
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                print(f"floor, the database's share (COPY of the records, events, documents and links, with their "
                      f"indexes and foreign-key checks): {time.monotonic() - started:.1f}s")  # fmt: skip
                raise _Rollback
        except _Rollback:
            pass
    built = 0.0
    fields = [f"{name}_id" if name in ("entity", "catalog_item", "rule_set") else name for name in SNAPSHOT_FIELDS]
    pairs = list(zip(SNAPSHOT_FIELDS, fields, strict=True))
    for start in range(low, high + 1, 20_000):
        rows = list(
            CreditRecord.objects.filter(department=dept, id__gte=start, id__lt=start + 20_000).values(
                *publication.RECORD_FIELDS, *fields
            )
        )
        started = time.monotonic()
        for row in rows:
            publication.document_of(row)
            json.dumps({name: disclosure_services._json_value(row[field]) for name, field in pairs}, ensure_ascii=False)
        built += time.monotonic() - started
    print(f"floor, the Python share (documents and snapshots built from rows in memory): {built:.1f}s")


class _Rollback(Exception):
    pass


def admin_upload(rows: int) -> None:
    """A clerk's upload of a ``rows``-row CSV through the admin's upload view (Django's test
    client: the whole request, multipart parsing to the redirect), then the same file again,
    each timed from the POST to its answer; then the batch's page."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    tag = f"upload{int(time.time())}"
    path = ROOT / "var" / f"intake-upload-{rows}.csv"
    write_csv(path, rows, tag)
    dept = department(tag)
    clerk = get_user_model().objects.create_user(username=f"{tag}-clerk", password="bench-only", is_staff=True)
    dept.staff.add(clerk)
    client = Client(HTTP_HOST="localhost")
    client.force_login(clerk)
    for label in ("admin upload", "admin upload, same file again"):
        data = path.read_bytes()
        started = time.monotonic()
        response = client.post(reverse("admin:intake_batch_upload"),
                               {"department": dept.pk, "file": SimpleUploadedFile(path.name, data)}, secure=True)  # fmt: skip
        elapsed = time.monotonic() - started
        batch = services_batch_of(response)
        print(f"{label}, {rows:,} rows: {elapsed:.2f}s — HTTP {response.status_code}, {batch.status}, "
              f"created {batch.created:,}, unchanged {batch.unchanged:,}")  # fmt: skip
        started = time.monotonic()
        page = client.get(response["Location"], secure=True)
        print(f"  the batch's page: {time.monotonic() - started:.2f}s — HTTP {page.status_code}")


def api_submit(rows: int) -> None:
    """A department system's POST of a ``rows``-row CSV to the department API (Django's test
    client: the whole request, to the 202 answer), then the intake worker's run of the batch,
    each timed; then the same file again."""
    from django.test import Client

    from intake import queue

    tag = f"api{int(time.time())}"
    path = ROOT / "var" / f"intake-api-{rows}.csv"
    write_csv(path, rows, tag)
    dept = department(tag)
    _key, raw = services.department_key_issue(department=dept, actor=None)
    client = Client(HTTP_HOST="localhost")
    data = path.read_bytes()
    for label in ("API POST", "API POST, same file again"):
        started = time.monotonic()
        response = client.post("/api/v1/intake/batches/", data, content_type="text/csv",
                               HTTP_AUTHORIZATION=f"Bearer {raw}", secure=True)  # fmt: skip
        print(f"{label}, {rows:,} rows ({len(data) / 2**20:.0f} MiB): {time.monotonic() - started:.2f}s — "
              f"HTTP {response.status_code}, {response.json()['status']}")  # fmt: skip
        started = time.monotonic()
        while (batch := queue.batch_claim(worker="bench")) is not None:
            ended = queue.batch_run(batch=batch)
            if ended.number == response.json()["number"]:
                break
        print(f"  the worker's run: {time.monotonic() - started:.1f}s — {ended.status}, created {ended.created:,}, "
              f"unchanged {ended.unchanged:,}")  # fmt: skip


def services_batch_of(response):
    from intake.models import Batch

    return Batch.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-2]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--floor", action="store_true", help="Also measure the floor (see ``floor``).")
    parser.add_argument("--upload", type=int, metavar="ROWS",
                        help="Only time an upload of ROWS rows through the admin's upload view (see ``admin_upload``).")  # fmt: skip
    parser.add_argument("--persons", action="store_true",
                        help="The file names natural persons by identity number instead of organisations by code.")
    parser.add_argument("--api", type=int, metavar="ROWS",
                        help="Only time a POST of ROWS rows to the department API and the worker's run (``api_submit``).")  # fmt: skip
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Point DATABASE_URL at a PostgreSQL database of its own.")
    call_command("migrate", verbosity=0)
    if args.api:
        run = start_run(os.environ["DATABASE_URL"])
        api_submit(args.api)
        load = os.getloadavg()
        print(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (at start {run['load_average_start']})")
        return
    if args.upload:
        from django.conf import settings
        from django.test import override_settings

        # The pages without ``collectstatic`` (as the tests run them).
        static = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        with override_settings(STORAGES=static):
            admin_upload(args.upload)
        return

    run = start_run(os.environ["DATABASE_URL"])
    tag = f"bench{int(time.time())}"
    path = ROOT / "var" / f"intake-{args.rows}.csv"
    started = time.monotonic()
    write_csv(path, args.rows, tag, persons=args.persons)
    print(f"CSV: {args.rows:,} rows, {path.stat().st_size / 2**20:,.0f} MiB in {time.monotonic() - started:.0f}s")
    dept = department(tag)
    print(f"COPY of the same file into a scratch table: {copy_baseline(path):.1f}s")
    for label in ("first import", "same file again"):
        started = time.monotonic()
        with path.open("rb") as stream:
            batch = services.batch_submit(department=dept, upload=services.Upload(stream, path.name), channel=Channel.COMMAND)
        elapsed = time.monotonic() - started
        print(f"{label}: {elapsed:.1f}s — {batch.status}, created {batch.created:,}, unchanged {batch.unchanged:,}, "
              f"entities created {batch.entities_created:,}; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")  # fmt: skip
    if args.floor:
        floor(dept)
    load = os.getloadavg()
    print(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (at start {run['load_average_start']})")


if __name__ == "__main__":
    main()
