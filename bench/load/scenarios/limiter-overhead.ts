/**
 * k6-style scenario: the same endpoints with and without the rate limiter, same run: one gateway
 * as shipped and one started with SENDMUX_BENCH_NO_RATE_LIMIT=true (a benchmarking-only switch),
 * each on a fresh redis-server, alternating which goes first, LOAD_ROUNDS (default 3) rounds of
 * `duration` each under wrk. 300 keys so no request is refused. Plus the limiter's Lua call alone
 * (EVALSHA rateLimit-1) against PING, one at a time from ioredis, on the same redis-server.
 */
export const options = { vus: 32, duration: "5s", rounds: Number(process.env.LOAD_ROUNDS ?? 3) };
export const keys = 300;
export const endpoints = [
  // Authentication, the limiter, one lookup: the cheapest request that counts.
  { name: "GET /emails/{id} (unknown, 404)", method: "GET", path: "/api/v1/emails/eml_aaaaaaaaaaaaaaaaaaaaaaaa", body: "" },
  // The accept path with delivery held (an smtp provider that never greets).
  { name: "POST /emails/send (delivery held)", method: "POST", path: "/api/v1/emails/send", body: "" },
];
export const luaCalls = 20_000;
