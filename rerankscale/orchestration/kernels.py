"""The kernel managers papermill starts the study's kernels with: encrypted and quiet, and for
the analysis, pinned.

Two messages used to fill a successful sweep's terminal (issue 11, item 6), both written by
the kernel process itself to the sweep's stderr:

* ``Kernel is running over TCP without encryption`` (ipykernel, once per kernel): the stock
  manager hands a kernel plain TCP sockets. Our kernelspec (ipykernel's) declares CurveZMQ
  support, so the manager here provisions Curve keys (``transport_encryption="auto"``): the
  kernel's traffic is encrypted and the warning is true to say nothing. Without CurveZMQ in
  pyzmq (``zmq.has("curve")`` false) the policy stays ``disabled`` and the warning stays, as it
  should.
* ``KeyboardInterrupt caught in kernel`` (ipykernel, logged as an error): jupyter_client
  interrupts (SIGINT) every kernel before asking it to shut down, to stop code that may still
  run. nbclient shuts a kernel down after its last cell has finished, so there is nothing to
  interrupt, and a SIGINT that lands while the kernel handles a message is logged as an error.
  The manager here skips that interrupt; the shutdown request still stops the kernel, and
  jupyter_client still escalates to SIGTERM and SIGKILL if it does not exit in time. An
  explicit ``interrupt_kernel()`` (a cell timeout) interrupts as before.

The analysis kernels (``PinnedKernelManager``) also start with the pinned floating-point
environment (``numerics.pinned_env``: one BLAS kernel and thread, numpy's AVX-512 targets off,
glibc's SSE2 libm), set before the kernel starts, so that the tables they compute have the same
bits on every x86-64 Linux machine. The cells' kernels (training and evaluation, notebooks 02
and 03) start in the machine's own environment (``QuietKernelManager``) unless the study's
``cell_numerics`` is "pinned": the pin includes ``MKL_CBWR=COMPATIBLE``, which holds MKL,
torch's CPU GEMM, to its SSE2 code path, and a 640k training step takes 2.15× as long under it
(``bench/bench_cell_kernel.py``, stop 34). The committed ``cpu-10m`` study was trained pinned
and keeps the pin, so that its sweep recomputes its table (training amplifies the two
environments' GEMM rounding: a 640k cell's final NDCG@10 moved by up to .017); the default
``cpu`` study runs native.
"""

from __future__ import annotations

import zmq
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from rerankscale import numerics


class QuietKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` with Curve-encrypted sockets and no SIGINT at shutdown."""

    @default("transport_encryption")
    def _encrypt_when_possible(self) -> str:
        return "auto" if zmq.has("curve") else "disabled"

    async def _async_interrupt_kernel(self) -> None:
        # jupyter_client calls this from shutdown_kernel with shutting_down already set; the
        # public interrupt_kernel is bound to the base implementation and is unchanged.
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


class PinnedKernelManager(QuietKernelManager):
    """``QuietKernelManager`` whose kernel starts in the pinned floating-point environment."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        # the provisioner has built the kernel's environment (kw["env"]); pin it on top
        kw["env"] = numerics.pinned_env(kw.get("env"))
        await super()._async_launch_kernel(kernel_cmd, **kw)
