"""creditchina.cache: Django's Redis backend with one client per connection pool answers as
Django's does, builds its client once, and goes on answering after Redis has gone away and
come back. Against the machine's Redis, each test under keys of its own."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from urllib.parse import urlsplit

import pytest
import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from creditchina.cache import RedisCache
from tests.ops.test_shared_cache import redis_url


@pytest.fixture
def prefix():
    """A key prefix of the test's own; its keys are deleted afterwards."""
    client = redis.Redis.from_url(redis_url())
    name = f"test-cache-{uuid.uuid4().hex}"
    yield name
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


def operations(cache) -> list[tuple]:
    """Every operation Django's cache API offers, with what each answered (or raised)."""
    outcomes = []

    def record(name, call):
        try:
            outcomes.append((name, call()))
        except Exception as error:
            outcomes.append((name, type(error).__name__, str(error).replace(cache.key_prefix, "<prefix>")))

    record("get, missing", lambda: cache.get("a"))
    record("get, missing, default", lambda: cache.get("a", "default"))
    record("add", lambda: cache.add("a", {"name": "北京"}, 60))
    record("add, present", lambda: cache.add("a", "other", 60))
    record("get", lambda: cache.get("a"))
    record("set", lambda: cache.set("b", "二", 60))
    record("set_many", lambda: cache.set_many({"c": 3, "d": [4, "四"]}, 60))
    record("get_many", lambda: cache.get_many(["a", "b", "c", "d", "e"]))
    record("incr", lambda: cache.incr("c", 5))
    record("incr, missing", lambda: cache.incr("e"))
    record("decr", lambda: cache.decr("c"))
    record("has_key", lambda: (cache.has_key("b"), cache.has_key("e")))
    record("touch", lambda: (cache.touch("b", 30), cache.touch("e", 30)))
    record("delete", lambda: (cache.delete("a"), cache.delete("a")))
    record("set, timeout 0", lambda: cache.set("b", 1, 0))
    record("add, timeout 0", lambda: cache.add("f", 1, 0))
    record("get_or_set", lambda: (cache.get_or_set("g", "made", 60), cache.get_or_set("g", "again", 60)))
    record("delete_many", lambda: cache.delete_many(["c", "d"]))
    record("get_many, after", lambda: cache.get_many(["a", "b", "c", "d", "f", "g"]))
    return outcomes


def test_it_answers_every_operation_as_djangos_backend_does(prefix):
    url = redis_url()
    ours = operations(RedisCache(url, {"KEY_PREFIX": f"{prefix}-ours"}))
    assert ours == operations(DjangoRedisCache(url, {"KEY_PREFIX": f"{prefix}-django"}))
    assert dict(item[:2] for item in ours)["get_many"] == {"a": {"name": "北京"}, "b": "二", "c": 3, "d": [4, "四"]}
    assert dict(item[:2] for item in ours)["get_many, after"] == {"g": "made"}


class CountedRedis(redis.Redis):
    made = 0

    def __init__(self, *args, **kwargs):
        type(self).made += 1
        super().__init__(*args, **kwargs)


@pytest.mark.parametrize("backend, clients_made", [(RedisCache, 1), (DjangoRedisCache, 7)])
def test_one_client_is_made_for_every_operation(prefix, backend, clients_made):
    cache = backend(redis_url(), {"KEY_PREFIX": prefix})
    cache._cache._client = CountedRedis  # the class the backend builds its clients with
    CountedRedis.made = 0
    cache.set("a", 1, 60)
    cache.add("b", 2, 60)
    cache.get("a")
    cache.get_many(["a", "b"])
    cache.set_many({"c": 3}, 60)
    cache.incr("c")
    cache.delete("a")
    assert CountedRedis.made == clients_made


