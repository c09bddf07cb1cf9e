// The inspector's phone page: locate (GPS or tap), report with photos, and
// verify handled cases. Reports queue in the browser with their client key
// and are sent when the connection allows; the server answers a resent key
// with the same case, so nothing is ever reported twice.
import { api, ApiError, message, signedIn, signInForm, t, translate, lang, setLang, el, tiles, mapConfig, photoUrl, legend, className, distanceText, metres, cityMap, addUnderLabels } from './common.js';

const QUEUE_KEY = 'citygrid_outbox';
const state = { here: null, classes: [], map: null, marker: null, sending: null, photos: [], patrol: [] };
window.citygrid = state;

function queue() {
  return JSON.parse(localStorage.getItem(QUEUE_KEY) || '[]');
}
function saveQueue(q) {
  localStorage.setItem(QUEUE_KEY, JSON.stringify(q));
  document.getElementById('queued').textContent = q.length;
  renderOutbox(q);
}

/** The outbox as a list: what waits, why, and retry or cancel. */
function renderOutbox(q) {
  document.getElementById('outbox').replaceChildren(...q.map((item) => el('li', { 'data-key': item.report.client_key },
    el('div', {}, `${className(state.classes, item.report.kind, item.report.class)}${item.report.urgent ? ` · ${t('urgent')}` : ''}`,
      item.photos.length ? ` · ${t('photos')} ${item.photos.length}` : ''),
    el('div', { class: 'muted' }, item.report.description || '—'),
    el('div', { class: 'why' }, t(`waiting_${item.why || 'queued'}`)),
    el('div', { class: 'row' },
      el('button', { onclick: () => flush() }, t('retry')),
      el('button', { class: 'danger', onclick: () => {
        if (!confirm(t('cancel_report'))) return;
        saveQueue(queue().filter((x) => x.report.client_key !== item.report.client_key));
      } }, t('cancel'))))));
}

/** Why the oldest report still waits. */
function markWhy(key, why) {
  saveQueue(queue().map((x) => (x.report.client_key === key ? { ...x, why } : x)));
}

function newKey() {
  return `insp-${Date.now().toString(36)}-${crypto.getRandomValues(new Uint32Array(2)).join('')}`;
}

