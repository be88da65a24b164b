"""Run small-matrix work with one BLAS thread.

Everything here is batched 6x6 algebra or small scikit-learn fits. With
OpenBLAS's default threads, on this 2-core machine under load, a 1,500-row
GaussianMixture BIC scan took 41 s instead of 0.9 s (threads spinning against
each other), so the mixture components limit BLAS/OpenMP to one thread while
they work and restore the setting afterwards.
"""

from __future__ import annotations

import functools


def single_blas_thread(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return method(*args, **kwargs)
    return wrapper
