// Messages, language choice and Intl formatting. Every user-visible text comes from messages/<language>.json.

export const LANGUAGES = ['en', 'es', 'fr', 'pt'];
const STORAGE_KEY = 'minka.language';

let language = 'en';
let messages = {};
let plurals = new Intl.PluralRules('en');
const listeners = new Set();

export function preferredLanguage() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(stored)) return stored;
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

export async function setLanguage(code, { remember = false } = {}) {
  const chosen = LANGUAGES.includes(code) ? code : 'en';
  const response = await fetch(`messages/${chosen}.json`);
  if (!response.ok) throw new Error(`messages/${chosen}.json: ${response.status}`);
  messages = await response.json();
  language = chosen;
  plurals = new Intl.PluralRules(chosen);
  document.documentElement.lang = chosen;
  if (remember) localStorage.setItem(STORAGE_KEY, chosen);
  translate(document);
  for (const listener of listeners) listener(chosen);
}

export function currentLanguage() {
  return language;
}

export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(messages, key);
}

/** The message for ``key`` with ``{name}`` placeholders filled in. */
export function t(key, params = {}) {
  const text = has(key) ? messages[key] : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** A message in its plural form for ``count``: keys ``<key>.one``, ``<key>.other`` (…``.zero``, ``.few``, ``.many``). */
export function tn(key, count, params = {}) {
  const category = plurals.select(count);
  const chosen = has(`${key}.${category}`) ? `${key}.${category}` : `${key}.other`;
  return t(chosen, { ...params, count: formatNumber(count) });
}

/** A translated value of an API enumeration, e.g. ``label('gender', 'female')``; unknown values are shown as sent. */
export function label(group, value) {
  if (value === null || value === undefined) return '';
  const key = `${group}.${value}`;
  return has(key) ? messages[key] : String(value);
}

/** Texts of the static shell: data-i18n (text content), data-i18n-aria-label, data-i18n-title. */
export function translate(root) {
  for (const element of root.querySelectorAll('[data-i18n]')) element.textContent = t(element.dataset.i18n);
  for (const element of root.querySelectorAll('[data-i18n-aria-label]')) {
    element.setAttribute('aria-label', t(element.dataset.i18nAriaLabel));
  }
  if (root === document) document.title = t('app.title');
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(language, options).format(value);
}

/** An ISO date (YYYY-MM-DD) as the language writes it; the day does not move with the time zone. */
export function formatDate(iso) {
  if (!iso) return '';
  const date = new Date(`${String(iso).slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeZone: 'UTC' }).format(date);
}

export function formatDateTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

/** A mass in kilograms (the API's exact decimal string) for reading; the exact value stays in the API. */
export function formatKg(kilograms) {
  const value = Number(kilograms);
  const digits = Math.abs(value) >= 1 ? 3 : 6;
  return t('unit.kgValue', { value: formatNumber(value, { maximumFractionDigits: digits }) });
}

export function formatKm(kilometres) {
  return t('unit.kmValue', { value: formatNumber(kilometres, { maximumFractionDigits: kilometres < 10 ? 1 : 0 }) });
}
