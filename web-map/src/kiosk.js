// The street kiosk: nearby public services with distance and direction,
// report a problem (at the kiosk or where the visitor taps the map, with a
// picture where the kiosk has a camera and a number to call back), look up
// a case by its number on an on-screen keypad. Back to the start, in
// Chinese, after 60 s without a touch.
import { api, message, whoAmI, t, translate, lang, setLang, el, when, tiles, mapConfig, legend, className, distanceText, metres, cityMap, addUnderLabels } from './common.js';

const IDLE_MS = 60_000;
const CATEGORIES = {
  hospital: ['医院', 'Hospital'], pharmacy: ['药店', 'Pharmacy'], toilet: ['公厕', 'Toilet'], police: ['警务', 'Police'],
  post_office: ['邮局', 'Post office'], gov_service: ['政务大厅', 'Service hall'], bus_stop: ['公交站', 'Bus stop'],
};
// The common problems, with pictures drawn here (SVG): emoji are empty boxes
// on a kiosk without an emoji font.
const ICONS = {
  bin: '<path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6"/>',
  cover: '<circle cx="12" cy="12" r="8"/><path d="M6 9h12M5 12h14M6 15h12"/>',
  lamp: '<path d="M12 22V10M8 22h8M7 10h10l-2-6H9z"/>',
  car: '<path d="M3 16v-4l2-5h14l2 5v4z"/><circle cx="7" cy="17" r="2"/><circle cx="17" cy="17" r="2"/>',
  water: '<path d="M2 10c3-3 5 3 8 0s5 3 8 0 4 0 4 0M2 16c3-3 5 3 8 0s5 3 8 0 4 0 4 0"/>',
  flyer: '<path d="M6 2h9l5 5v15H6z"/><path d="M14 2v6h6M9 13h8M9 17h8"/>',
  stall: '<path d="M3 4h3l3 11h10l2-8H7"/><circle cx="10" cy="20" r="1.5"/><circle cx="18" cy="20" r="1.5"/>',
  bicycle: '<circle cx="6" cy="16" r="4"/><circle cx="18" cy="16" r="4"/><path d="M6 16l4-8h5l3 8M10 8l2 8"/>',
  other: '<circle cx="12" cy="12" r="10"/><path d="M9 9a3 3 0 1 1 4 3c-1 .5-1 1-1 2M12 17v.5"/>',
};
const COMMON = [
  ['event', '0102', 'bin'], ['component', '0102', 'cover'], ['component', '0118', 'lamp'], ['event', '0505', 'car'],
  ['event', '0406', 'water'], ['event', '0201', 'flyer'], ['event', '0501', 'stall'], ['event', '0107', 'bicycle'], ['event', '0199', 'other'],
];

/** One of the drawn icons (our own constant markup, no outside text). */
function icon(name) {
  const box = el('span', { class: 'icon', 'aria-hidden': 'true' });
  box.innerHTML = `<svg viewBox="0 0 24 24" width="48" height="48" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${ICONS[name]}</svg>`;
  return box;
}
const state = { kiosk: null, map: null, category: '', picked: null, classes: [], markers: [], place: null, placeMarker: null, picture: null };
window.citygrid = state;

function label(pair) {
  return lang() === 'en' ? pair[1] : pair[0];
}

/** Which way a point lies from the kiosk, in words (one of eight). */
function direction(from, to) {
  const rad = Math.PI / 180;
  const y = Math.sin((to.lon - from.lon) * rad) * Math.cos(to.lat * rad);
  const x = Math.cos(from.lat * rad) * Math.sin(to.lat * rad) - Math.sin(from.lat * rad) * Math.cos(to.lat * rad) * Math.cos((to.lon - from.lon) * rad);
  const bearing = (Math.atan2(y, x) / rad + 360) % 360;
  return t(`dir_${['n', 'ne', 'e', 'se', 's', 'sw', 'w', 'nw'][Math.round(bearing / 45) % 8]}`);
}

function show(section) {
  for (const id of ['start', 'report', 'lookup']) document.getElementById(id).hidden = id !== section;
}

