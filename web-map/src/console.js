// The dispatch console: the city map with cases live, the case list with
// filters, and a detail panel with the actions the signed-in role may take.
import {
  api, ApiError, message, signedIn, signInForm, t, translate, lang, setLang, el, when, photoUrl,
  tiles, mapConfig, legend, cityMap, addUnderLabels,
} from './common.js';

const OPEN = ['reported', 'filed', 'dispatched', 'handled', 'suspended'];

const state = {
  me: null, cases: new Map(), classes: [], departments: [], selected: null, map: null,
  queue: 'all', counts: null, unseenUrgent: new Set(), beeps: 0, total: 0, page: 1, mapVersion: 0,
};
window.citygrid = state; // for the browser tests and the curious

/** The stages in the order a case goes through them. */
const STAGES = ['filing', 'dispatch', 'handling', 'verification'];

/** Actions that end or undo work: their dialog warns before they are sent. */
const CONFIRM = ['void', 'reject', 'verify_fail'];

/** The worst light of the case's open stages, and its earliest due time; a
 *  case with no open stage (closed, rejected, void) has no light. */
function urgency(c) {
  let light = 'none';
  let due = Infinity;
  for (const d of Object.values(c.deadlines || {})) {
    if (d.done_at) continue;
    if (d.light === 'red' || (d.light === 'yellow' && light !== 'red') || light === 'none') light = d.light;
    due = Math.min(due, Date.parse(d.due_at));
  }
  return { light, due };
}

function className(c) {
  return (lang() === 'en' ? c.class_name_en : c.class_name) || c.class;
}

// ------------------------------------------------------------------ map

function buildMap(config) {
  const map = cityMap('map', config, { center: config.center, zoom: 13.5 });
  state.map = map;
  map.addControl(new maplibregl.NavigationControl(), 'top-right');
  map.on('load', () => {
    for (const layer of ['districts', 'streets', 'communities', 'grids', 'components']) {
      map.addSource(layer, { type: 'vector', tiles: [tiles(layer)], minzoom: 0, maxzoom: 18 });
    }
    addUnderLabels(map, {
      id: 'grids-fill', type: 'fill', source: 'grids', 'source-layer': 'grids', minzoom: 13,
      paint: {
        'fill-color': ['interpolate', ['linear'], ['get', 'open_cases'], 0, '#ffffff', 1, '#fde0c5', 3, '#f59f6b', 6, '#d4322c'],
        'fill-opacity': 0.6,
      },
    });
    addUnderLabels(map, { id: 'grids-line', type: 'line', source: 'grids', 'source-layer': 'grids', minzoom: 13, paint: { 'line-color': '#b9b2a3', 'line-width': 0.5 } });
    addUnderLabels(map, { id: 'communities-line', type: 'line', source: 'communities', 'source-layer': 'communities', minzoom: 11, paint: { 'line-color': '#8a7f6a', 'line-width': 1 } });
    addUnderLabels(map, { id: 'streets-line', type: 'line', source: 'streets', 'source-layer': 'streets', minzoom: 9, paint: { 'line-color': '#5d5346', 'line-width': 1.5 } });
    addUnderLabels(map, { id: 'districts-line', type: 'line', source: 'districts', 'source-layer': 'districts', paint: { 'line-color': '#1f3b57', 'line-width': 2.5 } });
    map.addLayer({
      id: 'components', type: 'circle', source: 'components', 'source-layer': 'components', minzoom: 16,
      // Small and in their own colours: never mistaken for a case's light.
      paint: { 'circle-radius': 3, 'circle-color': ['match', ['get', 'state'], 'intact', '#6b7b8c', '#7b4fa0'] },
    });
    // Every case the filters match, from the server's `cases` tiles: below
    // zoom 15 the server clusters them, each cluster with its count and the
    // worst light inside, so overdue cases stay red at city zoom.
    map.addSource('cases', { type: 'vector', tiles: [casesTiles()], minzoom: 0, maxzoom: 16 });
    const lightColour = ['match', ['get', 'light'], 'red', '#d4322c', 'yellow', '#e0b000', 'grey', '#8c8c8c', '#2e9e44'];
    map.addLayer({
      id: 'case-clusters', type: 'circle', source: 'cases', 'source-layer': 'cases', filter: ['>', ['get', 'point_count'], 1],
      paint: {
        'circle-color': lightColour,
        'circle-radius': ['step', ['get', 'point_count'], 14, 10, 18, 100, 23, 1000, 28],
        'circle-opacity': 0.9, 'circle-stroke-width': 2, 'circle-stroke-color': '#fff',
      },
    });
    // Counts need the city's own glyphs (a `--basemap-style` may have none).
    if (typeof config.style === 'object') map.addLayer({
      id: 'case-count', type: 'symbol', source: 'cases', 'source-layer': 'cases', filter: ['>', ['get', 'point_count'], 1],
      layout: { 'text-field': ['to-string', ['get', 'point_count']], 'text-font': ['DejaVu Sans'], 'text-size': 13, 'text-allow-overlap': true },
      paint: { 'text-color': '#fff', 'text-halo-color': 'rgba(0,0,0,0.35)', 'text-halo-width': 1 },
    });
    map.addLayer({
      id: 'cases', type: 'circle', source: 'cases', 'source-layer': 'cases', filter: ['==', ['get', 'point_count'], 1],
      paint: {
        'circle-radius': 8,
        'circle-color': lightColour,
        'circle-stroke-width': ['match', ['get', 'state'], 'reported', 3, 1.5],
        'circle-stroke-color': ['match', ['get', 'state'], 'reported', '#1f3b57', 'filed', '#555', '#fff'],
      },
    });
    // The selected case: a ring around it, the map centred on it.
    map.addSource('selected', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addLayer({
      id: 'selected', type: 'circle', source: 'selected',
      paint: { 'circle-radius': 15, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-width': 4, 'circle-stroke-color': '#1f5fa8' },
    });
    map.on('click', 'cases', (e) => {
      const f = e.features[0];
      // Up to zoom 12 the server adds cases up by map square: a lone one
      // there carries no number, so the map goes closer instead.
      if (f.properties.case_no) select(f.properties.case_no);
      else map.easeTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom() + 2, 13) });
    });
    map.on('click', 'case-clusters', (e) => map.easeTo({ center: e.features[0].geometry.coordinates, zoom: map.getZoom() + 2 }));
    legend(map, [
      ['dot', '#d4322c', 'lg_overdue'], ['dot', '#e0b000', 'lg_warning'], ['dot', '#2e9e44', 'lg_on_time'],
      ['ring', '#1f5fa8', 'lg_cluster'], ['fill', '#f59f6b', 'lg_grid_cases'], ['dot small', '#6b7b8c', 'lg_component'],
      ['dot small', '#7b4fa0', 'lg_component_damaged'],
    ]);
    state.mapReady = true;
  });
}

