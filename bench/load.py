"""The load test of issue 14: gunicorn in the production configuration on loopback, sessions
logged in through the login page for a mix of roles, then N connections asking for the pages
those roles use for a fixed time; reports throughput, latency percentiles, errors and timeouts
per role and page, with the conditions they were measured in.

    .venv/bin/python bench/load.py --manifest /tmp/bench/manifest.json
        [--connections 50] [--duration 60] [--workers 2] [--code-dir DIR] [--port 8123]
        [--markdown OUT.md] [--json OUT.json] [--users-per-role 10]
    .venv/bin/python bench/load.py --ceiling stub       # the generator's own ceiling
    .venv/bin/python bench/load.py --ceiling health --manifest M   # gunicorn's /helse/

--code-dir runs another checkout (a `git worktree` of an earlier commit) against the same
database, for the before/after comparison the issue asks for. The generator is the standard
library only (a thread and an http.client connection per simulated connection), so the old
code's checkout needs nothing of it.
"""

import argparse
import http.client
import ipaddress
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The TLS proxy's headers (README, "Environment variables"): without the first, every page is a
# redirect to https; the second names the browser's address for the lockout and the access log.
SSL_HEADER = "X-Forwarded-Proto"
ADDRESS_HEADER = "X-Real-IP"
# Every page a logged-in user sees has the menu's logout form; the login page has none.
LOGGED_IN_MARK = b'action="/logg-ut/"'
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')

# The mix (out of 10 requests): caseworkers of a statsforvalter 3, of Helsetilsynet 1,
# municipality leaders 2, GPs 3, supervisors 1. Security officers are left out: their logins
# need a TOTP code, and their page (the access log search) is not one the issue measures.
ROLE_MIX = {"sf_caseworker": 3, "national_caseworker": 1, "leader": 2, "gp": 3, "supervisor": 1}

# The pages each role uses, with weights; {order} is one of the user's visible orders.
CASEWORKER_PAGES = [
    (3, "/oppgaver/"),
    (2, "/saker/"),
    (1, "/saker/?side=2"),
    (1, "/saker/?due=overdue"),
    (2, "/saker/{order}/"),
    (1, "/varsler/"),
]
PAGES = {
    "sf_caseworker": CASEWORKER_PAGES,
    "national_caseworker": CASEWORKER_PAGES,
    "leader": [
        (2, "/oppgaver/"),
        (2, "/kommuner/"),
        (2, "/saker/"),
        (3, "/saker/{order}/"),
        (1, "/varsler/"),
    ],
    "gp": [
        (3, "/oppgaver/"),
        (1, "/saker/"),
        (3, "/saker/{order}/"),
        (2, "/mine-tiltak/"),
        (1, "/varsler/"),
    ],
    "supervisor": [
        (3, "/mine-tiltak/"),
        (3, "/saker/{order}/"),
        (3, "/oppgaver/"),
        (1, "/varsler/"),
    ],
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, help="the world's manifest (bench/world.py)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--code-dir", type=Path, default=REPO, help="the checkout to serve")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--timeout", type=float, default=30, help="seconds per request")
    parser.add_argument("--users-per-role", type=int, default=10, help="sessions per role")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--markdown", type=Path, help="append the results here as Markdown")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--server-log", type=Path, help="keep gunicorn's log here")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one more variable for the server (e.g. DATABASE_CONN_MAX_AGE=60); repeatable, "
        "and named in the conditions",
    )
    parser.add_argument(
        "--ceiling",
        choices=["stub", "health"],
        help="measure the generator alone: against a stub server (no manifest needed), or "
        "against gunicorn's /helse/ without logins",
    )
    args = parser.parse_args(argv)
    if args.ceiling != "stub" and args.manifest is None:
        parser.error("--manifest is required (except with --ceiling stub)")
    if args.connections < 1 or args.duration <= 0 or args.workers < 1:
        parser.error("--connections, --duration and --workers must be positive")
    if any("=" not in pair for pair in args.server_env):
        parser.error("--server-env takes NAME=VALUE")
    return args


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


