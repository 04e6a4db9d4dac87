import { ApiError, finished, get, getAll, REGISTRY } from '../api.js';
import { parseCsv, readUtf8 } from '../csv.js';
import { h, todayIso } from '../dom.js';
import { formatDate, label, t, tn } from '../i18n.js';
import * as outbox from '../outbox.js';
import {
  alertBox, button, clearErrors, errorMessage, facts, field, heading, input, notice, say, section, select, showError,
  waitingList,
} from '../ui.js';

const GENDERS = ['female', 'male', 'other', 'undisclosed'];
const CSV_COLUMNS = { full_name: 'members.fullName', gender: 'members.gender', birth_date: 'members.birthDate',
  national_id: 'members.nationalId' };
const PAGE_SIZE = 50;
const PREVIEW_ROWS = 200;

export async function render({ view, session }) {
  const org = session.organizationId;
  let siteNames = new Map();
  const waiting = waitingList(['member', 'leave', 'import']);

  // ---------------------------------------------------------------- register
  const fullName = input({ type: 'text', autocomplete: 'off', required: true, maxLength: 200 });
  const gender = select([['', t('common.choose')], ...GENDERS.map((g) => [g, label('gender', g)])], { required: true });
  const birthDate = input({ type: 'date', required: true, max: todayIso() });
  const nationalId = input({ type: 'text', autocomplete: 'off', maxLength: 64 });
  const workSite = select([['', t('members.noSite')]]);
  const joinedOn = input({ type: 'date', value: todayIso() });
  const registerNotice = notice();
  const registerForm = h('form', { class: 'card', novalidate: true },
    field('members.fullName', fullName, { apiField: 'full_name' }),
    field('members.gender', gender, { apiField: 'gender' }),
    field('members.birthDate', birthDate, { apiField: 'birth_date' }),
    field('members.nationalId', nationalId, { apiField: 'national_id', hint: t('common.optional') }),
    field('members.workSite', workSite, { apiField: 'site_id', hint: t('common.optional') }),
    field('members.joinedOn', joinedOn, { apiField: 'joined_on' }),
    alertBox(),
    h('button', { type: 'submit', class: 'primary', text: t('members.register') }),
    registerNotice);

  registerForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(registerForm);
    say(registerNotice, '');
    const body = {
      full_name: fullName.value,
      gender: gender.value || null,
      birth_date: birthDate.value || null,
      national_id: nationalId.value.trim() || null,
      cooperative_id: org,
      site_id: workSite.value || null,
      joined_on: joinedOn.value || null,
    };
    const submit = registerForm.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const result = await outbox.submit({ path: `${REGISTRY}/miners`, body, kind: 'member', label: body.full_name });
      registerForm.reset();
      joinedOn.value = todayIso();
      say(registerNotice, result.queued ? t('outbox.queuedNotice') : t('members.registered', { name: result.data.full_name }));
      if (!result.queued) await showList();
      waiting.render();
    } catch (error) {
      showError(registerForm, error);
    } finally {
      submit.disabled = false;
    }
  });

  // ---------------------------------------------------------------- import
  const file = input({ type: 'file', accept: '.csv,text/csv' });
  const importButton = h('button', { type: 'submit', class: 'primary', text: t('members.import') });
  const importNotice = notice();
  const preview = h('div', { class: 'table-wrap' });
  const importForm = h('form', { class: 'card', novalidate: true },
    h('p', { class: 'hint', text: t('members.importHint') }),
    field('members.csvFile', file, { apiField: 'file' }),
    alertBox(), importButton, importNotice);
  let chosen = null; // {name, text, records}

  file.addEventListener('change', async () => {
    clearErrors(importForm);
    say(importNotice, '');
    chosen = await readChosenFile();
    renderPreview(chosen, []);
  });

  async function readChosenFile() {
    const picked = file.files[0];
    if (!picked) return null;
    const text = await readUtf8(picked);
    if (text === null) {
      showFormMessage(importForm, t('members.notUtf8'));
      return null;
    }
    return { name: picked.name, text, records: parseCsv(text) };
  }

  importForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(importForm);
    say(importNotice, '');
    if (!chosen) chosen = await readChosenFile();
    if (!chosen) {
      if (!file.files[0]) showFormMessage(importForm, t('members.chooseFile'));
      return;
    }
    importButton.disabled = true;
    const dataRows = chosen.records.filter((r) => !r.blank).length - 1;
    try {
      const result = await outbox.submit({
        path: `${REGISTRY}/miners/import?cooperative_id=${encodeURIComponent(org)}`,
        body: chosen.text, contentType: 'text/csv; charset=utf-8', kind: 'import', prefer: 'respond-async',
        label: t('members.importLabel', { file: chosen.name, rows: Math.max(dataRows, 0) }),
      });
      if (result.queued) {
        say(importNotice, t('outbox.queuedNotice'));
      } else {
        const imported = await finished(REGISTRY, result.data, (progress) => {
          say(importNotice, t('members.importing', { done: progress.done, total: progress.total ?? dataRows }));
        });
        say(importNotice, tn('members.imported', imported.imported));
        preview.replaceChildren();
        importForm.reset();
        chosen = null;
        await showList();
      }
      waiting.render();
    } catch (error) {
      showImportProblems(chosen, error);
    } finally {
      importButton.disabled = false;
    }
  });

  function showImportProblems(csv, error) {
    const lineErrors = error instanceof ApiError ? error.fieldErrors.filter((e) => Number.isInteger(e.line)) : [];
    const shown = renderPreview(csv, lineErrors);
    const box = importForm.querySelector('.alert');
    const lines = new Set(lineErrors.map((e) => e.line)).size;
    box.replaceChildren(h('p', { text: lines ? tn('members.importProblems', lines) : errorMessage(error) }));
    const elsewhere = lineErrors.filter((e) => !shown.has(e.line));
    if (elsewhere.length) {
      box.append(h('ul', {}, elsewhere.map((e) => h('li', { text: `${t('members.line', { line: e.line })}: ${e.reason}` }))));
    }
    box.hidden = false;
  }

  /** The CSV rows in a table, each with its problems; returns the lines shown. */
  function renderPreview(csv, problems) {
    preview.replaceChildren();
    const shown = new Set();
    if (!csv) return shown;
    const byLine = new Map();
    for (const problem of problems) byLine.set(problem.line, [...(byLine.get(problem.line) || []), problem]);
    const records = csv.records.filter((r) => !r.blank);
    const [header, ...rows] = records;
    if (!header) return shown;
    const width = header.cells.length;
    let visible = rows;
    if (rows.length > PREVIEW_ROWS) {
      visible = rows.filter((r, index) => index < PREVIEW_ROWS / 2 || byLine.has(r.line));
    }
    const headerRow = byLine.has(header.line) ? [header] : [];
    const columnTitle = (name) => (CSV_COLUMNS[name.trim()] ? t(CSV_COLUMNS[name.trim()]) : name);
    const columnOf = (fieldName) => {
      const index = header.cells.findIndex((c) => c.trim() === fieldName);
      return index >= 0 ? columnTitle(header.cells[index]) : '';
    };
    const table = h('table', { class: 'preview' },
      h('caption', { text: t('members.preview') }),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col', text: t('members.lineColumn') }),
        problems.length ? h('th', { scope: 'col', text: t('members.problems') }) : null,
        header.cells.map((name) => h('th', { scope: 'col', text: columnTitle(name) })))),
      h('tbody', {}, [...headerRow, ...visible].map((record) => {
        shown.add(record.line);
        const found = byLine.get(record.line) || [];
        const cells = Array.from({ length: Math.max(width, record.cells.length) }, (_, i) => record.cells[i] ?? '');
        return h('tr', { 'data-line': String(record.line), class: found.length ? 'has-error' : '' },
          h('th', { scope: 'row', text: String(record.line) }),
          // The problems come first so that they show without scrolling sideways on a phone.
          problems.length ? h('td', { class: 'problems' }, found.length
            ? h('ul', {}, found.map((p) => h('li', { text: columnOf(p.field) ? `${columnOf(p.field)}: ${p.reason}` : p.reason })))
            : h('span', { class: 'muted', text: t('members.rowOk') })) : null,
          cells.map((value) => h('td', { text: value.replace(/\s+/g, ' ') })));
      })));
    const summary = h('p', { class: 'muted', text: tn('members.previewCount', rows.length) });
    if (visible.length < rows.length) summary.append(' ', t('members.previewPartial', { shown: visible.length }));
    preview.append(summary, table);
    return shown;
  }

  // ---------------------------------------------------------------- list and search
  const search = input({ type: 'search', autocomplete: 'off', maxLength: 200 });
  const listNotice = notice();
  const list = h('ul', { class: 'cards' });
  const more = button('common.showMore', { hidden: true });
  const total = h('p', { class: 'muted' });
  let cursor = null;
  let searchTimer = null;
  let listVersion = 0;

  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(showList, 350);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      clearTimeout(searchTimer);
      showList();
    }
  });
  more.addEventListener('click', () => showList({ append: true }));

  async function showList({ append = false } = {}) {
    const version = ++listVersion;
    const query = search.value.trim();
    const base = query
      ? `${REGISTRY}/miners?cooperative_id=${encodeURIComponent(org)}&q=${encodeURIComponent(query)}`
      : `${REGISTRY}/cooperatives/${encodeURIComponent(org)}/members?`;
    const path = `${base}${base.endsWith('?') ? '' : '&'}limit=${PAGE_SIZE}${append && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    try {
      const page = await get(path);
      if (version !== listVersion) return;
      if (!append) list.replaceChildren();
      list.append(...page.items.map(memberCard));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      const shownCount = list.childElementCount;
      total.textContent = query
        ? tn('members.found', shownCount)
        : tn('members.count', shownCount) + (cursor ? ` ${t('common.more')}` : '');
      say(listNotice, '');
    } catch (error) {
      if (version === listVersion) say(listNotice, errorMessage(error));
    }
  }

  function memberCard(member) {
    const current = member.membership;
    const item = h('li', { class: 'card member', 'data-id': member.id },
      h('h3', { text: member.full_name }),
      facts([
        ['members.gender', label('gender', member.gender)],
        ['members.birthDate', formatDate(member.birth_date)],
        ['members.nationalId', member.national_id || ''],
        ['members.workSite', member.site_id ? siteNames.get(member.site_id) || '' : ''],
        ['members.memberSince', current ? formatDate(current.joined_on) : ''],
      ]));
    if (!current) {
      item.append(h('p', { class: 'badge', text: t('members.former') }));
      return item;
    }
    const open = button('members.recordLeaving');
    open.addEventListener('click', () => {
      for (const other of list.querySelectorAll('form.leave')) other.remove();
      for (const other of list.querySelectorAll('button.leave-open')) other.hidden = false;
      open.hidden = true;
      const form = leavingForm(member, item, open);
      item.append(form);
      form.querySelector('input').focus();
    });
    open.classList.add('leave-open');
    item.append(open);
    return item;
  }

  function leavingForm(member, item, open) {
    const leftOn = input({ type: 'date', value: todayIso(), required: true });
    const confirm = h('button', { type: 'submit', class: 'primary', text: t('members.confirm') });
    const cancel = button('common.cancel');
    const form = h('form', { class: 'leave', novalidate: true },
      field('members.leftOn', leftOn, { apiField: 'left_on' }), alertBox(),
      h('div', { class: 'actions' }, confirm, cancel));
    cancel.addEventListener('click', () => {
      form.remove();
      open.hidden = false;
      open.focus();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      confirm.disabled = true;
      try {
        const result = await outbox.submit({
          path: `${REGISTRY}/miners/${encodeURIComponent(member.id)}/leave`,
          body: { left_on: leftOn.value || null }, kind: 'leave', label: member.full_name,
        });
        form.remove();
        item.append(h('p', { class: 'badge', text: result.queued
          ? t('outbox.waiting')
          : t('members.left', { date: formatDate(result.data.left_on) }) }));
        waiting.render();
      } catch (error) {
        confirm.disabled = false;
        showError(form, error);
      }
    });
    return form;
  }

  // ---------------------------------------------------------------- page
  view.append(
    heading('members.title'),
    waiting.element,
    section('members.registerTitle', registerForm),
    section('members.importTitle', importForm, preview),
    section('members.listTitle',
      h('div', { class: 'card' }, field('members.search', search)),
      total, listNotice, list, more),
  );

  const unsubscribe = outbox.subscribe((event) => {
    waiting.render();
    if (event.type === 'sent' && ['member', 'leave', 'import'].includes(event.item.kind)) showList();
    if (event.type === 'failed' && event.item.kind === 'import') {
      showImportProblems({ name: '', text: event.item.body, records: parseCsv(event.item.body) }, event.error);
    }
  });

  getAll(`${REGISTRY}/sites?cooperative_id=${encodeURIComponent(org)}`).then((sites) => {
    siteNames = new Map(sites.map((site) => [site.id, site.name]));
    workSite.append(...sites.map((site) => h('option', { value: site.id, text: site.name })));
    showList();
  }).catch(() => showList());

  return () => {
    unsubscribe();
    clearTimeout(searchTimer);
  };
}

function showFormMessage(form, text) {
  const box = form.querySelector('.alert');
  box.replaceChildren(h('p', { text }));
  box.hidden = false;
}
