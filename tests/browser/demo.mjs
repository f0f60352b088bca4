// The demo as a presenter shows it (Issue 32), on the shipped demo catalog with its drawn
// pictures and every host but the app's cut off: every visible card's picture loads; the map
// marks the clicks and the recall, a hovered point shows its card, a clicked one opens; no view
// scrolls sideways at 360, 390 or 430 px; the phone menu and history sheet work; 768 px has two
// columns. Usage: node demo.mjs BASE_URL SCREENSHOT_DIR USER
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, shots, user] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const check = (cond, m) => { if (!cond) throw new Error(m); };
const step = (m) => console.log(`- ${m}`);
const VIEWS = ["catalog", "recall", "map", "compare", "quality", "scenarios", "catalogs"];

/// A page with networking off: only the app's own origin answers.
async function offlinePage(width, height) {
  const context = await browser.newContext({ viewport: { width, height }, ...(width < 700 ? { isMobile: true, hasTouch: true } : {}) });
  const page = await context.newPage();
  page.errors = [];
  page.blocked = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  await page.route((url) => !url.href.startsWith(base), (route) => {
    page.blocked.push(route.request().url());
    return route.abort("internetdisconnected");
  });
  return page;
}

/// Every card picture in the viewport has loaded from the server's cache.
async function visibleImagesLoaded(page, what) {
  await page.waitForFunction(() => {
    const cards = [...document.querySelectorAll('[data-testid="product-card"], [data-testid="recall-card"]')]
      .filter((c) => { const r = c.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight && r.width > 0; });
    return cards.length > 0 && cards.every((c) => { const i = c.querySelector("img"); return i && i.complete && i.naturalWidth > 0; });
  }, null, { timeout: 15000 }).catch(() => {});
  const report = await page.evaluate(() => {
    const cards = [...document.querySelectorAll('[data-testid="product-card"], [data-testid="recall-card"]')]
      .filter((c) => { const r = c.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight && r.width > 0; });
    return cards.map((c) => {
      const i = c.querySelector("img");
      return { asin: c.dataset.asin, ok: !!i && i.complete && i.naturalWidth > 0, src: i?.getAttribute("src") ?? "" };
    });
  });
  check(report.length > 0, `${what}: no card in sight`);
  const bad = report.filter((r) => !r.ok || r.src !== `/api/images/${r.asin}`);
  check(bad.length === 0, `${what}: pictures not loaded from the cache: ${JSON.stringify(bad.slice(0, 3))}`);
  return report.length;
}

