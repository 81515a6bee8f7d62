"""Several writers change published documents through every service at once, while two
agencies' consumers follow the snapshot and the feed over real HTTP. Afterwards each copy
equals what the site discloses, document for document, and the digests agree, without the
consumers ever reloading.

The second consumer is written here from the API's contract alone (README and OpenAPI):
snapshot, then ``changes`` pages; ``disclosed``/``updated`` put the document, anything
else removes the record."""

import datetime as dt
import json
import random
import threading
import time
import urllib.request

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from clients.creditmirror import Client, Mirror
from disclosure import agencies, publication, services
from disclosure.models import Agency, CatalogItem, CreditRecord, DisclosureAttribute, Entity
from disclosure.rules import Category, Severity
from repair import services as repair_services
from repair.models import Application
from tests.conftest import run_daily_expiries
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory, UserFactory
from tests.repair.conftest import jpeg, pdf

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

D = dt.date
WRITERS = 4
STEPS = 25


class ContractConsumer:
    """A copy kept in a dict, from the documented API only."""

    def __init__(self, base_url: str, key: str):
        self.base = f"{base_url}/api/v1/"
        self.headers = {"Authorization": f"Bearer {key}"}
        self.copy: dict[int, dict] = {}
        self.cursor: int | None = None

    def _get(self, path: str):
        return urllib.request.urlopen(urllib.request.Request(self.base + path, headers=self.headers), timeout=60)

    def load(self) -> None:
        with self._get("snapshot.ndjson") as response:
            lines = response.read().decode().splitlines()
        header = json.loads(lines[0])
        assert int(response.headers["X-Feed-Cursor"]) == header["cursor"]
        self.copy = {doc["id"]: doc for doc in map(json.loads, lines[1:])}
        self.cursor = header["cursor"]

    def follow(self) -> int:
        applied = 0
        while True:
            with self._get(f"changes/?after={self.cursor}&limit=7") as response:
                page = json.loads(response.read())
            for event in page["events"]:
                assert event["cursor"] > self.cursor
                if event["type"] in ("disclosed", "updated"):
                    self.copy[event["record_id"]] = event["record"]
                else:
                    self.copy.pop(event["record_id"], None)
                self.cursor = event["cursor"]
                applied += 1
            self.cursor = page["next"]
            if not page["has_more"]:
                return applied

    def shown(self, day: str) -> dict[int, dict]:
        return {
            record_id: doc
            for record_id, doc in sorted(self.copy.items())
            if doc["disclosure_start"] <= day <= doc["disclosure_end"]
        }


def site_documents(on: dt.date) -> dict[int, dict]:
    rows = CreditRecord.objects.disclosed(on=on).order_by("id").values(*publication.RECORD_FIELDS)
    return {row["id"]: json.loads(publication.document_of(row)[1]) for row in rows}


@pytest.fixture
def world(shipped_rule_sets, frozen_today):
    run_daily_expiries()  # today's, as deployed: the feed shows the day's writes
    penalty = CatalogItemFactory(name="行政处罚信息", code="penalty")
    serious = CatalogItemFactory(name="严重违法失信名单", code="serious", severity=Severity.SERIOUS,
                                 category=Category.SERIOUS_DISHONESTY, provider=penalty.provider)  # fmt: skip
    shared = CatalogItemFactory(name="内部共享信息", code="shared", provider=penalty.provider,
                                disclosure_attribute=DisclosureAttribute.SHARED)  # fmt: skip
    department = penalty.provider
    department.scope.add(penalty, serious, shared)
    clerk = UserFactory(username="clerk")
    department.staff.add(clerk)
    entities = [EntityFactory() for _ in range(6)]
    rng = random.Random(7)
    for n in range(24):
        CreditRecordFactory(
            entity=entities[n % 6],
            catalog_item=[penalty, serious, shared][n % 3],
            decision_date=D(2025, 12, 1) + dt.timedelta(days=rng.randrange(0, 300)),
        )
    agency = Agency.objects.create(code="acme", name="Acme")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None)
    return {"items": [penalty, serious, shared], "entities": entities, "clerk": clerk, "key": raw}


