// Root tests use real mounts and loop devices; the cleanup is the project's own.
export { undoMountsAndLoops } from '../../src/common/scratch-cleanup.js';

export const needsRoot = process.getuid?.() !== 0 ? 'needs root: uses loop devices, mkfs and mount' : false;
