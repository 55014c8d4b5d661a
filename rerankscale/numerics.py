"""The analysis's floating-point environment: the same bits on every x86-64 machine.

A table of the study is the end of a chain of L-BFGS-B fits, bootstrap refits and thresholds
(converged or not, the share of usable replicates, a parameter on a bound). A different CPU
changes the last bit of a dot product, which moves an optimiser's path; where the objective is
flat (a parameter on a bound, an extrapolation far from the data) or a replicate sits at a
threshold, the tables move by far more. Sources (measured in ``docs/forecasting.md``,
"Bit-reproducible analysis"):

* **BLAS kernels.** OpenBLAS picks its kernels for the CPU it runs on (Haswell, SkylakeX,
  Zen, ...) and each sums a dot product in its own order. scipy's L-BFGS-B calls BLAS (ddot,
  dgemv, dpotrf, dtrtrs) at every iteration and the Huber objective calls numpy's dot. Forcing
  another kernel on one machine (``OPENBLAS_CORETYPE=Sandybridge`` on a Haswell-class CPU, the
  small reproduction tables of ``tests/analysis/test_reproducible.py``) moved most numbers in
  their last bits, forecasts by up to 2e-7 (relative), a coefficient on a bound by 95 %, and
  switched one forecast's interval method: a bootstrap replicate crossed the convergence
  threshold, 8 of 8 resamples usable became 7 of 8, and its interval went from
  [0.570, 0.609] to [0.537, 0.692].
* **SIMD dispatch.** numpy runs float64 ``exp``/``log`` through AVX-512 code where the CPU has
  it, rounded differently from the code every other CPU runs.
* **Threads.** OpenBLAS splits long reductions across threads (the fits' vectors are too short
  for that, and they run under ``optimize.single_threaded_blas``; measured: no effect).
* **libm's dispatch.** numpy's float64 ``exp``, ``log``, ``power``, ``expm1``, ``log1p`` (on
  CPUs without AVX-512, and with its AVX-512 targets off) call the C library's, and glibc
  picks each function's code by CPU when it loads (ifunc): an FMA variant on CPUs with FMA and
  AVX2 (Intel from Haswell, AMD from Zen), SSE2 code on older CPUs and FMA-less virtual CPUs.
  The two round differently in the last bit (measured on 10⁶ random arguments: ``exp`` 738,
  ``pow`` 775, ``expm1`` 2,097, ``log`` 15 values 1 ulp apart). Emulating an FMA-less CPU
  (``GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA``) moved the reproduction tables of
  ``tests/analysis/test_reproducible.py`` beyond their 1e-9 tolerance (forecasts by 6e-9
  relative, a coefficient on a bound by 1e-7), with the BLAS kernel pinned.

``pinned()`` fixes all four: one BLAS kernel every x86-64 CPU can run (``Nehalem``, SSE4.2;
``MKL_CBWR`` is its counterpart for MKL builds), one BLAS thread, numpy's AVX-512 targets off
(names of numpy 2.4 and of 1.26–2.3; numpy ignores names it does not know), and glibc's SSE2
code for every libm function (``GLIBC_TUNABLES``: the AVX, AVX2, FMA and FMA4 ifunc variants
masked; names of glibc ≥ 2.33 and of 2.26–2.32, glibc ignores names it does not know; other
tunables of the caller are kept). Measured: the pinned tables are identical with numpy's AVX2
group (``X86_V3``) switched off as well (an older CPU). The libraries read these variables
once, when they load (glibc's before the program starts), so they must be in a process's
environment when it starts: the analysis kernels get them from ``kernels.PinnedKernelManager``
(``rerankscale figures``, the sweep, ``make notebooks``); a script or test starts a
subprocess with ``pinned_env()``. An interactive session (``make lab``) is not pinned and may differ from the
committed tables in the last bits. Speed: the fits are dominated by per-call overhead on
vectors of 3–5 parameters, not by the kernels.

``fingerprint()`` describes the environment a process actually runs in (library versions,
BLAS kernels and threads, numpy's active SIMD targets, the C library and its libm mask); the
analysis memo keys its entries by it, so a table computed in one environment is never served in
another. Other architectures (arm64) have other kernels, and other C libraries (musl, macOS)
another libm: bit-identity holds between x86-64 Linux machines with glibc.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping

AVX512_TARGETS = (
    # numpy >= 2.4 groups
    "X86_V4 AVX512_ICL AVX512_SPR "
    # numpy 1.26 - 2.3 names
    "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL"
)
X86 = ("x86_64", "amd64")
# glibc's libm ifunc variants masked: SSE2 code on every x86-64 CPU (glibc >= 2.33 names, then
# the 2.26-2.32 ones)
LIBM_TUNABLE = "glibc.cpu.hwcaps"
LIBM_MASK = "-AVX,-AVX2,-FMA,-FMA4,-AVX_Usable,-AVX2_Usable,-FMA_Usable,-FMA4_Usable"


def pinned(machine: str | None = None) -> dict[str, str]:
    """The variables that fix the analysis's floating-point environment on ``machine``
    (default: this one's ``platform.machine()``); the BLAS kernel, numpy's SIMD targets and
    libm's variants only on x86-64, where those names exist."""
    machine = (machine or platform.machine()).lower()
    env = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if machine in X86:
        env.update(
            OPENBLAS_CORETYPE="Nehalem",
            MKL_CBWR="COMPATIBLE",
            NPY_DISABLE_CPU_FEATURES=AVX512_TARGETS,
            GLIBC_TUNABLES=f"{LIBM_TUNABLE}={LIBM_MASK}",
        )
    return env


def pinned_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) with ``pinned()`` on top: the environment to start a
    process that runs the analysis in (the pinned values win over the caller's; the caller's
    other glibc tunables are kept)."""
    env = dict(os.environ if base is None else base)
    pins = pinned()
    if "GLIBC_TUNABLES" in pins and env.get("GLIBC_TUNABLES"):
        # GLIBC_TUNABLES is a colon-separated list of name=value; ours replaces the hwcaps one
        kept = [t for t in env["GLIBC_TUNABLES"].split(":") if t.split("=")[0] != LIBM_TUNABLE]
        pins["GLIBC_TUNABLES"] = ":".join([*filter(None, kept), pins["GLIBC_TUNABLES"]])
    env.update(pins)
    return env


def fingerprint() -> dict:
    """What decides this process's last bits: numpy/scipy/pandas versions, the loaded BLAS
    libraries (kernel architecture, threads), numpy's active SIMD dispatch targets and the C
    library with the libm variants masked for this process (``GLIBC_TUNABLES``' hwcaps)."""
    import numpy as np
    import pandas as pd
    import scipy
    import scipy.optimize  # noqa: F401 - loads scipy's own BLAS, so that it is listed
    from threadpoolctl import threadpool_info

    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy < 2
        from numpy.core import _multiarray_umath as umath
    features = getattr(umath, "__cpu_features__", {})
    simd = [t for t in getattr(umath, "__cpu_dispatch__", ()) if features.get(t)]
    blas = sorted(
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
        f"threads={i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    )
    return {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "blas": blas,
        "simd": simd,
        "libm": _libm(),
        "machine": platform.machine(),
    }


def _libm() -> str:
    """The C library and version and the libm mask this process started with, e.g.
    ``"glibc 2.36 hwcaps=-AVX,..."`` (glibc reads the mask once, at start-up)."""
    lib, version = platform.libc_ver()
    tunables = os.environ.get("GLIBC_TUNABLES", "").split(":")
    mask = next((t.split("=", 1)[1] for t in tunables if t.split("=")[0] == LIBM_TUNABLE), "")
    return f"{lib or 'unknown'} {version} hwcaps={mask or 'native'}".strip()
