// The evaluation page: the standard indicators by department or region for a
// period, as a table with score bars, the hotspot map, and exports.
import { api, signedIn, signInForm, t, translate, lang, setLang, el, mapConfig } from './common.js';

const COLUMNS = ['cases', 'reports', 'filed', 'dispatched', 'handled', 'handled_on_time', 'overdue', 'closed', 'due',
  'closure_rate', 'on_time_closure_rate', 'rework', 'rework_rate', 'score', 'grade'];
const state = { rows: [], map: null };
window.citygrid = state;

function period() {
  const day = (id) => document.getElementById(id).value;
  // Whole days in China Standard Time.
  return { from: `${day('from')}T00:00:00+08:00`, to: `${day('to')}T23:59:59+08:00` };
}

function cell(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number' && !Number.isInteger(v)) return v.toFixed(3);
  return String(v);
}

async function show() {
  const { from, to } = period();
  const by = document.getElementById('by').value;
  const q = new URLSearchParams({ from, to, by });
  document.getElementById('error').textContent = '';
  try {
    const data = await api(`/api/v1/stats/evaluation?${q}`);
    state.rows = data.rows;
    document.getElementById('table').replaceChildren(
      el('tr', {}, el('th', {}, t(by)), ...COLUMNS.map((c) => el('th', {}, t(c)))),
      ...data.rows.map((r) => el('tr', { 'data-key': r.key ?? '' },
        el('td', {}, r.name || r.key || '—'),
        ...COLUMNS.map((c) => c === 'score' && r.score !== null
          ? el('td', {}, el('span', { class: 'bar', style: `width:${Math.round(r.score)}px` }), ` ${r.score.toFixed(1)}`)
          : el('td', {}, cell(r[c]))))));
    const cases = new URLSearchParams({ since: from });
    document.getElementById('export-csv').href = `/api/v1/cases.csv?${cases}`;
    document.getElementById('export-geojson').href = `/api/v1/cases.geojson?${cases}`;
    const hot = await api(`/api/v1/stats/hotspots?${new URLSearchParams({ from, to, resolution: '9' })}`);
    const src = state.map.getSource('hotspots');
    if (src) src.setData(hot);
    state.hotspots = hot;
  } catch (e) {
    document.getElementById('error').textContent = `${e.code || ''}: ${e.message}`;
  }
}

function exportTable() {
  const head = ['key', 'name', ...COLUMNS];
  const quote = (v) => `"${String(v ?? '').replaceAll('"', '""')}"`;
  const lines = [head.join(','), ...state.rows.map((r) => head.map((c) => quote(r[c])).join(','))];
  const url = URL.createObjectURL(new Blob(['\ufeff' + lines.join('\n')], { type: 'text/csv' }));
  el('a', { href: url, download: 'evaluation.csv' }).click();
}

async function start() {
  translate();
  document.getElementById('lang').onclick = () => { setLang(lang() === 'zh' ? 'en' : 'zh'); location.reload(); };
  await signedIn();
  window.addEventListener('citygrid:unauthorized', async () => { await signInForm(); show(); });
  document.getElementById('app').hidden = false;
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() + 8 * 3600e3 - 30 * 86400e3).toISOString().slice(0, 10);
  document.getElementById('from').value = monthAgo;
  document.getElementById('to').value = today;
  document.getElementById('show').onclick = show;
  document.getElementById('export-table').onclick = exportTable;
  const config = await mapConfig();
  state.map = new maplibregl.Map({ container: 'map', style: config.style, center: config.center, zoom: 12 });
  state.map.on('load', async () => {
    state.map.addSource('districts', { type: 'vector', tiles: [`${location.origin}/tiles/districts/{z}/{x}/{y}.mvt`] });
    state.map.addLayer({ id: 'districts', type: 'line', source: 'districts', 'source-layer': 'districts', paint: { 'line-color': '#1f3b57', 'line-width': 2 } });
    state.map.addSource('hotspots', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    state.map.addLayer({
      id: 'hotspots', type: 'fill', source: 'hotspots',
      paint: { 'fill-color': ['interpolate', ['linear'], ['get', 'count'], 1, '#fde0c5', 5, '#f59f6b', 20, '#d4322c'], 'fill-opacity': 0.7 },
    });
    await show();
    state.ready = true;
  });
}

start();
