// The admin page's configuration tab: the city's departments, routing rules,
// stage time limits, case rules and working calendar, each edited as a draft,
// checked by the server as the import checks its file, previewed (which
// department, when due) and saved as a whole with the version it was loaded at.
import { api, ApiError, message, t, el, lang } from './common.js';

const DATASETS = ['departments', 'routing', 'sla', 'case_rules', 'calendar'];

/** The choices of each enumerated column: value → label key. */
const CHOICES = {
  routing: { kind: ['event', 'component'] },
  sla: {
    kind: ['*', 'event', 'component'], urgent: ['*', 'yes', 'no'],
    stage: ['filing', 'dispatch', 'handling', 'verification'], unit: ['minutes', 'working_hours', 'working_days'],
  },
  case_rules: {
    kind: ['*', 'event', 'component'], duplicates: ['attach', 'suggest'], auto_file: ['no', 'yes'], auto_dispatch: ['no', 'yes'],
  },
};
const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const cfg = {
  /** dataset → {version, columns, rows, calendar, stored (JSON as loaded)} */
  sets: {},
  shown: 'routing',
  onSaved: () => {},
};

function choiceLabel(value) {
  return value === '*' ? t('cfg_any') : t(`cfg_${value}`);
}

function dirty(name) {
  const s = cfg.sets[name];
  return s && JSON.stringify(name === 'calendar' ? s.calendar : s.rows) !== s.stored;
}

function load(set) {
  const copy = JSON.parse(JSON.stringify(set));
  copy.stored = JSON.stringify(set.dataset === 'calendar' ? set.calendar : set.rows);
  cfg.sets[set.dataset] = copy;
}

/** Problems in the page's words, each under the row it is about. */
function showProblems(problems) {
  const list = document.getElementById('config-problems');
  for (const tr of document.querySelectorAll('#config-editor tr.bad')) tr.classList.remove('bad');
  const shownFile = cfg.sets[cfg.shown]?.file;
  list.replaceChildren(...(problems || []).map((p) => {
    // A row of the table on screen is marked; a problem of another data set
    // (a preview's draft, a reference) is named by its data set.
    const row = p.file === shownFile ? /^row (\d+)$/.exec(p.at) : null;
    if (row) document.querySelector(`#config-editor tr[data-row="${Number(row[1]) - 1}"]`)?.classList.add('bad');
    const dataset = t(`cfg_${p.file.split('.')[0]}`);
    const where = row ? t('cfg_row_n').replace('{n}', row[1]) : /^row (\d+)$/.test(p.at) ? `${dataset} ${p.at.replace('row ', '#')}` : dataset;
    const words = t(`problem_${p.kind}`);
    return el('li', {}, `${where}${t('sep')}${words === `problem_${p.kind}` ? t('error_generic') : words}`);
  }));
  list.hidden = !list.children.length;
  document.querySelector('#config-editor tr.bad')?.scrollIntoView({ block: 'center' });
}

function cell(name, row, col) {
  const choices = CHOICES[name]?.[col];
  const label = `${t(`col_${col}`)}`;
  if (choices) {
    const select = el('select', { 'aria-label': label, onchange: () => { row[col] = select.value; } },
      choices.map((v) => el('option', { value: v, selected: v === row[col] }, choiceLabel(v))));
    return select;
  }
  if (col === 'department' && name === 'routing') {
    // The departments as saved: a rule may name only a department that exists.
    const saved = cfg.sets.departments ? JSON.parse(cfg.sets.departments.stored) : [];
    const codes = saved.map((d) => d.code);
    if (row[col] && !codes.includes(row[col])) codes.push(row[col]);
    const names = Object.fromEntries(saved.map((d) => [d.code, d.name]));
    const select = el('select', { 'aria-label': label, onchange: () => { row[col] = select.value; } },
      el('option', { value: '' }, '—'),
      codes.map((c) => el('option', { value: c, selected: c === row[col] }, names[c] ? `${names[c]} (${c})` : c)));
    return select;
  }
  const numeric = col === 'amount' || col === 'duplicate_radius_m';
  const input = el('input', {
    'aria-label': label, value: row[col] ?? '', class: `col-${col}`,
    type: numeric ? 'number' : 'text', min: numeric ? '0' : undefined, step: numeric ? 'any' : undefined,
    list: col === 'class' ? 'class-list' : undefined,
    placeholder: col === 'area' ? t('cfg_area_hint') : col === 'class' ? t('cfg_class_hint') : undefined,
    oninput: () => { row[col] = input.value; },
  });
  return input;
}

