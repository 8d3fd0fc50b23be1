import { K } from "../../../src/store/keys.ts";
import * as sc from "../scenarios/idempotent-50.ts";
import type { LoadGateway } from "./gateway.ts";
import { relayOnce, submit } from "./smtp.ts";

/** 50 identical requests with one Idempotency-Key at once, per way in; exactly one message each. */
export async function idempotentRace(lg: LoadGateway) {
  const vus = sc.options.scenarios.same_key.vus;
  const lines: string[] = [];
  const figures: Record<string, unknown> = {};
  let ok = true;
  const count = async (provider: string) => {
    await Bun.sleep(1500); // let anything queued be delivered
    const deadline = Date.now() + 20_000;
    let n = 0;
    while ((n = await lg.r.zcard(K.outbox(lg.account, provider))) < 1 && Date.now() < deadline) await Bun.sleep(50);
    return n;
  };
  for (const [name, req] of [["POST /emails/send", sc.http], ["POST /emails/send/batch", sc.batch]] as const) {
    const cap = await lg.capture(`idem ${name}`);
    const key = await lg.key(`idem ${name}`, [cap]);
    const rs = await Promise.all(
      Array.from({ length: vus }, async () => {
        const res = await fetch(lg.gw.base + req.path, { method: req.method, headers: { authorization: `Bearer ${key.token}`, "content-type": "application/json", "idempotency-key": req.idempotencyKey }, body: req.body });
        const text = await res.text();
        return { status: res.status, text, replayed: res.headers.get("idempotent-replayed") === "true", retryAfter: res.headers.get("retry-after"), json: JSON.parse(text) };
      }),
    );
    const firsts = rs.filter((r) => r.status === 200 && !r.replayed);
    const replays = rs.filter((r) => r.status === 200 && r.replayed);
    const sameBytes = replays.every((r) => firsts[0] && r.text === firsts[0].text);
    const retry409 = rs.filter((r) => r.status === 409 && r.json.error?.retryable === true && Number(r.retryAfter) > 0);
    const other = rs.length - firsts.length - replays.length - retry409.length;
    const queued = await count(cap);
    const good = firsts.length === 1 && sameBytes && other === 0 && queued === 1;
    ok &&= good;
    lines.push(`${name}: ${vus} at once -> 1st answer ${firsts.length}, replays ${replays.length} (byte for byte: ${sameBytes ? "yes" : "NO"}), 409 retryable with Retry-After ${retry409.length}, other ${other}; messages in the outbox: ${queued}`);
    figures[name] = { first: firsts.length, replays: replays.length, sameBytes, retry409: retry409.length, other, queued };
  }
  {
    const cap = await lg.capture("idem smtp");
    const key = await lg.key("idem smtp", [cap]);
    const rs = await Promise.all(
      Array.from({ length: vus }, async () => {
        const t = relayOnce(lg.gw.smtpPort, key.token);
        try {
          return await submit(t, sc.smtp);
        } finally {
          t.close();
        }
      }),
    );
    const ids = new Set(rs.filter((r) => r.code === 250).map((r) => r.id));
    const accepted = rs.filter((r) => r.code === 250).length;
    const inflight = rs.filter((r) => r.code === 451 && /4\.7\.0/.test(r.response)).length;
    const other = rs.length - accepted - inflight;
    const queued = await count(cap);
    const good = ids.size === 1 && other === 0 && queued === 1;
    ok &&= good;
    lines.push(`SMTP relay (Idempotency-Key header), ${vus} connections at once -> 250 ${accepted} (distinct queued ids: ${ids.size}), 451 4.7.0 in flight ${inflight}, other ${other}${other ? ` (${[...new Set(rs.filter((r) => r.code !== 250 && r.code !== 451).map((r) => r.response.slice(0, 80)))].join("; ")})` : ""}; messages in the outbox: ${queued}`);
    figures.smtp = { accepted, distinctIds: ids.size, inflight, other, queued };
  }
  return { lines, figures, ok };
}
