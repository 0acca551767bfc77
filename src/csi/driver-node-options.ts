// The Node.js flags the driver runs with. deploy/ sets them as NODE_OPTIONS on every passvol container, and the
// publish benchmark starts its driver with them, so the memory it reports is the memory a node pays.
//
// A driver is idle most of the time and bursty when pods start, and its live heap is a few MiB. V8 sizes its
// heap for the machine, not for that: its young generation (16 MiB semi-spaces) and an old generation allowed to
// grow towards gigabytes before a full collection both stay resident after the first burst. 2 MiB semi-spaces
// and a 128 MiB old-generation ceiling make V8 collect earlier and keep the driver's RSS near its idle size, at
// no measurable cost in publish throughput (bench/results/csi-publish.md). The ceiling is far above what the
// driver holds; were it ever reached, the driver would exit and restart with nothing lost, as after kill -9.
export const DRIVER_NODE_OPTIONS = '--max-semi-space-size=2 --max-old-space-size=128';
