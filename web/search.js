// The search view: one box, ranked codes as the user types (Search), in the release in force on
// the date of service picked (today's by default), with billable and kind filters; Enter or a
// click opens a code in the concept panel (concept.js).
import { $, api, el, codeLink, params, setParams, tags, fillSystems } from './common.js';
import { showConcept } from './concept.js';

const form = { q: $('q'), system: $('system'), date: $('date'), billable: $('billable'),
               kind: $('kind') };
const results = $('results');
const status = $('status');
const concept = $('concept');

// Times from a keystroke to its results on the page, in ms (read by the browser test).
window.codebookTimings = [];

let searchSeq = 0;
let inFlight = null;
let searched = null;  // the state the results on the page answer
let opened = null;    // "system|code|date" of the code the concept panel shows

function state() {
  return { system: form.system.value, q: form.q.value.trim(), date: form.date.value,
           billable: form.billable.checked, kind: form.kind.value };
}

async function search() {
  const seq = ++searchSeq;
  const started = performance.now();
  const s = state();
  searched = JSON.stringify(s);
  setParams({ ...s, q: form.q.value });
  if (inFlight) inFlight.abort();
  if (!s.q) {
    results.replaceChildren();
    status.textContent = '';
    return;
  }
  inFlight = new AbortController();
  try {
    const answer = await api('Search', {
      system: s.system, query: s.q, pageSize: 20, billableOnly: s.billable,
      kinds: s.kind ? [s.kind] : [], selector: s.date ? { dateOfService: s.date } : undefined,
    }, inFlight.signal);
    if (seq !== searchSeq) return;  // a newer keystroke answers
    const hits = answer.hits || [];
    results.replaceChildren(...hits.map((h) => {
      const c = h.concept;
      const a = codeLink(s.system, c.code, s.date, '');
      a.className = 'hit';
      a.append(el('span', { class: 'code' }, c.code),
               el('span', { class: 'display' }, c.display || '',
                  // Why it matched, unless it is the display itself.
                  h.reason && !h.reason.endsWith(`: ${c.display}`)
                    ? el('span', { class: 'reason' }, h.reason) : null),
               ...tags(c));
      return el('li', {}, a);
    }));
    const release = answer.release ? `${answer.release.system} ${answer.release.version}` : '';
    const total = answer.totalHits > hits.length ? ` of ${answer.totalHits}` : '';
    status.textContent = hits.length
      ? `${hits.length}${total} codes in ${release}` : `No codes match "${s.q}" in ${release}`;
    status.className = 'status';
    window.codebookTimings.push(performance.now() - started);
  } catch (e) {
    if (e.name === 'AbortError' || seq !== searchSeq) return;
    results.replaceChildren();
    status.textContent = e.message;
    status.className = 'status error';
  }
}

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
for (const f of [form.system, form.date, form.billable, form.kind]) {
  f.addEventListener('change', () => {
    if (f === form.system) setParams({ code: null });  // the open code was the other system's
    search();
    show(params());  // the open code again in the new date's release, or closed
  });
}
$('search-form').addEventListener('submit', (ev) => { ev.preventDefault(); search(); });

// Shows CODE in the concept panel unless it shows it already (same system and date); `push`
// also makes it the URL's code in a new history entry (the panel's modifier field).
function open(code, push = false) {
  if (push) setParams({ code }, true);
  const key = `${form.system.value}|${code}|${form.date.value}`;
  if (key === opened) return;
  opened = key;
  showConcept(concept, form.system.value, code, form.date.value, (c) => open(c, true));
}

// Shows the view for the URL's parameters: searches again only when they changed, and opens
// the code they name.
export async function show(p) {
  await fillSystems(form.system, p.get('system'));
  form.q.value = p.get('q') || '';
  form.date.value = p.get('date') || '';
  form.billable.checked = p.get('billable') === '1';
  form.kind.value = p.get('kind') || '';
  if (JSON.stringify(state()) !== searched) search();
  const code = p.get('code');
  if (code) {
    open(code);
  } else {
    opened = null;
    concept.hidden = true;
  }
}
