// A client's first session, through the generated client against the live service: sign
// in with a Google ID token, create a household, a todo and an expense, and read them back.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { type Api, connect, env, expectStatus } from "../api.js";

const baseUrl = env("FLATMATES_URL");

describe("a new user's first session through the generated client", () => {
  let api: Api;
  let userId: string;
  let householdId: string;
  let todoId: string;
  let expenseId: string;

  it("signs in with a Google ID token and gets a bearer token", async () => {
    const idToken = readFileSync(env("FLATMATES_ID_TOKEN_FILE"), "utf8").trim();
    const anonymous = connect(baseUrl);
    const signedIn = expectStatus(
      await anonymous.POST("/api/v1/auth/google/mobile", { body: { id_token: idToken } }),
      200,
    );
    assert.equal(signedIn.token_type, "bearer");
    assert.equal(signedIn.user.email, "client-e2e@example.com");
    assert.equal(signedIn.user.full_name, "Client E2E");
    userId = signedIn.user.id;
    api = connect(baseUrl, signedIn.access_token);

    const me = expectStatus(await api.GET("/api/v1/auth/me"), 200);
    assert.equal(me.id, userId);
  });

  it("creates a household and finds it among its own", async () => {
    const household = expectStatus(
      await api.POST("/api/v1/households", { body: { name: "Flat 3B" } }),
      201,
    );
    assert.equal(household.name, "Flat 3B");
    assert.equal(household.created_by, userId);
    householdId = household.id;

    const mine = expectStatus(await api.GET("/api/v1/households/mine"), 200);
    assert.deepEqual(
      mine.map(({ id, name, member_count }) => ({ id, name, member_count })),
      [{ id: householdId, name: "Flat 3B", member_count: 1 }],
    );
  });

  it("creates a todo and reads it back, alone and in the household's list", async () => {
    const todo = expectStatus(
      await api.POST("/api/v1/todos", {
        body: {
          household_id: householdId,
          title: "Take the bins out",
          priority: "high",
          due_date: "2030-01-15T18:00:00Z",
        },
      }),
      201,
    );
    assert.equal(todo.status, "pending");
    assert.equal(todo.priority, "high");
    todoId = todo.id;

    const read = expectStatus(
      await api.GET("/api/v1/todos/{todo_id}", { params: { path: { todo_id: todoId } } }),
      200,
    );
    assert.equal(read.title, "Take the bins out");
    assert.equal(read.household_id, householdId);
    assert.equal(read.created_by, userId);
    assert.equal(new Date(read.due_date ?? "").toISOString(), "2030-01-15T18:00:00.000Z");

    const list = expectStatus(
      await api.GET("/api/v1/todos", { params: { query: { household_id: householdId } } }),
      200,
    );
    assert.deepEqual(
      list.map(({ id, title }) => ({ id, title })),
      [{ id: todoId, title: "Take the bins out" }],
    );
  });

  it("records an expense, exactly, with the payer's own share settled", async () => {
    const idempotencyKey = `client-e2e-${Date.now()}`;
    const create = () =>
      api.POST("/api/v1/expenses", {
        params: { header: { "IDEMPOTENCY-KEY": idempotencyKey } },
        body: {
          household_id: householdId,
          amount: "42.50",
          description: "Weekly shop",
          category: "groceries",
        },
      });
    const expense = expectStatus(await create(), 201);
    assert.equal(expense.amount, "42.50");
    assert.equal(expense.category, "groceries");
    assert.equal(expense.created_by, userId);
    expenseId = expense.id;

    // A retry after a lost answer is the mobile client's everyday case: same key, same expense.
    const retried = await create();
    assert.equal(retried.response.headers.get("Idempotent-Replayed"), "true");
    assert.equal(expectStatus(retried, 201).id, expenseId);

    const read = expectStatus(
      await api.GET("/api/v1/expenses/{expense_id}", {
        params: { path: { expense_id: expenseId } },
      }),
      200,
    );
    assert.equal(read.description, "Weekly shop");
    assert.equal(read.amount, "42.50");
    assert.deepEqual(
      read.splits.map(({ user_id, amount_owed, is_settled }) => ({ user_id, amount_owed, is_settled })),
      [{ user_id: userId, amount_owed: "42.50", is_settled: true }],
    );

    const list = expectStatus(
      await api.GET("/api/v1/expenses", { params: { query: { household_id: householdId } } }),
      200,
    );
    assert.deepEqual(list.map(({ id }) => id), [expenseId]);
  });

  it("keeps the household from a signed-in user who is not a member", async () => {
    const outsider = connect(baseUrl, env("FLATMATES_TOKEN"));
    const { error, response } = await outsider.GET("/api/v1/households/{household_id}", {
      params: { path: { household_id: householdId } },
    });
    assert.equal(response.status, 403);
    assert.equal(error?.error, "forbidden");
    assert.equal(error?.message, "You are not a member of this household");
  });
});
