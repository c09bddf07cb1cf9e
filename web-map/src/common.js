// Shared by the pages: signing in (a session cookie the browser keeps; no
// page ever holds a token), API calls with the {"error":{"code","message"}}
// shape, Chinese/English labels.

export class ApiError extends Error {
  constructor(status, code, message, problems = []) {
    super(message);
    this.status = status;
    this.code = code;
    /** What an edited data set's check found (422 `invalid_config`). */
    this.problems = problems;
  }
}

/** fetch + JSON + our error shape. `body` is sent as JSON unless it is a Blob. */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const h = { ...headers };
  let payload;
  if (body instanceof Blob) {
    payload = body;
    h['Content-Type'] = body.type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['Content-Type'] = 'application/json';
  }
  const resp = await fetch(path, { method, headers: h, body: payload });
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) {
    const e = (data && data.error) || {};
    // The session ended (idle, signed out elsewhere, disabled): the page asks again.
    if (resp.status === 401 && path !== '/api/v1/session') window.dispatchEvent(new Event('citygrid:unauthorized'));
    throw new ApiError(resp.status, e.code || 'http_' + resp.status, e.message || resp.statusText, e.problems || []);
  }
  return data;
}

/** The photo URL an <img> can load (the session cookie goes with it). */
export function photoUrl(id) {
  return `/api/v1/media/${id}`;
}

/** An error in the page's words, never a raw code. */
export function message(e) {
  if (!(e instanceof ApiError)) return t('error_network');
  const key = `error_${e.code}`;
  return key in LABELS.zh ? t(key) : t('error_generic');
}

