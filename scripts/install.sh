#!/usr/bin/env bash
# Installs Sluice from this checkout as a service, or removes it (docs/installing.md):
#
#   bash scripts/install.sh [--root DIR] [--hugepages-mb N]     npm run install-service
#   bash scripts/install.sh --uninstall [--purge] [--root DIR]  npm run uninstall-service
#
# Install puts, under the root (/ by default; DIR, or $DESTDIR, for a staging tree):
#   /usr/local/bin/sluice                       a wrapper: node <this checkout>/dist/src/cli.js "$@"
#   /usr/local/lib/systemd/system/sluice.service   packaging/systemd/sluice.service
#   /etc/sysctl.d/60-sluice-hugepages.conf      vm.nr_hugepages, 2 MiB hugepages at boot
#                                               (N MiB: --hugepages-mb, $SLUICE_HUGEPAGES_MB, 1024)
#   /etc/sluice/config.yaml                     config/example.yaml, only when there is none
#   /var/lib/sluice/                            the state directory (0700)
#   /usr/local/lib/sluice/installed             what this install created, for the uninstall
# Running it again changes nothing, or only what differs (the wrapper after the
# checkout moved, another --hugepages-mb). It never replaces a file it did not
# write, and never an existing config.
#
# Uninstall disables the service and removes the wrapper, the unit, the sysctl
# file and every directory install created that is empty again. The config and
# the state directory are kept; --purge removes them too (all of /var/lib/sluice,
# and /etc/sluice when nothing else is in it). It does not release hugepages
# reserved while running (they go at the next boot) and leaves drop-ins made by
# `systemctl edit` alone.
#
# With the root /, it must run as root, and when systemd runs the system it
# reloads systemd after changing the unit. Nothing is started or enabled.
set -euo pipefail
export LC_ALL=C
checkout=$(cd "$(dirname "$0")/.." && pwd)

MARK="Sluice's scripts/install.sh"
WRAPPER=usr/local/bin/sluice
UNIT=usr/local/lib/systemd/system/sluice.service
SYSCTL=etc/sysctl.d/60-sluice-hugepages.conf
CONFIG_DIR=etc/sluice
CONFIG=etc/sluice/config.yaml
STATE_DIR=var/lib/sluice
MANIFEST=usr/local/lib/sluice/installed

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }
die() { echo "install.sh: $*" >&2; exit 1; }
die_usage() { echo "install.sh: $*" >&2; exit 2; }
say() { echo "install.sh: $*"; }

