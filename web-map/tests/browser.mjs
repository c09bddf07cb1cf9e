// Browser tests in real headless Chromium (Debian's, driven by playwright-core)
// against a running `citygrid serve` on the sample city. Run by the Rust test
// tests/it/browser.rs, which starts the server, makes the users and passes:
//   BASE_URL, PEOPLE (JSON: role → login) and PASSWORD, for signing in on the
//   pages; TOKENS (JSON: dispatcher, operator, inspector), for this script's own checks;
//   KIOSK_CODE (a kiosk's one-time enrolment code), KIOSK_ID;
//   CITYGRID_BIN and DATABASE_URL (to revoke the kiosk, end a session);
//   FILED_CASE (a case waiting for dispatch, at FILED_LON/FILED_LAT), HANDLED_CASE
//   (a case waiting for verification),
//   COMPONENT_LON/COMPONENT_LAT (a component), REPORT_LON/REPORT_LAT (where the
//   inspector reports), ROUTE_GRID/ROUTE_LON/ROUTE_LAT (a grid of 渭滨区 and a
//   point in it, for a new routing rule), ARTIFACTS (where screenshots go).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';

const env = process.env;
const BASE = env.BASE_URL;
const TOKENS = JSON.parse(env.TOKENS);
const PEOPLE = JSON.parse(env.PEOPLE);

/** `citygrid ARGS…` on the test's database, as the administrator would. */
function citygrid(...args) {
  execFileSync(env.CITYGRID_BIN, args, { env: { ...process.env, RUST_LOG: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
}
const ARTIFACTS = env.ARTIFACTS;
/** axe-core, the accessibility checker, run inside each page. */
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** Every serious or critical accessibility violation on the page as it is now. */
async function accessibility(page) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`));
  return found;
}
const a11y = [];
/** A real photo (tests/fixtures/), for file inputs. */
const PHOTO = fileURLToPath(new URL('../../tests/fixtures/python.jpg', import.meta.url));
const PHOTO_WEBP = fileURLToPath(new URL('../../tests/fixtures/python.webp', import.meta.url));
mkdirSync(ARTIFACTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  // A fake camera: the kiosk offers a picture only where it has one.
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
});
const errors = [];
let expectNetworkErrors = false;
// While a step sends what the server must refuse, the browser's 422 line is expected.
let expectRefusal = false;

/** A new browser at `path`, signed in on the page's own form as `who`'s
 *  login (a kiosk: enrolled with its code instead). */
async function open(path, who, name, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (expectNetworkErrors && /ERR_INTERNET_DISCONNECTED|Failed to fetch|ERR_FAILED|net::/.test(text)) return;
    // A refused sign-in or an ended session is the browser's 401 line, not the page's error.
    if (/status of 401/.test(text)) return;
    if (expectRefusal && /status of 422/.test(text)) return;
    errors.push(`${name}: ${text}`);
  });
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
  if (who === 'kiosk') {
    await page.goto(`${BASE}${path}#enrol=${env.KIOSK_CODE}`);
  } else {
    await page.goto(BASE + path);
    await signIn(page, PEOPLE[who]);
  }
  return { context, page };
}

/** Fills the page's sign-in form and waits until it is gone. */
async function signIn(page, login) {
  await page.waitForSelector('#signin:not([hidden])');
  await page.fill('#signin input[name=login]', login);
  await page.fill('#signin input[name=password]', env.PASSWORD);
  await page.click('#signin button');
  await page.waitForSelector('#signin', { state: 'hidden' });
}

async function mapIdle(page) {
  await page.waitForFunction(() => {
    const m = window.citygrid && window.citygrid.map;
    return m && m.isStyleLoaded() && m.loaded() && m.areTilesLoaded();
  }, null, { timeout: 30000 });
}

async function rendered(page, layer) {
  return page.evaluate((l) => window.citygrid.map.queryRenderedFeatures({ layers: [l] }).map((f) => f.properties), layer);
}

/** The API as the dispatcher sees it. */
async function asDispatcher(path) {
  return (await fetch(`${BASE}${path}`, { headers: { Authorization: `Bearer ${TOKENS.dispatcher}` } })).json();
}

async function step(name, fn) {
  const started = Date.now();
  await fn();
  console.log(`ok - ${name} (${Date.now() - started} ms)`);
}

// ---------------------------------------------------------------- console
await step('a wrong password is refused in words; the right one signs in', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(BASE + '/');
  await page.waitForSelector('#signin:not([hidden])');
  assert.equal(await page.$$eval('input:not([type=password]):not([name=login])', (i) => i.filter((e) => e.offsetParent).length), 0, 'no token field');
  await page.fill('#signin input[name=login]', PEOPLE.dispatcher);
  await page.fill('#signin input[name=password]', 'not the password');
  await page.click('#signin button');
  await page.waitForFunction(() => document.getElementById('signin-error').textContent !== '');
  assert.equal(await page.$eval('#signin-error', (e) => e.textContent), '登录名或密码错误。');
  await page.screenshot({ path: `${ARTIFACTS}/sign-in-refused.png` });
  a11y.push(...(await accessibility(page)).map((v) => `sign-in: ${v}`));
  await page.fill('#signin input[name=password]', env.PASSWORD);
  await page.click('#signin button');
  await page.waitForSelector('#signin', { state: 'hidden' });
  const who = await page.$eval('#who', (e) => e.textContent);
  assert.ok(who.includes('派遣员'), `the signed-in user and role: ${who}`);
  // Signing out ends the session: a reload asks again.
  await page.click('#signout');
  await page.waitForSelector('#signin:not([hidden])');
  await context.close();
});

const consoleTab = await open('/', 'dispatcher', 'console');
const cp = consoleTab.page;

