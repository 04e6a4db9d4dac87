import { CERTIFICATION, get, getAll, REGISTRY } from '../api.js';
import { h, s, todayIso, uid } from '../dom.js';
import { formatDate, formatNumber, label, t, tn } from '../i18n.js';
import * as outbox from '../outbox.js';
import {
  alertBox, clearErrors, errorMessage, facts, field, heading, input, notice, say, section, select, showError,
  waitingList,
} from '../ui.js';

const LEVELS = ['foundational', 'good', 'leading'];
const SANCTIONS = ['warning', 'suspension', 'exclusion'];

export async function render({ view, session }) {
  const org = session.organizationId;
  const waiting = waitingList(['inspection']);
  const body = h('div', {}, h('p', { class: 'muted', text: t('common.loading') }));
  view.append(heading('certification.title'), waiting.element, body);

  let certification;
  try {
    const found = await getAll(`${CERTIFICATION}/certifications?cooperative_id=${encodeURIComponent(org)}`);
    certification = found[found.length - 1]; // ids grow with time: the last one is the latest
  } catch (error) {
    body.replaceChildren(h('p', { class: 'notice', text: errorMessage(error) }));
    return undefined;
  }
  if (!certification) {
    body.replaceChildren(h('p', { class: 'card', text: t('certification.none') }));
    return undefined;
  }
  const path = `${CERTIFICATION}/certifications/${encodeURIComponent(certification.id)}`;
  const plan = h('div', {}, h('p', { class: 'muted', text: t('common.loading') }));
  const findings = h('div', {}, h('p', { class: 'muted', text: t('common.loading') }));
  const inspections = h('div', {});
  const members = await getAll(`${REGISTRY}/cooperatives/${encodeURIComponent(org)}/members?`).catch(() => []);
  const memberNames = new Map(members.map((m) => [m.id, m.full_name]));

  body.replaceChildren(
    section('certification.certificate', certificateFacts(certification)),
    h('section', { class: 'plan' }, h('h2', { text: t('certification.plan') }), plan),
    section('certification.findings', findings),
    section('certification.inspectionTitle', inspectionForm()),
    section('certification.recentInspections', inspections),
  );

  get(`${path}/improvement-plan`).then((found) => plan.replaceChildren(...planView(found)))
    .catch((error) => plan.replaceChildren(h('p', { class: 'notice', text: errorMessage(error) })));
  get(`${path}/findings?open=true`).then((found) => findings.replaceChildren(findingsView(found)))
    .catch((error) => findings.replaceChildren(h('p', { class: 'notice', text: errorMessage(error) })));
  showInspections();

  async function showInspections() {
    try {
      const found = await get(`${path}/inspections`);
      const latest = found.slice(-10).reverse();
      inspections.replaceChildren(latest.length
        ? h('ul', { class: 'plain' }, latest.map((inspection) => h('li', {},
          h('strong', { text: memberNames.get(inspection.member_id) || t('certification.formerMember') }), ' — ',
          formatDate(inspection.inspected_on),
          inspection.sanction ? ` — ${label('sanction', inspection.sanction)}` : '',
          inspection.lifts_sanction ? ` — ${t('certification.liftsSanction')}` : '')))
        : h('p', { class: 'muted', text: t('certification.noInspections') }));
    } catch (error) {
      inspections.replaceChildren(h('p', { class: 'notice', text: errorMessage(error) }));
    }
  }

  function inspectionForm() {
    const member = select([['', t('common.choose')], ...members.map((m) => [m.id, m.full_name])], { required: true });
    const inspectedOn = input({ type: 'date', value: todayIso(), max: todayIso() });
    const sanction = select([['', t('certification.noSanction')], ...SANCTIONS.map((v) => [v, label('sanction', v)])]);
    const until = input({ type: 'date' });
    const untilField = field('certification.sanctionUntil', until, { apiField: 'sanction_until', hint: t('common.optional') });
    untilField.hidden = true;
    const lifts = input({ type: 'checkbox' });
    const note = h('textarea', { rows: 3, maxLength: 2000 });
    const done = notice();
    sanction.addEventListener('change', () => {
      untilField.hidden = sanction.value !== 'suspension';
      if (untilField.hidden) until.value = '';
    });
    const form = h('form', { class: 'card', novalidate: true },
      field('certification.member', member, { apiField: 'member_id' }),
      field('certification.inspectedOn', inspectedOn, { apiField: 'inspected_on' }),
      field('certification.sanction', sanction, { apiField: 'sanction' }),
      untilField,
      field('certification.liftsSanction', lifts, { apiField: 'lifts_sanction' }),
      field('certification.note', note, { apiField: 'note', hint: t('common.optional') }),
      alertBox(),
      h('button', { type: 'submit', class: 'primary', text: t('certification.recordInspection') }),
      done);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      say(done, '');
      const request = {
        member_id: member.value || null,
        inspected_on: inspectedOn.value || null,
        results: [],
        sanction: sanction.value || null,
        sanction_until: until.value || null,
        lifts_sanction: lifts.checked,
        note: note.value.trim() || null,
      };
      const submit = form.querySelector('button[type=submit]');
      submit.disabled = true;
      try {
        const result = await outbox.submit({ path: `${path}/inspections`, body: request, kind: 'inspection',
          label: memberNames.get(request.member_id) || '' });
        form.reset();
        inspectedOn.value = todayIso();
        untilField.hidden = true;
        say(done, result.queued ? t('outbox.queuedNotice') : t('certification.inspectionRecorded'));
        if (!result.queued) showInspections();
        waiting.render();
      } catch (error) {
        showError(form, error);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  const unsubscribe = outbox.subscribe((event) => {
    waiting.render();
    if (event.type === 'sent' && event.item.kind === 'inspection') showInspections();
  });
  return unsubscribe;
}

function certificateFacts(certification) {
  const standards = [certification.standard, ...certification.bolt_ons].map((ref) => `${ref.code} ${ref.version}`);
  return h('div', { class: 'card' }, facts([
    ['certification.status', label('certificationStatus', certification.status)],
    ['certification.tier', certification.tier ? label('level', certification.tier) : t('certification.noTier')],
    ['certification.number', certification.certificate_number || t('certification.noCertificate')],
    ['certification.validTo', formatDate(certification.certificate_valid_to)],
    ['certification.forestSmart', t(certification.forest_smart ? 'common.yes' : 'common.no')],
    ['certification.standards', standards.join(', ')],
    ['certification.since', formatDate(certification.status_since)],
  ]));
}

/** Progress per level as a bar chart, with its values as text for screen readers. */
function planView(plan) {
  const describedBy = uid('plan');
  const rowHeight = 34;
  const labelWidth = 110;
  const barWidth = 150;
  const rows = LEVELS.map((level, index) => {
    const { met = 0, total = 0 } = plan.progress[level] || {};
    const share = total ? met / total : 0;
    const y = index * rowHeight;
    return s('g', {},
      s('text', { x: 0, y: y + 21, class: 'chart-label' }, label('level', level)),
      s('rect', { x: labelWidth, y: y + 6, width: barWidth, height: 20, rx: 3, class: 'chart-track' }),
      s('rect', { x: labelWidth, y: y + 6, width: Math.max(share * barWidth, 0), height: 20, rx: 3,
        class: `chart-bar ${share === 1 ? 'complete' : ''}` }),
      s('text', { x: labelWidth + barWidth + 8, y: y + 21, class: 'chart-value' },
        t('certification.metOf', { met: formatNumber(met), total: formatNumber(total) })));
  });
  const chart = s('svg', {
    viewBox: `0 0 ${labelWidth + barWidth + 64} ${LEVELS.length * rowHeight}`, role: 'img', class: 'chart',
    'aria-label': t('certification.plan'), 'aria-describedby': describedBy,
  }, rows);
  const values = h('ul', { id: describedBy, class: 'sr-only' }, LEVELS.map((level) => {
    const { met = 0, total = 0 } = plan.progress[level] || {};
    return h('li', { text: t('certification.levelProgress', { level: label('level', level), met: formatNumber(met),
      total: formatNumber(total), percent: formatNumber(total ? met / total : 0, { style: 'percent' }) }) });
  }));
  const next = plan.next_tier
    ? h('p', {}, tn('certification.nextTier', plan.actions.length, { tier: label('level', plan.next_tier) }))
    : h('p', {}, t('certification.topTier'));
  const actions = plan.actions.length ? h('details', { class: 'actions-list' },
    h('summary', { text: tn('certification.actions', plan.actions.length) }),
    h('ol', {}, plan.actions.map((action) => h('li', {},
      h('p', {}, h('strong', { text: action.indicator }), ' ', h('span', { class: 'badge', text: label('level', action.level) }),
        ' ', h('span', { class: 'badge', text: label('planStatus', action.status) })),
      h('p', { text: action.action }),
      facts([
        ['certification.owner', action.owner],
        ['certification.due', formatDate(action.due_on)],
      ]))))) : null;
  return [h('figure', { class: 'chart-figure' }, chart, values), next, actions];
}

function findingsView(findings) {
  if (!findings.length) return h('p', { class: 'muted', text: t('certification.noFindings') });
  const sorted = [...findings].sort((a, b) => a.due_on.localeCompare(b.due_on));
  return h('div', {},
    h('p', { class: 'muted', text: tn('certification.findingCount', findings.length) }),
    h('ul', { class: 'cards' }, sorted.map((finding) => h('li', { class: `card finding ${finding.overdue ? 'overdue' : ''}` },
      h('h3', {}, finding.indicator, ' ', h('span', { class: `badge severity-${finding.severity}`, text: label('severity', finding.severity) }),
        finding.overdue ? h('span', { class: 'badge warning', text: t('certification.overdue') }) : null),
      finding.description ? h('p', { text: finding.description }) : null,
      facts([
        ['certification.deadline', formatDate(finding.due_on)],
        ['certification.opened', formatDate(finding.opened_at)],
      ])))));
}
