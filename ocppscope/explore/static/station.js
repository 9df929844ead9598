// One station's conversation: its connections, and the ladder of its frames (the newest page
// first, earlier pages on demand), kept up to date from /live; a frame's JSON beside it.
// Keyboard: the rungs are focusable; arrow keys move, Home/End jump, Enter opens a frame.

import { html } from "/static/dom.js";
import { milliseconds, seconds, utcDateTime, utcTime } from "/static/format.js";

const station = decodeURIComponent(location.pathname.split("/").pop());
const query = new URLSearchParams(location.search);
const range = new URLSearchParams();
for (const name of ["from", "to"]) {
  if (query.get(name)) range.set(name, query.get(name));
}
const api = `/api/stations/${encodeURIComponent(station)}`;

const ladder = document.getElementById("ladder");
const detail = document.getElementById("detail");
const earlierButton = document.getElementById("earlier");
const rungs = new Map(); // key -> { data, element }
let earlier = null;
let selected = null;
let current = null; // the one rung Tab reaches (a roving tabindex): arrows move from there

document.title = `${station} · ocppscope explore`;
document.getElementById("title").textContent = station;

// ---- the range and the exports ----------------------------------------------------------------

const rangeForm = document.getElementById("range");
for (const name of ["from", "to"]) {
  rangeForm.elements[name].value = (query.get(name) ?? "").replace(/Z$/, "");
}
rangeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const name of ["from", "to"]) {
    const value = rangeForm.elements[name].value;
    if (value) params.set(name, `${value}Z`);
  }
  location.search = params.size ? `?${params}` : "";
});
for (const format of ["capture", "json", "junit"]) {
  const params = new URLSearchParams(range);
  params.set("format", format);
  document.getElementById(`export-${format}`).href = `${api}/export?${params}`;
}

// ---- connections ------------------------------------------------------------------------------

function showConnections(events) {
  const rows = events.map((event) =>
    html(
      "tr",
      { "data-event": event.event },
      html("td", {}, utcDateTime(event.at)),
      html("td", {}, event.event === "refused" ? `refused (HTTP ${event.httpStatus ?? "?"})` : event.event),
      html("td", { class: "mono" }, event.connection ?? "—"),
      html("td", {}, event.subprotocol ?? ""),
      html("td", { class: "num" }, event.event === "close" ? (event.code ?? "lost") : ""),
      html("td", {}, event.closedBy ?? ""),
      html("td", { class: "num", title: "since the previous close or refusal" },
        event.waitS === null ? "" : seconds(event.waitS)),
    ),
  );
  document.querySelector("#connections tbody").replaceChildren(...rows);
}

// ---- the ladder -------------------------------------------------------------------------------

function note(kind, severity, ...parts) {
  return html(
    "li",
    { class: "note", "data-kind": kind },
    html("span", { class: "sev", "data-severity": severity }, severity),
    ...parts,
  );
}

function notes(rung) {
  const items = [
    ...rung.findings.map((finding) =>
      note(
        "finding",
        finding.severity,
        html("span", { class: "rule" }, finding.rule),
        finding.message,
        html("span", { class: "ref" }, `(${finding.reference})`),
      ),
    ),
    ...rung.faults.map((fault) =>
      note("fault", "fault", html("span", { class: "rule" }, `fault ${fault.fault} ${fault.kind}`), `${fault.event}: ${fault.detail}`),
    ),
  ];
  return items.length ? html("ul", { class: "notes" }, items) : null;
}

function label(rung) {
  if (!rung.type) {
    const what = rung.findings.length ? "finding of no frame shown" : "fault event";
    return html("span", { class: "label" }, what);
  }
  const status = rung.status !== "sent" ? html("span", { class: "sev status", "data-severity": "fault" }, rung.status) : null;
  return html(
    "span",
    { class: "label" },
    html("span", { class: "type" }, rung.type),
    rung.action ?? "",
    html("span", { class: "mid mono", title: "MessageId" }, rung.messageId ? `#${rung.messageId}` : ""),
    rung.rttMs !== null && rung.rttMs !== undefined
      ? html("span", { class: "rtt", title: "round-trip time since the CALL" }, milliseconds(rung.rttMs))
      : null,
    status,
  );
}

