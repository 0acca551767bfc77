// mount: a virtio-blk disk (found by serial), an NFS export, a virtio-fs or 9p share, at a target under
// /run/passvol/. Idempotent: the same source already at the target is success; another source is
// ALREADY_EXISTS. All or nothing: if growing or fsGroup fails, the mount is undone.
import { AgentError, PROTOCOL_VERSION, type AgentErrorCode, type MountSource } from '../../protocol/index.js';
import type { BlockDevice } from '../block-devices.js';
import type { AgentContext } from '../context.js';
import { applyFsGroup } from '../fs-group.js';
import { growFilesystem } from '../filesystem-grow.js';
import { mountAt, type MountEntry } from '../mount-table.js';
import { planMount, remoteDevice } from '../mount-policy.js';
import { ensureGuestDir } from './guest-dirs.js';
import { waitForFilesystem } from '../filesystem-support.js';
import { mountKey, type Handler } from './handler.js';

const SHARE_POLL_MS = 50;

function failureCode(kind: MountSource['kind'], stderr: string): AgentErrorCode {
  if (/permission denied|access denied/i.test(stderr)) return 'PERMISSION_DENIED';
  if (kind === 'nfs' && /timed out|refused|unreachable|no route|not responding/i.test(stderr)) return 'UNAVAILABLE';
  return 'FAILED_PRECONDITION';
}

async function sameSource(ctx: AgentContext, existing: MountEntry, source: string, device: BlockDevice | undefined): Promise<boolean> {
  if (device) return (await ctx.devices.findByMajMin(existing.majMin))?.name === device.name;
  return existing.source === source;
}

export const mount: Handler<'mount'> = (args, ctx) => {
  const plan = planMount(args);
  return ctx.locks.run(mountKey(plan.target), async () => {
    const hostTarget = ctx.paths.toHost(plan.target);
    let device: BlockDevice | undefined;
    let source: string;
    if (args.source.kind === 'block') {
      device = await ctx.devices.findBySerial(args.source.serial, args.deviceWaitMs ?? ctx.config.deviceWaitMs);
      source = device.devPath;
    } else {
      source = remoteDevice(args.source);
    }
    const result = { ...(device ? { device: device.devPath } : {}), fstype: plan.fstype };
    const existing = await mountAt(hostTarget);
    if (existing) {
      if (await sameSource(ctx, existing, source, device)) return result;
      throw new AgentError('ALREADY_EXISTS', `${plan.target} already has ${existing.source} (${existing.fstype}) mounted; unmount it first`);
    }
    await ensureGuestDir(ctx.paths, plan.target);
    // Off the host (--root unset) the kernel module may still be loading; tests on a host skip the wait.
    if (ctx.config.root === '') await waitForFilesystem(plan.fstype, 30_000);
    // A share hot-plugged into a VM restored from a template has its tag once the guest has probed the device;
    // until then the kernel refuses the mount with EINVAL ("tag not found").
    const shareDeadline = performance.now() + (args.source.kind === 'virtiofs' ? (args.deviceWaitMs ?? 0) : 0);
    for (;;) {
      try {
        await ctx.run('mount', ['-t', plan.fstype, '-o', plan.options.join(','), source, hostTarget], { timeoutMs: 120_000 });
        break;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (performance.now() < shareDeadline && /invalid argument|no such device/i.test(message)) {
          await new Promise((r) => setTimeout(r, SHARE_POLL_MS));
          continue;
        }
        throw new AgentError(failureCode(args.source.kind, message), message, { cause: e });
      }
    }
    ctx.mounted.add(plan.target);
    const log = ctx.log.child({ target: plan.target, source, fstype: plan.fstype });
    try {
      if (args.growToDevice && device) {
        await growFilesystem(ctx.devices, ctx.run, { mountPoint: hostTarget, guestPath: plan.target, waitMs: 0 });
      }
      if (args.fsGroup !== undefined) {
        if (plan.readonly) {
          log.warn({ fsGroup: args.fsGroup }, 'fsGroup not applied: the volume is mounted read-only');
          ctx.events.emit({ v: PROTOCOL_VERSION, event: 'log', level: 'warn', msg: 'fsGroup not applied to a read-only mount', fields: { target: plan.target } });
        } else {
          const done = await applyFsGroup(hostTarget, args.fsGroup, { policy: args.fsGroupChangePolicy ?? 'Always' });
          log.info({ fsGroup: args.fsGroup, ...done }, 'fsGroup applied');
        }
      }
    } catch (e) {
      await ctx.run('umount', [hostTarget]).catch((err: unknown) => log.error({ err }, 'cannot undo the mount'));
      ctx.mounted.delete(plan.target);
      throw e;
    }
    log.info({ options: plan.options }, 'mounted');
    return result;
  });
};
