import type { OpArgs, OpName, OpResult } from '../../protocol/index.js';
import type { AgentContext } from '../context.js';

/** One op: args already validated against the op's schema; the result is validated before it is sent. */
export type Handler<O extends OpName> = (args: OpArgs<O>, ctx: AgentContext) => Promise<OpResult<O>>;

/** The lock key shared by every op on one mount point. */
export const mountKey = (guestPath: string): string => `mount:${guestPath}`;
export const containerKey = (containerId: string): string => `container:${containerId}`;