await step('the console renders grids, components and cases', async () => {
  await cp.waitForSelector(`[data-case="${env.FILED_CASE}"]`);
  await mapIdle(cp);
  const grids = await rendered(cp, 'grids-fill');
  assert.ok(grids.length > 20, `grids rendered: ${grids.length}`);
  assert.ok(grids.every((g) => /^\d{15}$/.test(g.code)));
  await cp.evaluate(([lon, lat]) => window.citygrid.map.jumpTo({ center: [lon, lat], zoom: 17 }), [Number(env.COMPONENT_LON), Number(env.COMPONENT_LAT)]);
  await mapIdle(cp);
  const components = await rendered(cp, 'components');
  assert.ok(components.length > 0, 'components rendered at street zoom');
  assert.ok(components.every((c) => /^\d{16}$/.test(c.code) && c.state));
  await cp.evaluate(([lon, lat]) => window.citygrid.map.jumpTo({ center: [lon, lat], zoom: 16 }), [Number(env.FILED_LON), Number(env.FILED_LAT)]);
  await mapIdle(cp);
  const cases = await rendered(cp, 'cases');
  assert.ok(cases.some((c) => c.case_no === env.FILED_CASE && c.light === 'green' && c.state === 'filed'), JSON.stringify(cases));
  // Every map has a legend in the page's words.
  assert.match(await cp.$eval('#map .legend', (l) => l.textContent), /超时.*临近时限.*正常.*聚合.*网格.*部件/);
  await cp.screenshot({ path: `${ARTIFACTS}/console.png` });
  // At city zoom every open case is on the map, clustered by the server:
  // each cluster shows its count and the worst light inside (one overdue
  // case among 520 makes its cluster red).
  const city = await asDispatcher('/api/v1/map-config');
  await cp.evaluate((bounds) => window.citygrid.map.fitBounds(bounds, { animate: false, padding: 10 }), city.bounds);
  await mapIdle(cp);
  const clusters = await cp.evaluate(() => window.citygrid.map.queryRenderedFeatures({ layers: ['case-clusters', 'cases'] })
    .map((f) => ({ ...f.properties, color: f.layer.paint['circle-color'] })));
  const shown = clusters.reduce((n, c) => n + c.point_count, 0);
  const open = (await asDispatcher('/api/v1/cases?state=reported,filed,dispatched,handled,suspended&page_size=1')).total;
  assert.ok(open > 500 && shown === open, `${shown} of ${open} open cases on the map`);
  const red = clusters.find((c) => c.red > 0);
  assert.ok(red && red.point_count > 1 && red.light === 'red', JSON.stringify(red));
  assert.ok(red.color.r > 0.7 && red.color.g < 0.3, `the cluster is red: ${JSON.stringify(red.color)}`);
  const labels = await rendered(cp, 'case-count');
  assert.ok(labels.length > 0 && labels.every((l) => l.point_count > 1), 'clusters show their counts');
  await cp.screenshot({ path: `${ARTIFACTS}/console-clusters.png` });
  a11y.push(...(await accessibility(cp)).map((v) => `console: ${v}`));
});

await step('filters narrow the case list', async () => {
  const c = await (await fetch(`${BASE}/api/v1/cases/${env.FILED_CASE}`, { headers: { Authorization: `Bearer ${TOKENS.dispatcher}` } })).json();
  const other = await cp.$$eval('#f-street option', (os) => os.map((o) => o.value).filter(Boolean));
  const elsewhere = other.find((s) => s !== c.street.code);
  await cp.selectOption('#f-street', elsewhere);
  await cp.waitForSelector(`[data-case="${env.FILED_CASE}"]`, { state: 'detached' });
  await cp.selectOption('#f-street', c.street.code);
  await cp.waitForSelector(`[data-case="${env.FILED_CASE}"]`);
  await cp.selectOption('#f-state', 'dispatched');
  await cp.waitForSelector(`[data-case="${env.FILED_CASE}"]`, { state: 'detached' });
  await cp.selectOption('#f-state', '');
  await cp.selectOption('#f-street', '');
  await cp.waitForSelector(`[data-case="${env.FILED_CASE}"]`);
});

await step('the case list pages past 500', async () => {
  const total = (await asDispatcher('/api/v1/cases?page_size=1')).total;
  assert.ok(total > 500, `${total} cases`);
  await cp.waitForFunction((n) => document.getElementById('count').textContent.endsWith(`: ${n}`), total);
  const pages = Math.ceil(total / 100);
  for (let p = 2; p <= pages; p++) {
    await cp.click('#page-next');
    await cp.waitForFunction((first) => document.querySelector('#pager span').textContent.startsWith(`${first}–`), (p - 1) * 100 + 1);
  }
  assert.equal(await cp.$$eval('#cases .case', (rows) => rows.length), total - (pages - 1) * 100);
  assert.ok(await cp.$eval('#page-next', (b) => b.disabled), 'no page after the last');
  await cp.screenshot({ path: `${ARTIFACTS}/console-last-page.png` });
  await cp.click('[data-queue="all"]');
  await cp.waitForSelector(`[data-case="${env.FILED_CASE}"]`);
});

await step('the console\'s tabs count each desk\'s work, and new urgent cases announce themselves', async () => {
  const api = async (path) => (await fetch(`${BASE}${path}`, { headers: { Authorization: `Bearer ${TOKENS.dispatcher}` } })).json();
  const counts = await api('/api/v1/cases/counts');
  await cp.waitForFunction((n) => document.querySelector('[data-queue="to_dispatch"] .badge')?.textContent === String(n), counts.to_dispatch);
  for (const name of ['to_file', 'to_dispatch', 'in_handling', 'to_verify', 'to_close', 'overdue', 'urgent']) {
    assert.equal(await cp.$eval(`[data-queue="${name}"] .badge`, (b) => b.textContent), String(counts[name]), name);
  }
  // The "to dispatch" tab lists the filed cases only.
  await cp.click('[data-queue="to_dispatch"]');
  await cp.waitForFunction(() => document.querySelectorAll('#cases .case').length > 0 && [...document.querySelectorAll('#cases .case .muted')].every((m) => m.textContent.startsWith('立案')));
  assert.ok(await cp.$(`[data-case="${env.FILED_CASE}"]`), 'the filed case is in the tab');
  await cp.click('[data-queue="all"]');
  // An urgent report arrives: the alert, a tone, the row marked; the urgent count goes up.
  const report = async (key, dx) => {
    const resp = await fetch(`${BASE}/api/v1/reports`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKENS.inspector}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_key: key, kind: 'event', class: '0102', urgent: true,
        lon: Number(env.FILED_LON) + dx, lat: Number(env.FILED_LAT), description: '紧急：井盖缺失' }),
    });
    return (await resp.json()).case.case_no;
  };
  const first = await report('urgent-1', 0.004);
  await cp.waitForSelector(`[data-case="${first}"].urgent.new`);
  assert.match(await cp.$eval('#urgent-alert', (b) => b.textContent), /新的紧急案件 1/);
  assert.equal(await cp.evaluate(() => window.citygrid.beeps), 1);
  await cp.waitForFunction((n) => document.querySelector('[data-queue="urgent"] .badge').textContent === String(n), counts.urgent + 1);
  await cp.screenshot({ path: `${ARTIFACTS}/console-urgent.png` });
  // Muted: the next one is announced without a sound.
  await cp.check('#mute');
  const second = await report('urgent-2', 0.006);
  await cp.waitForSelector(`[data-case="${second}"].urgent.new`);
  assert.match(await cp.$eval('#urgent-alert', (b) => b.textContent), /新的紧急案件 2/);
  assert.equal(await cp.evaluate(() => window.citygrid.beeps), 1);
  // Rows are reached by keyboard: Enter opens the case and it is no longer new.
  await cp.focus(`[data-case="${first}"]`);
  await cp.keyboard.press('Enter');
  await cp.waitForFunction((no) => document.querySelector('#detail h2')?.textContent === no, first);
  assert.match(await cp.$eval('#urgent-alert', (b) => b.textContent), /新的紧急案件 1/);
});

