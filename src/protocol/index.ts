// The runtime <-> guest agent protocol: framing (codec), messages and the table of ops. A leaf: zod only.
export * from './codec.js';
export * from './errors.js';
export * from './messages.js';
export * from './request-table.js';
export * from './guest-contract.js';
