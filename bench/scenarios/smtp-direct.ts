/**
 * k6-style scenario, the baseline for deliver-smtp: nodemailer alone, in a process of its own, with
 * the transport settings the gateway's smtp provider uses (a pool of 4 connections, 100 messages a
 * connection), sending the same number of messages into the same sink.
 */
export { options } from "./deliver-smtp.ts";
export const pool = { maxConnections: 4, maxMessages: 100 };