await step('an action has its own dialog, and what the dispatcher types there survives a live update', async () => {
  await cp.click(`[data-case="${env.FILED_CASE}"]`);
  // Void asks for its required note and warns before it is sent: an empty note sends nothing.
  await cp.click('button[data-action="void"]');
  await cp.waitForSelector('#action-dialog[open] .warning');
  assert.equal(await cp.$eval('#a-note', (n) => n.required), true);
  await cp.click('#a-submit');
  assert.equal(await cp.$eval('#a-note', (n) => n.validity.valueMissing), true);
  await cp.click('#action-dialog button[type=button]');
  await cp.waitForFunction(() => !document.getElementById('action-dialog').open);
  // Dispatch: the department (pre-selected by routing) and a note.
  await cp.click('button[data-action="dispatch"]');
  await cp.waitForSelector('#action-dialog[open]');
  const suggested = await cp.$eval('#a-department', (s) => s.value);
  assert.ok(suggested, 'the routed department is pre-selected');
  await cp.click('#a-note');
  await cp.keyboard.type('请尽快处理，正在输入');
  // Meanwhile an inspector reports the same problem there: the case is updated live.
  const resp = await fetch(`${BASE}/api/v1/reports`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKENS.inspector}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_key: 'same-problem-again', kind: 'event', class: '0102',
      lon: Number(env.FILED_LON), lat: Number(env.FILED_LAT), description: '同一处暴露垃圾' }),
  });
  assert.equal((await resp.json()).case.case_no, env.FILED_CASE, 'the report joined the case');
  await cp.waitForFunction(() => [...document.querySelectorAll('.timeline li')].some((l) => l.textContent.includes('重复上报')));
  await cp.keyboard.type('。');
  assert.equal(await cp.$eval('#a-note', (i) => i.value), '请尽快处理，正在输入。', 'the note, its focus and cursor survive');
  await cp.screenshot({ path: `${ARTIFACTS}/console-dialog.png` });
  a11y.push(...(await accessibility(cp)).map((v) => `console dialog: ${v}`));
  await cp.click('#a-submit');
  await cp.waitForFunction(() => !document.getElementById('action-dialog').open);
  const message = await cp.waitForSelector('#message');
  assert.equal(await message.getAttribute('class'), 'notice', await message.textContent());
  const timeline = await cp.$$eval('.timeline li', (lis) => lis.map((l) => l.textContent));
  assert.ok(timeline.some((l) => l.includes('已派遣') && l.includes('请尽快处理，正在输入。')), timeline.join('\n'));
  const c = await (await fetch(`${BASE}/api/v1/cases/${env.FILED_CASE}`, { headers: { Authorization: `Bearer ${TOKENS.dispatcher}` } })).json();
  assert.equal(c.state, 'dispatched');
  assert.equal(c.department, suggested);
  await cp.screenshot({ path: `${ARTIFACTS}/console-detail.png` });
  a11y.push(...(await accessibility(cp)).map((v) => `console detail: ${v}`));
});

await step('a department reports its handling with photos before and after the work', async () => {
  const { page, context } = await open('/', 'department', 'department console');
  await page.click(`[data-case="${env.DISPATCHED_CASE}"]`);
  await page.click('[data-action="handle"]');
  const labels = await page.$$eval('#action-dialog label.field > span', (s) => s.map((x) => x.textContent));
  assert.deepEqual(labels, ['说明', '处置前照片', '处置后照片'], labels.join(' | '));
  await page.fill('#a-note', '已清理完毕');
  await page.setInputFiles('#a-before-photos', PHOTO);
  await page.setInputFiles('#a-photos', PHOTO_WEBP);
  await page.click('#a-submit');
  await page.waitForFunction(() => !document.getElementById('action-dialog').open);
  await page.waitForFunction(() => document.querySelectorAll('.timeline .event-photo').length === 2);
  const captions = await page.$$eval('.timeline .event-photo small', (s) => s.map((x) => x.textContent));
  assert.deepEqual(captions, ['处置前', '处置后']);
  await page.screenshot({ path: `${ARTIFACTS}/console-department-handled.png` });
  a11y.push(...(await accessibility(page)).map((v) => `department console: ${v}`));
  // Its evaluation: its own row and its own hotspots, no error in the way.
  await page.goto(`${BASE}/stats`);
  await page.waitForSelector('#table tbody tr');
  await page.waitForFunction(() => window.citygrid.hotspots);
  const rows = await page.$$eval('#table tbody tr', (trs) => trs.map((r) => r.dataset.key));
  assert.deepEqual(rows, ['sanitation-jt']);
  assert.equal(await page.$eval('#error', (e) => e.textContent), '');
  assert.ok(await page.$eval('#by', (s) => s.disabled), 'a department has no other grouping to pick');
  await page.screenshot({ path: `${ARTIFACTS}/stats-department.png` });
  await context.close();
});

