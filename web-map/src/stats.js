// The evaluation page: the standard indicators by department or region for a
// period, as a table with score bars, the hotspot map, and exports.
import { api, message, signedIn, signInForm, t, translate, lang, setLang, el, mapConfig, legend, cityMap, addUnderLabels } from './common.js';

const COLUMNS = ['cases', 'reports', 'filed', 'dispatched', 'handled', 'handled_on_time', 'overdue', 'closed', 'due',
  'closure_rate', 'on_time_closure_rate', 'rework', 'rework_rate', 'score', 'grade'];
/** Columns read as shares, shown as percentages. */
const RATES = ['closure_rate', 'on_time_closure_rate', 'rework_rate'];
/** Columns that add up in the totals row. */
const COUNTS = ['cases', 'reports', 'filed', 'dispatched', 'handled', 'handled_on_time', 'overdue', 'closed', 'due', 'rework'];
const state = { rows: [], next: null, map: null, sort: 'score', descending: true, today: null, by: 'department' };
window.citygrid = state;

function period() {
  const day = (id) => document.getElementById(id).value;
  // Whole days in China Standard Time.
  return { from: `${day('from')}T00:00:00+08:00`, to: `${day('to')}T23:59:59+08:00` };
}

/** A day (YYYY-MM-DD) in China Standard Time. */
function chinaDay(iso) {
  return new Date(Date.parse(iso) + 8 * 3600e3).toISOString().slice(0, 10);
}

function cell(c, v) {
  if (v === null || v === undefined) return '—';
  if (RATES.includes(c)) return `${(v * 100).toFixed(1)}%`;
  if (typeof v === 'number' && !Number.isInteger(v)) return v.toFixed(1);
  return String(v);
}

/** The period presets, counted from the server's today (its clock, not the device's). */
function preset(name) {
  const [y, m] = state.today.split('-').map(Number);
  const day = (yy, mm, dd) => new Date(Date.UTC(yy, mm - 1, dd)).toISOString().slice(0, 10);
  const q = Math.floor((m - 1) / 3) * 3 + 1;
  const ranges = {
    this_month: [day(y, m, 1), state.today],
    last_month: [day(y, m - 1, 1), day(y, m, 0)],
    this_quarter: [day(y, q, 1), state.today],
    this_year: [day(y, 1, 1), state.today],
  };
  [document.getElementById('from').value, document.getElementById('to').value] = ranges[name];
  show();
}

function renderTable() {
  const by = state.by;
  const rows = [...state.rows].sort((a, b) => {
    const x = a[state.sort] ?? -Infinity;
    const y = b[state.sort] ?? -Infinity;
    const order = typeof x === 'string' ? String(x).localeCompare(String(y)) : x - y;
    return state.descending ? -order : order;
  });
  const header = (c, label) => el('th', { scope: 'col', 'aria-sort': state.sort === c ? (state.descending ? 'descending' : 'ascending') : 'none' },
    el('button', { class: 'sort', 'data-sort': c, onclick: () => {
      state.descending = state.sort === c ? !state.descending : true;
      state.sort = c;
      renderTable();
    } }, label, state.sort === c ? (state.descending ? ' ▼' : ' ▲') : ''));
  const totals = Object.fromEntries(COUNTS.map((c) => [c, state.rows.reduce((n, r) => n + (r[c] || 0), 0)]));
  document.getElementById('table').replaceChildren(
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, '#'), header('name', t(by)), ...COLUMNS.map((c) => header(c, t(c))))),
    el('tbody', {}, rows.map((r, i) => el('tr', { 'data-key': r.key ?? '' },
      el('td', {}, String(i + 1)),
      el('td', {}, r.name || r.key || '—'),
      ...COLUMNS.map((c) => c === 'score' && r.score !== null
        ? el('td', {}, el('span', { class: 'bar', style: `width:${Math.round(r.score)}px` }), ` ${r.score.toFixed(1)}`)
        : el('td', {}, cell(c, r[c])))))),
    el('tfoot', {}, el('tr', { class: 'totals' }, el('td', {}), el('th', { scope: 'row' }, t('totals')),
      ...COLUMNS.map((c) => el('td', {}, c in totals ? String(totals[c]) : '')))));
  // Groups come a page at a time (a year by grid is tens of thousands).
  const more = document.getElementById('more');
  more.hidden = state.next === null;
  more.textContent = t('more_groups').replace('{n}', state.rows.length.toLocaleString());
}