root=${DESTDIR:-}
uninstall=0
purge=0
hugepages_mb=${SLUICE_HUGEPAGES_MB:-1024}
while [ "$#" -gt 0 ]; do
  case "$1" in
    --root) [ "$#" -ge 2 ] || die_usage "--root needs a directory"; root=$2; shift 2 ;;
    --root=*) root=${1#--root=}; shift ;;
    --hugepages-mb) [ "$#" -ge 2 ] || die_usage "--hugepages-mb needs a number"; hugepages_mb=$2; shift 2 ;;
    --hugepages-mb=*) hugepages_mb=${1#--hugepages-mb=}; shift ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown argument '$1' (see --help)" ;;
  esac
done
[ "$purge" = 0 ] || [ "$uninstall" = 1 ] || die_usage "--purge goes with --uninstall"
if ! [[ "$hugepages_mb" =~ ^[0-9]+$ ]] || [ "$hugepages_mb" -lt 2 ]; then
  die_usage "--hugepages-mb must be a number of MiB, at least 2, not '$hugepages_mb'"
fi

# $root is "" for / and otherwise an absolute path without a trailing slash.
if [ -n "$root" ]; then
  [ -d "$root" ] || die "--root $root is not a directory"
  root=$(cd "$root" && pwd)
  [ "$root" != / ] || root=
fi
live=0
[ -n "$root" ] || live=1
if [ "$live" = 1 ] && [ "$(id -u)" != 0 ]; then
  die "installing into / needs root (or give --root DIR)"
fi
# systemd runs this machine and the unit goes to this machine's /.
systemd_live=0
[ "$live" = 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null && systemd_live=1

# Paths below are relative to the root; p turns one into the real path.
p() { echo "$root/$1"; }
ours() { [ -f "$(p "$1")" ] && grep -qF "$MARK" "$(p "$1")"; }

# What install created this time, as manifest lines: "d PATH" or "f PATH".
created=()

# mkdirs PATH MODE: PATH and every missing parent; the missing ones are recorded.
mkdirs() {
  local rel=$1 mode=$2 part="" comp
  local -a comps
  IFS=/ read -r -a comps <<<"$rel"
  for comp in "${comps[@]}"; do
    part=${part:+$part/}$comp
    if [ ! -d "$(p "$part")" ]; then
      [ -e "$(p "$part")" ] && die "$(p "$part") exists and is not a directory"
      if [ "$part" = "$rel" ]; then mkdir -m "$mode" "$(p "$part")"; else mkdir -m 0755 "$(p "$part")"; fi
      created+=("d $part")
    fi
  done
}

# put PATH MODE SOURCE-FILE: PATH gets SOURCE-FILE's bytes and MODE, unless it has
# them already (do_install has refused files this script did not write).
put() {
  local rel=$1 mode=$2 src=$3 dst
  dst=$(p "$rel")
  if [ -e "$dst" ] || [ -L "$dst" ]; then
    if cmp -s "$src" "$dst" && [ "$(stat -c %a "$dst")" = "${mode#0}" ]; then
      say "unchanged $dst"
      return
    fi
    say "updated $dst"
  else
    mkdirs "$(dirname "$rel")" 0755
    created+=("f $rel")
    say "installed $dst"
  fi
  cp "$src" "$dst.install-tmp"
  chmod "$mode" "$dst.install-tmp"
  mv -f "$dst.install-tmp" "$dst"
}

do_install() {
  local node
  [ -f "$checkout/dist/src/cli.js" ] && [ -f "$checkout/build/Release/sluice.node" ] ||
    die "$checkout is not built (dist/src/cli.js, build/Release/sluice.node): run \`npm run setup\` first"
  node=$(command -v node) || die "node is not on the PATH"
  case "$checkout$node" in
    *"'"*|*$'\n'*) die "the checkout's path or node's may not hold a quote or a newline: $checkout, $node" ;;
  esac
  local flags
  flags=$("$node" -p "require('$checkout/dist/src/node-flags.js').DAEMON_NODE_FLAGS.join(' ')") ||
    die "could not read the daemon's node flags from $checkout/dist/src/node-flags.js: run \`npm run setup\` first"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT

  cat >"$tmp/wrapper" <<EOF
#!/bin/sh
# sluice: installed by $MARK from the checkout $checkout.
# It runs that checkout's CLI with the node found at install time, and the
# daemon's node flags (src/node-flags.ts); build the checkout (npm run build)
# to update it, run the install again if it moves.
exec '$node' $flags '$checkout/dist/src/cli.js' "\$@"
EOF
  local pages=$((hugepages_mb / 2))
  cat >"$tmp/sysctl" <<EOF
# Installed by $MARK (docs/installing.md): hugepages for
# Sluice's DPDK data plane (mbuf pools, flow tables, nat sessions), reserved at
# boot by systemd-sysctl: $pages pages, $((pages * 2)) MiB. vm.nr_hugepages counts pages of
# the default size, 2 MiB on x86-64 unless the kernel command line sets
# default_hugepagesz=. A file sorting after this one that sets it too wins.
vm.nr_hugepages = $pages
EOF

  # Refused before anything changes, so a refused install leaves nothing behind.
  local rel
  for rel in "$WRAPPER" "$UNIT" "$SYSCTL"; do
    if [ -L "$(p "$rel")" ] || { [ -e "$(p "$rel")" ] && ! ours "$rel"; }; then
      die "$(p "$rel") exists and was not installed by this script; move it away first (an \`npm link\` of sluice: npm unlink -g sluice)"
    fi
  done
  put "$WRAPPER" 0755 "$tmp/wrapper"
  local unit_before=""
  [ -f "$(p "$UNIT")" ] && unit_before=$(cat "$(p "$UNIT")")
  put "$UNIT" 0644 "$checkout/packaging/systemd/sluice.service"
  put "$SYSCTL" 0644 "$tmp/sysctl"
  local other
  other=$(grep -lE '^[[:space:]]*vm\.nr_hugepages[[:space:]]*=' "$(p etc/sysctl.d)"/*.conf "$(p run/sysctl.d)"/*.conf \
    "$(p usr/lib/sysctl.d)"/*.conf "$(p etc/sysctl.conf)" 2>/dev/null | grep -vF "$(p "$SYSCTL")" || true)
  [ -z "$other" ] || echo "install.sh: note: vm.nr_hugepages is also set in: $other" >&2

  if [ -e "$(p "$CONFIG")" ]; then
    say "kept $(p "$CONFIG")"
  else
    mkdirs "$CONFIG_DIR" 0755
    cp "$checkout/config/example.yaml" "$(p "$CONFIG").install-tmp"
    chmod 0640 "$(p "$CONFIG").install-tmp"
    mv "$(p "$CONFIG").install-tmp" "$(p "$CONFIG")"
    created+=("f $CONFIG")
    say "installed $(p "$CONFIG") from config/example.yaml"
  fi
  if [ -d "$(p "$STATE_DIR")" ]; then
    say "kept $(p "$STATE_DIR")/"
  else
    mkdirs "$STATE_DIR" 0700
    say "created $(p "$STATE_DIR")/"
  fi

  # The manifest is written only when something was created, so an install
  # over an installed tree leaves every byte as it was.
  if [ "${#created[@]}" -gt 0 ]; then
    mkdirs "$(dirname "$MANIFEST")" 0755
    [ -e "$(p "$MANIFEST")" ] || created+=("f $MANIFEST")
    {
      [ ! -f "$(p "$MANIFEST")" ] || cat "$(p "$MANIFEST")"
      printf '%s\n' "${created[@]}"
    } | sort -u >"$tmp/manifest"
    cp "$tmp/manifest" "$(p "$MANIFEST")"
    chmod 0644 "$(p "$MANIFEST")"
  fi

  if [ "$systemd_live" = 1 ] && [ "$unit_before" != "$(cat "$(p "$UNIT")")" ]; then
    systemctl daemon-reload
  fi
  say "done. Edit $(p "$CONFIG") (docs/real-nics.md for a NIC), then: systemctl enable --now sluice"
  if [ "$live" = 1 ]; then
    local nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
    if [ -r "$nr" ] && [ "$(cat "$nr")" -lt "$pages" ]; then
      say "only $(cat "$nr") of $pages hugepages are reserved now; the rest come at the next boot, or now with: sysctl -p /$SYSCTL"
    fi
  fi
}

# rm_ours PATH: removes PATH if this script wrote it.
rm_ours() {
  local dst
  dst=$(p "$1")
  if ours "$1"; then
    rm -f "$dst"
    say "removed $dst"
  elif [ -e "$dst" ] || [ -L "$dst" ]; then
    echo "install.sh: left $dst: it was not installed by this script" >&2
  fi
}

do_uninstall() {
  local -a dirs=()
  local line
  if [ -f "$(p "$MANIFEST")" ]; then
    while IFS= read -r line; do
      case "$line" in "d "*) dirs+=("${line#d }") ;; esac
    done <"$(p "$MANIFEST")"
  fi
  if [ "$systemd_live" = 1 ] && ours "$UNIT"; then
    systemctl disable --now sluice.service 2>/dev/null || true
  fi
  # What `systemctl enable` made (under another root, or without systemd running).
  local link
  while IFS= read -r link; do
    [ -n "$link" ] || continue
    rm -f "$link"
    say "removed $link"
  done < <(find "$(p etc/systemd/system)" -mindepth 2 -maxdepth 2 -path '*.wants/sluice.service' -type l 2>/dev/null || true)

  rm_ours "$WRAPPER"
  rm_ours "$UNIT"
  rm_ours "$SYSCTL"
  if [ "$purge" = 1 ]; then
    if [ -e "$(p "$CONFIG")" ]; then rm -f "$(p "$CONFIG")"; say "removed $(p "$CONFIG")"; fi
    if [ -d "$(p "$STATE_DIR")" ]; then rm -rf "$(p "$STATE_DIR")"; say "removed $(p "$STATE_DIR")/"; fi
    if [ -d "$(p "$CONFIG_DIR")" ]; then
      if rmdir "$(p "$CONFIG_DIR")" 2>/dev/null; then say "removed $(p "$CONFIG_DIR")/"
      else echo "install.sh: left $(p "$CONFIG_DIR")/: it holds files install did not put there" >&2; fi
    fi
  else
    [ ! -e "$(p "$CONFIG")" ] || say "kept $(p "$CONFIG") (--purge removes it)"
    [ ! -d "$(p "$STATE_DIR")" ] || say "kept $(p "$STATE_DIR")/ (--purge removes it)"
  fi
  rm -f "$(p "$MANIFEST")"
  # Deepest first; a directory that still holds anything stays.
  local d
  while IFS= read -r d; do
    [ -n "$d" ] || continue
    # Kept without --purge, even when empty.
    if [ "$purge" = 0 ] && { [ "$d" = "$STATE_DIR" ] || [ "$d" = "$CONFIG_DIR" ]; }; then continue; fi
    [ -d "$(p "$d")" ] && rmdir "$(p "$d")" 2>/dev/null || true
  done < <(printf '%s\n' "${dirs[@]+"${dirs[@]}"}" | sort -r)

  [ "$systemd_live" = 0 ] || systemctl daemon-reload
  if [ "$live" = 1 ]; then
    say "hugepages reserved now stay until the next boot (or: echo 0 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)"
  fi
}

if [ "$uninstall" = 1 ]; then do_uninstall; else do_install; fi
