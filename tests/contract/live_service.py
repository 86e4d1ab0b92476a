#!/usr/bin/env python3
"""Runs one command against a live service built from the tree.

    live_service.py [--database postgres|sqlite] -- COMMAND...

Starts `target/debug/flatmates serve` (FLATMATES_BIN overrides) on a fresh database of its
own, with Google's key set served from a local stub that publishes the committed test key,
signs a test user in through `POST /api/v1/auth/google/mobile`, and runs COMMAND with:

    FLATMATES_URL            the service's base URL, without a trailing slash
    FLATMATES_TOKEN          a bearer token of the signed-in user
    FLATMATES_SPARE_TOKEN    a bearer token of a second user, for requests that delete the
                             account they are sent with
    FLATMATES_ID_TOKEN_FILE  a file holding a fresh Google ID token, for clients that sign in
                             themselves

Exits with COMMAND's status; the service's log is left in target/contract/service.log.
Standard library only, plus the `openssl` command to sign ID tokens. PostgreSQL comes from
TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test."""

import argparse
import base64
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures"
CLIENT_ID = "flatmates-contract-tests"
ADMIN_URL = os.environ.get("TEST_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/test"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def google_id_token(subject: str, email: str, name: str) -> str:
    """An RS256 ID token as Google issues them, signed with the committed test-only key."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "test-key-a"}
    now = int(time.time())
    claims = {"iss": "https://accounts.google.com", "aud": CLIENT_ID, "sub": subject, "email": email,
              "email_verified": True, "name": name, "iat": now, "exp": now + 3600}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(FIXTURES / "google_key_a.pem")],
        input=signing_input.encode(), capture_output=True, check=True).stdout
    return f"{signing_input}.{b64(signature)}"


def serve_key_set() -> http.server.ThreadingHTTPServer:
    body = json.dumps({"keys": [json.loads((FIXTURES / "google_key_a.jwk.json").read_text())]}).encode()

    class KeySet(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), KeySet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-qtA", url, "-c", sql], check=True, capture_output=True)


class Database:
    """A database of the run's own, dropped afterwards."""

    def __init__(self, kind: str):
        self.kind = kind
        if kind == "postgres":
            self.name = f"contract_{uuid.uuid4().hex[:12]}"
            psql(ADMIN_URL, f"CREATE DATABASE {self.name}")
            self.url = ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.dir = tempfile.mkdtemp(prefix="flatmates-contract-")
            self.url = f"sqlite://{self.dir}/flatmates.db?mode=rwc"

    def drop(self) -> None:
        if self.kind == "postgres":
            psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def request(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.load(response)


def wait_ready(base: str, service: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.poll() is not None:
            sys.exit(f"the service exited with status {service.returncode}; see its log")
        try:
            with urllib.request.urlopen(base + "/health/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("the service did not become ready within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    binary = Path(os.environ.get("FLATMATES_BIN", ROOT / "target/debug/flatmates"))
    work = ROOT / "target/contract"
    work.mkdir(parents=True, exist_ok=True)
    key_set = serve_key_set()
    database = Database(args.database)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DATABASE_URL=database.url, HOST="127.0.0.1", PORT=str(port),
               ENVIRONMENT="development", SECRET_KEY="contract-tests-secret-key-0123456789",
               GOOGLE_CLIENT_ID=CLIENT_ID,
               GOOGLE_JWKS_URL=f"http://127.0.0.1:{key_set.server_port}/certs",
               LOG_FORMAT="json", LOG_LEVEL="info")
    env.pop("SENTRY_DSN", None)
    log = open(work / "service.log", "w")
    service = subprocess.Popen([str(binary), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(base, service)
        signed_in = request(base + "/api/v1/auth/google/mobile",
                            {"id_token": google_id_token("contract-user", "contract@example.com", "Contract Tester")})
        spare = request(base + "/api/v1/auth/google/mobile",
                        {"id_token": google_id_token("contract-spare", "spare@example.com", "Spare Tester")})
        id_token_file = work / "id_token"
        id_token_file.write_text(google_id_token("client-e2e-user", "client-e2e@example.com", "Client E2E"))
        child_env = dict(os.environ, FLATMATES_URL=base, FLATMATES_TOKEN=signed_in["access_token"],
                         FLATMATES_SPARE_TOKEN=spare["access_token"],
                         FLATMATES_ID_TOKEN_FILE=str(id_token_file))
        return subprocess.run(command, env=child_env).returncode
    finally:
        service.terminate()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
        key_set.shutdown()
        database.drop()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
