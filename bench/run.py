#!/usr/bin/env python3
"""Benchmarks: a release build on PostgreSQL with one household of 50 todos and a shopping list
of 50 items. First the round trips one request of each hot route costs, counted on the wire by
a proxy (bench/wire_counter.py), which also reads off the statements the two lists send. Then
each list, loaded with wrk as a signed-in member, in rounds against four pgbench ceilings: those
statements, and the old backend's statements for the same answer, each in the simple protocol
and prepared; then create todo, /health and /health/deep. Then large answers and bodies, each
on a fresh process so its peak RSS is its own: 16 lists at once of a household of 20,000 todos
(plain and gzipped), and 16 bodies just under 1 MiB at once. Writes bench/results.md.

Standard library only. Needs the machine's PostgreSQL (BENCH_DATABASE_URL, else
TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test) and installs wrk from
Debian's packages when it is missing."""

import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from wire_counter import WireCounter

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/test"
DB_NAME = "flatmates_bench"
DB_URL = ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
PORT = 18080
BASE = f"http://127.0.0.1:{PORT}"
SECRET = "bench-secret-bench-secret-bench-secret"
DURATION = os.environ.get("BENCH_SECONDS", "10")
CONNECTIONS = 16


def run(*args, **kwargs):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kwargs).stdout


def psql(url, sql):
    return run("psql", "-v", "ON_ERROR_STOP=1", "-qtA", url, "-c", sql)


def token(user_id):
    """An HS256 JWT with `sub` and `exp`, as the service mints them."""
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=")
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"sub": user_id, "exp": int(time.time()) + 3600}).encode())
    signature = b64(hmac.new(SECRET.encode(), header + b"." + payload, hashlib.sha256).digest())
    return (header + b"." + payload + b"." + signature).decode()


def wait_ready():
    for _ in range(600):
        try:
            with urllib.request.urlopen(BASE + "/health/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("the service did not become ready")


def seconds(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(path, headers=(), script=None, duration=DURATION):
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency"]
    for header in headers:
        args += ["-H", header]
    if script:
        args += ["-s", script]
    out = run(*args, BASE + path)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": seconds(latency["50"]) * 1000,
        "p99_ms": seconds(latency["99"]) * 1000,
        "errors": errors,
    }


TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid, with_children=False):
    """CPU seconds of one process (and of its reaped children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(n) for n in fields[11:13] + (fields[13:15] if with_children else []))
    return ticks / TICK


def postgres_cpu():
    """CPU seconds of every PostgreSQL process, those that have exited included (the
    postmaster counts its reaped backends as children)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().startswith("postgres"):
                total += process_cpu(entry.name, with_children=True)
        except OSError:  # the process ended while we read it
            pass
    return total


