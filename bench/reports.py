"""Credit reports: the server time of issuing a 50-record report, and the entity page's
latency while 8 clients download reports at once.

    DATABASE_URL=postgres://.../cc_reports_bench python bench/reports.py [--seconds 20]

Builds its own modest data set in that database when it is empty: the demo data
(`seed_demo`, 240 entities) and one enterprise with 50 disclosed records. Needs wrk.

Two layouts are measured for the concurrent part:
- shared: one gunicorn (gunicorn.conf.py) serves pages and reports;
- pool: reports go to a second gunicorn of 2 workers started with `nice -n 10`, as a
  reverse proxy would route /reports/ (README, "Deploying"); pages stay on the first.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PORT_BASE, PYTHON, ROOT, Gunicorn, start_run, summary_ms, wait_for, write_result, wrk  # noqa: E402

WORK = ROOT / "var" / "bench"
KEY = WORK / "report-signing.p12"
PASSPHRASE = "bench-only"


def setup(database_url: str) -> str:
    """Migrate, load the demo data, add the 50-record enterprise; return its code."""
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PYTHON, "manage.py", "seed_demo", "--if-empty"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    script = """
import datetime as dt
from disclosure import services, uscc
from disclosure.models import CatalogItem, Entity
code = uscc.make_code("91", "110105", "MA0BENCH")
entity = Entity.objects.filter(code=code).first() or services.entity_create(
    name="北京报告基准测试科技有限公司", kind="enterprise", code=code, legal_representative="李四")
items = list(CatalogItem.objects.filter(disclosure_attribute="public", category="penalty").order_by("code")[:3])
have = entity.records.count()
for n in range(have, 50):
    item = items[n % len(items)]
    services.record_create(actor=None, entity=entity, catalog_item=item, department=item.provider,
        decision_number=f"京朝基准罚〔2026〕{n + 1}号", decision_date=dt.date(2026, 1, 1) + dt.timedelta(days=n * 3),
        facts="未按规定公示年度报告，且在责令改正期限内未改正，情节较重。",
        legal_basis_cited="《企业信息公示暂行条例》第十八条", outcome=f"罚款人民币{n + 1}千元", penalty_amount=1000 * (n + 1))
