// Projection and layout: turns longitude/latitude into SVG units and decides where each site's
// callout of charger dots goes. No DOM here, so it stays easy to reason about.

const KM_PER_DEGREE_LAT = 110.57;
const KM_PER_DEGREE_LON_AT_EQUATOR = 111.32;
export const UNITS_PER_KM = 10; // one SVG unit is 100 m

// Equirectangular projection scaled by cos(latitude) at the map's middle: over an island
// 40 km tall the distortion is well under 1 %, and distances read true on the scale bar.
export function projection(bounds) {
  const midLat = ((bounds.north + bounds.south) / 2) * (Math.PI / 180);
  const kx = KM_PER_DEGREE_LON_AT_EQUATOR * Math.cos(midLat) * UNITS_PER_KM;
  const ky = KM_PER_DEGREE_LAT * UNITS_PER_KM;
  return {
    width: (bounds.east - bounds.west) * kx,
    height: (bounds.north - bounds.south) * ky,
    point: (lon, lat) => ({ x: (lon - bounds.west) * kx, y: (bounds.north - lat) * ky }),
  };
}

// A closed, smoothed path through the ring's points: quadratic curves between edge midpoints
// with the traced points as control points, so the hand-traced coast has no hard corners.
export function smoothPath(points) {
  const mid = (a, b) => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
  const n = points.length;
  const start = mid(points[n - 1], points[0]);
  let d = `M${f(start.x)},${f(start.y)}`;
  for (let i = 0; i < n; i++) {
    const end = mid(points[i], points[(i + 1) % n]);
    d += `Q${f(points[i].x)},${f(points[i].y)} ${f(end.x)},${f(end.y)}`;
  }
  return `${d}Z`;
}

const f = (value) => value.toFixed(1);

// ---- site callouts ----------------------------------------------------------------------------

export const DOT = { radius: 9, pitch: 24, columns: 6 };
// The title holds two lines: the site's name and its summary.
export const CARD = { padding: 12, title: 44, gap: 14, minWidth: 176 };

// Wide enough for its dots, its summary line ("12/12 online · 1200.0 kW") and its name, whose
// width is estimated (about 8.8 units a character at the title's size): the layout comes
// before any text is drawn and so cannot measure it.
export function cardSize(count, name = "") {
  const columns = Math.max(1, Math.min(DOT.columns, count));
  const rows = Math.max(1, Math.ceil(count / DOT.columns));
  const dots = CARD.padding * 2 + (columns - 1) * DOT.pitch + DOT.radius * 2;
  return {
    w: Math.max(CARD.minWidth, dots, CARD.padding * 2 + name.length * 8.8),
    h: CARD.title + CARD.padding + (rows - 1) * DOT.pitch + DOT.radius * 2,
  };
}

// Centres of the dots inside a card whose top-left corner is (x, y), in reading order.
export function dotPositions(card, count) {
  const x0 = card.x + CARD.padding + DOT.radius;
  const y0 = card.y + CARD.title + DOT.radius;
  return Array.from({ length: count }, (_, i) => ({
    x: x0 + (i % DOT.columns) * DOT.pitch,
    y: y0 + Math.floor(i / DOT.columns) * DOT.pitch,
  }));
}

const overlaps = (a, b) =>
  a.x < b.x + b.w + CARD.gap && b.x < a.x + a.w + CARD.gap &&
  a.y < b.y + b.h + CARD.gap && b.y < a.y + a.h + CARD.gap;

// Places one card per site, trying in turn: the site's hint (km east/north of the site) or else
// straight out from the island's centre, then that direction turned by 45° steps, then all of
// it further out. A place is taken when the card, kept inside the map, neither covers its own
// site nor comes near a card already placed. Sites without coordinates stack in the south-east
// corner, above the scale bar.
export function layoutSites(sites, map, hints, centre) {
  const placed = [];
  let corner = map.height - 48;
  for (const site of sites) {
    const size = cardSize(site.count, site.name);
    let card;
    if (site.anchor) {
      const free = (candidate) =>
        !covers(candidate, site.anchor) && !placed.some((other) => overlaps(candidate, other));
      const tries = candidates(site.anchor, preferredOffset(site, hints, centre), size, map);
      card = tries.find(free) ?? tries[0];
    } else {
      corner -= size.h;
      card = { x: map.width - size.w - 10, y: corner, ...size };
      corner -= CARD.gap;
    }
    placed.push(card);
    site.card = card;
  }
  return sites;
}

function preferredOffset(site, hints, centre) {
  const hint = hints[site.name];
  if (hint) return { dx: hint.east * UNITS_PER_KM, dy: -hint.north * UNITS_PER_KM };
  const vx = site.anchor.x - centre.x;
  const vy = site.anchor.y - centre.y;
  const length = Math.hypot(vx, vy) || 1;
  return { dx: (vx / length) * 100, dy: (vy / length) * 100 };
}

const TURNS = [0, 45, -45, 90, -90, 135, -135, 180].map((degrees) => (degrees * Math.PI) / 180);

function candidates(anchor, { dx, dy }, size, map) {
  const tries = [];
  for (const scale of [1, 1.4, 1.8]) {
    for (const turn of TURNS) {
      const ox = (dx * Math.cos(turn) - dy * Math.sin(turn)) * scale;
      const oy = (dx * Math.sin(turn) + dy * Math.cos(turn)) * scale;
      const at = { x: anchor.x + ox - size.w / 2, y: anchor.y + oy - size.h / 2, ...size };
      tries.push(clamp(at, map));
    }
  }
  return tries;
}

const covers = (card, point) =>
  point.x > card.x - CARD.gap && point.x < card.x + card.w + CARD.gap &&
  point.y > card.y - CARD.gap && point.y < card.y + card.h + CARD.gap;

function clamp(card, map) {
  return {
    ...card,
    x: Math.min(Math.max(card.x, 4), map.width - card.w - 4),
    y: Math.min(Math.max(card.y, 4), map.height - card.h - 4),
  };
}

// Where the leader line from a site meets its card: the nearest point of the card's edge.
export function edgePoint(card, from) {
  return {
    x: Math.min(Math.max(from.x, card.x), card.x + card.w),
    y: Math.min(Math.max(from.y, card.y), card.y + card.h),
  };
}
