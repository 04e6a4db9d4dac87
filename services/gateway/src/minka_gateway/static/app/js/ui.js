// Building blocks shared by the pages: labelled fields, error display, waiting changes, notices.

import { ApiError, NetworkError } from './api.js';
import { h, uid } from './dom.js';
import { formatDateTime, t } from './i18n.js';
import { OutboxFull, waiting } from './outbox.js';

/** A labelled form field; ``apiField`` names the request field whose errors are shown under it. */
export function field(labelKey, input, { hint, apiField } = {}) {
  input.id = input.id || uid('field');
  if (apiField) input.dataset.field = apiField;
  const error = h('p', { class: 'field-error', id: `${input.id}-error`, hidden: true });
  const help = hint ? h('p', { class: 'hint', id: `${input.id}-hint`, text: hint }) : null;
  input.setAttribute('aria-describedby', [help?.id, error.id].filter(Boolean).join(' '));
  const isCheck = input.type === 'checkbox';
  const text = h('label', { for: input.id, text: t(labelKey) });
  return h('div', { class: isCheck ? 'field check' : 'field' }, isCheck ? [input, text] : [text, input], help, error);
}

export function input(attrs) {
  return h('input', attrs);
}

export function select(options, attrs = {}) {
  return h('select', attrs, options.map(([value, text]) => h('option', { value, text })));
}

export function button(key, attrs = {}) {
  return h('button', { type: 'button', ...attrs, text: t(key) });
}

/** The place where a form's errors are announced (hidden while there are none). */
export function alertBox() {
  return h('div', { class: 'alert', role: 'alert', hidden: true });
}

export function clearErrors(form) {
  for (const element of form.querySelectorAll('[aria-invalid]')) element.removeAttribute('aria-invalid');
  for (const element of form.querySelectorAll('.field-error')) {
    element.hidden = true;
    element.textContent = '';
  }
  for (const element of form.querySelectorAll('.alert')) {
    element.hidden = true;
    element.replaceChildren();
  }
}

/** A sentence for any failure: the API's own detail comes after a translated summary. */
export function errorMessage(error) {
  if (error instanceof NetworkError) return t('error.network');
  if (error instanceof OutboxFull) return t('error.storageFull');
  if (error instanceof ApiError) {
    const summary = t(`error.status.${error.status}`) === `error.status.${error.status}`
      ? t('error.status.other', { status: error.status })
      : t(`error.status.${error.status}`);
    const detail = error.problem.detail;
    return detail && detail !== 'The request is not valid.' ? `${summary} ${detail}` : summary;
  }
  return t('error.unexpected');
}

/** Why the server refused a change, when no form is there to show it on: the reasons of its field errors. */
export function refusal(error) {
  if (error instanceof ApiError && error.fieldErrors.length) {
    return error.fieldErrors.map((e) => (Number.isInteger(e.line) ? `${t('members.line', { line: e.line })}: ${e.reason}` : e.reason))
      .join(' · ');
  }
  return errorMessage(error);
}

function inputFor(form, name) {
  const inputs = [...form.querySelectorAll('[data-field]')];
  const exact = inputs.find((element) => element.dataset.field === name);
  if (exact) return exact;
  const containing = inputs
    .filter((element) => name.startsWith(`${element.dataset.field}.`))
    .sort((a, b) => b.dataset.field.length - a.dataset.field.length)[0];
  return containing || inputs.find((element) => element.dataset.field.startsWith(`${name}.`));
}

/** Shows an error on a form: each API field error under its input, the rest in the form's alert. */
export function showError(form, error) {
  clearErrors(form);
  const box = form.querySelector('.alert');
  const loose = [];
  if (error instanceof ApiError) {
    for (const problem of error.fieldErrors) {
      const target = inputFor(form, problem.field);
      if (!target) {
        loose.push(problem.field ? `${problem.field}: ${problem.reason}` : problem.reason);
        continue;
      }
      target.setAttribute('aria-invalid', 'true');
      const message = form.querySelector(`#${CSS.escape(target.id)}-error`);
      message.textContent = message.textContent ? `${message.textContent} ${problem.reason}` : problem.reason;
      message.hidden = false;
    }
  }
  box.append(h('p', { text: errorMessage(error) }));
  if (loose.length) box.append(h('ul', {}, loose.map((text) => h('li', { text }))));
  box.hidden = false;
  const firstInvalid = form.querySelector('[aria-invalid="true"]');
  if (firstInvalid) firstInvalid.focus();
}

/** A message that is read out politely (not a role=status region: the app has one status line). */
export function notice() {
  return h('p', { class: 'notice', 'aria-live': 'polite' });
}

export function say(element, text) {
  element.textContent = text;
}

/** The signed-in user's changes of some kinds still waiting for the connection. */
export function waitingList(kinds) {
  const list = h('ul', { class: 'waiting' });
  const render = () => {
    const items = waiting(kinds);
    list.replaceChildren(...items.map((item) => h('li', {},
      h('span', { text: describe(item) }), ' ',
      h('span', { class: 'badge', text: t('outbox.waiting') }), ' ',
      h('time', { datetime: item.at, class: 'muted', text: formatDateTime(item.at) }))));
    list.hidden = items.length === 0;
  };
  render();
  return { element: list, render };
}

export function describe(item) {
  return t(`outbox.kind.${item.kind}`, { label: item.label });
}

export function heading(key, params) {
  return h('h1', { tabindex: '-1', text: t(key, params) });
}

export function section(titleKey, ...children) {
  const id = uid('section');
  return h('section', { 'aria-labelledby': id }, h('h2', { id, text: t(titleKey) }), ...children);
}

/** A definition list from [labelKey, value] pairs; empty values are left out. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, value]) => value !== '' && value !== null && value !== undefined)
    .map(([key, value]) => h('div', {}, h('dt', { text: t(key) }), h('dd', {}, value))));
}
