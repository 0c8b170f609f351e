// Codebook's page: four views (search and open codes, compare releases, check claim lines, the
// releases of each system), each a module with show(params). The URL holds the view and its
// state, so a link can be shared; links within the page change it without a reload.
import { $, params, systems } from './common.js';
import * as search from './search.js';
import * as compare from './compare.js';
import * as claims from './claims.js';
import * as releases from './releases.js';

const VIEWS = { search, compare, claims, releases };
const status = $('app-status');

function route() {
  const p = params();
  const name = VIEWS[p.get('view')] ? p.get('view') : 'search';
  for (const v of Object.keys(VIEWS)) $(`view-${v}`).hidden = v !== name;
  for (const a of document.querySelectorAll('nav.views a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // The tab's title names what is shown, for bookmarks and the history list.
  const titles = { search: p.get('code') || p.get('q') || 'Search', compare: 'Compare releases',
                   claims: 'Claim lines', releases: 'Releases' };
  document.title = `${titles[name]} · Codebook`;
  VIEWS[name].show(p);
}

// Links within the page ("?view=...") change the URL and the view without a reload.
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[href^="?"]');
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  history.pushState(null, '', a.getAttribute('href'));
  route();
});
window.addEventListener('popstate', route);

const token = $('token');
token.value = sessionStorage.getItem('codebook-token') || '';
$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem('codebook-token', token.value.trim());
  location.reload();  // every answer may differ with the token's scopes
});

async function start() {
  try {
    await systems();
  } catch (e) {
    status.textContent = `The server did not answer: ${e.message}`;
    status.className = 'status error';
    return;
  }
  route();
}

start();
