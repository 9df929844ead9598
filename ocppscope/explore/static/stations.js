// The stations page: the list from /api/stations, filtered by id and rule, refreshed every few
// seconds; the filter lives in the URL so that a filtered list can be shared.

import { html } from "/static/dom.js";
import { utcDateTime } from "/static/format.js";

const REFRESH_MS = 5000;
const form = document.getElementById("filter");
const body = document.querySelector("#stations tbody");

function filter() {
  const params = new URLSearchParams(location.search);
  for (const name of ["match", "rule"]) {
    form.elements[name].value = params.get(name) ?? "";
  }
  return params;
}

function row(station) {
  const link = html("a", { href: `/stations/${encodeURIComponent(station.id)}` }, station.id);
  const count = (severity, value) =>
    html("td", { class: "num count", "data-severity": severity, "data-zero": value === 0 }, value);
  return html(
    "tr",
    { "data-station": station.id },
    html("td", {}, link),
    html("td", {}, station.protocol ?? "—"),
    html(
      "td",
      { class: "state", "data-connected": String(station.connected) },
      station.connected ? "connected" : "not connected",
    ),
    html("td", {}, utcDateTime(station.lastSeen)),
    count("error", station.errors),
    count("warning", station.warnings),
  );
}

async function refresh() {
  const params = filter();
  const answer = await fetch(`/api/stations?${params}`);
  if (!answer.ok) return;
  const stations = await answer.json();
  body.replaceChildren(...stations.map(row));
  document.getElementById("empty").hidden = stations.length > 0;
  document.getElementById("count").textContent =
    `${stations.length} station${stations.length === 1 ? "" : "s"}`;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const name of ["match", "rule"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  history.replaceState(null, "", params.size ? `?${params}` : location.pathname);
  refresh();
});

refresh();
setInterval(refresh, REFRESH_MS);