// ---------------------------------------------------------------- inspector
const inspectorTab = await open('/inspector', 'inspector', 'inspector', { width: 390, height: 844 });
const ip = inspectorTab.page;

async function queued() {
  return Number(await ip.$eval('#queued', (e) => e.textContent));
}

await step('a report from the inspector page appears on the open console within 2 s', async () => {
  await ip.waitForFunction(() => window.citygrid.locate && document.querySelectorAll('#class option').length > 0);
  await ip.evaluate(([lon, lat]) => window.citygrid.locate(lon, lat), [Number(env.REPORT_LON), Number(env.REPORT_LAT)]);
  await ip.waitForSelector('#grid');
  assert.match(await ip.$eval('#grid', (e) => e.textContent), /^\d{15}$/);
  await ip.selectOption('#class', '0102');
  await ip.fill('#description', '路边暴露垃圾 exposed garbage');
  await ip.check('#urgent');
  // Two photos chosen, previewed, one removed again.
  await ip.setInputFiles('#photo', PHOTO);
  await ip.setInputFiles('#photo', PHOTO);
  assert.equal(await ip.$$eval('#photo-previews img', (i) => i.length), 2);
  await ip.click('#photo-previews li:last-child button');
  assert.equal(await ip.$$eval('#photo-previews img', (i) => i.length), 1);
  await ip.click('#send');
  // The form is cleared once the report is queued: the next one is not urgent and has no photo.
  await ip.waitForFunction(() => document.getElementById('queued').textContent !== '0' || /\d{8}-\d{6}/.test(document.getElementById('status').textContent));
  assert.deepEqual(await ip.evaluate(() => ({
    description: document.getElementById('description').value,
    urgent: document.getElementById('urgent').checked,
    photos: document.querySelectorAll('#photo-previews img').length,
  })), { description: '', urgent: false, photos: 0 });
  await ip.waitForFunction(() => /\d{8}-\d{6}/.test(document.getElementById('status').textContent));
  const sentAt = Date.now();
  const caseNo = (await ip.$eval('#status', (e) => e.textContent)).match(/\d{8}-\d{6}/)[0];
  await cp.waitForSelector(`[data-case="${caseNo}"]`, { timeout: 2000 });
  console.log(`   live in ${Date.now() - sentAt} ms`);
  assert.match(await ip.$eval('#map .legend', (l) => l.textContent), /单元网格.*我的位置/);
  await ip.screenshot({ path: `${ARTIFACTS}/inspector.png`, fullPage: true });
  a11y.push(...(await accessibility(ip)).map((v) => `inspector: ${v}`));
});

