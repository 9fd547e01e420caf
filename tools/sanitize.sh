#!/usr/bin/env bash
# Run the test suite (or the fuzz harness) against a build of rectkern
# instrumented with AddressSanitizer and UndefinedBehaviorSanitizer, or
# under valgrind memcheck.
#
#   bash tools/sanitize.sh [asan] [pytest arguments ...]
#       a copy of the source tree built with -fsanitize=address,undefined
#       (every instruction-set level); the whole suite at the best level this
#       CPU runs (its levels test runs every level's kernels too), then the
#       kernels' own test files at each level below it; any report stops the
#       run with a non-zero status
#   bash tools/sanitize.sh fuzz [tools/fuzz.py arguments ...]
#       the same build, the fuzz harness run against it (at each level)
#   bash tools/sanitize.sh valgrind [pytest arguments ...]
#       a plain build, a representative subset of the suite under
#       valgrind memcheck (slow: about fifty times the normal run time)
#
# Linux with gcc or clang (CC picks one; default gcc).  The build and its
# virtual environment live in a temporary directory, or in RK_SANITIZE_DIR
# when set (kept, so later runs skip the installs).
#
# Python itself is not instrumented, so the sanitizer runtime is preloaded;
# leak detection is off because the interpreter does not free everything at
# exit, and PYTHONMALLOC=malloc makes every Python allocation visible to the
# sanitizers and to valgrind (not hidden in pymalloc's arenas).
#
# A build is kept beside its sources and reused while the sources and the
# flags are the same (a fuzz run after the suite does not build again).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=asan
case "${1:-}" in
    asan|fuzz|valgrind) mode=$1; shift ;;
esac
cc=${CC:-gcc}
if [ -n "${RK_SANITIZE_DIR:-}" ]; then
    work=$RK_SANITIZE_DIR
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi

if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv"
    # what pyproject.toml asks for building and testing (Python >= 3.11's tomllib)
    "$work/venv/bin/python" -c '
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))
print("\n".join(project["build-system"]["requires"]
                + project["project"]["optional-dependencies"]["test"]))
' "$root/pyproject.toml" >"$work/requirements.txt"
    "$work/venv/bin/python" -m pip install -q -r "$work/requirements.txt"
fi
py=$work/venv/bin/python

flags=()
if [ "$mode" = valgrind ]; then
    flags=(-g)
else
    # the exact sums carry every three adds here (2^30 in a release), so
    # that the carrying runs on every sum under the sanitizers
    flags=(-g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
           -DRK_EXACT_MAX_ADDS=3)
    if [ "$cc" = clang ]; then
        flags+=(-shared-libasan)        # the runtime python will preload
    fi
fi

# A fresh copy of the sources (not the developer's in-place build), built
# unless the same sources were built with the same flags last time.
src=$work/src
sources() {
    (cd "$root" && tar -cf - --sort=name --mtime=@0 --owner=0 --group=0 \
        --exclude='*.so' --exclude='__pycache__' --exclude='rectkern/_ext.c' \
        --exclude='rectkern/_elementwise.pyi' \
        setup.py pyproject.toml README.md LICENSE rectkern src_c tests docs tools)
}
stamp=$( { sources; echo "$cc ${flags[*]}"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$src/.build-stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "== build ($cc ${flags[*]}): unchanged sources, kept"
else
    rm -rf "$src"
    mkdir -p "$src"
    sources | tar -xf - -C "$src"
    echo "== build ($cc ${flags[*]})"
    (cd "$src" && CC=$cc CFLAGS="${flags[*]}" LDFLAGS="${flags[*]}" \
        "$py" setup.py -q build_ext --inplace >"$work/build.log" 2>&1) \
        || { cat "$work/build.log"; exit 1; }
    echo "$stamp" >"$src/.build-stamp"
fi

export PYTHONPATH=$src PYTHONMALLOC=malloc
cd "$src"
case "$mode" in
asan|fuzz)
    # the runtimes of the compiler that built the extension
    if [ "$cc" = clang ]; then
        runtime=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
    else
        runtime=$("$cc" -print-file-name=libasan.so)
    fi
    # -s: pytest does not capture stderr, where the reports go (a report
    # ends the process, which would lose what pytest had captured)
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # the best level, then each level below it (each has kernels of its
    # own): there, unless test paths were given, the suite's files that
    # call the kernels on every layout and edge value
    kernel_tests=(tests/test_elementwise.py tests/test_rrelu.py tests/test_prelu.py
                  tests/test_bias_act.py tests/test_maxout.py tests/test_optim.py
                  tests/test_errors.py tests/test_accuracy.py)
    for arg in "$@"; do
        if [ -e "${arg%%::*}" ]; then kernel_tests=(); fi
    done
    read -r -a below < <(LD_PRELOAD=$runtime "$py" -c \
        'from rectkern import _ext; print(*_ext.LEVELS[:_ext.LEVELS.index(_ext.LEVEL)])')
    for level in best "${below[@]}"; do
        if [ "$level" != best ]; then export RECTKERN_CPU=$level; fi
        echo "== $mode, level $level"
        if [ "$mode" = fuzz ]; then
            LD_PRELOAD=$runtime "$py" tools/fuzz.py "$@"
        elif [ "$level" = best ]; then
            LD_PRELOAD=$runtime "$py" -m pytest -q -s -p no:cacheprovider "$@"
        else
            LD_PRELOAD=$runtime "$py" -m pytest -q -s -p no:cacheprovider "$@" "${kernel_tests[@]}"
        fi
    done
    ;;
valgrind)
    # the kernels on every layout and edge value, once each
    subset=(tests/test_elementwise.py tests/test_prelu.py tests/test_maxout.py
            tests/test_errors.py -k "not hypothesis")
    if [ $# -gt 0 ]; then subset=("$@"); fi
    echo "== valgrind memcheck: ${subset[*]}"
    log=$work/valgrind.log
    status=0
    valgrind --tool=memcheck --errors-for-leak-kinds=none --track-origins=yes \
        --num-callers=30 --log-file="$log" \
        "$py" -m pytest -q -p no:cacheprovider "${subset[@]}" || status=$?
    # The interpreter and the dynamic loader have reports of their own (a
    # CPython not built for valgrind is not clean under it); rectkern's are
    # the reports with a frame in its extension (its C sources, its Cython
    # functions, or its shared object).
    "$py" - "$log" <<'PY' || status=1
import re
import sys

text = open(sys.argv[1]).read()
reports = [r for r in re.split(r"^==\d+== \n", text, flags=re.M)
           if re.search(r"^==\d+==    (at|by) ", r, flags=re.M)]
frame_of_ours = re.compile(
    r"^==\d+==    (at|by) .*(rectkern|\((\w+\.tmpl\.h|kernels\.c|cpu\.c|_ext\.c):\d+\))",
    flags=re.M)
ours = [r for r in reports if frame_of_ours.search(r)]
for report in ours:
    print(report)
print(f"valgrind: {len(reports)} reports, {len(ours)} in rectkern's extension "
      f"(the others in the interpreter or the loader)")
sys.exit(1 if ours else 0)
PY
    if [ "$status" != 0 ]; then
        exit "$status"
    fi
    ;;
esac
echo "== $mode: no reports"
