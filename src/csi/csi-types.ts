// The CSI messages as @grpc/proto-loader decodes them (keepCase, enums as strings, longs as numbers),
// for the fields passvol reads. The gRPC edge hands these to the servers.

export const ACCESS_MODES = [
  'UNKNOWN',
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

export const SINGLE_NODE_MODES: readonly AccessMode[] = ['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER'];
/** Modes where one pod at most writes: the only ones a passed-through disk may use. */
export const PASSTHROUGH_DISK_MODES: readonly AccessMode[] = ['SINGLE_NODE_WRITER', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_READER_ONLY'];
export const READ_ONLY_MODES: readonly AccessMode[] = ['SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY'];

export interface CsiVolumeCapability {
  block?: Record<string, never> | null;
  mount?: { fs_type?: string; mount_flags?: string[]; volume_mount_group?: string } | null;
  access_mode?: { mode?: AccessMode | string } | null;
  access_type?: 'block' | 'mount';
}

export interface CsiTopology {
  segments: Record<string, string>;
}

export type Params = Record<string, string>;
