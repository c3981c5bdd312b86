# Sourced by the native build scripts that link the per-packet path without the
# addon (build-fuzzers.sh, build-burst-bench.sh): ProcessBurst and everything it
# calls, and port_setup.cc for the ring port.
worker_sources=(native/worker.cc native/worker_ipv6.cc native/flow_table.cc native/flow_table_create.cc
  native/flow_table6.cc native/encap.cc native/encap6.cc native/icmp_errors.cc native/icmpv6_errors.cc native/ndp.cc
  native/snapshot.cc native/snapshot_ipv6.cc native/maglev.cc native/local_reply.cc native/port_setup.cc
  native/nat_forward.cc native/nat_pool.cc native/nat_sessions.cc)