try {
  // 1. Pictures and screenshots of catalog, recall and map at three widths.
  for (const [w, h] of [[390, 844], [768, 1024], [1440, 950]]) {
    const page = await offlinePage(w, h);
    for (const view of ["catalog", "recall", "map"]) {
      await page.goto(`${base}/#/${view}?user=${user}`);
      if (view === "map") {
        await page.getByRole("img", { name: /^Map of \d+ products/ }).waitFor({ timeout: 15000 });
        await page.getByTestId("map-recalled").first().waitFor({ timeout: 15000 });
      } else {
        await page.getByTestId(view === "catalog" ? "product-card" : "recall-card").first().waitFor({ timeout: 15000 });
        const n = await visibleImagesLoaded(page, `${view} at ${w} px`);
        step(`${view} at ${w} px: ${n} cards in sight, every picture loaded`);
      }
      await page.waitForTimeout(300);
      await page.screenshot({ path: `${shots}/demo-${view}-${w}.png` });
    }
    check(page.errors.length === 0, `page errors at ${w}: ${page.errors.join("; ")}`);
    check(page.blocked.length === 0, `requests left the app at ${w}: ${page.blocked.slice(0, 3).join(" ")}`);
    await page.context().close();
  }

  // 2. The map: clicks and recall marked, hover shows a card, click opens, zoom works.
  const page = await offlinePage(1440, 950);
  await page.goto(`${base}/#/map?user=${user}`);
  const map = page.getByRole("img", { name: /^Map of \d+ products/ });
  await map.waitFor({ timeout: 15000 });
  await page.getByTestId("map-recalled").first().waitFor({ timeout: 15000 });
  const clicks = await page.evaluate(async (u) => (await (await fetch(`/api/users/${u}/clicks`)).json()).map((c) => c.asin), user);
  const marked = await page.getByTestId("map-click").evaluateAll((els) => els.map((e) => e.dataset.asin));
  check(clicks.length > 0 && clicks.every((a) => marked.includes(a)), `the map marks ${marked.length} of ${clicks.length} clicks`);
  const recalled = await page.getByTestId("map-recalled").count();
  check(recalled > 50, `only ${recalled} recalled items are marked`);
  step(`map: all ${clicks.length} clicks and ${recalled} recalled items marked`);

  // A recalled point that no other mark covers.
  const asin = await page.evaluate(() => [...document.querySelectorAll('[data-testid="map-recalled"]')].find((c) => {
    const r = c.getBoundingClientRect();
    return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === c;
  })?.dataset.asin);
  check(asin, "every recalled point is covered by another mark");
  const point = page.locator(`[data-testid="map-recalled"][data-asin="${asin}"]`);
  await point.hover();
  const card = page.getByRole("tooltip");
  await card.waitFor({ timeout: 5000 });
  check(await card.getAttribute("data-asin") === asin, "the hover card is for another product");
  const title = await page.evaluate(async (a) => (await (await fetch(`/api/products/${a}`)).json()).title, asin);
  await page.waitForFunction((t) => document.querySelector('[data-testid="map-card"]')?.textContent.includes(t), title, { timeout: 5000 });
  await page.waitForFunction(() => { const i = document.querySelector('[data-testid="map-card"] img'); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 5000 });
  step(`hovering ${asin} shows its card with its picture: ${title.slice(0, 40)}…`);
  await page.screenshot({ path: `${shots}/demo-map-hover-1440.png` });

  const before = await map.getAttribute("viewBox");
  await page.getByRole("button", { name: "Zoom in" }).click();
  const after = await map.getAttribute("viewBox");
  check(before !== after, "Zoom in did not change the view");
  await page.getByRole("button", { name: "Reset view" }).click();
  check(await map.getAttribute("viewBox") === before, "Reset view did not return to the whole map");
  step("zoom in and reset change the view");

  await point.click();
  await page.getByRole("dialog", { name: /^Similar to / }).waitFor({ timeout: 10000 });
  step("clicking a point opens its similar items");
  await page.keyboard.press("Escape");
  check(page.errors.length === 0, `page errors: ${page.errors.join("; ")}`);
  await page.context().close();

  // 3. Phones: no sideways scroll on any view; the menu and the history sheet.
  for (const w of [360, 390, 430]) {
    const phone = await offlinePage(w, 844);
    for (const view of VIEWS) {
      await phone.goto(`${base}/#/${view}?user=${user}`);
      await phone.waitForLoadState("networkidle");
      await phone.waitForTimeout(view === "quality" || view === "map" ? 1200 : 600);
      const [sw, iw] = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      check(sw <= iw, `${view} at ${w} px scrolls sideways: scrollWidth ${sw} > ${iw}`);
    }
    step(`${w} px: none of ${VIEWS.join(", ")} scrolls sideways`);
    if (w === 390) {
      await phone.goto(`${base}/#/catalog?user=${user}`);
      const menu = phone.getByRole("button", { name: /^Menu/ });
      const header = await phone.evaluate(() => document.querySelector("header.top").getBoundingClientRect().height);
      check(header <= 70, `the phone header is ${header} px tall`);
      check(!(await phone.getByRole("link", { name: "Map", exact: true }).isVisible()), "the views show before the menu is opened");
      await menu.click();
      check(await menu.getAttribute("aria-expanded") === "true", "the menu does not say it is open");
      await phone.getByRole("link", { name: "Map", exact: true }).click();
      await phone.getByRole("img", { name: /^Map of/ }).waitFor({ timeout: 10000 });
      check(!(await phone.getByRole("link", { name: "Map", exact: true }).isVisible()), "the menu stayed open after choosing a view");
      step(`390 px: a ${Math.round(header)} px header; the menu opens, goes to the map and closes`);
      const sheet = phone.getByRole("button", { name: "Show the history" });
      const item = phone.getByTestId("history-item").first();
      check(!(await item.isVisible()) || (await item.boundingBox()).y + 10 > 844, "the history sheet starts open");
      await sheet.click();
      await item.waitFor({ state: "visible" });
      check((await item.boundingBox()).y < 844, "the opened sheet does not show the clicks");
      await phone.screenshot({ path: `${shots}/demo-history-sheet-390.png` });
      await phone.getByRole("button", { name: "Hide the history" }).click();
      step("390 px: the history opens as a bottom sheet and closes");
    }
    check(phone.errors.length === 0, `page errors at ${w}: ${phone.errors.join("; ")}`);
    await phone.context().close();
  }

  // 4. A tablet: the content and the history side by side.
  const tablet = await offlinePage(768, 1024);
  await tablet.goto(`${base}/#/recall?user=${user}`);
  await tablet.getByTestId("recall-card").first().waitFor({ timeout: 15000 });
  const cols = await tablet.evaluate(() => {
    const m = document.querySelector("main").getBoundingClientRect();
    const h = document.querySelector("aside.history").getBoundingClientRect();
    return { main: [m.left, m.right], history: [h.left, h.right], top: [m.top, h.top] };
  });
  check(cols.history[0] >= cols.main[1] && Math.abs(cols.top[0] - cols.top[1]) < 20, `768 px is not two columns: ${JSON.stringify(cols)}`);
  step("768 px: the recall and the history side by side");
  await tablet.context().close();
} finally {
  await browser.close();
}
