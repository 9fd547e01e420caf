"""The README's training loop runs as written and trains."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block_after(heading):
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_training_loop_trains_and_times_adam():
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_python_block_after("## Train"), str(README), "exec"), {})
    lines = printed.getvalue().splitlines()
    accuracies = [float(line.split()[-1]) for line in lines if line.startswith("epoch")]
    assert len(accuracies) == 5
    assert accuracies[-1] > 0.9 and accuracies[-1] > accuracies[0]
    timed = [line for line in lines if line.endswith("ms per step")]
    assert [line.split()[0] for line in timed] == ["rectkern.optim.Adam", "NumPy"]
