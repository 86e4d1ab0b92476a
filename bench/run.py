#!/usr/bin/env python3
"""Benchmarks: a release build on PostgreSQL with one household of 50 todos and a shopping list
of 50 items. First the round trips one request of each hot route costs, counted on the wire by
a proxy (bench/wire_counter.py), which also reads off the statements the two lists send. Then
each list, loaded with wrk as a signed-in member, in rounds against four pgbench ceilings: those
statements, and the old backend's statements for the same answer, each in the simple protocol
and prepared; then create todo, /health and /health/deep. Then the latency table: the service
served straight to PostgreSQL and through a proxy that delays every chunk BENCH_DELAY_MS (5 ms)
each way (bench/delay_proxy.py), sequential requests of each operation, and the round trips the
difference of the medians makes; then, through that proxy, 10 phones syncing while another user
lists todos. Then large answers and bodies, each on a fresh process so that its peak RSS is its
own: 16 lists at once of a household of 20,000 todos (plain and gzipped), 16 bodies just under
1 MiB at once, and 8 full syncs at once of that household. Writes bench/results.md.

Standard library only. Needs the machine's PostgreSQL (BENCH_DATABASE_URL, else
TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test) and installs wrk from
Debian's packages when it is missing. Durations: BENCH_SECONDS (each wrk and pgbench run, 10),
BENCH_ROUNDS (of each hot list against its ceilings, 5), BENCH_DELAY_MS (5),
BENCH_LATENCY_REQUESTS (per operation and service, 30), BENCH_LATENCY_BUDGET_SECONDS (per
operation, 20), BENCH_LOAD_SECONDS (10)."""

import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
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


def wait_ready(port=PORT):
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1) as response:
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
    wait_ready(int(env.get("PORT", PORT)))
    return service


def stop(service):
    service.terminate()
    service.wait(timeout=30)


