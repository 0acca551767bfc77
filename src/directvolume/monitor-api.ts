// The Kata shim management ("monitor") socket, as far as direct volumes use it: HTTP over a unix socket.
// Shared by the client (CLI, CSI driver) and the server (passvol runtime) so both speak Kata's exact shape.
import { join } from 'node:path';
import { z } from 'zod';

export const MONITOR_SOCKET_NAME = 'shim-monitor.sock';
/** Kata's Go shim keeps sandboxes here; runtime-rs under DEFAULT_RS_SHIM_ROOT. */
export const DEFAULT_GO_SHIM_ROOT = '/run/vc/sbs';
export const DEFAULT_RS_SHIM_ROOT = '/run/kata';
export const STATS_URL_PATH = '/direct-volume/stats';
export const RESIZE_URL_PATH = '/direct-volume/resize';
/**
 * passvol's additions (Kata's shim answers 404 to them): hold a passed-through disk's guest filesystem still
 * while its disk is copied for a snapshot. The freeze has a lease, after which the guest thaws by itself.
 */
export const FREEZE_URL_PATH = '/direct-volume/freeze';
export const THAW_URL_PATH = '/direct-volume/thaw';
/** Kata's CLI waits this long for the shim. */
export const MONITOR_TIMEOUT_MS = 3000;
/**
 * passvol's monitor adds its stable error code to a failure in this header; Kata's clients ignore it and
 * read the status and body as before, passvol's client keeps the exact code (and so the exit code).
 */
export const ERROR_CODE_HEADER = 'x-passvol-error';

export function monitorSocketPath(shimRoot: string, sandboxId: string): string {
  return join(shimRoot, sandboxId, MONITOR_SOCKET_NAME);
}

/** Unit of a usage entry: 1 = bytes, 2 = inodes (CSI VolumeUsage.Unit numbering). */
export const UsageUnit = { BYTES: 1, INODES: 2 } as const;

const count = z.number().int().nonnegative().optional();
export const VolumeStatsSchema = z
  .object({
    usage: z
      .array(z.object({ available: count, total: count, used: count, unit: z.number().int().optional() }).passthrough())
      .optional(),
    volume_condition: z.object({ abnormal: z.boolean().optional(), message: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();
export type VolumeStats = z.infer<typeof VolumeStatsSchema>;

/** Body of POST /direct-volume/resize: Go field names, no JSON tags. */
export const ResizeRequestSchema = z
  .object({
    VolumePath: z.string().min(1, 'VolumePath must name the device of the volume'),
    Size: z.number().int().positive('Size must be a positive number of bytes').max(Number.MAX_SAFE_INTEGER),
  })
  .strict();
export type ResizeRequest = z.infer<typeof ResizeRequestSchema>;

/** Body of POST /direct-volume/freeze, in the resize body's style. */
export const FreezeRequestSchema = z
  .object({
    VolumePath: z.string({ required_error: 'VolumePath is required: the device of the volume' }).min(1, 'VolumePath must name the device of the volume'),
    LeaseMs: z.number({ required_error: 'LeaseMs is required: how long the guest may stay frozen, in ms' }).int().min(100, 'LeaseMs must be at least 100').max(300_000, 'LeaseMs must be at most 300000 (5 minutes)'),
    /** Extend the lease of a freeze held now (from this call) instead of freezing. */
    Renew: z.boolean().optional(),
  })
  .strict();
export const ThawRequestSchema = z
  .object({ VolumePath: z.string({ required_error: 'VolumePath is required: the device of the volume' }).min(1, 'VolumePath must name the device of the volume') })
  .strict();
/** Answer of POST /direct-volume/thaw: false when the freeze did not last until the thaw (the lease ran out). */
export const ThawAnswerSchema = z.object({ held_throughout: z.boolean() });

/** Go's url.QueryEscape: everything but A-Z a-z 0-9 - _ . ~ is %XX-escaped, and a space becomes '+'. */
export function goQueryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Kata's JSON for a stats answer: zero fields are omitted (Go omitempty), units are numbers.
 */
export function formatVolumeStats(bytes: { total: number; used: number; available: number }, inodes?: { total: number; used: number; available: number }, condition?: { abnormal: boolean; message: string }): string {
  const entry = (u: { total: number; used: number; available: number }, unit: number): Record<string, number> => {
    const e: Record<string, number> = {};
    if (u.available) e.available = u.available;
    if (u.total) e.total = u.total;
    if (u.used) e.used = u.used;
    e.unit = unit;
    return e;
  };
  const usage = [entry(bytes, UsageUnit.BYTES)];
  if (inodes) usage.push(entry(inodes, UsageUnit.INODES));
  const vc: Record<string, unknown> = {};
  if (condition?.abnormal) vc.abnormal = true;
  vc.message = condition?.message ?? 'OK';
  return JSON.stringify({ usage, volume_condition: vc });
}
