// The compare view: two releases of a system (DiffReleases), their counts by kind of change,
// then every changed code with its before and after, filtered by words, code prefix or kind of
// change; with a value set picked, only the codes in it on either release's effective date
// (ExpandValueSet) and the codes that entered or left it (DiffValueSet).
import {
  $, api, fill, el, codeLink, enumName, setParams, table, errorText, fillSystems,
} from './common.js';

const form = { system: $('cmp-system'), from: $('cmp-from'), to: $('cmp-to'), vs: $('cmp-vs'),
               filter: $('cmp-filter'), type: $('cmp-type') };
const out = $('compare-out');
const SHOWN = 200;  // rows at a time

// The DiffSummary fields, in the order shown, with their names for people.
const COUNTS = [
  ['changedCodes', 'Codes that differ'], ['added', 'Added'], ['deleted', 'Deleted'],
  ['reactivated', 'Reactivated'], ['displayChanged', 'Display changed'],
  ['designationChanged', 'Other descriptions changed'], ['propertyChanged', 'Properties changed'],
  ['billableChanged', 'Billable flag changed'], ['billableAdded', 'Billable codes added'],
  ['billableRemoved', 'Billable codes removed'], ['headersAdded', 'Headers added'],
  ['headersRemoved', 'Headers removed'],
];

let diff = null;  // { key, changes, summary, from, to, vsCodes, vsDiff }: the last comparison

async function fillReleases(system) {
  const answer = await api('ListReleases', { system });
  const published = (answer.releases || []).filter((r) => r.state === 'RELEASE_STATE_PUBLISHED');
  for (const select of [form.from, form.to]) {
    select.replaceChildren(...published.map((r) => el('option', { value: r.version },
      `${r.version} (effective ${r.effectiveDate})`)));
  }
  form.from.dataset.system = system;
  // By default the newest release against the one before it.
  if (published.length) form.to.value = published[published.length - 1].version;
  if (published.length > 1) form.from.value = published[published.length - 2].version;
  return published;
}

async function fillValueSets() {
  if (form.vs.options.length) return;
  form.vs.append(el('option', { value: '' }, 'every code'));
  const answer = await api('ListValueSets', {});
  for (const v of answer.valueSets || []) {
    form.vs.append(el('option', { value: `${v.url}|${v.version}` },
                      `${v.title || v.url} (version ${v.version})`));
  }
}

// The codes of the value set URL|VERSION on DATE, for SYSTEM: a Set (every page).
async function members(url, version, system, date) {
  const codes = new Set();
  let pageToken = '';
  do {
    const a = await api('ExpandValueSet', { url, version, dateOfService: date, pageSize: 1000,
                                            pageToken });
    for (const e of a.concepts || []) if (e.system === system) codes.add(e.concept.code);
    pageToken = a.nextPageToken || '';
  } while (pageToken);
  return codes;
}

// What differs between two concepts, in words: "billable: yes → no".
function differences(before, after) {
  if (!before || !after) return '';
  const out = [];
  const yes = (b) => (b ? 'yes' : 'no');
  if (!!before.billable !== !!after.billable) {
    out.push(`billable: ${yes(before.billable)} → ${yes(after.billable)}`);
  }
  for (const f of ['kind', 'status', 'parent', 'terminationDate', 'actionCode']) {
    if ((before[f] || '') !== (after[f] || '')) {
      out.push(`${f}: ${before[f] || '(none)'} → ${after[f] || '(none)'}`);
    }
  }
  const keys = new Set([...Object.keys(before.properties || {}),
                        ...Object.keys(after.properties || {})]);
  for (const k of [...keys].sort()) {
    const b = (before.properties || {})[k] || '';
    const a = (after.properties || {})[k] || '';
    if (a !== b) out.push(`${k}: ${b || '(none)'} → ${a || '(none)'}`);
  }
  const texts = (c) => (c.designations || []).map((d) => `${d.use}: ${d.value}`).join('; ');
  if (texts(before) !== texts(after)) {
    out.push(`descriptions: ${texts(before)} → ${texts(after)}`);
  }
  return out.join('; ');
}

// TEXT with the words that OTHER does not have marked (<mark>): what a display change changed.
function marked(text, other) {
  if (!text || !other) return text || '';
  const theirs = new Set(other.split(/\s+/));
  return text.split(/(\s+)/).map((w) => (w.trim() && !theirs.has(w) ? el('mark', {}, w) : w));
}

function matches(change, words, type) {
  if (type && !(change.types || []).includes(type)) return false;
  if (!words.length) return true;
  const text = [change.code, change.before?.display, change.after?.display].join(' ')
    .toLowerCase();
  return words.every((w) => text.includes(w));
}

// A side's display, its changed words marked; a note when the caller may not read the text.
function display(concept, other) {
  if (concept?.textWithheld) return '(text needs a licence)';
  return el('span', {}, marked(concept?.display, other?.display));
}

