// The dashboard's router: `#/<view>?<params>`; without credentials every view is the login page.

import * as api from './api.js';
import * as browse from './views/browse.js';
import * as cluster from './views/cluster.js';
import * as login from './views/login.js';
import * as stats from './views/stats.js';

const VIEWS = { login, browse, stats, cluster };
const container = document.getElementById('view');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const logoutButton = document.getElementById('logout');
let mounted = null;

function parse() {
  const hash = location.hash.replace(/^#\/?/, '');
  const q = hash.indexOf('?');
  return { name: (q < 0 ? hash : hash.slice(0, q)) || 'browse', params: new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)) };
}

function route() {
  let { name, params } = parse();
  const user = api.current();
  if (!user) {
    name = 'login';
  } else if (name === 'login' || !VIEWS[name]) {
    name = 'browse';
    history.replaceState(null, '', '#/browse');
  }
  header(user, name);
  if (mounted?.name === name && mounted.view.update) {
    mounted.view.update(params);
    return;
  }
  mounted?.view.unmount?.();
  container.replaceChildren();
  document.body.dataset.view = name;
  mounted = { name, view: VIEWS[name].mount(container, params) };
}

function header(user, name) {
  nav.hidden = !user;
  logoutButton.hidden = !user;
  who.textContent = user ? `${user.login} · ${user.kind === 'session' ? 'session' : 'secret, in memory'}` : '';
  for (const a of nav.querySelectorAll('a')) {
    a.classList.toggle('active', a.dataset.view === name);
    if (a.dataset.view === 'cluster') a.hidden = !user?.isSys;
  }
}

logoutButton.addEventListener('click', () => api.logout());
api.onChange(route);
window.addEventListener('hashchange', route);
route();
