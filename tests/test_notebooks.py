"""The committed notebooks are the generator's (``tools/make_notebooks.py``) and the analysis
notebooks are committed executed: a reader who opens them sees the study.

``make notebooks`` (``tools/execute_notebooks.py``) executes 01 and 04-06 in place on the
committed ``figures/results.csv``; papermill adds one cell, the injected parameters. nbval
(``make test``) runs every notebook again without writing it. These checks read the files only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from rerankscale.orchestration import sweep

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", ROOT / "tools/make_notebooks.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _generator()


def _authored(nb) -> list[tuple[str, str]]:
    return [
        (c.cell_type, c.source)
        for c in nb.cells
        if "injected-parameters" not in c.get("metadata", {}).get("tags", [])
    ]


@pytest.mark.parametrize("name", sorted(GEN.NOTEBOOKS))
def test_committed_notebook_is_the_generators(name):
    committed = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    assert _authored(committed) == _authored(GEN.build(name, GEN.NOTEBOOKS[name])), (
        f"notebooks/{name} differs from tools/make_notebooks.py: regenerate "
        "(.venv/bin/python tools/make_notebooks.py), then `make notebooks`"
    )
    assert committed.metadata.kernelspec.display_name == "rerankscale (.venv)"


@pytest.mark.parametrize("name", sweep.ANALYSIS_NOTEBOOKS)
def test_analysis_notebook_is_committed_executed_with_its_figures(name):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    injected = [c for c in code if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1, "execute it with `make notebooks` (papermill injects parameters)"
    assert 'results_path = "figures/results.csv"' in injected[0].source
    assert "figures_dir = None" in injected[0].source  # displays only, never writes figures/
    for cell in code:
        outputs = cell.get("outputs", [])
        assert not [o for o in outputs if o.output_type == "error"], cell.source
        assert not [o for o in outputs if o.get("name") == "stderr"], (
            f"{name}: stderr in a committed cell (a reader sees it red): {cell.source[:60]!r}"
        )
        last = cell.source.strip().splitlines()[-1] if cell.source.strip() else ""
        if last == "fig":  # a figure cell: its image is in the notebook
            images = [o for o in outputs if "image/png" in o.get("data", {})]
            assert len(images) == 1, f"{name}: figure cell without exactly one image"
    # the last code cell ran: the whole notebook was executed, not a prefix
    assert code[-1].execution_count is not None and code[-1].get("outputs")
    # no machine-specific or per-run metadata (papermill's paths and timings)
    assert "papermill" not in nb.metadata
    assert not any("papermill" in c.metadata or "execution" in c.metadata for c in nb.cells)