await step('the offline queue delivers exactly once after the connection returns', async () => {
  const count = async () => (await (await fetch(`${BASE}/api/v1/cases?page_size=1`, { headers: { Authorization: `Bearer ${TOKENS.operator}` } })).json()).total;
  const before = await count();
  expectNetworkErrors = true;
  await inspectorTab.context.setOffline(true);
  await ip.selectOption('#kind', 'event');
  await ip.evaluate(([lon, lat]) => { window.citygrid.here = { lon, lat }; }, [Number(env.REPORT_LON) + 0.003, Number(env.REPORT_LAT)]);
  await ip.selectOption('#class', '0501');
  await ip.fill('#description', '离线上报 offline report');
  await ip.click('#send');
  await ip.waitForFunction(() => document.getElementById('queued').textContent === '1');
  // The outbox lists it, and says why it waits.
  await ip.waitForFunction(() => document.querySelector('#outbox li .why')?.textContent.startsWith('离线'));
  assert.match(await ip.$eval('#outbox li', (li) => li.textContent), /离线上报 offline report/);
  await ip.screenshot({ path: `${ARTIFACTS}/inspector-outbox.png`, fullPage: true });
  // Back online, but the first answer is lost on the way back: the server
  // stores the report, the phone does not hear it and sends it again.
  let lost = 0;
  await ip.route('**/api/v1/reports', async (route) => {
    if (lost === 0) {
      lost += 1;
      await route.fetch();
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  await inspectorTab.context.setOffline(false);
  await ip.evaluate(() => window.citygrid.flush());
  assert.equal(await queued(), 1, 'kept after the lost answer');
  await ip.evaluate(() => window.citygrid.flush());
  await ip.waitForFunction(() => document.getElementById('queued').textContent === '0');
  expectNetworkErrors = false;
  assert.equal(lost, 1);
  assert.equal(await count(), before + 1, 'exactly one new case');
});

await step('a report waiting in the outbox can be cancelled, and is never sent', async () => {
  const count = async () => (await (await fetch(`${BASE}/api/v1/cases?page_size=1`, { headers: { Authorization: `Bearer ${TOKENS.operator}` } })).json()).total;
  const before = await count();
  expectNetworkErrors = true;
  await inspectorTab.context.setOffline(true);
  await ip.evaluate(([lon, lat]) => { window.citygrid.here = { lon, lat }; }, [Number(env.REPORT_LON) + 0.0045, Number(env.REPORT_LAT)]);
  await ip.selectOption('#class', '0102');
  await ip.fill('#description', '报错了，取消 a mistake');
  await ip.click('#send');
  await ip.waitForFunction(() => document.querySelectorAll('#outbox li').length === 1);
  ip.once('dialog', (d) => d.accept());
  await ip.click('#outbox li button.danger');
  await ip.waitForFunction(() => document.getElementById('queued').textContent === '0' && !document.querySelector('#outbox li'));
  await inspectorTab.context.setOffline(false);
  expectNetworkErrors = false;
  await ip.evaluate(() => window.citygrid.flush());
  assert.equal(await count(), before, 'nothing was sent');
});

await step('the outbox survives the end of the shift\'s session and is sent once after signing in', async () => {
  const count = async () => (await (await fetch(`${BASE}/api/v1/cases?page_size=1`, { headers: { Authorization: `Bearer ${TOKENS.operator}` } })).json()).total;
  const before = await count();
  expectNetworkErrors = true;
  await inspectorTab.context.setOffline(true);
  await ip.evaluate(([lon, lat]) => { window.citygrid.here = { lon, lat }; }, [Number(env.REPORT_LON) + 0.0015, Number(env.REPORT_LAT)]);
  await ip.selectOption('#class', '0102');
  await ip.fill('#description', '会话过期时的上报 reported as the session ended');
  await ip.click('#send');
  await ip.waitForFunction(() => document.getElementById('queued').textContent === '1');
  // Meanwhile the session ends (the user disabled and enabled again ends every session).
  citygrid('user', 'disable', PEOPLE.inspector);
  citygrid('user', 'enable', PEOPLE.inspector);
  await inspectorTab.context.setOffline(false);
  expectNetworkErrors = false;
  await ip.evaluate(() => window.citygrid.flush());
  await ip.waitForSelector('#signin:not([hidden])');
  assert.equal(await queued(), 1, 'kept while signed out');
  assert.equal(await count(), before, 'nothing taken without a session');
  await ip.screenshot({ path: `${ARTIFACTS}/inspector-sign-in.png` });
  await signIn(ip, PEOPLE.inspector);
  await ip.waitForFunction(() => document.getElementById('queued').textContent === '0');
  assert.equal(await count(), before + 1, `sent once after signing in: ${await ip.$eval('#status', (e) => e.textContent)}`);
});

await step('the cases to verify in the inspector\'s own patrol come first', async () => {
  await ip.evaluate(() => window.citygrid.loadTasks());
  await ip.waitForSelector(`.task[data-case="${env.HANDLED_CASE}"]`);
  const order = await ip.$$eval('.task', (ts) => ts.map((t) => ({ no: t.dataset.case, own: t.querySelector('.own-tag')?.textContent || '' })));
  assert.deepEqual(order[0], { no: env.DISPATCHED_CASE, own: '本人网格' }, JSON.stringify(order));
  assert.ok(order.slice(1).every((t) => t.own === ''), JSON.stringify(order));
  await ip.screenshot({ path: `${ARTIFACTS}/inspector-tasks.png`, fullPage: true });
});

await step('verification fails only with its own reason and a new photo, never the report form\'s', async () => {
  await ip.fill('#description', '这是上报表单的描述，不是核查意见');
  await ip.evaluate(() => window.citygrid.loadTasks());
  const task = `.task[data-case="${env.HANDLED_CASE}"]`;
  await ip.waitForSelector(task);
  // Each case to verify says how far it is from the inspector, and what was reported.
  assert.match(await ip.$eval(`${task} .distance`, (d) => d.textContent), /\d+(\.\d)? (米|公里)$/);
  assert.match(await ip.$eval(`${task} .muted`, (d) => d.textContent), /暴露垃圾/);
  await ip.click(`${task} button[data-verify=fail]`);
  await ip.waitForSelector(`${task} form.fail-form`);
  // One tap does nothing: without a reason and a photo the form is not sent.
  await ip.click(`${task} form.fail-form button[type=submit]`);
  assert.equal(await ip.$eval(`${task} textarea[name=reason]`, (t) => t.validity.valid), false);
  const still = async () => (await (await fetch(`${BASE}/api/v1/cases/${env.HANDLED_CASE}`, { headers: { Authorization: `Bearer ${TOKENS.operator}` } })).json());
  assert.equal((await still()).state, 'handled');
  await ip.fill(`${task} textarea[name=reason]`, '井盖仍然缺失 the cover is still missing');
  await ip.setInputFiles(`${task} input[name=photo]`, PHOTO);
  await ip.screenshot({ path: `${ARTIFACTS}/inspector-verify-fail.png`, fullPage: true });
  a11y.push(...(await accessibility(ip)).map((v) => `inspector verification: ${v}`));
  await ip.click(`${task} form.fail-form button[type=submit]`);
  await ip.waitForFunction((no) => document.getElementById('status').textContent.startsWith(no), env.HANDLED_CASE);
  const c = await still();
  const last = c.timeline[c.timeline.length - 1];
  assert.equal(last.action, 'verify_fail');
  assert.equal(last.note, '井盖仍然缺失 the cover is still missing');
  assert.equal(last.photos.length, 1);
  assert.equal(await ip.$eval('#description', (d) => d.value), '这是上报表单的描述，不是核查意见', 'the report form is untouched');
  await ip.fill('#description', '');
});

// ---------------------------------------------------------------- kiosk
await step('a kiosk that is not enrolled is out of service, with no sign-in form', async () => {
  const context = await browser.newContext({ viewport: { width: 1080, height: 1920 } });
  const page = await context.newPage();
  await page.goto(`${BASE}/kiosk#enrol=NOTAREALCODE0000`);
  await page.waitForSelector('#out-of-service:not([hidden])');
  assert.equal(await page.$$eval('input[type=password], #signin', (e) => e.length), 0);
  await context.close();
});

// A street kiosk: a portrait touch screen.
const kioskTab = await open('/kiosk', 'kiosk', 'kiosk', { width: 1080, height: 1920 });
const kp = kioskTab.page;

await step('the kiosk lists the nearest services in distance order', async () => {
  await kp.waitForSelector('.service');
  const d = await kp.$$eval('.service', (s) => s.map((e) => Number(e.dataset.distance)));
  assert.ok(d.length >= 5, `services: ${d.length}`);
  assert.deepEqual(d, [...d].sort((a, b) => a - b));
  // Numbered rows with numbered markers that match, the way in words, details on a touch.
  const numbers = await kp.$$eval('.service .num', (n) => n.map((x) => x.textContent));
  const markers = await kp.$$eval('.service-marker', (n) => n.map((x) => x.textContent));
  assert.deepEqual(markers, numbers);
  assert.deepEqual(numbers, d.map((_, i) => String(i + 1)));
  assert.match(await kp.$eval('.service .muted', (m) => m.textContent), /^\d.* · 向(北|东北|东|东南|南|西南|西|西北)$/);
  await kp.click('.service:first-child');
  assert.match(await kp.$eval('.service.open .hours', (h) => h.textContent), /^开放时间：/);
  // Portrait: the map above the list.
  const [mapBox, listBox] = await Promise.all([kp.$eval('#map', (m) => m.getBoundingClientRect().bottom), kp.$eval('#services', (l) => l.getBoundingClientRect().top)]);
  assert.ok(mapBox <= listBox, `map above the list: ${mapBox} ${listBox}`);
  await kp.click('button[data-category="pharmacy"]');
  await kp.waitForFunction(() => [...document.querySelectorAll('.service .muted')].length > 0);
  await mapIdle(kp);
  assert.match(await kp.$eval('#map .legend', (l) => l.textContent), /本信息亭.*服务/);
  await kp.screenshot({ path: `${ARTIFACTS}/kiosk.png` });
  a11y.push(...(await accessibility(kp)).map((v) => `kiosk: ${v}`));
});

await step('the kiosk draws its pictures, and the idle reset brings back its own language', async () => {
  await kp.click('#to-report');
  const pictures = await kp.$$eval('#kiosk-classes button', (bs) => bs.map((b) => ({ svg: b.querySelectorAll('svg').length, text: b.textContent })));
  assert.ok(pictures.length >= 9 && pictures.every((p) => p.svg === 1), JSON.stringify(pictures));
  assert.ok(pictures.every((p) => !/\p{Extended_Pictographic}/u.test(p.text)), 'no emoji');
  await kp.screenshot({ path: `${ARTIFACTS}/kiosk-report.png` });
  a11y.push(...(await accessibility(kp)).map((v) => `kiosk report: ${v}`));
  // A visitor switches to English and walks away.
  await Promise.all([kp.waitForNavigation(), kp.click('#lang')]);
  await kp.waitForSelector('.service');
  assert.equal(await kp.evaluate(() => document.documentElement.lang), 'en');
  await Promise.all([kp.waitForNavigation(), kp.evaluate(() => window.citygrid.idleReset())]);
  await kp.waitForSelector('.service');
  assert.equal(await kp.evaluate(() => document.documentElement.lang), 'zh-CN');
});

await step('a kiosk report creates a case, and the kiosk can look it up', async () => {
  await kp.click('#to-report');
  assert.match(await kp.$eval('#k-place', (e) => e.textContent), /本信息亭附近/);
  // The place: where the visitor taps the map, said as a distance and a direction.
  const box = await (await kp.$('#map')).boundingBox();
  await kp.mouse.click(box.x + box.width * 0.82, box.y + box.height * 0.18);
  await kp.waitForFunction(() => window.citygrid.place);
  const place = await kp.evaluate(() => window.citygrid.place);
  assert.match(await kp.$eval('#k-place', (e) => e.textContent), /已在地图上选定，距本亭 \d+ 米/);
  await kp.click('button[data-class="event:0102"]');
  await kp.fill('#k-description', '这里有垃圾');
  // A picture from the kiosk's camera (here Chromium's fake one): live, then
  // taken, with its preview; no file dialog anywhere on the kiosk.
  await kp.waitForSelector('#k-picture-field:not([hidden])');
  assert.equal(await kp.$$eval('input[type=file]', (i) => i.length), 0, 'no file chooser on a kiosk');
  await kp.click('#k-camera');
  await kp.waitForFunction(() => document.getElementById('k-video').videoWidth > 0);
  await kp.click('#k-shoot');
  await kp.waitForSelector('#k-picture-preview:not([hidden])');
  assert.ok(await kp.$eval('#k-video', (v) => v.hidden), 'the camera is closed once the picture is taken');
  // A number to call back, typed on the kiosk's own keypad (one slip, deleted).
  for (const key of ['0', '9', '1', '7', '-', '3', '2', '1', '5', '6', '7', '9', 'del', '8']) await kp.click(`#k-phone-keypad [data-key="${key}"]`);
  assert.equal(await kp.$eval('#k-phone', (e) => e.value), '0917-3215678');
  const keys = await kp.$$eval('#k-phone-keypad button', (bs) => bs.map((b) => b.getBoundingClientRect().height));
  assert.ok(keys.every((h) => h >= 44), `keypad keys are ${keys} px tall`);
  await kp.screenshot({ path: `${ARTIFACTS}/kiosk-report.png` });
  a11y.push(...(await accessibility(kp)).map((v) => `kiosk report: ${v}`));
  await kp.click('#k-send');
  await kp.waitForFunction(() => document.getElementById('k-status').dataset.caseNo);
  const caseNo = await kp.$eval('#k-status', (e) => e.dataset.caseNo);
  const c = await (await fetch(`${BASE}/api/v1/cases/${caseNo}`, { headers: { Authorization: `Bearer ${TOKENS.operator}` } })).json();
  assert.equal(c.channel, 'kiosk');
  assert.ok(Math.abs(c.lon - place.lon) < 1e-6 && Math.abs(c.lat - place.lat) < 1e-6, `reported where tapped: ${c.lon},${c.lat}`);
  assert.deepEqual(c.callback_phones, ['0917-3215678']);
  assert.equal(c.photos.length, 1, 'the picture is the report\'s photo');
  // The form is cleared for the next visitor.
  assert.equal(await kp.$eval('#k-phone', (e) => e.value), '');
  assert.ok(await kp.$eval('#k-picture-preview', (e) => e.hidden));
  // The receipt's QR code is drawn; it encodes the case's tracking page.
  await kp.waitForFunction(() => document.getElementById('k-receipt-qr')?.naturalWidth >= 200);
  await kp.screenshot({ path: `${ARTIFACTS}/kiosk-receipt.png` });
  // A citizen's phone opens that page, signed in as no one.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const tp = await phone.newPage();
  tp.on('pageerror', (e) => errors.push(`track: ${e.message}`));
  await tp.goto(`${BASE}/track/${caseNo}`);
  await tp.waitForSelector('#case:not([hidden])');
  const shown = await tp.$eval('#case', (e) => e.textContent);
  assert.ok(shown.includes(caseNo) && shown.includes('已接收') && shown.includes('暴露垃圾'), shown);
  assert.ok(!/null|undefined|kiosk-test|这里有垃圾/.test(shown), `the public view only: ${shown}`);
  await tp.screenshot({ path: `${ARTIFACTS}/track.png`, fullPage: true });
  a11y.push(...(await accessibility(tp)).map((v) => `track: ${v}`));
  // A number that is no case: said in words.
  await tp.fill('#find input[name=case_no]', '20991231-999999');
  await tp.click('#find button');
  await tp.waitForFunction(() => document.getElementById('error').textContent !== '');
  assert.equal(await tp.$eval('#error', (e) => e.textContent), '没有这个案件。');
  await phone.close();
  await kp.click('#home');
  await kp.click('#to-lookup');
  for (const key of caseNo) await kp.click(`#k-case-keypad [data-key="${key}"]`);
  assert.equal(await kp.$eval('#k-case', (e) => e.value), caseNo);
  await kp.click('#k-find');
  await kp.waitForSelector('#k-result ol li');
  // The public view, in the page's words: the state as citizens read it, nothing unset.
  const result = await kp.$eval('#k-result', (e) => e.textContent);
  assert.ok(result.includes('已接收') && !/null|undefined/.test(result), result);
  await kp.screenshot({ path: `${ARTIFACTS}/kiosk-lookup.png` });
  a11y.push(...(await accessibility(kp)).map((v) => `kiosk look-up: ${v}`));
});

await step('the enrolment code is used up, and a revoked kiosk shows out of service', async () => {
  assert.equal(new URL(kp.url()).hash, '', 'the code left the address bar');
  const again = await fetch(`${BASE}/api/v1/device/enrol`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: env.KIOSK_CODE }) });
  assert.equal(again.status, 422, 'a code works once');
  citygrid('kiosk', 'revoke', env.KIOSK_ID);
  await kp.evaluate(() => window.citygrid.checkIn());
  await kp.waitForSelector('#out-of-service:not([hidden])');
  await kp.screenshot({ path: `${ARTIFACTS}/kiosk-out-of-service.png` });
});

