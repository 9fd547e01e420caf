"""The command line, as a user meets it: the installed ``rectkern`` script and
``python -m rectkern`` answer ``--help`` with their usage and status 0, and a
wrong argument with their usage and status 2, never with a traceback."""

import importlib.metadata
import os
import subprocess
import sys
import sysconfig

import pytest

SUBCOMMANDS = ["demo", "info", "bench"]

HELP = [["--help"], ["-h"]] + [[command, "--help"] for command in SUBCOMMANDS]

WRONG = [
    [],                                   # a subcommand is required
    ["--no-such-option"],
    ["no-such-command"],
    ["demo", "--dtype", "int8"],
    ["demo", "--no-such-option"],
    ["info", "extra"],
    ["bench", "--dtype", "complex64"],
    ["bench", "--layout", "CHWN"],
    ["bench", "--sizes", "many"],
    ["bench", "--sizes"],
    ["bench", "--plot"],
]


def installed_script():
    """The console script pip wrote for this environment, or None when the
    package runs from a tree it was built in place (no distribution)."""
    try:
        importlib.metadata.distribution("rectkern")
    except importlib.metadata.PackageNotFoundError:
        return None
    name = "rectkern.exe" if sys.platform == "win32" else "rectkern"
    places = [sysconfig.get_path("scripts", scheme)
              for scheme in (sysconfig.get_default_scheme(), f"{os.name}_user")]
    for scripts in places:
        if os.path.exists(os.path.join(scripts, name)):
            return os.path.join(scripts, name)
    pytest.fail(f"rectkern is installed but its script {name!r} is in none of {places}")


@pytest.fixture(params=["script", "module"])
def command(request):
    if request.param == "module":
        return [sys.executable, "-m", "rectkern"]
    script = installed_script()
    if script is None:
        pytest.skip("rectkern is not installed as a distribution (built in place)")
    return [script]


def run(command, args):
    env = dict(os.environ, PYTHONWARNINGS="error")
    return subprocess.run(command + args, capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.parametrize("args", HELP, ids=" ".join)
def test_help(command, args):
    result = run(command, args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: rectkern"), result.stdout
    assert result.stderr == ""
    expected = args[0] if args[0] in SUBCOMMANDS else "{demo,info,bench}"
    assert expected in result.stdout


def test_help_text(command):
    # the line whose bare % once made argparse raise
    assert "% of the memory limit" in " ".join(run(command, ["--help"]).stdout.split())
    bench_help = run(command, ["bench", "--help"]).stdout
    for option in ("--dtype", "--layout", "--sizes", "--plot"):
        assert option in bench_help, option


@pytest.mark.parametrize("args", WRONG, ids=lambda a: " ".join(a) or "(nothing)")
def test_wrong_argument(command, args):
    result = run(command, args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("usage: rectkern"), result.stderr
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_info(command):
    result = run(command, ["info"])
    assert result.returncode == 0, result.stderr
    assert "rectkern" in result.stdout and "level" in result.stdout