/** Shows only the rows holding the filter's text (and new, empty rows). */
function filterRows() {
  const text = document.getElementById('config-filter').value.trim().toLowerCase();
  const set = cfg.sets[cfg.shown];
  for (const tr of document.querySelectorAll('#config-editor tr[data-row]')) {
    const row = set.rows?.[Number(tr.dataset.row)];
    if (!row) continue;
    const values = Object.values(row).join(' ').toLowerCase();
    tr.hidden = Boolean(text) && values.trim() !== '' && !values.includes(text);
  }
}

function tableEditor(name) {
  const set = cfg.sets[name];
  const body = el('tbody', {}, set.rows.map((row, i) => el('tr', { 'data-row': i },
    set.columns.map((col) => el('td', {}, cell(name, row, col))),
    el('td', {}, el('button', {
      class: 'danger', 'aria-label': `${t('cfg_remove')} ${i + 1}`,
      onclick: () => { set.rows.splice(i, 1); render(); },
    }, t('cfg_remove'))))));
  return el('table', { class: 'grid config-table', 'data-dataset': name },
    el('thead', {}, el('tr', {}, set.columns.map((c) => el('th', {}, t(`col_${c}`))), el('th', {}))),
    body);
}

/** A list of dates or ranges (holidays, make-up days) as rows of date pickers. */
function dateList(list, ranges) {
  const rows = list.map((item, i) => {
    const [from, to] = item.split('..');
    const start = el('input', { type: 'date', value: from, 'aria-label': t('from') });
    const end = ranges ? el('input', { type: 'date', value: to || '', 'aria-label': t('to') }) : null;
    const update = () => { list[i] = end && end.value && end.value !== start.value ? `${start.value}..${end.value}` : start.value; };
    start.oninput = update;
    if (end) end.oninput = update;
    return el('li', { 'data-row': i }, start, end ? ' – ' : '', end,
      el('button', { class: 'danger', onclick: () => { list.splice(i, 1); render(); } }, t('cfg_remove')));
  });
  return el('ul', { class: 'date-list' }, rows,
    el('li', {}, el('button', { onclick: () => { list.push(''); render(); } }, t('cfg_add_date'))));
}

function calendarEditor() {
  const c = cfg.sets.calendar.calendar;
  const zone = el('input', { value: c.timezone, 'aria-label': t('cfg_timezone'), oninput: () => { c.timezone = zone.value; } });
  const hours = el('ul', { class: 'date-list' }, c.working_hours.map((p, i) => {
    const [a, b] = p.split('-');
    const from = el('input', { type: 'time', value: a, 'aria-label': t('from') });
    const to = el('input', { type: 'time', value: b, 'aria-label': t('to') });
    const update = () => { c.working_hours[i] = `${from.value}-${to.value}`; };
    from.oninput = update;
    to.oninput = update;
    return el('li', {}, from, ' – ', to,
      el('button', { class: 'danger', onclick: () => { c.working_hours.splice(i, 1); render(); } }, t('cfg_remove')));
  }), el('li', {}, el('button', { onclick: () => { c.working_hours.push('14:00-17:30'); render(); } }, t('cfg_add_period'))));
  const weekend = el('div', { class: 'weekdays' }, WEEK.map((d) => {
    const box = el('input', { type: 'checkbox', checked: c.weekend.includes(d) });
    box.onchange = () => { c.weekend = WEEK.filter((w) => (w === d ? box.checked : c.weekend.includes(w))); };
    return el('label', {}, box, t(`cfg_${d}`));
  }));
  return el('div', { class: 'calendar-editor' },
    el('label', {}, el('span', {}, t('cfg_timezone')), zone),
    el('fieldset', {}, el('legend', {}, t('cfg_work_periods')), hours),
    el('fieldset', {}, el('legend', {}, t('cfg_weekend')), weekend),
    el('fieldset', { id: 'holidays' }, el('legend', {}, t('cfg_holidays')), dateList(c.holidays, true)),
    el('fieldset', { id: 'workdays' }, el('legend', {}, t('cfg_workdays')), dateList(c.workdays, false)));
}