async function loadServices() {
  const k = state.kiosk;
  const q = new URLSearchParams({ lon: k.lon, lat: k.lat, limit: '8' });
  if (state.category) q.set('category', state.category);
  const data = await api(`/api/v1/services/nearby?${q}`);
  // Numbered rows and numbered markers that match; a row opens its details.
  for (const m of state.markers) m.remove();
  state.markers = data.services.map((s, i) => new maplibregl.Marker({ element: el('div', { class: 'service-marker', 'aria-hidden': 'true' }, String(i + 1)) })
    .setLngLat([s.lon, s.lat]).addTo(state.map));
  document.getElementById('services').replaceChildren(...data.services.map((s, i) => {
    const row = el('div', { class: 'service', 'data-distance': s.distance_m, tabindex: 0, role: 'button',
      onclick: () => {
        const open = !row.classList.contains('open');
        for (const r of document.querySelectorAll('.service.open')) r.classList.remove('open');
        row.classList.toggle('open', open);
        if (open) state.map.easeTo({ center: [s.lon, s.lat] });
      } },
      el('span', { class: 'num' }, String(i + 1)),
      el('div', {},
        el('div', { class: 'name' }, s.name),
        el('div', { class: 'muted' }, `${distanceText(s.distance_m)} · ${t('towards')}${direction(k, s)}`),
        el('div', { class: 'details' },
          s.address ? el('div', {}, `${t('address')}：${s.address}`) : '',
          s.phone ? el('div', {}, `${t('phone')}：${s.phone}`) : '',
          el('div', { class: 'hours' }, `${t('opening_hours')}：${s.hours || t('hours_unknown')}`))));
    return row;
  }));
  // The map shows the kiosk and every result.
  if (data.services.length) {
    const bounds = new maplibregl.LngLatBounds([k.lon, k.lat], [k.lon, k.lat]);
    for (const s of data.services) bounds.extend([s.lon, s.lat]);
    state.map.fitBounds(bounds, { padding: 60, maxZoom: 17, duration: 0 });
  }
}

function classButtons() {
  document.getElementById('kiosk-classes').replaceChildren(...COMMON.map(([kind, code, picture]) =>
    el('button', { 'data-class': `${kind}:${code}`, onclick: (e) => { state.picked = { kind, class: code }; for (const b of document.querySelectorAll('#kiosk-classes button')) b.classList.toggle('primary', b === e.currentTarget); } },
      icon(picture), className(state.classes, kind, code))));
}

/** An on-screen keypad for `input` (a kiosk has no keyboard): digits, a
 *  dash, delete and clear, each a large button. */
function keypad(box, input) {
  const type = (key) => {
    if (key === 'del') input.value = input.value.slice(0, -1);
    else if (key === 'clear') input.value = '';
    else if (input.value.length < (input.maxLength > 0 ? input.maxLength : 40)) input.value += key;
    input.dispatchEvent(new Event('input'));
  };
  box.replaceChildren(...['1', '2', '3', '4', '5', '6', '7', '8', '9', '-', '0', 'del', 'clear'].map((key) =>
    el('button', { type: 'button', 'data-key': key, class: key.length > 1 ? 'wide' : '', 'aria-label': key.length > 1 ? t(`key_${key}`) : key, onclick: () => type(key) },
      key === 'del' ? '⌫' : key === 'clear' ? t('key_clear') : key)));
}

/** Where the problem is: the kiosk, unless the visitor taps the map. */
function showPlace() {
  const k = state.kiosk;
  const p = state.place;
  if (state.placeMarker) { state.placeMarker.remove(); state.placeMarker = null; }
  if (p) state.placeMarker = new maplibregl.Marker({ color: '#1f5fa8' }).setLngLat([p.lon, p.lat]).addTo(state.map);
  document.getElementById('k-place').textContent = p
    ? `${t('place_picked')} ${distanceText(metres(k, p))} · ${t('towards')}${direction(k, p)}`
    : t('place_default');
}

/** The kiosk's camera, live: the visitor frames the problem and takes it.
 *  No file dialog: a kiosk's files are not the public's to browse. */
async function openCamera() {
  const video = document.getElementById('k-video');
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch {
    document.getElementById('k-status').textContent = t('camera_unavailable');
    return;
  }
  video.srcObject = state.stream;
  video.hidden = false;
  document.getElementById('k-shoot').hidden = false;
  await video.play().catch(() => {});
}

