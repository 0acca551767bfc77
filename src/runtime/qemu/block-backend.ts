// How a hot-plugged disk is opened on the host. Default: O_DIRECT (cache.direct=on) with Linux native
// AIO, which bypasses the host page cache and suits a raw block device; never cache=unsafe (flushes are
// always honoured). Where QEMU refuses a setting (O_DIRECT on tmpfs, no io_uring), the next one is
// tried: native -> threads with O_DIRECT -> threads through the page cache.
import type { BlockBackendSettings } from '../hypervisor.js';
import type { BlockdevRaw } from './qmp-commands.js';

export const DEFAULT_BACKEND: BlockBackendSettings = { cacheDirect: true, aio: 'native', iothread: false };

/** The settings to try, in order, for what was asked. */
export function backendAttempts(wanted: Partial<BlockBackendSettings> = {}): BlockBackendSettings[] {
  const first: BlockBackendSettings = { ...DEFAULT_BACKEND, ...wanted };
  // aio=native is only valid with O_DIRECT.
  if (first.aio === 'native' && !first.cacheDirect) first.aio = 'threads';
  const attempts = [first];
  if (first.aio !== 'threads') attempts.push({ ...first, aio: 'threads' });
  if (first.cacheDirect) attempts.push({ ...first, cacheDirect: false, aio: 'threads' });
  return attempts;
}

export const nodeNames = (id: string): { file: string; format: string } => ({ file: `${id}-file`, format: `${id}-fmt` });

export function blockdevArgs(o: { id: string; path: string; isBlockDevice: boolean; readonly: boolean; settings: BlockBackendSettings }): BlockdevRaw {
  const names = nodeNames(o.id);
  const cache = { direct: o.settings.cacheDirect, 'no-flush': false } as const;
  return {
    driver: 'raw',
    'node-name': names.format,
    'read-only': o.readonly,
    discard: 'unmap',
    cache,
    file: {
      driver: o.isBlockDevice ? 'host_device' : 'file',
      filename: o.path,
      'node-name': names.file,
      'read-only': o.readonly,
      aio: o.settings.aio,
      cache,
    },
  };
}

/** QMP errors that mean "this aio/cache combination is not possible here", worth the next attempt. */
export function isBackendSettingError(message: string): boolean {
  return /O_DIRECT|aio|io_uring|native|Invalid argument|not supported/i.test(message);
}
