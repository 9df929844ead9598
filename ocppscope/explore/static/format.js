// Times and durations as the explorer shows them: UTC, to the millisecond.

export function utcTime(epochSeconds) {
  return new Date(epochSeconds * 1000).toISOString().slice(11, 23);
}

export function utcDateTime(epochSeconds) {
  return new Date(epochSeconds * 1000).toISOString().replace("T", " ").slice(0, 23);
}

export function seconds(value) {
  return value < 10 ? `${value.toFixed(2)} s` : `${value.toFixed(1)} s`;
}

export function milliseconds(value) {
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}