function rungElement(rung) {
  const element = html(
    "li",
    {
      class: rung.type ? "rung" : "rung loose",
      tabindex: rung.key === current ? "0" : "-1",
      "data-key": rung.key,
      "data-direction": rung.direction ?? "",
      "data-type": rung.type ?? "",
      "data-status": rung.status ?? "",
      "aria-selected": rung.key === selected ? "true" : "false",
    },
    html("time", { datetime: new Date(rung.at * 1000).toISOString(), title: utcDateTime(rung.at) }, utcTime(rung.at)),
    html("div", { class: "arrow" }, label(rung)),
    notes(rung),
  );
  element.addEventListener("click", () => open(rung.key));
  return element;
}

function place(rung) {
  // Upsert by key, in time order: live rungs mostly go at the end, a late one in its place; a
  // rung the page has as it is stays untouched (the stream sends its window again on connecting).
  const known = rungs.get(rung.key);
  if (known && JSON.stringify(known.data) === JSON.stringify(rung)) return;
  const element = rungElement(rung);
  if (known) {
    const focused = known.element === document.activeElement;
    known.element.replaceWith(element);
    if (focused) element.focus();
  } else {
    let after = ladder.lastElementChild;
    while (after && rungs.get(after.dataset.key).data.at > rung.at) {
      after = after.previousElementSibling;
    }
    if (after) after.after(element);
    else ladder.prepend(element);
  }
  rungs.set(rung.key, { data: rung, element });
}

function prepend(page) {
  const first = ladder.firstElementChild;
  for (const rung of page) {
    if (rungs.has(rung.key)) continue;
    const element = rungElement(rung);
    ladder.insertBefore(element, first);
    rungs.set(rung.key, { data: rung, element });
  }
}

function atBottom(scroller) {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
}

// ---- the selected frame -----------------------------------------------------------------------

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null; // not JSON: the raw text is all there is
  }
}

async function open(key) {
  const entry = rungs.get(key);
  if (!entry) return;
  for (const element of ladder.querySelectorAll('[aria-selected="true"]')) {
    element.setAttribute("aria-selected", "false");
  }
  selected = key;
  entry.element.setAttribute("aria-selected", "true");
  history.replaceState(null, "", `#${key}`);
  const rung = entry.data;
  if (!rung.type) {
    detail.replaceChildren(html("h2", {}, "No frame"), notes(rung));
    return;
  }
  const answer = await fetch(`${api}/frames/${encodeURIComponent(key)}`);
  if (!answer.ok || selected !== key) return;
  const frame = await answer.json();
  const json = pretty(frame.text);
  const call = rung.call && rungs.get(rung.call);
  detail.replaceChildren(html(
    "div",
    { class: "frame" },
    html("h2", {}, `${frame.type} ${frame.action ?? ""}`),
    html(
      "dl",
      {},
      html("dt", {}, "Time (UTC)"), html("dd", {}, utcDateTime(frame.at)),
      html("dt", {}, "Direction"), html("dd", {}, frame.direction === "charger_to_csms" ? "charger → CSMS" : "CSMS → charger"),
      html("dt", {}, "MessageId"), html("dd", { class: "mono" }, frame.messageId ?? "—"),
      html("dt", {}, "Connection"), html("dd", { class: "mono" }, rung.connection),
      html("dt", {}, "Status"), html("dd", {}, frame.status),
      html("dt", {}, "Size"), html("dd", {}, `${rung.size} bytes`),
      rung.rttMs !== null && rung.rttMs !== undefined ? [html("dt", {}, "Round trip"), html("dd", {}, milliseconds(rung.rttMs))] : null,
      call ? [html("dt", {}, "Answers"), html("dd", {}, html("a", { href: `#${rung.call}`, "data-goto": rung.call }, `CALL at ${utcTime(call.data.at)}`))] : null,
    ),
    rung.findings.length || rung.faults.length ? [html("h3", {}, "Findings and faults"), notes(rung)] : null,
    json !== null ? [html("h3", {}, "JSON"), html("pre", { id: "frame-json" }, json)] : null,
    html("h3", {}, "Raw text"),
    html("pre", { id: "frame-raw" }, frame.text),
  ));
}

