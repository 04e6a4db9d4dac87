// Keeps the app's own files so that it starts without a connection. API calls are never cached here:
// they carry a personal token, and writes go through the app's outbox instead.
// VERSION follows the content of the app's files (tests/test_client_files.py says the value when a file changes):
// a new version makes returning browsers fetch the new files and drop the old cache.

const VERSION = 'minka-app-6ec2a4976309';
const SHELL = [
  './', 'app.css',
  'js/main.js', 'js/api.js', 'js/csv.js', 'js/dom.js', 'js/i18n.js', 'js/map.js', 'js/outbox.js', 'js/session.js',
  'js/ui.js', 'js/pages/signin.js', 'js/pages/members.js', 'js/pages/sites.js', 'js/pages/certification.js',
  'js/pages/lots.js', 'messages/en.json', 'messages/es.json', 'messages/fr.json', 'messages/pt.json',
];
const SCOPE = new URL('./', self.location).pathname;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(VERSION)
    .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((name) => name.startsWith('minka-app-') && name !== VERSION)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  event.respondWith((async () => {
    const cache = await caches.open(VERSION);
    const cached = await cache.match(request.mode === 'navigate' ? './' : request, { ignoreSearch: true });
    return cached || fetch(request);
  })());
});
