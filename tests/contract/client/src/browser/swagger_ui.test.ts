// Swagger UI at /docs in a real browser: every operation of the committed document is
// listed, and "Try it out" on GET /health reaches the service and shows its 200. Drives the
// system Chromium; a screenshot is left in target/contract/browser/ for a person to look at.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { type BrowserContext, type Page, chromium } from "playwright-core";

import { env } from "../api.js";

const ROOT = fileURLToPath(new URL("../../../../../", import.meta.url));
const ARTIFACTS = join(ROOT, "target/contract/browser");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// Chromium reaches for Google's services at start; on a closed network those connections
// are refused, so everything that would open one stays off.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function documentedOperations(): number {
  const document = JSON.parse(readFileSync(join(ROOT, "openapi/openapi.json"), "utf8")) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0);
}

describe("Swagger UI in Chromium", () => {
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    profile = mkdtempSync(join(tmpdir(), "flatmates-chromium-"));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 1200 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on("pageerror", (error) => pageErrors.push(error.message));
    const response = await page.goto(`${env("FLATMATES_URL")}/docs`);
    assert.equal(response?.status(), 200);
  });

  after(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it("lists every documented operation under the API's title", async () => {
    await page.locator(".info .title").getByText("Flatmates App API").waitFor();
    await page.locator(".opblock").first().waitFor();
    assert.equal(await page.locator(".opblock").count(), documentedOperations());
    assert.deepEqual(pageErrors, []);
  });

  it("tries GET /health out and shows the service's 200", async () => {
    const health = page.locator("#operations-Health-health_check");
    await health.locator(".opblock-summary").click();
    await health.getByRole("button", { name: "Try it out" }).click();
    await health.getByRole("button", { name: "Execute" }).click();

    const live = health.locator(".live-responses-table");
    await live.locator(".response-col_status").getByText("200").waitFor();
    const body = await live.locator(".response-col_description pre.microlight").first().innerText();
    assert.equal((JSON.parse(body) as { status: string }).status, "healthy");

    mkdirSync(ARTIFACTS, { recursive: true });
    // The whole page is thousands of pixels tall; the part worth seeing is /health's answer.
    await live.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, "swagger-ui.png") });
    assert.deepEqual(pageErrors, []);
  });
});