function render() {
  const name = cfg.shown;
  for (const b of document.querySelectorAll('[data-dataset]')) {
    if (b.tagName !== 'BUTTON') continue;
    b.setAttribute('aria-pressed', String(b.dataset.dataset === name));
    b.classList.toggle('dirty', dirty(b.dataset.dataset));
  }
  const editor = document.getElementById('config-editor');
  editor.replaceChildren(
    el('p', { class: 'muted' }, t(`cfg_${name}_help`)),
    name === 'calendar' ? calendarEditor() : tableEditor(name));
  document.getElementById('config-add-row').hidden = name === 'calendar';
  document.getElementById('config-filter').parentElement.hidden = name === 'calendar';
  filterRows();
  document.getElementById('config-unsaved').hidden = !DATASETS.some(dirty);
}

/** What the previews answer with: the drafts of the data sets being edited. */
function drafts(names) {
  const out = {};
  for (const name of names) {
    if (!dirty(name)) continue;
    out[name] = name === 'calendar' ? cfg.sets.calendar.calendar : cfg.sets[name].rows;
  }
  return out;
}

async function save() {
  const name = cfg.shown;
  const set = cfg.sets[name];
  const body = { version: set.version, ...(name === 'calendar' ? { calendar: set.calendar } : { rows: set.rows }) };
  const notice = document.getElementById('notice');
  const error = document.getElementById('error');
  try {
    const saved = await api(`/api/v1/admin/config/${name}`, { method: 'PUT', body });
    load(saved);
    render();
    showProblems([]);
    error.textContent = '';
    notice.textContent = saved.changed ? `${t(`cfg_${name}`)}${t('sep')}${t('saved')}` : t('cfg_unchanged');
    cfg.onSaved();
  } catch (e) {
    notice.textContent = '';
    error.textContent = message(e);
    showProblems(e instanceof ApiError ? e.problems : []);
  }
}

async function reload(name) {
  load(await api(`/api/v1/admin/config/${name}`));
}