detail.addEventListener("click", (event) => {
  const goto = event.target.closest("[data-goto]");
  if (!goto) return;
  event.preventDefault();
  const target = rungs.get(goto.dataset.goto);
  if (target) {
    target.element.focus();
    open(goto.dataset.goto);
  }
});

function makeCurrent(element) {
  if (!element || element.dataset.key === current) return;
  const previous = current && rungs.get(current);
  if (previous) previous.element.tabIndex = -1;
  current = element.dataset.key;
  element.tabIndex = 0;
}

ladder.addEventListener("focusin", (event) => makeCurrent(event.target.closest(".rung")));

ladder.addEventListener("keydown", (event) => {
  const here = event.target.closest(".rung");
  if (!here) return;
  const moves = {
    ArrowDown: () => here.nextElementSibling,
    ArrowUp: () => here.previousElementSibling,
    Home: () => ladder.firstElementChild,
    End: () => ladder.lastElementChild,
  };
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    open(here.dataset.key);
  } else if (moves[event.key]) {
    const next = moves[event.key]();
    if (next) {
      event.preventDefault();
      next.focus();
    }
  }
});

// ---- loading and live updates -----------------------------------------------------------------

async function page(before) {
  const params = new URLSearchParams(range);
  if (before) params.set("before", before);
  const answer = await fetch(`${api}?${params}`);
  if (answer.status === 404) return null;
  if (!answer.ok) throw new Error(`${answer.status} ${await answer.text()}`);
  return answer.json();
}

earlierButton.addEventListener("click", async () => {
  const scroller = ladder.closest(".conversation");
  const height = scroller.scrollHeight;
  const older = await page(earlier);
  prepend(older.rungs);
  earlier = older.earlier;
  earlierButton.hidden = earlier === null;
  scroller.scrollTop += scroller.scrollHeight - height;
});

function follow(after) {
  const indicator = document.getElementById("live");
  const params = new URLSearchParams(range);
  if (after) params.set("after", after);
  const source = new EventSource(`${api}/live?${params}`);
  const scroller = ladder.closest(".conversation");
  source.addEventListener("open", () => {
    indicator.dataset.state = "on";
    indicator.textContent = "live";
  });
  source.addEventListener("error", () => {
    indicator.dataset.state = "off";
    indicator.textContent = "reconnecting…";
  });
  source.addEventListener("connections", (event) => showConnections(JSON.parse(event.data)));
  source.addEventListener("rungs", (event) => {
    const follow = atBottom(scroller);
    for (const rung of JSON.parse(event.data)) place(rung);
    document.getElementById("empty").hidden = rungs.size > 0;
    if (current === null) makeCurrent(ladder.lastElementChild);
    if (follow) scroller.scrollTop = scroller.scrollHeight;
  });
}

async function start() {
  const first = await page(null);
  const scroller = ladder.closest(".conversation");
  if (first) {
    showConnections(first.connections);
    for (const rung of first.rungs) place(rung);
    earlier = first.earlier;
  }
  earlierButton.hidden = earlier === null;
  document.getElementById("empty").hidden = rungs.size > 0;
  makeCurrent(ladder.lastElementChild);
  scroller.scrollTop = scroller.scrollHeight;
  const wanted = location.hash.slice(1);
  if (wanted && rungs.has(wanted)) {
    rungs.get(wanted).element.focus();
    open(wanted);
  }
  if (!range.get("to")) {
    const frames = first ? first.rungs.filter((rung) => rung.type) : [];
    follow(frames.length ? frames[frames.length - 1].key : null);
  }
}

start();
