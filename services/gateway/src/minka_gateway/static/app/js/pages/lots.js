import { get, getAll, REGISTRY, TRACEABILITY } from '../api.js';
import { h, todayIso } from '../dom.js';
import { formatDate, formatDateTime, formatKg, formatNumber, label, t, tn } from '../i18n.js';
import * as outbox from '../outbox.js';
import {
  alertBox, clearErrors, errorMessage, facts, field, heading, input, notice, say, section, select, showError,
  waitingList,
} from '../ui.js';

const COMMODITIES = ['gold', 'silver', 'platinum', 'palladium', 'tin', 'tantalum', 'tungsten', 'copper', 'cobalt',
  'lithium', 'zinc', 'lead', 'nickel'];
const FORMS = ['ore', 'concentrate', 'sponge', 'dore', 'bullion', 'granules', 'other'];
const UNITS = ['g', 'kg', 't', 'oz_t'];
const BUYER_KINDS = ['buyer', 'trader', 'refiner'];

export function render(context) {
  return context.id ? renderLot(context) : renderList(context);
}

// ------------------------------------------------------------------------------------------ list and record

async function renderList({ view, session }) {
  const org = session.organizationId;
  const waiting = waitingList(['lot', 'dispatch']);
  const site = select([['', t('common.choose')]], { required: true });
  const commodity = select(COMMODITIES.map((c) => [c, label('commodity', c)]));
  const form = select(FORMS.map((f) => [f, label('lotForm', f)]));
  const mass = input({ type: 'text', inputmode: 'decimal', autocomplete: 'off', required: true });
  const unit = select(UNITS.map((u) => [u, label('unit', u)]), { value: 'kg' });
  const producedOn = input({ type: 'date', value: todayIso(), max: todayIso(), required: true });
  const mercuryFree = input({ type: 'checkbox' });
  const recorded = notice();
  const lotForm = h('form', { class: 'card', novalidate: true },
    field('lots.site', site, { apiField: 'site_id' }),
    h('div', { class: 'pair' },
      field('lots.commodity', commodity, { apiField: 'commodity' }),
      field('lots.form', form, { apiField: 'form' })),
    h('div', { class: 'pair' },
      field('lots.mass', mass, { apiField: 'mass.value' }),
      field('lots.unit', unit, { apiField: 'mass.unit' })),
    field('lots.producedOn', producedOn, { apiField: 'produced_on' }),
    field('lots.mercuryFree', mercuryFree, { apiField: 'mercury_free' }),
    alertBox(),
    h('button', { type: 'submit', class: 'primary', text: t('lots.record') }),
    recorded);

  let siteNames = new Map();
  lotForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(lotForm);
    say(recorded, '');
    const body = {
      site_id: site.value || null,
      commodity: commodity.value,
      form: form.value,
      // The API takes the mass as a decimal string, exactly as weighed.
      mass: { value: mass.value.trim().replace(',', '.'), unit: unit.value },
      produced_on: producedOn.value || null,
      mercury_free: mercuryFree.checked,
    };
    const submit = lotForm.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const result = await outbox.submit({
        path: `${TRACEABILITY}/lots`, body, kind: 'lot',
        label: t('lots.lotLabel', { mass: `${mass.value.trim()} ${label('unit', unit.value)}`,
          site: siteNames.get(site.value) || '' }),
      });
      mass.value = '';
      mercuryFree.checked = false;
      if (result.queued) {
        say(recorded, t('outbox.queuedNotice'));
      } else {
        say(recorded, t('lots.recorded', { code: result.data.code }));
        await showList();
      }
      waiting.render();
    } catch (error) {
      showError(lotForm, error);
    } finally {
      submit.disabled = false;
    }
  });

  const list = h('ul', { class: 'cards' });
  const total = h('p', { class: 'muted' });
  const listNotice = notice();

  async function showList() {
    try {
      const lots = await getAll(`${TRACEABILITY}/lots?`);
      lots.reverse(); // the API lists oldest first; the newest matter most here
      list.replaceChildren(...lots.map(lotCard));
      total.textContent = tn('lots.count', lots.length);
      say(listNotice, '');
    } catch (error) {
      say(listNotice, errorMessage(error));
    }
  }

  function lotCard(lot) {
    return h('li', { class: 'card lot' },
      h('h3', {}, h('a', { href: `#/lots/${encodeURIComponent(lot.id)}`, text: lot.code })),
      facts([
        ['lots.status', label('lotStatus', lot.status)],
        ['lots.product', `${label('commodity', lot.commodity)} · ${label('lotForm', lot.form)}`],
        ['lots.mass', formatKg(lot.mass_kg)],
        ['lots.producedOn', lot.origin ? formatDate(lot.origin.produced_on) : ''],
        ['lots.site', lot.origin ? siteNames.get(lot.origin.site_id) || '' : ''],
        ['lots.claim', claimSummary(lot.claims)],
      ]));
  }

  view.append(
    heading('lots.title'),
    waiting.element,
    section('lots.recordTitle', lotForm),
    section('lots.listTitle', total, listNotice, list),
  );
  const unsubscribe = outbox.subscribe((event) => {
    waiting.render();
    if (event.type === 'sent' && event.item.kind === 'lot') showList();
  });
  try {
    const sites = await getAll(`${REGISTRY}/sites?cooperative_id=${encodeURIComponent(org)}`);
    siteNames = new Map(sites.map((s) => [s.id, s.name]));
    site.append(...sites.filter((s) => s.status === 'active').map((s) => h('option', { value: s.id, text: s.name })));
    if (sites.length === 1) site.value = sites[0].id;
    if (!sites.length) say(recorded, t('lots.noSites'));
  } catch (error) {
    say(recorded, errorMessage(error));
  }
  await showList();
  return unsubscribe;
}

