// What every view of the page shares: calls to the server's gRPC API in JSON
// (POST /api/v1/codebook.v1.Terminology/METHOD, server/json_api.h) with the tab's token, the
// URL as the page's state, and small DOM helpers. No library.

export const $ = (id) => document.getElementById(id);

// Calls METHOD with BODY (proto JSON); resolves to the answer (an array of messages for a
// streaming method), rejects with an Error holding the server's message.
export async function api(method, body, signal) {
  const headers = { 'Content-Type': 'application/json' };
  const t = sessionStorage.getItem('codebook-token');
  if (t) headers.Authorization = `Bearer ${t}`;
  const res = await fetch(`/api/v1/codebook.v1.Terminology/${method}`,
                          { method: 'POST', headers, body: JSON.stringify(body), signal });
  const answer = await res.json();
  if (!res.ok) throw new Error(answer.message || `HTTP ${res.status}`);
  return answer;
}

// The page's state is its URL's query: view, system, q, date, billable, kind, code, from, to,
// vs, filter, type, lines. A link holding it opens the same view.
export function params() {
  return new URLSearchParams(location.search);
}

// Sets the given parameters (null, '' or false removes one) and keeps the others. `push` makes
// a new history entry (opening a code, changing view); otherwise the current one is replaced.
export function setParams(updates, push = false) {
  const p = params();
  for (const [k, v] of Object.entries(updates)) {
    if (v === null || v === undefined || v === '' || v === false) p.delete(k);
    else p.set(k, v === true ? '1' : v);
  }
  const url = `?${p}`;
  if (url === location.search) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

// A link within the page: `?` plus these parameters (app.js follows it without a reload).
export function pageLink(text, query, attrs = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) p.set(k, v);
  return el('a', { href: `?${p}`, ...attrs }, text);
}

// A link that opens CODE of SYSTEM in the search view, in the release in force on DATE (or
// today's), keeping the current query.
export function codeLink(system, code, date, text = code) {
  return pageLink(text, { view: 'search', system, q: params().get('q'), date, code },
                  { 'data-code': code, class: 'code' });
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  return fill(e, ...children);
}

// Replaces NODE's children with CHILDREN (arrays flattened; null, undefined and false skipped).
export function fill(node, ...children) {
  const keep = (c) => c !== null && c !== undefined && c !== false;
  node.replaceChildren(...children.flat(Infinity).filter(keep));
  return node;
}

// "CONCEPT_KIND_HEADER" -> "header"; "CHANGE_TYPE_DISPLAY_CHANGED" -> "display changed".
export function enumName(value, prefix) {
  return (value || '').replace(prefix, '').toLowerCase().replaceAll('_', ' ');
}

export function releaseName(r) {
  return r ? `${r.system} ${r.version} (effective ${r.effectiveDate})` : '';
}

// The tags of a concept: header, not billable, inactive, text withheld.
export function tags(c) {
  const out = [];
  if (c.kind === 'CONCEPT_KIND_HEADER') out.push(el('span', { class: 'tag header' }, 'header'));
  else if (c.kind === 'CONCEPT_KIND_MODIFIER') out.push(el('span', { class: 'tag' }, 'modifier'));
  else if (c.kind === 'CONCEPT_KIND_GROUP') out.push(el('span', { class: 'tag' }, 'group'));
  else if (!c.billable) out.push(el('span', { class: 'tag' }, 'not billable'));
  if (c.status === 'CONCEPT_STATUS_INACTIVE') out.push(el('span', { class: 'tag' }, 'inactive'));
  if (c.textWithheld) out.push(el('span', { class: 'tag' }, 'text needs a licence'));
  return out;
}

// Rows of a definition list.
export function row(term, ...value) {
  return [el('dt', {}, term), el('dd', {}, ...value)];
}

// A table with a header row and one row per item (cells: strings or nodes).
// It scrolls sideways in its own box when it is wider than the page (at 200% zoom). ATTRS are
// the table's attributes.
export function table(caption, headings, rows, attrs = {}) {
  return el('div', { class: 'table-wrap' }, el('table', attrs,
            caption ? el('caption', {}, caption) : null,
            el('thead', {}, el('tr', {}, headings.map((h) => el('th', { scope: 'col' }, h)))),
            el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c)))))));
}

export function errorText(e) {
  return el('p', { class: 'error', role: 'alert' }, e.message);
}

// The code systems (ListCodeSystems), asked once. Supplements (ICD10CM-TABULAR, ...) are read
// through their base systems and left out of `bases`.
let systemsAnswer = null;
export function systems() {
  systemsAnswer ??= api('ListCodeSystems', {}).then((a) => a.systems || []);
  return systemsAnswer;
}
export async function bases() {
  return (await systems()).filter((s) => !s.supplements);
}

// Fills SELECT with the base code systems, selecting VALUE when it is one.
export async function fillSystems(select, value) {
  if (!select.options.length) {
    for (const s of await bases()) select.append(el('option', { value: s.id }, s.title || s.id));
  }
  if (value && [...select.options].some((o) => o.value === value)) select.value = value;
}
