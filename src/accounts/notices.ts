import type { Gateway } from "../gateway.ts";
import { newId } from "../ids.ts";
import { K } from "../store/keys.ts";
import { submit } from "../submit.ts";

/**
 * The operator's notices to an account (the outcome of a limit request), sent through the gateway
 * itself: accepted by submit() like any message, routed through the managed route and visible in
 * the notices account's messages. They are sent by an internal account ("Operator notices",
 * created on the first notice, with no API key) so that they never use up the recipient's own
 * daily limit; that account has no per-account limit on the managed route (the route's own caps
 * still apply). The sender is SENDMUX_NOTICE_FROM.
 */
export async function noticeAccountId(gw: Gateway): Promise<string> {
  const existing = await gw.redis.get(K.noticeAccount());
  if (existing) return existing;
  const acct = await gw.accounts.create("Operator notices", null);
  const won = await gw.redis.set(K.noticeAccount(), acct.id, "NX");
  if (won !== "OK") {
    await gw.redis.multi().srem(K.accounts(), acct.id).del(K.account(acct.id)).exec();
    return (await gw.redis.get(K.noticeAccount()))!;
  }
  return acct.id;
}

/** Queues one plain-text notice; resolves to its message id once it is durable. */
export async function sendNotice(gw: Gateway, to: string, subject: string, text: string): Promise<string> {
  const route = await gw.managed.record();
  if (!route) throw new Error("no managed route is configured to send notices through");
  const accountId = await noticeAccountId(gw);
  await gw.managed.setLimit(accountId, 0);
  const id = newId("eml");
  const messageIdHeader = `${id}@${gw.cfg.hostname}`;
  const from = { name: "Sendmux", address: gw.cfg.noticeFrom };
  const [queued] = await submit(gw, { accountId, keyId: "operator", permission: "send", scope: { type: "specific", providers: [route.id] } }, [
    {
      id,
      source: "api",
      envelope: { from: gw.cfg.noticeFrom, to: [to] },
      from: `Sendmux <${gw.cfg.noticeFrom}>`,
      to: [to],
      subject,
      message_id_header: messageIdHeader,
      size_bytes: 1024 + subject.length + text.length,
      body: {
        kind: "compose",
        mail: { from, to: [{ address: to }], cc: [], bcc: [], subject, text, headers: [], attachments: [], messageId: messageIdHeader, date: new Date(gw.clock.now()).toUTCString() },
      },
    },
  ]);
  return queued!;
}