function closeCamera() {
  for (const track of state.stream?.getTracks() || []) track.stop();
  state.stream = null;
  document.getElementById('k-video').hidden = true;
  document.getElementById('k-shoot').hidden = true;
}

/** Takes the frame on screen as the report's picture (JPEG). */
function shoot() {
  const video = document.getElementById('k-video');
  const canvas = el('canvas', { width: video.videoWidth || 640, height: video.videoHeight || 480 });
  canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
  canvas.toBlob((blob) => {
    const preview = document.getElementById('k-picture-preview');
    if (preview.src) URL.revokeObjectURL(preview.src);
    state.picture = blob;
    preview.src = URL.createObjectURL(blob);
    preview.alt = t('picture_taken');
    preview.hidden = false;
  }, 'image/jpeg', 0.85);
  closeCamera();
}

/** The picture field shows only where the kiosk has a camera. */
async function offerPicture() {
  const devices = await navigator.mediaDevices?.enumerateDevices?.().catch(() => []) || [];
  document.getElementById('k-picture-field').hidden = !devices.some((d) => d.kind === 'videoinput');
}

function clearReport() {
  document.getElementById('k-description').value = '';
  document.getElementById('k-phone').value = '';
  closeCamera();
  const preview = document.getElementById('k-picture-preview');
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.hidden = true;
  preview.removeAttribute('src');
  state.picked = null;
  state.place = null;
  state.picture = null;
  for (const b of document.querySelectorAll('#kiosk-classes button')) b.classList.remove('primary');
  if (state.kiosk) showPlace();
}

async function sendReport() {
  const status = document.getElementById('k-status');
  const send = document.getElementById('k-send');
  if (!state.picked) { status.textContent = t('pick_class'); return; }
  if (send.disabled) return;
  send.disabled = true; // a second tap while the picture goes up is not a second report
  try {
    const place = state.place || state.kiosk;
    const body = {
      client_key: `kiosk-${Date.now()}-${Math.random().toString(36).slice(2)}`, ...state.picked,
      description: document.getElementById('k-description').value, lon: place.lon, lat: place.lat,
    };
    const phone = document.getElementById('k-phone').value.trim();
    if (phone) body.callback_phone = phone;
    if (state.picture) body.photos = [(await api('/api/v1/media', { method: 'POST', body: state.picture })).id];
    const res = await api('/api/v1/reports', { method: 'POST', body });
    // The receipt: the case number, and a QR code of its tracking page.
    const no = res.case.case_no;
    status.replaceChildren(
      el('div', { class: 'receipt-no' }, `${t('case_no')}: ${no}`),
      el('img', { id: 'k-receipt-qr', class: 'qr', src: `/track/${encodeURIComponent(no)}/qr.svg`, width: 200, height: 200, alt: t('receipt') }),
      el('div', { class: 'muted' }, t('receipt')));
    status.dataset.caseNo = no;
    // The next visitor starts afresh.
    clearReport();
  } catch (e) {
    status.textContent = message(e);
  } finally {
    send.disabled = false;
  }
}

async function lookup() {
  const box = document.getElementById('k-result');
  try {
    // The case's public view: state in public words, place, expected completion, steps.
    const c = await api(`/api/v1/cases/${encodeURIComponent(document.getElementById('k-case').value.trim())}`);
    const en = lang() === 'en';
    const stateOf = (s) => (en ? s.state_name_en : s.state_name);
    box.replaceChildren(...[
      el('p', {}, `${c.case_no} · ${en ? c.class_name_en : c.class_name} · ${stateOf(c)}`),
      c.street?.name && el('p', { class: 'muted' }, c.street.name),
      c.agency && el('p', {}, `${t('agency')}: ${c.agency}`),
      c.expected_at && el('p', {}, `${t('expected')}: ${when(c.expected_at)}`),
      el('ol', {}, ...c.steps.map((s) => el('li', {}, `${when(s.at)} · ${stateOf(s)}`))),
    ].filter(Boolean));
  } catch (e) {
    box.textContent = message(e);
  }
}

function resetOnIdle() {
  let timer;
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(idleReset, IDLE_MS);
  };
  for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, reset);
  reset();
}