/** The `cases` tiles with the list's filters; `v` changes when cases change. */
function casesTiles() {
  const q = filters();
  q.delete('page');
  q.delete('page_size');
  q.set('v', String(state.mapVersion));
  return `${tiles('cases')}?${q}`;
}

let mapTimer = null;
/** Redraws the cases on the map, at most once a second however many change. */
function refreshMap() {
  if (mapTimer) return; // a redraw is already on its way
  mapTimer = setTimeout(() => {
    mapTimer = null;
    const src = state.map && state.map.getSource('cases');
    state.mapVersion += 1;
    if (src) src.setTiles([casesTiles()]);
  }, state.mapVersion ? 1000 : 0);
}

/** Rings the selected case on the map and centres the map on it. */
function showSelected(c) {
  const src = state.map && state.map.getSource('selected');
  if (!src || c.lon === undefined) return;
  src.setData({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [c.lon, c.lat] }, properties: {} }] });
  state.map.easeTo({ center: [c.lon, c.lat], zoom: Math.max(state.map.getZoom(), 15) });
}
state.refreshMap = refreshMap;

// ------------------------------------------------------------------ queues

/** The console's tabs: each desk's open work, with its count and filter. */
const QUEUES = [
  ['all', {}],
  ['to_file', { state: 'reported' }],
  ['to_dispatch', { state: 'filed' }],
  ['in_handling', { state: 'dispatched' }],
  ['to_verify', { state: 'handled', verified: 'false' }],
  ['to_close', { state: 'handled', verified: 'true' }],
  ['overdue', { overdue: 'true' }],
  ['urgent', { urgent: 'true', state: OPEN.join(',') }],
];