def peak_rss_mib(service):
    status = Path(f"/proc/{service.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def at_once(request, n=CONNECTIONS):
    """`n` copies of `request` sent together: the wall time for all, and the statuses of all
    the answers (one status, or each status and how many times) and the first answer's bytes
    on the wire."""
    def send(_):
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, len(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, len(refused.read())
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(send, range(n)))
    took = time.monotonic() - started
    statuses = [status for status, _ in answers]
    if len(set(statuses)) > 1:
        statuses = ", ".join(f"{s} × {statuses.count(s)}" for s in sorted(set(statuses)))
    else:
        statuses = str(statuses[0])
    return took, (statuses, answers[0][1])


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
    # Phones that sync for the first time, or after 30 days, all at once: every row of the
    # household (the 20,000 todos above) in each answer.
    service = start_service(env)
    try:
        body = json.dumps({"last_sync_timestamp": 0, "household_id": household}).encode()
        request = urllib.request.Request(f"{BASE}/api/v1/sync", data=body, method="POST",
                                         headers={name: value, "Content-Type": "application/json"})
        took, (status, size) = at_once(request, LARGE_SYNCS)
        figures.append((f"{LARGE_SYNCS} × full sync (last_sync_timestamp 0) of {LARGE_TODOS} todos", status, took,
                        size, peak_rss_mib(service)))
    finally:
        stop(service)
    # Users who made all of those todos asking for a copy of their data, all at once.
    service = start_service(env)
    try:
        request = urllib.request.Request(f"{BASE}/api/v1/auth/me/export", headers={name: value})
        took, (status, size) = at_once(request, LARGE_SYNCS)
        figures.append((f"{LARGE_SYNCS} × account export of {LARGE_TODOS} todos", status, took, size,
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


# The latency table: the same release build served twice at once, straight to PostgreSQL and
# through bench/delay_proxy.py, DELAY_MS each way; the two answer in turn, request by request,
# so that the machine's drift weighs on both alike. A third, through the wire counter, counts
# the round trips of a few requests of each operation: what the latency says, checked.
DELAY_MS = float(os.environ.get("BENCH_DELAY_MS") or 5)
# Sequential requests per operation on each service, after LATENCY_WARMUPS; fewer (at least
# LATENCY_MIN_REQUESTS) once an operation has taken LATENCY_BUDGET seconds, so that a slow
# service makes the table take longer, not forever.
LATENCY_REQUESTS = int(os.environ.get("BENCH_LATENCY_REQUESTS", "30"))
LATENCY_BUDGET = float(os.environ.get("BENCH_LATENCY_BUDGET_SECONDS", "20"))
LATENCY_WARMUPS = 3
LATENCY_MIN_REQUESTS = 5
WIRE_REQUESTS = 5
# A measured figure within this of a target meets it: the noise of two medians of sequential
# requests, and the proxy's own lateness (reported with the table), are about a tenth of a
# round trip.
ROUND_TRIP_TOLERANCE = 0.3
# A slow service shows as a time, not as a crash of the bench; a 504 is a result too.
CLIENT_TIMEOUT = 60
LATENCY_PORTS = {"direct": PORT + 1, "delayed": PORT + 2, "counted": PORT + 3}
# Load under latency: phones, each in a household of its own, syncing PHONE_TODOS new todos
# over and over for LOAD_SECONDS through the delayed service, while another member of the
# bench household lists its todos one request after another.
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "10"))
PHONES = 10
PHONE_TODOS = 50
READER_P99_TARGET_MS = 100.0
# Full syncs at once of the large household, on a fresh process (large_answers).
LARGE_SYNCS = 8
# The big sync of the latency table: entries per kind, 700 in all.
BIG_SYNC = {"todos": 250, "shopping_lists": 100, "shopping_items": 250, "expenses": 100}
BIG_SYNC_TARGET_SECONDS = 1.0
BIG_SYNC_RUNS = 3
# Round trips at the delay each operation may take (the targets).
LATENCY_TARGETS = {
    "list todos (50 rows)": 1,
    "list a shopping list's items (50 rows)": 1,
    "household expense summary": 2,
    "create todo, with a key": 2,
    "update todo, with a key": 2,
    "create expense with 3 custom splits, with a key": 3,
    "sync with nothing to push": 2,
    "sync pushing 10 todos": 6,
    "sync pushing 100 todos": 12,
    f"sync pushing {sum(BIG_SYNC.values())} entries over four kinds": 12,
}


def now_ms():
    return int(time.time() * 1000)


def percentile(values, p):
    """The nearest-rank percentile `p` (0 to 100) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]


class Client:
    """One kept-alive HTTP connection to a service on loopback, so that a request's time is
    the service's, not a TCP handshake's. `request` answers (status, body, seconds): status
    None when no answer came within CLIENT_TIMEOUT."""

    def __init__(self, port, headers):
        self.port, self.headers, self.connection = port, headers, None

    def request(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {**self.headers, **(headers or {})}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)
            started = time.monotonic()
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
            except TimeoutError:
                self.close()
                return None, b"", time.monotonic() - started
            except (http.client.RemoteDisconnected, ConnectionError):
                # A kept-alive connection the server closed between two requests: once more on
                # a new one (a write carries the same key, so it cannot apply twice).
                self.close()
                if attempt:
                    raise
                continue
            took = time.monotonic() - started
            if response.will_close:
                self.close()
            return response.status, payload, took

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def not_applied(payload):
    """How many entries a sync's answer lists as not applied; None when it is no sync answer."""
    try:
        return len(json.loads(payload)["not_applied"])
    except (ValueError, KeyError, TypeError):
        return None


def latency_operations(s):
    """Operation -> a function of the request's number answering (method, path, body, extra
    headers, the status it must answer). Every write is new: fresh ids and Idempotency-Keys."""
    household = s["household"]
    key = lambda: {"Idempotency-Key": str(uuid.uuid4())}
    fresh = lambda: str(uuid.uuid4())

    def sync(todos):
        def op(n):
            changes = {"todos": {"created": [{"id": fresh(), "title": f"Latency sync {n}.{i}"}
                                             for i in range(todos)]}} if todos else None
            body = {"last_sync_timestamp": now_ms(), "household_id": household}
            return "POST", "/api/v1/sync", dict(body, changes=changes) if changes else body, {}, 200
        return op

    splits = [{"user_id": member, "amount_owed": "10.00"} for member in s["members"]]
    return {
        "list todos (50 rows)": lambda n: ("GET", f"/api/v1/todos?household_id={household}", None, {}, 200),
        "list a shopping list's items (50 rows)": lambda n: (
            "GET", f"/api/v1/shopping-lists/{s['shopping_list']}/items", None, {}, 200),
        "household expense summary": lambda n: (
            "GET", f"/api/v1/expenses/households/{household}/summary", None, {}, 200),
        "create todo, with a key": lambda n: (
            "POST", "/api/v1/todos", {"household_id": household, "title": f"Latency todo {n}"}, key(), 201),
        "update todo, with a key": lambda n: (
            "PUT", f"/api/v1/todos/{s['todo']}", {"title": f"Latency update {n}"}, key(), 200),
        "create expense with 3 custom splits, with a key": lambda n: (
            "POST", "/api/v1/expenses", {"household_id": household, "amount": "30.00",
                                         "description": f"Latency expense {n}", "split_type": "custom",
                                         "splits": splits}, key(), 201),
        "sync with nothing to push": sync(0),
        "sync pushing 10 todos": sync(10),
        "sync pushing 100 todos": sync(100),
    }


def big_sync_body(household, per_kind=None):
    """A sync creating rows of all four kinds: BIG_SYNC's numbers, or `per_kind` of each (a
    small one sends the very statements a big one does, to warm a connection with)."""
    size = lambda kind: BIG_SYNC[kind] if per_kind is None else per_kind
    lists = [str(uuid.uuid4()) for _ in range(size("shopping_lists"))]
    created = {
        "todos": [{"id": str(uuid.uuid4()), "title": f"Latency big todo {i}"} for i in range(size("todos"))],
        "shopping_lists": [{"id": list_id, "name": f"Latency list {i}"} for i, list_id in enumerate(lists)],
        "shopping_items": [{"id": str(uuid.uuid4()), "shopping_list_id": lists[i % len(lists)],
                            "name": f"Latency item {i}"} for i in range(size("shopping_items"))],
        "expenses": [{"id": str(uuid.uuid4()), "amount": "12.50", "description": f"Latency big expense {i}"}
                     for i in range(size("expenses"))],
    }
    return {"last_sync_timestamp": now_ms(), "household_id": household,
            "changes": {kind: {"created": rows} for kind, rows in created.items()}}


def measure_operation(clients, counter, op):
    """Sequential requests of `op` to the direct and the delayed service in turn: the times of
    each, the requests that failed (an unexpected status, or a sync entry not applied), and
    the round trips per request the wire counter saw on the counted service."""
    sent = 0
    failed = []

    def send(side):
        nonlocal sent
        sent += 1
        method, path, body, headers, expected = op(sent)
        status, payload, took = clients[side].request(method, path, body, headers)
        if status != expected or (path == "/api/v1/sync" and not_applied(payload) != 0):
            failed.append(f"{side}: {status} {payload[:200]!r}")
        return took

    for _ in range(LATENCY_WARMUPS):
        # The pools are warm by now: one warm-up is enough for an operation that is slow anyway.
        if max(send(side) for side in clients) > 1:
            break
    times = {"direct": [], "delayed": []}
    started = time.monotonic()
    while len(times["direct"]) < LATENCY_REQUESTS and not (
            len(times["direct"]) >= LATENCY_MIN_REQUESTS and time.monotonic() - started > LATENCY_BUDGET):
        for side in times:
            times[side].append(send(side))
    before = counter.snapshot()["round trips"]
    for _ in range(WIRE_REQUESTS):
        send("counted")
    wire = (counter.snapshot()["round trips"] - before) / WIRE_REQUESTS
    return {"direct": times["direct"], "delayed": times["delayed"], "wire": wire, "failed": failed}


def latency_row(direct_s, delayed_s, target, wire):
    trips = (delayed_s - direct_s) / (2 * DELAY_MS / 1000)
    return {"direct_ms": direct_s * 1000, "delayed_ms": delayed_s * 1000, "round_trips": trips,
            "target": target, "met": trips <= target + ROUND_TRIP_TOLERANCE, "wire": wire}


def start_delay_proxy():
    upstream = urlsplit(DB_URL)
    proxy = subprocess.Popen([sys.executable, "-u", str(ROOT / "bench/delay_proxy.py"),
                              "--upstream", f"{upstream.hostname or '127.0.0.1'}:{upstream.port or 5432}",
                              "--delay-ms", str(DELAY_MS)], stdout=subprocess.PIPE, text=True)
    line = proxy.stdout.readline()
    match = re.fullmatch(r"listening on (\d+)\n", line)
    if not match:
        proxy.kill()
        sys.exit(f"the delay proxy did not start: {line!r}")
    return proxy, int(match.group(1))


def delay_proxy_report(proxy):
    """What the proxy says of the chunks it forwarded since the last report."""
    proxy.send_signal(signal.SIGUSR1)
    return json.loads(proxy.stdout.readline())


def stop_delay_proxy(proxy):
    """Stops the proxy; what it says of the chunks it forwarded since the last report."""
    proxy.terminate()
    out, _ = proxy.communicate(timeout=30)
    return json.loads(out.strip().splitlines()[-1])


def bare_round_trip_ms(url):
    """The mean time of one `SELECT 1` round trip to `url` (pgbench, one client, 2 s)."""
    script = ROOT / "target/bench-select-1.sql"
    script.write_text("SELECT 1;\n")
    out = run("pgbench", "-n", "-c1", "-T2", "-f", str(script), url)
    return float(re.search(r"latency average = ([\d.]+) ms", out).group(1))


def via(port):
    """DB_URL through a proxy on loopback at `port`, without TLS: the delay proxy does not
    read the protocol, and both latency services connect alike so that only the delay differs."""
    upstream = urlsplit(DB_URL)
    userinfo = upstream.netloc.rsplit("@", 1)[0] if "@" in upstream.netloc else "postgres"
    return upstream._replace(netloc=f"{userinfo}@127.0.0.1:{port}", query="sslmode=disable").geturl()


def latency_and_load(env, seeded):
    """The latency table and the load under latency, on the households `seed` made."""
    s = dict(seeded, headers={"Authorization": f"Bearer {token(seeded['user'])}"},
             reader_headers={"Authorization": f"Bearer {token(seeded['members'][1])}"},
             todo=psql(DB_URL, f"SELECT id FROM todos WHERE household_id = '{seeded['household']}' "
                               "ORDER BY title LIMIT 1").strip())
    proxy, proxy_port = start_delay_proxy()
    upstream = urlsplit(DB_URL)
    counter = WireCounter(upstream.port or 5432, upstream.hostname or "127.0.0.1")
    urls = {"direct": DB_URL + "?sslmode=disable", "delayed": via(proxy_port), "counted": via(counter.port)}
    services, proxy_stats = {}, {}
    try:
        # What the proxy really adds to a round trip: the nominal 2 × delay, and its own cost.
        bare = {side: bare_round_trip_ms(urls[side]) for side in ("direct", "delayed")}
        delay_proxy_report(proxy)
        for side, url in urls.items():
            services[side] = start_service(dict(env, DATABASE_URL=url, PORT=str(LATENCY_PORTS[side])))
        clients = {side: Client(LATENCY_PORTS[side], s["headers"]) for side in services}
        rows, failures, samples = {}, {}, {}
        for name, op in latency_operations(s).items():
            figures = measure_operation(clients, counter, op)
            rows[name] = latency_row(median(figures["direct"]), median(figures["delayed"]),
                                     LATENCY_TARGETS[name], figures["wire"])
            samples[name] = len(figures["direct"])
            if figures["failed"]:
                failures[name] = figures["failed"]
            print(f"latency: {name}: {rows[name]['direct_ms']:.2f} / {rows[name]['delayed_ms']:.2f} ms, "
                  f"{rows[name]['round_trips']:.2f} round trips ({figures['wire']:.2f} on the wire)", flush=True)
        # The big sync, BIG_SYNC_RUNS times on each service in turn, after small syncs of the
        # same four kinds: a statement's first use on a connection costs one more round trip
        # (it is prepared), which a service that has been serving has long paid.
        for side in ("direct", "delayed", "counted"):
            for _ in range(LATENCY_WARMUPS):
                clients[side].request("POST", "/api/v1/sync", big_sync_body(s["household"], per_kind=1))
        runs = {side: [] for side in ("direct", "delayed", "counted")}
        for _ in range(BIG_SYNC_RUNS):
            for side in runs:
                before = counter.snapshot()["round trips"]
                status, payload, took = clients[side].request("POST", "/api/v1/sync", big_sync_body(s["household"]))
                run = {"status": status, "not_applied": not_applied(payload), "seconds": took,
                       "wire": counter.snapshot()["round trips"] - before}
                if status != 200:
                    run["answer"] = payload[:300].decode(errors="replace")
                runs[side].append(run)
        # Each side's median run (by time); a failed run anywhere shows in its place.
        big = {side: next((r for r in results if r["status"] != 200 or r["not_applied"] != 0),
                          sorted(results, key=lambda r: r["seconds"])[len(results) // 2])
               for side, results in runs.items()}
        big["counted"]["wire"] = median([r["wire"] for r in runs["counted"]])
        name = f"sync pushing {sum(BIG_SYNC.values())} entries over four kinds"
        rows[name] = latency_row(big["direct"]["seconds"], big["delayed"]["seconds"], LATENCY_TARGETS[name],
                                 big["counted"]["wire"])
        rows[name]["answered"] = big["delayed"]["status"]
        # Its round trips are judged on the wire: its time through the proxy also holds the
        # moving of some hundreds of kilobytes each way, which the clock cannot tell apart.
        rows[name]["met"] = (big["counted"]["wire"] <= LATENCY_TARGETS[name]
                             and big["delayed"]["status"] == 200
                             and big["delayed"]["not_applied"] == 0
                             and big["delayed"]["seconds"] < BIG_SYNC_TARGET_SECONDS)
        samples[name] = BIG_SYNC_RUNS
        print(f"latency: {name}: {big}", flush=True)
        proxy_stats = {"table": delay_proxy_report(proxy)}
        for side in ("direct", "counted"):
            clients[side].close()
            stop(services.pop(side))
        # What the table wrote goes, so that the reader below lists the 50 todos again.
        psql(DB_URL, f"""
            DELETE FROM todos WHERE household_id = '{s['household']}' AND title LIKE 'Latency %';
            DELETE FROM shopping_lists WHERE household_id = '{s['household']}' AND name LIKE 'Latency %';
            DELETE FROM expenses WHERE household_id = '{s['household']}' AND description LIKE 'Latency %';""")
        psql(DB_URL, "VACUUM ANALYZE")
        load = load_under_latency(s)
    finally:
        for service in services.values():
            stop(service)
        proxy_stats["load"] = stop_delay_proxy(proxy)
    return {"rows": rows, "samples": samples, "failures": failures, "big": big, "load": load,
            "proxy": proxy_stats, "bare": bare}


def read_lists(port, headers, path, measuring, stop_reading, results):
    """The other user: lists, one request after another, until told to stop; the times of
    those sent while `measuring` is set (in a process of its own, so that the phones' threads
    do not hold it up)."""
    client = Client(port, headers)
    times, errors = [], 0
    while not stop_reading.is_set():
        try:
            status, _, took = client.request("GET", path)
        except OSError:
            errors += measuring.is_set()
            continue
        if measuring.is_set():
            times.append(took)
            errors += status != 200
    results.put((times, errors))


def phone(port, household, headers, deadline):
    """One phone: syncs of PHONE_TODOS new todos, each from the last one's server_timestamp,
    until `deadline`; their times and failures."""
    client = Client(port, headers)
    last, times, errors = now_ms(), [], 0
    n = 0
    while time.monotonic() < deadline:
        n += 1
        body = {"last_sync_timestamp": last, "household_id": household,
                "changes": {"todos": {"created": [{"id": str(uuid.uuid4()), "title": f"Phone todo {n}.{i}"}
                                                  for i in range(PHONE_TODOS)]}}}
        try:
            status, payload, took = client.request("POST", "/api/v1/sync", body)
        except OSError:
            errors += 1
            continue
        times.append(took)
        if status == 200 and not_applied(payload) == 0:
            last = json.loads(payload)["server_timestamp"]
        else:
            errors += 1
    client.close()
    return times, errors


def load_under_latency(s):
    port = LATENCY_PORTS["delayed"]
    measuring, stop_reading = multiprocessing.Event(), multiprocessing.Event()
    results = multiprocessing.Queue()
    reader = multiprocessing.Process(target=read_lists, args=(
        port, s["reader_headers"], f"/api/v1/todos?household_id={s['household']}", measuring, stop_reading, results))
    reader.start()
    try:
        time.sleep(1)  # the reader's first requests, not counted
        measuring.set()
        started = time.monotonic()
        deadline = started + LOAD_SECONDS
        with concurrent.futures.ThreadPoolExecutor(PHONES) as pool:
            phones = list(pool.map(lambda p: phone(port, p["household"], p["headers"], deadline), s["phones"]))
        took = time.monotonic() - started
        stop_reading.set()
        read_times, read_errors = results.get(timeout=2 * CLIENT_TIMEOUT)
    finally:
        stop_reading.set()
        reader.join(timeout=2 * CLIENT_TIMEOUT)
    sync_times = [t for times, _ in phones for t in times]
    return {
        "seconds": took,
        "reads": len(read_times), "read_errors": read_errors,
        "read_p50_ms": percentile(read_times, 50) * 1000 if read_times else None,
        "read_p99_ms": percentile(read_times, 99) * 1000 if read_times else None,
        "syncs": len(sync_times), "sync_errors": sum(errors for _, errors in phones),
        "sync_p50_ms": percentile(sync_times, 50) * 1000 if sync_times else None,
        "sync_p99_ms": percentile(sync_times, 99) * 1000 if sync_times else None,
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


def fresh_database():
    """An empty bench database, migrated by a first start of the service; the service's
    environment."""
    psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    psql(ADMIN_URL, f"CREATE DATABASE {DB_NAME}")
    env = dict(os.environ, DATABASE_URL=DB_URL, SECRET_KEY=SECRET, HOST="127.0.0.1", PORT=str(PORT),
               LOG_LEVEL="warn", LOG_FORMAT="json", ENVIRONMENT="development")
    stop(start_service(env))
    return env


def seed():
    """The bench household (its owner and two flatmates, 50 todos, a list of 50 items, 5
    expenses split three ways) and the phones' households; their ids."""
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
    # Two flatmates more, for splits of three; a few expenses split between the three, for
    # the household's summary; and ten households of one member each, for the phones.
    members = [user, str(uuid.uuid4()), str(uuid.uuid4())]
    phones = [{"user": str(uuid.uuid4()), "household": str(uuid.uuid4())} for _ in range(PHONES)]
    psql(DB_URL, "".join(f"""
        INSERT INTO users (id, email, full_name, google_id) VALUES ('{member}', 'flatmate{n}@example.com', 'Flatmate {n}', 'g-flatmate{n}');
        INSERT INTO household_members (id, user_id, household_id, role) VALUES ('{uuid.uuid4()}', '{member}', '{household}', 'member');"""
        for n, member in enumerate(members[1:], 1)) + f"""
        INSERT INTO expenses (id, household_id, created_by, amount, description, category, payment_method, split_type)
            SELECT gen_random_uuid(), '{household}', '{user}', 30.00, 'Groceries ' || n, 'groceries', 'card', 'equal'
            FROM generate_series(1, 5) AS n;
        INSERT INTO expense_splits (id, expense_id, user_id, amount_owed, is_settled)
            SELECT gen_random_uuid(), e.id, m.user_id, 10.00, false
            FROM expenses e JOIN household_members m ON m.household_id = e.household_id
            WHERE e.household_id = '{household}';""" + "".join(f"""
        INSERT INTO users (id, email, full_name, google_id) VALUES ('{p['user']}', 'phone{n}@example.com', 'Phone {n}', 'g-phone{n}');
        INSERT INTO households (id, name, created_by) VALUES ('{p['household']}', 'Phone flat {n}', '{p['user']}');
        INSERT INTO household_members (id, user_id, household_id, role) VALUES ('{uuid.uuid4()}', '{p['user']}', '{p['household']}', 'owner');"""
        for n, p in enumerate(phones)))
    for p in phones:
        p["headers"] = {"Authorization": f"Bearer {token(p['user'])}"}
    return {"user": user, "household": household, "shopping_list": shopping_list, "members": members,
            "phones": phones}


def main():
    started, load_before = time.monotonic(), os.getloadavg()[0]
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
        if not shutil.which("wrk"):
            run("apt-get", "update", "-qq")
            run("apt-get", "install", "-y", "-qq", "wrk")
    subprocess.run(["cargo", "build", "--release", "--bin", "flatmates"], cwd=ROOT, check=True)
    env = fresh_database()
    s = seed()
    user, household, shopping_list = s["user"], s["household"], s["shopping_list"]
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
    # The todos wrk created go, so that the lists below are of 50 todos again.
    psql(DB_URL, f"DELETE FROM todos WHERE household_id = '{household}' AND title = 'Bench chore'")
    psql(DB_URL, "VACUUM ANALYZE")
    latency = latency_and_load(env, s)
    large = large_answers(env, auth, household, user)
    machine = {"minutes": (time.monotonic() - started) / 60, "load_before": load_before,
               "load_after": os.getloadavg()[0]}
    write_results(summaries, others, peak_rss, trips, sent, old, large, latency, machine)


def write_results(summaries, others, peak_rss, trips, sent, old, large, latency, machine):
    ratios = lambda values: ", ".join(f"{v:.2f}" for v in values)
    cpu = lambda figures: ", ".join(f"{name} {us:.0f}" for name, us in figures.items()) + \
        f"; total {sum(figures.values()):.0f}"
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {time.strftime('%Y-%m-%d')}: release build, PostgreSQL on the same 2-core machine,",
        f"one household of 50 todos and a shopping list of 50 items, wrk with 2 threads and {CONNECTIONS}",
        f"connections for {DURATION} s per run, pgbench with {CONNECTIONS} clients for as long.",
        f"The whole bench took {machine['minutes']:.1f} minutes; the machine's load average (1 minute) was "
        f"{machine['load_before']:.2f} as it",
        f"began and {machine['load_after']:.2f} as it ended (other work on the machine makes every figure "
        "noisier, throughput most).",
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
    lines += latency_lines(latency)
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


def latency_lines(latency):
    """The latency table and the load under latency, for results.md."""
    rows, big, load, proxy = latency["rows"], latency["big"], latency["load"], latency["proxy"]
    big_name = f"sync pushing {sum(BIG_SYNC.values())} entries over four kinds"
    kinds = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in BIG_SYNC.items())
    lines = [
        "",
        f"## Latency with the database {DELAY_MS:g} ms away",
        "",
        "The release build served twice at once on the bench household (3 members, 50 todos, a list of",
        "50 items, 5 expenses split three ways): straight to PostgreSQL, and through",
        f"`bench/delay_proxy.py`, which forwards every chunk {DELAY_MS:g} ms after it arrived, each way, so",
        f"that every round trip to the database costs {2 * DELAY_MS:g} ms more (both connect without TLS).",
        f"Each operation was sent sequentially, {LATENCY_REQUESTS} times to each service in turn after up to "
        f"{LATENCY_WARMUPS}",
        f"warm-ups (at least {LATENCY_MIN_REQUESTS} times once an operation had taken {LATENCY_BUDGET:g} s), "
        "every write with fresh ids",
        "and a fresh `Idempotency-Key`, every sync from the moment it was sent. Round trips = (median",
        f"with delay − median without) / {2 * DELAY_MS:g} ms; met when within {ROUND_TRIP_TOLERANCE} of the "
        "target. \"On the wire\":",
        f"the round trips per request a third service, through the wire counter, sent for {WIRE_REQUESTS} more",
        "requests of the same operation: the same count, read off the protocol instead of the clock.",
        "",
        "| operation | median without delay (ms) | median with delay (ms) | round trips | target | met | on the wire |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for name, row in rows.items():
        target = f"≤ {row['target']}"
        if name == big_name:
            target += f"; 200, all applied, under {BIG_SYNC_TARGET_SECONDS:g} s"
        trips = f"{row['round_trips']:.2f}"
        if row.get("answered", 200) != 200:
            # Cut short by the request deadline (or the client's timeout): at least this many.
            trips = f"≥ {row['round_trips']:.0f} ({row['answered'] or 'no answer'})"
        lines.append(f"| {name} | {row['direct_ms']:.2f} | {row['delayed_ms']:.2f} | {trips} | "
                     f"{target} | {'yes' if row['met'] else '**no**'} | {row['wire']:.2f} |")
    status = lambda side: (f"{big[side]['status'] or 'no answer in ' + str(CLIENT_TIMEOUT) + ' s'}, "
                           + ("" if big[side]["not_applied"] is None else f"{big[side]['not_applied']} not applied, ")
                           + f"{big[side]['seconds']:.2f} s")
    lines += [
        "",
        f"- The {big_name} ({kinds}, the items in lists the same sync",
        f"  creates; {BIG_SYNC_RUNS} requests per service after warming each with small syncs of the same",
        f"  statements, the median run in the table; its round trips are judged on the wire, as its",
        f"  time through the proxy also holds moving some hundreds of kilobytes each way):",
        f"  without delay {status('direct')};",
        f"  with delay {status('delayed')}; on the wire {big['counted']['wire']} round trips "
        f"({status('counted')}).",
    ]
    short = {name: n for name, n in latency["samples"].items() if n < LATENCY_REQUESTS and name != big_name}
    if short:
        lines.append("- Requests per service where the budget cut them short: "
                     + ", ".join(f"{name} {n}" for name, n in short.items()) + ".")
    for name, failed in latency["failures"].items():
        lines.append(f"- {name}: {len(failed)} requests failed, first: `{failed[0]}`.")
    for side in ("direct", "delayed", "counted"):
        if "answer" in big[side]:
            lines.append(f"- The {big_name}, {side}: answered `{big[side]['answer']}`.")
    bare = latency["bare"]
    lines += [
        f"- A bare round trip (`SELECT 1`, pgbench, one client) took {bare['direct']:.3f} ms straight and "
        f"{bare['delayed']:.3f} ms through the proxy: {bare['delayed'] - bare['direct']:.2f} ms more against the "
        f"nominal {2 * DELAY_MS:g}, so the round trips above read about "
        f"{((bare['delayed'] - bare['direct']) / (2 * DELAY_MS) - 1) * 100:.0f}% high (the proxy's own hop).",
        f"- The proxy forwarded {proxy['table']['chunks']} chunks ({proxy['table']['bytes']} bytes) on average "
        f"{proxy['table']['late_us_mean']:.0f} µs after they were due (at worst "
        f"{proxy['table']['late_us_max'] / 1000:.1f} ms).",
        f"- Targets {'met' if all(row['met'] for row in rows.values()) else 'NOT met'} in this run.",
        "",
        "## Load under latency",
        "",
        f"Through the delayed service: {PHONES} phones, each signed in to a household of its own, each",
        f"syncing {PHONE_TODOS} new todos at a time, over and over for {LOAD_SECONDS:g} s (each sync from the last",
        "one's `server_timestamp`), while another member of the bench household listed its 50 todos one",
        f"request after another the whole time. Target: that reader's p99 under {READER_P99_TARGET_MS:.0f} ms.",
        "",
        "| client | requests | p50 (ms) | p99 (ms) | errors |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    ms = lambda value: "—" if value is None else f"{value:.1f}"
    lines += [
        f"| the reader, list todos | {load['reads']} | {ms(load['read_p50_ms'])} | {ms(load['read_p99_ms'])} "
        f"| {load['read_errors']} |",
        f"| {PHONES} phones, sync of {PHONE_TODOS} todos | {load['syncs']} | {ms(load['sync_p50_ms'])} "
        f"| {ms(load['sync_p99_ms'])} | {load['sync_errors']} |",
        "",
        f"- Over {load['seconds']:.1f} s (the phones' last syncs finish after the {LOAD_SECONDS:g} s).",
        f"- The proxy forwarded {proxy['load']['chunks']} chunks ({proxy['load']['bytes']} bytes) on average "
        f"{proxy['load']['late_us_mean']:.0f} µs after they were due (at worst {proxy['load']['late_us_max'] / 1000:.1f} ms).",
        f"- Target {'met' if load['read_p99_ms'] is not None and load['read_p99_ms'] < READER_P99_TARGET_MS and not load['read_errors'] else 'NOT met'} in this run.",
    ]
    return lines


if __name__ == "__main__":
    main()