function dateAt(iso) {
  // The due time as the city's calendar states it (its own offset), with the weekday.
  const [date, time] = iso.split('T');
  const [y, m, d] = date.split('-').map(Number);
  const weekday = WEEK[(new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7];
  return `${date} ${t(`cfg_${weekday}`)} ${time.slice(0, 5)}`;
}

async function previewRoute(e) {
  e.preventDefault();
  const f = e.target.elements;
  const out = document.getElementById('route-answer');
  try {
    const a = await api('/api/v1/admin/config/preview/route', {
      method: 'POST', body: { kind: f.kind.value, class: f.class.value.trim(), grid: f.grid.value.trim(), ...drafts(['routing', 'departments']) },
    });
    out.textContent = a.department
      ? `→ ${a.department_name || a.department} (${a.department}) · ${t('cfg_by_rule')} ${choiceLabel(a.rule.kind)} ${a.rule.class === '*' ? t('cfg_any') : a.rule.class} ${a.rule.area === '*' ? t('cfg_any') : a.rule.area}`
      : t('cfg_no_rule');
    out.dataset.department = a.department || '';
  } catch (err) {
    out.textContent = message(err);
    out.dataset.department = '';
    if (err instanceof ApiError && err.problems?.length) showProblems(err.problems);
  }
}

async function previewDeadline(e) {
  e.preventDefault();
  const f = e.target.elements;
  const out = document.getElementById('deadline-answer');
  // The start is read in the saved calendar's zone (a draft's may be half typed).
  const zone = (cfg.sets.calendar && JSON.parse(cfg.sets.calendar.stored).timezone) || '+08:00';
  const body = { ...drafts(['sla', 'calendar']) };
  if (f.start.value) body.start = `${f.start.value}:00${zone}`;
  if (f.by.value === 'limit') {
    body.amount = Number(f.amount.value);
    body.unit = f.unit.value;
  } else {
    body.stage = f.stage.value;
    body.kind = f.kind.value;
    body.class = f.class.value.trim();
    body.urgent = f.urgent.checked;
  }
  try {
    const a = await api('/api/v1/admin/config/preview/deadline', { method: 'POST', body });
    out.textContent = `${t('cfg_limit')} ${a.limit.amount} ${t(`cfg_${a.limit.unit}`)} · ${t('cfg_start')} ${dateAt(a.start)} → ${t('cfg_due')} ${dateAt(a.due)}`;
    out.dataset.due = a.due;
  } catch (err) {
    out.textContent = message(err);
    out.dataset.due = '';
    if (err instanceof ApiError && err.problems?.length) showProblems(err.problems);
  }
}

function deadlineForm() {
  const form = document.getElementById('preview-deadline');
  const sync = () => {
    const byLimit = form.elements.by.value === 'limit';
    for (const x of form.querySelectorAll('[data-by="limit"]')) x.hidden = !byLimit;
    for (const x of form.querySelectorAll('[data-by="stage"]')) x.hidden = byLimit;
  };
  for (const r of form.elements.by) r.onchange = sync;
  for (const [select, values] of [[form.elements.unit, CHOICES.sla.unit], [form.elements.stage, CHOICES.sla.stage], [form.elements.kind, CHOICES.routing.kind]]) {
    select.replaceChildren(...values.map((v) => el('option', { value: v }, choiceLabel(v))));
  }
  form.elements.unit.value = 'working_days';
  form.elements.stage.value = 'handling';
  sync();
  form.onsubmit = previewDeadline;
  const route = document.getElementById('preview-route');
  route.elements.kind.replaceChildren(...CHOICES.routing.kind.map((v) => el('option', { value: v }, choiceLabel(v))));
  route.onsubmit = previewRoute;
}

/** Sets up the tab; `onSaved` refreshes what else shows the configuration (the audit log). */
export async function startConfig(onSaved) {
  cfg.onSaved = onSaved;
  const [all, classes] = await Promise.all([api('/api/v1/admin/config'), api('/api/v1/classes')]);
  for (const set of all.datasets) load(set);
  // The class picker: `*`, the major classes and the classes, each code once
  // (a component class and an event class may share digits).
  const labels = new Map([['*', t('cfg_any')]]);
  const add = (code, label) => labels.set(code, labels.has(code) && labels.get(code) !== label ? `${labels.get(code)} / ${label}` : label);
  for (const c of classes.classes) add(c.major, c.major_name);
  for (const c of classes.classes) add(c.code, `${choiceLabel(c.kind)} · ${lang() === 'en' && c.name_en ? c.name_en : c.name}`);
  document.getElementById('class-list').replaceChildren(...[...labels].map(([code, label]) => el('option', { value: code }, label)));
  for (const b of document.querySelectorAll('button[data-dataset]')) {
    b.onclick = () => { cfg.shown = b.dataset.dataset; showProblems([]); render(); };
  }
  document.getElementById('config-add-row').onclick = () => {
    const set = cfg.sets[cfg.shown];
    const row = Object.fromEntries(set.columns.map((c) => [c, CHOICES[cfg.shown]?.[c]?.[0] ?? '']));
    set.rows.push(row);
    render();
    document.querySelector(`#config-editor tr[data-row="${set.rows.length - 1}"] input, #config-editor tr[data-row="${set.rows.length - 1}"] select`)?.focus();
  };
  document.getElementById('config-save').onclick = save;
  document.getElementById('config-filter').oninput = filterRows;
  document.getElementById('config-discard').onclick = async () => {
    await reload(cfg.shown);
    showProblems([]);
    render();
  };
  deadlineForm();
  render();
}
