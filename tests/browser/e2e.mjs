// End-to-end walk through the Recall Lab app in Debian's headless Chromium (playwright-core).
// Usage: node e2e.mjs BASE_URL SCREENSHOT_DIR. Exits non-zero with a message on the first failure.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const fail = (m) => { throw new Error(m); };
const check = (cond, m) => { if (!cond) fail(m); };
const step = (m) => console.log(`- ${m}`);

try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // Recall answers: the app asks for bincode; record what came back.
  const recallTypes = [];
  page.on("response", (r) => {
    if (r.url().endsWith("/api/recall")) recallTypes.push(r.headers()["content-type"] ?? "");
  });
  const user = `e2e-${Date.now() % 100000}`;
  const tid = (id) => page.getByTestId(id);

  await page.goto(`${base}/#/catalog?user=${user}`);
  // Every view names the model that built the index (the test catalog uses the default).
  const badge = page.getByRole("note", { name: /^index built with all-MiniLM-L6-v2-int8-smooth: / });
  await badge.waitFor({ timeout: 10000 });
  check(/model int8-smooth/.test(await badge.textContent()), "the header does not name the model");
  step(`header names the model: ${await badge.textContent()}`);
  await tid("search-input").fill("suitcase");
  // The unfiltered first page starts with luggage too: wait for the search's own answer.
  await Promise.all([page.waitForResponse(/\/api\/products\?.*q=suitcase/), tid("search-submit").click()]);
  await page.waitForTimeout(200);
  await page.waitForFunction(() => {
    const cards = [...document.querySelectorAll('[data-testid="product-card"]')];
    return cards.length > 3 && cards.slice(0, 3).every((c) => /suitcase/i.test(c.textContent));
  }, null, { timeout: 15000 });
  step("searched 'suitcase'");

  const cards = tid("product-card");
  const picked = [];
  for (let i = 0; i < 3; i++) {
    picked.push(await cards.nth(i).getAttribute("data-asin"));
    await cards.nth(i).click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="history-item"]').length === n, i + 1, { timeout: 10000 });
  }
  step(`clicked 3 cards, history shows 3 items`);

  // Images: the sample's CDN is unreachable here, so every image must be a placeholder or a
  // loaded picture; never a visible broken image.
  await page.waitForTimeout(500);
  const broken = await page.evaluate(() => [...document.querySelectorAll("img")].filter((i) => {
    const visible = getComputedStyle(i).opacity !== "0" && i.offsetParent !== null;
    return visible && (!i.complete || i.naturalWidth === 0);
  }).length);
  check(broken === 0, `${broken} visible broken images`);
  await page.screenshot({ path: `${shots}/catalog-1440.png` });

  await tid("nav-recall").click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="recall-card"]').length >= 50, null, { timeout: 20000 });
  const recallCards = await tid("recall-card").count();
  const withImage = await page.evaluate(() => [...document.querySelectorAll('[data-testid="recall-card"]')]
    .filter((c) => c.querySelector('img, [data-testid="img-placeholder"]')).length);
  check(withImage === recallCards, `only ${withImage} of ${recallCards} recall cards have an image or placeholder`);
  const badges = await page.locator('[data-testid="recall-card"] [data-testid^="badge-"]').count();
  check(badges >= recallCards, `channel badges missing (${badges} for ${recallCards} cards)`);
  step(`recall grid: ${recallCards} cards with images/placeholders and ${badges} channel badges`);
  check(recallTypes.length > 0 && recallTypes.every((t) => t === "application/vnd.recall-lab.v2+bincode"),
    `recall answers were not bincode: ${JSON.stringify(recallTypes)}`);
  step(`recall answers came as bincode (${recallTypes.length} so far)`);
  const status0 = await tid("recall-status").textContent();
  await page.screenshot({ path: `${shots}/recall-1440.png` });

  await tid("ctl-nprobe").fill("4");
  await tid("ctl-nprobe").press("Enter");
  await tid("ctl-nprobe").blur();
  await page.waitForFunction(() => /nprobe 4\b/.test(document.querySelector('[data-testid="recall-status"]')?.textContent ?? ""), null, { timeout: 10000 });
  const firstBefore = await tid("recall-card").first().getAttribute("data-asin");
  await tid("ctl-fusion").selectOption("seed");
  await page.waitForFunction(() => /fusion seed/.test(document.querySelector('[data-testid="recall-status"]')?.textContent ?? ""), null, { timeout: 10000 });
  const status1 = await tid("recall-status").textContent();
  check(status1 !== status0, "the recall did not refresh");
  step(`nprobe and fusion changes refreshed the recall (first item ${firstBefore} -> ${await tid("recall-card").first().getAttribute("data-asin")})`);

  // Scenarios live on the server: saved here, reopened by link in a fresh page, driven by
  // their own clicks (the user's history is neither needed nor rewritten).
  await tid("nav-scenarios").click();
  await tid("scenario-name").fill("e2e-suitcases");
  await tid("scenario-save").click();
  const row = page.locator('[data-testid="scenario-row"]').filter({ hasText: "e2e-suitcases" });
  await row.waitFor({ timeout: 10000 });
  const sid = await row.getAttribute("data-id");
  // The saved scenario is open now: the panel shows its clicks. The user's own history is
  // cleared on the server; the scenario must not need it.
  check(/Scenario clicks \(3\)/.test(await page.getByRole("complementary", { name: "scenario clicks" }).textContent()), "the open scenario's clicks are not shown");
  await page.evaluate(async (u) => fetch(`/api/users/${u}/clicks`, { method: "DELETE" }), user);
  const linked = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await linked.goto(`${base}/#/s/${sid}`);
  await linked.waitForFunction(() => /3 clicks/.test(document.querySelector('[data-testid="scenario-open"]')?.textContent ?? ""), null, { timeout: 15000 });
  await linked.waitForFunction(() => /fusion seed/.test(document.querySelector('[data-testid="recall-status"]')?.textContent ?? ""), null, { timeout: 15000 });
  const after = await linked.evaluate(async (u) => (await (await fetch(`/api/users/${u}/clicks`)).json()).map((c) => c.asin), user);
  check(after.length === 0, `opening the scenario re-posted clicks to the user: ${after}`);
  const stored = await linked.evaluate(async (id) => (await (await fetch(`/api/scenarios/${id}`)).json()).clicks, sid);
  check(JSON.stringify(stored) === JSON.stringify(picked), `the scenario's clicks: ${stored} vs ${picked}`);
  await linked.close();
  step("saved the scenario, cleared the history, opened its link: its 3 clicks and parameters drive the recall");

  await tid("nav-compare").click();
  await page.waitForFunction(() => /overlap@\d+: \d+\/\d+/.test(document.querySelector('[data-testid="compare-overlap"]')?.textContent ?? ""), null, { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll(".compare .side").length === 2 &&
    [...document.querySelectorAll(".compare .side")].every((s) => s.querySelectorAll('[data-testid="recall-card"]').length > 0), null, { timeout: 15000 });
  step(`compare: ${await tid("compare-overlap").textContent()}`);
  await page.screenshot({ path: `${shots}/compare-1440.png` });

  await tid("nav-quality").click();
  await page.waitForSelector('[data-testid="quality-chart"] svg polyline', { timeout: 30000 });
  await page.waitForSelector('[data-testid="quality-chart"] [data-testid="default-nprobe"]', { state: "attached", timeout: 10000 });
  await page.waitForFunction(() => /not been evaluated yet/.test(document.querySelector('[data-testid="offline-eval"]')?.textContent ?? ""), null, { timeout: 10000 });
  check(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/.test(await page.locator(".quality").textContent()), "the build time is not readable");
  step("quality chart drawn with the default nprobe marked; the offline evaluation says how to run it");
  await page.screenshot({ path: `${shots}/quality-1440.png` });

  // An older answer that arrives last must not replace the newer one: hold back the k=100
  // measurement, switch back to k=10 meanwhile, and expect the k=10 chart in the end.
  const k = page.getByRole("combobox", { name: "k", exact: true });
  await page.route(/\/api\/eval\/ann\?k=100\b/, async (r) => { await new Promise((ok) => setTimeout(ok, 1500)); await r.continue(); });
  const slow = page.waitForResponse(/\/api\/eval\/ann\?k=100\b/);
  await k.selectOption("100");
  await k.selectOption("10");
  await slow;
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(300);
  const axis = await tid("quality-chart").textContent();
  check(/recall@10(?!\d)/.test(axis), `the chart shows an older answer: ${axis.slice(-12)}`);
  await page.unrouteAll();
  step("a late older answer did not replace the newer one");

  // The same views on a phone-sized screen: no horizontal scrolling, controls reachable.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  for (const view of ["catalog", "recall", "compare", "quality"]) {
    await phone.goto(`${base}/#/${view}?user=${user}`);
    await phone.waitForLoadState("networkidle");
    await phone.waitForTimeout(view === "quality" ? 1500 : 800);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${view} at 390 px scrolls sideways by ${overflow}px`);
    await phone.screenshot({ path: `${shots}/${view}-390.png` });
  }
  step("390 px: catalog, recall, compare and quality fit the screen");

  // A failed request shows the server's message.
  await page.goto(`${base}/#/recall?user=${user}&topn=500&min_price=50&max_price=10`);
  await page.waitForSelector('[data-testid="error-banner"]', { timeout: 10000 });
  check(/max_price/.test(await tid("error-banner").first().textContent()), "the error banner shows the server's message");
  step("errors show the server's message");
  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
  console.log("e2e: all checks passed");
} catch (e) {
  console.error(`e2e failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
