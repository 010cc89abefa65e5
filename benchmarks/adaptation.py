"""Compare nutpie mass-matrix adaptations on the default model (wall and CPU time, steps).

BAYES_CPP_DATA=../shared/data python benchmarks/adaptation.py diag low_rank
"""

from __future__ import annotations

import sys
import time
import warnings

import nutpie

import bayes_cpp as bc


def main(adaptations: list[str], dataset: str = "cpp-crowdsourced") -> None:
    warnings.simplefilter("ignore")
    model = bc.BayesCPP("hbmf").build_model(bc.datasets.load(dataset))
    start = time.time()
    compiled = nutpie.compile_pymc_model(model, backend="numba")
    print("compile", round(time.time() - start, 1))
    for adapt in adaptations:
        start, cpu = time.time(), time.process_time()
        trace = nutpie.sample(
            compiled, draws=300, tune=300, chains=2, cores=2, progress_bar=False, seed=1,
            adaptation=adapt, target_accept=0.9,
        )  # fmt: skip
        steps = trace.sample_stats.n_steps
        print(
            f"{adapt}: wall {time.time() - start:.1f} s, cpu {time.process_time() - cpu:.1f} s, "
            f"mean leapfrog steps {float(steps.mean()):.0f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or ["diag", "low_rank"])