/** The next page of groups, added to the table; false when it failed. */
async function showMore() {
  const q = new URLSearchParams({ ...state.period, by: state.by, after: state.next });
  try {
    const data = await api(`/api/v1/stats/evaluation?${q}`);
    state.rows = [...state.rows, ...data.rows];
    state.next = data.next_after ?? null;
    renderTable();
    return true;
  } catch (e) {
    document.getElementById('error').textContent = message(e);
    return false;
  }
}

async function show(first = false) {
  const by = document.getElementById('by').value;
  // The first time, the server's default period (the last 30 days by its clock)
  // gives the dates.
  const q = new URLSearchParams(first ? { by } : { ...period(), by });
  document.getElementById('error').textContent = '';
  try {
    const data = await api(`/api/v1/stats/evaluation?${q}`);
    if (first) {
      // Its dates, then whole days of them (today up to its end).
      state.today = chinaDay(data.to);
      document.getElementById('from').value = chinaDay(data.from);
      document.getElementById('to').value = state.today;
      return show();
    }
    state.rows = data.rows;
    state.next = data.next_after ?? null;
    state.period = period();
    state.by = by;
    renderTable();
    const { from, to } = period();
    const cases = new URLSearchParams({ since: from });
    document.getElementById('export-csv').href = `/api/v1/cases.csv?${cases}`;
    document.getElementById('export-geojson').href = `/api/v1/cases.geojson?${cases}`;
    const hot = await api(`/api/v1/stats/hotspots?${new URLSearchParams({ from, to, resolution: '9' })}`);
    const src = state.map.getSource('hotspots');
    if (src) src.setData(hot);
    state.hotspots = hot;
  } catch (e) {
    document.getElementById('error').textContent = message(e);
  }
}

async function exportTable() {
  // Every group, not only the pages shown.
  while (state.next !== null) {
    if (!(await showMore())) return;
  }
  const head = ['key', 'name', ...COLUMNS];
  const quote = (v) => `"${String(v ?? '').replaceAll('"', '""')}"`;
  const lines = [head.join(','), ...state.rows.map((r) => head.map((c) => quote(r[c])).join(','))];
  const url = URL.createObjectURL(new Blob(['\ufeff' + lines.join('\n')], { type: 'text/csv' }));
  el('a', { href: url, download: 'evaluation.csv' }).click();
}

async function start() {
  translate();
  document.getElementById('lang').onclick = () => { setLang(lang() === 'zh' ? 'en' : 'zh'); location.reload(); };
  const me = await signedIn();
  // A department's page is its own row: no other grouping to pick.
  if (me.role === 'department') {
    const by = document.getElementById('by');
    by.value = 'department';
    by.disabled = true;
  }
  window.addEventListener('citygrid:unauthorized', async () => { await signInForm(); show(); });
  document.getElementById('app').hidden = false;
  document.getElementById('show').onclick = () => show();
  document.getElementById('more').onclick = showMore;
  for (const b of document.querySelectorAll('[data-preset]')) b.onclick = () => preset(b.dataset.preset);
  document.getElementById('export-table').onclick = exportTable;
  const config = await mapConfig();
  state.map = cityMap('map', config, { center: config.center, zoom: 12 });
  state.map.on('load', async () => {
    state.map.addSource('districts', { type: 'vector', tiles: [`${location.origin}/tiles/districts/{z}/{x}/{y}.mvt`] });
    addUnderLabels(state.map, { id: 'districts', type: 'line', source: 'districts', 'source-layer': 'districts', paint: { 'line-color': '#1f3b57', 'line-width': 2 } });
    state.map.addSource('hotspots', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    addUnderLabels(state.map, {
      id: 'hotspots', type: 'fill', source: 'hotspots',
      paint: { 'fill-color': ['interpolate', ['linear'], ['get', 'count'], 1, '#fde0c5', 5, '#f59f6b', 20, '#d4322c'], 'fill-opacity': 0.7 },
    });
    legend(state.map, [['fill', '#fde0c5', 'lg_hot_low'], ['fill', '#f59f6b', 'lg_hot_mid'], ['fill', '#d4322c', 'lg_hot_high'], ['line', '#1f3b57', 'lg_district']]);
    await show(true);
    state.ready = true;
  });
}

start();