async function dataUrl(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

/** Sends what is queued, oldest first; stops at the first network failure.
 *  A flush while one runs waits for that one. */
function flush() {
  if (!state.sending) state.sending = sendQueued().finally(() => { state.sending = null; });
  return state.sending;
}

async function sendQueued() {
  let q = queue();
  while (q.length) {
    const item = q[0];
    try {
      // Photos first (content-addressed: sending one twice stores it once).
      const photos = [];
      for (const p of item.photos) {
        const blob = await (await fetch(p)).blob();
        photos.push((await api('/api/v1/media', { method: 'POST', body: blob })).id);
      }
      const res = await api('/api/v1/reports', { method: 'POST', body: { ...item.report, photos } });
      // A report near an open case of its class joins that case: said in words.
      document.getElementById('status').textContent = res.duplicate_of
        ? t('joined_case').replace('{case}', res.case.case_no)
        : `${t('sent')}: ${res.case.case_no}`;
    } catch (e) {
      const refused = e instanceof ApiError && e.status >= 400 && e.status < 500 && ![401, 408, 429].includes(e.status);
      if (!refused) {
        // Offline, signed out, or the server is busy: kept for later, and said why.
        markWhy(item.report.client_key, !(e instanceof ApiError) ? 'offline' : e.status === 401 ? 'signed_out' : 'busy');
        break;
      }
      // Refused for good (bad input): drop it and say why.
      document.getElementById('status').textContent = message(e);
    }
    q = queue().filter((x) => x.report.client_key !== item.report.client_key);
    saveQueue(q);
  }
}

async function locate(lon, lat) {
  state.here = { lon, lat };
  loadTasks();
  if (state.marker) state.marker.setLngLat([lon, lat]);
  else state.marker = new maplibregl.Marker().setLngLat([lon, lat]).addTo(state.map);
  const place = document.getElementById('place');
  try {
    const p = await api(`/api/v1/locate?lon=${lon}&lat=${lat}`);
    place.replaceChildren(
      el('dt', {}, t('grid')), el('dd', { id: 'grid' }, p.grid.code),
      el('dt', {}, t('community')), el('dd', {}, p.community.name || p.community.code),
      el('dt', {}, t('street')), el('dd', {}, p.street.name || p.street.code),
      el('dt', {}, t('component')), el('dd', {}, p.components.map((c) => `${c.name} ${c.distance_m} m`).slice(0, 3).join('; ') || '—'));
    const comps = document.getElementById('component');
    comps.replaceChildren(el('option', { value: '' }, '—'), ...p.components.map((c) => el('option', { value: c.code }, `${c.code} ${c.name} ${c.distance_m} m`)));
  } catch (e) {
    place.replaceChildren(el('dd', { class: 'error' }, e.message));
  }
}

function fillClasses() {
  const kind = document.getElementById('kind').value;
  const search = document.getElementById('class-search').value.trim();
  const byMajor = new Map();
  for (const c of state.classes.filter((c) => c.kind === kind)) {
    const label = `${c.code} ${lang() === 'en' ? c.name_en : c.name}`;
    if (search && !label.includes(search)) continue;
    if (!byMajor.has(c.major_name)) byMajor.set(c.major_name, []);
    byMajor.get(c.major_name).push(el('option', { value: c.code }, label));
  }
  document.getElementById('class').replaceChildren(...[...byMajor].map(([major, opts]) => el('optgroup', { label: major }, ...opts)));
}

async function send() {
  if (!state.here) { document.getElementById('status').textContent = t('locate'); return; }
  const kind = document.getElementById('kind').value;
  const report = {
    client_key: newKey(),
    kind,
    class: document.getElementById('class').value,
    lon: state.here.lon,
    lat: state.here.lat,
    description: document.getElementById('description').value,
    urgent: document.getElementById('urgent').checked,
  };
  const component = document.getElementById('component').value;
  if (kind === 'component' && component) report.component_code = component;
  const photos = [];
  for (const f of state.photos) photos.push(await dataUrl(f));
  saveQueue([...queue(), { report, photos }]);
  // The next report starts empty: no description, photos, component or urgency of this one.
  for (const id of ['description', 'photo', 'component']) document.getElementById(id).value = '';
  document.getElementById('urgent').checked = false;
  state.photos = [];
  renderPhotos();
  document.getElementById('status').textContent = t('queued');
  await flush();
}

/** The chosen photos as previews, each with a button to remove it. */
function renderPhotos() {
  document.getElementById('photo-previews').replaceChildren(...state.photos.map((f, i) => {
    const url = URL.createObjectURL(f);
    return el('li', {},
      el('img', { src: url, alt: `${t('photos')} ${i + 1}`, onload: () => URL.revokeObjectURL(url) }),
      el('button', { 'aria-label': `${t('remove_photo')} ${i + 1}`, onclick: (e) => { e.preventDefault(); state.photos.splice(i, 1); renderPhotos(); } }, '×'));
  }));
}

async function loadTasks() {
  const box = document.getElementById('tasks');
  try {
    const data = await api('/api/v1/cases?state=handled&page_size=50');
    // The inspector's own patrol first, then nearest first from where the
    // inspector is, each with its distance, description and photos.
    const own = (c) => state.patrol.some((code) => c.grid.startsWith(code));
    const todo = data.cases.filter((c) => !c.verified)
      .map((c) => ({ ...c, own: own(c), distance: state.here ? metres(state.here, c) : null }))
      .sort((a, b) => (b.own - a.own) || (a.distance ?? 0) - (b.distance ?? 0));
    box.replaceChildren(...todo.map((c) => el('div', { class: 'task' + (c.own ? ' own' : ''), 'data-case': c.case_no },
      el('div', {}, c.own ? el('strong', { class: 'own-tag' }, t('my_patrol')) : '', `${c.case_no} · ${lang() === 'en' ? c.class_name_en : c.class_name}`,
        c.distance !== null ? el('span', { class: 'distance' }, ` · ${distanceText(c.distance)}`) : ''),
      c.description ? el('div', { class: 'muted' }, c.description) : '',
      (c.photos || []).length ? el('div', { class: 'task-photos' }, c.photos.map((p) => el('a', { href: photoUrl(p), target: '_blank', rel: 'noopener' },
        el('img', { src: photoUrl(p), alt: t('photos') })))) : '',
      el('div', { class: 'row' },
        el('a', { class: 'button', href: `geo:${c.lat},${c.lon}` }, t('navigate')),
        el('button', { class: 'primary', 'data-verify': 'pass', onclick: () => verify(c, 'verify_pass', {}) }, t('verify_pass')),
        el('button', { 'data-verify': 'fail', onclick: (e) => failForm(c, e.target.closest('.task')) }, t('verify_fail'))))));
  } catch (e) {
    box.textContent = message(e);
  }
}

/** Not fixed: its own form, with a required reason and a new photo. */
function failForm(c, task) {
  if (task.querySelector('form')) return;
  const reason = el('textarea', { name: 'reason', rows: 3, required: true, maxlength: 4000 });
  const photo = el('input', { name: 'photo', type: 'file', accept: 'image/jpeg,image/png,image/webp', capture: 'environment', required: true });
  const form = el('form', { class: 'fail-form' },
    el('label', { class: 'field' }, el('span', {}, t('fail_reason')), reason),
    el('label', { class: 'field' }, el('span', {}, t('fail_photo')), photo),
    el('div', { class: 'row' },
      el('button', { class: 'primary', type: 'submit' }, t('verify_fail_send')),
      el('button', { type: 'button', onclick: () => form.remove() }, t('cancel'))));
  form.onsubmit = (e) => {
    e.preventDefault();
    verify(c, 'verify_fail', { note: reason.value.trim(), files: photo.files });
  };
  task.append(form);
  reason.focus();
}

async function verify(c, action, { note = '', files = [] }) {
  const status = document.getElementById('status');
  try {
    const photos = [];
    for (const f of files) photos.push((await api('/api/v1/media', { method: 'POST', body: f })).id);
    await api(`/api/v1/cases/${c.case_no}/actions`, { method: 'POST', body: { action, expected_version: c.version, note, photos } });
    status.textContent = `${c.case_no}: ${t(action)}`;
  } catch (e) {
    status.textContent = message(e);
  }
  loadTasks();
}

async function start() {
  translate();
  document.getElementById('lang').onclick = () => { setLang(lang() === 'zh' ? 'en' : 'zh'); location.reload(); };
  state.patrol = (await signedIn()).patrol || [];
  // The shift's session ended: what waits in the outbox stays there, and is
  // sent (once: each report keeps its client key) after signing in again.
  window.addEventListener('citygrid:unauthorized', async () => {
    state.patrol = (await signInForm()).patrol || [];
    flush();
    loadTasks();
  });
  document.getElementById('app').hidden = false;
  const online = () => { document.getElementById('online').textContent = navigator.onLine ? '●' : '○'; if (navigator.onLine) flush(); };
  window.addEventListener('online', online);
  window.addEventListener('offline', online);
  online();
  saveQueue(queue());
  state.classes = (await api('/api/v1/classes')).classes;
  renderOutbox(queue());
  // A component is picked only for a component report.
  const kindChanged = () => {
    fillClasses();
    document.getElementById('component').closest('label').hidden = document.getElementById('kind').value !== 'component';
  };
  document.getElementById('kind').onchange = kindChanged;
  document.getElementById('class-search').oninput = fillClasses;
  kindChanged();
  const config = await mapConfig();
  state.map = cityMap('map', config, { center: config.center, zoom: 15 });
  state.map.on('load', () => {
    state.map.addSource('grids', { type: 'vector', tiles: [tiles('grids')] });
    addUnderLabels(state.map, { id: 'grids', type: 'line', source: 'grids', 'source-layer': 'grids', paint: { 'line-color': '#8a7f6a' } });
    legend(state.map, [['line', '#8a7f6a', 'lg_grid'], ['pin', '#3fb1ce', 'lg_me']]);
  });
  state.map.on('click', (e) => locate(e.lngLat.lng, e.lngLat.lat));
  document.getElementById('gps').onclick = () =>
    navigator.geolocation.getCurrentPosition((p) => { locate(p.coords.longitude, p.coords.latitude); state.map.setCenter([p.coords.longitude, p.coords.latitude]); },
      (err) => { document.getElementById('status').textContent = err.message; }, { enableHighAccuracy: true });
  document.getElementById('report').onsubmit = (e) => { e.preventDefault(); send(); };
  // Each choice adds to the photos; the input is emptied so the same one can be chosen again.
  document.getElementById('photo').onchange = (e) => {
    state.photos.push(...e.target.files);
    e.target.value = '';
    renderPhotos();
  };
  state.locate = locate;
  state.flush = flush;
  state.loadTasks = loadTasks;
  loadTasks();
  setInterval(flush, 10000);
}

start();