function renderQueues(counts) {
  document.getElementById('queues').replaceChildren(...QUEUES.map(([name]) => el('button', {
    'data-queue': name, 'aria-pressed': String(state.queue === name),
    class: name === 'overdue' || name === 'urgent' ? 'hot' : '',
    onclick: () => { state.queue = name; renderQueues(state.counts); refilter(); },
  }, t(`queue_${name}`), name === 'all' ? '' : el('span', { class: 'badge' }, String(counts?.[name] ?? '…')))));
}

let countsTimer = null;
/** The counts, at most every half second however many changes arrive. */
function refreshCounts() {
  clearTimeout(countsTimer);
  countsTimer = setTimeout(async () => {
    try {
      state.counts = await api('/api/v1/cases/counts');
      renderQueues(state.counts);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) console.warn('counts', e.message);
    }
  }, 500);
}

// ------------------------------------------------------------------ urgent

/** A new urgent case announces itself: the badge, a tone unless muted, the row. */
function announceUrgent(c) {
  state.unseenUrgent.add(c.case_no);
  const badge = document.getElementById('urgent-alert');
  badge.hidden = false;
  badge.textContent = `${t('new_urgent')} ${state.unseenUrgent.size}`;
  badge.onclick = () => { select([...state.unseenUrgent].pop()); };
  if (!document.getElementById('mute').checked) beep();
}

function beep() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.15;
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.4);
    state.beeps += 1;
  } catch {
    // No audio on this device: the badge and the marked row remain.
  }
}

// ------------------------------------------------------------------ list

const PAGE_SIZE = 100;

function filters() {
  const q = new URLSearchParams({ page_size: String(PAGE_SIZE), page: String(state.page) });
  const preset = Object.fromEntries(QUEUES)[state.queue] || {};
  for (const [k, v] of Object.entries(preset)) q.set(k, v);
  const v = (id) => document.getElementById(id).value;
  if (v('f-state')) q.set('state', v('f-state'));
  if (v('f-class')) { const [kind, cls] = v('f-class').split(':'); q.set('kind', kind); q.set('class', cls); }
  if (v('f-department')) q.set('department', v('f-department'));
  if (v('f-district')) q.set('district', v('f-district'));
  if (v('f-street')) q.set('street', v('f-street'));
  if (document.getElementById('f-overdue').checked) q.set('overdue', 'true');
  return q;
}

async function loadCases() {
  const q = filters();
  const data = await api(`/api/v1/cases?${q}`);
  state.cases = new Map(data.cases.map((c) => [c.case_no, c]));
  state.total = data.total;
  state.totalIsEstimate = data.total_is_estimate;
  renderList();
  refreshMap();
}

let listTimer = null;
/** Reads the page shown again, at most every half second however many changes arrive. */
function refreshList() {
  if (listTimer) return;
  listTimer = setTimeout(async () => {
    listTimer = null;
    try {
      await loadCases();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) console.warn('case list', e.message);
    }
  }, 500);
}

/** A new filter or tab starts again at the first page. */
function refilter() {
  state.page = 1;
  state.map?.getSource('selected')?.setData({ type: 'FeatureCollection', features: [] });
  loadCases();
}

/** The total, "about …" when the server estimated it (more than 10,000 match). */
function totalText() {
  return state.totalIsEstimate ? t('about_n').replace('{n}', state.total.toLocaleString()) : String(state.total);
}

function renderPager() {
  const pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  const first = state.total ? (state.page - 1) * PAGE_SIZE + 1 : 0;
  const last = Math.min(state.total, state.page * PAGE_SIZE);
  const go = (page) => { state.page = page; loadCases(); document.getElementById('cases').scrollTop = 0; };
  const pager = document.getElementById('pager');
  pager.setAttribute('aria-label', t('pages'));
  pager.replaceChildren(
    el('button', { type: 'button', id: 'page-prev', disabled: state.page <= 1, onclick: () => go(state.page - 1) }, t('page_prev')),
    el('span', { 'aria-live': 'polite' }, `${first}–${last} / ${totalText()}`),
    el('button', { type: 'button', id: 'page-next', disabled: state.page >= pages, onclick: () => go(state.page + 1) }, t('page_next')));
}

