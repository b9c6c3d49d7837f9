#!/usr/bin/env bash
# Builds SARSOP's solver, pomdpsol (Kurniawati, Hsu & Lee 2008; github.com/AdaCompNUS/sarsop), from a checkout of
# its public source at $SARSOP_SRC, out of tree into $SARSOP_BUILD (default target/sarsop). The source is never
# kept in this repository. The one fix a current g++ needs: -fcommon and -std=gnu++98 (old C++ with common
# symbols), passed as the Makefile's CFLAGS with its own optimisation flags. Prints the path of pomdpsol.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${SARSOP_SRC:?set SARSOP_SRC to a checkout of github.com/AdaCompNUS/sarsop}
out=${SARSOP_BUILD:-target/sarsop}
[ -f "$src/src/Makefile" ] || { echo "error: SARSOP_SRC: no src/Makefile under $src" >&2; exit 2; }
mkdir -p "$out"
cp -r "$src/src/." "$out/"
make -C "$out" -j"$(nproc)" \
    CFLAGS='-g -w -O3 $(INCDIR) -msse2 -mfpmath=sse -fcommon -std=gnu++98' pomdpsol >"$out/build.log" 2>&1 \
    || { tail -20 "$out/build.log" >&2; exit 1; }
echo "$out/pomdpsol"