function claimSummary(claims) {
  if (!claims.certified) return t('lots.notCertified');
  const parts = [t('lots.certifiedTier', { tier: label('level', claims.tier) })];
  if (claims.forest_smart) parts.push(t('lots.forestSmart'));
  if (claims.mercury_free) parts.push(t('lots.mercuryFreeClaim'));
  return parts.join(' · ');
}

// ------------------------------------------------------------------------------------------ one lot

async function renderLot({ view, id, session }) {
  const org = session.organizationId;
  const path = `${TRACEABILITY}/lots/${encodeURIComponent(id)}`;
  const waiting = waitingList(['dispatch']);
  const back = h('p', {}, h('a', { href: '#/lots', text: t('lots.back') }));
  const title = heading('lots.title');
  const body = h('div', {}, h('p', { class: 'muted', text: t('common.loading') }));
  const lotNotice = notice();
  view.append(back, title, waiting.element, lotNotice, body);

  const names = new Map();
  let buyers = [];
  let sites = new Map();

  async function load() {
    let lot;
    let events;
    try {
      [lot, events] = await Promise.all([get(path), get(`${path}/events`)]);
    } catch (error) {
      body.replaceChildren(h('p', { class: 'notice', text: errorMessage(error) }));
      return;
    }
    title.textContent = t('lots.lotTitle', { code: lot.code });
    document.title = `${lot.code} · ${t('app.title')}`;
    body.replaceChildren(
      h('div', { class: 'card' }, facts([
        ['lots.status', label('lotStatus', lot.status)],
        ['lots.product', `${label('commodity', lot.commodity)} · ${label('lotForm', lot.form)}`],
        ['lots.mass', formatKg(lot.mass_kg)],
        ['lots.custodian', nameOf(lot.custodian_id)],
        ['lots.site', lot.origin ? sites.get(lot.origin.site_id) || '' : ''],
        ['lots.producedOn', lot.origin ? formatDate(lot.origin.produced_on) : ''],
        ['lots.chain', label('chain', lot.chain_of_custody)],
      ])),
      section('lots.claims', claimsView(lot)),
      lot.status === 'active' && lot.custodian_id === org ? section('lots.dispatchTitle', dispatchForm(lot)) : null,
      section('lots.history', historyView(events)),
    );
  }

  function nameOf(organizationId) {
    if (!organizationId) return '';
    if (organizationId === org) return session.organizationName || t('lots.yourCooperative');
    return names.get(organizationId) || t('lots.otherOrganization');
  }

  function claimsView(lot) {
    const claims = lot.claims;
    return h('div', { class: 'card' }, facts([
      ['lots.certified', t(claims.certified ? 'common.yes' : 'common.no')],
      ['lots.tier', claims.tier ? label('level', claims.tier) : ''],
      ['lots.standards', claims.standards.map((ref) => `${ref.code} ${ref.version}`).join(', ')],
      ['lots.forestSmartClaim', t(claims.forest_smart ? 'common.yes' : 'common.no')],
      ['lots.mercuryFree', t(claims.mercury_free ? 'common.yes' : 'common.no')],
      ['lots.certifiedShare', formatNumber(Number(claims.certified_share), { style: 'percent', maximumFractionDigits: 2 })],
      ['lots.certificate', lot.origin?.certificate_number || ''],
    ]));
  }

  function historyView(events) {
    if (!events.length) return h('p', { class: 'muted', text: t('lots.noHistory') });
    return h('ol', { class: 'history' }, events.map((event) => {
      const to = event.details?.to_organization_id;
      return h('li', {},
        h('p', {}, h('strong', { text: label('eventKind', event.kind) }), ' — ',
          h('time', { datetime: event.at, text: formatDateTime(event.at) })),
        facts([
          ['lots.by', nameOf(event.organization_id)],
          ['lots.to', to ? nameOf(to) : ''],
          ['lots.place', event.place || ''],
          ['lots.mass', event.subject ? formatKg(event.subject.mass_kg) : ''],
        ]));
    }));
  }

  function dispatchForm(lot) {
    const buyer = select([['', t('common.choose')]], { required: true });
    for (const kind of BUYER_KINDS) {
      const group = buyers.filter((o) => o.kind === kind);
      if (group.length) {
        buyer.append(h('optgroup', { label: label('organizationKind', kind) },
          group.map((o) => h('option', { value: o.id, text: o.name }))));
      }
    }
    const done = notice();
    const form = h('form', { class: 'card', novalidate: true },
      field('lots.buyer', buyer, { apiField: 'to_organization_id' }),
      alertBox(),
      h('button', { type: 'submit', class: 'primary', text: t('lots.dispatch') }),
      done);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      const submit = form.querySelector('button[type=submit]');
      submit.disabled = true;
      try {
        const result = await outbox.submit({
          path: `${path}/dispatch`, body: { to_organization_id: buyer.value || null }, kind: 'dispatch',
          label: t('lots.dispatchLabel', { code: lot.code, buyer: names.get(buyer.value) || '' }),
        });
        if (result.queued) {
          say(done, t('outbox.queuedNotice'));
          submit.disabled = true;
          waiting.render();
        } else {
          await load();
          say(lotNotice, t('lots.dispatched', { buyer: names.get(buyer.value) || '' }));
          title.focus();
        }
      } catch (error) {
        submit.disabled = false;
        showError(form, error);
      }
    });
    return form;
  }

  const unsubscribe = outbox.subscribe((event) => {
    waiting.render();
    if (event.type === 'sent' && event.item.path.startsWith(path)) load();
  });

  const [organizations, siteList] = await Promise.all([
    Promise.all(BUYER_KINDS.map((kind) => getAll(`${REGISTRY}/organizations?kind=${kind}`).catch(() => []))),
    getAll(`${REGISTRY}/sites?cooperative_id=${encodeURIComponent(org)}`).catch(() => []),
  ]);
  buyers = organizations.flat();
  for (const organization of buyers) names.set(organization.id, organization.name);
  sites = new Map(siteList.map((s) => [s.id, s.name]));
  await load();
  return unsubscribe;
}
