"""Is a seeded fit bitwise reproducible across processes? One fit, hashed.

Fits ``hbmf`` on cpp-crowdsourced (2 chains x 300 + 300, seed 3) and prints a
sha256 over every posterior array, the total leapfrog steps and the wall time.
Run it in separate processes under the conditions to compare, e.g.::

    export BAYES_CPP_DATA=../shared/data
    PYTENSOR_FLAGS=base_compiledir=/tmp/pt-new python benchmarks/reproducibility.py cold
    PYTENSOR_FLAGS=base_compiledir=/tmp/pt-new python benchmarks/reproducibility.py warm
    (yes > /dev/null & yes > /dev/null & yes > /dev/null & sleep 200; kill %1 %2 %3) &
    python benchmarks/reproducibility.py contended
"""

from __future__ import annotations

import hashlib
import sys
import time

import numpy as np

import bayes_cpp as bc


def main(label: str) -> None:
    data = bc.datasets.load("cpp-crowdsourced")
    est = bc.BayesCPP("hbmf", random_seed=3, chains=2, draws=300, tune=300)
    start = time.perf_counter()
    est.fit(data)
    wall = time.perf_counter() - start
    post = est.idata_["posterior"].to_dataset()
    digest = hashlib.sha256()
    for name in sorted(post.data_vars):
        digest.update(np.ascontiguousarray(post[name].values).tobytes())
    steps = int(est.idata_["sample_stats"].to_dataset()["n_steps"].sum())
    print(f"{label} hash {digest.hexdigest()[:16]} steps {steps} wall {wall:.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "run")
