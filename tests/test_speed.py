"""What keeps the server's cost per message down (issue 20). Figures come from `make bench-load`;
these tests check the mechanisms, never a time."""

from __future__ import annotations

import subprocess

from tests.support.processes import BIN, SERVER_ENV


def test_the_server_gives_the_maths_libraries_one_thread_each():
    """bot.serve sets the thread count before NumPy loads: with two, OpenBLAS's second thread spun
    on the other core after every message."""
    env = {k: v for k, v in SERVER_ENV.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    code = ("import bot.serve, numpy, scipy.linalg, sklearn.linear_model; "
            "from threadpoolctl import threadpool_info; "
            "print(sorted({(i['internal_api'], i['num_threads']) for i in threadpool_info()}))")
    shown = subprocess.run([str(BIN / "python"), "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout
    assert "openblas" in shown and "openmp" in shown, shown
    assert ", 2)" not in shown and ", 1)" in shown, shown