def own_children_cpu():
    """CPU seconds of the load generators this script has run and waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_per_request(measure, processes):
    """Runs `measure` (which returns a result with `requests`) and adds to the result the CPU
    microseconds per request each of `processes` (name -> CPU-seconds reader) spent."""
    before = {name: read() for name, read in processes.items()}
    result = measure()
    result["cpu_us"] = {name: (read() - before[name]) * 1e6 / result["requests"]
                        for name, read in processes.items()}
    return result


LARGE_TODOS = 20_000
# Requests per route in the round-trip count, after a few that warm the pool up.
COUNTED_REQUESTS = 200
# Rounds of each hot route against its two ceilings, taken in turn, so that the machine's
# drift over a run weighs on both sides of a ratio alike.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def round_trips(env, routes):
    """Per route (name -> urllib request), what one request sends PostgreSQL, counted on the
    wire: a service of its own reaches the database through a counting proxy. Also the
    statements one request sends, parameters written in: those that ran in at least half of
    the counted requests (the caller's row, read once per CALLER_CACHE_SECONDS, is not)."""
    upstream = urlsplit(DB_URL)
    counter = WireCounter(upstream.port or 5432, upstream.hostname or "127.0.0.1")
    proxied = upstream._replace(netloc=f"{upstream.username or 'postgres'}@127.0.0.1:{counter.port}").geturl()
    service = start_service(dict(env, DATABASE_URL=proxied))
    figures, sent = {}, {}
    try:
        for name, request in routes.items():
            for _ in range(5):
                urllib.request.urlopen(request, timeout=10).read()
            before = counter.snapshot()
            counter.recorded()
            for _ in range(COUNTED_REQUESTS):
                urllib.request.urlopen(request, timeout=10).read()
            after = counter.snapshot()
            figures[name] = {kind: (after[kind] - before[kind]) / COUNTED_REQUESTS for kind in after}
            statements = counter.recorded()
            sent[name] = [sql for sql in dict.fromkeys(statements)
                          if statements.count(sql) >= COUNTED_REQUESTS / 2]
    finally:
        stop(service)
    return figures, sent


def pgbench(script, protocol="simple"):
    """pgbench running `script` with `protocol`: `simple` (its default, each statement sent as
    text and planned anew) or `prepared` (each statement prepared once per client, then only
    bound and executed, as the service's driver does)."""
    out = run("pgbench", "-n", f"-M{protocol}", f"-c{CONNECTIONS}", "-j2", f"-T{DURATION}", "-f", str(script),
              DB_URL)
    return {"requests": int(re.search(r"transactions actually processed: (\d+)", out).group(1)),
            "tps": float(re.search(r"tps = ([\d.]+)", out).group(1))}


def pgbench_script(name, statements):
    """A pgbench script of `statements`, one transaction each time through."""
    if not statements or None in statements:
        sys.exit(f"no statements to run as the ceiling of {name}: {statements}")
    path = ROOT / f"target/bench-{re.sub(r'[^a-z]+', '-', name)}.sql"
    path.write_text("".join(f"{sql};\n" for sql in statements))
    return path


# The ceilings of a hot route: whose statements, and how pgbench sends them.
CEILINGS = {"own": ("own", "simple"), "own_prepared": ("own", "prepared"),
            "old": ("old", "simple"), "old_prepared": ("old", "prepared")}


def against_ceilings(path, auth, own, old, processes):
    """`ROUNDS` rounds of: wrk on `path`, then pgbench running the service's own statements for
    it (`own`), then the old backend's (`old`), each in the simple protocol and again prepared;
    each with the CPU per request of `processes`."""
    rounds = []
    ceiling_processes = {"PostgreSQL": postgres_cpu, "pgbench": own_children_cpu}
    scripts = {"own": own, "old": old}
    for _ in range(ROUNDS):
        figures = {"service": cpu_per_request(lambda: wrk(path, [auth]), processes)}
        for side, (whose, protocol) in CEILINGS.items():
            figures[side] = cpu_per_request(lambda: pgbench(scripts[whose], protocol), ceiling_processes)
        rounds.append(figures)
    return rounds


def start_service(env):
    service = subprocess.Popen([str(ROOT / "target/release/flatmates"), "serve"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL)
    wait_ready()
    return service


def stop(service):
    service.terminate()
    service.wait(timeout=30)


def peak_rss_mib(service):
    status = Path(f"/proc/{service.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def at_once(request, n=CONNECTIONS):
    """`n` copies of `request` sent together: the wall time for all, and the first answer's
    status and bytes on the wire."""
    def send(_):
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, len(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, len(refused.read())
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(send, range(n)))
    return time.monotonic() - started, answers[0]


def large_answers(env, auth_header, household, user):
    """The large-list and large-body figures, each on a fresh process."""
    psql(DB_URL, f"""
        DELETE FROM todos WHERE household_id = '{household}';
        INSERT INTO todos (id, household_id, title, description, created_by, priority)
            SELECT gen_random_uuid(), '{household}', 'Chore ' || n, 'Take the bins out and rinse them', '{user}',
                   (ARRAY['low','medium','high'])[1 + n % 3]::todopriority
            FROM generate_series(1, {LARGE_TODOS}) AS n;""")
    name, value = auth_header.split(": ", 1)
    figures = []
    service = start_service(env)
    try:
        for label, extra in (("plain", {}), ("gzip", {"Accept-Encoding": "gzip"})):
            request = urllib.request.Request(f"{BASE}/api/v1/todos?household_id={household}",
                                             headers={name: value, **extra})
            took, (status, size) = at_once(request)
            figures.append((f"{CONNECTIONS} × list of {LARGE_TODOS} todos, {label}", status, took, size,
                            peak_rss_mib(service)))
    finally:
        stop(service)
    # Just under MAX_BODY_BYTES, first of the smallest JSON values, which are refused unparsed
    # past MAX_BODY_JSON_VALUES; then of as many 18-character strings as fit, which are parsed.
    fillers = (("small values", ",".join(["1"] * ((1024 * 1024 - 200) // 2))),
               ("strings", ",".join(['"' + "x" * 18 + '"'] * ((1024 * 1024 - 200) // 21))))
    service = start_service(env)
    try:
        for label, filler in fillers:
            body = f'{{"household_id": "{household}", "title": "Big", "extra": [{filler}]}}'.encode()
            request = urllib.request.Request(f"{BASE}/api/v1/todos", data=body, method="POST",
                                             headers={name: value, "Content-Type": "application/json"})
            took, (status, _) = at_once(request)
            figures.append((f"{CONNECTIONS} × body of {len(body)} bytes, {label}", status, took, len(body),
                            peak_rss_mib(service)))
    finally:
        stop(service)
    return figures


# The old backend's statements for the same answers (its get_current_user, then the route's
# own queries): the ceiling a list must reach.
def old_backend_statements(user, household, shopping_list):
    return {
        "list todos": [
            f"SELECT * FROM users WHERE id = '{user}'",
            f"SELECT * FROM household_members WHERE household_id = '{household}' AND user_id = '{user}' LIMIT 1",
            f"SELECT * FROM todos WHERE household_id = '{household}' "
            "ORDER BY status, priority DESC, due_date ASC NULLS LAST, created_at DESC",
        ],
        "list shopping items": [
            f"SELECT * FROM users WHERE id = '{user}'",
            f"SELECT * FROM shopping_lists WHERE id = '{shopping_list}' LIMIT 1",
            f"SELECT * FROM household_members WHERE household_id = '{household}' AND user_id = '{user}' LIMIT 1",
            f"SELECT * FROM shopping_list_items WHERE shopping_list_id = '{shopping_list}' "
            "ORDER BY is_purchased, position, created_at",
        ],
    }


def median(values):
    return sorted(values)[len(values) // 2]


def summary_of(rounds):
    """A hot route's figures over its rounds: medians of the rates and ratios, the worst p99,
    the errors in all, and CPU per request over all rounds."""
    def cpu(side):
        requests = sum(r[side]["requests"] for r in rounds)
        names = rounds[0][side]["cpu_us"]
        return {name: sum(r[side]["cpu_us"][name] * r[side]["requests"] for r in rounds) / requests
                for name in names}
    return {
        "rps": median([r["service"]["rps"] for r in rounds]),
        "p50_ms": median([r["service"]["p50_ms"] for r in rounds]),
        "p99_ms": max(r["service"]["p99_ms"] for r in rounds),
        "errors": sum(r["service"]["errors"] for r in rounds),
        **{f"{side}_tps": median([r[side]["tps"] for r in rounds]) for side in CEILINGS},
        **{f"{side}_ratios": [r["service"]["rps"] / r[side]["tps"] for r in rounds] for side in CEILINGS},
        "cpu": {side: cpu(side) for side in ("service", *CEILINGS)},
    }


TARGETS = {"old": 1.0, "own": 0.75, "p99_ms": 25.0, "rss_mib": 50.0}


def main():
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
        if not shutil.which("wrk"):
            run("apt-get", "update", "-qq")
            run("apt-get", "install", "-y", "-qq", "wrk")
    psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    psql(ADMIN_URL, f"CREATE DATABASE {DB_NAME}")
    subprocess.run(["cargo", "build", "--release", "--bin", "flatmates"], cwd=ROOT, check=True)

    env = dict(os.environ, DATABASE_URL=DB_URL, SECRET_KEY=SECRET, HOST="127.0.0.1", PORT=str(PORT),
               LOG_LEVEL="warn", LOG_FORMAT="json", ENVIRONMENT="development")
    # Migrated by a first start of the service, then seeded.
    stop(start_service(env))
    user, household, shopping_list = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    psql(DB_URL, f"""
        INSERT INTO users (id, email, full_name, google_id) VALUES ('{user}', 'bench@example.com', 'Bench', 'g-bench');
        INSERT INTO households (id, name, created_by) VALUES ('{household}', 'Bench flat', '{user}');
        INSERT INTO household_members (id, user_id, household_id, role) VALUES ('{uuid.uuid4()}', '{user}', '{household}', 'owner');
        INSERT INTO todos (id, household_id, title, created_by, priority, due_date)
            SELECT gen_random_uuid(), '{household}', 'Chore ' || n, '{user}',
                   (ARRAY['low','medium','high'])[1 + n % 3]::todopriority, now() + n * interval '1 day'
            FROM generate_series(1, 50) AS n;
        INSERT INTO shopping_lists (id, household_id, name, created_by) VALUES ('{shopping_list}', '{household}', 'Weekly', '{user}');
        INSERT INTO shopping_list_items (id, shopping_list_id, name, created_by, position)
            SELECT gen_random_uuid(), '{shopping_list}', 'Item ' || n, '{user}', n
            FROM generate_series(1, 50) AS n;""")
    auth = f"Authorization: Bearer {token(user)}"
    name, value = auth.split(": ", 1)
    signed = {name: value, "Content-Type": "application/json"}
    hot = {"list todos": f"/api/v1/todos?household_id={household}",
           "list shopping items": f"/api/v1/shopping-lists/{shopping_list}/items"}
    # What each hot route sends PostgreSQL is read off the wire first: it is the ceiling
    # pgbench runs for the route, and the round trips are counted by the same proxy.
    trips, sent = round_trips(env, {
        **{route: urllib.request.Request(BASE + path, headers=signed) for route, path in hot.items()},
        "GET /auth/me": urllib.request.Request(f"{BASE}/api/v1/auth/me", headers=signed),
        "create todo": urllib.request.Request(
            f"{BASE}/api/v1/todos", method="POST", headers=signed,
            data=json.dumps({"household_id": household, "title": "Counted chore"}).encode()),
        "sync pull": urllib.request.Request(
            f"{BASE}/api/v1/sync", method="POST", headers=signed,
            data=json.dumps({"last_sync_timestamp": int(time.time() * 1000), "household_id": household}).encode()),
    })
    psql(DB_URL, "DELETE FROM todos WHERE title = 'Counted chore'")
    psql(DB_URL, "VACUUM ANALYZE")
    old = old_backend_statements(user, household, shopping_list)

    service = start_service(env)
    try:
        # Where the 2 cores go: what the service, PostgreSQL and wrk each spend on a request.
        processes = {"service": lambda: process_cpu(service.pid), "PostgreSQL": postgres_cpu,
                     "wrk": own_children_cpu}
        # Not counted: the pool opens its connections (a TLS handshake each), as a service
        # that has been serving for a while already has.
        for path in hot.values():
            wrk(path, [auth], duration=2)
        summaries = {route: summary_of(against_ceilings(
            path, auth, pgbench_script(f"{route} own", sent[route]),
            pgbench_script(f"{route} old", old[route]), processes)) for route, path in hot.items()}
        create = ROOT / "target/bench-create.lua"
        create.write_text(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.body = \'{{"household_id": "{household}", "title": "Bench chore"}}\'\n')
        others = {"create todo": wrk("/api/v1/todos", [auth], str(create)),
                  "/health": wrk("/health"), "/health/deep": wrk("/health/deep")}
        peak_rss = peak_rss_mib(service)
    finally:
        stop(service)
    large = large_answers(env, auth, household, user)
    write_results(summaries, others, peak_rss, trips, sent, old, large)


def write_results(summaries, others, peak_rss, trips, sent, old, large):
    ratios = lambda values: ", ".join(f"{v:.2f}" for v in values)
    cpu = lambda figures: ", ".join(f"{name} {us:.0f}" for name, us in figures.items()) + \
        f"; total {sum(figures.values()):.0f}"
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {time.strftime('%Y-%m-%d')}: release build, PostgreSQL on the same 2-core machine,",
        f"one household of 50 todos and a shopping list of 50 items, wrk with 2 threads and {CONNECTIONS}",
        f"connections for {DURATION} s per run, pgbench with {CONNECTIONS} clients for as long.",
        "",
        "## The hot lists against their ceilings",
        "",
        f"Each list was loaded in {ROUNDS} rounds, each round wrk on the route, then pgbench running the",
        "statements the service sent for one such request (read off the wire, parameters written in),",
        "then pgbench running the old backend's statements for the same answer; each ceiling in",
        "pgbench's default simple protocol (every statement sent as text and planned anew, as the old",
        "backend's driver had it) and again with `-M prepared` (prepared once per client, then bound",
        "and executed, as the service's driver does). Ratios (service requests/s over ceiling",
        "transactions/s) are per round, the figure in bold their median. Targets, on the",
        f"simple-protocol ceilings: at least {TARGETS['old']:.2f}x the old backend's ceiling and "
        f"{TARGETS['own']:.2f}x the service's own, p99 under {TARGETS['p99_ms']:.0f} ms, peak RSS under "
        f"{TARGETS['rss_mib']:.0f} MiB, no errors; the prepared ratios have none.",
        "",
        "| route | requests/s | p50 (ms) | worst p99 (ms) | errors | own ceiling, simple (tps) | x own, simple "
        "| own ceiling, prepared (tps) | x own, prepared | old ceiling, simple (tps) | x old, simple "
        "| old ceiling, prepared (tps) | x old, prepared |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    met = []
    for route, s in summaries.items():
        cells = [f"{s[f'{side}_tps']:.0f} | **{median(s[f'{side}_ratios']):.2f}** ({ratios(s[f'{side}_ratios'])})"
                 for side in CEILINGS]
        lines.append(f"| {route} | {s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['errors']} | "
                     + " | ".join(cells) + " |")
        met.append(median(s["own_ratios"]) >= TARGETS["own"] and median(s["old_ratios"]) >= TARGETS["old"]
                   and s["p99_ms"] < TARGETS["p99_ms"] and s["errors"] == 0)
    met.append(peak_rss < TARGETS["rss_mib"])
    lines += [
        "",
        f"- Peak RSS of the service over all runs: {peak_rss:.1f} MiB.",
        f"- Targets {'met' if all(met) else 'NOT met'} in this run.",
        "",
        "CPU per request (µs, from /proc, over all rounds): what each process spent per list request,",
        "and per pgbench transaction of each ceiling. The three share 2 cores, so a ratio is about the",
        "inverse ratio of these totals.",
        "",
        "| route | service run | own ceiling, simple | own ceiling, prepared | old ceiling, simple "
        "| old ceiling, prepared |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for route, s in summaries.items():
        lines.append(f"| {route} | " + " | ".join(cpu(s["cpu"][side]) for side in ("service", *CEILINGS)) + " |")
    lines += ["", "The statements of each ceiling:", ""]
    for route in summaries:
        lines.append(f"- {route}, the service's own ({len(sent[route])}):")
        lines += [f"  - `{sql}`" for sql in sent[route]]
        lines.append(f"- {route}, the old backend's ({len(old[route])}):")
        lines += [f"  - `{sql}`" for sql in old[route]]
    lines += [
        "",
        "## Other routes",
        "",
        "| endpoint | requests/s | p50 (ms) | p99 (ms) | errors |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in others.items():
        lines.append(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |")
    lines += [
        "",
        "## Round trips",
        "",
        f"Round trips to PostgreSQL per request, counted on the wire by a proxy over {COUNTED_REQUESTS} "
        "sequential requests per route (a statement, BEGIN/COMMIT/SAVEPOINT, or a Sync alone, a "
        "ping of a connection):",
        "",
        "| route | round trips | statements | transaction control | pings |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for route, n in trips.items():
        lines.append(f"| {route} | {n['round trips']:.2f} | {n['statements']:.2f} | "
                     f"{n['transaction control']:.2f} | {n['pings']:.2f} |")
    lines += [
        "",
        "## Large answers and bodies",
        "",
        "Each run on a fresh process (its peak RSS is the process's own, cumulative within the run):",
        "",
        "| run | status | wall time for all (s) | bytes on the wire (one) | peak RSS (MiB) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, status, took, size, rss in large:
        lines.append(f"| {label} | {status} | {took:.2f} | {size} | {rss:.1f} |")
    lines.append("")
    (ROOT / "bench/results.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
