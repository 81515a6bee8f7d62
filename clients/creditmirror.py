#!/usr/bin/env python3
"""creditmirror: keep a local SQLite copy of a credit disclosure site's disclosed records.

A starting point for credit service agencies: standard library only, one file. It loads the
snapshot once, then follows the change feed from the snapshot's cursor (no gap, no overlap),
reports the cursor it has applied, and checks its copy against the site's digest, finding
the differing buckets of ids when they disagree and reloading when it must.

    python creditmirror.py --url https://credit.example.gov.cn --key cc_... --db mirror.sqlite3 sync
    python creditmirror.py ... verify          # compare with the site's digest
    python creditmirror.py ... show 91110000600037341L

A record is shown from its ``disclosure_start`` to its ``disclosure_end`` inclusive; the feed
sends a tombstone the day after, and ``visible()`` never returns a lapsed record meanwhile.
Run ``sync`` every few minutes (cron or a loop); each run is safe to interrupt: a page of the
feed is applied in one SQLite transaction together with its cursor.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

USER_AGENT = "creditmirror/1.0"
# Events that put a document in the copy; every other type (withdrawn, revoked, expired,
# removed, and any added later) takes the record out.
DOCUMENT_EVENTS = {"disclosed", "updated"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    version TEXT NOT NULL,
    disclosure_start TEXT NOT NULL,
    disclosure_end TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_entity ON records (entity);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class ApiError(Exception):
    def __init__(self, status: int, body: dict | str):
        self.status, self.body = status, body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(f"HTTP {status}: {error.get('message') or body}")


class Client:
    """The site's agency API over HTTP, with the key, a timeout, and patience for 429."""

    def __init__(self, base_url: str, key: str, *, timeout: float = 120, max_retries: int = 5):
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.max_retries = max_retries

    def open(self, path: str, params: dict | None = None, *, data: dict | None = None):
        url = f"{self.base_url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"Authorization": f"Bearer {self.key}", "User-Agent": USER_AGENT, "Accept-Language": "en"}
        body = None
        if data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(url, data=body, headers=headers)
            try:
                return urllib.request.urlopen(request, timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                if exc.code == 429 and attempt < self.max_retries:
                    time.sleep(float(exc.headers.get("Retry-After") or 1))
                    continue
                payload = exc.read().decode("utf-8", "replace")
                with contextlib.suppress(ValueError):
                    payload = json.loads(payload)
                raise ApiError(exc.code, payload) from None
        raise AssertionError("unreachable")

    def get_json(self, path: str, params: dict | None = None) -> dict:
        with self.open(path, params) as response:
            return json.load(response)

    def post_json(self, path: str, data: dict) -> dict:
        with self.open(path, data=data) as response:
            return json.load(response)


def _hash(record_id: int, version: str) -> int:
    return int.from_bytes(hashlib.md5(f"{record_id}:{version}".encode()).digest()[:8], "big")


@dataclass
class Verification:
    ok: bool
    remote: dict
    local: dict
    differing_buckets: list[int] = field(default_factory=list)


class Mirror:
    def __init__(self, db_path: str, client: Client):
        self.client = client
        self.db = sqlite3.connect(db_path, isolation_level=None)  # explicit transactions below
        self.db.executescript(SCHEMA)

    # -- state ------------------------------------------------------------------------------
    @property
    def cursor(self) -> int | None:
        row = self.db.execute("SELECT value FROM state WHERE key = 'cursor'").fetchone()
        return int(row[0]) if row else None

    def _set_cursor(self, cursor: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('cursor', ?)", [str(cursor)])

    # -- loading and following --------------------------------------------------------------
    def load_snapshot(self) -> int:
        """Replace the copy with the site's snapshot; returns the number of records."""
        with self.client.open("snapshot.ndjson") as response:
            header = json.loads(response.readline())
            self.db.execute("BEGIN")
            try:
                self.db.execute("DELETE FROM records")
                count = 0
                batch = []
                for line in response:
                    batch.append(self._row(json.loads(line)))
                    if len(batch) == 5000:
                        self._upsert(batch)
                        count += len(batch)
                        batch = []
                self._upsert(batch)
                count += len(batch)
                self._set_cursor(header["cursor"])
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return count

    @staticmethod
    def _row(document: dict) -> tuple:
        return (
            document["id"],
            document["entity"],
            document["version"],
            document["disclosure_start"],
            document["disclosure_end"],
            json.dumps(document, ensure_ascii=False, sort_keys=True),
        )

    def _upsert(self, rows: list[tuple]) -> None:
        if rows:
            self.db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)", rows)

    def apply(self, event: dict) -> None:
        if event["type"] in DOCUMENT_EVENTS:
            self._upsert([self._row(event["record"])])
        else:
            self.db.execute("DELETE FROM records WHERE id = ?", [event["record_id"]])

    def follow(self, *, limit: int = 1000) -> int:
        """Apply every event after the cursor; returns how many were applied."""
        if self.cursor is None:
            raise RuntimeError("load the snapshot first")
        applied = 0
        while True:
            page = self.client.get_json("changes/", {"after": self.cursor, "limit": limit})
            self.db.execute("BEGIN")
            try:
                for event in page["events"]:
                    self.apply(event)
                self._set_cursor(page["next"])
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            applied += len(page["events"])
            if not page["has_more"]:
                return applied

    def acknowledge(self) -> dict:
        return self.client.post_json("acknowledgement/", {"cursor": self.cursor})

    # -- reading and checking ---------------------------------------------------------------
    def visible(self, as_of: str) -> dict[int, dict]:
        """The records shown on ``as_of`` (an ISO date), by id."""
        rows = self.db.execute(
            "SELECT id, document FROM records WHERE disclosure_start <= ? AND disclosure_end >= ? ORDER BY id",
            [as_of, as_of],
        )
        return {record_id: json.loads(document) for record_id, document in rows}

    def local_digest(self, as_of: str, *, bucket_size: int | None = None, entity: str | None = None) -> dict:
        query = "SELECT id, version FROM records WHERE disclosure_start <= ? AND disclosure_end >= ?"
        params = [as_of, as_of]
        if entity:
            query += " AND entity = ?"
            params.append(entity)
        count, total, buckets = 0, 0, {}
        for record_id, version in self.db.execute(query, params):
            value = _hash(record_id, version)
            count += 1
            total = (total + value) % 2**64
            if bucket_size:
                bucket = buckets.setdefault(record_id // bucket_size, [0, 0])
                bucket[0] += 1
                bucket[1] = (bucket[1] + value) % 2**64
        result = {"as_of": as_of, "count": count, "hash": f"{total:016x}"}
        if bucket_size:
            result["buckets"] = {key: {"count": c, "hash": f"{h:016x}"} for key, (c, h) in buckets.items()}
        return result

    def verify(self, *, bucket_size: int = 10000, attempts: int = 5) -> Verification:
        """Compare the copy with the site. The digest is taken between two polls that find
        nothing new, so both sides describe the same cursor."""
        for _attempt in range(attempts):
            self.follow()
            remote = self.client.get_json("digest/", {"bucket_size": bucket_size})
            if self.follow() == 0:
                break
        else:
            raise RuntimeError("the site kept changing; try again later")
        local = self.local_digest(remote["as_of"], bucket_size=bucket_size)
        ok = (local["count"], local["hash"]) == (remote["count"], remote["hash"])
        differing = []
        if not ok:
            remote_buckets = {
                b["bucket"]: {"count": b["count"], "hash": b["hash"]} for b in remote["buckets"]
            }
            keys = set(remote_buckets) | set(local["buckets"])
            differing = sorted(k for k in keys if remote_buckets.get(k) != local["buckets"].get(k))
        local.pop("buckets", None)
        remote = {k: remote[k] for k in ("as_of", "count", "hash")}
        return Verification(ok=ok, remote=remote, local=local, differing_buckets=differing)

    def sync(self, *, verify: bool = True) -> dict:
        """What a scheduled run does: load the snapshot the first time, follow the feed,
        check, reload if the check fails, and report the cursor."""
        report = {"loaded": None, "applied": 0, "verified": None, "reloaded": False, "held_back": False}
        try:
            if self.cursor is None:
                report["loaded"] = self.load_snapshot()
            report["applied"] = self.follow()
            if verify:
                check = self.verify()
                if not check.ok:
                    report["reloaded"] = True
                    report["loaded"] = self.load_snapshot()
                    self.follow()
                    check = self.verify()
                report["verified"] = check.ok
        except ApiError as exc:
            if exc.status != 503:
                raise
            # Just after midnight the site writes the day's expiries; until it has, the feed
            # holds back and the snapshot and the digest answer 503. The next run checks.
            report["held_back"] = True
        report["cursor"] = self.cursor
        if self.cursor is not None:
            self.acknowledge()
        return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the site, e.g. https://credit.example.gov.cn")
    parser.add_argument("--key", required=True, help="the agency's API key")
    parser.add_argument("--db", default="mirror.sqlite3", help="the local SQLite file")
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="load or follow, check, acknowledge")
    sync.add_argument("--no-verify", action="store_true")
    commands.add_parser("verify", help="compare the copy with the site's digest")
    show = commands.add_parser("show", help="print an entity's records from the copy")
    show.add_argument("entity")
    args = parser.parse_args(argv)
    mirror = Mirror(args.db, Client(args.url, args.key))
    if args.command == "sync":
        print(json.dumps(mirror.sync(verify=not args.no_verify)))
    elif args.command == "verify":
        check = mirror.verify()
        print(
            json.dumps(
                {
                    "ok": check.ok,
                    "site": check.remote,
                    "copy": check.local,
                    "differing_buckets": check.differing_buckets,
                }
            )
        )
        return 0 if check.ok else 1
    else:
        rows = mirror.db.execute("SELECT document FROM records WHERE entity = ? ORDER BY id", [args.entity])
        for (document,) in rows:
            print(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
