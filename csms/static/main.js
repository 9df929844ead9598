// The dashboard's wiring: fleet data in (one fetch, then the /events stream), map, panel and
// hover card out, and a clock. Everything is redrawn from the latest charger list.

import { clock, layoutKey, stateOf } from "./fleet.js";
import { drawBase, drawSites, paint } from "./map.js";
import { fillCard, placeCard, renderChanges, renderSites, renderTotals } from "./panel.js";

const pane = document.getElementById("map-pane");
const card = document.getElementById("hover-card");
const live = document.getElementById("live");
const sitesLayer = drawBase(document.getElementById("map"));

const view = {
  chargers: [],
  layout: null, // layoutKey() of what is drawn
  drawn: { dots: new Map(), summaries: new Map() },
  shown: null, // id of the charger on the card
  pinned: false, // opened by click/tap: stays until clicked again or Escape
  streamed: false, // an /events update arrived, so the first fetch's answer is older
  changes: [], // state changes seen since the page opened, newest first
};

const MAX_CHANGES = 40;

function update(chargers) {
  noteChanges(view.chargers, chargers);
  view.chargers = chargers;
  const key = layoutKey(chargers);
  if (key !== view.layout) {
    view.drawn = drawSites(sitesLayer, chargers, wireDot);
    view.layout = key;
  }
  paint(view.drawn, chargers);
  renderTotals(document.getElementById("totals"), chargers);
  renderSites(document.getElementById("sites"), chargers);
  document.getElementById("updated").textContent = clock(new Date());
  refreshCard();
}

// What changed state between two pictures of the fleet: the operator's "what just happened".
function noteChanges(before, after) {
  if (!before.length) return; // the first picture is the baseline, not news
  const previous = new Map(before.map((c) => [c.id, stateOf(c)]));
  const at = new Date();
  for (const charger of after) {
    const from = previous.get(charger.id);
    const to = stateOf(charger);
    if (from && from !== to) view.changes.unshift({ at, id: charger.id, from, to });
  }
  view.changes.length = Math.min(view.changes.length, MAX_CHANGES);
  renderChanges(document.getElementById("changes"), view.changes);
}

// ---- hover card: pointer, keyboard focus, or a tap that pins it --------------------------------

function wireDot(dot, id) {
  dot.addEventListener("pointerenter", () => view.pinned || showCard(id));
  dot.addEventListener("pointerleave", () => view.pinned || hideCard());
  dot.addEventListener("focus", () => showCard(id));
  dot.addEventListener("blur", () => view.pinned || hideCard());
  dot.addEventListener("click", (event) => {
    event.stopPropagation();
    view.pinned = !(view.pinned && view.shown === id);
    if (view.pinned) showCard(id);
    else hideCard();
  });
}

function showCard(id) {
  view.shown = id;
  refreshCard();
}

function hideCard() {
  view.shown = null;
  view.pinned = false;
  card.hidden = true;
}

function refreshCard() {
  const charger = view.chargers.find((c) => c.id === view.shown);
  const dot = view.drawn.dots.get(view.shown);
  if (!charger || !dot) {
    card.hidden = true;
    return;
  }
  fillCard(card, charger, new Date());
  card.hidden = false;
  placeCard(card, dot, pane);
}

document.addEventListener("click", () => view.pinned && hideCard());
document.addEventListener("keydown", (event) => event.key === "Escape" && hideCard());
window.addEventListener("resize", refreshCard);

// ---- data --------------------------------------------------------------------------------------

function setLive(state) {
  live.dataset.state = state;
  live.querySelector(".text").textContent = state === "live" ? "Live" : "Reconnecting…";
  // While the stream is down the map may be stale: dim it rather than show old news as current.
  document.body.classList.toggle("stale", state !== "live");
}

// EventSource reconnects by itself after a dropped stream; it gives up only when the server
// answers with an error or the wrong type (readyState CLOSED), so retry that by hand.
function listen() {
  const source = new EventSource("/events");
  source.addEventListener("open", () => setLive("live"));
  source.addEventListener("fleet", (event) => {
    view.streamed = true;
    setLive("live");
    update(JSON.parse(event.data));
  });
  source.addEventListener("error", () => {
    setLive("reconnecting");
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(listen, 5000);
    }
  });
}

// The first picture comes from GET /chargers so the map is not empty while the stream opens.
fetch("/chargers", { headers: { Accept: "application/json" } })
  .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
  .then((chargers) => view.streamed || update(chargers))
  .catch(() => {}); // the stream brings the same data; its indicator shows any trouble

setLive("reconnecting");
listen();

function tick() {
  const now = new Date();
  document.getElementById("clock").textContent = clock(now);
  document.getElementById("date").textContent = now.toLocaleDateString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
  });
  if (view.shown) refreshCard(); // "n s ago" keeps counting
}
tick();
setInterval(tick, 1000);
