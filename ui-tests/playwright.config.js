// Playwright drives the system's Chromium (no browser downloads). The Rust test
// crates/muster/tests/browser.rs starts Muster with data to work on and runs these tests.
const { defineConfig } = require("@playwright/test");
const fs = require("fs");

const chromium =
  process.env.CHROMIUM ||
  ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));

module.exports = defineConfig({
  testDir: "tests",
  timeout: 60_000,
  workers: 1,
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: chromium, args: ["--no-sandbox", "--disable-dev-shm-usage"] },
    viewport: { width: 1280, height: 900 },
  },
});