function render(shown = SHOWN) {
  const { changes, summary, from, to, vsCodes, vsDiff } = diff;
  const words = form.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
  const type = form.type.value;
  const inSet = vsCodes ? changes.filter((c) => vsCodes.has(c.code)) : changes;
  const picked = inSet.filter((c) => matches(c, words, type));
  const entered = new Map((vsDiff?.changes || []).map((c) => [c.code, c.entered]));
  const rows = picked.slice(0, shown).map((c) => {
    const date = c.after ? to.effectiveDate : from.effectiveDate;
    const kinds = (c.types || []).map((t) => enumName(t, 'CHANGE_TYPE_')).join(', ');
    const vsTag = entered.has(c.code)
      ? el('span', { class: 'tag' }, entered.get(c.code) ? 'entered the value set'
        : 'left the value set') : null;
    return [codeLink(form.system.value, c.code, date), el('span', {}, kinds, ' ', vsTag),
      display(c.before, c.after), display(c.after, c.before),
      differences(c.before, c.after)];
  });
  const counts = COUNTS.filter(([k]) => summary[k] && summary[k] !== '0')
    .map(([k, name]) => [name, String(summary[k])]);
  const vsLine = vsDiff
    ? el('p', {}, `${form.vs.selectedOptions[0].textContent}: ${vsDiff.fromTotal || 0} codes on ` +
                  `${from.effectiveDate}, ${vsDiff.toTotal || 0} on ${to.effectiveDate}; ` +
                  `${vsDiff.entered || 0} entered, ${vsDiff.left || 0} left. ` +
                  `${inSet.length} of the release's ${changes.length} changed codes are in it.`)
    : null;
  const more = picked.length > shown
    ? el('button', { type: 'button', id: 'cmp-more' }, `Show more (${picked.length - shown} left)`)
    : null;
  more?.addEventListener('click', () => render(shown + SHOWN));
  fill(out,
    el('h2', {}, `${from.system} ${from.version} → ${to.version}`),
    table('Counts by kind of change', ['Change', 'Codes'], counts),
    vsLine,
    el('p', { id: 'cmp-count', role: 'status' },
       `${picked.length} of ${changes.length} changed codes match` +
       `${picked.length > shown ? `; the first ${shown} are shown` : ''}`),
    table(null, ['Code', 'Change', 'Before', 'After', 'What else differs'], rows,
          { id: 'cmp-changes' }),
    more);
}

async function compare() {
  const system = form.system.value;
  const [fromV, toV, vs] = [form.from.value, form.to.value, form.vs.value];
  setParams({ system, from: fromV, to: toV, vs, filter: form.filter.value,
              type: form.type.value });
  const key = `${system}|${fromV}|${toV}|${vs}`;
  if (diff?.key === key) { render(); return; }
  fill(out, el('p', { role: 'status' }, `Comparing ${system} ${fromV} and ${toV}…`));
  try {
    const messages = await api('DiffReleases', { system, fromVersion: fromV, toVersion: toV,
                                                 pageSize: 5000 });
    const last = messages[messages.length - 1];
    const d = { key, changes: messages.flatMap((m) => m.changes || []), summary: last.summary,
                from: messages[0].from, to: messages[0].to };
    if (vs) {
      const [url, version] = vs.split('|');
      const [a, b, vsDiff] = await Promise.all([
        members(url, version, system, d.from.effectiveDate),
        members(url, version, system, d.to.effectiveDate),
        api('DiffValueSet', { url, fromVersion: version, toVersion: version,
                              fromDate: d.from.effectiveDate, toDate: d.to.effectiveDate })]);
      d.vsCodes = new Set([...a, ...b]);
      d.vsDiff = vsDiff;
    }
    diff = d;
    render();
  } catch (e) {
    fill(out, errorText(e));
  }
}

$('compare-form').addEventListener('submit', (ev) => { ev.preventDefault(); compare(); });
form.system.addEventListener('change', async () => {
  diff = null;
  await fillReleases(form.system.value);
});
for (const f of [form.filter, form.type]) {
  f.addEventListener('input', () => {
    setParams({ filter: form.filter.value, type: form.type.value });
    if (diff) render();
  });
}

export async function show(p) {
  try {
    await fillSystems(form.system, p.get('system'));
    await fillValueSets();
    if (form.from.dataset.system !== form.system.value) await fillReleases(form.system.value);
  } catch (e) {
    fill(out, errorText(e));
    return;
  }
  for (const [k, f] of Object.entries({ from: form.from, to: form.to, vs: form.vs })) {
    if (p.get(k) && [...f.options].some((o) => o.value === p.get(k))) f.value = p.get(k);
  }
  form.filter.value = p.get('filter') || '';
  form.type.value = p.get('type') || '';
  if (p.get('from') && p.get('to')) compare();
}

// Kinds of change for the filter.
form.type.append(el('option', { value: '' }, 'any change'),
                 ...['ADDED', 'DELETED', 'REACTIVATED', 'DISPLAY_CHANGED', 'DESIGNATION_CHANGED',
                     'PROPERTY_CHANGED', 'BILLABLE_CHANGED'].map((t) => el('option',
                   { value: `CHANGE_TYPE_${t}` }, enumName(t, ''))));
