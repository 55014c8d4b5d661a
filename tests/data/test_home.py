"""IR_DATASETS_HOME: project-local default, env override, set before ir_datasets is imported."""

from __future__ import annotations

import json

from conftest import REPO, run_python

CODE = """
import json, os, sys
import rerankscale.data as data
out = {"home": str(data.dataset_home()), "env": os.environ.get("IR_DATASETS_HOME"),
       "irds_imported": "ir_datasets" in sys.modules}
if {import_irds}:
    import ir_datasets
    out["irds"] = str(ir_datasets.util.home_path())
print(json.dumps(out))
"""


def test_default_home_is_project_local_and_set_before_ir_datasets(monkeypatch):
    monkeypatch.delenv("IR_DATASETS_HOME", raising=False)
    out = json.loads(run_python(CODE.replace("{import_irds}", "False")).strip())
    expected = str(REPO / ".cache" / "ir_datasets")
    # importing rerankscale.data sets the variable and does not import ir_datasets yet
    assert out == {"home": expected, "env": expected, "irds_imported": False}


def test_env_var_overrides(tmp_path):
    out = json.loads(
        run_python(
            CODE.replace("{import_irds}", "True"), env={"IR_DATASETS_HOME": str(tmp_path)}
        ).strip()
    )
    assert out == {
        "home": str(tmp_path),
        "env": str(tmp_path),
        "irds_imported": False,
        "irds": str(tmp_path),
    }
