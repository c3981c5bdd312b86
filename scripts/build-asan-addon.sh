#!/usr/bin/env bash
# Builds the addon with ASan and UBSan into build-asan/build/Release/sluice.node,
# beside the normal build/ and from the same binding.gyp (sluice_sanitize=1).
# node-gyp always builds into ./build, so build-asan/ is a second project
# directory whose binding.gyp, native/ and node_modules/ link back here; make
# keeps it incremental. Load it with (see test/system/sanitizers.test.ts):
#   LD_PRELOAD=$(gcc -print-file-name=libasan.so) \
#   SLUICE_ADDON_PATH=build-asan/build/Release/sluice.node node ...
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

dir=build-asan
mkdir -p "$dir"
for link in binding.gyp native node_modules scripts; do
  [[ -L "$dir/$link" ]] || ln -s "../$link" "$dir/$link"
done
cd "$dir"
# gyp lists the sources when it configures: configure again when that list or
# binding.gyp changed, as `node-gyp rebuild` would for the normal build.
bash scripts/lib/native-sources.sh all >build.sources.new
if [[ ! -f build/Makefile || binding.gyp -nt build/Makefile ]] || ! cmp -s build.sources.new build.sources; then
  npx --no-install node-gyp configure -- -Dsluice_sanitize=1 >build.log 2>&1 || {
    cat build.log >&2
    exit 1
  }
  mv -f build.sources.new build.sources
else
  rm -f build.sources.new
fi
npx --no-install node-gyp build -j 2 >build.log 2>&1 || {
  cat build.log >&2
  exit 1
}
echo "built $dir/build/Release/sluice.node"
