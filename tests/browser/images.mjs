// The app's pictures with the products' original host unreachable (Issue 32): the cached copies
// from `/api/images/{asin}` load, products whose fetch failed show the placeholder, and no card
// shows a broken image. Usage: node images.mjs BASE_URL SCREENSHOT_DIR CACHED_ASINS FAILED_ASINS
// (comma lists).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, shots, cachedArg, failedArg] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const cached = cachedArg.split(",");
const failed = failedArg.split(",");
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const check = (cond, m) => { if (!cond) throw new Error(m); };
const step = (m) => console.log(`- ${m}`);

try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // Only the app's own origin answers: every other host is cut off.
  const blocked = [];
  await page.route((url) => !url.href.startsWith(base), (route) => {
    blocked.push(route.request().url());
    return route.abort("internetdisconnected");
  });
  await page.goto(`${base}/#/catalog?user=images-${Date.now() % 100000}`);
  await page.getByTestId("product-card").first().waitFor({ timeout: 15000 });

  for (const asin of cached) {
    const img = page.locator(`[data-testid="product-card"][data-asin="${asin}"] img`);
    await img.waitFor({ timeout: 10000 });
    await page.waitForFunction((a) => {
      const i = document.querySelector(`[data-testid="product-card"][data-asin="${a}"] img`);
      return i && i.complete && i.naturalWidth > 0;
    }, asin, { timeout: 10000 });
    const src = await img.getAttribute("src");
    check(src === `/api/images/${asin}`, `${asin}: the card's picture is ${src}, not the cached copy`);
  }
  step(`${cached.length} cached pictures loaded from /api/images with the original host blocked`);

  // A failed product tries its original URL (blocked), then shows the placeholder.
  await page.waitForTimeout(800);
  for (const asin of failed) {
    const card = page.locator(`[data-testid="product-card"][data-asin="${asin}"]`);
    check(await card.getByTestId("img-placeholder").isVisible(), `${asin}: no placeholder`);
  }
  const broken = await page.evaluate(() => [...document.querySelectorAll('[data-testid="product-card"] img')]
    .filter((i) => getComputedStyle(i).opacity !== "0" && (!i.complete || i.naturalWidth === 0)).map((i) => i.src));
  check(broken.length === 0, `broken images shown: ${broken.join(" ")}`);
  check(blocked.every((u) => !cached.some((a) => u.includes(a))), "a cached product went to its original host");
  step(`${failed.length} failed products show the placeholder; ${blocked.length} requests to other hosts were blocked`);
  await page.screenshot({ path: `${shots}/images-offline-1440.png` });
  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
}
