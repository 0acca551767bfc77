// Every op the agent answers, with its args and result schemas, so any client can be typed from one table:
//   const req = makeRequest(7, 'statfs', { path: '/run/passvol/volumes/v1' });
//   const result: OpResult<'statfs'> = parseResult('statfs', response.result);
import type { z } from 'zod';
import {
  CloseStdinArgs,
  ContainerStatsArgs,
  UpdateContainerArgs,
  ResizeTerminalArgs,
  FreezeContainerArgs,
  ContainerStatsResult,
  CreateContainerArgs,
  DeleteContainerArgs,
  EmptyResult,
  FreezeFilesystemArgs,
  GrowFilesystemArgs,
  GrowFilesystemResult,
  GuestInfoResult,
  MountArgs,
  MountResult,
  NoArgs,
  PingResult,
  PROTOCOL_VERSION,
  SetClockArgs,
  SetClockResult,
  SetupNetworkArgs,
  SetupNetworkResult,
  SetupPodNetworkArgs,
  SetupPodNetworkResult,
  SignalArgs,
  StartProcessArgs,
  StartProcessResult,
  StatfsArgs,
  StatfsResult,
  ThawFilesystemArgs,
  ThawFilesystemResult,
  UnmountArgs,
  WaitArgs,
  WaitResult,
  WriteStdinArgs,
  WriteStdinResult,
} from './messages.js';

interface OpSchemas {
  readonly args: z.ZodTypeAny;
  readonly result: z.ZodTypeAny;
}

export const REQUEST_TABLE = {
  ping: { args: NoArgs, result: PingResult },
  mount: { args: MountArgs, result: MountResult },
  unmount: { args: UnmountArgs, result: EmptyResult },
  createContainer: { args: CreateContainerArgs, result: EmptyResult },
  startProcess: { args: StartProcessArgs, result: StartProcessResult },
  signal: { args: SignalArgs, result: EmptyResult },
  wait: { args: WaitArgs, result: WaitResult },
  writeStdin: { args: WriteStdinArgs, result: WriteStdinResult },
  closeStdin: { args: CloseStdinArgs, result: EmptyResult },
  deleteContainer: { args: DeleteContainerArgs, result: EmptyResult },
  containerStats: { args: ContainerStatsArgs, result: ContainerStatsResult },
  updateContainer: { args: UpdateContainerArgs, result: EmptyResult },
  resizeTerminal: { args: ResizeTerminalArgs, result: EmptyResult },
  freezeContainer: { args: FreezeContainerArgs, result: EmptyResult },
  statfs: { args: StatfsArgs, result: StatfsResult },
  growFilesystem: { args: GrowFilesystemArgs, result: GrowFilesystemResult },
  freezeFilesystem: { args: FreezeFilesystemArgs, result: EmptyResult },
  thawFilesystem: { args: ThawFilesystemArgs, result: ThawFilesystemResult },
  guestInfo: { args: NoArgs, result: GuestInfoResult },
  setClock: { args: SetClockArgs, result: SetClockResult },
  setupNetwork: { args: SetupNetworkArgs, result: SetupNetworkResult },
  setupPodNetwork: { args: SetupPodNetworkArgs, result: SetupPodNetworkResult },
  shutdown: { args: NoArgs, result: EmptyResult },
} as const satisfies Record<string, OpSchemas>;

export type RequestTable = typeof REQUEST_TABLE;
export type OpName = keyof RequestTable;
/** What a caller passes (defaults may be left out). */
export type OpArgsInput<O extends OpName> = z.input<RequestTable[O]['args']>;
/** What the agent's handler receives (defaults filled in). */
export type OpArgs<O extends OpName> = z.output<RequestTable[O]['args']>;
export type OpResult<O extends OpName> = z.output<RequestTable[O]['result']>;

export const OP_NAMES = Object.keys(REQUEST_TABLE) as OpName[];

export function isOpName(op: string): op is OpName {
  return Object.prototype.hasOwnProperty.call(REQUEST_TABLE, op);
}

/** Builds a request envelope, validating args on the sending side. Throws a ZodError on bad args. */
export function makeRequest<O extends OpName>(
  id: number,
  op: O,
  args: OpArgsInput<O>,
): { v: typeof PROTOCOL_VERSION; id: number; op: O; args: OpArgsInput<O> } {
  REQUEST_TABLE[op].args.parse(args);
  return { v: PROTOCOL_VERSION, id, op, args };
}

export function parseArgs<O extends OpName>(op: O, args: unknown): OpArgs<O> {
  return REQUEST_TABLE[op].args.parse(args ?? {}) as OpArgs<O>;
}

export function parseResult<O extends OpName>(op: O, result: unknown): OpResult<O> {
  return REQUEST_TABLE[op].result.parse(result) as OpResult<O>;
}
