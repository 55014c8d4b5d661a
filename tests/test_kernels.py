"""Quiet kernels (issue 11, item 6): a papermill run through ``sweep.execute_notebook`` prints
no kernel warnings to the terminal, and its executed notebook holds no stderr progress text."""

import subprocess
import sys

import nbformat
import pytest
import zmq
from nbformat.v4 import new_code_cell, new_notebook

from rerankscale.orchestration.kernels import QuietKernelManager

NOISE = ("without encryption", "KeyboardInterrupt")
BARS = """from tqdm.auto import tqdm
for i in tqdm(range(n), desc="outer"):
    for j in tqdm(range(20), desc="inner", leave=False):
        pass
print("done")"""


def test_manager_encrypts_when_pyzmq_can():
    km = QuietKernelManager(kernel_name="python3")
    assert km.transport_encryption == ("auto" if zmq.has("curve") else "disabled")


@pytest.mark.slow
def test_papermill_run_is_quiet(tmp_path):
    """One real kernel (tens of seconds on a busy machine): the sweep's terminal output has no
    TCP warning and no KeyboardInterrupt; the notebook's progress bars are widgets (ipywidgets
    installed), not stderr text with a TqdmWarning."""
    nb = new_notebook()
    params = new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(BARS)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    nbformat.write(nb, tmp_path / "bars.ipynb")
    script = (
        "from pathlib import Path\nfrom rerankscale.orchestration import sweep\n"
        f"sweep.execute_notebook(Path({str(tmp_path / 'bars.ipynb')!r}), "
        f"Path({str(tmp_path / 'out.ipynb')!r}), {{'n': 2}}, cwd={str(tmp_path)!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    terminal = done.stdout + done.stderr
    assert not [n for n in NOISE if n in terminal], terminal
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    outputs = out.cells[-1].outputs
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "TqdmWarning" not in stderr and "IProgress" not in stderr
    assert "outer" not in stderr and "\x1b[A" not in stderr, stderr
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert any(o.get("text") == "done\n" for o in outputs)
