# Sourced by the native build scripts (build-native-tests.sh, build-fuzzers.sh).
#   compile_objects CXX OBJ_DIR SOURCE...
# Compiles each source into OBJ_DIR, all in parallel, with the flags in the array
# `compile_flags`; a source is compiled again only when it, one of the files in the
# array `headers`, or FORCE=1 says so (the headers over-approximate the real
# includes, which is cheap and never leaves a stale object). Sets the array
# `objects` (in source order) and `compiled` (how many were compiled); returns 1
# when any compile failed.
compile_objects() {
  local cxx=$1 obj_dir=$2
  shift 2
  mkdir -p "$obj_dir"
  objects=()
  compiled=0
  local src obj pid failed=0 pids=()
  for src in "$@"; do
    obj="$obj_dir/$(echo "${src%.cc}" | tr / _).o"  # path-derived: no basename clashes
    objects+=("$obj")
    if [[ "${FORCE:-0}" == "1" || ! -f "$obj" || -n "$(find "$src" "${headers[@]}" -newer "$obj" -print -quit)" ]]; then
      echo "compiling $src"
      "$cxx" "${compile_flags[@]}" -c "$src" -o "$obj.tmp" && mv -f "$obj.tmp" "$obj" &
      pids+=($!)
    fi
  done
  compiled=${#pids[@]}
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return "$failed"
}

# up_to_date OUT OBJECT...: OUT exists and is newer than every object.
up_to_date() {
  local out=$1
  shift
  [[ -x "$out" && -z "$(find "$@" -newer "$out" -print -quit)" ]]
}