function renderList() {
  document.getElementById('count').textContent = `${t('cases')}: ${totalText()}`;
  renderPager();
  const list = document.getElementById('cases');
  const cases = [...state.cases.values()].sort((a, b) => urgency(a).due - urgency(b).due || (a.case_no < b.case_no ? 1 : -1));
  list.replaceChildren(
    ...(cases.length ? cases.map((c) =>
      el('div', {
        class: 'case' + (c.case_no === state.selected ? ' selected' : '') + (c.urgent ? ' urgent' : '') + (state.unseenUrgent.has(c.case_no) ? ' new' : ''),
        'data-case': c.case_no, tabindex: 0, role: 'button',
        onclick: () => select(c.case_no),
        onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(c.case_no); } },
      },
        el('span', { class: `light ${urgency(c).light}` }),
        el('div', {},
          el('div', {}, c.urgent ? el('strong', { class: 'urgent-tag' }, t('urgent')) : '', `${c.case_no} · ${className(c)}`),
          el('div', { class: 'muted' }, `${t(c.state)} · ${c.department_name || c.department || '—'} · ${when(c.reported_at)}`)))) : [el('div', { class: 'muted' }, t('no_cases'))]),
  );
}

// ------------------------------------------------------------------ detail

async function select(caseNo) {
  state.selected = caseNo;
  if (state.unseenUrgent.delete(caseNo)) {
    const badge = document.getElementById('urgent-alert');
    badge.hidden = state.unseenUrgent.size === 0;
    badge.textContent = `${t('new_urgent')} ${state.unseenUrgent.size}`;
  }
  state.message = null;
  renderList();
  const c = await api(`/api/v1/cases/${caseNo}`);
  if (state.cases.has(caseNo)) state.cases.set(caseNo, { ...state.cases.get(caseNo), ...c });
  renderDetail(c);
  showSelected(c);
}

/** Shows a case; the last action's message stays while the case is open,
 *  also when a live update redraws it. */
function renderDetail(c, notice) {
  if (notice) state.message = { caseNo: c.case_no, ...notice };
  else if (state.message && state.message.caseNo === c.case_no) notice = state.message;
  const panel = document.getElementById('detail');
  const area = (a) => (a ? `${a.name || ''} ${a.code}` : '—');
  const deadlines = Object.entries(c.deadlines || {})
    .sort(([a], [b]) => STAGES.indexOf(a) - STAGES.indexOf(b))
    .map(([stage, d]) =>
    el('li', {}, el('span', { class: `light ${d.light}`, style: 'display:inline-block' }), ` ${t(stage)} ≤ ${when(d.due_at)}`, d.done_at ? ` ✓ ${when(d.done_at)}` : ''));
  const timeline = (c.timeline || []).map((e) =>
    el('li', {}, `${when(e.at)} · ${e.actor} (${e.role}) · ${t(e.action === 'overdue' ? 'overdue_event' : e.action)}`,
      e.from !== e.to ? ` · ${t(e.from || '')} → ${t(e.to)}` : '', e.note ? ` · ${e.note}` : '',
      ...(e.photos || []).map((p) => {
        const caption = e.action === 'handle' ? t((e.data?.before || []).includes(p) ? 'photo_before' : 'photo_after') : '';
        return el('a', { href: photoUrl(p), target: '_blank', rel: 'noopener', class: 'event-photo', title: t('full_size') },
          el('img', { src: photoUrl(p), alt: caption || t('photos'), class: 'thumb' }), caption ? el('small', {}, caption) : '');
      })));
  const form = actionForm(c);
  panel.replaceChildren(
    el('h2', {}, `${c.case_no}`),
    el('div', {}, `${className(c)} · ${t(c.state)}`, c.urgent ? ' · ⚠' : ''),
    notice ? el('div', { class: notice.error ? 'error' : 'notice', id: 'message' }, notice.text) : '',
    el('p', {}, c.description || ''),
    el('dl', { class: 'place' },
      el('dt', {}, t('grid')), el('dd', {}, c.grid),
      el('dt', {}, t('community')), el('dd', {}, area(c.community)),
      el('dt', {}, t('street')), el('dd', {}, area(c.street)),
      el('dt', {}, t('district')), el('dd', {}, area(c.district)),
      el('dt', {}, t('component')), el('dd', {}, c.component || '—'),
      el('dt', {}, t('department')), el('dd', {}, c.department_name || c.department || '—'),
      ...(c.callback_phones?.length ? [el('dt', {}, t('callback_phones')), el('dd', { class: 'callback' }, c.callback_phones.join('，'))] : [])),
    el('div', { class: 'photos' }, ...(c.photos || []).map((p) => el('a', { href: photoUrl(p), target: '_blank', rel: 'noopener', title: t('full_size') },
      el('img', { src: photoUrl(p), alt: t('photos') })))),
    el('h3', {}, t('deadlines')), el('ul', {}, ...deadlines),
    form,
    el('h3', {}, t('timeline')), el('ol', { class: 'timeline' }, ...timeline),
  );
}

