"""A client that leaves in the middle of a snapshot download leaves the worker as it found
it: the next requests on the same gunicorn worker (the same database connection) are
answered. Real HTTP, against gunicorn with one worker, as in production."""

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection

from disclosure import agencies
from disclosure.models import Agency
from tests.conftest import run_daily_expiries
from tests.factories import CreditRecordFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the snapshot streams out of COPY on PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn_site(shipped_rule_sets, frozen_today):
    for day in range(1, 21):  # about 1 MB of documents: more than the sockets' buffers hold
        for _ in range(10):
            CreditRecordFactory(decision_date=dt.date(2026, 6, day), facts="未按规定公示年度报告。" * 80)
    agency = Agency.objects.create(code="acme", name="Acme")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None)
    run_daily_expiries()
    settings = connection.settings_dict
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_REPLICA_URLS"},
        "DATABASE_URL": f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}",
        "DEBUG": "0",
        "SECRET_KEY": "test-only",
        "RATELIMIT_ENABLE": "0",
        "WEB_CONCURRENCY": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "creditchina.wsgi"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/robots.txt", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield base, raw
    finally:
        server.terminate()
        server.wait(10)


def status(url, key) -> int:
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})).status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("path", ["/api/v1/snapshot.ndjson", "/api/v1/snapshot.csv"])
def test_an_aborted_snapshot_download_does_not_poison_the_worker(gunicorn_site, path):
    base, key = gunicorn_site
    for _attempt in range(2):
        client = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
        assert client.recv(4096).startswith(b"HTTP/1.1 200")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
        client.close()
        time.sleep(0.5)
        assert [status(f"{base}/api/v1/digest/", key) for _ in range(3)] == [200, 200, 200]
