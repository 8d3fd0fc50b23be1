import { ApiError } from "../errors.ts";
import { intParam } from "../http.ts";
import { decodeCursor, type LogQuery, type MetricsQuery } from "../../logs/service.ts";
import { DAY_MS, HOUR_MS, LOG_STATUSES, type LogStatus } from "../../store/logs.ts";

/**
 * Query parameters of the delivery-log endpoints (sendmux-openapi-app.json
 * managementListEmailLogs, managementGetEmailMetrics). Every bad value is a 400
 * `invalid_parameter` naming the parameter; an unknown parameter is refused the same way, so a
 * misspelt filter never silently returns everything.
 */

const bad = (param: string, message: string) => new ApiError("invalid_parameter", message, { param });

/** The query as single values; a parameter given twice or not in `allowed` is refused. */
export function readQuery(url: URL, allowed: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of new Set(url.searchParams.keys())) {
    if (!allowed.includes(name)) {
      throw bad(name, `unknown query parameter "${name}"; ${allowed.length ? `this endpoint takes ${allowed.join(", ")}` : "this endpoint takes none"}`);
    }
    const all = url.searchParams.getAll(name);
    if (all.length > 1) throw bad(name, `${name} may be given once`);
    out[name] = all[0];
  }
  return out;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An ISO 8601 date or date-time (ms). A date alone is 00:00 UTC of that day, or with `endOfDay`
 * the last millisecond of it; a time without an offset is UTC.
 */
export function parseDate(v: string, param: string, endOfDay: boolean): number {
  const what = `${param} must be an ISO 8601 date (2026-03-19) or date-time (2026-03-19T08:30:00Z)`;
  const d = DATE_ONLY.exec(v);
  if (d) {
    const t = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]));
    if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== v) throw bad(param, `${what}; got "${v}"`);
    return endOfDay ? t + DAY_MS - 1 : t;
  }
  const m = DATE_TIME.exec(v);
  if (!m) throw bad(param, `${what}; got "${v.slice(0, 100)}"`);
  const [, y, mo, da, h, mi, s = "00", frac = "0", zone = "Z"] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw bad(param, `${what}; got "${v}"`);
  const z = zone.toUpperCase() === "Z" ? "Z" : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const t = Date.parse(`${y}-${mo}-${da}T${h}:${mi}:${s}.${frac.padEnd(3, "0").slice(0, 3)}${z}`);
  if (Number.isNaN(t) || new Date(Date.UTC(Number(y), Number(mo) - 1, Number(da))).getUTCDate() !== Number(da)) throw bad(param, `${what}; got "${v}"`);
  return t;
}

export const LIST_PARAMS = ["limit", "cursor", "status", "from_date", "to_date", "provider_id", "search"] as const;

export function parseListQuery(url: URL): LogQuery {
  const p = readQuery(url, LIST_PARAMS);
  const limit = intParam(p.limit, "limit", 25, 1, 100);
  let cursor = null;
  if (p.cursor !== undefined && p.cursor !== "") {
    cursor = decodeCursor(p.cursor);
    if (!cursor) throw bad("cursor", "cursor is not one this endpoint gave out; pass pagination.next_cursor from the previous page unchanged");
  }
  let status: LogStatus | null = null;
  if (p.status !== undefined && p.status !== "") {
    if (!(LOG_STATUSES as readonly string[]).includes(p.status)) throw bad("status", `status must be one of ${LOG_STATUSES.join(", ")}; got "${p.status.slice(0, 50)}"`);
    status = p.status as LogStatus;
  }
  const fromMs = p.from_date ? parseDate(p.from_date, "from_date", false) : null;
  const toMs = p.to_date ? parseDate(p.to_date, "to_date", true) : null;
  if (fromMs !== null && toMs !== null && fromMs > toMs) throw bad("from_date", "from_date is after to_date");
  const providerId = p.provider_id ? p.provider_id : null;
  if (providerId !== null && providerId.length > 100) throw bad("provider_id", "provider_id is at most 100 characters (a dprov_… id)");
  let search: string | null = null;
  if (p.search !== undefined && p.search.trim() !== "") {
    if (p.search.length > 200) throw bad("search", "search is at most 200 characters");
    search = p.search.trim().toLowerCase();
  }
  return { limit, cursor, status, fromMs, toMs, providerId, search };
}

export const METRICS_PARAMS = ["window", "from_date", "to_date", "granularity", "provider_id"] as const;
const WINDOW_HOURS = { "24h": 24, "7d": 7 * 24, "30d": 30 * 24 } as const;
/** The longest period one metrics request covers, and the longest shown hour by hour. */
export const MAX_METRICS_DAYS = 366;
export const MAX_HOURLY_DAYS = 31;

/**
 * The period in whole hours. A preset window ends with the current hour: `24h` is the last 24
 * hours; `7d` and `30d` are that many UTC days ending today. from_date overrides the window;
 * to_date (default now) ends it.
 */
export function parseMetricsQuery(url: URL, now: number): MetricsQuery {
  const p = readQuery(url, METRICS_PARAMS);
  const window = p.window ?? "24h";
  if (!(window in WINDOW_HOURS)) throw bad("window", `window must be one of 24h, 7d, 30d; got "${window.slice(0, 50)}"`);
  const granularity = p.granularity ?? "daily";
  if (granularity !== "hourly" && granularity !== "daily") throw bad("granularity", `granularity must be hourly or daily; got "${granularity.slice(0, 50)}"`);
  const toMs = p.to_date ? parseDate(p.to_date, "to_date", true) : now;
  const toHour = Math.floor(toMs / HOUR_MS) * HOUR_MS;
  let fromHour: number;
  if (p.from_date) {
    fromHour = Math.floor(parseDate(p.from_date, "from_date", false) / HOUR_MS) * HOUR_MS;
    if (fromHour > toMs) throw bad("from_date", "from_date is after to_date");
  } else if (window === "24h") {
    fromHour = toHour - 23 * HOUR_MS;
  } else {
    fromHour = Math.floor(toMs / DAY_MS) * DAY_MS - (WINDOW_HOURS[window as "7d" | "30d"] / 24 - 1) * DAY_MS;
  }
  const days = (toHour - fromHour + HOUR_MS) / DAY_MS;
  if (days > MAX_METRICS_DAYS) throw bad("from_date", `the period is at most ${MAX_METRICS_DAYS} days; from_date to to_date spans ${Math.ceil(days)}`);
  if (granularity === "hourly" && days > MAX_HOURLY_DAYS) throw bad("granularity", `hourly granularity covers at most ${MAX_HOURLY_DAYS} days; use daily for this period`);
  const providerId = p.provider_id ? p.provider_id : null;
  if (providerId !== null && providerId.length > 100) throw bad("provider_id", "provider_id is at most 100 characters (a dprov_… id)");
  return { fromHour, toHour, granularity, providerId };
}
