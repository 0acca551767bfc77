// Prometheus metrics of the driver: per-RPC counts by result, latency histograms, calls in flight.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class CsiMetrics {
  readonly registry = new Registry();
  readonly operations: Counter<'driver' | 'mode' | 'method' | 'grpc_code'>;
  readonly duration: Histogram<'driver' | 'mode' | 'method' | 'grpc_code'>;
  readonly inflight: Gauge<'driver' | 'method'>;
  readonly publishDecisions: Counter<'driver' | 'path'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'passvol_csi_' });
    this.operations = new Counter({ name: 'passvol_csi_operations_total', help: 'CSI calls by method and gRPC result code', labelNames: ['driver', 'mode', 'method', 'grpc_code'], registers: [this.registry] });
    this.duration = new Histogram({
      name: 'passvol_csi_operation_duration_seconds',
      help: 'CSI call latency',
      labelNames: ['driver', 'mode', 'method', 'grpc_code'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    this.inflight = new Gauge({ name: 'passvol_csi_inflight_operations', help: 'CSI calls being served', labelNames: ['driver', 'method'], registers: [this.registry] });
    this.publishDecisions = new Counter({ name: 'passvol_csi_publish_decisions_total', help: 'NodePublish decisions: passthrough or host', labelNames: ['driver', 'path'], registers: [this.registry] });
  }
}