/** Each action's own fields; a note is required where the workflow requires one. */
const FIELDS = {
  dispatch: ['department', 'note'],
  request_extension: ['hours', 'note'],
  approve_extension: ['hours'],
  merge: ['into', 'note'],
  handle: ['note', 'before_photos', 'photos'],
  verify_fail: ['note', 'photos'],
};
const NOTE_REQUIRED = ['reject', 'return', 'verify_fail', 'void', 'suspend'];

function actionForm(c) {
  // The server says what this user may do now (role, department, state).
  const actions = c.actions || [];
  if (!actions.length) return '';
  return el('div', { class: 'actions' }, ...actions.map((a) => el('button', {
    'data-action': a, class: CONFIRM.includes(a) ? 'danger' : '', onclick: () => openAction(c, a),
  }, t(a))));
}

/** One dialog per action, with its own fields, the required ones marked. */
function openAction(c, action) {
  const dialog = document.getElementById('action-dialog');
  const required = (name) => (name === 'note' ? NOTE_REQUIRED.includes(action) : !name.endsWith('photos'));
  // A department's handling shows the place before and after the work.
  const label = (name) => (action === 'handle' && name === 'photos' ? 'field_after_photos' : `field_${name}`);
  const field = (name, input) => el('label', { class: 'field' },
    el('span', {}, t(label(name)), required(name) ? el('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : ''), input);
  const inputs = {
    note: () => el('textarea', { id: 'a-note', name: 'note', rows: 3, maxlength: 4000, required: required('note') }),
    department: () => el('select', { id: 'a-department', name: 'department', required: true },
      state.departments.map((d) => el('option', { value: d.code, selected: d.code === c.department }, d.name))),
    hours: () => el('input', { id: 'a-hours', name: 'hours', type: 'number', min: 1, max: 720, required: true, value: c.extension_requested_hours || 4 }),
    into: () => el('input', { id: 'a-into', name: 'into', required: true, maxlength: 40, placeholder: '20261125-000001', autocomplete: 'off' }),
    photos: () => el('input', { id: 'a-photos', name: 'photos', type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: true }),
    before_photos: () => el('input', { id: 'a-before-photos', name: 'before_photos', type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: true }),
  };
  const names = FIELDS[action] || ['note'];
  const error = el('div', { class: 'error', role: 'alert', id: 'a-error' });
  const form = el('form', { method: 'dialog', class: `action-form${CONFIRM.includes(action) ? ' danger' : ''}` },
    el('h2', {}, `${t(action)} · ${c.case_no}`),
    CONFIRM.includes(action) ? el('p', { class: 'warning' }, t('confirm_action')) : '',
    ...names.map((n) => field(n, inputs[n]())),
    error,
    el('div', { class: 'actions' },
      el('button', { type: 'submit', class: CONFIRM.includes(action) ? 'primary danger' : 'primary', id: 'a-submit' }, t(action)),
      el('button', { type: 'button', onclick: () => dialog.close() }, t('cancel'))));
  form.onsubmit = async (e) => {
    e.preventDefault();
    const done = await act(c, action, form, error);
    if (done) dialog.close();
  };
  dialog.replaceChildren(form);
  dialog.showModal();
  form.querySelector('textarea, select, input')?.focus();
}

/** Sends an action from its dialog; true when it was taken. A live update
 *  that changed nothing of the case's state (a duplicate report joined, say)
 *  does not stand in the way; a change of state is a conflict to look at. */
async function act(c, action, form, error) {
  const latest = state.cases.get(c.case_no);
  const version = latest && latest.state === c.state ? latest.version : c.version;
  const body = { action, expected_version: version };
  const f = form.elements;
  if (f.note?.value.trim()) body.note = f.note.value.trim();
  if (f.department) body.department = f.department.value;
  if (f.hours) body.hours = Number(f.hours.value);
  if (f.into) body.into = f.into.value.trim();
  try {
    for (const name of ['before_photos', 'photos']) {
      if (!f[name]?.files.length) continue;
      body[name] = [];
      for (const file of f[name].files) body[name].push((await api('/api/v1/media', { method: 'POST', body: file })).id);
    }
    const res = await api(`/api/v1/cases/${c.case_no}/actions`, { method: 'POST', body });
    state.cases.set(c.case_no, res.case);
    renderList();
    refreshMap();
    renderDetail(res.case, { text: `${t(action)} ✓` });
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.code === 'version_conflict') {
      // The case changed meanwhile: shown afresh behind the dialog, which keeps what was typed.
      const fresh = await api(`/api/v1/cases/${c.case_no}`);
      state.cases.set(c.case_no, fresh);
      renderDetail(fresh);
      Object.assign(c, fresh);
    }
    error.textContent = message(e);
    return false;
  }
}

// ------------------------------------------------------------------ live

function listen() {
  const source = new EventSource('/api/v1/events');
  source.addEventListener('ready', () => { state.live = true; });
  const changed = async (ev) => {
    const { case_no } = JSON.parse(ev.data);
    refreshCounts();
    try {
      const c = await api(`/api/v1/cases/${case_no}`);
      if (ev.type === 'created' && c.urgent) announceUrgent(c);
      // The page shown is read again (its filters, its order, its total);
      // an open dialog and what is typed in it stay as they are (the map
      // redraws with the list).
      refreshList();
      if (state.selected === case_no) renderDetail(c);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 403)) console.warn('case update', e.message);
    }
  };
  for (const type of ['created', 'state_changed', 'updated', 'overdue']) source.addEventListener(type, changed);
  source.addEventListener('resync', () => { loadCases(); refreshCounts(); });
}