# --- the server -------------------------------------------------------------------------------


@dataclass
class Server:
    """gunicorn (or the stub) in a process group of its own, so that stopping it stops its
    workers too, whatever happens to this script."""

    process: subprocess.Popen
    log_path: Path

    def stop(self):
        if self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines=30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def code_python(code_dir: Path, name: str) -> str:
    """The code's own venv where it has one, else this checkout's (same dependencies)."""
    own = code_dir / ".venv" / "bin" / name
    return str(own if own.exists() else REPO / ".venv" / "bin" / name)


def server_env(manifest, port, workers, var_dir) -> dict:
    """A server's environment as README's /etc/palegg/env has it, on loopback: nothing of this
    shell's (no PALEGG_DEVELOPMENT, no DJANGO_SETTINGS_MODULE)."""
    origin = f"https://{HOST}:{port}"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "CSRF_TRUSTED_ORIGINS": origin,
        "PALEGG_PROXY_SSL_HEADER": SSL_HEADER,
        "PALEGG_PROXY_ADDRESS_HEADER": ADDRESS_HEADER,
        "PALEGG_SITE_URL": origin,
        "PALEGG_VAR_DIR": str(var_dir),
        "DATABASE_URL": manifest["database_url"],
        "PALEGG_BIND": f"{HOST}:{port}",
        "PALEGG_WORKERS": str(workers),
        # Only the stop is shortened (the script's run is bounded); requests keep their 30 s.
        "PALEGG_GRACEFUL_TIMEOUT": "5",
        # A load run writes some 4 log lines per request: to a file, read only on failure.
        "PYTHONUNBUFFERED": "1",
    }


