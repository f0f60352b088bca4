// Bringing your own catalog from the app (Issue 32): upload a CSV with a header the import does
// not know, fix one column in the mapping, build while the progress shows each stage, open the
// new catalog (the URL names it), click in it and recall on it.
// Usage: node byo.mjs BASE_URL SCREENSHOT_DIR CSV_PATH ADMIN_TOKEN
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";

const [base, shots, csvPath, token] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const check = (cond, m) => { if (!cond) throw new Error(m); };
const step = (m) => console.log(`- ${m}`);

try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 950 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const apiCalls = [];
  page.on("request", (r) => { const u = new URL(r.url()); if (u.pathname.includes("/api/")) apiCalls.push(u.pathname); });

  await page.goto(`${base}/#/catalogs?user=byo-user`);
  await page.getByRole("heading", { name: "Bring your own catalog" }).waitFor({ timeout: 15000 });
  await page.getByLabel("Catalog name").fill("shop");
  await page.getByLabel("CSV file").setInputFiles(csvPath);
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Upload and preview" }).click();

  const asinColumn = page.getByRole("combobox", { name: "Column for asin" });
  await asinColumn.waitFor({ timeout: 15000 });
  const problem = page.getByTestId("mapping-problem");
  check(/asin/.test(await problem.textContent()), "the preview does not say asin has no column");
  check(await page.getByRole("combobox", { name: "Column for title" }).inputValue() === "Product Title", "title was not matched to Product Title");
  step("upload: title and price matched by their spellings; asin has no column");
  await asinColumn.selectOption("Item Number");
  await page.getByTestId("preview-rows").getByText("D1G89YYO6L").waitFor({ timeout: 10000 });
  check(await problem.count() === 0, "the problem stayed after the fix");
  const counts = await page.getByTestId("preview-counts").textContent();
  check(/122 rows read, 2 would be rejected/.test(counts), `preview counts: ${counts}`);
  await page.screenshot({ path: `${shots}/byo-mapping-1440.png`, fullPage: true });
  step(`fixed asin <- Item Number: ${counts}, the first rows show`);

  await page.getByRole("button", { name: "Build the catalog" }).click();
  const progress = page.getByTestId("build-progress");
  await progress.waitFor({ timeout: 10000 });
  const seen = new Set();
  let shot = false;
  for (let i = 0; i < 1200; i++) {
    const state = await progress.getAttribute("data-state");
    const text = (await progress.getByRole("status").textContent()).trim();
    seen.add(text.split(" ")[0]);
    if (!shot && /embed|index|map/.test(text)) {
      await page.screenshot({ path: `${shots}/byo-building-1440.png` });
      shot = true;
    }
    if (state !== "running") break;
    await page.waitForTimeout(100);
  }
  check(await progress.getAttribute("data-state") === "done", `the build ended ${await progress.getAttribute("data-state")}: ${await progress.textContent()}`);
  check(seen.size >= 2, `the progress showed only ${[...seen].join(", ")}`);
  check(await page.getByRole("progressbar", { name: "Build progress" }).count() === 1, "no progress bar");
  step(`built; the progress showed the stages ${[...seen].join(" → ")}`);

  await page.getByRole("button", { name: "Open catalog shop" }).last().click();
  await page.waitForURL(/catalog=shop/, { timeout: 10000 });
  await page.getByTestId("recall-card").first().waitFor({ timeout: 15000 });
  check(/catalog=shop/.test(page.url()), `the URL does not name the catalog: ${page.url()}`);
  check(/user=byo-user/.test(page.url()), `the user was not kept: ${page.url()}`);
  await page.getByRole("note", { name: "catalog shop" }).waitFor({ timeout: 5000 });
  step(`opened: ${page.url().replace(base, "")}`);

  // Click two products of the new catalog, then recall on them.
  await page.getByTestId("nav-catalog").click();
  const cards = page.getByTestId("product-card");
  await cards.first().waitFor({ timeout: 10000 });
  check(await page.getByText(/^120 products/).count() === 1, "the catalog view does not show the 120 uploaded products");
  for (let i = 0; i < 2; i++) {
    await cards.nth(i).getByRole("button", { name: /^Click/ }).click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="history-item"]').length === n, i + 1, { timeout: 10000 });
  }
  await page.getByTestId("nav-recall").click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="recall-card"]').length > 10, null, { timeout: 15000 });
  const status = await page.locator(".status").first().textContent();
  check(/content [1-9]/.test(status), `the recall found nothing by content: ${status}`);
  const stray = apiCalls.filter((p) => p.startsWith("/api/") && !p.startsWith("/api/catalogs") && !p.startsWith("/api/admin/jobs"));
  const afterOpen = apiCalls.slice(apiCalls.findIndex((p) => p.startsWith("/c/shop/")));
  check(afterOpen.length > 0 && afterOpen.every((p) => p.startsWith("/c/shop/api/")), `calls after opening went elsewhere: ${afterOpen.filter((p) => !p.startsWith("/c/shop/")).slice(0, 3)}`);
  await page.screenshot({ path: `${shots}/byo-recall-1440.png` });
  step(`recalled on shop: ${status.slice(0, 80)}…; every call went to /c/shop/api (${stray.length} before opening went to the default)`);

  // Issue 34: the same products built with the fp32 reference model, compared side by side.
  const built = await page.evaluate(async ({ token, csv }) => {
    const auth = { Authorization: `Bearer ${token}` };
    let r = await fetch("/api/catalogs/shop-fp32/source", { method: "PUT", headers: { ...auth, "content-type": "text/csv" }, body: csv });
    if (!r.ok) return `upload ${r.status}`;
    r = await fetch("/api/catalogs/shop-fp32/build", { method: "POST", headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ mapping: [{ column: "Item Number", field: "asin" }], model: "all-MiniLM-L6-v2-fp32" }) });
    if (r.status !== 202) return `build ${r.status} ${await r.text()}`;
    const { id } = await r.json();
    for (let i = 0; i < 600; i++) {
      const j = await (await fetch(`/api/admin/jobs/${id}`, { headers: auth })).json();
      if (j.state !== "running") return j.state === "done" ? "done" : j.message;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    return "timeout";
  }, { token, csv: readFileSync(csvPath, "utf8") });
  check(built === "done", `building shop-fp32: ${built}`);
  await page.goto(`${base}/#/compare?catalog=shop&user=byo-user`);
  const picker = page.getByRole("combobox", { name: "B recalls from" });
  await picker.waitFor({ timeout: 15000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#b-catalog option")].some((o) => o.value === "shop-fp32"), null, { timeout: 10000 });
  await picker.selectOption("shop-fp32");
  await page.waitForFunction(() => /B: model all-MiniLM-L6-v2-fp32/.test(document.querySelector('[data-testid="compare-models"]')?.textContent ?? ""), null, { timeout: 10000 })
    .catch(async () => check(false, `B's model is not named: ${await page.getByTestId("compare-models").textContent()}`));
  const models = await page.getByTestId("compare-models").textContent();
  check(/A: model all-MiniLM-L6-v2-int8-smooth/.test(models), `side A's model: ${models}`);
  await page.waitForFunction(() => document.querySelectorAll('[data-list="B"] [data-testid="recall-card"]').length > 10, null, { timeout: 15000 });
  check(apiCalls.some((p) => p === "/c/shop-fp32/api/recall"), "B's recall did not go to the fp32 build");
  check(/b\.catalog=shop-fp32/.test(page.url()), `the URL does not name B's catalog: ${page.url()}`);
  const overlapText = await page.getByTestId("compare-overlap").textContent();
  await page.screenshot({ path: `${shots}/byo-compare-models-1440.png` });
  step(`compare: ${models}; ${overlapText}`);
  // Each side's heading names its model beside its cards, and B's cards answer from B's build.
  const sideA = page.getByRole("region", { name: "configuration A" });
  const sideB = page.getByRole("region", { name: "configuration B" });
  check(/A · model int8-smooth$/.test(await sideA.getByTestId("compare-side-heading").textContent()), "side A's heading does not name its model");
  check(/B · model fp32 · catalog shop-fp32/.test(await sideB.getByTestId("compare-side-heading").textContent()), "side B's heading does not name its model and catalog");
  const second = sideB.getByTestId("recall-card").nth(1);
  const secondTitle = await second.locator(".title").textContent();
  await second.getByRole("button", { name: `Explain ${secondTitle}` }).click();
  const why = page.getByRole("dialog", { name: new RegExp(`^Why #2 in catalog shop-fp32: `) });
  await why.waitFor({ timeout: 10000 })
    .catch(async () => check(false, `B's second card is not explained as B's #2: ${await page.getByTestId("explain-dialog").getAttribute("aria-label")}`));
  check(apiCalls.includes("/c/shop-fp32/api/recall/explain"), "B's explanation was not asked of B's build");
  await page.keyboard.press("Escape");
  await why.waitFor({ state: "detached", timeout: 5000 });
  await second.getByRole("button", { name: `Similar to ${secondTitle}` }).click();
  await page.getByRole("dialog", { name: new RegExp(`\\(catalog shop-fp32\\)$`) }).waitFor({ timeout: 10000 });
  const asin = await second.getAttribute("data-asin");
  check(apiCalls.includes(`/c/shop-fp32/api/products/${asin}/similar`), "B's neighbours were not asked of B's build");
  await page.keyboard.press("Escape");
  step("compare: each side's heading names its model; B's Explain and Similar answer from B's build");
  check(/own clicks, CF model and popularity/.test(await page.getByTestId("compare-builds-note").textContent()),
    "comparing two builds does not say what else differs between them");
  const fusionOf = async (side) => (await side.locator("p.status").textContent()).match(/fusion ([a-z]+)/)?.[1];
  check(await fusionOf(sideB) !== await fusionOf(sideA), "the two sides start with the same fusion: the check below would prove nothing");
  const fusionA = await fusionOf(sideA);
  await page.getByRole("button", { name: "Use A's configuration for B" }).click();
  await page.waitForFunction((f) => new RegExp(`fusion ${f}`).test(document.querySelector('[aria-label="configuration B"] p.status')?.textContent ?? ""), fusionA, { timeout: 10000 })
    .catch(async () => check(false, `B kept fusion ${await fusionOf(sideB)} after taking A's (${fusionA})`));
  step(`compare: B took A's configuration (fusion ${fusionA}); the note says what else differs between builds`);
  check(!/&&/.test(page.url()), `the URL has an empty pair: ${page.url()}`);
  // Editing the link in place is followed: without b.catalog, B recalls from the page's build again.
  await page.evaluate(() => { location.hash = location.hash.replace(/&b\.catalog=shop-fp32/, ""); });
  await page.waitForFunction(() => /B: model all-MiniLM-L6-v2-int8-smooth/.test(document.querySelector('[data-testid="compare-models"]')?.textContent ?? ""), null, { timeout: 10000 })
    .catch(async () => check(false, `B did not follow the edited link: ${await page.getByTestId("compare-models").textContent()}`));
  check(!/b\.catalog=/.test(page.url()), `the app wrote b.catalog back: ${page.url()}`);
  step("compare: an edited link without b.catalog puts B back on the page's build");

  // A link to another catalog, followed in the same tab, loads that catalog.
  await page.goto(`${base}/#/catalog?user=byo-user`);
  await page.getByText(/^4960 products|^\d+ products/).first().waitFor({ timeout: 15000 });
  await page.waitForFunction(() => !document.querySelector('[data-testid="catalog-badge"]'), null, { timeout: 10000 });
  const back = await page.getByText(/^\d+ products ·/).first().textContent();
  check(!/^120 products/.test(back), `the default catalog's link still shows shop: ${back}`);
  step(`a link without catalog= in the same tab goes back to the default: ${back.slice(0, 30)}`);
  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
}
