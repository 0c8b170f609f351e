// The claims view: claim lines pasted as the CLI's `codebook claim` reads them, one a line,
//   code,modifiers,units,diagnoses[,date]   e.g. 99213,25,1,E11.9;I10
// (several modifiers or diagnoses separated by spaces or ';'; the code may carry its modifiers,
// "99213-25"; a first line starting "code," is a header), checked by ValidateClaim: each line's
// result with every reason.
import {
  $, api, el, fill, enumName, releaseName, setParams, table, errorText,
} from './common.js';

const lines = $('claim-lines');
const date = $('claim-date');
const out = $('claims-out');

const split = (s) => (s || '').split(/[\s;]+/).filter(Boolean);

// The ClaimLines of TEXT, and the text of each (or throws an Error naming the bad line).
export function parseClaimLines(text) {
  const parsed = [];
  const texts = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || (i === 0 && /^code,/i.test(line))) return;
    const f = line.split(',').map((x) => x.trim());
    if (f.length < 4 || f.length > 5) {
      throw new Error(`line ${i + 1}: "${line}" needs code,modifiers,units,diagnoses[,date]`);
    }
    const units = f[2] === '' ? 0 : Number(f[2]);
    if (!Number.isInteger(units)) throw new Error(`line ${i + 1}: units "${f[2]}" is no number`);
    parsed.push({ lineId: String(i + 1), procedureCode: f[0], modifiers: split(f[1]), units,
                  diagnosisCodes: split(f[3]), dateOfService: f[4] || '' });
    texts.push(line);
  });
  if (!parsed.length) throw new Error('no claim lines: paste one a line');
  return { parsed, texts };
}

function issue(i) {
  const what = `${i.field}${i.code ? ` ${i.code}` : ''}: `;
  const quote = i.note && !i.message.includes(i.note.text)
    ? el('div', { class: 'muted' }, `${i.note.kind} at ${i.note.from}: “${i.note.text}”`,
         i.noteSource ? ` (${releaseName(i.noteSource)})` : '') : null;
  return el('li', { class: i.advisory ? 'advisory' : 'problem' },
            el('strong', {}, what), i.message,
            el('span', { class: 'tag' }, enumName(i.kind, 'CLAIM_ISSUE_KIND_')),
            i.advisory ? el('span', { class: 'tag' }, 'advisory') : null, quote);
}

async function check() {
  setParams({ lines: lines.value.trim(), date: date.value });
  let claim;
  try {
    claim = parseClaimLines(lines.value);
  } catch (e) {
    fill(out, errorText(e));
    return;
  }
  fill(out, el('p', { role: 'status' }, `Checking ${claim.parsed.length} lines…`));
  try {
    // Lines without a date are for today (UTC, as the server's default elsewhere).
    const today = new Date().toISOString().slice(0, 10);
    const answer = await api('ValidateClaim', { lines: claim.parsed,
                                                dateOfService: date.value || today });
    const rows = (answer.results || []).map((r) => {
      const issues = r.issues || [];
      return [String(Number(r.index || 0) + 1), el('code', {}, claim.texts[r.index || 0]),
        el('span', { class: r.valid ? 'good' : 'bad' }, r.valid ? 'valid' : 'not valid'),
        issues.length ? el('ul', { class: 'issues' }, issues.map(issue)) : ''];
    });
    fill(out,
      el('p', { id: 'claims-count', role: 'status' },
         `${answer.validLines || 0} valid, ${answer.invalidLines || 0} not valid`),
      table(null, ['Line', 'As pasted', 'Result', 'Reasons'], rows, { id: 'claim-results' }));
  } catch (e) {
    fill(out, errorText(e));
  }
}

$('claims-form').addEventListener('submit', (ev) => { ev.preventDefault(); check(); });
// Ctrl+Enter in the lines checks them (Enter alone starts a new line).
lines.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    check();
  }
});

export function show(p) {
  if (p.get('lines') !== null) lines.value = p.get('lines');
  date.value = p.get('date') || '';
  if (p.get('lines')) check();
}
