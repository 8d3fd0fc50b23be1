import { connect } from "node:net";
import { K } from "../../../src/store/keys.ts";
import * as sc from "../scenarios/body-25mb.ts";
import type { LoadGateway } from "./gateway.ts";
import { fmt, mb } from "./report.ts";

/** Samples the gateway's VmRSS every few ms until stopped; the highest seen. */
function rssSampler(lg: LoadGateway, everyMs = 5) {
  let peak = lg.mem().rss;
  let running = true;
  const done = (async () => {
    while (running) {
      peak = Math.max(peak, lg.mem().rss);
      await Bun.sleep(everyMs);
    }
  })();
  return {
    get peak() {
      return peak;
    },
    async stop() {
      running = false;
      await done;
      return peak;
    },
  };
}

/**
 * A raw HTTP/1.1 POST of `total` body bytes, written as fast as the socket drains, that notes how
 * many body bytes the client had handed to its socket when the answer's first byte came back.
 */
async function rawPost(port: number, path: string, token: string, total: number, chunked: boolean) {
  const sock = connect(port, "127.0.0.1");
  sock.on("error", () => {});
  await new Promise<void>((res, rej) => sock.once("connect", res).once("error", rej));
  const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n${chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${total}`}\r\n\r\n`;
  let written = 0;
  let answeredAt: number | null = null;
  let answer = "";
  let closed = false;
  sock.on("data", (d: Buffer) => {
    if (answeredAt === null) answeredAt = written;
    answer += d.toString("latin1");
  });
  const gone = new Promise<void>((res) => sock.once("close", () => ((closed = true), res())));
  const t0 = performance.now();
  sock.write(head);
  const chunk = Buffer.alloc(64 * 1024, "a");
  while (written < total && answeredAt === null && !closed) {
    const n = Math.min(chunk.length, total - written);
    const piece = chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), chunk.subarray(0, n), Buffer.from("\r\n")]) : chunk.subarray(0, n);
    written += n;
    if (!sock.write(piece)) await Promise.race([new Promise((r) => sock.once("drain", r)), gone, Bun.sleep(5000)]);
  }
  if (chunked && written >= total && answeredAt === null && !closed) sock.write("0\r\n\r\n");
  const deadline = performance.now() + 10_000;
  while (answeredAt === null && !closed && performance.now() < deadline) await Bun.sleep(5);
  const ms = performance.now() - t0;
  await Bun.sleep(200);
  const serverClosed = closed;
  sock.destroy();
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), bytesWhenAnswered: answeredAt ?? written, total, ms, serverClosed, connectionClose: /\r\nconnection: close\r\n/i.test(answer) };
}

/**
 * A chunked POST of `total` bytes by curl (reading the answer while it sends). A raw socket is no
 * use here: the gateway closes with unread bytes in its socket, the kernel sends a reset, and Bun's
 * client reports ECONNRESET without handing over the 413 that came before it; curl reads it first.
 */
async function curlChunked(url: string, token: string, total: number) {
  if (!Bun.which("curl")) return null;
  const t0 = performance.now();
  const p = Bun.spawn(
    ["sh", "-c", `head -c ${total} /dev/zero | curl -sS -o /dev/null -w '%{http_code} %{size_upload}' -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" --data-binary @- '${url}'`],
    { env: { ...process.env, TOKEN: token }, stdout: "pipe", stderr: "pipe" },
  );
  const out = await new Response(p.stdout).text();
  await p.exited;
  const [code, up] = out.trim().split(" ");
  return { status: Number(code), uploaded: Number(up), total, ms: performance.now() - t0 };
}

