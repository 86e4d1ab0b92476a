"""Schemathesis hooks for `make conformance` (loaded through schemathesis.toml).

An `Idempotency-Key` names one logical request: the service answers a key it has already
seen with another request 422, as it should. The fuzzer draws keys from a small space
("0", "00", ...) and would send the same key with many different requests, so every valid
key it draws is replaced with a fresh one, the way a client uses the header. Keys the
document calls invalid are left as drawn, so their rejection is still checked; replaying a
key is covered by the integration tests (tests/api/idempotency.rs).

`DELETE /auth/me` erases the account it is sent with; where it carries the signed-in user's
token it is sent with a spare user's instead (FLATMATES_SPARE_TOKEN), so the rest of the run
keeps a signed-in user (requests without credentials, or with bad ones, are left as drawn).
Once the spare account is gone, its token is 401, which the checks accept."""

import os
import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"[!-~]{1,255}")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    for name, value in list((case.headers or {}).items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and VALID_KEY.fullmatch(value):
            case.headers[name] = f"conformance-{uuid.uuid4()}"

    if case.method.upper() == "DELETE" and case.path == "/api/v1/auth/me":
        signed_in = f"Bearer {os.environ['FLATMATES_TOKEN']}"
        for name, value in list((case.headers or {}).items()):
            if name.lower() == "authorization" and value == signed_in:
                case.headers[name] = f"Bearer {os.environ['FLATMATES_SPARE_TOKEN']}"
