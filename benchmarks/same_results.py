"""Check that two checkouts of bayes_cpp give bitwise the same fits, predictions, evaluations.

The check behind "behaviour unchanged" claims of refactors in RESULTS.md: run it
once per checkout, in the same PyTensor compile-cache state, and compare the
printed hashes::

    git worktree add ../old <commit>
    BAYES_CPP_DATA=../shared/data python benchmarks/same_results.py ../old
    BAYES_CPP_DATA=../shared/data python benchmarks/same_results.py .

(Run the first command twice if its first run compiled the models: cold-compiled
and cache-loaded code give different, each deterministic, draws; RESULTS.md.)
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np


def _hash(values: np.ndarray | bytes) -> str:
    raw = values if isinstance(values, bytes) else np.ascontiguousarray(values).tobytes()
    return hashlib.sha256(raw).hexdigest()[:16]


def main(checkout: str) -> None:
    sys.path.insert(0, checkout)
    import bayes_cpp as bc
    from bayes_cpp.evaluation import evaluate

    print("bayes_cpp from", bc.__file__)
    sim = bc.simulate(40, 12, rank=2, n_families=8, n_categories=3, density=0.5, random_seed=11)
    est = bc.BayesCPP(random_seed=1, draws=300, tune=300, chains=2).fit(sim.data)
    post = est.idata_["posterior"].to_dataset()
    print(
        "posterior", _hash(b"".join(np.ascontiguousarray(post[v]).tobytes() for v in sorted(post)))
    )
    print("predict", _hash(est.predict(random_seed=5).values))
    family = sim.data.families[0]
    scores = {"task-00": 50.0, "task-01": 40.0}
    print("forecast", _hash(est.forecast(family, factors={"params_b": 13.0}, scores=scores).values))
    data = bc.datasets.load("cpp-crowdsourced")
    protocols = [
        ("random", {"holdout": 0.05, "seeds": [1]}),
        ("llm-holdout", {"k": [0, 2], "llms": ["Qwen-14B"], "seeds": 1}),
        ("task-holdout", {"k": [2], "tasks": ["HumanEval(pass@1)"], "seeds": 1}),
    ]
    for protocol, kwargs in protocols:
        result = evaluate(data, protocol, methods=["hbmf", "additive"], progress=False, **kwargs)
        print(protocol, _hash(result.cells.to_csv().encode()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
