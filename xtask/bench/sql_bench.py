"""SQL on Lightning against PostgreSQL and DuckDB on the same rows (pgbench data).

Usage: sql_bench.py PG_URL SERVE_URL CSV_DIR ROUNDS LOOKUPS
Prints one JSON object: per case and engine, the median seconds (queries) and the
first round's, or the p50/p99 milliseconds (point lookups), and whether the
engines agree.
"""

import json
import random
import statistics
import sys
import time

import duckdb
import psycopg

pg_url, serve_url, csv_dir, rounds, lookups = sys.argv[1:6]
rounds, lookups = int(rounds), int(lookups)

QUERIES = {
    "aggregate": "SELECT bid, count(*) AS n, sum(abalance) AS balance, sum(aid) AS aids "
    "FROM pgbench_accounts GROUP BY bid ORDER BY bid",
    "join": "SELECT b.bid, b.bbalance, count(*) AS n, max(a.aid) AS last_aid "
    "FROM pgbench_accounts a JOIN pgbench_branches b ON b.bid = a.bid "
    "WHERE a.aid % 10 = 0 GROUP BY b.bid, b.bbalance ORDER BY b.bid",
}
LOOKUP = "SELECT aid, bid, abalance, filler FROM pgbench_accounts WHERE aid = %s"

duck = duckdb.connect()
for table in ["pgbench_accounts", "pgbench_branches"]:
    duck.execute(
        f"CREATE TABLE {table} AS SELECT * FROM read_csv('{csv_dir}/{table}.csv', header = true)"
    )
duck.execute("ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)")

pg = psycopg.connect(pg_url, autocommit=True)
served = psycopg.connect(serve_url, autocommit=True)
accounts = pg.execute("SELECT count(*) FROM pgbench_accounts").fetchone()[0]


def run_pg(conn, sql):
    return [tuple(str(v) for v in r) for r in conn.execute(sql).fetchall()]


def run_duck(sql):
    return [tuple(str(v) for v in r) for r in duck.execute(sql).fetchall()]


engines = {
    "postgres": lambda sql: run_pg(pg, sql),
    "lightning": lambda sql: run_pg(served, sql),
    "duckdb": run_duck,
}

result = {"accounts": accounts, "rounds": rounds, "lookups": lookups, "cases": {}}
for name, sql in QUERIES.items():
    times = {e: [] for e in engines}
    answers = {}
    for _ in range(rounds):
        for engine, run in engines.items():
            began = time.perf_counter()
            answers[engine] = run(sql)
            times[engine].append(time.perf_counter() - began)
    result["cases"][name] = {
        "sql": sql,
        "seconds": {e: statistics.median(t) for e, t in times.items()},
        # The store's first whole-table query builds its column segments.
        "first": {e: t[0] for e, t in times.items()},
        "agree": answers["postgres"] == answers["lightning"] == answers["duckdb"],
    }

rng = random.Random(42)
keys = [rng.randint(1, accounts) for _ in range(lookups)]
latency = {}
for engine in engines:
    ms = []
    for aid in keys:
        began = time.perf_counter()
        if engine == "duckdb":
            duck.execute(LOOKUP.replace("%s", "?"), [aid]).fetchone()
        else:
            conn = pg if engine == "postgres" else served
            conn.execute(LOOKUP, (aid,), prepare=True).fetchone()
        ms.append((time.perf_counter() - began) * 1000)
    ms.sort()
    latency[engine] = {
        "p50_ms": ms[len(ms) // 2],
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
    }
check = [tuple(str(v) for v in served.execute(LOOKUP, (k,)).fetchone()) for k in keys[:20]]
want = [tuple(str(v) for v in pg.execute(LOOKUP, (k,)).fetchone()) for k in keys[:20]]
result["cases"]["point_lookup"] = {"sql": LOOKUP, "latency": latency, "agree": check == want}
print(json.dumps(result))