print(code)
"""
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return out.strip().splitlines()[-1]


def django_here(database_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="creditchina.settings", DEBUG="1", DATABASE_URL=database_url,
        REPORT_SIGNING_P12=str(KEY), REPORT_SIGNING_PASSPHRASE=PASSPHRASE,
    )  # fmt: skip
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_key() -> None:
    sys.path.insert(0, str(ROOT))
    if not KEY.exists():
        KEY.parent.mkdir(parents=True, exist_ok=True)
        from reports.signing import create_self_signed

        create_self_signed(KEY, passphrase=PASSPHRASE, common_name="Credit Disclosure BENCH report signing")


def server_time(code: str, count: int) -> list[float]:
    """The issuing service alone, in this process: read, render, sign, store, record."""
    from disclosure.models import Entity
    from reports import services

    entity = Entity.objects.get(code=code)
    samples = []
    for n in range(count + 5):
        start = time.perf_counter()
        report = services.report_issue(
            entity=entity, kind="public", language="zh-hans", site_url="http://bench"
        )
        if n >= 5:  # the first ones load the font and the key
            samples.append(time.perf_counter() - start)
    assert len(report.record_versions) == 50, len(report.record_versions)
    return samples


class ReportClient:
    """A person downloading a report: the form (for the CSRF token), then the POST."""

    def __init__(self, base: str, code: str):
        self.base, self.code = base, code
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        with self.opener.open(f"{base}/reports/entities/{code}/") as response:
            response.read()
        self.token = next(c.value for c in self.jar if c.name == "csrftoken")

    def issue(self) -> float:
        body = urllib.parse.urlencode(
            {"kind": "public", "language": "zh-hans", "csrfmiddlewaretoken": self.token}
        )
        request = urllib.request.Request(
            f"{self.base}/reports/entities/{self.code}/", data=body.encode(),
            headers={"Referer": f"{self.base}/reports/entities/{self.code}/"},
        )  # fmt: skip
        start = time.perf_counter()
        try:
            self.opener.open(request).read()
        except urllib.error.HTTPError as exc:
            if exc.code != 302:
                raise
        return time.perf_counter() - start


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def downloads(
    base: str, code: str, *, clients: int, stop: threading.Event, samples: list
) -> list[threading.Thread]:
    def run():
        client = ReportClient(base, code)
        while not stop.is_set():
            samples.append(client.issue())

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--page-connections", type=int, default=8)
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database for the benchmark.")

    code = setup(args.database_url)
    run = start_run(args.database_url)  # after setup: the migrations make the tables it reads
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_key()  # before Django starts: the settings refuse a key file that is not there
    django_here(args.database_url)
    WORK.mkdir(parents=True, exist_ok=True)
    paths = WORK / "report-entity-paths.txt"
    import psycopg

    with psycopg.connect(args.database_url) as conn:
        codes = [c for (c,) in conn.execute("SELECT code FROM disclosure_entity WHERE code IS NOT NULL")]
    paths.write_text("".join(f"/entities/{c}/\n" for c in codes))
    signing_env = {"REPORT_SIGNING_P12": str(KEY), "REPORT_SIGNING_PASSPHRASE": PASSPHRASE}
    result = {"entities": len(codes), "clients": args.clients, "page_connections": args.page_connections}
    result["issue_server_time"] = summary_ms(server_time(code, args.sequential))
    print("report, service alone      ", result["issue_server_time"])

    site = Gunicorn(args.database_url, port=PORT_BASE + 110)
    site.env.update(signing_env)
    with site:
        base = f"http://127.0.0.1:{site.port}"
        client = ReportClient(base, code)
        for _ in range(10):
            client.issue()  # warm-up: imports, the font, the key, connections
        sequential = [client.issue() for _ in range(args.sequential)]
        result["issue_sequential"] = summary_ms(sequential)
        print("report, one at a time      ", result["issue_sequential"])

        wrk(base, paths, connections=args.page_connections, seconds=5)
        result["pages_alone"] = wrk(base, paths, connections=args.page_connections, seconds=args.seconds)
        print("entity pages alone         ", result["pages_alone"])

        stop, samples = threading.Event(), []
        threads = downloads(base, code, clients=args.clients, stop=stop, samples=samples)
        time.sleep(2)
        result["pages_shared"] = wrk(base, paths, connections=args.page_connections, seconds=args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        result["issue_shared"] = summary_ms(samples)
        print("entity pages, shared       ", result["pages_shared"])
        print("reports meanwhile, shared  ", result["issue_shared"])

        # Lower priority: when both want the CPU, pages win.
        pool = Gunicorn(args.database_url, port=PORT_BASE + 111, workers=2, prefix=("nice", "-n", "10"))
        pool.env.update(signing_env)
        pool.__enter__()
        try:
            pool_base = f"http://127.0.0.1:{pool.port}"
            wait_for(f"{pool_base}/robots.txt")
            warm = ReportClient(pool_base, code)
            for _ in range(5):
                warm.issue()
            stop, samples = threading.Event(), []
            threads = downloads(pool_base, code, clients=args.clients, stop=stop, samples=samples)
            time.sleep(2)
            result["pages_pool"] = wrk(base, paths, connections=args.page_connections, seconds=args.seconds)
            stop.set()
            for thread in threads:
                thread.join()
            result["issue_pool"] = summary_ms(samples)
        finally:
            pool.__exit__(None, None, None)
        print("entity pages, report pool  ", result["pages_pool"])
        print("reports meanwhile, pool    ", result["issue_pool"])

    path = write_result("reports", result, run)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
