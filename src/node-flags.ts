// The flags node runs the daemon with: the installed wrapper (scripts/install.sh),
// `npm start`, the tier testbed and the benchmark pass them. The data plane
// keeps every control-plane thread on the main lcore's one CPU
// (native/control/affinity.h), V8's garbage-collection helpers included: there
// they do no work in parallel with the event loop, only take its CPU at moments
// of their own choosing, as after a large change, when the next reads wait for
// them. Collected on the event loop's thread, in steps, the worst read after a
// 4,096-backend POST took about half as long (docs/performance-notes.md, "One
// thread for the collector").
export const DAEMON_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];