/** Back to the start for the next visitor, in the kiosk's own language. */
function idleReset() {
  if (lang() !== 'zh') {
    setLang('zh');
    location.reload();
    return;
  }
  show('start');
  clearReport();
  document.getElementById('k-case').value = '';
  document.getElementById('k-status').replaceChildren();
  delete document.getElementById('k-status').dataset.caseNo;
  document.getElementById('k-result').textContent = '';
  state.map.jumpTo({ center: [state.kiosk.lon, state.kiosk.lat], zoom: 16 });
}

/** No sign-in form for passers-by: a kiosk not enrolled, or revoked, says so. */
function outOfService() {
  document.getElementById('app').hidden = true;
  document.getElementById('out-of-service').hidden = false;
}

async function start() {
  translate();
  // Enrolled by the administrator's one-time code (/kiosk#enrol=CODE), kept
  // out of the address bar and history once used.
  const code = new URLSearchParams(location.hash.slice(1)).get('enrol');
  if (code) {
    history.replaceState(null, '', location.pathname);
    await api('/api/v1/device/enrol', { method: 'POST', body: { code } }).catch(() => {});
  }
  const me = await whoAmI().catch(() => null);
  if (!me || !me.kiosk) { outOfService(); return; }
  state.kiosk = me.kiosk;
  // Revoked (or its device session ended): out of service at once on the
  // next request, and within a minute when idle.
  window.addEventListener('citygrid:unauthorized', outOfService);
  state.checkIn = async () => { if ((await whoAmI().catch(() => undefined)) === null) outOfService(); };
  setInterval(state.checkIn, 60_000);
  document.getElementById('app').hidden = false;
  document.getElementById('lang').onclick = () => { setLang(lang() === 'zh' ? 'en' : 'zh'); location.reload(); };
  document.getElementById('home').onclick = () => { closeCamera(); show('start'); };
  document.getElementById('to-report').onclick = () => { show('report'); showPlace(); };
  document.getElementById('to-lookup').onclick = () => show('lookup');
  document.getElementById('k-send').onclick = sendReport;
  document.getElementById('k-find').onclick = lookup;
  keypad(document.getElementById('k-case-keypad'), document.getElementById('k-case'));
  keypad(document.getElementById('k-phone-keypad'), document.getElementById('k-phone'));
  document.getElementById('k-camera').onclick = openCamera;
  document.getElementById('k-shoot').onclick = shoot;
  offerPicture();
  const pick = (code) => () => {
    state.category = code;
    for (const b of document.querySelectorAll('#categories button')) b.classList.toggle('primary', b.dataset.category === code);
    loadServices();
  };
  document.getElementById('categories').replaceChildren(
    el('button', { class: 'primary', 'data-category': '', onclick: pick('') }, t('all')),
    ...Object.entries(CATEGORIES).map(([code, names]) => el('button', { 'data-category': code, onclick: pick(code) }, label(names))));
  state.classes = (await api('/api/v1/classes')).classes;
  classButtons();
  const config = await mapConfig();
  state.map = cityMap('map', config, { center: [me.kiosk.lon, me.kiosk.lat], zoom: 16 });
  state.map.on('load', () => {
    state.map.addSource('grids', { type: 'vector', tiles: [tiles('grids')] });
    addUnderLabels(state.map, { id: 'grids', type: 'line', source: 'grids', 'source-layer': 'grids', paint: { 'line-color': '#cfc6b4', 'line-width': 0.5 } });
    new maplibregl.Marker({ color: '#d4322c' }).setLngLat([me.kiosk.lon, me.kiosk.lat]).addTo(state.map);
    legend(state.map, [['pin', '#d4322c', 'lg_kiosk'], ['dot', '#1f5fa8', 'lg_service'], ['pin', '#1f5fa8', 'lg_problem_place']]);
    loadServices();
  });
  // Reporting: a tap on the map places the problem there.
  state.map.on('click', (e) => {
    if (document.getElementById('report').hidden) return;
    state.place = { lon: e.lngLat.lng, lat: e.lngLat.lat };
    showPlace();
  });
  resetOnIdle();
  state.idleReset = idleReset;
}

start();
