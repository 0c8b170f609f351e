// The releases view: every release of each code system (ListReleases) on a timeline by
// effective date, then a table: version, effective date, state, counts against the release
// before, checksum, source, when it was published and by whom (the system's publisher).
import {
  $, api, el, fill, enumName, bases, systems, table, errorText,
} from './common.js';

const out = $('releases-out');
const DAY = 24 * 3600 * 1000;

// A bar per system: each release a dot at its effective date (its version in a tooltip), between
// the first and last effective dates of all the systems, with a tick at each January 1 (a
// picture beside the tables, which say it all; hidden from screen readers).
function timeline(all, span) {
  const [t0, t1] = span;
  const at = (t) => `${((t - t0) / Math.max(DAY, t1 - t0)) * 100}%`;
  const ticks = [];
  for (let y = new Date(t0).getUTCFullYear() + 1; Date.UTC(y, 0, 1) <= t1; ++y) {
    const tick = el('span', { class: 'tick' }, String(y));
    tick.style.left = at(Date.UTC(y, 0, 1));
    ticks.push(tick);
  }
  return el('div', { class: 'timeline', 'aria-hidden': 'true' },
            all.map(({ system, releases }) => el('div', { class: 'lane' },
              el('span', { class: 'lane-name' }, system.id),
              el('div', { class: 'lane-bar' }, releases.map((r) => {
                const mark = el('span', { class: `mark ${enumName(r.state, 'RELEASE_STATE_')}`,
                                          title: `${system.id} ${r.version}: ${r.effectiveDate}` });
                mark.style.left = at(Date.parse(r.effectiveDate));
                return mark;
              })))),
            el('div', { class: 'lane' }, el('span', { class: 'lane-name' }),
               el('div', { class: 'lane-axis' }, ticks)));
}

function releaseTable(system, releases) {
  const n = (v) => Number(v || 0).toLocaleString('en-US');
  const rows = releases.map((r) => {
    const c = r.counts || {};
    const state = enumName(r.state, 'RELEASE_STATE_');
    return [r.version, r.effectiveDate,
      el('span', { class: `state ${state}` }, state,
         r.retractReason ? ` (${r.retractReason})` : ''),
      r.state === 'RELEASE_STATE_STAGED' ? `${n(r.stagedConcepts)} so far`
        : `${n(c.total)} (+${n(c.added)} −${n(c.deleted)} ~${n(c.changed)})`,
      el('code', { title: r.checksum || '' },
         (r.checksum || '').replace('sha256:', '').slice(0, 12)),
      r.description || '',
      r.publishTime ? r.publishTime.slice(0, 19).replace('T', ' ') + ' UTC' : ''];
  });
  const title = `${system.title || system.id}` +
    (system.supplements ? ` (supplement of ${system.supplements})` : '');
  return el('section', { class: 'part', 'aria-label': title },
            el('h2', {}, title),
            el('p', { class: 'muted' },
               `Published by ${system.publisher || 'not stated'}; in force today: `,
               system.currentVersion || 'none',
               system.licenseScope ? `; text needs the scope ${system.licenseScope}` : ''),
            table(null, ['Version', 'Effective', 'State', 'Codes (added, deleted, changed)',
              'Checksum', 'Source', 'Published'], rows));
}

export async function show(p) {
  fill(out, el('p', { role: 'status' }, 'Reading the releases…'));
  try {
    const wanted = p.get('system');
    const list = wanted
      ? (await systems()).filter((s) => s.id === wanted || s.supplements === wanted)
      : await bases();
    const all = await Promise.all(list.map(async (system) => ({
      system, releases: (await api('ListReleases', { system: system.id })).releases || [] })));
    const dates = all.flatMap((s) => s.releases.map((r) => Date.parse(r.effectiveDate)));
    const span = [Math.min(...dates), Math.max(...dates)];
    const links = (await bases()).map((s) => [
      el('a', { href: `?view=releases&system=${s.id}` }, s.id), ' ']);
    fill(out,
      el('p', {}, 'Show one system with its supplements: ', links,
         el('a', { href: '?view=releases' }, 'all')),
      dates.length ? timeline(all, span) : el('p', {}, 'No releases yet.'),
      all.map(({ system, releases }) => releaseTable(system, releases)));
  } catch (e) {
    fill(out, errorText(e));
  }
}
