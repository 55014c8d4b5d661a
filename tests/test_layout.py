"""The package's tree follows the pipeline (docs/architecture.md): the foundation at the top,
one subpackage per stage, the notebooks' modules re-exported lazily without torch."""

import json
import subprocess
import sys
from pathlib import Path

import rerankscale

PACKAGE = Path(rerankscale.__file__).resolve().parent
FOUNDATION = {
    "__init__",
    "cli",
    "config",
    "paths",
    "caches",
    "io",
    "memo",
    "numerics",
    "provenance",
}
STAGES = {"data", "models", "training", "evaluation", "scaling", "reporting", "orchestration"}


def test_top_level_is_the_foundation_and_the_stages():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert modules == FOUNDATION
    assert packages == STAGES
    for stage in STAGES:
        doc = (PACKAGE / stage / "__init__.py").read_text().lstrip()
        assert doc.startswith('"""'), stage


def test_notebook_modules_import_from_the_top_without_torch():
    script = (
        "import json, sys\n"
        "from rerankscale import memo, overview, report, runplots, study, suite_report\n"
        "print(json.dumps({'torch': 'torch' in sys.modules,"
        " 'transformers': 'transformers' in sys.modules,"
        " 'names': [m.__name__ for m in (memo, overview, report, runplots, study, suite_report)]}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["torch"] is False and seen["transformers"] is False
    assert seen["names"] == [
        "rerankscale.memo",
        "rerankscale.reporting.overview",
        "rerankscale.reporting.report",
        "rerankscale.reporting.runplots",
        "rerankscale.orchestration.study",
        "rerankscale.reporting.suite_report",
    ]
    assert "report" in dir(rerankscale)
