import type { Clock } from "../clock.ts";
import type { OutboxStore } from "../store/outbox.ts";
import { CaptureAdapter } from "./capture.ts";
import { OutlookAdapter } from "./outlook.ts";
import { GmailAdapter } from "./gmail.ts";
import { SesAdapter, type AccountReadSink } from "./ses.ts";
import { SmtpAdapter } from "./smtp.ts";
import type { ProviderAdapter, ProviderSnapshot } from "./types.ts";

/** One place that maps a provider type to its adapter. */
export function createAdapter(snap: ProviderSnapshot, deps: { outbox: OutboxStore; clock: Clock; sesAccountRead?: AccountReadSink }): ProviderAdapter {
  switch (snap.record.type) {
    case "smtp":
      return new SmtpAdapter(snap);
    case "capture":
      return new CaptureAdapter(snap, deps.outbox, deps.clock);
    case "amazon_ses":
      return new SesAdapter(snap, deps.sesAccountRead, () => deps.clock.now());
    case "gmail_api":
      return new GmailAdapter(snap);
    case "outlook_api":
      return new OutlookAdapter(snap);
    default:
      throw new Error(`provider type ${snap.record.type} has no adapter in this version`);
  }
}
