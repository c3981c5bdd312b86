// The flags node runs the daemon with: the installed wrapper (scripts/install.sh),
// `npm start`, the tier testbed and the benchmark pass them. The data plane
// keeps every control-plane thread on the main lcore's one CPU
// (native/control/affinity.h), V8's garbage-collection helpers and optimising
// compiler included: there they do no work in parallel with the event loop,
// only take its CPU at moments of their own choosing, as after a large change,
// when the next reads wait for them.
// - `--single-threaded-gc`: the collector works on the event loop's thread, in
//   steps (docs/performance-notes.md, "one thread for the collector").
// - `--max-inlined-bytecode-size-cumulative=100` (V8's default is 920): an
//   optimising compile inlines the small functions it calls, not whole call
//   trees, so it is shorter; the first list after the big POST had waited for
//   such compiles (docs/performance-notes.md, "A smaller inlining budget").
export const DAEMON_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-inlined-bytecode-size-cumulative=100'];
