// Every write goes through here. It gets its Idempotency-Key when the user submits; without a connection it waits in
// localStorage and is sent later, in order, with the same key, so the server records it once.

import { ApiError, NetworkError, newKey, onReachability, send } from './api.js';
import * as session from './session.js';

const STORAGE_KEY = 'minka.outbox';
const FIRST_RETRY_MS = 3000;
const LAST_RETRY_MS = 60000;

let items = load();
let flushing = null;
let retryTimer = null;
let retryDelay = FIRST_RETRY_MS;
const listeners = new Set();

export class OutboxFull extends Error {}

function load() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY));
    return Array.isArray(stored) ? stored : [];
  } catch {
    return [];
  }
}

function save(next) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  } catch {
    throw new OutboxFull();
  }
  items = next;
}

function notify(event) {
  for (const listener of listeners) listener(event);
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The signed-in user's changes still waiting, oldest first (optionally only those of some kinds). */
export function waiting(kinds) {
  const user = session.current()?.subject;
  return items.filter((item) => item.user === user && (!kinds || kinds.includes(item.kind)));
}

function enqueue(item) {
  save([...items, item]);
  notify({ type: 'queued', item });
}

function remove(item) {
  save(items.filter((other) => other.key !== item.key));
}

/** No connection, a server failure, or a session that ended (kept until the same user signs in again). */
function keepForLater(error) {
  return error instanceof NetworkError || (error instanceof ApiError && (error.retryable || error.status === 401));
}

/**
 * Sends a write now if possible. Resolves ``{queued: false, data}`` when the server accepted it, ``{queued: true}``
 * when it waits for the connection; rejects with the ApiError of a refused request (4xx), which is not kept.
 * ``kind`` and ``label`` describe the change in the list of waiting changes.
 */
export async function submit({ path, body, contentType = 'application/json', kind, label = '', prefer }) {
  const item = {
    key: newKey(),
    prefer,
    user: session.current()?.subject,
    method: 'POST',
    path,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    contentType,
    kind,
    label,
    at: new Date().toISOString(),
  };
  if (!navigator.onLine || waiting().length > 0) {
    enqueue(item); // behind the changes already waiting, so they reach the server in the order they were made
    flush();
    return { queued: true, item };
  }
  try {
    return { queued: false, data: await send(item), item };
  } catch (error) {
    if (!keepForLater(error)) throw error;
    enqueue(item);
    retryLater();
    return { queued: true, item };
  }
}

/** Tries again later, waiting longer after each failure (the 'online' event and any answer from the server
 * also start a new attempt at once). */
function retryLater() {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(flush, retryDelay);
  retryDelay = Math.min(retryDelay * 2, LAST_RETRY_MS);
}

/** Sends the waiting changes in order; stops at the first one that cannot be sent yet. */
export function flush() {
  if (!flushing) flushing = sendWaiting().finally(() => { flushing = null; });
  return flushing;
}

async function sendWaiting() {
  for (;;) {
    if (!navigator.onLine) return;
    const [item] = waiting();
    if (!item) return;
    try {
      const data = await send(item);
      retryDelay = FIRST_RETRY_MS;
      remove(item);
      notify({ type: 'sent', item, data });
    } catch (error) {
      if (keepForLater(error)) {
        retryLater();
        return;
      }
      remove(item);
      notify({ type: 'failed', item, error });
    }
  }
}

window.addEventListener('online', () => flush());
onReachability((reachable) => {
  if (reachable) flush();
});
window.addEventListener('storage', (event) => {
  if (event.key !== STORAGE_KEY) return;
  items = load();
  notify({ type: 'changed' });
});
