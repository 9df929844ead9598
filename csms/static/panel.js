// The side panel (totals, sites table) and the hover card. Rebuilt from the charger list on
// every update: a few dozen rows, cheaper to redo than to diff.

import { html } from "./dom.js";
import { ago, clock, groupSites, kw, kwh, STATE_LABEL, stateOf, summarize } from "./fleet.js";

export function renderTotals(element, chargers) {
  const totals = summarize(chargers);
  const capacity = chargers.reduce((sum, c) => sum + (c.max_power_kw ?? 0), 0);
  element.replaceChildren(
    tile("online", totals.online, `/ ${totals.chargers}`, "chargers online"),
    tile("charging", totals.charging, null, "charging now"),
    tile("kw", totals.kw.toFixed(1), "kW", `of ${Math.round(capacity).toLocaleString()} kW capacity`),
    tile("faulted", totals.faulted, null, "faulted"),
  );
  element.dataset.faulted = totals.faulted > 0 ? "yes" : "no";
}

function tile(name, value, unit, label) {
  return html(
    "div",
    { class: "tile", "data-total": name },
    html("span", { class: "value" }, String(value)),
    unit && html("span", { class: "unit" }, ` ${unit}`),
    html("span", { class: "label" }, label),
  );
}

export function renderSites(table, chargers) {
  const rows = groupSites(chargers).map((site) => {
    const totals = summarize(site.chargers);
    return html(
      "tr",
      { "data-site": site.name },
      html("th", { scope: "row" }, site.name),
      html("td", null, String(totals.chargers)),
      html("td", { class: totals.online ? "good" : "dim" }, String(totals.online)),
      html("td", null, String(totals.charging)),
      html("td", { class: totals.faulted ? "bad" : "dim" }, String(totals.faulted)),
      html("td", { class: "kw" }, totals.kw.toFixed(1)),
    );
  });
  const all = summarize(chargers);
  table.tBodies[0].replaceChildren(...rows);
  table.tFoot.replaceChildren(
    html(
      "tr",
      null,
      html("th", { scope: "row" }, "Fleet"),
      html("td", null, String(all.chargers)),
      html("td", null, String(all.online)),
      html("td", null, String(all.charging)),
      html("td", null, String(all.faulted)),
      html("td", { class: "kw" }, all.kw.toFixed(1)),
    ),
  );
}

// ---- hover card -------------------------------------------------------------------------------

export function fillCard(card, charger, now) {
  const state = stateOf(charger);
  const rows = [
    ["Status", [charger.status, charger.connector_status].filter(Boolean).join(" · ")],
    ["Power", kw(charger.power_kw)],
  ];
  if (charger.transaction_id || charger.energy_kwh != null) {
    rows.push(["Session", kwh(charger.energy_kwh)]);
    if (charger.transaction_id) rows.push(["Transaction", charger.transaction_id]);
  }
  rows.push(["OCPP", charger.ocpp_version ? charger.ocpp_version.replace(/^ocpp/, "") : "never connected"]);
  rows.push(["Heartbeat", ago(charger.last_heartbeat, now)]);
  rows.push(["Max power", charger.max_power_kw == null ? "unknown" : kw(charger.max_power_kw)]);
  card.dataset.state = state;
  card.dataset.for = charger.id;
  card.replaceChildren(
    html(
      "div",
      { class: "card-head" },
      html("strong", null, charger.id),
      html("span", { class: "badge", "data-state": state }, STATE_LABEL[state]),
    ),
    html("div", { class: "card-site" }, charger.site ?? "no site"),
    html("dl", null, rows.map(([term, value]) => [html("dt", null, term), html("dd", null, value)])),
  );
}

// Below the site's callout, or above it, so the card never hides the site's other chargers;
// beside the callout when neither fits (a small window). Always inside the map pane.
export function placeCard(card, dot, pane) {
  const box = pane.getBoundingClientRect();
  const target = dot.getBoundingClientRect();
  const callout = (dot.closest(".site")?.querySelector(".card") ?? dot).getBoundingClientRect();
  const gap = 12;
  const margin = 8;
  const width = card.offsetWidth;
  const height = card.offsetHeight;
  let left = target.left + target.width / 2 - width / 2 - box.left;
  let top = callout.bottom - box.top + gap;
  if (top + height > box.height - margin) top = callout.top - box.top - gap - height;
  if (top < margin) {
    top = target.top + target.height / 2 - height / 2 - box.top;
    left = callout.right - box.left + gap;
    if (left + width > box.width - margin) left = callout.left - box.left - gap - width;
  }
  card.style.left = `${clamp(left, margin, box.width - width - margin)}px`;
  card.style.top = `${clamp(top, margin, box.height - height - margin)}px`;
}

const clamp = (value, low, high) => Math.max(low, Math.min(value, Math.max(low, high)));

// ---- recent changes ---------------------------------------------------------------------------

// Newest first; the panel clips what does not fit, so a tall screen simply shows more.
export function renderChanges(list, changes) {
  list.replaceChildren(
    ...changes.map((change) =>
      html(
        "li",
        { "data-state": change.to },
        html("time", null, clock(change.at)),
        html("span", { class: "who" }, change.id),
        html("span", { class: "what" }, `${STATE_LABEL[change.from]} → ${STATE_LABEL[change.to]}`),
      ),
    ),
  );
  list.dataset.empty = changes.length ? "no" : "yes";
}
