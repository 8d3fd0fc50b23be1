import { K } from "../../../src/store/keys.ts";
import * as sc from "../scenarios/batch-count-once.ts";
import type { LoadGateway } from "./gateway.ts";
import { fmt } from "./report.ts";

/** 1,800 batches of 100 on one key as fast as 8 virtual users can, then the 1,801st. */
export async function batchesCountOnce(lg: LoadGateway) {
  const held = await lg.held();
  const key = await lg.key("batches", [held]);
  const target = sc.options.scenarios.batches.iterations;
  const post = (i: number) => {
    const req = sc.default(i);
    return fetch(lg.gw.base + req.path, { method: req.method, headers: { authorization: `Bearer ${key.token}`, "content-type": "application/json" }, body: req.body });
  };
  let next = 0;
  let accepted = 0;
  let messages = 0;
  const other = new Map<number, number>();
  let firstAccept = 0;
  let lastAccept = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: sc.options.scenarios.batches.vus }, async () => {
      while (next < target) {
        const i = next++;
        const res = await post(i);
        const j = (await res.json()) as { data?: { summary?: { queued: number } } };
        if (res.status === 200) {
          accepted++;
          messages += j.data?.summary?.queued ?? 0;
          lastAccept = performance.now();
          if (!firstAccept) firstAccept = lastAccept;
        } else other.set(res.status, (other.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const secs = (lastAccept - t0) / 1000;
  const extra = await post(target);
  await extra.text();
  const logged = await lg.r.zcard(K.rateLog(key.id));
  const stored = await lg.r.zcard(K.msgIndex(lg.account));
  const retryAfter = extra.headers.get("retry-after");
  const ok = accepted === target && messages === target * sc.messagesPerRequest && extra.status === 429 && logged === target && stored === messages;
  const lines = [
    `${fmt(accepted)} batches accepted (${fmt(messages)} messages queued) in ${secs.toFixed(1)} s from the first request, ${sc.options.scenarios.batches.vus} connections, closed loop, delivery held`,
    `  = ${fmt(accepted / secs * 60, 0)} batches/min and ${fmt(messages / secs, 0)} messages/s while it lasted (all 1,800 fit in one minute: the limit, not the gateway, stops the key)`,
    `  other answers: ${other.size ? [...other].map(([s, n]) => `${n} x ${s}`).join(", ") : "none"}`,
    `the 1,801st batch: ${extra.status}${retryAfter ? ` with Retry-After ${retryAfter}` : ""}; the key's rate log holds ${fmt(logged)} entries for ${fmt(stored)} stored messages (a batch counts once)`,
  ];
  return { lines, figures: { accepted, messages, seconds: secs, batchesPerMin: (accepted / secs) * 60, messagesPerSec: messages / secs, other: Object.fromEntries(other), status1801: extra.status, retryAfter1801: retryAfter, rateLogEntries: logged, storedMessages: stored }, ok };
}
