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
    // No background networking: the machines that run these tests reach no outside host.
    launchOptions: {
      executablePath: chromium,
      args: [
        "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    },
    viewport: { width: 1280, height: 900 },
  },
});
