// A site and the forest around it as an inline SVG: an equirectangular projection in kilometres around the site,
// so the drawing needs no tiles and the scale bar is exact enough at this size.

import { h, s } from './dom.js';
import { formatNumber, t, tn } from './i18n.js';

const KM_PER_DEGREE_LAT = 110.574;
const KM_PER_DEGREE_LON_AT_EQUATOR = 111.320;

/** The point a site is drawn around: its Point, or the mean of its outer ring's vertices. */
export function centreOf(geometry) {
  if (!geometry) return null;
  if (geometry.type === 'Point') return geometry.coordinates;
  if (geometry.type === 'Polygon') {
    const ring = geometry.coordinates[0].slice(0, -1);
    const sum = ring.reduce(([x, y], [lon, lat]) => [x + lon, y + lat], [0, 0]);
    return [sum[0] / ring.length, sum[1] / ring.length];
  }
  return null;
}

function projector([lon0, lat0]) {
  const kx = KM_PER_DEGREE_LON_AT_EQUATOR * Math.cos((lat0 * Math.PI) / 180);
  return ([lon, lat]) => [(lon - lon0) * kx, (lat0 - lat) * KM_PER_DEGREE_LAT];
}

function ringsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

function pathOf(rings, project) {
  return rings.map((ring) => `M${ring.map((p) => project(p).map((v) => v.toFixed(3)).join(' ')).join('L')}Z`).join('');
}

/** The drawing, with a text alternative naming the site and the number of forest areas. */
export function siteMap(site, forest, radiusKm) {
  const centre = centreOf(site.geometry);
  const project = projector(centre);
  const features = forest?.features || [];
  const r = radiusKm;
  const scaleKm = r >= 10 ? 5 : 1;
  const svg = s('svg', {
    viewBox: `${-r} ${-r} ${2 * r} ${2 * r}`, class: 'map', role: 'img',
    'aria-label': tn('sites.mapLabel', features.length, { name: site.name, radius: formatNumber(r) }),
  },
  s('rect', { x: -r, y: -r, width: 2 * r, height: 2 * r, class: 'map-ground' }),
  features.map((feature) => s('path', { d: pathOf(ringsOf(feature.geometry), project), class: 'map-forest' })),
  site.geometry.type === 'Polygon'
    ? s('path', { d: pathOf(site.geometry.coordinates, project), class: 'map-site-area' })
    : null,
  s('circle', { cx: 0, cy: 0, r: r / 22, class: 'map-site' }),
  s('g', { class: 'map-scale' },
    s('path', { d: `M${-r * 0.9} ${r * 0.86}h${scaleKm}`, class: 'map-scale-bar' }),
    s('text', { x: -r * 0.9, y: r * 0.8, 'font-size': r / 11 }, t('unit.kmValue', { value: formatNumber(scaleKm) }))),
  s('text', { x: r * 0.88, y: -r * 0.82, 'font-size': r / 10, class: 'map-north', 'text-anchor': 'middle' }, t('sites.north')));
  const legend = h('p', { class: 'legend' },
    h('span', { class: 'swatch site' }), t('sites.legendSite'), ' ',
    h('span', { class: 'swatch forest' }), t('sites.legendForest'));
  const truncated = forest?.truncated ? h('p', { class: 'muted', text: t('sites.forestTruncated') }) : null;
  return h('figure', { class: 'map-figure' }, svg, legend, truncated);
}
