"""The analysis's pinned floating-point environment (rerankscale.numerics): what is pinned, that
a pinned interpreter runs with it, and that the analysis kernels start with it."""

import asyncio
import json
import platform
import subprocess
import sys

from jupyter_client.manager import AsyncKernelManager

from rerankscale import numerics
from rerankscale.kernels import QuietKernelManager


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
    assert set(fp) == {"numpy", "scipy", "pandas", "blas", "simd", "machine"}


def test_kernels_start_with_the_pinned_numerics(monkeypatch):
    seen = {}

    async def launch(self, kernel_cmd, **kw):
        seen.update(kw)

    monkeypatch.setattr(AsyncKernelManager, "_async_launch_kernel", launch)
    km = QuietKernelManager(kernel_name="python3")
    asyncio.run(km._async_launch_kernel(["python"], env={"HOME": "/x", "OPENBLAS_CORETYPE": "Zen"}))
    assert seen["env"]["HOME"] == "/x"
    assert {k: seen["env"][k] for k in numerics.pinned()} == numerics.pinned()
