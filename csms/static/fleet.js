// What the dashboard makes of the server's charger list: one state per charger, per-site and
// fleet totals, and the number formats. Pure functions, no DOM.

// Offline wins over everything: a station that is not connected may have been repaired since
// its last StatusNotification, so its old connector status is not shown as a live fault.
export function stateOf(charger) {
  if (charger.status !== "Online") return "offline";
  if (charger.connector_status === "Faulted") return "faulted";
  if (isCharging(charger)) return "charging";
  return "online";
}

// OCPP 1.6 names the states of a connector in use itself; 2.0.1 and 2.1 call them all Occupied.
const IN_USE = new Set(["Occupied", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"]);

function isCharging(charger) {
  return IN_USE.has(charger.connector_status) || (charger.power_kw ?? 0) > 0;
}

export const STATE_LABEL = {
  online: "Available",
  charging: "Charging",
  faulted: "Faulted",
  offline: "Offline",
};

// Chargers grouped by site, in the order sites first appear in the (id-sorted) list; a site's
// anchor is the mean of its chargers' coordinates, or null when none of them has any.
export function groupSites(chargers) {
  const sites = new Map();
  for (const charger of chargers) {
    const name = charger.site || "Unassigned";
    if (!sites.has(name)) sites.set(name, { name, chargers: [] });
    sites.get(name).chargers.push(charger);
  }
  return [...sites.values()].map((site) => {
    const located = site.chargers.filter((c) => Number.isFinite(c.lat) && Number.isFinite(c.lon));
    const mean = (key) => located.reduce((sum, c) => sum + c[key], 0) / located.length;
    return {
      ...site,
      count: site.chargers.length,
      position: located.length ? { lat: mean("lat"), lon: mean("lon") } : null,
    };
  });
}

export function summarize(chargers) {
  const totals = { chargers: 0, online: 0, charging: 0, faulted: 0, kw: 0 };
  for (const charger of chargers) {
    const state = stateOf(charger);
    totals.chargers += 1;
    if (state !== "offline") totals.online += 1;
    if (state === "charging") totals.charging += 1;
    if (state === "faulted") totals.faulted += 1;
    if (state !== "offline") totals.kw += charger.power_kw ?? 0;
  }
  return totals;
}

// A layout depends only on which chargers exist and where: redraw the map only when this changes.
export function layoutKey(chargers) {
  return chargers.map((c) => `${c.id}|${c.site}|${c.lat}|${c.lon}`).join("\n");
}

// The short label inside a dot: the id's trailing number ("emart_jeju_07" -> "07").
export function shortLabel(id, index) {
  const match = /(\d+)$/.exec(id);
  return match ? match[1].slice(-3) : String(index + 1);
}

// ---- formats ----------------------------------------------------------------------------------

export const kw = (value) => `${(value ?? 0).toFixed(1)} kW`;
export const kwh = (value) => `${(value ?? 0).toFixed(3)} kWh`;

const clockFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

export const clock = (date) => clockFormat.format(date);

export function ago(iso, now) {
  if (!iso) return "never";
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return String(iso);
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  let relative;
  if (seconds < 120) relative = `${seconds} s ago`;
  else if (seconds < 7200) relative = `${Math.round(seconds / 60)} min ago`;
  else if (seconds < 172800) relative = `${Math.round(seconds / 3600)} h ago`;
  else relative = `${Math.round(seconds / 86400)} days ago`;
  const sameDay = then.toDateString() === now.toDateString();
  const when = sameDay ? clock(then) : `${then.toLocaleDateString()} ${clock(then)}`;
  return `${when} (${relative})`;
}
