import { get, getAll, REGISTRY } from '../api.js';
import { h, uid } from '../dom.js';
import { formatKm, formatNumber, label, t, tn } from '../i18n.js';
import { centreOf, siteMap } from '../map.js';
import * as outbox from '../outbox.js';
import {
  alertBox, button, clearErrors, errorMessage, facts, field, heading, input, notice, say, section, select, showError,
  waitingList,
} from '../ui.js';

const METHODS = ['alluvial', 'hard_rock', 'tailings', 'other'];
const MINERALS = ['gold', 'silver', 'platinum', 'copper', 'tin', 'tantalum', 'tungsten', 'zinc', 'lead'];
const NEARBY_RADIUS_KM = 10;

function decimal(text) {
  const cleaned = text.trim().replace(',', '.');
  const value = Number(cleaned);
  return cleaned !== '' && Number.isFinite(value) ? value : text; // a non-number goes as typed; the API says why
}

export async function render({ view, session }) {
  const org = session.organizationId;
  const waiting = waitingList(['site']);

  const name = input({ type: 'text', autocomplete: 'off', required: true, maxLength: 200 });
  const latitude = input({ type: 'text', inputmode: 'decimal', autocomplete: 'off', required: true });
  const longitude = input({ type: 'text', inputmode: 'decimal', autocomplete: 'off', required: true });
  const locate = button('sites.useLocation');
  const locateNotice = notice();
  const method = select([['', t('common.choose')], ...METHODS.map((m) => [m, label('method', m)])], { required: true });
  const mineralBoxes = MINERALS.map((mineral, index) => input({
    type: 'checkbox', name: 'mineral', value: mineral, checked: mineral === 'gold',
    'data-field': index === 0 ? 'minerals' : undefined,
  }));
  const minerals = h('fieldset', { class: 'choices' }, h('legend', { text: t('sites.minerals') }),
    mineralBoxes.map((box) => field(`mineral.${box.value}`, box)));
  const registerNotice = notice();
  const form = h('form', { class: 'card', novalidate: true },
    field('sites.name', name, { apiField: 'name' }),
    h('div', { class: 'pair' },
      field('sites.latitude', latitude, { apiField: 'geometry.coordinates.1', hint: t('sites.latitudeHint') }),
      field('sites.longitude', longitude, { apiField: 'geometry.coordinates.0', hint: t('sites.longitudeHint') })),
    h('div', { class: 'actions' }, locate), locateNotice,
    field('sites.method', method, { apiField: 'method' }),
    minerals,
    alertBox(),
    h('button', { type: 'submit', class: 'primary', text: t('sites.register') }),
    registerNotice);

  if (!('geolocation' in navigator)) locate.hidden = true;
  locate.addEventListener('click', () => {
    say(locateNotice, t('sites.locating'));
    locate.disabled = true;
    navigator.geolocation.getCurrentPosition((position) => {
      locate.disabled = false;
      latitude.value = position.coords.latitude.toFixed(6);
      longitude.value = position.coords.longitude.toFixed(6);
      say(locateNotice, t('sites.located', { metres: formatNumber(Math.round(position.coords.accuracy)) }));
    }, (failure) => {
      locate.disabled = false;
      const reason = { 1: 'denied', 2: 'unavailable', 3: 'timeout' }[failure.code] || 'unavailable';
      say(locateNotice, t(`sites.locationError.${reason}`));
    }, { enableHighAccuracy: true, timeout: 30000, maximumAge: 60000 });
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    say(registerNotice, '');
    const body = {
      cooperative_id: org,
      name: name.value,
      geometry: { type: 'Point', coordinates: [decimal(longitude.value), decimal(latitude.value)] },
      minerals: mineralBoxes.filter((box) => box.checked).map((box) => box.value),
      method: method.value || null,
    };
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const result = await outbox.submit({ path: `${REGISTRY}/sites`, body, kind: 'site', label: body.name });
      form.reset();
      say(locateNotice, '');
      if (result.queued) {
        say(registerNotice, t('outbox.queuedNotice'));
      } else {
        say(registerNotice, t('sites.registered', { name: result.data.name }));
        await showList(result.data.id);
      }
      waiting.render();
    } catch (error) {
      showError(form, error);
    } finally {
      submit.disabled = false;
    }
  });

  const list = h('ul', { class: 'cards' });
  const total = h('p', { class: 'muted' });
  const listNotice = notice();

  async function showList(openId) {
    try {
      const sites = await getAll(`${REGISTRY}/sites?cooperative_id=${encodeURIComponent(org)}`);
      list.replaceChildren(...sites.map((site) => siteCard(site, site.id === openId)));
      total.textContent = tn('sites.count', sites.length);
      say(listNotice, '');
    } catch (error) {
      say(listNotice, errorMessage(error));
    }
  }

  function siteCard(site, open) {
    const [lon, lat] = centreOf(site.geometry) || [];
    const coordinate = (value) => formatNumber(value, { maximumFractionDigits: 5, minimumFractionDigits: 5 });
    const distance = site.forest_distance_km === null ? t('sites.noForestLayer') : formatKm(site.forest_distance_km);
    const mapArea = h('div', { class: 'map-area', id: uid('map') });
    // The name opens the drawing (a disclosure button in the heading): maps are loaded only when asked for.
    const hint = h('span', { class: 'toggle-hint', text: t('sites.showMap') });
    const toggle = h('button', { type: 'button', class: 'disclosure', 'aria-expanded': 'false',
      'aria-controls': mapArea.id }, h('span', { class: 'site-name', text: site.name }), ' ', hint);
    toggle.addEventListener('click', () => {
      const opening = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', String(opening));
      hint.textContent = t(opening ? 'sites.hideMap' : 'sites.showMap');
      if (opening) drawMap(site, mapArea);
      else mapArea.replaceChildren();
    });
    const card = h('li', { class: 'card site', 'data-id': site.id },
      h('h3', {}, toggle),
      facts([
        ['sites.forestDistance', distance],
        ['sites.forestSmart', t(site.forest_smart_applicable ? 'common.yes' : 'common.no')],
        ['sites.method', label('method', site.method)],
        ['sites.minerals', site.minerals.map((m) => label('mineral', m)).join(', ')],
        ['sites.coordinates', lat === undefined ? '' : `${coordinate(lat)}, ${coordinate(lon)}`],
        ['sites.status', label('siteStatus', site.status)],
      ]),
      mapArea);
    if (open) toggle.click();
    return card;
  }

  async function drawMap(site, area) {
    area.replaceChildren(h('p', { class: 'muted', text: t('common.loading') }));
    try {
      const forest = await get(`${REGISTRY}/sites/${encodeURIComponent(site.id)}/nearby-forest?radius_km=${NEARBY_RADIUS_KM}`);
      area.replaceChildren(siteMap(site, forest, NEARBY_RADIUS_KM));
    } catch (error) {
      area.replaceChildren(h('p', { class: 'muted', text: errorMessage(error) }));
    }
  }

  view.append(
    heading('sites.title'),
    waiting.element,
    section('sites.registerTitle', form),
    section('sites.listTitle', total, listNotice, list),
  );
  const unsubscribe = outbox.subscribe((event) => {
    waiting.render();
    if (event.type === 'sent' && event.item.kind === 'site') showList(event.data?.id);
  });
  await showList();
  return unsubscribe;
}
