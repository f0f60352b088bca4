// The app on a build whose vectors are in Milvus (the scale-out issue), as a reviewer meets it:
// the header names the model and says the index is on Milvus; the user's recall shows its cards
// with their channels; the Quality view names the engine and the collection and draws its ANN
// chart; no page error at 390 or 1440 px. Usage: node milvus.mjs BASE_URL SCREENSHOT_DIR USER ALIAS
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, shots, user, alias] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const check = (cond, m) => { if (!cond) throw new Error(m); };
const step = (m) => console.log(`- ${m}`);

try {
  for (const [w, h] of [[1440, 950], [390, 844]]) {
    const context = await browser.newContext({ viewport: { width: w, height: h }, ...(w < 700 ? { isMobile: true, hasTouch: true } : {}) });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    // Failed requests, by address. An unevaluated build answers /api/eval/report with 404
    // `no_evaluation`, which the Quality view turns into how to run the evaluation.
    page.on("response", (r) => {
      if (r.status() >= 400 && !(r.status() === 404 && r.url().endsWith("/api/eval/report"))) errors.push(`${r.status()} ${r.url()}`);
    });

    await page.goto(`${base}/#/recall?user=${user}`);
    const badge = page.getByTestId("model-badge");
    await badge.waitFor({ timeout: 20000 });
    check(/on Milvus/.test(await badge.textContent()), `the badge does not say Milvus: ${await badge.textContent()}`);
    check((await badge.getAttribute("aria-label")).includes(alias), "the badge's label does not name the collection");
    const cards = page.getByTestId("recall-card");
    await cards.first().waitFor({ timeout: 20000 });
    check(await cards.count() > 5, "the recall shows too few cards");
    check(await cards.first().getAttribute("data-asin"), "a recall card has no data-asin");
    const badges = await page.locator('[data-testid="recall-card"] [data-testid^="badge-"]').count();
    check(badges >= await cards.count(), `channel badges missing (${badges} for ${await cards.count()} cards)`);
    await page.screenshot({ path: `${shots}/milvus-recall-${w}.png` });
    step(`${w} px: the badge says the index is on Milvus; ${await cards.count()} recall cards`);

    await page.goto(`${base}/#/quality?user=${user}`);
    await page.waitForSelector('[data-testid="quality-chart"] svg polyline', { timeout: 30000 });
    const table = await page.locator("table.stats", { hasText: "vectors" }).textContent();
    check(/on Milvus/.test(table), `the Quality view does not name the engine: ${table}`);
    check(table.includes(`alias ${alias}`), `the Quality view does not name the alias: ${table}`);
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth > innerWidth + 1);
    check(!sideways, `the Quality view scrolls sideways at ${w} px`);
    await page.screenshot({ path: `${shots}/milvus-quality-${w}.png`, fullPage: w < 700 });
    step(`${w} px: Quality names Milvus and the collection, its ANN chart is drawn`);
    check(errors.length === 0, `page errors at ${w} px: ${errors.join(" | ")}`);
    await context.close();
  }
} finally {
  await browser.close();
}
