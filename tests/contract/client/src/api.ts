// The typed client every scenario goes through: openapi-fetch over the types that
// openapi-typescript generates from the committed document, so a change to the document
// that breaks a caller fails the type check before anything runs.
import createClient, { type Middleware } from "openapi-fetch";

import type { paths } from "../generated/schema.js";

export type Api = ReturnType<typeof createClient<paths>>;

export function connect(baseUrl: string, token?: string): Api {
  const client = createClient<paths>({ baseUrl });
  if (token !== undefined) {
    const bearer: Middleware = {
      onRequest({ request }) {
        request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    };
    client.use(bearer);
  }
  return client;
}

/** The body of a response that must have `status`; otherwise fails with what came instead. */
export function expectStatus<T>(
  result: { data?: T; error?: unknown; response: Response },
  status: number,
): T {
  const { data, error, response } = result;
  if (response.status !== status) {
    throw new Error(
      `${response.url}: expected ${status}, got ${response.status}: ${JSON.stringify(error ?? data)}`,
    );
  }
  return data as T;
}

export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run through tests/contract/live_service.py`);
  return value;
}
