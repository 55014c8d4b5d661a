"""The package's tree follows the pipeline (docs/architecture.md): the foundation at the top,
one subpackage per stage, the notebooks' modules re-exported lazily without torch."""

import ast
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
    "schedule",
}
ORDER = ["data", "models", "training", "evaluation", "scaling", "reporting", "orchestration"]
STAGES = set(ORDER)  # pipeline order: a stage may import only the foundation and earlier stages


def stage_of(module: str) -> int:
    """0 for the foundation, 1-7 for the stages in pipeline order, 8 for the command line."""
    parts = module.split(".")
    if len(parts) < 2:
        return 0
    if parts[1] == "cli":
        return 8
    return ORDER.index(parts[1]) + 1 if parts[1] in ORDER else 0


def imported_modules(path: Path) -> set[str]:
    """Every ``rerankscale`` module ``path`` imports, at the top or inside a function (for
    ``from a import b``: ``a`` and ``a.b``, whether ``b`` is a module or a name)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rerankscale"):
            found.add(node.module)  # and each name, which may be a submodule
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("rerankscale")}
    return found


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


def test_no_import_runs_back_up_the_pipeline():
    """A module imports the foundation and its own or earlier stages only (the package
    ``__init__``'s lazy notebook re-exports aside)."""
    upward = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if module == "rerankscale.__init__":
            continue
        upward += [
            (module, target)
            for target in sorted(imported_modules(path))
            if stage_of(target) > stage_of(module)
        ]
    assert upward == []


def test_an_upward_import_is_seen_even_inside_a_function(tmp_path):
    module = tmp_path / "fake.py"
    module.write_text("def f():\n    from rerankscale.orchestration import sweep\n")
    targets = imported_modules(module)
    assert targets == {"rerankscale.orchestration", "rerankscale.orchestration.sweep"}
    assert stage_of("rerankscale.orchestration") > stage_of("rerankscale.reporting.report")


def module_graph() -> dict[str, set[str]]:
    """module → the package's modules it imports (anywhere in its source)."""
    paths = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }
    return {
        module: (imported_modules(path) & paths.keys()) - {module}
        for module, path in paths.items()
        if module != "rerankscale"  # the lazy notebook re-exports
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph`` (depth-first search), or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return []


def test_no_import_circles_even_through_imports_inside_functions():
    assert find_cycle(module_graph()) == []
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
