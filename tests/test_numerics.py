"""The analysis's pinned floating-point environment (rerankscale.numerics): what is pinned, that
a pinned interpreter runs with it, and that the analysis kernels start with it."""

import asyncio
import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.manager import AsyncKernelManager

from rerankscale import numerics
from rerankscale.orchestration.kernels import PinnedKernelManager, QuietKernelManager


def test_pinned_names_the_kernel_only_on_x86():
    x86 = numerics.pinned("x86_64")
    assert x86["OPENBLAS_CORETYPE"] == "Nehalem" and x86["OPENBLAS_NUM_THREADS"] == "1"
    assert "X86_V4" in x86["NPY_DISABLE_CPU_FEATURES"].split()
    arm = numerics.pinned("aarch64")
    assert arm == {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env = numerics.pinned_env({"PATH": "/bin", "OPENBLAS_NUM_THREADS": "8"})
    assert env["PATH"] == "/bin" and env["OPENBLAS_NUM_THREADS"] == "1"  # pinned values win


def test_a_pinned_interpreter_runs_with_the_pinned_blas():
    code = (
        "import json; from rerankscale import numerics; print(json.dumps(numerics.fingerprint()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=numerics.pinned_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    fp = json.loads(out.stdout)
    assert fp["blas"] and all(b.endswith("threads=1") for b in fp["blas"])
    if platform.machine().lower() in numerics.X86:
        assert all(" Nehalem " in b for b in fp["blas"]), fp["blas"]
        assert not [t for t in fp["simd"] if "512" in t or t == "X86_V4"]
    assert set(fp) == {"numpy", "scipy", "pandas", "blas", "simd", "libm", "machine"}
    if platform.machine().lower() in numerics.X86 and platform.libc_ver()[0] == "glibc":
        assert fp["libm"].endswith(f"hwcaps={numerics.LIBM_MASK}"), fp["libm"]


@pytest.mark.parametrize("core", ["Haswell", "Zen", "SkylakeX", "Sandybridge", "Prescott"])
def test_the_pin_overrides_a_machines_blas_kernel_and_threads(core):
    machine = {"OPENBLAS_CORETYPE": core, "OPENBLAS_NUM_THREADS": "16", "MKL_NUM_THREADS": "16"}
    env = numerics.pinned_env({"PATH": "/bin", **machine})
    assert env == numerics.pinned_env({"PATH": "/bin"})
    if platform.machine().lower() in numerics.X86:
        assert env["OPENBLAS_CORETYPE"] == "Nehalem" and env["OPENBLAS_NUM_THREADS"] == "1"


def test_pinned_env_keeps_the_callers_other_glibc_tunables():
    env = numerics.pinned_env(
        {"GLIBC_TUNABLES": "glibc.malloc.check=3:glibc.cpu.hwcaps=-AVX512F", "PATH": "/bin"}
    )
    mask = f"glibc.cpu.hwcaps={numerics.LIBM_MASK}"
    assert env["GLIBC_TUNABLES"] == f"glibc.malloc.check=3:{mask}"
    assert numerics.pinned_env({})["GLIBC_TUNABLES"] == mask
    assert "GLIBC_TUNABLES" not in numerics.pinned("aarch64")


LIBM_PROBE = (
    "import hashlib, numpy as np; x = np.random.default_rng(0).uniform(-20, 20, 200_000); "
    "print(hashlib.sha256(np.exp(x).tobytes() + np.power(np.abs(x), 0.37).tobytes())"
    ".hexdigest())"
)


def _probe(env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LIBM_PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_pinned_interpreter_computes_exp_as_a_cpu_without_fma():
    """glibc picks libm's code per CPU (FMA variant on CPUs with FMA and AVX2): the pinned
    interpreter runs the SSE2 code every x86-64 CPU runs, here and on an emulated FMA-less CPU
    alike; on a CPU with FMA the unpinned interpreter differs in the last bits."""
    if platform.machine().lower() not in numerics.X86 or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's libm variants exist on x86-64 Linux only")
    pinned = _probe(numerics.pinned_env())
    no_fma = dict(numerics.pinned_env(), GLIBC_TUNABLES="glibc.cpu.hwcaps=-FMA")
    assert _probe(no_fma) == pinned
    native = {k: v for k, v in numerics.pinned_env().items() if k != "GLIBC_TUNABLES"}
    flags = Path("/proc/cpuinfo").read_text().split()
    if "fma" in flags and "avx2" in flags:
        assert _probe(native) != pinned


def test_kernels_start_with_the_pinned_numerics(monkeypatch):
    seen = {}

    async def launch(self, kernel_cmd, **kw):
        seen.update(kw)

    monkeypatch.setattr(AsyncKernelManager, "_async_launch_kernel", launch)
    km = PinnedKernelManager(kernel_name="python3")
    asyncio.run(km._async_launch_kernel(["python"], env={"HOME": "/x", "OPENBLAS_CORETYPE": "Zen"}))
    assert seen["env"]["HOME"] == "/x"
    assert {k: seen["env"][k] for k in numerics.pinned()} == numerics.pinned()
    # the cells' kernels (training, evaluation) start in the machine's own environment
    seen.clear()
    native = {"HOME": "/x", "OPENBLAS_CORETYPE": "Zen"}
    asyncio.run(
        QuietKernelManager(kernel_name="python3")._async_launch_kernel(["python"], env=native)
    )
    assert seen["env"] == native


def test_a_study_names_its_cells_numerics_and_the_committed_one_keeps_the_pin(tmp_path):
    """``cell_numerics`` picks the cells' kernel (``Cell.pinned`` → ``PinnedKernelManager``):
    ``cpu-10m`` (and what inherits it) keeps the pinned environment its committed table was
    trained in, ``cpu`` and a preset that says nothing run native; anything else is a clear
    error before any work."""
    from rerankscale.config import ConfigError, load_study
    from rerankscale.orchestration.sweep import expand

    def pinned(preset) -> set[bool]:
        return {c.pinned for c in expand(preset, load_study(preset), tmp_path)}

    assert pinned("cpu-10m") == pinned("cpu-10m-offgrid") == {True}
    assert pinned("cpu") == pinned("cpu-offgrid") == pinned("smoke") == {False}
    # and the sweep starts each of a cell's notebooks in its cell's environment
    from rerankscale.orchestration import sweep

    seen = []

    def execute(notebook, output, parameters, cwd=None, pinned=False):
        seen.append(pinned)

    for preset, want in [("cpu-10m", True), ("cpu", False)]:
        seen.clear()
        cell = expand(preset, load_study(preset), tmp_path / preset)[0]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sweep, "execute_notebook", execute)
            assert sweep.run_cell(cell)["status"] == "done"
        assert seen == [want] * len(sweep.CELL_NOTEBOOKS), preset
    bad = tmp_path / "bad.yaml"
    bad.write_text("inherit: smoke\ncell_numerics: fast\n")
    with pytest.raises(
        ConfigError, match=r"cell_numerics 'fast' is not one of \('native', 'pinned'\)"
    ):
        load_study(str(bad))