def start_gunicorn(code_dir: Path, env: dict, log_path: Path) -> Server:
    env = {**env, "PYTHONPATH": str(code_dir)}
    # As `make serve`: hashed static files collected first, or every page with a {% static %}
    # is a 500 (the manifest storage has no entry). Into the run's own PALEGG_VAR_DIR.
    collected = subprocess.run(
        [code_python(code_dir, "python"), "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=code_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if collected.returncode != 0:
        raise SystemExit(f"collectstatic failed in {code_dir}:\n{collected.stderr[-3000:]}")
    log = log_path.open("w")
    process = subprocess.Popen(
        [code_python(code_dir, "gunicorn"), "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=code_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return Server(process, log_path)


STUB_SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'<form method="post" action="/logg-ut/"></form>' + b"x" * 30000


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.0 semantics: one request per connection, as gunicorn's sync workers answer.
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.request_queue_size = 1024
ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
"""


def start_stub(port: int, log_path: Path) -> Server:
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", STUB_SERVER, HOST, str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return Server(process, log_path)


def wait_until_ready(server: Server, port: int, path: str, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while True:
        if server.process.poll() is not None:
            raise SystemExit(f"the server stopped:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", path, headers={"Accept": "application/json"})
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status == 200:
                return
            raise SystemExit(f"{path} answered {response.status}: {body[:500]!r}")
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"the server did not answer in {seconds} s:\n{server.log_tail()}"
                ) from None
            time.sleep(0.3)


# --- sessions ---------------------------------------------------------------------------------


@dataclass
class Session:
    role: str
    username: str
    order_ids: list
    cookie: str = ""
    # The browser's address, as the proxy names it: one per user, from the benchmarking range
    # (RFC 2544), so no address collects the failures of many users.
    address: str = ""


def cookies_of(response) -> dict:
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def proxy_headers(session: Session) -> dict:
    return {SSL_HEADER: "https", ADDRESS_HEADER: session.address}


def log_in(port: int, session: Session, password: str, timeout: float) -> str:
    """Logs the session in through /logg-inn/ as a browser does; '' or why it failed."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", "/logg-inn/", headers=proxy_headers(session))
        page = conn.getresponse()
        body = page.read()
        token = CSRF_FIELD.search(body)
        csrf_cookie = cookies_of(page).get("csrftoken")
        if page.status != 200 or not token or not csrf_cookie:
            return f"login page answered {page.status}"
        form = urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "username": session.username,
                "password": password,
            }
        )
        origin = f"https://{HOST}:{port}"
        headers = {
            **proxy_headers(session),
            "Cookie": f"csrftoken={csrf_cookie}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": f"{origin}/logg-inn/",
        }
        conn.request("POST", "/logg-inn/", body=form, headers=headers)
        answer = conn.getresponse()
        answer.read()
        location = urlsplit(answer.headers.get("Location", "")).path
        session_key = cookies_of(answer).get("sessionid")
        if answer.status == 200:
            return "the login form came back (wrong user name or password?)"
        if answer.status != 302 or not session_key:
            return f"login answered {answer.status}"
        # The page the login leads to must be a logged-in page: an administrator or security
        # officer is sent on to the two-factor step from there.
        cookie = f"sessionid={session_key}"
        conn.request("GET", location or "/", headers={**proxy_headers(session), "Cookie": cookie})
        landing = conn.getresponse()
        if (outcome := verdict(landing, landing.read(), expect_logged_in=True)) != "ok":
            return f"after login, {location}: {outcome}"
        session.cookie = cookie
        return ""
    except OSError as error:
        return f"login failed: {error!r}"
    finally:
        conn.close()


def log_in_all(port, manifest, users_per_role, workers, timeout) -> tuple[list, list, float]:
    """One session per simulated user, a few at a time (as many as there are workers: the
    password hash is the slow part, and more would only queue)."""
    sessions = []
    for role in ROLE_MIX:
        for user in manifest["load_users"].get(role, [])[:users_per_role]:
            n = len(sessions) + 1
            sessions.append(
                Session(
                    role=role,
                    username=user["username"],
                    order_ids=list(user.get("order_ids") or []),
                    address=f"198.18.{n // 250}.{n % 250 + 1}",
                )
            )
    if not sessions:
        return [], ["the manifest has no load_users for the mix's roles"], 0.0
    started = time.monotonic()
    # One first, alone: a wrong password in the manifest then costs one failed login (django-axes
    # locks an account after 10), not one for every user at every run.
    if reason := log_in(port, sessions[0], manifest["password"], timeout):
        return [], [f"{sessions[0].role} {sessions[0].username}: {reason}"], 0.0
    failures = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rest = sessions[1:]
        reasons = pool.map(lambda s: log_in(port, s, manifest["password"], timeout), rest)
        for session, reason in zip(rest, reasons, strict=True):
            if reason:
                failures.append(f"{session.role} {session.username}: {reason}")
    return [s for s in sessions if s.cookie], failures, time.monotonic() - started


# --- the load ---------------------------------------------------------------------------------


@dataclass
class Result:
    role: str
    page: str
    started: float
    seconds: float
    # "ok", "timeout", or what was wrong ("status 500", "redirect to /logg-inn/", ...).
    outcome: str


class Schedule:
    """Round-robin over the mix's slots, and within a role over its users, shared by every
    connection: the mix holds over the whole run, whichever connection is quick."""

    def __init__(self, sessions: list[Session]):
        by_role = defaultdict(list)
        for session in sessions:
            by_role[session.role].append(session)
        self.by_role = dict(by_role)
        self.slots = interleave(ROLE_MIX, by_role)
        self.turn = 0
        self.user_turn = defaultdict(int)
        self.lock = threading.Lock()

    def next(self) -> Session:
        with self.lock:
            role = self.slots[self.turn % len(self.slots)]
            self.turn += 1
            users = self.by_role[role]
            session = users[self.user_turn[role] % len(users)]
            self.user_turn[role] += 1
            return session


def interleave(mix: dict, present) -> list[str]:
    """The mix as a cycle of slots with each role spread out (3:1:2:3:1 → ten slots)."""
    slots = []
    weights = {role: w for role, w in mix.items() if role in present}
    for i in range(max(weights.values(), default=0)):
        slots += [role for role, w in weights.items() if i < w]
    return slots


def pick_page(rng: random.Random, session: Session) -> tuple[str, str]:
    """(the page's name, its path) for this user: weighted over the role's pages, leaving out
    a case page for a user with no orders."""
    pages = [(w, p) for w, p in PAGES[session.role] if session.order_ids or "{order}" not in p]
    _, template = rng.choices(pages, weights=[w for w, _ in pages])[0]
    if "{order}" in template:
        return template, template.format(order=rng.choice(session.order_ids))
    return template, template


def verdict(response, body: bytes, expect_logged_in: bool) -> str:
    if 300 <= response.status < 400:
        location = urlsplit(response.headers.get("Location", "")).path or "?"
        return f"redirect to {location}"
    if response.status != 200:
        return f"status {response.status}"
    if expect_logged_in and LOGGED_IN_MARK not in body:
        return "not a logged-in page"
    return "ok"


def connection_loop(port, schedule, rng, start, deadline, timeout, results, fixed=None):
    """One simulated connection: a request at a time from start to the deadline, the next as
    soon as the last has been answered (a closed loop, as wrk). gunicorn's sync workers close
    the connection after each answer; http.client opens a new one for the next request."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    time.sleep(max(0.0, start - time.monotonic()))
    while time.monotonic() < deadline:
        if fixed:
            session, (role, path) = None, fixed
            page = path
            headers = {SSL_HEADER: "https", "Accept": "application/json"}
        else:
            session = schedule.next()
            role, (page, path) = session.role, pick_page(rng, session)
            headers = {**proxy_headers(session), "Cookie": session.cookie}
        started = time.monotonic()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            outcome = verdict(response, body, expect_logged_in=session is not None)
        except TimeoutError:
            outcome = "timeout"
            conn.close()
        except (OSError, http.client.HTTPException) as error:
            outcome = f"connection: {type(error).__name__}"
            conn.close()
            # A server that is gone refuses at once: no spinning through a million refusals.
            time.sleep(0.05)
        results.append(Result(role, page, started, time.monotonic() - started, outcome))
    conn.close()


def run_load(port, sessions, connections, duration, timeout, seed, fixed=None) -> dict:
    """The timed run; ``fixed`` (label, path) asks for one path without sessions instead."""
    schedule = Schedule(sessions) if sessions else None
    per_connection = [[] for _ in range(connections)]
    # Every thread started and waiting before the clock starts.
    start = time.monotonic() + 0.5
    deadline = start + duration
    started_at, load_before = time.time(), os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    threads = [
        threading.Thread(
            target=connection_loop,
            args=(port, schedule, random.Random(seed * 1000 + i), start, deadline, timeout),
            kwargs={"results": results, "fixed": fixed},
            daemon=True,
        )
        for i, results in enumerate(per_connection)
    ]
    for thread in threads:
        thread.start()
    # Bounded: no new request after the deadline, and none in flight outlives its timeout.
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + timeout + 5)
    finished = time.monotonic()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    stuck = sum(thread.is_alive() for thread in threads)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    results = [r for rs in per_connection for r in rs]
    return {
        "results": results,
        "start": start,
        "duration": duration,
        "wall": finished - start,
        "generator_cpu_seconds": cpu,
        "stuck_connections": stuck,
        "started_at": started_at,
        # The machine's one-minute load average: what else ran (the server shares it).
        "load_average": (load_before, os.getloadavg()[0]),
    }


# --- the report -------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def summarise(results: list[Result], start: float, duration: float, timeout: float) -> dict:
    """Throughput counts the right answers finished within the run's duration, over that
    duration: the in-flight requests let finish after it count in every other column. A
    timeout enters the percentiles as the timeout (it took at least that long)."""
    in_window = start + duration
    ok = [r for r in results if r.outcome == "ok"]
    latencies = sorted(timeout if r.outcome == "timeout" else r.seconds for r in results)
    errors = defaultdict(int)
    for r in results:
        if r.outcome not in ("ok", "timeout"):
            errors[r.outcome] += 1
    return {
        "requests": len(results),
        "ok": len(ok),
        "req_per_s": sum(1 for r in ok if r.started + r.seconds <= in_window) / duration,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": latencies[-1] if latencies else float("nan"),
        "errors": sum(errors.values()),
        "timeouts": sum(1 for r in results if r.outcome == "timeout"),
        "error_kinds": dict(sorted(errors.items(), key=lambda kv: -kv[1])),
    }


def grouped(results, key, start, duration, timeout) -> dict:
    groups = defaultdict(list)
    for r in results:
        groups[key(r)].append(r)
    return {name: summarise(rs, start, duration, timeout) for name, rs in sorted(groups.items())}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children (gunicorn's master and its workers; a worker
    that was replaced counts through the master's cutime), from /proc: a cost per request
    that other work on the machine changes less than it changes the throughput."""

    def stat(p):
        try:
            text = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            return None
        return text.rsplit(")", 1)[1].split()

    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or (fields := stat(entry.name)) is None:
            continue
        # After the name: state, ppid, ..., utime (11), stime (12), cutime (13), cstime (14).
        if int(entry.name) == pid:
            total += sum(int(f) for f in fields[11:15])
        elif int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


def first_line(command, **kwargs) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20, **kwargs)
        return (
            out.stdout.strip().splitlines()[0]
            if out.returncode == 0 and out.stdout.strip()
            else "?"
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def database_facts(database_url: str) -> dict:
    """PostgreSQL's version and the orders actually in the world (psycopg, if this Python has
    it; the conditions are then '?')."""
    try:
        import psycopg
    except ImportError:
        return {"postgresql": "?", "orders_in_database": "?"}
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            orders = conn.execute("SELECT count(*) FROM orders_order").fetchone()[0]
        return {"postgresql": version, "orders_in_database": orders}
    except psycopg.Error as error:
        return {"postgresql": f"? ({type(error).__name__})", "orders_in_database": "?"}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def code_commit(code_dir: Path) -> str:
    commit = first_line(["git", "-C", str(code_dir), "rev-parse", "--short", "HEAD"])
    # Uncommitted changes to tracked files run too (the shared checkout has other people's).
    dirty = first_line(
        ["git", "-C", str(code_dir), "status", "--porcelain", "--untracked-files=no"]
    )
    return commit + ("+uncommitted" if dirty not in ("?", "") else "")


def server_log_facts(log_path: Path) -> dict:
    """gunicorn's worker timeouts and the application's error lines during the run."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return {
        "worker_timeouts": text.count("WORKER TIMEOUT"),
        "error_lines": sum(
            1 for line in text.splitlines() if re.search(r'"level": "(error|critical)"', line)
        ),
    }


def fmt_s(seconds: float) -> str:
    if seconds != seconds:  # nan
        return "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def table(title: str, rows: dict) -> list[str]:
    lines = [
        f"| {title} | requests | req/s | p50 | p95 | p99 | max | errors | timeouts |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in rows.items():
        lines.append(
            f"| {name} | {s['requests']} | {s['req_per_s']:.1f} | {fmt_s(s['p50'])} | "
            f"{fmt_s(s['p95'])} | {fmt_s(s['p99'])} | {fmt_s(s['max'])} | {s['errors']} | "
            f"{s['timeouts']} |"
        )
    return lines


def markdown(report: dict) -> str:
    c = report["conditions"]
    overall = report["overall"]
    machine = (
        f"machine: {c['nproc']} CPUs ({c['cpu_model']}), {c['machine_busy_percent']:.0f} % "
        f"busy during the run, load average {c['load_average']} (before, after); the "
        f"server used {c['server_cpu_ms_per_request']:.1f} ms CPU per request, the generator "
        f"{c['generator_cpu_percent']:.0f} % of one CPU "
        f"({c['generator_cpu_us_per_request']:.0f} µs per request)"
    )
    load = (
        f"{c['connections']} connection{'s' * (c['connections'] != 1)} for "
        f"{c['duration_s']:g} s (closed loop, "
        f"{c['timeout_s']:g} s per-request timeout)"
    )
    server = (
        f"gunicorn {c['gunicorn_workers']} sync workers on loopback, code {c['code_commit']} "
        f"from {c['code_dir']}" + (f", with {c['server_env']}" if c["server_env"] else "")
    )
    world = (
        f"world size {c['world_size']} ({c['orders_in_database']} orders), PostgreSQL "
        f"{c['postgresql']} on the same machine"
    )
    if c["mode"] == "stub":
        lines = [
            f"### Generator ceiling: a stub server ({c['started_at']})",
            "",
            f"Conditions: {load} against a stub in a process of its own (the standard "
            "library's ThreadingHTTPServer, a 30 kB page, one request per connection as "
            f"gunicorn's sync workers answer); {machine}.",
        ]
    elif c["mode"] == "health":
        lines = [
            f"### Generator ceiling: gunicorn's /helse/ ({c['code_commit']}, {c['started_at']})",
            "",
            f"Conditions: {load}, no sessions; {server}; {world}; {machine}.",
        ]
    else:
        lines = [
            f"### Load test ({c['code_commit']}, {c['started_at']})",
            "",
            f"Conditions: {load}; {server}; {world}; {c['sessions']} sessions logged in "
            f"before the run ({c['sessions_by_role']}); {machine}.",
        ]
    lines += ["", *table("role", {**report["by_role"], "**all**": overall}), ""]
    if c["mode"] == "pages":
        lines += [*table("page", report["by_page"]), ""]
    if overall["error_kinds"]:
        kinds = ", ".join(f"{k}: {n}" for k, n in overall["error_kinds"].items())
        lines += [f"Errors: {kinds}.", ""]
    if c["stuck_connections"]:
        lines += [f"{c['stuck_connections']} connections had not finished when the run ended.", ""]
    log = report["server_log"]
    lines += [
        f"Server log: {log['worker_timeouts']} worker timeouts, {log['error_lines']} error lines.",
        "",
    ]
    return "\n".join(lines)


def conditions(args, manifest, sessions, load, code_dir) -> dict:
    by_role = defaultdict(int)
    for session in sessions:
        by_role[session.role] += 1
    requests_made = max(1, len(load["results"]))
    facts = database_facts(manifest["database_url"]) if manifest else {}
    before, after = load["load_average"]
    busy, everything = load["machine_cpu_seconds"]
    return {
        "mode": args.ceiling or "pages",
        "started_at": time.strftime("%Y-%m-%d %H:%M", time.localtime(load["started_at"])),
        "load_average": f"{before:.2f}, {after:.2f}",
        "connections": args.connections,
        "duration_s": args.duration,
        "timeout_s": args.timeout,
        "gunicorn_workers": args.workers,
        "server_env": " ".join(args.server_env),
        "world_size": manifest.get("size", "?") if manifest else "–",
        "orders_in_database": facts.get("orders_in_database", "–"),
        "postgresql": facts.get("postgresql", "–"),
        "sessions": len(sessions),
        "sessions_by_role": ", ".join(f"{r} {n}" for r, n in by_role.items()) or "none",
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "code_dir": str(code_dir) if code_dir else "–",
        "code_commit": code_commit(code_dir) if code_dir else "–",
        "generator_cpu_percent": 100 * load["generator_cpu_seconds"] / max(load["wall"], 1e-9),
        "generator_cpu_us_per_request": 1e6 * load["generator_cpu_seconds"] / requests_made,
        "stuck_connections": load["stuck_connections"],
        "server_cpu_ms_per_request": 1e3 * load["server_cpu_seconds"] / requests_made,
        "machine_busy_percent": 100 * busy / max(everything, 1e-9),
    }


def report_of(args, manifest, sessions, load, code_dir, log_path) -> dict:
    results, start, duration = load["results"], load["start"], load["duration"]
    return {
        "conditions": conditions(args, manifest, sessions, load, code_dir),
        "overall": summarise(results, start, duration, args.timeout),
        "by_role": grouped(results, lambda r: r.role, start, duration, args.timeout),
        "by_page": grouped(results, lambda r: r.page, start, duration, args.timeout),
        "server_log": server_log_facts(log_path),
    }


# --- main -------------------------------------------------------------------------------------


def load_manifest(path: Path) -> dict:
    manifest = json.loads(path.read_text())
    host = urlsplit(manifest["database_url"]).hostname
    if not is_loopback(host):
        raise SystemExit(f"refusing a database that is not on loopback: {host!r}")
    return manifest


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # As gunicorn binds: the last run's connections in TIME_WAIT do not make it taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def run(args) -> dict:
    manifest = load_manifest(args.manifest) if args.manifest else None
    code_dir = args.code_dir.resolve() if args.ceiling != "stub" else None
    if not is_loopback(HOST):
        raise SystemExit("refusing to bind anywhere but loopback")
    if not port_is_free(args.port):
        raise SystemExit(f"port {args.port} on {HOST} is taken")
    work = Path(tempfile.mkdtemp(prefix="palegg-load-"))
    log_path = args.server_log or work / "server.log"
    sessions, failures, fixed = [], [], None
    server = None
    try:
        if args.ceiling == "stub":
            server, fixed = start_stub(args.port, log_path), ("stub", "/")
            wait_until_ready(server, args.port, "/")
        else:
            env = server_env(manifest, args.port, args.workers, work / "var")
            env.update(pair.split("=", 1) for pair in args.server_env)
            print(f"Starting gunicorn from {code_dir} ({args.workers} workers) …", file=sys.stderr)
            server = start_gunicorn(code_dir, env, log_path)
            wait_until_ready(server, args.port, "/helse/")
        if args.ceiling == "health":
            fixed = ("health", "/helse/")
        elif not fixed:
            sessions, failures, seconds = log_in_all(
                args.port, manifest, args.users_per_role, args.workers, args.timeout
            )
            print(f"Logged in {len(sessions)} sessions in {seconds:.0f} s.", file=sys.stderr)
            for failure in failures:
                print(f"  not logged in: {failure}", file=sys.stderr)
            if not sessions:
                raise SystemExit(f"no session could log in:\n{server.log_tail()}")
        print(f"Load: {args.connections} connections for {args.duration:g} s …", file=sys.stderr)
        server_cpu, machine = tree_cpu_seconds(server.process.pid), machine_cpu_seconds()
        load = run_load(
            args.port, sessions, args.connections, args.duration, args.timeout, args.seed, fixed
        )
        load["server_cpu_seconds"] = tree_cpu_seconds(server.process.pid) - server_cpu
        load["machine_cpu_seconds"] = [
            b - a for a, b in zip(machine, machine_cpu_seconds(), strict=True)
        ]
        report = report_of(args, manifest, sessions, load, code_dir, log_path)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    report["login_failures"] = failures
    return report


def main(argv=None) -> int:
    args = parse_args(argv)
    # A SIGTERM (a timeout around `make bench`) still runs the finally that stops gunicorn.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = run(args)
    text = markdown(report)
    print(text)
    if args.markdown:
        with args.markdown.open("a") as out:
            out.write(text + "\n")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