// ---------------------------------------------------------------- admin
await step('the administrator adds a kiosk on the admin page, enrols it with the code and revokes it', async () => {
  const { context, page } = await open('/admin', 'admin', 'admin');
  await page.waitForFunction(() => window.citygrid.ready);
  await page.click('button[data-tab="kiosks"]');
  await page.fill('#add-kiosk input[name=id]', 'kiosk-admin');
  await page.fill('#add-kiosk input[name=name]', '管理页新增的信息亭');
  await page.fill('#add-kiosk input[name=lon]', env.KIOSK_LON);
  await page.fill('#add-kiosk input[name=lat]', env.KIOSK_LAT);
  await page.click('#add-kiosk button');
  await page.waitForSelector('#enrolment-code');
  const code = await page.$eval('#enrolment-code', (e) => e.textContent);
  assert.match(code, /^[A-Z2-9]{16}$/);
  // The QR code of the enrolment address is drawn.
  await page.waitForFunction(() => document.getElementById('enrolment-qr')?.naturalWidth >= 240);
  await page.screenshot({ path: `${ARTIFACTS}/admin-kiosk.png`, fullPage: true });
  // The kiosk's browser opens the enrolment address once, and serves.
  const kiosk = await browser.newContext({ viewport: { width: 1080, height: 1920 } });
  const kpage = await kiosk.newPage();
  await kpage.goto(`${BASE}/kiosk#enrol=${code}`);
  await kpage.waitForSelector('.service');
  // Revoked on the admin page: out of service at the kiosk's next check.
  page.once('dialog', (d) => d.accept());
  await page.click('tr[data-kiosk="kiosk-admin"] button.danger');
  await page.waitForSelector('tr[data-kiosk="kiosk-admin"].off');
  await kpage.evaluate(() => window.citygrid.checkIn());
  await kpage.waitForSelector('#out-of-service:not([hidden])');
  // The audit tab names the administrator and what changed.
  await page.click('button[data-tab="audit"]');
  const audit = await page.$$eval('#audit-rows tr', (rows) => rows.map((r) => r.textContent));
  assert.ok(audit.some((r) => r.includes('kiosk.revoke') && r.includes(PEOPLE.admin)), audit.join('\n'));
  await page.screenshot({ path: `${ARTIFACTS}/admin-audit.png`, fullPage: true });
  // A user added on the page signs in on the inspector page.
  await page.click('button[data-tab="users"]');
  await page.fill('#add-user input[name=login]', 'new.patrol');
  await page.fill('#add-user input[name=name]', '新监督员');
  await page.selectOption('#new-role', 'inspector');
  await page.fill('#add-user input[name=password]', 'short');
  await page.click('#add-user button');
  // The browser's own check refuses a short password before the server is asked.
  assert.equal(await page.$eval('#add-user input[name=password]', (i) => i.validity.valid), false);
  await page.fill('#add-user input[name=password]', env.PASSWORD);
  await page.click('#add-user button');
  await page.waitForSelector('tr[data-login="new.patrol"]');
  await page.screenshot({ path: `${ARTIFACTS}/admin-users.png`, fullPage: true });
  a11y.push(...(await accessibility(page)).map((v) => `admin users: ${v}`));
  await context.close();
  await kiosk.close();
});

