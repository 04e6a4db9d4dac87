// The shell: language, session, status line, hash routing to the pages (each loaded on first use).

import { isReachable, onReachability, REGISTRY, get } from './api.js';
import { clear, h } from './dom.js';
import { currentLanguage, onLanguageChange, preferredLanguage, setLanguage, t, tn } from './i18n.js';
import * as outbox from './outbox.js';
import * as session from './session.js';
import { describe, refusal } from './ui.js';

const PAGES = { signin: 'signin', members: 'members', sites: 'sites', certification: 'certification', lots: 'lots' };
const HOME = '#/members';

const view = document.getElementById('view');
const statusLine = document.getElementById('status');
const alerts = document.getElementById('alerts');
const nav = document.getElementById('nav');
const signOutButton = document.getElementById('sign-out');
const languageSelect = document.getElementById('language');
const organization = document.getElementById('organization');

let cleanup = null;
const loadedPages = new Map();
let renderCount = 0;
let wanted = null;

function parseHash() {
  const [name = '', id = ''] = location.hash.replace(/^#\/?/, '').split('/');
  return { name, id: decodeURIComponent(id) };
}

async function route(event) {
  const { name, id } = parseHash();
  const signedIn = session.current();
  if (!signedIn && name !== 'signin') {
    if (PAGES[name]) wanted = location.hash;
    location.replace('#/signin');
    return;
  }
  if (signedIn && (!PAGES[name] || name === 'signin')) {
    location.replace(HOME);
    return;
  }
  const current = ++renderCount;
  if (cleanup) cleanup();
  cleanup = null;
  for (const link of nav.querySelectorAll('a')) {
    if (link.dataset.route === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // A page already loaded is drawn in the same task: no moment where the old page still answers clicks.
  const page = loadedPages.get(name) || await import(`./pages/${PAGES[name]}.js`);
  loadedPages.set(name, page);
  if (current !== renderCount) return;
  clear(view);
  // Every page puts its heading in place before it waits for data: focus moves there at once, not mid-typing.
  const rendering = page.render({ view, id, session: signedIn, afterSignIn });
  const title = view.querySelector('h1');
  if (title && (event?.type === 'hashchange' || document.activeElement === document.body)) title.focus();
  const result = await rendering;
  if (current !== renderCount) {
    if (typeof result === 'function') result();
    return;
  }
  cleanup = typeof result === 'function' ? result : null;
}

function afterSignIn() {
  const destination = wanted || HOME;
  wanted = null;
  location.hash = destination;
}

function showShell() {
  const signedIn = session.current();
  nav.hidden = !signedIn;
  signOutButton.hidden = !signedIn;
  organization.textContent = signedIn?.organizationName || '';
  updateStatus();
}

function updateStatus() {
  const online = navigator.onLine && isReachable();
  const parts = [t(online ? 'status.online' : 'status.offline')];
  if (session.current()) {
    const count = outbox.waiting().length;
    parts.push(count ? tn('status.waiting', count) : t('status.allSent'));
  }
  statusLine.textContent = parts.join(' · ');
  statusLine.classList.toggle('offline', !online);
}

function showFailure(item, error) {
  const dismiss = h('button', { type: 'button', class: 'link', text: t('common.dismiss') });
  const message = h('p', {}, t('outbox.failed', { change: describe(item) }), ' ', refusal(error), ' ', dismiss);
  dismiss.addEventListener('click', () => {
    message.remove();
    alerts.hidden = !alerts.childElementCount;
  });
  alerts.append(message);
  alerts.hidden = false;
}

async function loadOrganizationName() {
  const signedIn = session.current();
  if (!signedIn || signedIn.organizationName) return;
  try {
    const found = await get(`${REGISTRY}/organizations/${signedIn.organizationId}`);
    session.setOrganizationName(found.name);
  } catch {
    // the name is a courtesy; the pages work without it
  }
}

session.onChange((state, reason) => {
  showShell();
  if (state && reason === 'signed-in') {
    loadOrganizationName();
    outbox.flush();
  }
  if (!state) {
    alerts.replaceChildren();
    alerts.hidden = true;
    if (reason === 'expired') sessionStorage.setItem('minka.expired', '1');
    route();
  }
});

outbox.subscribe((event) => {
  updateStatus();
  if (event.type === 'failed') showFailure(event.item, event.error);
});
onReachability(updateStatus);
window.addEventListener('online', updateStatus);
window.addEventListener('offline', updateStatus);
window.addEventListener('hashchange', route);
nav.addEventListener('click', (event) => {
  // Following the link of the page already shown loads it again, with fresh data.
  const link = event.target.closest('a');
  if (link && link.getAttribute('href') === location.hash) {
    event.preventDefault();
    route({ type: 'hashchange' });
  }
});

signOutButton.addEventListener('click', () => session.end('signed-out'));
languageSelect.addEventListener('change', async () => {
  await setLanguage(languageSelect.value, { remember: true });
});
onLanguageChange(() => {
  languageSelect.value = currentLanguage();
  showShell();
  route();
});

async function start() {
  await setLanguage(preferredLanguage());
  showShell();
  if (session.current()) {
    loadOrganizationName();
    outbox.flush();
  }
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js').catch(() => {});
  }
}

start();
