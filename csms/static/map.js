// The SVG map: Jeju drawn once from jeju.js, then one callout per site with a dot per charger.
// Drawing only; main.js decides when to draw and wires the hover card to the dots.

import { svg } from "./dom.js";
import { groupSites, kw, shortLabel, STATE_LABEL, stateOf, summarize } from "./fleet.js";
import {
  CARD,
  DOT,
  UNITS_PER_KM,
  dotPositions,
  edgePoint,
  layoutSites,
  projection,
  smoothPath,
} from "./geo.js";
import { BOUNDS, CALLOUTS, COAST, HALLASAN, ISLETS, PLACES } from "./jeju.js";

const map = projection(BOUNDS);
const at = ([lon, lat]) => map.point(lon, lat);
const summit = map.point(HALLASAN.lon, HALLASAN.lat);

export function drawBase(root) {
  root.setAttribute("viewBox", `0 0 ${map.width.toFixed(0)} ${map.height.toFixed(0)}`);
  root.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const coast = COAST.map(at);
  root.append(
    svg(
      "defs",
      null,
      svg(
        "radialGradient",
        { id: "land", gradientUnits: "userSpaceOnUse", cx: summit.x, cy: summit.y, r: 420 },
        svg("stop", { offset: "0", "stop-color": "#2f4a3c" }),
        svg("stop", { offset: "1", "stop-color": "#1b2b26" }),
      ),
    ),
    graticule(),
    svg("path", { class: "coast-glow", d: smoothPath(coast) }),
    svg("path", { class: "land", d: smoothPath(coast), fill: "url(#land)" }),
    // Rings of the coast shrunk towards the summit: a hint of the volcano's slopes, not contours.
    ...[0.75, 0.5, 0.28].map((scale) =>
      svg("path", {
        class: "slope",
        d: smoothPath(
          coast.map((p) => ({
            x: summit.x + (p.x - summit.x) * scale,
            y: summit.y + (p.y - summit.y) * scale,
          })),
        ),
      }),
    ),
    ...ISLETS.map((islet) => svg("path", { class: "land islet", d: smoothPath(islet.ring.map(at)) })),
    ...PLACES.map((place) => {
      const p = map.point(place.lon, place.lat);
      return svg("text", { class: "place", x: p.x, y: p.y, "text-anchor": "middle" }, place.name);
    }),
    svg(
      "g",
      { class: "summit", transform: `translate(${summit.x} ${summit.y})` },
      svg("path", { d: "M0,-9 L8,5 L-8,5 Z" }),
      svg("text", { y: 22, "text-anchor": "middle" }, HALLASAN.name),
      svg("text", { class: "elevation", y: 36, "text-anchor": "middle" }, HALLASAN.elevation),
    ),
    scaleBar(),
    northArrow(),
    svg("g", { id: "sites-layer" }),
  );
  return root.querySelector("#sites-layer");
}

// Faint lines every 0.1 degree, labelled on the map's left and top edges.
function graticule() {
  const group = svg("g", { class: "graticule" });
  for (let lat = Math.ceil(BOUNDS.south * 10) / 10; lat < BOUNDS.north; lat += 0.1) {
    const { y } = map.point(BOUNDS.west, lat);
    group.append(
      svg("line", { x1: 0, x2: map.width, y1: y, y2: y }),
      svg("text", { x: 6, y: y - 4 }, `${lat.toFixed(1)}°N`),
    );
  }
  for (let lon = Math.ceil(BOUNDS.west * 10) / 10; lon < BOUNDS.east; lon += 0.1) {
    const { x } = map.point(lon, BOUNDS.north);
    group.append(
      svg("line", { x1: x, x2: x, y1: 0, y2: map.height }),
      svg("text", { x: x + 4, y: 14 }, `${lon.toFixed(1)}°E`),
    );
  }
  return group;
}

