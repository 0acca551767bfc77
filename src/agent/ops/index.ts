// The op registry: one handler per op of the protocol's request table (the compiler checks it is complete).
import type { OpName } from '../../protocol/index.js';
import { closeStdin } from './close-stdin.js';
import { containerStats } from './container-stats.js';
import { updateContainer } from './update-container.js';
import { resizeTerminal } from './resize-terminal.js';
import { freezeContainer } from './freeze-container.js';
import { createContainer } from './create-container.js';
import { deleteContainer } from './delete-container.js';
import { guestInfo } from './guest-info.js';
import { ping } from './ping.js';
import { setClock } from './set-clock.js';
import { setupNetwork } from './setup-network.js';
import { setupPodNetwork } from './setup-pod-network.js';
import { shutdown } from './shutdown.js';
import { signal } from './signal.js';
import { startProcess } from './start-process.js';
import { wait } from './wait.js';
import { writeStdin } from './write-stdin.js';
import { growFilesystem } from './grow-filesystem.js';
import { freezeFilesystem, thawFilesystem } from './freeze-filesystem.js';
import type { Handler } from './handler.js';
import { mount } from './mount.js';
import { statfs } from './statfs.js';
import { unmount } from './unmount.js';

export const HANDLERS: { readonly [O in OpName]: Handler<O> } = {
  ping,
  mount,
  unmount,
  createContainer,
  startProcess,
  signal,
  wait,
  writeStdin,
  closeStdin,
  deleteContainer,
  containerStats,
  updateContainer,
  resizeTerminal,
  freezeContainer,
  statfs,
  growFilesystem,
  freezeFilesystem,
  thawFilesystem,
  guestInfo,
  setClock,
  setupNetwork,
  setupPodNetwork,
  shutdown,
};
