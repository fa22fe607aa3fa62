#!/usr/bin/env bash
# examples/test_installed.sh BUILD_DIR EXAMPLES_DIR LIBDIR — the installed edxbus as a service
# sees it. `cmake --install` into a temporary prefix, which is then moved elsewhere (only a
# relocatable install still works); then:
#   - edxbus.h includes every installed public header;
#   - `pkg-config --cflags edxbus` names the moved prefix and none of the brokers' private
#     flags (hiredis' include directory, -D_FILE_OFFSET_BITS);
#   - every example builds with the one documented command,
#       cc X.c $(pkg-config --cflags --libs edxbus) -o X
#     (the plugin with -fPIC -shared and --cflags only), and the programs run;
#   - the same examples build as a CMake project through find_package(edxbus), and one runs.
# EXAMPLES_CFLAGS adds flags (the sanitizer build's). Exit 0 when all of it holds.
set -euo pipefail
build=$(cd "$1" && pwd)
examples=$(cd "$2" && pwd)
libdir=$3
cflags=${EXAMPLES_CFLAGS:-}
tmp=$(mktemp -d /tmp/edxbus-installed-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/first" >/dev/null
mv "$tmp/first" "$tmp/moved"
prefix=$tmp/moved
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
export LD_LIBRARY_PATH=$prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# edxbus.h includes every public header that was installed.
for h in "$prefix"/include/edxbus/*.h; do
    name=$(basename "$h")
    [ "$name" = edxbus.h ] && continue
    grep -q "#include \"edxbus/$name\"" "$prefix/include/edxbus/edxbus.h" ||
        fail "edxbus.h does not include $name"
done

# The compile line: the moved prefix, nothing private.
# The one path in a flag of $1 (e.g. -I), resolved.
flag_dir() { for f in $2; do case $f in "$1"*) realpath -m "${f#"$1"}" ;; esac; done; }
cf=$(pkg-config --cflags edxbus)
[ "$(flag_dir -I "$cf" | head -1)" = "$(realpath "$prefix/include")" ] ||
    fail "pkg-config --cflags: $cf (want the include directory of $prefix)"
case "$cf" in *hiredis* | *_FILE_OFFSET_BITS* | *"$build"*) fail "private flags leak: $cf" ;; esac
libs=$(pkg-config --libs edxbus)
[ "$(flag_dir -L "$libs" | head -1)" = "$(realpath "$prefix/$libdir")" ] ||
    fail "pkg-config --libs: $libs (want the library directory of $prefix)"

# The one documented command, for every example.
cd "$tmp"
for ex in typed_enrollment service_threads; do
    # shellcheck disable=SC2046,SC2086
    cc $cflags "$examples/$ex.c" $(pkg-config --cflags --libs edxbus) -o "$tmp/$ex" ||
        fail "pkg-config build of $ex"
done
# shellcheck disable=SC2046,SC2086
cc $cflags -fPIC -shared "$examples/plugin/memory_backend.c" $(pkg-config --cflags edxbus) \
    -o "$tmp/libedxbus_example.so" || fail "pkg-config build of the plugin"
"$tmp/typed_enrollment" "$tmp/typed.db" >/dev/null || fail "typed_enrollment (pkg-config build)"
"$tmp/service_threads" -t 3 -n 50 "$tmp/service.db" >/dev/null ||
    fail "service_threads (pkg-config build)"

# find_package(edxbus): the examples as a CMake project of their own.
CFLAGS="$cflags" cmake -S "$examples" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
    >/dev/null || fail "cmake configure with find_package(edxbus)"
cmake --build "$tmp/cmake-build" >/dev/null || fail "cmake build with find_package(edxbus)"
"$tmp/cmake-build/service_threads" -t 2 -n 50 "$tmp/service2.db" >/dev/null ||
    fail "service_threads (find_package build)"
echo "installed edxbus: pkg-config and find_package builds of every example run"
