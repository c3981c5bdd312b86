# The native sources by layer, in one place: every build (the addon through
# binding.gyp, the unit tests, the fuzzers, the benches) takes its list from here.
# Layers are folders of native/, globbed, so a new source joins its layer's
# builds by where it is put.
#   source scripts/lib/native-sources.sh; native_sources LIST...  -> sets the array `sources`
#   bash scripts/lib/native-sources.sh LIST...                     -> prints them, one a line
# LIST is a layer (packet tables modes worker control addon) or one of:
#   all          everything the addon links (every layer)
#   packet_path  ProcessBurst and all it calls, with what builds a snapshot and a
#                ring port for it: what the fuzzers and burst_bench link
#   unit         what the EAL-free unit tests link (nothing here calls rte_eal_init)

native_layer() {
  case "$1" in
    packet) echo native/packet/*.cc ;;
    tables) echo native/tables/*.cc ;;
    modes) echo native/modes/*.cc native/modes/nat/*.cc ;;
    worker) echo native/worker/*.cc ;;
    control) echo native/control/*.cc ;;
    addon) echo native/addon/*.cc ;;
    # Pieces of the control layer that others link without the data plane:
    snapshot_build) echo native/control/snapshot_build*.cc ;;
    port_setup) echo native/control/port_setup.cc ;;
    control_rules) echo native/control/neighbor_resolver.cc native/control/nat_steering_rules.cc ;;
    flow_listing) echo native/worker/flow_listing.cc ;;
    allocator) echo native/control/allocator.cc ;;
    *) echo "native-sources: unknown layer '$1'" >&2; return 2 ;;
  esac
}

native_sources() {
  sources=()
  local list layer files
  for list in "$@"; do
    local layers
    case "$list" in
      all) layers=(packet tables modes worker control addon) ;;
      packet_path) layers=(packet tables modes worker snapshot_build port_setup) ;;
      unit) layers=(packet tables modes snapshot_build control_rules flow_listing allocator) ;;
      *) layers=("$list") ;;
    esac
    for layer in "${layers[@]}"; do
      files=$(native_layer "$layer") || return 2
      # shellcheck disable=SC2206  # globs already expanded, no spaces in paths
      sources+=($files)
    done
  done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  cd "$(dirname "${BASH_SOURCE[0]}")/../.."
  native_sources "$@"
  printf '%s\n' "${sources[@]}"
fi
