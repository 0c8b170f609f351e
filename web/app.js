// Codebook's page: search as you type, open a code. It calls the server's gRPC API in JSON
// (/api/v1/..., server/json_api.h) with the tab's token, if any; no library, no build step.
// The URL holds the state (system, q, date, billable, code), so a link can be shared.

const $ = (id) => document.getElementById(id);
const form = { q: $('q'), system: $('system'), date: $('date'), billable: $('billable') };
const results = $('results');
const status = $('status');
const concept = $('concept');
const token = $('token');

// Times from a keystroke to its results on the page, in ms (read by the browser test).
window.codebookTimings = [];

async function api(method, body, signal) {
  const headers = { 'Content-Type': 'application/json' };
  const t = sessionStorage.getItem('codebook-token');
  if (t) headers.Authorization = `Bearer ${t}`;
  const res = await fetch(`/api/v1/codebook.v1.Terminology/${method}`,
                          { method: 'POST', headers, body: JSON.stringify(body), signal });
  const answer = await res.json();
  if (!res.ok) throw new Error(answer.message || `HTTP ${res.status}`);
  return answer;
}

function selector() {
  return form.date.value ? { dateOfService: form.date.value } : undefined;
}

function saveState(code) {
  const p = new URLSearchParams();
  p.set('system', form.system.value);
  if (form.q.value) p.set('q', form.q.value);
  if (form.date.value) p.set('date', form.date.value);
  if (form.billable.checked) p.set('billable', '1');
  if (code) p.set('code', code);
  history.replaceState(null, '', `?${p}`);
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function tags(c) {
  const out = [];
  if (c.kind === 'CONCEPT_KIND_HEADER') out.push(el('span', { class: 'tag header' }, 'header'));
  else if (c.billable === false) out.push(el('span', { class: 'tag' }, 'not billable'));
  if (c.status === 'CONCEPT_STATUS_INACTIVE') out.push(el('span', { class: 'tag' }, 'inactive'));
  if (c.textWithheld) out.push(el('span', { class: 'tag' }, 'text needs a licence'));
  return out;
}

let searchSeq = 0;
let inFlight = null;

async function search() {
  const seq = ++searchSeq;
  const started = performance.now();
  const query = form.q.value.trim();
  saveState(null);
  if (inFlight) inFlight.abort();
  if (!query) {
    results.replaceChildren();
    status.textContent = '';
    return;
  }
  inFlight = new AbortController();
  try {
    const answer = await api('Search', {
      system: form.system.value, query, pageSize: 20, billableOnly: form.billable.checked,
      selector: selector(),
    }, inFlight.signal);
    if (seq !== searchSeq) return;  // a newer keystroke answers
    const hits = answer.hits || [];
    results.replaceChildren(...hits.map((h) => {
      const c = h.concept;
      const href = `?system=${encodeURIComponent(form.system.value)}` +
                   `&code=${encodeURIComponent(c.code)}`;
      const a = el('a', { href, 'data-code': c.code },
                   el('span', { class: 'code' }, c.code),
                   el('span', { class: 'display' }, c.display || ''), ...tags(c));
      return el('li', {}, a);
    }));
    const release = answer.release ? `${answer.release.system} ${answer.release.version}` : '';
    status.textContent = hits.length
      ? `${hits.length} codes in ${release}` : `No codes match "${query}" in ${release}`;
    window.codebookTimings.push(performance.now() - started);
  } catch (e) {
    if (e.name === 'AbortError' || seq !== searchSeq) return;
    results.replaceChildren();
    status.textContent = e.message;
    status.className = 'status error';
    return;
  }
  status.className = 'status';
}

function row(term, ...value) {
  return [el('dt', {}, term), el('dd', {}, ...value)];
}

async function open(code) {
  saveState(code);
  concept.hidden = false;
  concept.replaceChildren(el('p', {}, `Opening ${code}…`));
  try {
    const answer = await api('Lookup', { system: form.system.value, code, selector: selector() });
    const c = answer.concept;
    const dl = el('dl');
    dl.append(...row('Release', `${answer.release.system} ${answer.release.version}` +
                                ` (effective ${answer.release.effectiveDate})`));
    dl.append(...row('Kind', (c.kind || '').replace('CONCEPT_KIND_', '').toLowerCase(),
                     ...tags(c)));
    if (c.parent) {
      const up = el('a', { href: '#', 'data-code': c.parent }, c.parent);
      up.addEventListener('click', (ev) => { ev.preventDefault(); open(c.parent); });
      dl.append(...row('Parent', up));
    }
    for (const d of c.designations || []) dl.append(...row(d.use || 'designation', d.value));
    for (const [k, v] of Object.entries(c.properties || {})) dl.append(...row(k, v));
    concept.replaceChildren(
      el('h2', {}, el('span', { class: 'code' }, c.code), ' ', c.display || ''), dl);
    concept.querySelector('h2').tabIndex = -1;
    concept.querySelector('h2').focus();
  } catch (e) {
    concept.replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

results.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-code]');
  if (!a) return;
  ev.preventDefault();
  open(a.dataset.code);
});

// Arrow keys move between the box and the results; Enter opens (a link's own behaviour).
document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
  const links = [...results.querySelectorAll('a')];
  if (!links.length) return;
  const i = links.indexOf(document.activeElement);
  if (document.activeElement === form.q && ev.key === 'ArrowDown') links[0].focus();
  else if (i >= 0 && ev.key === 'ArrowDown' && i + 1 < links.length) links[i + 1].focus();
  else if (i > 0 && ev.key === 'ArrowUp') links[i - 1].focus();
  else if (i === 0 && ev.key === 'ArrowUp') form.q.focus();
  else return;
  ev.preventDefault();
});

form.q.addEventListener('input', search);
for (const f of [form.system, form.date, form.billable]) f.addEventListener('change', search);
$('search-form').addEventListener('submit', (ev) => { ev.preventDefault(); search(); });
token.value = sessionStorage.getItem('codebook-token') || '';
token.addEventListener('change', () => {
  sessionStorage.setItem('codebook-token', token.value.trim());
  search();
});

async function start() {
  const params = new URLSearchParams(location.search);
  try {
    const answer = await api('ListCodeSystems', {});
    // The code systems themselves; supplements (ICD10CM-TABULAR, ...) are read through them.
    for (const s of (answer.systems || []).filter((x) => !x.id.includes('-'))) {
      form.system.append(el('option', { value: s.id }, `${s.title || s.id}`));
    }
  } catch (e) {
    status.textContent = `The server did not answer: ${e.message}`;
    status.className = 'status error';
    return;
  }
  if (params.get('system')) form.system.value = params.get('system');
  form.q.value = params.get('q') || '';
  form.date.value = params.get('date') || '';
  form.billable.checked = params.get('billable') === '1';
  if (form.q.value) search();
  if (params.get('code')) open(params.get('code'));
}

start();
