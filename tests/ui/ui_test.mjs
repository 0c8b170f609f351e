// Drives Codebook's web page in Debian's headless Chromium (puppeteer-core, no browser of its
// own) as a user would: types a query key by key and reads the ranked results, opens codes with
// the keyboard and by link (notes by kind, chapter and block, children, 7th characters,
// ICD-10-PCS axes, HCPCS properties and modifiers, history with successors), compares two
// releases (counts, filters, a value set), checks claim lines, reads the releases' timeline,
// pastes a token to read CPT text, and checks every view at 200% zoom and its shareable URL.
// Keeps a screenshot of each step in SCREENSHOT_DIR.
//
//   node ui_test.mjs BASE_URL SCREENSHOT_DIR [KEYSTROKES]
//
// BASE_URL: a codebookd HTTP port loaded with the default data (deploy/load-default-data.sh:
// the official releases or the repo's sample) and the value set tests/valuesets/diabetes.json.
// Environment: CODEBOOK_UI_TOKEN, a token with the scope license:CPT; CODEBOOK_REAL_DATA=1
// when the official releases are loaded (the conversion tables' successors are then required).
// With KEYSTROKES, it then types 1-3 word queries key by key, waiting for each key's results,
// until that many keystrokes, and prints the median and p99 of keystroke-to-results on the
// page, of the same Search calls made alone from the page (the JSON API's round trip), and,
// with CODEBOOK_GRPC=HOST:PORT, of the Search rpc itself over gRPC (@grpc/grpc-js).
// Exits 0 when every check passes, 1 with the failed check otherwise.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const [base, shots, keystrokesArg] = process.argv.slice(2);
const keystrokes = Number(keystrokesArg || 0);
const realData = process.env.CODEBOOK_REAL_DATA === '1';
if (!base || !shots) {
  console.error('usage: node ui_test.mjs BASE_URL SCREENSHOT_DIR [KEYSTROKES]');
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
const f1 = (v) => v.toFixed(1);
const text = (page, sel) => page.$eval(sel, (e) => e.innerText);
const shot = (page, name, fullPage = true) =>
  page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });

// Each Search of PREFIXES over gRPC, one after the other, in ms (warmed up first).
async function grpcTimes(target, prefixes) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const def = protoLoader.loadSync('codebook/v1/terminology.proto',
                                   { includeDirs: [path.join(here, '../../proto')] });
  const { Terminology } = grpc.loadPackageDefinition(def).codebook.v1;
  const client = new Terminology(target, grpc.credentials.createInsecure());
  const search = (query) => new Promise((resolve, reject) => {
    client.Search({ system: 'ICD10CM', query, pageSize: 20 },
                  (e, answer) => (e ? reject(e) : resolve(answer)));
  });
  for (const q of prefixes.slice(0, 10)) await search(q);
  const out = [];
  for (const q of prefixes) {
    const t0 = performance.now();
    await search(q);
    out.push(performance.now() - t0);
  }
  client.close();
  return out;
}

// Types QUERIES key by key (waiting for each key's results) until `count` keystrokes; then
// times the same Search calls alone, from the page and over gRPC. Prints the distributions.
async function measure(page, count) {
  await page.goto(`${base}/?system=ICD10CM`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#system option[value="ICD10CM"]');
  const prefixes = [];
  let typed = 0;
  const words = [0, 0, 0];
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
      words[prefix.trim().split(/\s+/).length - 1] += 1;
      await page.waitForFunction((n) => window.codebookTimings.length > n, {}, before);
    }
  }
  const onPage = (await page.evaluate(() => window.codebookTimings)).slice(-prefixes.length);
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
  const line = (what, v) => console.log(
    `${what}: median ${f1(percentile(v, 50))} ms, p99 ${f1(percentile(v, 99))} ms (n=${v.length})`);
  console.log(`keystrokes: ${typed}; queries of 1, 2, 3 words: ${words.join(', ')}`);
  line('keystroke to results on the page', onPage);
  line('the same Search calls alone from the page (JSON API round trip)', alone);
  if (process.env.CODEBOOK_GRPC) {
    line('the same Search rpcs over gRPC from Node.js', await grpcTimes(process.env.CODEBOOK_GRPC,
                                                                        prefixes));
  }
}

