// The signed-in coop manager: the access token lives in sessionStorage only, until sign-out, expiry or a 401.

const STORAGE_KEY = 'minka.session';
const TOKEN_URL = '/registry/v1/oauth/token';
export const MANAGER_ROLE = 'coop_manager';

let state = load();
let expiryTimer = null;
const listeners = new Set();

export class SignInError extends Error {
  constructor(reason, detail) {
    super(reason);
    this.reason = reason; // credentials | role | rate | network | server
    this.detail = detail;
  }
}

function load() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
    return stored && stored.expiresAt > Date.now() ? stored : null;
  } catch {
    return null;
  }
}

function save() {
  if (state) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state));
  else sessionStorage.removeItem(STORAGE_KEY);
}

function scheduleExpiry() {
  clearTimeout(expiryTimer);
  if (state) expiryTimer = setTimeout(() => end('expired'), Math.max(0, state.expiresAt - Date.now()));
}

function notify(reason) {
  for (const listener of listeners) listener(state, reason);
}

export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function current() {
  if (state && Date.now() >= state.expiresAt) end('expired');
  return state;
}

function claimsOf(token) {
  const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const json = decodeURIComponent(
    Array.from(atob(payload), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
  );
  return JSON.parse(json);
}

export async function signIn(email, password) {
  let response;
  try {
    response = await fetch(TOKEN_URL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'password', username: email, password }),
      cache: 'no-store',
    });
  } catch {
    throw new SignInError('network');
  }
  const body = await response.json().catch(() => ({}));
  if (response.status === 429) throw new SignInError('rate');
  if (response.status >= 500) throw new SignInError('server', body.detail);
  if (!response.ok || !body.access_token) throw new SignInError('credentials');
  const claims = claimsOf(body.access_token);
  if (claims.role !== MANAGER_ROLE || !claims.org) throw new SignInError('role');
  // The device clock may be wrong: the lifetime counts from now, not from the token's exp.
  state = {
    token: body.access_token,
    expiresAt: Date.now() + Number(body.expires_in || 0) * 1000,
    subject: claims.sub,
    organizationId: claims.org,
    organizationName: null,
    email,
  };
  save();
  scheduleExpiry();
  notify('signed-in');
  return state;
}

export function setOrganizationName(name) {
  if (!state) return;
  state.organizationName = name;
  save();
  notify('organization');
}

export function end(reason = 'signed-out') {
  if (!state) return;
  state = null;
  clearTimeout(expiryTimer);
  save();
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith('minka.get:')) sessionStorage.removeItem(key);
  }
  notify(reason);
}

scheduleExpiry();