/** The signed-in user, or null when no one is (or the session ended). */
export async function whoAmI() {
  try {
    return await api('/api/v1/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

let signingIn = null;

/** Shows the sign-in form (login and password) until someone signs in;
 *  resolves with the user. Asked twice, it shows one form. */
export function signInForm() {
  if (signingIn) return signingIn;
  const form = document.getElementById('signin');
  const app = document.getElementById('app');
  form.hidden = false;
  if (app) app.inert = true;
  form.elements.login.focus();
  signingIn = new Promise((resolve) => {
    form.onsubmit = async (e) => {
      e.preventDefault();
      const error = document.getElementById('signin-error');
      error.textContent = '';
      try {
        const user = await api('/api/v1/session', {
          method: 'POST', body: { login: form.elements.login.value.trim(), password: form.elements.password.value },
        });
        form.elements.password.value = '';
        form.hidden = true;
        if (app) app.inert = false;
        signingIn = null;
        resolve(user);
      } catch (err) {
        error.textContent = message(err);
      }
    };
  });
  return signingIn;
}

/** The pages each role works on, for the header's links. */
const PAGES = [
  ['/', 'console', ['operator', 'dispatcher', 'department', 'admin']],
  ['/inspector', 'inspector', ['inspector']],
  ['/stats', 'evaluation', ['operator', 'dispatcher', 'department', 'admin', 'inspector']],
  ['/admin', 'administration', ['admin']],
];

/** The signed-in person in the header, with sign-out and links to their pages. */
export function showUser(user) {
  const nav = document.getElementById('pages');
  if (nav) {
    nav.replaceChildren(...PAGES.filter(([, , roles]) => roles.includes(user.role)).map(([href, label]) =>
      el('a', { href, 'aria-current': location.pathname === href ? 'page' : undefined }, t(label))));
  }
  const who = document.getElementById('who');
  if (who) who.textContent = `${user.name} · ${t(`role_${user.role}`)}`;
  const out = document.getElementById('signout');
  if (out) {
    out.hidden = false;
    out.onclick = async () => {
      await api('/api/v1/session', { method: 'DELETE' }).catch(() => {});
      location.reload();
    };
  }
}

/** The signed-in user: the session's, else whoever signs in on the form. */
export async function signedIn() {
  const user = (await whoAmI()) || (await signInForm());
  showUser(user);
  return user;
}

const LABELS = {
  zh: {
    title: '城市网格管理', console: '指挥调度台', inspector: '监督员', kiosk: '便民信息亭',
    sign_in: '登录', sign_out: '退出', login: '登录名', password: '密码', cases: '案件', filters: '筛选',
    role_inspector: '监督员', role_operator: '受理员', role_dispatcher: '派遣员', role_department: '专业部门',
    role_kiosk: '信息亭', role_admin: '系统管理员',
    error_invalid_credentials: '登录名或密码错误。', error_too_many_sign_in_attempts: '失败次数过多，请稍后再试。',
    error_cross_site_request: '请在本系统的页面上操作。', error_rate_limited: '请求过于频繁，请稍后再试。',
    error_invalid_body: '请填写所有必填项。', sep: '：', error_unauthorized: '登录已过期，请重新登录。',
    error_network: '无法连接服务器，请检查网络。', error_generic: '操作失败，请重试。',
    out_of_service: '暂停服务',
    administration: '系统管理', users: '用户', tokens: '接口令牌', kiosks: '信息亭', audit_log: '审计日志',
    name: '姓名', kiosk_name: '名称', role: '角色', last_sign_in: '最近登录', add_user: '新增用户', add: '新增', save: '保存',
    saved: '已保存', added: '已新增', enable: '启用', disable: '停用', enabled: '启用中', disabled: '已停用',
    reset_password: '重置密码', new_password: '新密码（至少 10 个字符）', password_set: '密码已重置',
    user: '用户', created: '创建时间', expires: '到期', expires_days: '有效天数', never: '永不过期',
    revoke: '吊销', revoked: '已吊销', expired: '已过期', active: '有效', add_token: '新增令牌',
    tokens_help: '接口令牌供 Open311 应用、12345 热线对接和脚本使用；令牌只显示一次。',
    token_once: '请立即复制此令牌，它只显示这一次：', add_kiosk: '新增信息亭', place: '位置',
    longitude: '经度', latitude: '纬度', move: '移动', new_code: '新注册码', enrolment_code: '注册码',
    enrol_on_kiosk: '在信息亭浏览器中打开（或用信息亭扫描二维码）', enrolment_qr: '注册二维码', valid_until: '有效期至', when: '时间', actor: '操作人',
    action: '操作', target: '对象', change: '变更', export_csv: '导出 CSV',
    admins_only: '此页面仅供系统管理员使用。',
    error_login_taken: '该登录名已被使用。', error_invalid_login: '登录名只能包含字母、数字、“.”、“_”和“-”。',
    error_password_too_short: '密码至少需要 10 个字符。', error_invalid_department: '专业部门用户须选择所属部门，其他角色不能选择部门。',
    error_unknown_login: '没有这个用户。', error_cannot_disable_self: '不能停用自己的账号。',
    error_invalid_kiosk: '信息亭编号或位置无效。', error_invalid_name: '请填写名称。',
    error_invalid_expiry: '有效天数须在 1 到 3650 之间。', error_unknown_token: '没有这个令牌。',
    error_forbidden: '您的角色无权进行此操作。',
    error_note_required: '请填写说明。', error_department_required: '请选择派往的部门。', error_into_required: '请填写要并入的案件编号。',
    error_invalid_merge: '不能并入这个案件（编号不存在、已结束或就是本案）。', error_invalid_hours: '延期小时数无效。',
    error_no_extension_requested: '没有待批准的延期申请。', error_note_too_long: '说明太长。', error_too_many_photos: '照片太多。',
    error_unknown_photo: '照片未上传成功，请重新选择。', error_case_not_found: '没有这个案件。', error_unknown_case: '没有这个案件。',
    error_invalid_transition: '案件当前状态下不能进行此操作，已刷新。', error_not_verified: '案件须先核查通过才能结案。',
    error_version_conflict: '案件已被他人更新，已刷新，请重试。', error_expected_version_required: '请刷新案件后重试。',
    state: '状态', class: '类别', department: '部门', district: '区', overdue: '超时', all: '全部',
    reported: '上报', filed: '立案', rejected: '不予立案', dispatched: '已派遣', handled: '已处置',
    closed: '结案', suspended: '挂账', void: '作废',
    file: '立案', reject: '不予立案', dispatch: '派遣', return: '回退', request_extension: '申请延期',
    approve_extension: '批准延期', handle: '处置反馈', verify_pass: '核查通过', verify_fail: '核查不通过',
    close: '结案', suspend: '挂账', resume: '恢复', urge: '督办', merge: '合并',
    report: '上报', duplicate_report: '重复上报', merged_in: '并入', overdue_event: '超时',
    grid: '网格', community: '社区', street: '街道', component: '部件', deadlines: '时限',
    timeline: '处理过程', photos: '照片', note: '说明', hours: '小时', send: '发送', locate: '定位',
    field_note: '说明', field_department: '派往部门', field_hours: '延期小时数', field_into: '并入案件编号',
    field_photos: '照片', field_before_photos: '处置前照片', field_after_photos: '处置后照片', photo_before: '处置前', photo_after: '处置后', confirm_action: '此操作会结束或退回案件，请确认后提交。', full_size: '查看原图',
    waiting_queued: '等待发送', waiting_offline: '离线：联网后自动发送', waiting_signed_out: '登录已过期：登录后发送',
    waiting_busy: '服务器繁忙：稍后自动重试', retry: '重试', cancel_report: '取消这条上报？它不会被发送。', remove_photo: '移除照片',
    dir_n: '北', dir_ne: '东北', dir_e: '东', dir_se: '东南', dir_s: '南', dir_sw: '西南', dir_w: '西', dir_nw: '西北',
    towards: '向', metres: '米', kilometres: '公里', address: '地址', phone: '电话', opening_hours: '开放时间', hours_unknown: '请电话咨询',
    legend: '图例', lg_overdue: '超时', lg_warning: '临近时限', lg_on_time: '正常', lg_finished: '已结束', lg_cluster: '聚合（取最严重的颜色）',
    lg_component: '部件', lg_component_damaged: '部件（损坏、丢失或被占）', lg_grid_cases: '网格（颜色越深在办案件越多）', lg_grid: '单元网格', lg_me: '我的位置', lg_kiosk: '本信息亭', lg_problem_place: '问题位置（点地图选择）', place_default: '位置：本信息亭附近。问题在别处？请在地图上点选。', place_picked: '位置：已在地图上选定，距本亭', take_picture: '拍照', shoot: '拍下这张', camera_unavailable: '摄像头暂不可用，可以不带照片上报。', picture_taken: '已拍的照片', callback_phone: '联系电话（可选，需要回访时填写）', key_del: '删除', key_clear: '清除', pick_class: '请先选择问题类型。', callback_phones: '回访电话',
    lg_service: '服务（编号同列表）', lg_hot_low: '1 件', lg_hot_mid: '5 件', lg_hot_high: '20 件以上', lg_district: '区界',
    group_by: '分组', totals: '合计', this_month: '本月', last_month: '上月', this_quarter: '本季度', this_year: '本年', queue_all: '全部', queue_to_file: '待立案', queue_to_dispatch: '待派遣', queue_in_handling: '处置中',
    queue_to_verify: '待核查', queue_to_close: '待结案', queue_overdue: '超时', queue_urgent: '紧急',
    new_urgent: '新的紧急案件', mute: '静音',
    track: '案件进度', what: '问题', where: '地点', reported_at: '上报时间', progress: '办理过程', not_yet: '尚未确定',
    finished: '已结束', receipt: '回执：用手机扫码查看办理进度', error_invalid_case_no: '案件编号格式不对。',
    find_class: '查找类别', urgent: '紧急', navigate: '导航', cancel: '取消', fail_reason: '不通过的原因（必填）',
    fail_photo: '现场照片（必填）', verify_fail_send: '提交：核查不通过', joined_case: '已并入已有案件 {case}：同一问题已有人上报。',
    kind: '种类', event: '事件', description: '描述', my_tasks: '待核查', queued: '待发送',
    nearby: '附近服务', lookup: '案件查询', case_no: '案件编号', agency: '处置部门', expected: '预计办结', report_problem: '我要上报',
    version_conflict: '案件已被他人更新，已刷新，请重试。', sent: '已发送', filing: '立案', handling: '处置',
    verification: '核查', start: '返回首页', distance: '距离', no_cases: '暂无案件', my_patrol: '本人网格', error_invalid_patrol: '巡查区域只适用于监督员：区、街道、社区或网格编码（6、9、12 或 15 位数字），最多 200 个。', patrol_short: '巡查区域', patrol: '巡查区域（区、街道、社区或网格编码，逗号分隔）', page_prev: '上一页', page_next: '下一页', pages: '分页', about_n: '约 {n}',
    evaluation: '综合评价', from: '从', to: '到', show: '查询', export_table: '导出评价表', more_groups: '显示更多（已显示 {n} 组）',
    export_cases_csv: '导出案件 CSV', export_cases_geojson: '导出案件 GeoJSON', cases_count: '案件数',
    handled_on_time: '按时处置', due: '应结案', closure_rate: '结案率', on_time_closure_rate: '按时结案率',
    reports: '上报数', rework: '返工', rework_rate: '返工率', score: '综合得分', grade: '等级',
    city_config: '城市配置', cfg_help: '部门、派遣规则、处置时限、案件规则和工作日历。修改在保存前可以预览；保存后所有服务器对下一个案件即生效，并记入审计日志。',
    cfg_departments: '专业部门', cfg_routing: '派遣规则', cfg_sla: '处置时限', cfg_case_rules: '案件规则', cfg_calendar: '工作日历',
    cfg_departments_help: '承办案件的专业部门（departments.csv）。仍被规则、部件、用户或在办案件使用的部门不能删除。',
    cfg_routing_help: '事件和部件案件派往哪个部门（routing.csv）：类别越具体越优先，其次区域越具体越优先。部件案件优先派往部件的主管部门。',
    cfg_sla_help: '各阶段的时限（sla.csv）：分钟按自然时间计，工作小时和工作日按工作日历计。',
    cfg_case_rules_help: '重复上报的合并半径与方式，以及是否自动立案、自动派遣（case_rules.csv）。',
    cfg_calendar_help: '工作时间、周末、法定节假日和调休上班日（calendar.toml）。国务院公布次年安排后请在此补充。',
    cfg_add_row: '新增一行', cfg_discard: '放弃修改', cfg_unsaved: '有未保存的修改', cfg_unchanged: '内容未变，无需保存。',
    cfg_remove: '删除', cfg_row_n: '第 {n} 行', cfg_filter: '查找（类别、区域或部门）', cfg_components: '部件', cfg_classes: '类别', cfg_any: '全部', cfg_area_hint: '* 或区划/网格编码前缀', cfg_class_hint: '*、大类或小类',
    cfg_preview_route: '预览：派往哪个部门', cfg_grid_code: '单元网格编码', cfg_ask: '预览',
    cfg_preview_deadline: '预览：何时到期', cfg_limit: '时限', cfg_by_limit: '指定时限', cfg_by_stage: '按案件阶段',
    cfg_urgent_case: '紧急案件', cfg_start_at: '开始时间（空为现在）', cfg_by_rule: '依据规则', cfg_no_rule: '没有规则匹配：由派遣员在派遣时选择部门。',
    cfg_start: '开始', cfg_due: '到期',
    cfg_timezone: '时区', cfg_work_periods: '工作时间', cfg_add_period: '新增时段', cfg_weekend: '周末（休息日）',
    cfg_holidays: '法定节假日（单日或起止日期）', cfg_workdays: '调休上班日', cfg_add_date: '新增日期',
    cfg_mon: '周一', cfg_tue: '周二', cfg_wed: '周三', cfg_thu: '周四', cfg_fri: '周五', cfg_sat: '周六', cfg_sun: '周日',
    cfg_event: '事件', cfg_component: '部件', cfg_yes: '是', cfg_no: '否',
    cfg_filing: '立案', cfg_dispatch: '派遣', cfg_handling: '处置', cfg_verification: '核查',
    cfg_minutes: '分钟', cfg_working_hours: '工作小时', cfg_working_days: '工作日',
    cfg_attach: '并入已有案件', cfg_suggest: '提示可能重复',
    col_code: '编码', col_name: '名称', col_phone: '电话', col_kind: '种类', col_class: '类别', col_area: '区域',
    col_department: '部门', col_urgent: '紧急', col_stage: '阶段', col_amount: '时限数值', col_unit: '单位',
    col_duplicate_radius_m: '合并半径（米）', col_duplicates: '重复上报', col_auto_file: '自动立案', col_auto_dispatch: '自动派遣',
    problem_bad_code: '编码格式不正确', problem_bad_kind: '种类应为事件或部件', problem_unknown_class: '没有这个类别',
    problem_unknown_department: '部门不存在', problem_duplicate_code: '与前面一行重复', problem_missing_name: '请填写名称',
    problem_bad_value: '取值无效', problem_unknown_column: '有不认识的列', problem_too_many_rows: '行数过多',
    problem_bad_calendar: '日历有误（日期、时段或时区格式不正确）', problem_department_in_use: '该部门仍有用户或在办案件，不能删除',
    problem_wrong_shape: '内容格式不正确',
    error_invalid_config: '配置有误，请按下方提示修改。', error_config_changed: '他人已修改此配置，请点“放弃修改”重新载入后再改。', error_invalid_start: '开始时间应在 2000 年到 2200 年之间。',
    error_unknown_dataset: '没有这项配置。', error_unknown_grid: '本市没有这个单元网格。', error_invalid_grid: '网格编码应为 15 位数字。',
    error_invalid_class: '类别应为 4 位数字的小类编码。', error_invalid_kind: '种类应为事件或部件。',
    error_invalid_limit: '时限应为正整数，单位为分钟、工作小时或工作日。', error_invalid_stage: '请选择阶段。',
    error_no_time_limit: '处置时限中没有适用于该阶段的规则。', error_no_working_time: '工作日历中没有足够的工作时间。',
  },
  en: {
    title: 'City grid management', console: 'Dispatch console', inspector: 'Inspector', kiosk: 'City kiosk',
    sign_in: 'Sign in', sign_out: 'Sign out', login: 'Login', password: 'Password', cases: 'Cases', filters: 'Filters',
    role_inspector: 'Inspector', role_operator: 'Operator', role_dispatcher: 'Dispatcher', role_department: 'Department',
    role_kiosk: 'Kiosk', role_admin: 'Administrator',
    error_invalid_credentials: 'Wrong login or password.', error_too_many_sign_in_attempts: 'Too many failed attempts; please wait and try again.',
    error_cross_site_request: 'Please use citygrid\'s own pages.', error_rate_limited: 'Too many requests; please wait and try again.',
    error_invalid_body: 'Please fill in every required field.', sep: ': ', error_unauthorized: 'Your session has ended; please sign in again.',
    error_network: 'Cannot reach the server; check the connection.', error_generic: 'That did not work; please try again.',
    out_of_service: 'Out of service',
    administration: 'Administration', users: 'Users', tokens: 'API tokens', kiosks: 'Kiosks', audit_log: 'Audit log',
    name: 'Name', kiosk_name: 'Name', role: 'Role', last_sign_in: 'Last sign-in', add_user: 'Add a user', add: 'Add', save: 'Save',
    saved: 'saved', added: 'added', enable: 'Enable', disable: 'Disable', enabled: 'Enabled', disabled: 'Disabled',
    reset_password: 'Reset password', new_password: 'New password (at least 10 characters)', password_set: 'password reset',
    user: 'User', created: 'Created', expires: 'Expires', expires_days: 'Valid for (days)', never: 'Never',
    revoke: 'Revoke', revoked: 'Revoked', expired: 'Expired', active: 'Active', add_token: 'Add a token',
    tokens_help: 'API tokens are for Open311 apps, the 12345 hotline bridge and scripts; a token is shown once.',
    token_once: 'Copy this token now; it is shown only this once:', add_kiosk: 'Add a kiosk', place: 'Place',
    longitude: 'Longitude', latitude: 'Latitude', move: 'Move', new_code: 'New code', enrolment_code: 'Enrolment code',
    enrol_on_kiosk: 'Open on the kiosk\'s browser (or scan the QR code on the kiosk)', enrolment_qr: 'Enrolment QR code', valid_until: 'Valid until', when: 'When', actor: 'By',
    action: 'Action', target: 'Target', change: 'Change', export_csv: 'Export CSV',
    admins_only: 'This page is for administrators.',
    error_login_taken: 'That login is taken.', error_invalid_login: 'A login has only letters, digits, ".", "_" and "-".',
    error_password_too_short: 'A password has at least 10 characters.', error_invalid_department: 'A department user needs their department; other roles have none.',
    error_unknown_login: 'There is no such user.', error_cannot_disable_self: 'You cannot disable your own account.',
    error_invalid_kiosk: 'The kiosk id or place is not valid.', error_invalid_name: 'Please enter a name.',
    error_invalid_expiry: 'Valid for 1 to 3,650 days.', error_unknown_token: 'There is no such token.',
    error_forbidden: 'Your role may not do this.',
    error_note_required: 'Please write a note.', error_department_required: 'Pick the department to dispatch to.', error_into_required: 'Enter the case to merge into.',
    error_invalid_merge: 'Cannot merge into that case (unknown, finished, or this case).', error_invalid_hours: 'The extension hours are not valid.',
    error_no_extension_requested: 'No extension has been asked for.', error_note_too_long: 'The note is too long.', error_too_many_photos: 'Too many photos.',
    error_unknown_photo: 'A photo did not upload; please choose it again.', error_case_not_found: 'There is no such case.', error_unknown_case: 'There is no such case.',
    error_invalid_transition: 'That is not possible in the case\'s present state; it has been reloaded.', error_not_verified: 'A case is closed only after it passes verification.',
    error_version_conflict: 'Someone else changed this case; it has been reloaded, please try again.', error_expected_version_required: 'Reload the case and try again.',
    state: 'State', class: 'Class', department: 'Department', district: 'District', overdue: 'Overdue', all: 'All',
    reported: 'Reported', filed: 'Filed', rejected: 'Rejected', dispatched: 'Dispatched', handled: 'Handled',
    closed: 'Closed', suspended: 'Suspended', void: 'Void',
    file: 'File', reject: 'Reject', dispatch: 'Dispatch', return: 'Return', request_extension: 'Ask for extension',
    approve_extension: 'Approve extension', handle: 'Report handled', verify_pass: 'Verified', verify_fail: 'Not fixed',
    close: 'Close', suspend: 'Suspend', resume: 'Resume', urge: 'Urge', merge: 'Merge',
    report: 'Reported', duplicate_report: 'Duplicate report', merged_in: 'Merged in', overdue_event: 'Overdue',
    grid: 'Grid', community: 'Community', street: 'Street', component: 'Component', deadlines: 'Deadlines',
    timeline: 'Timeline', photos: 'Photos', note: 'Note', hours: 'hours', send: 'Send', locate: 'Locate',
    field_note: 'Note', field_department: 'Department', field_hours: 'Extension (hours)', field_into: 'Merge into case',
    field_photos: 'Photos', field_before_photos: 'Photos before the work', field_after_photos: 'Photos after the work', photo_before: 'Before', photo_after: 'After', confirm_action: 'This ends or sends back the case; check before you send it.', full_size: 'Full size',
    waiting_queued: 'Waiting to send', waiting_offline: 'Offline: sent when the connection returns', waiting_signed_out: 'Signed out: sent after signing in',
    waiting_busy: 'The server is busy: retried shortly', retry: 'Retry', cancel_report: 'Cancel this report? It will not be sent.', remove_photo: 'Remove photo',
    dir_n: 'north', dir_ne: 'north-east', dir_e: 'east', dir_se: 'south-east', dir_s: 'south', dir_sw: 'south-west', dir_w: 'west', dir_nw: 'north-west',
    towards: 'towards the ', metres: 'm', kilometres: 'km', address: 'Address', phone: 'Phone', opening_hours: 'Opening hours', hours_unknown: 'please call',
    legend: 'Legend', lg_overdue: 'Overdue', lg_warning: 'Near its deadline', lg_on_time: 'On time', lg_finished: 'Finished', lg_cluster: 'Cluster (the worst light inside)',
    lg_component: 'Component', lg_component_damaged: 'Component (damaged, lost or encroached)', lg_grid_cases: 'Grid (darker: more open cases)', lg_grid: 'Unit grid', lg_me: 'You are here', lg_kiosk: 'This kiosk', lg_problem_place: 'The problem (tap the map)', place_default: 'Place: by this kiosk. Somewhere else? Tap it on the map.', place_picked: 'Place: picked on the map,', take_picture: 'Take a picture', shoot: 'Take this one', camera_unavailable: 'The camera is not available; you can report without a picture.', picture_taken: 'The picture taken', callback_phone: 'Phone (optional, if you want a call back)', key_del: 'Delete', key_clear: 'Clear', pick_class: 'Pick the kind of problem first.', callback_phones: 'Call back on',
    lg_service: 'Service (numbered as in the list)', lg_hot_low: '1 case', lg_hot_mid: '5 cases', lg_hot_high: '20 or more', lg_district: 'District boundary',
    group_by: 'Group by', totals: 'Total', this_month: 'This month', last_month: 'Last month', this_quarter: 'This quarter', this_year: 'This year', queue_all: 'All', queue_to_file: 'To file', queue_to_dispatch: 'To dispatch', queue_in_handling: 'In handling',
    queue_to_verify: 'To verify', queue_to_close: 'To close', queue_overdue: 'Overdue', queue_urgent: 'Urgent',
    new_urgent: 'New urgent cases', mute: 'Mute',
    track: 'Case progress', what: 'Problem', where: 'Place', reported_at: 'Reported', progress: 'Progress', not_yet: 'Not yet known',
    finished: 'Finished', receipt: 'Receipt: scan with a phone to follow the case', error_invalid_case_no: 'That is not a case number.',
    find_class: 'Find a class', urgent: 'Urgent', navigate: 'Navigate', cancel: 'Cancel', fail_reason: 'Why it is not fixed (required)',
    fail_photo: 'A photo now (required)', verify_fail_send: 'Send: not fixed', joined_case: 'Joined the open case {case}: the same problem was already reported.',
    kind: 'Kind', event: 'Event', description: 'Description', my_tasks: 'To verify', queued: 'Waiting to send',
    nearby: 'Nearby services', lookup: 'Look up a case', case_no: 'Case number', agency: 'Handled by', expected: 'Expected by', report_problem: 'Report a problem',
    version_conflict: 'Someone else changed this case; it has been reloaded, please try again.', sent: 'Sent',
    filing: 'Filing', handling: 'Handling', verification: 'Verification', start: 'Start', distance: 'Distance',
    no_cases: 'No cases', my_patrol: 'My patrol', error_invalid_patrol: 'A patrol is an inspector\'s: district, street, community or grid codes (6, 9, 12 or 15 digits), at most 200.', patrol_short: 'Patrol', patrol: 'Patrol (district, street, community or grid codes, comma-separated)', page_prev: 'Previous', page_next: 'Next', pages: 'Pages', about_n: 'about {n}',
    evaluation: 'Evaluation', from: 'From', to: 'To', show: 'Show', export_table: 'Export table', more_groups: 'Show more ({n} groups shown)',
    export_cases_csv: 'Cases as CSV', export_cases_geojson: 'Cases as GeoJSON', cases_count: 'Cases',
    handled_on_time: 'Handled on time', due: 'Due', closure_rate: 'Closure rate', on_time_closure_rate: 'On-time closure rate',
    reports: 'Reports', rework: 'Rework', rework_rate: 'Rework rate', score: 'Score', grade: 'Grade',
    city_config: 'City configuration', cfg_help: 'Departments, routing rules, time limits, case rules and the working calendar. Preview a change before saving it; once saved, every server uses it for the next case, and the audit log records it.',
    cfg_departments: 'Departments', cfg_routing: 'Routing', cfg_sla: 'Time limits', cfg_case_rules: 'Case rules', cfg_calendar: 'Working calendar',
    cfg_departments_help: 'The departments that handle cases (departments.csv). A department still named by rules, components, users or open cases cannot be removed.',
    cfg_routing_help: 'Which department a case goes to (routing.csv): the most specific class wins, then the most specific area. A component case goes to the component\'s competent department first.',
    cfg_sla_help: 'The time limit of each stage (sla.csv): minutes run on the clock, working hours and days on the working calendar.',
    cfg_case_rules_help: 'How near reports are merged, and whether cases are filed and dispatched automatically (case_rules.csv).',
    cfg_calendar_help: 'Working hours, weekend, public holidays and make-up working days (calendar.toml). Add next year\'s when the State Council publishes them.',
    cfg_add_row: 'Add a row', cfg_discard: 'Discard changes', cfg_unsaved: 'Unsaved changes', cfg_unchanged: 'Nothing changed; nothing to save.',
    cfg_remove: 'Remove', cfg_row_n: 'Row {n}', cfg_filter: 'Find (class, area or department)', cfg_components: 'Components', cfg_classes: 'Classes', cfg_any: 'Any', cfg_area_hint: '* or an area/grid code prefix', cfg_class_hint: '*, major class or class',
    cfg_preview_route: 'Preview: which department', cfg_grid_code: 'Unit grid code', cfg_ask: 'Preview',
    cfg_preview_deadline: 'Preview: when due', cfg_limit: 'Time limit', cfg_by_limit: 'A given limit', cfg_by_stage: 'A case\'s stage',
    cfg_urgent_case: 'Urgent case', cfg_start_at: 'Starting (empty: now)', cfg_by_rule: 'by the rule', cfg_no_rule: 'No rule matches: the dispatcher picks the department at dispatch.',
    cfg_start: 'starting', cfg_due: 'due',
    cfg_timezone: 'Time zone', cfg_work_periods: 'Working hours', cfg_add_period: 'Add a period', cfg_weekend: 'Weekend (days off)',
    cfg_holidays: 'Public holidays (a day or a range)', cfg_workdays: 'Make-up working days', cfg_add_date: 'Add a date',
    cfg_mon: 'Mon', cfg_tue: 'Tue', cfg_wed: 'Wed', cfg_thu: 'Thu', cfg_fri: 'Fri', cfg_sat: 'Sat', cfg_sun: 'Sun',
    cfg_event: 'Event', cfg_component: 'Component', cfg_yes: 'Yes', cfg_no: 'No',
    cfg_filing: 'Filing', cfg_dispatch: 'Dispatch', cfg_handling: 'Handling', cfg_verification: 'Verification',
    cfg_minutes: 'minutes', cfg_working_hours: 'working hours', cfg_working_days: 'working days',
    cfg_attach: 'Attach to the open case', cfg_suggest: 'Suggest as a duplicate',
    col_code: 'Code', col_name: 'Name', col_phone: 'Phone', col_kind: 'Kind', col_class: 'Class', col_area: 'Area',
    col_department: 'Department', col_urgent: 'Urgent', col_stage: 'Stage', col_amount: 'Amount', col_unit: 'Unit',
    col_duplicate_radius_m: 'Merge radius (m)', col_duplicates: 'Duplicates', col_auto_file: 'Auto-file', col_auto_dispatch: 'Auto-dispatch',
    problem_bad_code: 'the code is not well formed', problem_bad_kind: 'the kind must be event or component', problem_unknown_class: 'no such class',
    problem_unknown_department: 'no such department', problem_duplicate_code: 'repeats an earlier row', problem_missing_name: 'a name is needed',
    problem_bad_value: 'a value is not valid', problem_unknown_column: 'an unknown column', problem_too_many_rows: 'too many rows',
    problem_bad_calendar: 'the calendar has an invalid date, period or time zone', problem_department_in_use: 'users or open cases still belong to this department',
    problem_wrong_shape: 'not in the expected form',
    error_invalid_config: 'The configuration has problems; see the list below.', error_config_changed: 'Someone else changed this meanwhile; discard your changes to reload, then edit again.', error_invalid_start: 'The start must be between the years 2000 and 2200.',
    error_unknown_dataset: 'There is no such configuration.', error_unknown_grid: 'This city has no such unit grid.', error_invalid_grid: 'A grid code has 15 digits.',
    error_invalid_class: 'A class code has 4 digits.', error_invalid_kind: 'The kind must be event or component.',
    error_invalid_limit: 'A time limit is a positive whole number of minutes, working hours or working days.', error_invalid_stage: 'Pick a stage.',
    error_no_time_limit: 'No time limit applies to that stage.', error_no_working_time: 'The calendar has too little working time.',
  },
};

export function lang() {
  return localStorage.getItem('citygrid_lang') || 'zh';
}

export function setLang(l) {
  localStorage.setItem('citygrid_lang', l);
}

export function t(key) {
  return LABELS[lang()][key] ?? LABELS.zh[key] ?? key;
}

/** Fills every [data-t] element with its label. */
export function translate(root = document) {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** A time as the city reads it (China Standard Time), whatever the device's zone. */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false, timeZone: 'Asia/Shanghai' });
}

/** A class's name in the page's language, from the catalogue (`/api/v1/classes`). */
export function className(classes, kind, code) {
  const c = classes.find((x) => x.kind === kind && x.code === code);
  return c ? (lang() === 'en' && c.name_en ? c.name_en : c.name) : code;
}

/** Metres between two `{lon, lat}` points on the sphere. */
export function metres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

/** A distance as people say it: metres to the nearest ten, or kilometres past one. */
export function distanceText(m) {
  return m < 1000 ? `${Math.round(m / 10) * 10} ${t('metres')}` : `${(m / 1000).toFixed(1)} ${t('kilometres')}`;
}

/** A map's legend, in the page's words: `[kind, colour, label key]` entries,
 *  kind `dot`, `ring`, `fill`, `line` or `pin`. */
export function legend(map, entries) {
  const box = el('ul', { class: 'legend', 'aria-label': t('legend') },
    entries.map(([kind, colour, key]) => el('li', {},
      el('span', { class: `swatch ${kind}`, style: `--c:${colour}`, 'aria-hidden': 'true' }), t(key))));
  map.getContainer().append(box);
  return box;
}

/** The font of the labels' Latin text, served by citygrid (`web-map/glyphs.mjs`). */
const LABEL_FONT = ['DejaVu Sans'];
/** Chinese text in labels is drawn with the device's own fonts. */
const IDEOGRAPH_FONTS = "'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', 'PingFang SC', sans-serif";
/** The first label layer: the pages' areas and lines go under it. */
const FIRST_LABEL = 'water-label';

/** A feature's name in the page's language (its English name where it has one). */
function labelText() {
  return lang() === 'en'
    ? ['case', ['!=', ['coalesce', ['get', 'name_en'], ''], ''], ['get', 'name_en'], ['get', 'name']]
    : ['get', 'name'];
}

/** The city's own base map: water, roads and landmarks under the pages'
 *  layers, and the labels of areas, roads, water and landmarks over them. */
export function cityStyle() {
  const source = (layer) => ({ type: 'vector', tiles: [tiles(layer)], minzoom: 0, maxzoom: 16 });
  const halo = { 'text-color': '#333', 'text-halo-color': '#fff', 'text-halo-width': 1.5 };
  const label = (size) => ({ 'text-field': labelText(), 'text-font': LABEL_FONT, 'text-size': size });
  const roadWidth = (primary, secondary) => ['interpolate', ['exponential', 1.6], ['zoom'], 12,
    ['match', ['get', 'class'], ['motorway', 'trunk', 'primary'], primary[0], secondary[0]], 17,
    ['match', ['get', 'class'], ['motorway', 'trunk', 'primary'], primary[1], secondary[1]]];
  return {
    version: 8,
    glyphs: `${location.origin}/assets/fonts/{fontstack}/{range}.pbf`,
    sources: { water: source('water'), roads: source('roads'), landmarks: source('landmarks'), places: source('places') },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } },
      { id: 'water', type: 'fill', source: 'water', 'source-layer': 'water', paint: { 'fill-color': '#a9cbe6' } },
      { id: 'roads-casing', type: 'line', source: 'roads', 'source-layer': 'roads', layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': '#d2c9b8', 'line-width': roadWidth([3, 16], [1.5, 10]) } },
      { id: 'roads', type: 'line', source: 'roads', 'source-layer': 'roads', layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': ['match', ['get', 'class'], ['motorway', 'trunk', 'primary'], '#fde9a8', '#ffffff'], 'line-width': roadWidth([2, 13], [0.8, 8]) } },
      { id: FIRST_LABEL, type: 'symbol', source: 'water', 'source-layer': 'water',
        layout: { ...label(13), 'symbol-placement': 'point' }, paint: { ...halo, 'text-color': '#2b5d8a' } },
      { id: 'road-label', type: 'symbol', source: 'roads', 'source-layer': 'roads', minzoom: 14,
        layout: { ...label(12), 'symbol-placement': 'line', 'symbol-spacing': 300 }, paint: halo },
      { id: 'landmark', type: 'circle', source: 'landmarks', 'source-layer': 'landmarks', minzoom: 12,
        paint: { 'circle-radius': 4, 'circle-color': '#5b6b3a', 'circle-stroke-width': 1.5, 'circle-stroke-color': '#fff' } },
      { id: 'landmark-label', type: 'symbol', source: 'landmarks', 'source-layer': 'landmarks', minzoom: 12,
        layout: { ...label(13), 'text-anchor': 'top', 'text-offset': [0, 0.6], 'text-optional': true }, paint: { ...halo, 'text-color': '#3d4a24' } },
      { id: 'place-label', type: 'symbol', source: 'places', 'source-layer': 'places',
        layout: {
          ...label(['match', ['get', 'level'], 'district', 18, 'street', 15, 13]),
          'symbol-sort-key': ['match', ['get', 'level'], 'district', 0, 'street', 1, 2],
        },
        filter: ['any', ['all', ['==', ['get', 'level'], 'district'], ['<', ['zoom'], 13.5]],
          ['all', ['==', ['get', 'level'], 'street'], ['<', ['zoom'], 15]], ['all', ['==', ['get', 'level'], 'community'], ['>=', ['zoom'], 14]]],
        paint: { ...halo, 'text-color': ['match', ['get', 'level'], 'district', '#1f3b57', 'street', '#3d342a', '#5d5346'], 'text-halo-width': 2 } },
    ],
  };
}

/** A MapLibre map in `container` over the city's base map (or the city's
 *  `--basemap-style`), Chinese labels drawn with the device's fonts. */
export function cityMap(container, config, view) {
  return new maplibregl.Map({ container, style: config.style, localIdeographFontFamily: IDEOGRAPH_FONTS, ...view });
}

/** Adds a layer of areas or lines under the base map's labels. */
export function addUnderLabels(map, layer) {
  map.addLayer(layer, map.getLayer(FIRST_LABEL) ? FIRST_LABEL : undefined);
}

/** The URL of a vector tile layer. */
export function tiles(layer) {
  return `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt`;
}

/** Where the city is and what lies under it: `{bounds, center, basemap_style}`. */
export async function mapConfig() {
  const c = await api('/api/v1/map-config');
  return { ...c, style: c.basemap_style || cityStyle(), center: c.center || [0, 0] };
}
