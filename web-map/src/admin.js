// The administration page (应用维护): users, machine tokens, kiosks, the
// city's case configuration (city-config.js) and the audit log of every change
// made here or on the command line.
import { api, signedIn, signInForm, message, t, translate, lang, setLang, el, when } from './common.js';
import { startConfig } from './city-config.js';

const ROLES = ['inspector', 'operator', 'dispatcher', 'department', 'admin'];
const state = { departments: [], users: [], me: null };
window.citygrid = state;

function say(text) {
  document.getElementById('notice').textContent = text;
  document.getElementById('error').textContent = '';
}
function fail(e) {
  document.getElementById('notice').textContent = '';
  document.getElementById('error').textContent = message(e);
}

/** Runs an API change, says it worked (or why not) and reloads the lists. */
async function change(doing, done) {
  try {
    const result = await doing();
    say(done);
    await load();
    return result;
  } catch (e) {
    fail(e);
    return null;
  }
}

function options(select, values, label, selected) {
  select.replaceChildren(...values.map((v) => el('option', { value: v, selected: v === selected }, label(v))));
}

function departmentName(code) {
  const d = state.departments.find((x) => x.code === code);
  return d ? d.name : code;
}

/** Area codes typed as a list: commas, spaces or 、 between them. */
function codes(text) {
  return text.split(/[\s,，、]+/).filter(Boolean);
}

function userRow(u) {
  const role = el('select', { 'aria-label': t('role') });
  options(role, ROLES, (r) => t(`role_${r}`), u.role);
  const department = el('select', { 'aria-label': t('department'), disabled: u.role !== 'department' });
  options(department, ['', ...state.departments.map((d) => d.code)], (c) => (c ? departmentName(c) : '—'), u.department || '');
  const patrol = el('input', { 'aria-label': t('patrol'), 'data-patrol': u.login, value: (u.patrol || []).join(', '), disabled: u.role !== 'inspector', size: 16, placeholder: '610302001003' });
  role.onchange = () => { department.disabled = role.value !== 'department'; patrol.disabled = role.value !== 'inspector'; };
  const save = el('button', {
    onclick: () => change(() => api(`/api/v1/admin/users/${encodeURIComponent(u.login)}`, {
      method: 'PATCH',
      body: {
        role: role.value, department: role.value === 'department' ? department.value || undefined : undefined,
        patrol: role.value === 'inspector' ? codes(patrol.value) : undefined,
      },
    }), `${u.login}: ${t('saved')}`),
  }, t('save'));
  const toggle = u.disabled_at
    ? el('button', { onclick: () => change(() => api(`/api/v1/admin/users/${encodeURIComponent(u.login)}/enable`, { method: 'POST' }), `${u.login}: ${t('enabled')}`) }, t('enable'))
    : el('button', { class: 'danger', onclick: () => confirm(`${t('disable')} ${u.login}?`) && change(() => api(`/api/v1/admin/users/${encodeURIComponent(u.login)}/disable`, { method: 'POST' }), `${u.login}: ${t('disabled')}`) }, t('disable'));
  const reset = el('button', {
    onclick: () => {
      const password = prompt(`${t('new_password')} (${u.login})`);
      if (password) change(() => api(`/api/v1/admin/users/${encodeURIComponent(u.login)}/password`, { method: 'POST', body: { password } }), `${u.login}: ${t('password_set')}`);
    },
  }, t('reset_password'));
  return el('tr', { 'data-login': u.login, class: u.disabled_at ? 'off' : '' },
    el('td', {}, u.login), el('td', {}, u.name), el('td', {}, role), el('td', {}, department), el('td', {}, patrol),
    el('td', {}, u.disabled_at ? t('disabled') : t('enabled')),
    el('td', {}, u.last_sign_in_at ? when(u.last_sign_in_at) : '—'),
    el('td', { class: 'row-actions' }, save, reset, toggle));
}

