// A person works a whole incident from the browser: find it, read the timeline, add a note,
// acknowledge a page, approve a runbook step, resolve, write the analysis; cover a shift.
const { test, expect } = require("@playwright/test");

const base = process.env.MUSTER_URL;
const token = process.env.MUSTER_TOKEN;
const shots = process.env.MUSTER_SCREENSHOTS;

test.describe.configure({ mode: "serial" });

function watchErrors(page) {
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

async function login(page) {
  await page.goto(base + "/incidents");
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/incidents$/);
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

test("a wrong token is refused", async ({ page }) => {
  await page.goto(base + "/login");
  await page.getByLabel("API token").fill("mst_not-a-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator(".flash.error")).toContainText("not valid");
  await shot(page, "login");
});

test("work an incident from the browser", async ({ page }) => {
  const errors = watchErrors(page);
  await login(page);
  await expect(page.locator("#incident-list")).toContainText("Checkout is failing");
  await shot(page, "incidents");

  await page.getByRole("link", { name: "Checkout is failing" }).click();
  await expect(page.locator("h1")).toContainText("Checkout is failing");
  await expect(page.locator("#timeline")).toContainText("started");

  await page.getByLabel("Add a note").fill("Rolled back deploy 4812");
  await page.getByRole("button", { name: "Add note" }).click();
  await expect(page.locator(".flash")).toContainText("Note added");
  await expect(page.locator("#timeline")).toContainText("Rolled back deploy 4812");

  await page.getByRole("button", { name: "Acknowledge the page to ann" }).click();
  await expect(page.locator(".flash")).toContainText("Page acknowledged");
  await expect(page.locator("section[aria-labelledby=pages-h]")).toContainText("READ");

  await expect(page.locator("section[aria-labelledby=runbooks-h]")).toContainText("Waiting");
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.locator(".flash")).toContainText("Approved");
  await expect(page.locator("section[aria-labelledby=runbooks-h]")).not.toContainText("Waiting", { timeout: 15_000 });
  await shot(page, "incident-room");

  await page.getByLabel("What resolved it?").fill("Rolled back and drained the queue");
  await page.getByRole("button", { name: "Resolve" }).click();
  await expect(page.locator("h1")).toContainText("RESOLVED");
  await expect(page.locator("#timeline")).toContainText("Rolled back and drained the queue");

  await page.getByRole("button", { name: "Start an analysis" }).click();
  await expect(page).toHaveURL(/\/analyses\//);
  await page.getByLabel("What happened, in a few sentences?").fill("A deploy broke card payments.");
  await page.getByLabel("Status").selectOption("IN_REVIEW");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator(".flash")).toContainText("Saved");
  await expect(page.getByLabel("What happened, in a few sentences?")).toHaveValue("A deploy broke card payments.");
  await page.getByLabel("Title").fill("Make the canary mandatory");
  await page.getByLabel("Owner (alias)").fill("ann");
  await page.getByRole("button", { name: "Add" }).click();
  await expect(page.locator("section[aria-labelledby=ai]")).toContainText("Make the canary mandatory");
  await shot(page, "analysis");
  expect(errors).toEqual([]);
});

test("the timeline updates live", async ({ page, request }) => {
  const errors = watchErrors(page);
  await login(page);
  await page.goto(base + "/incidents/1");
  await page.waitForTimeout(1500);
  const res = await request.post(base + "/api/v1/incidents/1/timeline", {
    headers: { Authorization: "Bearer " + token },
    data: { message: "Posted from elsewhere" },
  });
  expect(res.status()).toBe(201);
  await expect(page.locator("#timeline")).toContainText("Posted from elsewhere", { timeout: 10_000 });
  expect(errors).toEqual([]);
});

test("cover a shift on the on-call page", async ({ page }) => {
  const errors = watchErrors(page);
  await login(page);
  await page.getByRole("link", { name: "On call" }).click();
  await expect(page.locator("h1")).toHaveText("On call");
  await page.getByLabel("Rotation").selectOption("primary");
  await page.getByLabel("Who covers (aliases, comma-separated)").fill("bob");
  const start = new Date(Date.now() + 3600_000).toISOString().slice(0, 16);
  const end = new Date(Date.now() + 5 * 3600_000).toISOString().slice(0, 16);
  await page.getByLabel("Start (UTC)").fill(start);
  await page.getByLabel("End (UTC)").fill(end);
  await page.getByRole("button", { name: "Create override" }).click();
  await expect(page.locator(".flash")).toContainText("Override created");
  await expect(page.locator(".shift.overridden").first()).toContainText("bob");
  await shot(page, "oncall");
  expect(errors).toEqual([]);
});

test("the other pages render, and work at a phone's width", async ({ page }) => {
  const errors = watchErrors(page);
  await login(page);
  await page.getByRole("link", { name: "Alarms" }).click();
  await page.getByRole("link", { name: "web-errors" }).click();
  await expect(page.locator("svg.chart")).toBeVisible();
  await shot(page, "alarm");
  await page.getByRole("link", { name: "Rules" }).click();
  await page.getByRole("button", { name: "Test" }).click();
  await expect(page.locator("#result")).toHaveText("match");
  await shot(page, "rules");
  await page.getByRole("link", { name: "Integrations" }).click();
  await page.getByLabel("Name").fill("prometheus");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.locator("#key")).toHaveText(/^mk[A-Za-z0-9]{30}$/);
  await shot(page, "integrations");
  await page.getByRole("link", { name: "Reports" }).click();
  await expect(page.locator("h1")).toHaveText("Reports");
  await shot(page, "reports");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + "/incidents/1");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(390);
  await shot(page, "incident-room-phone");
  expect(errors).toEqual([]);
});
