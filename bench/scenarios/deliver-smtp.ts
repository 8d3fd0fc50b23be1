/**
 * k6-style scenario: queue `messages` through the batch API for one smtp provider whose upstream is
 * an smtp-server sink, and count how fast they arrive there (first to last arrival, at most
 * `duration`). Baseline of the same run: smtp-direct.ts (nodemailer alone into the same sink).
 */
export const options = { messages: 20_000, duration: "10s", enqueueConcurrency: 4 };
export const messagesPerRequest = 100;
