// Drives Codebook's web page in Debian's headless Chromium (puppeteer-core, no browser of its
// own) as a user would: types a query key by key, reads the ranked results, opens a code with
// the keyboard, and checks the page and its shareable URL. Keeps a screenshot of each step.
//
//   node ui_test.mjs BASE_URL SCREENSHOT_DIR [KEYSTROKES]
//
// With KEYSTROKES, it then types 1-3 word queries key by key, waiting for each key's results,
// until that many keystrokes, and prints the median and p99 of keystroke-to-results on the page
// beside those of the same Search calls made alone from the page (the JSON API's round trip).
//
// BASE_URL: a codebookd HTTP port holding ICD-10-CM (FY2025 with E11.9), e.g.
// http://127.0.0.1:8080. Exits 0 when every check passes, 1 with the failed check otherwise.
// Prints the time from each keystroke to its results on the page (the page's own measure).
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [base, shots, keystrokesArg] = process.argv.slice(2);
const keystrokes = Number(keystrokesArg || 0);
if (!base || !shots) {
  console.error('usage: node ui_test.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });

function check(ok, what) {
  if (!ok) throw new Error(`failed: ${what}`);
  console.log(`ok: ${what}`);
}

const QUERIES = ['diabetes', 'kidney failure', 'fracture of femur', 'essential hypertension',
  'asthma', 'pneumonia', 'sepsis', 'obesity', 'major depressive', 'migraine', 'heart failure',
  'knee pain', 'chest pain', 'urinary tract infection', 'anemia', 'copd', 'back pain',
  'atrial fibrillation', 'breast cancer', 'hip replacement'];

function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];
}

// Types QUERIES key by key (waiting for each key's results) until `count` keystrokes; then
// times the same Search calls alone. Prints both distributions.
async function measure(page, count) {
  await page.goto(`${base}/?system=ICD10CM`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#system option[value="ICD10CM"]');
  const prefixes = [];
  let typed = 0;
  for (let i = 0; typed < count; ++i) {
    const query = QUERIES[i % QUERIES.length];
    await page.$eval('#q', (e) => { e.value = ''; });
    for (const ch of query) {
      if (typed >= count) break;
      const before = await page.evaluate(() => window.codebookTimings.length);
      await page.type('#q', ch);
      typed += 1;
      const prefix = await page.$eval('#q', (e) => e.value);
      if (!prefix.trim()) continue;
      prefixes.push(prefix.trim());
      await page.waitForFunction((n) => window.codebookTimings.length > n, {}, before);
    }
  }
  const onPage = await page.evaluate(() => window.codebookTimings);
  const alone = await page.evaluate(async (qs) => {
    const out = [];
    for (const query of qs) {
      const t0 = performance.now();
      const res = await fetch('/api/v1/codebook.v1.Terminology/Search', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ system: 'ICD10CM', query, pageSize: 20 }) });
      await res.json();
      out.push(performance.now() - t0);
    }
    return out;
  }, prefixes);
  const f = (v) => v.toFixed(1);
  console.log(`keystrokes: ${typed}, searches measured on the page: ${onPage.length}`);
  console.log(`keystroke to results on the page: median ${f(percentile(onPage, 50))} ms, ` +
              `p99 ${f(percentile(onPage, 99))} ms`);
  console.log(`the same Search calls alone (JSON API round trip): median ` +
              `${f(percentile(alone, 50))} ms, p99 ${f(percentile(alone, 99))} ms`);
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let failed = false;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 800 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const bodies = [];  // bytes of each answer's body on first load
  const onResponse = async (r) => {
    if (r.url().startsWith('data:')) return;
    try { bodies.push((await r.buffer()).length); } catch { bodies.push(0); }
  };
  page.on('response', onResponse);

  const loaded = await page.goto(`${base}/`, { waitUntil: 'networkidle0' });
  check(loaded.ok(), `the page loads from ${base}/`);
  await page.waitForSelector('#system option[value="ICD10CM"]');
  page.off('response', onResponse);
  console.log(`first load: ${bodies.length} requests, ` +
              `${bodies.reduce((a, b) => a + b, 0)} bytes of answers (uncompressed)`);
  const elsewhere = requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:'));
  check(elsewhere.length === 0,
        `every request of the page goes to the server (${elsewhere.join(', ')})`);
  await page.select('#system', 'ICD10CM');
  await page.focus('#q');
  await page.keyboard.type('diabetes', { delay: 60 });
  await page.waitForFunction(
    () => document.querySelectorAll('#results a[data-code]').length > 0 &&
          document.querySelector('#q').value === 'diabetes' &&
          window.codebookTimings.length > 0);
  const codes = await page.$$eval('#results a[data-code]', (as) => as.map((a) => a.dataset.code));
  check(codes.some((c) => c.startsWith('E11')),
        `"diabetes" finds type 2 diabetes codes (${codes.slice(0, 5).join(', ')})`);
  check((await page.$eval('#status', (e) => e.textContent)).includes('ICD10CM FY2025'),
        'the status names the release searched');
  await page.screenshot({ path: path.join(shots, '01-search-diabetes.png'), fullPage: true });
  const timings = await page.evaluate(() => window.codebookTimings);
  console.log('keystroke to results on the page (ms):',
              timings.map((t) => t.toFixed(1)).join(' '));

  // The keyboard alone: down into the results, Enter opens the first.
  await page.keyboard.press('ArrowDown');
  const focused = await page.evaluate(() => document.activeElement.dataset.code);
  check(focused === codes[0], `ArrowDown moves to the first result (${focused})`);
  await page.keyboard.press('Enter');
  await page.waitForFunction((c) => {
    const h = document.querySelector('#concept h2');
    return h && h.textContent.includes(c);
  }, {}, codes[0]);
  const heading = await page.$eval('#concept h2', (e) => e.textContent);
  check(heading.includes(codes[0]), `Enter opens ${codes[0]}: "${heading}"`);
  check(page.url().includes(`code=${encodeURIComponent(codes[0])}`),
        `the URL names the code (${page.url()})`);
  await page.screenshot({ path: path.join(shots, '02-concept.png'), fullPage: true });

  // 200% zoom: the same page in half the width (CSS pixels) must not scroll sideways.
  await page.setViewport({ width: 600, height: 800, deviceScaleFactor: 2 });
  const sideways = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(sideways <= 0, `at 200% zoom nothing spills sideways (${sideways} px)`);
  await page.screenshot({ path: path.join(shots, '02b-concept-zoom-200.png'), fullPage: true });
  await page.setViewport({ width: 1200, height: 800 });

  // A shared link opens the same view.
  const shared = await browser.newPage();
  await shared.goto(page.url(), { waitUntil: 'networkidle0' });
  await shared.waitForSelector('#concept h2');
  check((await shared.$eval('#concept h2', (e) => e.textContent)) === heading,
        'the shared link opens the same code');
  check((await shared.$eval('#q', (e) => e.value)) === 'diabetes', 'and the same query');
  await shared.close();

  // A code that is not there: said on the page.
  await page.goto(`${base}/?system=ICD10CM&code=Q99.99`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#concept .error');
  check((await page.$eval('#concept .error', (e) => e.textContent)).length > 0,
        'an unknown code is reported on the page');
  await page.screenshot({ path: path.join(shots, '03-unknown-code.png'), fullPage: true });
  check(errors.length === 0, `no script errors (${errors.join('; ')})`);
  if (keystrokes > 0) await measure(page, keystrokes);

} catch (e) {
  console.error(e.message);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
