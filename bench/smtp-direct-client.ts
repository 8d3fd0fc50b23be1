/**
 * Child process for scenarios/smtp-direct.ts: sends COUNT messages with nodemailer into the sink at
 * SINK_PORT, with the pool settings given, then exits. The bench times the arrivals at the sink.
 */
import nodemailer from "nodemailer";
import { message } from "./scenarios/message.ts";
import { pool } from "./scenarios/smtp-direct.ts";

const count = Number(process.env.COUNT);
const transport = nodemailer.createTransport({
  pool: true,
  host: "127.0.0.1",
  port: Number(process.env.SINK_PORT),
  secure: false,
  ignoreTLS: true,
  maxConnections: pool.maxConnections,
  maxMessages: pool.maxMessages,
});
const sends: Array<Promise<unknown>> = [];
for (let i = 0; i < count; i++) {
  const m = message(i);
  sends.push(transport.sendMail({ from: m.from, to: m.to.email, subject: m.subject, text: m.text_body, html: m.html_body }));
}
const results = await Promise.allSettled(sends);
transport.close();
const failed = results.filter((r) => r.status === "rejected").length;
if (failed) {
  console.error(`smtp-direct: ${failed} of ${count} sends failed`);
  process.exit(1);
}
