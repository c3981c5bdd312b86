/*
 * LD_PRELOAD for ngtcp2's example server (gtlsserver, Debian ngtcp2-server
 * 0.12): it makes every connection ID it issues, its first SCID and those of
 * NEW_CONNECTION_ID frames alike, with gnutls_rnd(GNUTLS_RND_RANDOM, cid, 18)
 * (examples/server.cc, util_gnutls.cc generate_secure_random) and has no
 * option for their format. A call of exactly that length gets a QUIC-LB
 * plaintext connection ID (draft-ietf-quic-load-balancers-21, 5.2) naming
 * this server; every other call, and gnutls's own calls inside the library,
 * reach the real gnutls_rnd.
 *
 *   SLUICE_QUIC_LB_CONFIG_ID   0..6
 *   SLUICE_QUIC_LB_SERVER_ID   the server ID in hex; the nonce fills the rest
 *   SLUICE_QUIC_LB_CID_LENGTH  the server's connection ID length (default 18)
 *
 * Built by the test that uses it: cc -shared -fPIC -o quic_lb_cids.so quic_lb_cids.c -ldl
 * A missing or bad variable aborts the server at its first connection ID
 * rather than letting it issue IDs the balancer cannot route.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gnutls/crypto.h's values, so the interposer builds without libgnutls28-dev. */
#define GNUTLS_RND_RANDOM 1
#define MAX_CID 20
#define MAX_CONFIG_ID 6

typedef int (*rnd_fn)(int level, void *data, size_t len);

static rnd_fn real_rnd;
static int ready;
static size_t cid_length = 18;
static uint8_t first_octet;
static uint8_t server_id[MAX_CID];
static size_t server_id_length;

static void die(const char *why) {
  fprintf(stderr, "quic_lb_cids: %s\n", why);
  abort();
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void setup(void) {
  /* The version the server links against: dlsym alone could pick another. */
  real_rnd = (rnd_fn)dlvsym(RTLD_NEXT, "gnutls_rnd", "GNUTLS_3_4");
  if (real_rnd == NULL) real_rnd = (rnd_fn)dlsym(RTLD_NEXT, "gnutls_rnd");
  if (real_rnd == NULL) die("no gnutls_rnd after this library");

  const char *length = getenv("SLUICE_QUIC_LB_CID_LENGTH");
  if (length != NULL) cid_length = (size_t)strtoul(length, NULL, 10);
  const char *config = getenv("SLUICE_QUIC_LB_CONFIG_ID");
  const char *id = getenv("SLUICE_QUIC_LB_SERVER_ID");
  if (config == NULL || id == NULL) die("SLUICE_QUIC_LB_CONFIG_ID and SLUICE_QUIC_LB_SERVER_ID must be set");
  char *end;
  unsigned long config_id = strtoul(config, &end, 10);
  if (*config == '\0' || *end != '\0' || config_id > MAX_CONFIG_ID) die("SLUICE_QUIC_LB_CONFIG_ID must be 0..6");
  size_t digits = strlen(id);
  server_id_length = digits / 2;
  if (digits == 0 || digits % 2 != 0 || cid_length < 2 || cid_length > MAX_CID || 1 + server_id_length >= cid_length) {
    die("SLUICE_QUIC_LB_SERVER_ID must be whole octets in hex, leaving room for a nonce in the connection ID");
  }
  for (size_t i = 0; i < server_id_length; i++) {
    int hi = hex_digit(id[2 * i]);
    int lo = hex_digit(id[2 * i + 1]);
    if (hi < 0 || lo < 0) die("SLUICE_QUIC_LB_SERVER_ID must be hex");
    server_id[i] = (uint8_t)(hi << 4 | lo);
  }
  /* The low 5 bits carry the length of what follows (draft 3: length self-description). */
  first_octet = (uint8_t)(config_id << 5 | ((cid_length - 1) & 0x1f));
  ready = 1;
}

int gnutls_rnd(int level, void *data, size_t len) {
  if (!ready) setup();
  if (level != GNUTLS_RND_RANDOM || len != cid_length) return real_rnd(level, data, len);
  uint8_t *cid = data;
  cid[0] = first_octet;
  memcpy(cid + 1, server_id, server_id_length);
  return real_rnd(level, cid + 1 + server_id_length, len - 1 - server_id_length);
}
