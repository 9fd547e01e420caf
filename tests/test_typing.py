"""Users of mypy --strict see real signatures: py.typed and the stubs hold."""

import os
import subprocess
import sys
import textwrap

from rectkern import _ext


def _registry_calls():
    """A call of every ufunc of the registry: the stub setup.py writes from
    the same rows must declare each."""
    lines = []
    for op in _ext.ELEMENTWISE:
        args = ", ".join(["x"] * len(op.inputs) + ["0.5"] * len(op.params))
        lines.append(f"{op.name}_result = rk.{op.name}({args})\n")
    return "".join(lines)


SNIPPET = textwrap.dedent('''
    from typing import Any

    import numpy as np
    from numpy.typing import NDArray

    import rectkern as rk
    from rectkern import init

    x: NDArray[np.float32] = np.ones((2, 4, 3, 3), np.float32)
    alpha = np.full(4, 0.25)
    dx = rk.relu_backward(x, x, out=np.empty_like(x))
    p: NDArray[np.float32] = rk.prelu(x, alpha, axis=1)
    grads: tuple[NDArray[np.float32], NDArray[np.float64]] = rk.prelu_backward(x, x, alpha)
    top, where = rk.maxout(x, 2, axis=1)
    back = rk.maxout_backward(top, where, 2, axis=1)
    w = init.he_normal((8, 4, 3, 3), a=0.25, mode="fan_out", rng=np.random.default_rng(0))
    u = init.he_uniform((8, 4), dtype=np.float32)
    v = init.xavier_normal((8, 4), gain=init.gain("relu"))
    z = init.xavier_uniform((8, 4), rng=0)
    fan_in, fan_out = init.fans((8, 4, 3, 3))
    std: float = init.he_std((64, 64, 3, 3), mode="fan_out")
    info: dict[str, object] = rk.config()
    rk.show_config()
    version: str = rk.__version__
    ufunc: np.ufunc = rk.relu
    opt = rk.optim.Adam([x, alpha], lr=1e-3, betas=(0.9, 0.99))
    opt.step([x, alpha])
    saved: dict[str, NDArray[Any]] = opt.state_dict()
    opt.load_state_dict(saved)
    groups = rk.optim.SGD([{"params": [x], "lr": 0.1}], momentum=0.9, nesterov=True)
    rk.optim.adam_step([x], [x], [x], [x], step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    norm: float = rk.optim.clip_grad_norm([x], 1.0)
''') + _registry_calls()


def test_strict_user_snippet(tmp_path):
    import rectkern

    path = tmp_path / "user.py"
    path.write_text(SNIPPET)
    command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
               "--cache-dir", os.devnull, str(path)]
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(rectkern.__file__))
    if "site-packages" not in package_parent:
        # an editable install: mypy cannot follow its import hook, so point
        # it at the source and treat it as installed code (checked for its
        # types, its own errors silent), as it treats site-packages
        env["MYPYPATH"] = package_parent
        command.insert(-1, "--follow-imports=silent")
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr


def test_package_is_typed():
    import rectkern

    here = os.path.dirname(rectkern.__file__)
    assert os.path.exists(os.path.join(here, "py.typed"))
    assert os.path.exists(os.path.join(here, "_ext.pyi"))
