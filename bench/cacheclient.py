"""What a kept page's one Redis round trip costs in process, through Django's Redis backend
(a new ``redis.Redis`` client for every operation) and through the project's
(``creditchina.cache``: one client per connection pool). The same ``get_many`` a hit makes
(a kept page of ``--bytes`` and three tokens), the two backends in alternating blocks so
that both see the same load.

    REDIS_URL=redis://... python bench/cacheclient.py [--operations 20000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--operations", type=int, default=20000)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--bytes", type=int, default=5000)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if not url:
        raise SystemExit("Set REDIS_URL (a database this may write a few keys to).")
    os.environ.update(DJANGO_SETTINGS_MODULE="creditchina.settings", DEBUG="0", SECRET_KEY="benchmark-only-secret")
    import django

    django.setup()
    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

    from bench.common import write_result
    from creditchina.cache import RedisCache

    backends = {
        "django": DjangoRedisCache(url, {"KEY_PREFIX": "bench-cacheclient-django"}),
        "project": RedisCache(url, {"KEY_PREFIX": "bench-cacheclient-project"}),
    }
    keys = ["page", "gen:lease", "gen:site", "gen:c:91110000600037341L"]
    for cache in backends.values():
        cache.set_many({"page": b"x" * args.bytes, "gen:lease": "trusted", "gen:site": "a1b2c3d4e5f60718",
                        "gen:c:91110000600037341L": "0123456789abcdef"}, 600)
        cache.get_many(keys)  # connected
    per_block = args.operations // args.blocks
    timings = {f"{name}_{kind}": [] for name in backends for kind in ("wall", "cpu")}
    for _ in range(args.blocks):
        for name, cache in backends.items():
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(per_block):
                cache.get_many(keys)
            timings[f"{name}_wall"].append((time.perf_counter() - start) / per_block * 1000)
            timings[f"{name}_cpu"].append((time.process_time() - cpu) / per_block * 1000)
    for cache in backends.values():
        cache.delete_many(keys)
    result = {name: round(statistics.median(values), 4) for name, values in timings.items()}
    result["saved_wall"] = round(result["django_wall"] - result["project_wall"], 4)
    result["saved_cpu"] = round(result["django_cpu"] - result["project_cpu"], 4)
    result["load_average"] = os.getloadavg()
    path = write_result("cacheclient", result)
    print(f"one get_many of {len(keys)} keys: Django's backend {result['django_wall']} ms "
          f"(CPU {result['django_cpu']}), the project's {result['project_wall']} ms (CPU {result['project_cpu']}): "
          f"{result['saved_wall']} ms saved ({result['saved_cpu']} CPU). Load {result['load_average']}. "
          f"Written to {path}")


if __name__ == "__main__":
    main()
