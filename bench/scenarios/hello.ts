/**
 * k6-style scenario, the baseline: the same request as send-single, with the same tool and
 * connection count, against a Bun.serve hello world (bench/hello-server.ts) that answers a small
 * JSON without reading the body. The gateway's figures are read as a ratio of this one.
 */
import single from "./send-single.ts";

export { options } from "./send-single.ts";
export const messagesPerRequest = 0;

export default function () {
  return { ...single(), path: "/" };
}