// No sideways scrolling at 200% zoom (half the width in CSS pixels), on the page as it is.
async function zoomed(page, name) {
  const size = page.viewport();
  await page.setViewport({ width: 600, height: 800, deviceScaleFactor: 2 });
  const [sideways, wide] = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const over = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 0.5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className}`);
    return [document.documentElement.scrollWidth - width, over.slice(0, 5).join(' ')];
  });
  check(sideways <= 0, `${name} at 200% zoom: nothing spills sideways` +
        (sideways > 0 ? ` (${sideways} px: ${wide})` : ''));
  await shot(page, `${name}-zoom-200`);
  await page.setViewport(size);
}

// Waits until the concept panel shows a code (its heading, not "Opening ...").
async function conceptShown(page) {
  await page.waitForSelector('#concept h2');
  await page.waitForFunction(() => !document.querySelector('#concept').innerText
    .startsWith('Opening'));
}

// Opens PARAMS on a fresh load and waits for the concept panel's heading.
async function openCode(page, params) {
  await page.goto(`${base}/?${params}`, { waitUntil: 'networkidle0' });
  await conceptShown(page);
}

async function searchAndOpen(page) {
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
  check(/ICD10CM FY\d{4}/.test(await text(page, '#status')),
        'the status names the release searched');
  await shot(page, '01-search-diabetes');
  // Billable codes only: no header left.
  await page.click('#billable');
  await page.waitForFunction(() => !document.querySelector('#results .tag.header') &&
                                   document.querySelector('#results a[data-code]'));
  check(page.url().includes('billable=1'), 'the billable filter is in the URL');
  await page.click('#billable');
  await page.waitForSelector('#results .tag.header');

  // The keyboard alone: down into the results, Enter opens the first.
  await page.focus('#q');
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
  const title = await page.title();
  check(title.startsWith(codes[0]), `and so does the title ("${title}")`);
  return heading;
}

async function conceptDetails(page) {
  // E11.9: where it sits, the Tabular's notes by kind, its history.
  await openCode(page, 'system=ICD10CM&q=diabetes&code=E11.9');
  const panel = await text(page, '#concept');
  check(/Chapter[\s\S]*Endocrine/.test(panel) && /Block[\s\S]*E08-E13/.test(panel),
        'E11.9 shows its chapter and block');
  const kinds = await page.$$eval('#concept ul.notes', (uls) => uls.map((u) => u.dataset.kind));
  check(kinds.length > 0, `E11.9 shows the Tabular's notes by kind (${kinds.join(', ')})`);
  check(await page.$('#concept nav.path a[data-code="E11"]') !== null,
        'E11.9 links to its parent E11');
  check(/History[\s\S]*added/.test(panel), 'E11.9 shows its history');
  await shot(page, '02-concept-E11.9');
  await zoomed(page, '02-concept-E11.9');
  // A click on the parent: its children, to click through.
  await page.click('#concept nav.path a[data-code="E11"]');
  await page.waitForSelector('#concept ul.children a[data-code="E11.9"]');
  check(/code=E11(&|$)/.test(page.url()), 'the parent opens by link, in the URL');
  await shot(page, '02b-concept-E11-children');
  await page.goBack();
  await page.waitForFunction(() => document.querySelector('#concept h2')?.textContent
    .includes('E11.9'));
  check(true, 'Back returns to E11.9');

  // A code that needs a 7th character: the characters and their meanings.
  await openCode(page, 'system=ICD10CM&code=S52.501');
  check(/Needs a 7th character: S52\.501\?/.test(await text(page, '#concept')),
        'S52.501 says it needs a 7th character');
  check((await text(page, '#concept')).includes('initial encounter for closed fracture'),
        'and lists the 7th characters with their meanings');
  await shot(page, '02c-concept-seventh-characters');

  // A deleted code: the error, and its history with the codes that replace it.
  await openCode(page, 'system=ICD10CM&code=T81.32XA');
  const deleted = await text(page, '#concept');
  check(/deleted in ICD10CM FY2025/.test(deleted), 'T81.32XA: deleted in FY2025');
  check(/FY2025[^\n]*\tdeleted/.test(deleted), 'its history shows the deletion');
  if (realData) {
    check(await page.$('#concept a[data-code="T81.320A"]') !== null,
          'and links to its successors from the conversion table (T81.320A)');
  }
  await shot(page, '02d-concept-deleted-history');

  // ICD-10-PCS: each character's axis and meaning.
  await openCode(page, 'system=ICD10PCS&code=0DBJ0ZZ');
  const pcs = await text(page, '#concept');
  check(/Body Part\s+J\s+Appendix/.test(pcs) && /Approach\s+0\s+Open/.test(pcs),
        '0DBJ0ZZ shows its axes (Body Part J Appendix, Approach 0 Open)');
  await shot(page, '02e-concept-pcs-axes');

  // HCPCS: properties and modifiers; a modifier added from the page.
  await openCode(page, 'system=HCPCS&code=E0114');
  check(/betos/i.test(await text(page, '#concept')), 'E0114 shows its HCPCS properties (BETOS)');
  await page.type('#modifiers', 'RT');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#concept .modifier');
  const mods = await text(page, '#concept .modifier');
  check(/RT\s+Right side/i.test(mods), `E0114-RT shows the modifier RT ("${mods.split('\n')[0]}")`);
  check(page.url().includes('code=E0114-RT'), 'with the modifier in the URL');
  await shot(page, '02f-concept-hcpcs-modifier');
  await page.goBack();
  await page.waitForFunction(() => !document.querySelector('#concept .modifier') &&
                                   /^E0114 /.test(document.querySelector('#concept h2')?.innerText));
  check(!page.url().includes('E0114-RT'), 'Back returns to E0114 without the modifier');

  // CPT text obeys the caller's scope: withheld without a token, shown with the licence.
  await openCode(page, 'system=CPT&code=99213');
  check((await text(page, '#concept')).includes('text needs a licence'),
        'CPT 99213 without a token: the text is withheld');
  if (process.env.CODEBOOK_UI_TOKEN) {
    await page.click('footer summary');
    await page.type('#token', process.env.CODEBOOK_UI_TOKEN);
    // The page reloads with the token: wait for it from before the key, so it cannot be missed.
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }),
                       page.keyboard.press('Enter')]);
    await conceptShown(page);
    const h = await text(page, '#concept h2');
    check(h.length > '99213 '.length && !(await text(page, '#concept')).includes('needs a licence'),
          `with a token holding license:CPT it is shown ("${h}")`);
    await shot(page, '02g-concept-cpt-licensed');
    await page.evaluate(() => sessionStorage.removeItem('codebook-token'));
  }
}