def storm_step(rng: random.Random, world: dict, n: int, i: int) -> None:
    """One write through one of the services that can change a published document."""
    penalty, serious, shared = world["items"]
    clerk = world["clerk"]
    records = list(CreditRecord.objects.order_by("id").values_list("id", flat=True))
    record = CreditRecord.objects.get(pk=rng.choice(records))
    choice = rng.randrange(11)
    if choice == 0:
        CreditRecordFactory(
            entity=rng.choice(world["entities"]),
            catalog_item=rng.choice(world["items"]),
            decision_date=D(2025, 11, 1) + dt.timedelta(days=rng.randrange(0, 390)),
            actor=clerk,
        )
    elif choice == 1:
        field, value = rng.choice(
            [
                ("outcome", f"罚款人民币{n}{i}万元"),
                ("facts", f"事实{n}-{i}"),
                ("penalty_amount", f"{n}{i}00.00"),
                ("severity", rng.choice([Severity.GENERAL, Severity.SERIOUS, Severity.MINOR])),
                ("decision_date", D(2025, 11, 1) + dt.timedelta(days=rng.randrange(0, 390))),
                ("catalog_item", rng.choice(world["items"])),
                ("entity", rng.choice(world["entities"])),
            ]
        )
        services.record_correct(record=record, actor=clerk, reason=f"更正{field}", changes={field: value})
    elif choice == 2:
        services.record_supersede(record=record, actor=clerk, reason="重新决定", changes={"outcome": f"改判{n}{i}"})
    elif choice == 3:
        services.record_withdraw(record=record, actor=clerk, reason="修复", reference=f"XF{n}{i}")
    elif choice == 4:
        services.record_redisclose(record=record, actor=clerk, reason="撤销修复", reference=f"XF{n}{i}")
    elif choice == 5:
        services.record_revoke(record=record, actor=clerk, reason="复议撤销")
    elif choice == 6:
        entity = Entity.objects.get(pk=rng.choice(world["entities"]).pk)
        services.entity_rename(entity=entity, new_name=f"{entity.name[:20]}{n}{i}", changed_on=D(2026, 11, 28))
    elif choice == 7:
        item = CatalogItem.objects.get(pk=rng.choice([penalty, shared]).pk)
        flipped = (
            DisclosureAttribute.SHARED
            if item.disclosure_attribute == DisclosureAttribute.PUBLIC
            else DisclosureAttribute.PUBLIC
        )
        services.catalog_item_update(item=item, actor=None, changes={"disclosure_attribute": flipped})
    elif choice in (8, 9):
        submission = repair_services.repair_submit(
            record=record, entity_code=record.entity.code, entity_name=record.entity.name,
            contact_person="张三", phone="13800138000", email="zhang@example.com",
            statement="已缴清罚款并完成整改。", signatory="李四", commitment_confirmed=True,
            fulfilment_files=[pdf()], representation_files=[jpeg()],
        )  # fmt: skip
        repair_services.repair_accept(application=submission.application, reviewer=clerk)
        repair_services.repair_approve(application=submission.application, reviewer=clerk)
    else:
        approved = Application.objects.filter(status="approved").order_by("?").first()
        if approved:
            repair_services.repair_revoke_approval(application=approved, reviewer=clerk, reason="材料虚假")


def test_copies_stay_identical_under_a_write_storm(live_server, world, frozen_today, tmp_path):
    first = Mirror(str(tmp_path / "first.sqlite3"), Client(live_server.url, world["key"]))
    first.load_snapshot()
    first.db.close()
    second = ContractConsumer(live_server.url, world["key"])
    done = threading.Event()
    errors, refused = [], []

    def write(n):
        rng = random.Random(n)
        try:
            for i in range(STEPS):
                try:
                    storm_step(rng, world, n, i)
                except ValidationError as exc:  # a step the state does not allow now: fine
                    refused.append(exc)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    def consume():
        mirror = Mirror(str(tmp_path / "first.sqlite3"), Client(live_server.url, world["key"]))
        try:
            while not done.is_set():
                mirror.follow(limit=5)
                if second.cursor is None and len(refused) + 1 > 10:
                    second.load()  # the second agency starts in the middle of the storm
                elif second.cursor is not None:
                    second.follow()
                time.sleep(0.01)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            mirror.db.close()
            connections.close_all()

    writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    consumer = threading.Thread(target=consume)
    consumer.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(300)
    done.set()
    consumer.join(60)
    assert errors == []
    if second.cursor is None:
        second.load()

    for day in (D(2026, 11, 28), D(2027, 2, 10)):  # today, then after some periods ended
        if day != D(2026, 11, 28):
            frozen_today.move_to(dt.datetime(2027, 2, 10, 12, tzinfo=dt.timezone(dt.timedelta(hours=8))))
            run_daily_expiries()  # as deployed: the day's job, just after midnight
        mirror = Mirror(str(tmp_path / "first.sqlite3"), Client(live_server.url, world["key"]))
        mirror.follow()
        second.follow()
        expected = site_documents(day)
        assert mirror.visible(day.isoformat()) == expected
        assert second.shown(day.isoformat()) == expected
        check = mirror.verify(bucket_size=10)
        assert (check.ok, check.differing_buckets) == (True, [])
        mirror.db.close()
    # The storm did reach every kind of change.
    kinds = set(CreditRecord.objects.values_list("events__kind", flat=True))
    assert kinds >= {"created", "corrected", "withdrawn", "revoked", "superseded", "entity_renamed",
                     "catalog_changed", "expired"}  # fmt: skip