function scaleBar() {
  const length = 10 * UNITS_PER_KM;
  const x = map.width - 130; // the open sea south-east of Pyoseon
  const y = map.height - 24;
  return svg(
    "g",
    { class: "scale", transform: `translate(${x} ${y})` },
    svg("rect", { width: length / 2, height: 5 }),
    svg("rect", { class: "hollow", x: length / 2, width: length / 2, height: 5 }),
    svg("text", { y: -6 }, "0"),
    svg("text", { x: length, y: -6, "text-anchor": "middle" }, "10 km"),
  );
}

function northArrow() {
  return svg(
    "g",
    { class: "north", transform: `translate(${map.width - 34} 46)` },
    svg("path", { d: "M0,-20 L9,8 L0,2 L-9,8 Z" }),
    svg("text", { y: 26, "text-anchor": "middle" }, "N"),
  );
}

// One callout per site: anchor at the site's real position, leader line, card of dots.
// Returns the dot of each charger id and the summary line of each site, for paint().
export function drawSites(layer, chargers, wireDot) {
  const sites = groupSites(chargers).map((site) => ({
    ...site,
    anchor: site.position ? map.point(site.position.lon, site.position.lat) : null,
  }));
  layoutSites(sites, map, CALLOUTS, summit);
  const dots = new Map();
  const summaries = new Map();
  layer.replaceChildren();
  for (const site of sites) {
    const { card } = site;
    const group = svg("g", { class: "site", "data-site": site.name });
    if (site.anchor) {
      const end = edgePoint(card, site.anchor);
      group.append(
        svg("line", { class: "leader", x1: site.anchor.x, y1: site.anchor.y, x2: end.x, y2: end.y }),
        svg("circle", { class: "anchor-ring", cx: site.anchor.x, cy: site.anchor.y, r: 7 }),
        svg("circle", { class: "anchor", cx: site.anchor.x, cy: site.anchor.y, r: 3 }),
      );
    }
    const summary = svg("text", { class: "site-summary", x: card.x + CARD.padding, y: card.y + 38 });
    summaries.set(site.name, { element: summary, chargers: site.chargers.map((c) => c.id) });
    group.append(
      svg("rect", { class: "card", x: card.x, y: card.y, width: card.w, height: card.h, rx: 8 }),
      svg("text", { class: "site-name", x: card.x + CARD.padding, y: card.y + 20 }, site.name),
      summary,
    );
    const positions = dotPositions(card, site.count);
    site.chargers.forEach((charger, index) => {
      const { x, y } = positions[index];
      // The animated halo sits beside the dot, not in it, so the dot's box stays still
      // (something to point at: tests, and anyone with a shaky mouse).
      const dot = svg(
        "g",
        { class: "charger", "data-charger-id": charger.id, tabindex: 0, role: "button" },
        svg("circle", { class: "dot", r: DOT.radius }),
        svg("text", { class: "num", y: 3.5, "text-anchor": "middle" }, shortLabel(charger.id, index)),
      );
      group.append(
        svg(
          "g",
          { class: "slot", transform: `translate(${x} ${y})` },
          svg("circle", { class: "halo", r: DOT.radius }),
          dot,
        ),
      );
      wireDot(dot, charger.id);
      dots.set(charger.id, dot);
    });
    layer.append(group);
  }
  return { dots, summaries };
}

// Colours come from CSS by data-state; this only sets the attributes and the site summaries.
export function paint(drawn, chargers) {
  const byId = new Map(chargers.map((c) => [c.id, c]));
  for (const [id, dot] of drawn.dots) {
    const charger = byId.get(id);
    if (!charger) continue;
    const state = stateOf(charger);
    dot.dataset.state = state;
    dot.dataset.connector = charger.connector_status ?? "none";
    dot.dataset.ocpp = charger.ocpp_version ?? "none";
    const version = charger.ocpp_version ? `, ${charger.ocpp_version}` : "";
    dot.setAttribute("aria-label", `${id}: ${STATE_LABEL[state]}, ${kw(charger.power_kw)}${version}`);
  }
  for (const { element, chargers: ids } of drawn.summaries.values()) {
    const totals = summarize(ids.map((id) => byId.get(id)).filter(Boolean));
    element.textContent = `${totals.online}/${totals.chargers} online · ${kw(totals.kw)}`;
  }
}