class Relay:
    """A TCP relay to Redis on a port of its own: ``down()`` closes every connection through
    it and refuses new ones, as a Redis that stopped; ``up()`` listens on the same port
    again, as one that restarted."""

    def __init__(self, target: str):
        parts = urlsplit(target)
        self.target = (parts.hostname, parts.port or 6379)
        self.database = parts.path
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.listener = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self.database}"

    def up(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                near, _address = listener.accept()
            except OSError:
                return
            far = socket.create_connection(self.target)
            self.sockets += [near, far]
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def down(self):
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self.listener.close()
        for end in self.sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        self.sockets.clear()


@pytest.fixture
def relay():
    relay = Relay(redis_url())
    relay.up()
    yield relay
    relay.down()


def through_an_outage(cache, relay) -> list:
    answers = [cache.set("a", "before", 60), cache.get("a")]
    client = cache._cache.get_client()
    relay.down()
    for _ in range(2):
        with pytest.raises(redis.exceptions.ConnectionError):
            cache.get("a")
    relay.up()
    answers += [cache.get("a"), cache.set("a", "after", 60), cache.get("a")]
    return [*answers, cache._cache.get_client() is client]


def test_after_redis_stops_and_starts_again_the_same_client_answers(prefix, relay):
    ours = through_an_outage(RedisCache(relay.url, {"KEY_PREFIX": f"{prefix}-ours"}), relay)
    assert ours == [None, "before", "before", None, "after", True]
    theirs = through_an_outage(DjangoRedisCache(relay.url, {"KEY_PREFIX": f"{prefix}-django"}), relay)
    assert theirs == [*ours[:-1], False]  # the same answers, from a new client each time


def commands_sent(operation) -> list[str]:
    """The Redis commands ``operation`` sent (through any client)."""
    sent, send = [], redis.Redis.execute_command

    def counting(self, *args, **options):
        sent.append(str(args[0]).upper())
        return send(self, *args, **options)

    redis.Redis.execute_command = counting
    try:
        operation()
    finally:
        redis.Redis.execute_command = send
    return sent


def test_incr_is_one_round_trip(prefix):
    ours = RedisCache(redis_url(), {"KEY_PREFIX": f"{prefix}-ours"})
    theirs = DjangoRedisCache(redis_url(), {"KEY_PREFIX": f"{prefix}-django"})
    for cache in (ours, theirs):
        cache.set("n", 1, 60)
        cache.incr("n")  # the script is in Redis from here on
    assert commands_sent(lambda: ours.incr("n", 3)) == ["EVALSHA"]
    assert commands_sent(lambda: theirs.incr("n", 3)) == ["EXISTS", "INCRBY"]
    assert ours.get("n") == theirs.get("n") == 5


def test_incr_keeps_the_expiry_and_makes_no_missing_key(prefix):
    cache = RedisCache(redis_url(), {"KEY_PREFIX": prefix})
    client = redis.Redis.from_url(redis_url())
    cache.add("count", 1, 60)
    assert cache.incr("count") == 2
    assert 55 < client.ttl(cache.make_key("count")) <= 60
    with pytest.raises(ValueError, match="Key '.*gone' not found."):
        cache.incr("gone")
    assert client.exists(cache.make_key("gone")) == 0
    cache.set("word", "二", 60)
    with pytest.raises(redis.exceptions.ResponseError, match="not an integer"):
        cache.incr("word")
    assert cache.get("word") == "二"


def test_incr_goes_on_after_redis_forgets_its_scripts(prefix):
    """A Redis that restarted has no scripts: the increment sends it in full, once."""
    cache = RedisCache(redis_url(), {"KEY_PREFIX": prefix})
    cache.set("n", 1, 60)
    assert cache.incr("n") == 2
    redis.Redis.from_url(redis_url()).script_flush()
    assert commands_sent(lambda: cache.incr("n")) == ["EVALSHA", "SCRIPT LOAD", "EVALSHA"]
    assert cache.get("n") == 3


def test_iter_keys_lists_the_keys_as_they_were_given(prefix):
    cache = RedisCache(redis_url(), {"KEY_PREFIX": prefix})
    other = RedisCache(redis_url(), {"KEY_PREFIX": f"{prefix}-other"})
    cache.set_many({"p:a:2026-11-28": 1, "p:b:2026-11-28": 2, "p:c:2026-11-27": 3, "gen:site": 4}, 60)
    other.set("p:d:2026-11-28", 5, 60)
    assert sorted(cache.iter_keys("p:*:2026-11-28")) == ["p:a:2026-11-28", "p:b:2026-11-28"]
    assert sorted(cache.iter_keys("*")) == ["gen:site", "p:a:2026-11-28", "p:b:2026-11-28", "p:c:2026-11-27"]
