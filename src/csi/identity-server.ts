// The CSI Identity service: name, capabilities, and a readiness probe that checks the driver's own state.
import { access, constants } from 'node:fs/promises';
import type { ControllerBackend, NodeBackend } from './backends/backend.js';
import type { DriverConfig } from './driver-config.js';

export const DRIVER_VERSION = '0.1.0';

export class IdentityServer {
  constructor(
    private readonly config: DriverConfig,
    private readonly controller: ControllerBackend | undefined,
    private readonly node: NodeBackend | undefined,
    private readonly readyPaths: readonly string[],
  ) {}

  async GetPluginInfo(): Promise<object> {
    return { name: this.config.driverName, vendor_version: DRIVER_VERSION, manifest: { driver: this.config.driver, mode: this.config.mode } };
  }

  async GetPluginCapabilities(): Promise<object> {
    const caps: object[] = [];
    if (this.controller) caps.push({ service: { type: 'CONTROLLER_SERVICE' } });
    if (this.node?.topology() ?? this.config.driver === 'disk') caps.push({ service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } });
    if (this.controller?.controllerCapabilities.includes('EXPAND_VOLUME')) caps.push({ volume_expansion: { type: 'ONLINE' } });
    return { capabilities: caps };
  }

  /** Ready when the folders the driver writes to are writable. */
  async Probe(): Promise<object> {
    for (const p of this.readyPaths) {
      try {
        await access(p, constants.W_OK);
      } catch {
        return { ready: { value: false } };
      }
    }
    return { ready: { value: true } };
  }
}
