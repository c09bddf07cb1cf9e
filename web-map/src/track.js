// A citizen follows their case (the kiosk receipt's QR code opens this page):
// the one public view of the case — what, where, the state in public words,
// each step's date, the expected completion and the outcome. No sign-in.
import { api, message, t, translate, lang, setLang, el, when } from './common.js';

const state = {};
window.citygrid = state;

function caseNoInPath() {
  const m = /^\/track\/([^/]+)$/.exec(location.pathname);
  return m ? decodeURIComponent(m[1]) : '';
}

async function show(caseNo) {
  const box = document.getElementById('case');
  const error = document.getElementById('error');
  error.textContent = '';
  try {
    const c = await api(`/api/v1/track/${encodeURIComponent(caseNo)}`);
    const en = lang() === 'en';
    const words = (x) => (en ? x.state_name_en : x.state_name);
    document.getElementById('case-no').textContent = `${t('case_no')} ${c.case_no}`;
    const st = document.getElementById('state');
    st.textContent = words(c);
    st.className = `state ${c.open ? 'open' : 'done'}`;
    document.getElementById('what').textContent = (en ? c.class_name_en : c.class_name) || c.class;
    document.getElementById('where').textContent = [c.district?.name, c.street?.name, c.address].filter(Boolean).join(' · ') || '—';
    document.getElementById('reported').textContent = when(c.reported_at);
    document.getElementById('agency').textContent = c.agency || t('not_yet');
    document.getElementById('expected').textContent = c.open ? (c.expected_at ? when(c.expected_at) : t('not_yet')) : t('finished');
    document.getElementById('description').textContent = c.description || '';
    document.getElementById('steps').replaceChildren(...c.steps.map((s) => el('li', {}, el('time', {}, when(s.at)), ' ', words(s))));
    box.hidden = false;
    state.shown = c.case_no;
  } catch (e) {
    box.hidden = true;
    error.textContent = message(e);
  }
}

function start() {
  translate();
  document.getElementById('lang').onclick = () => { setLang(lang() === 'zh' ? 'en' : 'zh'); location.reload(); };
  const form = document.getElementById('find');
  form.onsubmit = (e) => {
    e.preventDefault();
    const no = form.elements.case_no.value.trim();
    history.replaceState(null, '', `/track/${encodeURIComponent(no)}`);
    show(no);
  };
  const no = caseNoInPath();
  if (no) {
    form.elements.case_no.value = no;
    show(no);
  }
}

start();