await step('a routing rule changed on the admin page routes the next report', async () => {
  const { context, page } = await open('/admin', 'admin', 'admin-config');
  await page.waitForFunction(() => window.citygrid.ready);
  await page.click('button[data-tab="config"]');
  await page.click('button[data-dataset="routing"]');
  const street = env.ROUTE_GRID.slice(0, 9);
  const ask = async () => {
    await page.$eval('#route-answer', (o) => { o.textContent = ''; });
    await page.click('#preview-route button');
    await page.waitForFunction(() => document.getElementById('route-answer').textContent !== '');
    return page.$eval('#route-answer', (o) => o.dataset.department);
  };
  // Which department gets a 0102 (exposed garbage) report in that grid today.
  await page.fill('#preview-route input[name=class]', '0102');
  await page.fill('#preview-route input[name=grid]', env.ROUTE_GRID);
  assert.equal(await ask(), 'sanitation-wb');
  // A new street-level rule, at first without its department: refused in words, the row marked.
  await page.click('#config-add-row');
  const row = '#config-editor tbody tr:last-child';
  await page.fill(`${row} input.col-class`, '0102');
  await page.fill(`${row} input.col-area`, street);
  expectRefusal = true;
  await page.click('#config-save');
  await page.waitForSelector('#config-problems:not([hidden])');
  expectRefusal = false;
  const problems = await page.$eval('#config-problems', (e) => e.textContent);
  assert.ok(problems.includes('部门不存在'), problems);
  assert.ok(!/unknown_department|invalid_config/.test(problems + await page.$eval('#error', (e) => e.textContent)), 'no raw codes');
  assert.ok(await page.$eval(row, (tr) => tr.classList.contains('bad')), 'the row is marked');
  await page.screenshot({ path: `${ARTIFACTS}/admin-config-problem.png` });
  // With its department: the preview answers with the draft, then it is saved.
  await page.selectOption(`${row} select[aria-label="部门"]`, 'urban-mgmt-wb');
  assert.equal(await ask(), 'urban-mgmt-wb');
  await page.click('#config-save');
  await page.waitForFunction(() => document.getElementById('config-unsaved').hidden && document.getElementById('notice').textContent !== '');
  await page.fill('#config-filter', street);
  await page.screenshot({ path: `${ARTIFACTS}/admin-config.png` });
  a11y.push(...(await accessibility(page)).map((v) => `admin configuration: ${v}`));
  // The next report there goes to the new rule's department.
  const resp = await fetch(`${BASE}/api/v1/reports`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKENS.inspector}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_key: 'routed-by-the-admin-page', kind: 'event', class: '0102',
      lon: Number(env.ROUTE_LON), lat: Number(env.ROUTE_LAT), description: '暴露垃圾' }),
  });
  assert.equal(resp.status, 201);
  assert.equal((await resp.json()).case.department, 'urban-mgmt-wb');
  // When a two-working-day handling stage started on Friday 4 December 10:00 is due.
  await page.check('#preview-deadline input[value=limit]');
  await page.fill('#preview-deadline input[name=amount]', '2');
  await page.selectOption('#preview-deadline select[name=unit]', 'working_days');
  await page.fill('#preview-deadline input[name=start]', '2026-12-04T10:00');
  await page.click('#preview-deadline button');
  await page.waitForFunction(() => document.getElementById('deadline-answer').dataset.due);
  assert.equal(await page.$eval('#deadline-answer', (o) => o.dataset.due), '2026-12-08T10:00:00+08:00');
  assert.ok((await page.$eval('#deadline-answer', (o) => o.textContent)).includes('2026-12-08 周二 10:00'));
  // The calendar as a form: next year's holiday added, saved, and logged.
  await page.click('button[data-dataset="calendar"]');
  await page.click('#holidays button:not(.danger)');
  await page.fill('#holidays li:nth-last-child(2) input:first-of-type', '2027-01-01');
  await page.fill('#holidays li:nth-last-child(2) input:last-of-type', '2027-01-03');
  await page.click('#config-save');
  await page.waitForFunction(() => document.getElementById('config-unsaved').hidden);
  await page.screenshot({ path: `${ARTIFACTS}/admin-calendar.png`, fullPage: true });
  a11y.push(...(await accessibility(page)).map((v) => `admin calendar: ${v}`));
  await page.click('button[data-tab="audit"]');
  const audit = await page.$$eval('#audit-rows tr', (rows) => rows.map((r) => r.textContent));
  assert.ok(audit.some((r) => r.includes('config.routing') && r.includes(PEOPLE.admin)), audit.join('\n'));
  assert.ok(audit.some((r) => r.includes('config.calendar') && r.includes('2027-01-01..2027-01-03')), audit.join('\n'));
  await context.close();
});