// ------------------------------------------------------------------ start

function option(value, label) {
  return el('option', { value }, label);
}

async function start() {
  translate();
  document.getElementById('lang').onclick = () => { setLang(lang() === 'zh' ? 'en' : 'zh'); location.reload(); };
  state.me = await signedIn();
  // A session that ends while the console is open: sign in again over it;
  // what was typed stays, and the list catches up.
  window.addEventListener('citygrid:unauthorized', async () => {
    state.me = await signInForm();
    loadCases();
  });
  document.getElementById('app').hidden = false;
  const [classes, departments, areas, config] = await Promise.all([
    api('/api/v1/classes'), api('/api/v1/departments'), api('/api/v1/areas'), mapConfig(),
  ]);
  state.classes = classes.classes;
  state.departments = departments.departments;
  document.getElementById('f-state').replaceChildren(option('', `${t('state')}: ${t('all')}`), ...OPEN.concat(['closed', 'rejected', 'void']).map((s) => option(s, t(s))));
  document.getElementById('f-class').replaceChildren(option('', `${t('class')}: ${t('all')}`),
    ...state.classes.map((c) => option(`${c.kind}:${c.code}`, `${c.code} ${lang() === 'en' ? c.name_en : c.name}`)));
  document.getElementById('f-department').replaceChildren(option('', `${t('department')}: ${t('all')}`), ...state.departments.map((d) => option(d.code, d.name)));
  document.getElementById('f-district').replaceChildren(option('', `${t('district')}: ${t('all')}`), ...areas.districts.map((d) => option(d.code, d.name)));
  document.getElementById('f-street').replaceChildren(option('', `${t('street')}: ${t('all')}`), ...areas.streets.map((s) => option(s.code, s.name)));
  for (const [id, label] of [['f-state', 'state'], ['f-class', 'class'], ['f-department', 'department'], ['f-district', 'district'], ['f-street', 'street']]) {
    document.getElementById(id).setAttribute('aria-label', t(label));
  }
  for (const id of ['f-state', 'f-class', 'f-department', 'f-district', 'f-street', 'f-overdue']) document.getElementById(id).onchange = refilter;
  const mute = document.getElementById('mute');
  mute.checked = localStorage.getItem('citygrid_mute') === '1';
  mute.onchange = () => localStorage.setItem('citygrid_mute', mute.checked ? '1' : '0');
  renderQueues(null);
  refreshCounts();
  buildMap(config);
  listen();
  await loadCases();
}

start();
