// The concept panel: one code as it stands in the release picked (Lookup), where it sits
// (GetAncestors, GetChildren, the Tabular's chapter and block), what the publisher says of it
// (descriptions, notes by kind, 7th characters, ICD-10-PCS axes, CPT/HCPCS properties and
// modifiers) and its history across releases with predecessors and successors (GetCodeHistory).
import {
  api, el, fill, codeLink, enumName, releaseName, row, table, tags, errorText,
} from './common.js';

// The systems whose codes take modifiers ("99213-25").
const WITH_MODIFIERS = ['CPT', 'HCPCS'];

// The Tabular's note kinds, in the order a coder reads them.
const NOTE_KINDS = [
  ['inclusionTerm', 'Inclusion terms'], ['includes', 'Includes'], ['excludes1', 'Excludes1'],
  ['excludes2', 'Excludes2'], ['codeFirst', 'Code first'],
  ['useAdditionalCode', 'Use additional code'], ['codeAlso', 'Code also'], ['notes', 'Notes'],
  ['sevenChrNote', '7th character note'],
];

// A note's text, then links to the codes it names.
function note(system, date, n) {
  const refs = (n.references || []).map((r) => {
    const text = r.first === r.last ? r.first : `${r.first}-${r.last}`;
    return [' ', codeLink(system, r.first, date, text)];
  });
  const from = n.from ? el('span', { class: 'from' }, ` (${n.from})`) : null;
  return el('li', {}, n.text, from,
            refs.length ? el('span', { class: 'refs' }, ' →', refs) : null);
}

function tabularPart(system, date, code, tab) {
  const out = [];
  const dl = el('dl');
  if (tab.chapter) dl.append(...row('Chapter', tab.chapter.display || tab.chapter.code));
  if (tab.block) dl.append(...row('Block', tab.block.display || tab.block.code));
  dl.append(...row('Tabular List', releaseName(tab.source)));
  out.push(dl);
  const notes = tab.notes || [];
  for (const [kind, title] of NOTE_KINDS) {
    const these = notes.filter((n) => n.kind === kind);
    if (!these.length) continue;
    out.push(el('h4', {}, title),
             el('ul', { class: 'notes', 'data-kind': kind },
                these.map((n) => note(system, date,
                                      { ...n, from: n.from === code ? '' : n.from }))));
  }
  const sevenths = tab.seventhCharacters || [];
  if (sevenths.length) {
    const stem = tab.needsSeventhCharacter
      ? el('p', { class: 'warn' }, `Needs a 7th character: ${tab.seventhCharacterStem}?`) : null;
    out.push(el('h4', {}, `7th characters (from ${tab.seventhCharactersFrom})`), stem,
             table(null, ['Character', 'Meaning'],
                   sevenths.map((s) => [el('span', { class: 'code' }, s.character), s.meaning])));
  }
  return el('section', { class: 'part', 'aria-label': 'Tabular List' },
            el('h3', {}, 'Tabular List'), out);
}

function pcsPart(pcs) {
  return el('section', { class: 'part', 'aria-label': 'ICD-10-PCS axes' },
            el('h3', {}, `Table ${pcs.table}`),
            pcs.definition ? el('p', {}, el('strong', {}, 'Operation: '), pcs.definition) : null,
            table(null, ['Position', 'Axis', 'Value', 'Meaning'],
                  pcs.characters.map((c) => [String(c.position), c.axis,
                                             el('span', { class: 'code' }, c.value), c.meaning])),
            el('p', { class: 'muted' }, `From ${releaseName(pcs.source)}`,
               pcs.inTable ? '' : '; no row of the table holds this code'));
}

// The concept's own fields: descriptions, dates, the publisher's action, properties.
function fields(c, release) {
  const dl = el('dl');
  if (release) dl.append(...row('Release', releaseName(release)));
  const kind = enumName(c.kind, 'CONCEPT_KIND_');
  dl.append(...row('Kind', kind, ' ', ...tags(c).filter((t) => t.textContent !== kind)));
  dl.append(...row('Status', enumName(c.status, 'CONCEPT_STATUS_')));
  // The other texts, unless one only repeats the display (ICD-10-CM's short text often does).
  for (const d of (c.designations || []).filter((x) => x.value !== c.display || x.language)) {
    dl.append(...row(`${d.use || 'designation'}${d.language ? ` (${d.language})` : ''}`, d.value));
  }
  const dates = [['Added', c.addedDate], ['Action', c.actionCode],
    ['Action effective', c.actionEffectiveDate], ['Terminated after', c.terminationDate]];
  for (const [term, v] of dates) if (v) dl.append(...row(term, v));
  for (const [k, v] of Object.entries(c.properties || {}).sort()) {
    dl.append(...row(k.replaceAll('_', ' '), v));
  }
  return dl;
}

function modifiersPart(mods) {
  return el('section', { class: 'part', 'aria-label': 'Modifiers' },
            el('h3', {}, 'Modifiers'),
            mods.map((m) => el('div', { class: 'modifier' },
                               el('h4', {}, el('span', { class: 'code' }, m.code), ' ',
                                  m.display || ''),
                               fields(m, null))));
}