function tokenRow(k) {
  const revoked = Boolean(k.revoked_at);
  const expired = k.expires_at && new Date(k.expires_at) < new Date();
  return el('tr', { 'data-token': k.id, class: revoked || expired ? 'off' : '' },
    el('td', {}, k.id), el('td', {}, k.login), el('td', {}, k.name), el('td', {}, when(k.created_at)),
    el('td', {}, k.expires_at ? when(k.expires_at) : t('never')),
    el('td', {}, revoked ? t('revoked') : expired ? t('expired') : t('active')),
    el('td', { class: 'row-actions' }, revoked ? '' : el('button', {
      class: 'danger', onclick: () => confirm(`${t('revoke')} ${k.name}?`) && change(() => api(`/api/v1/admin/tokens/${k.id}`, { method: 'DELETE' }), `${k.name}: ${t('revoked')}`),
    }, t('revoke'))));
}

function showEnrolment(e) {
  const box = document.getElementById('enrolment');
  box.hidden = false;
  box.replaceChildren(
    el('div', {}, `${t('enrolment_code')} · ${e.kiosk}`),
    el('div', { class: 'code', id: 'enrolment-code' }, e.code),
    e.qr_svg ? el('img', {
      id: 'enrolment-qr', class: 'qr', width: 240, height: 240, alt: t('enrolment_qr'),
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(e.qr_svg)}`,
    }) : null,
    el('div', { class: 'muted' }, `${t('enrol_on_kiosk')}: ${e.enrol_url || location.origin + e.enrol_path}`),
    el('div', { class: 'muted' }, `${t('valid_until')} ${when(e.expires_at)}`));
}

function kioskRow(k) {
  const id = k.kiosk.id;
  const lon = el('input', { type: 'number', step: 'any', value: k.kiosk.lon, 'aria-label': t('longitude'), class: 'coord' });
  const lat = el('input', { type: 'number', step: 'any', value: k.kiosk.lat, 'aria-label': t('latitude'), class: 'coord' });
  const move = el('button', {
    onclick: () => change(() => api(`/api/v1/admin/kiosks/${encodeURIComponent(id)}`, { method: 'PATCH', body: { lon: Number(lon.value), lat: Number(lat.value) } }), `${id}: ${t('saved')}`),
  }, t('move'));
  const enrol = el('button', {
    onclick: async () => {
      const e = await change(() => api(`/api/v1/admin/kiosks/${encodeURIComponent(id)}/enrolment`, { method: 'POST' }), `${id}: ${t('enrolment_code')}`);
      if (e) showEnrolment(e);
    },
  }, t('new_code'));
  const revoke = k.disabled_at ? '' : el('button', {
    class: 'danger', onclick: () => confirm(`${t('revoke')} ${id}?`) && change(() => api(`/api/v1/admin/kiosks/${encodeURIComponent(id)}`, { method: 'DELETE' }), `${id}: ${t('revoked')}`),
  }, t('revoke'));
  return el('tr', { 'data-kiosk': id, class: k.disabled_at ? 'off' : '' },
    el('td', {}, id), el('td', {}, k.name), el('td', { class: 'place-cell' }, lon, lat, move),
    el('td', {}, k.disabled_at ? t('revoked') : t('active')),
    el('td', { class: 'row-actions' }, enrol, revoke));
}

/** A value as the log shows it: a configuration row as its file line. */
function shown(x) {
  return x && typeof x === 'object' && !Array.isArray(x) ? Object.values(x).join(',') : JSON.stringify(x);
}

/** What a list gained (+) and lost (−): rows of a table, holidays of a calendar. */
function listChange(before, after) {
  const b = before.map(shown);
  const a = after.map(shown);
  return [...a.filter((x) => !b.includes(x)).map((x) => `+ ${x}`), ...b.filter((x) => !a.includes(x)).map((x) => `− ${x}`)].join('; ');
}

function changeText(before, after) {
  if (!before) return after ? JSON.stringify(after) : '';
  if (!after) return JSON.stringify(before);
  if (Array.isArray(before) && Array.isArray(after)) return listChange(before, after);
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => (Array.isArray(before[k]) && Array.isArray(after[k])
      ? `${k}: ${listChange(before[k], after[k])}`
      : `${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`)).join('; ');
}

async function load() {
  const [users, tokens, kiosks, audit] = await Promise.all([
    api('/api/v1/admin/users'), api('/api/v1/admin/tokens'), api('/api/v1/admin/kiosks'), api('/api/v1/admin/audit?limit=200'),
  ]);
  state.users = users.users;
  document.getElementById('user-rows').replaceChildren(...users.users.map(userRow));
  options(document.getElementById('token-user'), users.users.filter((u) => !u.disabled_at).map((u) => u.login), (l) => l);
  document.getElementById('token-rows').replaceChildren(...tokens.tokens.map(tokenRow));
  document.getElementById('kiosk-rows').replaceChildren(...kiosks.users.map(kioskRow));
  document.getElementById('audit-rows').replaceChildren(...audit.entries.map((e) => el('tr', {},
    el('td', {}, when(e.at)), el('td', {}, e.actor), el('td', {}, e.action), el('td', {}, e.target),
    el('td', { class: 'change' }, changeText(e.before, e.after)))));
}

function tab(name) {
  for (const p of document.querySelectorAll('[data-panel]')) p.hidden = p.id !== name;
  for (const b of document.querySelectorAll('[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
}

function fields(form) {
  return Object.fromEntries(new FormData(form).entries());
}

async function start() {
  translate();
  document.getElementById('lang').onclick = () => { setLang(lang() === 'zh' ? 'en' : 'zh'); location.reload(); };
  state.me = await signedIn();
  window.addEventListener('citygrid:unauthorized', async () => { await signInForm(); load(); });
  if (state.me.role !== 'admin') {
    document.getElementById('error').textContent = t('admins_only');
    document.getElementById('app').hidden = false;
    for (const p of document.querySelectorAll('[data-panel], .tabs')) p.hidden = true;
    return;
  }
  document.getElementById('app').hidden = false;
  for (const b of document.querySelectorAll('[data-tab]')) b.onclick = () => tab(b.dataset.tab);
  tab('users');
  state.departments = (await api('/api/v1/departments')).departments;
  options(document.getElementById('new-role'), ROLES, (r) => t(`role_${r}`), 'inspector');
  options(document.getElementById('new-department'), ['', ...state.departments.map((d) => d.code)], (c) => (c ? departmentName(c) : '—'), '');
  document.getElementById('add-user').onsubmit = async (e) => {
    e.preventDefault();
    const f = fields(e.target);
    const body = { login: f.login.trim(), name: f.name.trim(), role: f.role, password: f.password };
    if (f.role === 'department') body.department = f.department;
    if (f.role === 'inspector' && f.patrol.trim()) body.patrol = codes(f.patrol);
    if (await change(() => api('/api/v1/admin/users', { method: 'POST', body }), `${body.login}: ${t('added')}`)) e.target.reset();
  };
  document.getElementById('add-token').onsubmit = async (e) => {
    e.preventDefault();
    const f = fields(e.target);
    const body = { login: f.login, name: f.name.trim() };
    if (f.expires_days) body.expires_days = Number(f.expires_days);
    const added = await change(() => api('/api/v1/admin/tokens', { method: 'POST', body }), `${body.name}: ${t('added')}`);
    if (added) {
      const box = document.getElementById('new-token');
      box.hidden = false;
      box.replaceChildren(el('div', {}, t('token_once')), el('div', { class: 'code', id: 'new-token-value' }, added.token));
      e.target.reset();
    }
  };
  document.getElementById('add-kiosk').onsubmit = async (e) => {
    e.preventDefault();
    const f = fields(e.target);
    const body = { id: f.id.trim(), name: f.name.trim(), lon: Number(f.lon), lat: Number(f.lat) };
    const added = await change(() => api('/api/v1/admin/kiosks', { method: 'POST', body }), `${body.id}: ${t('added')}`);
    if (added) { showEnrolment(added); e.target.reset(); }
  };
  await load();
  await startConfig(load);
  state.ready = true;
}

start();
