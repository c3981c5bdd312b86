/*
 * LD_PRELOAD for a `sluice run` daemon on net_af_packet that must see IPv4
 * fragments as a NIC delivers them. DPDK's af_packet driver (22.11,
 * rte_eth_af_packet.c) joins every queue's socket to a fanout group with
 * PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles IPv4 fragments
 * (ip_check_defrag) before hashing them to a queue: the balancer would get a
 * 4,028-byte datagram cut to its 2,048-byte frame instead of three fragments,
 * and could neither follow nor forward them. A NIC reassembles nothing; with
 * the flag cleared the kernel's fanout hash still puts all fragments of a
 * datagram on one queue (the flow dissector hashes fragments, first included,
 * on their addresses), as RSS does. IPv6 fragments are never reassembled there.
 *
 * Every other setsockopt reaches libc unchanged. Built by the test that uses
 * it: cc -shared -fPIC -o af_packet_no_defrag.so af_packet_no_defrag.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

typedef int (*setsockopt_fn)(int fd, int level, int name, const void *value, socklen_t length);

int setsockopt(int fd, int level, int name, const void *value, socklen_t length) {
  static setsockopt_fn real;
  if (real == NULL) {
    real = (setsockopt_fn)dlsym(RTLD_NEXT, "setsockopt");
    if (real == NULL) {
      fprintf(stderr, "af_packet_no_defrag: no setsockopt after this library\n");
      abort();
    }
  }
  if (level == SOL_PACKET && name == PACKET_FANOUT && value != NULL && length == sizeof(unsigned int)) {
    /* The group id in the low 16 bits, the mode and its flags in the high 16. */
    unsigned int arg = *(const unsigned int *)value & ~((unsigned int)PACKET_FANOUT_FLAG_DEFRAG << 16);
    return real(fd, level, name, &arg, length);
  }
  return real(fd, level, name, value, length);
}