function historyPart(system, hist) {
  const rows = (hist.events || []).map((ev) => {
    const types = (ev.types || []).map((t) => enumName(t, 'CHANGE_TYPE_')).join(', ');
    const before = ev.before ? ev.before.display || '' : '';
    const after = ev.after ? ev.after.display || '' : '';
    return [`${ev.release.version} (${ev.release.effectiveDate})`, types,
      before === after ? '' : before, after];
  });
  const links = (title, list, pick) => (list && list.length
    ? el('p', {}, el('strong', {}, `${title}: `),
         list.map((l) => [codeLink(system, pick(l), null), l.note ? ` (${l.note})` : '',
           ` from ${l.effective} `]))
    : null);
  return el('section', { class: 'part', 'aria-label': 'History' },
            el('h3', {}, 'History'),
            rows.length ? table(null, ['Release', 'What happened', 'Before', 'After'], rows)
              : el('p', {}, 'No release has this code.'),
            links('Replaces', hist.predecessors, (l) => l.previousCode),
            links('Replaced by', hist.successors, (l) => l.code));
}

// Where the concept sits: its ancestors down to it, then its children.
function placePart(system, date, code, ancestors, children) {
  const up = (ancestors.ancestors || []).slice().reverse();
  const path = up.length ? el('nav', { class: 'path', 'aria-label': 'Ancestors' },
                              up.map((a) => [codeLink(system, a.code, date), ' ',
                                             el('span', {}, a.display || ''), ' › ']),
                              el('span', { class: 'code' }, code)) : null;
  const kids = children.children || [];
  const list = kids.length ? el('ul', { class: 'children' },
                                kids.map((k) => el('li', {}, codeLink(system, k.code, date), ' ',
                                                   k.display || '', ' ', ...tags(k))))
    : null;
  const more = children.nextPageToken ? el('p', { class: 'muted' }, 'More children not shown.')
    : null;
  return el('section', { class: 'part', 'aria-label': 'Hierarchy' },
            path, kids.length ? el('h3', {}, `Children (${kids.length})`) : null, list, more);
}

// Shows SYSTEM's CODE (modifiers may follow: "99213-25") in CONTAINER, in the release in force
// on DATE ('' for today's). The modifier field opens CODE-MODS with `open(code)`.
export async function showConcept(container, system, code, date, open) {
  container.hidden = false;
  fill(container, el('p', {}, `Opening ${code}…`));
  const selector = date ? { dateOfService: date } : undefined;
  // CPT and HCPCS codes may carry modifiers; ICD-10-CM groups ("E08-E13") have a hyphen too.
  const base = WITH_MODIFIERS.includes(system) ? code.split('-')[0] : code;
  const [lookup, ancestors, children, history] = await Promise.allSettled([
    api('Lookup', { system, code, selector }),
    api('GetAncestors', { system, code: base, selector }),
    api('GetChildren', { system, code: base, selector, pageSize: 200 }),
    api('GetCodeHistory', { system, code: base }),
  ]);
  const parts = [];
  // A group (a Tabular chapter or block, a CPT section) is not stored: its ancestors say it.
  const group = ancestors.status === 'fulfilled' &&
    ancestors.value.concept?.kind === 'CONCEPT_KIND_GROUP' ? ancestors.value : null;
  const found = lookup.status === 'fulfilled' ? lookup.value : group;
  if (found) {
    const { release, concept: c, modifiers, tabular, pcs } = found;
    parts.push(el('h2', { tabindex: '-1' }, el('span', { class: 'code' }, c.code), ' ',
                  c.display || ''));
    if (ancestors.status === 'fulfilled' && children.status === 'fulfilled') {
      parts.push(placePart(system, date, c.code, ancestors.value, children.value));
    }
    parts.push(fields(c, release));
    if (modifiers && modifiers.length) parts.push(modifiersPart(modifiers));
    if (tabular && tabular.source) parts.push(tabularPart(system, date, c.code, tabular));
    if (pcs && pcs.characters) parts.push(pcsPart(pcs));
    parts.push(modifierForm(system, found, open));
  } else {
    parts.push(el('h2', { tabindex: '-1' }, el('span', { class: 'code' }, code)),
               errorText(lookup.reason));
  }
  if (history.status === 'fulfilled') parts.push(historyPart(system, history.value));
  fill(container, parts);
  container.querySelector('h2').focus();
}

// For CPT and HCPCS procedure codes: a field to add modifiers ("25 LT"), opening CODE-25-LT.
function modifierForm(system, answer, open) {
  const c = answer.concept;
  if (!WITH_MODIFIERS.includes(system) || c.kind !== 'CONCEPT_KIND_CODE') return null;
  const input = el('input', { id: 'modifiers', autocomplete: 'off', spellcheck: 'false',
                              placeholder: '25 LT', size: '10' });
  input.value = (answer.modifiers || []).map((m) => m.code).join(' ');
  const f = el('form', { class: 'inline', 'aria-label': 'Modifiers' },
               el('label', { for: 'modifiers' }, 'With modifiers'), input,
               el('button', { type: 'submit' }, 'Check'));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const mods = input.value.trim().toUpperCase().split(/[\s,;-]+/).filter(Boolean);
    open([c.code, ...mods].join('-'));
  });
  return f;
}