export async function bigBody(lg: LoadGateway) {
  const cap = await lg.capture("big");
  const key = await lg.key("big", [cap]);
  const url = `${lg.gw.base}/api/v1/emails/send/batch`;
  const headers = { authorization: `Bearer ${key.token}`, "content-type": "application/json" };
  // Warm the path up with a small batch (JIT, pools) so the figure is the body's own cost.
  await (await fetch(url, { method: "POST", headers, body: sc.bigBatch(200_000) })).text();
  let settle = performance.now() + 10_000;
  while ((await lg.r.zcard(K.outbox(lg.account, cap))) < 100 && performance.now() < settle) await Bun.sleep(50);
  await Bun.sleep(500);
  const body = sc.bigBatch(sc.LIMIT);
  const before = lg.mem();
  const resetOk = lg.resetPeak();
  const sampler = rssSampler(lg);
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", headers, body });
  const text = await res.text();
  const acceptMs = performance.now() - t0;
  const afterAccept = lg.mem();
  const peakAccept = Math.max(await sampler.stop(), resetOk ? afterAccept.hwm : 0);
  const queued = res.status === 200 ? (JSON.parse(text) as { data: { summary: { queued: number } } }).data.summary.queued : 0;
  // And until the 100 are delivered into the outbox (MIME built with their attachments in the workers).
  const sampler2 = rssSampler(lg);
  settle = performance.now() + 60_000;
  let delivered = 0;
  while ((delivered = (await lg.r.zcard(K.outbox(lg.account, cap))) - 100) < 100 && performance.now() < settle) await Bun.sleep(20);
  const deliverMs = performance.now() - t0;
  const afterDelivery = lg.mem();
  const peakDelivery = Math.max(await sampler2.stop(), resetOk ? afterDelivery.hwm : 0);

  const overCl = await rawPost(Number(new URL(lg.gw.base).port), "/api/v1/emails/send/batch", key.token, sc.LIMIT + 1, false);
  const overChunked = await curlChunked(lg.gw.base + "/api/v1/emails/send/batch", key.token, 64 * 1024 * 1024);
  const ok = res.status === 200 && queued === 100 && delivered === 100 && overCl.status === 413 && overCl.bytesWhenAnswered < overCl.total && (overChunked === null || (overChunked.status === 413 && overChunked.uploaded < overChunked.total));
  const lines = [
    `body ${fmt(body.length)} bytes (25 MB = ${fmt(sc.LIMIT)}: the largest allowed), 100 messages with one ~${fmt(Math.round((body.length / 100) * 0.75 / 1024))} KiB attachment each:`,
    `  ${res.status}, ${queued} queued in ${fmt(acceptMs, 0)} ms; gateway RSS ${mb(before.rss)} before, peak ${mb(peakAccept)} while accepting (+${mb(peakAccept - before.rss)}), ${mb(afterAccept.rss)} after`,
    `  all 100 in the capture outbox ${fmt(deliverMs, 0)} ms after the request started; peak RSS until then ${mb(peakDelivery)} (+${mb(peakDelivery - before.rss)} over before)`,
    `  (peak = highest of VmRSS sampled every 5 ms and VmHWM${resetOk ? ", reset through /proc/<pid>/clear_refs just before" : " (could not reset it: sampled VmRSS only)"})`,
    `25 MB + 1 byte with Content-Length ${fmt(overCl.total)}: ${overCl.status} after ${fmt(overCl.ms, 0)} ms, when the client had written ${fmt(overCl.bytesWhenAnswered)} of ${fmt(overCl.total)} body bytes; Connection: close ${overCl.connectionClose ? "yes" : "no"}, server closed the connection ${overCl.serverClosed ? "yes" : "no"}`,
    overChunked
      ? `64 MiB chunked (no length given), sent by curl: ${overChunked.status} after ${fmt(overChunked.ms, 0)} ms; curl had uploaded ${fmt(overChunked.uploaded)} of ${fmt(overChunked.total)} bytes when it stopped (the gateway reads just past 25 MB, answers 413 and closes; the rest is never read)`
      : "64 MiB chunked: skipped (curl not installed)",
  ];
  return {
    lines,
    figures: { bodyBytes: body.length, status: res.status, queued, acceptMs, rssBefore: before.rss, peakAccept, growthAccept: peakAccept - before.rss, rssAfter: afterAccept.rss, deliverMs, peakDelivery, growthDelivery: peakDelivery - before.rss, over413ContentLength: overCl, over413Chunked: overChunked },
    ok,
  };
}
