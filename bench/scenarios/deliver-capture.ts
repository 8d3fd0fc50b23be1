/**
 * k6-style scenario: queue `messages` through the batch API for one capture provider (EXT: it stores
 * each message in Redis instead of sending it) and count how fast they land in its outbox (first to
 * last, at most `duration`). No network peer: the figure is the gateway's own dispatch path (queue
 * read, routing, worker hand-off, MIME build, the outcome's Redis write). Compared between checkouts.
 */
export { options, messagesPerRequest } from "./deliver-smtp.ts";