// ---------------------------------------------------------------- stats
await step('the evaluation page shows the indicators and the hotspot map', async () => {
  const { page } = await open('/stats', 'operator', 'stats');
  await page.waitForFunction(() => window.citygrid.ready, null, { timeout: 30000 });
  await page.waitForSelector('#table tr[data-key]');
  const rows = await page.$$eval('#table tr[data-key]', (trs) => trs.map((r) => r.dataset.key));
  assert.ok(rows.length >= 1, 'a row per department with cases');
  // The period is the server's last 30 days (its clock, not the browser's).
  assert.equal(await page.$eval('#to', (i) => i.value), '2026-11-25');
  // Rates as percentages, a totals row, and ranking by any column.
  const table = await page.$eval('#table', (t) => t.textContent);
  assert.match(table, /\d+\.\d%/);
  assert.ok(await page.$('#table tfoot .totals'), 'a totals row');
  await page.click('button[data-sort="cases"]');
  assert.equal(await page.$eval('th[aria-sort="descending"] button', (b) => b.dataset.sort), 'cases');
  const counts = await page.$$eval('#table tbody tr', (trs) => trs.map((r) => Number(r.children[2].textContent)));
  assert.deepEqual(counts, [...counts].sort((a, b) => b - a));
  // Presets count from the server's today: last month (October) had no cases.
  await page.click('button[data-preset="last_month"]');
  await page.waitForFunction(() => document.getElementById('from').value === '2026-10-01' && document.querySelectorAll('#table tbody tr').length === 0);
  assert.equal(await page.$eval('#to', (i) => i.value), '2026-10-31');
  await page.click('button[data-preset="this_year"]');
  await page.waitForFunction(() => document.querySelectorAll('#table tbody tr').length > 0);
  assert.equal(await page.$eval('#from', (i) => i.value), '2026-01-01');
  await mapIdle(page);
  const cells = await rendered(page, 'hotspots');
  assert.ok(cells.length >= 1 && cells.every((c) => c.count >= 1), `hotspots: ${cells.length}`);
  // The export link works with the session cookie, no token in the URL.
  const href = await page.$eval('#export-csv', (a) => a.href);
  assert.ok(!/token/.test(href), href);
  const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
  assert.match(csv, /^case_no,state,/);
  assert.match(await page.$eval('#map .legend', (l) => l.textContent), /1 件.*5 件.*20 件以上.*区界/);
  await page.screenshot({ path: `${ARTIFACTS}/stats.png`, fullPage: true });
  a11y.push(...(await accessibility(page)).map((v) => `stats: ${v}`));
});

await browser.close();
assert.deepEqual(errors, [], 'no console errors on any page');
assert.deepEqual(a11y, [], 'no serious or critical accessibility violations (axe-core) on any page');
console.log('all browser tests passed');