async function compareReleases(page) {
  await page.goto(`${base}/?view=compare&system=ICD10CM`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#cmp-from option');
  await page.select('#cmp-from', 'FY2024');
  await page.select('#cmp-to', 'FY2025');
  await page.click('#compare-form button[type="submit"]');
  await page.waitForSelector('#cmp-count');
  const out = await text(page, '#compare-out');
  check(/Added\s+\d+/.test(out) && /Deleted\s+\d+/.test(out),
        'FY2024 → FY2025: counts by kind of change');
  const rows = await page.$$eval('#cmp-changes tbody tr', (t) => t.length);
  check(rows > 0, `and the changed codes (${(await text(page, '#cmp-count'))})`);
  check(page.url().includes('from=FY2024') && page.url().includes('to=FY2025'),
        'the releases compared are in the URL');
  await shot(page, '04-compare-FY2024-FY2025', false);
  // Filtered by words or code, and by kind of change.
  await page.type('#cmp-filter', 'T81.32');
  const filtered = await page.$$eval('#cmp-changes tbody tr td:first-child',
                                     (tds) => tds.map((t) => t.innerText));
  check(filtered.length > 0 && filtered.every((c) => c.startsWith('T81.32')),
        `the filter keeps the codes that match it (${filtered.join(', ')})`);
  check(/T81\.32XA\s+deleted\s+Disruption/.test(await text(page, '#compare-out')),
        'T81.32XA is listed as deleted, with its text before');
  await page.select('#cmp-type', 'CHANGE_TYPE_DELETED');
  const onlyDeleted = await page.$$eval('#cmp-changes tbody tr td:nth-child(2)',
                                        (tds) => tds.map((t) => t.innerText));
  check(onlyDeleted.length > 0 && onlyDeleted.every((t) => t.includes('deleted')),
        `the kind of change keeps only deletions (${onlyDeleted.length})`);
  await shot(page, '04b-compare-filtered');
  await zoomed(page, '04b-compare-filtered');
  // A value set: only its codes.
  await page.$eval('#cmp-filter', (e) => { e.value = ''; });
  await page.select('#cmp-type', '');
  const vs = await page.$$eval('#cmp-vs option', (os) => os.map((o) => o.value));
  const diabetes = vs.find((v) => v.startsWith('https://payer.example/vs/diabetes|'));
  check(diabetes !== undefined, 'the value sets are offered');
  await page.select('#cmp-vs', diabetes);
  await page.click('#compare-form button[type="submit"]');
  await page.waitForFunction(() => /entered/.test(document.querySelector('#compare-out')
    ?.innerText || ''));
  const inSet = await page.$$eval('#cmp-changes tbody tr td:first-child',
                                  (tds) => tds.map((t) => t.innerText));
  check(inSet.every((c) => /^E(0[89]|1[0-3])/.test(c)),
        `with the diabetes value set only its codes are left (${inSet.length}: ` +
        `${inSet.slice(0, 4).join(', ')})`);
  await shot(page, '04c-compare-value-set');
}

async function claims(page) {
  const lines = ['99213,25,1,E11.9;I10', 'E0114,RT,1,E11', '99214,,1,S52.501',
    '99215,,1,T81.32XA', 'E0114,,1'].join('\n');
  await page.goto(`${base}/?view=claims`, { waitUntil: 'networkidle0' });
  await page.type('#claim-lines', lines);
  await page.click('#claims-form button[type="submit"]');
  await page.waitForSelector('#claims-out .error');
  const out = await text(page, '#claims-out');
  check(/line 5: .*needs code,modifiers,units,diagnoses/.test(out),
        'a malformed line is named before anything is sent');
  await page.$eval('#claim-lines', (e, v) => { e.value = v; }, lines.split('\n').slice(0, 4)
    .join('\n'));
  await page.focus('#claim-lines');
  await page.keyboard.down('Control');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Control');
  await page.waitForSelector('#claims-count');
  const rows = await page.$$eval('#claim-results tbody tr', (trs) => trs.map((t) => t.innerText));
  check(rows.length === 4, 'each claim line has its result');
  check(/\bvalid\b/.test(rows[0]) && !/not valid/.test(rows[0]), `line 1 is valid`);
  check(/not valid[\s\S]*E11 is a header/.test(rows[1]), 'line 2: E11 is a header');
  check(/not valid[\s\S]*7th character/.test(rows[2]), 'line 3: S52.501 needs a 7th character');
  check(/not valid[\s\S]*deleted/.test(rows[3]), 'line 4: T81.32XA was deleted');
  check(page.url().includes('lines='), 'the lines are in the URL');
  await shot(page, '05-claims');
  await zoomed(page, '05-claims');
}

async function releases(page) {
  await page.goto(`${base}/?view=releases`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#releases-out table');
  const out = await text(page, '#releases-out');
  for (const s of ['ICD-10-CM', 'ICD-10-PCS', 'HCPCS', 'CPT']) {
    check(out.includes(s), `the releases of ${s} are listed`);
  }
  check(/FY2025\s+2024-10-01\s+published\s+[\d,]+ \(\+[\d,]+/.test(out),
        'ICD-10-CM FY2025: effective date, state and counts');
  check(/Published by CDC/.test(out) && /[0-9a-f]{12}/.test(out), 'publisher and checksum');
  check((await page.$$('.timeline .mark')).length >= 4, 'the timeline marks each release');
  await shot(page, '06-releases');
  await zoomed(page, '06-releases');
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
    try { bodies.push({ url: r.url(), bytes: (await r.buffer()).length }); } catch {
      bodies.push({ url: r.url(), bytes: 0 });
    }
  };
  page.on('response', onResponse);

  const loaded = await page.goto(`${base}/`, { waitUntil: 'networkidle0' });
  check(loaded.ok(), `the page loads from ${base}/`);
  await page.waitForSelector('#system option[value="ICD10CM"]');
  page.off('response', onResponse);
  console.log(`first load: ${bodies.length} requests, ` +
              `${bodies.reduce((a, b) => a + b.bytes, 0)} bytes of answers (uncompressed):`);
  for (const b of bodies) console.log(`  ${b.bytes} ${b.url.replace(base, '')}`);
  const wire = await page.evaluate(() => performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource')).reduce((a, e) => a + e.transferSize, 0));
  console.log(`first load: ${wire} bytes on the wire (gzip, with HTTP headers)`);
  // data: URLs are Chromium's own (the date field's icon).
  const elsewhere = requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:'));
  check(elsewhere.length === 0,
        `every request of the page goes to the server (${elsewhere.join(', ')})`);

  const heading = await searchAndOpen(page);
  // A shared link opens the same view.
  const shared = await browser.newPage();
  await shared.goto(page.url(), { waitUntil: 'networkidle0' });
  await shared.waitForFunction((h) => document.querySelector('#concept h2')?.textContent === h,
                               {}, heading);
  check((await shared.$eval('#q', (e) => e.value)) === 'diabetes',
        'the shared link opens the same code and query');
  await shared.close();
  // Another system: the code of the first one closes.
  await page.select('#system', 'HCPCS');
  await page.waitForFunction(() => document.querySelector('#concept').hidden &&
                                   !location.search.includes('code='));
  check(true, 'choosing another system closes the code');

  // A code that is not there: said on the page.
  await openCode(page, 'system=ICD10CM&code=Q99.99');
  check((await page.$eval('#concept .error', (e) => e.textContent)).length > 0,
        'an unknown code is reported on the page');
  await shot(page, '03-unknown-code');

  await conceptDetails(page);
  await compareReleases(page);
  await claims(page);
  await releases(page);
  check(errors.length === 0, `no script errors (${errors.join('; ')})`);
  if (keystrokes > 0) await measure(page, keystrokes);
} catch (e) {
  console.error(e.message);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
