"""The wheel-building configuration lists the intended builds and validates."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHONS = ("cp310", "cp311", "cp312", "cp313", "cp314")
INTENDED = {
    "linux": [f"{py}-{arch}" for arch in ("manylinux_x86_64", "manylinux_aarch64",
                                          "musllinux_x86_64") for py in PYTHONS],
    "macos": [f"{py}-macosx_{arch}" for arch in ("x86_64", "arm64") for py in PYTHONS],
    "windows": [f"{py}-win_amd64" for py in PYTHONS],
}


@pytest.mark.parametrize("platform", INTENDED)
def test_cibuildwheel_builds_what_is_intended(platform):
    done = subprocess.run(
        [sys.executable, "-m", "cibuildwheel", "--print-build-identifiers",
         "--platform", platform],
        cwd=ROOT, capture_output=True, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("CIBW_")})
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == sorted(INTENDED[platform])


def test_pyproject_validates_with_the_cibuildwheel_schema():
    done = subprocess.run([sys.executable, "-m", "validate_pyproject", "pyproject.toml"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    # the schema covers tool.cibuildwheel: an unknown key there is refused
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        broken = f.read().replace("[tool.cibuildwheel.windows]\n",
                                  "[tool.cibuildwheel.windows]\nno-such-option = 1\n")
    done = subprocess.run([sys.executable, "-m", "validate_pyproject", "-"],
                          input=broken, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0
    assert "no-such-option" in done.stdout + done.stderr
