// The public API through the same origin: Bearer token, problem+json errors, an Idempotency-Key on every POST.

import * as session from './session.js';

export const REGISTRY = '/registry/v1';
export const CERTIFICATION = '/certification/v1';
export const TRACEABILITY = '/traceability/v1';

const CACHE_PREFIX = 'minka.get:';
const MAX_CACHED_CHARACTERS = 300_000;
const memory = new Map();
const reachabilityListeners = new Set();
let reachable = true;

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem && typeof problem === 'object' ? problem : {};
    this.retryAfter = retryAfter;
  }

  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }

  /** Worth sending again later with the same key: the server failed, or is still busy with the first attempt. */
  get retryable() {
    return this.status >= 500 || this.status === 429 || (this.status === 409 && Boolean(this.retryAfter));
  }
}

export class NetworkError extends Error {}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Plain http on a local network is not a secure context: build a version 4 UUID by hand.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function isReachable() {
  return reachable;
}

export function onReachability(listener) {
  reachabilityListeners.add(listener);
  return () => reachabilityListeners.delete(listener);
}

function setReachable(value) {
  if (value === reachable) return;
  reachable = value;
  for (const listener of reachabilityListeners) listener(value);
}

async function bodyOf(response) {
  const type = response.headers.get('Content-Type') || '';
  if (response.status === 204) return null;
  if (type.includes('json')) return response.json().catch(() => null);
  const text = await response.text();
  return text ? { detail: text } : null;
}

/** One request; throws NetworkError when the server cannot be reached and ApiError for an error answer. */
export async function send({ method = 'GET', path, body, contentType = 'application/json', key, prefer }) {
  const headers = { Accept: 'application/json, application/geo+json, application/problem+json' };
  if (prefer) headers.Prefer = prefer;
  const signedIn = session.current();
  if (signedIn) headers.Authorization = `Bearer ${signedIn.token}`;
  if (method === 'POST') headers['Idempotency-Key'] = key || newKey();
  if (body !== undefined) headers['Content-Type'] = contentType;
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (error) {
    setReachable(false);
    throw new NetworkError(String(error));
  }
  setReachable(true);
  const data = await bodyOf(response);
  if (response.status === 401 && signedIn) session.end('expired');
  if (!response.ok) throw new ApiError(response.status, data, response.headers.get('Retry-After'));
  return data;
}

/** A GET; without a connection, the last answer seen in this session (marked ``fromCache``) if there is one. */
export async function get(path) {
  try {
    const data = await send({ path });
    remember(path, data);
    return data;
  } catch (error) {
    if (error instanceof NetworkError) {
      const cached = recall(path);
      if (cached !== undefined) return cached;
    }
    throw error;
  }
}

const JOB_POLL_MS = 1000;

/** Follows a job (the body of a 202 answer) until it ends, telling ``onProgress`` how far it got; resolves its
 * result, or rejects with an ApiError carrying the problem that ended it (e.g. every bad row of a CSV file). */
export async function finished(service, job, onProgress = () => {}) {
  let current = job;
  while (current.status === 'queued' || current.status === 'running') {
    onProgress(current.progress);
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
    current = await send({ path: `${service}/jobs/${encodeURIComponent(current.id)}` });
  }
  if (current.status === 'failed') throw new ApiError(current.problem?.status || 500, current.problem, null);
  onProgress(current.progress);
  return current.result;
}

/** Every page of a paginated list (``{items, next_cursor}``), up to ``max`` items. */
export async function getAll(path, { max = 2000, limit = 500 } = {}) {
  const items = [];
  let cursor = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

function remember(path, data) {
  memory.set(path, data);
  try {
    const text = JSON.stringify(data);
    if (text.length <= MAX_CACHED_CHARACTERS) sessionStorage.setItem(CACHE_PREFIX + path, text);
  } catch {
    // storage full: the memory copy is enough
  }
}

function recall(path) {
  if (memory.has(path)) return memory.get(path);
  const text = sessionStorage.getItem(CACHE_PREFIX + path);
  return text === null ? undefined : JSON.parse(text);
}

export function forget(prefix = '') {
  for (const path of [...memory.keys()]) if (path.startsWith(prefix)) memory.delete(path);
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(CACHE_PREFIX + prefix)) sessionStorage.removeItem(key);
  }
}

session.onChange((state) => {
  if (!state) memory.clear();
});
