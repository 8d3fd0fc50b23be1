import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Prometheus metrics, one registry per gateway instance (tests run several in one process).
 * No label carries an account, key or address: the counts are safe to expose to an operator.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: "sendmux_http_requests_total",
    help: "HTTP requests answered, by method and status code",
    labelNames: ["method", "status"] as const,
    registers: [this.registry],
  });
  readonly accepted = new Counter({
    name: "sendmux_messages_accepted_total",
    help: "Messages stored and queued (acknowledged), by how they came in",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly attempts = new Counter({
    name: "sendmux_delivery_attempts_total",
    help: "Provider attempts, by provider type and outcome (sent or a failure class)",
    labelNames: ["provider_type", "outcome"] as const,
    registers: [this.registry],
  });
  readonly attemptSeconds = new Histogram({
    name: "sendmux_delivery_attempt_seconds",
    help: "Time one provider attempt took, building the message included",
    labelNames: ["provider_type"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: "sendmux_dispatch_in_flight",
    help: "Messages read from the ready queues and not yet recorded",
    registers: [this.registry],
  });

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: "sendmux_" });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
