"""A client's first session, through the generated Python client against the live service:
sign in with a Google ID token, create a household, a todo and an expense (replayed under
its idempotency key), and see a signed-in non-member kept out. The same session as the
TypeScript client's (tests/contract/client/src/e2e/scenario.test.ts).

Run through tests/contract/live_service.py, which serves the service and sets FLATMATES_URL,
FLATMATES_TOKEN and FLATMATES_ID_TOKEN_FILE; the steps run in order and share `session`."""

import datetime
import os
import time
from pathlib import Path

import pytest

from flatmates_api_client import AuthenticatedClient, Client
from flatmates_api_client.api.authentication import get_current_user, google_login_mobile
from flatmates_api_client.api.expenses import create_expense, get_expense, list_expenses
from flatmates_api_client.api.households import create_household, get_household, list_my_households
from flatmates_api_client.api.todos import create_todo, get_todo, list_todos
from flatmates_api_client.models import (
    ErrorBody,
    ExpenseCategory,
    ExpenseCreate,
    GoogleTokenRequest,
    HouseholdCreate,
    TodoCreate,
    TodoPriority,
    TodoStatus,
)

TIMEOUT = 10.0


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is unset: run through tests/contract/live_service.py", returncode=2)
    return value


def expect(response, status: int):
    """The parsed body of a response that must have `status`; otherwise fails with what came."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.content!r}"
    return response.parsed


@pytest.fixture(scope="module")
def session() -> dict:
    return {"base_url": env("FLATMATES_URL")}


def api(session: dict) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=session["base_url"], token=session["token"], timeout=TIMEOUT)


def test_signs_in_with_a_google_id_token_and_gets_a_bearer_token(session):
    id_token = Path(env("FLATMATES_ID_TOKEN_FILE")).read_text().strip()
    anonymous = Client(base_url=session["base_url"], timeout=TIMEOUT)
    signed_in = expect(google_login_mobile.sync_detailed(client=anonymous, body=GoogleTokenRequest(id_token=id_token)), 200)
    assert signed_in.token_type == "bearer"
    assert signed_in.user.email == "client-e2e@example.com"
    assert signed_in.user.full_name == "Client E2E"
    session["token"] = signed_in.access_token
    session["user_id"] = signed_in.user.id

    me = expect(get_current_user.sync_detailed(client=api(session)), 200)
    assert me.id == session["user_id"]


def test_creates_a_household_and_finds_it_among_its_own(session):
    household = expect(create_household.sync_detailed(client=api(session), body=HouseholdCreate(name="Flat 3B")), 201)
    assert household.name == "Flat 3B"
    assert household.created_by == session["user_id"]
    session["household_id"] = household.id

    mine = expect(list_my_households.sync_detailed(client=api(session)), 200)
    assert [(h.id, h.name, h.member_count) for h in mine] == [(household.id, "Flat 3B", 1)]


def test_creates_a_todo_and_reads_it_back_alone_and_in_the_households_list(session):
    due = datetime.datetime(2030, 1, 15, 18, 0, tzinfo=datetime.timezone.utc)
    todo = expect(create_todo.sync_detailed(client=api(session), body=TodoCreate(
        household_id=session["household_id"], title="Take the bins out", priority=TodoPriority.HIGH, due_date=due)), 201)
    assert todo.status == TodoStatus.PENDING
    assert todo.priority == TodoPriority.HIGH

    read = expect(get_todo.sync_detailed(todo.id, client=api(session)), 200)
    assert read.title == "Take the bins out"
    assert read.household_id == session["household_id"]
    assert read.created_by == session["user_id"]
    assert read.due_date == due

    listed = expect(list_todos.sync_detailed(client=api(session), household_id=session["household_id"]), 200)
    assert [(t.id, t.title) for t in listed] == [(todo.id, "Take the bins out")]


def test_records_an_expense_exactly_with_the_payers_own_share_settled_and_replays_a_retry(session):
    key = f"python-client-e2e-{time.time_ns()}"
    body = ExpenseCreate(household_id=session["household_id"], amount="42.50", description="Weekly shop",
                         category=ExpenseCategory.GROCERIES)
    created = create_expense.sync_detailed(client=api(session), body=body, idempotency_key=key)
    expense = expect(created, 201)
    assert expense.amount == "42.50"
    assert expense.category == ExpenseCategory.GROCERIES
    assert expense.created_by == session["user_id"]
    assert "Idempotent-Replayed" not in created.headers

    # A retry after a lost answer, the mobile client's everyday case: same key, same expense.
    retried = create_expense.sync_detailed(client=api(session), body=body, idempotency_key=key)
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert expect(retried, 201).id == expense.id

    read = expect(get_expense.sync_detailed(expense.id, client=api(session)), 200)
    assert read.description == "Weekly shop"
    assert read.amount == "42.50"
    assert [(s.user_id, s.amount_owed, s.is_settled) for s in read.splits] == [(session["user_id"], "42.50", True)]

    listed = expect(list_expenses.sync_detailed(client=api(session), household_id=session["household_id"]), 200)
    assert [e.id for e in listed] == [expense.id]


def test_keeps_the_household_from_a_signed_in_user_who_is_not_a_member(session):
    outsider = AuthenticatedClient(base_url=session["base_url"], token=env("FLATMATES_TOKEN"), timeout=TIMEOUT)
    error = expect(get_household.sync_detailed(session["household_id"], client=outsider), 403)
    assert isinstance(error, ErrorBody)
    assert error.error == "forbidden"
    assert error.message == "You are not a member of this household"
