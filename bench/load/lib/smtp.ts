import nodemailer from "nodemailer";

export interface SmtpOutcome {
  /** 250 on acceptance, otherwise the reply code (0: no reply: a connection error). */
  code: number;
  id: string | null;
  /** Seconds named in a 451 4.7.1 ("try again in N seconds"). */
  retrySec: number | null;
  /** Where it was refused: EENVELOPE (MAIL/RCPT) or EMESSAGE (end of DATA); "" when accepted. */
  stage: string;
  response: string;
}

/** A nodemailer pool to the relay's STARTTLS port, logged in with an API key. */
export function relayPool(port: number, token: string, connections: number) {
  return nodemailer.createTransport({
    pool: true,
    maxConnections: connections,
    maxMessages: Infinity,
    host: "127.0.0.1",
    port,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: "bench", pass: token },
  });
}

/** A single-use connection (for the idempotency race: one connection per virtual user). */
export function relayOnce(port: number, token: string) {
  return nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: "bench", pass: token } });
}

export async function submit(t: ReturnType<typeof relayPool> | ReturnType<typeof relayOnce>, m: { envelope: { from: string; to: string[] }; raw: Buffer }): Promise<SmtpOutcome> {
  try {
    const info = await t.sendMail({ envelope: m.envelope, raw: m.raw });
    const response = String(info.response);
    return { code: Number(response.slice(0, 3)) || 250, id: /queued as (eml_[A-Za-z0-9]+)/.exec(response)?.[1] ?? null, retrySec: null, stage: "", response };
  } catch (e) {
    const err = e as { responseCode?: number; response?: string; code?: string; message: string };
    const response = err.response ?? err.message;
    const secs = /try again in (\d+) seconds/.exec(response);
    return { code: err.responseCode ?? 0, id: null, retrySec: secs ? Number(secs[1]) : null, stage: err.code ?? "", response };
  }
}
