// The direct-volume library: records a CSI driver leaves for a sandbox runtime, and the monitor socket API.
export * from './volume-dir-name.js';
export * from './mount-info.js';
export * from './sandbox-id.js';
export * from './record-store.js';
export * from './monitor-api.js';
export * from './monitor-client.js';
export * from './volume-operations.js';
