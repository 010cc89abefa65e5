"""Compare latent ranks of the default spec by PSIS-LOO on a named dataset.

BAYES_CPP_DATA=../shared/data python benchmarks/rank_loo.py --dataset cpp-crowdsourced --ranks 1 2 3
"""

from __future__ import annotations

import argparse
import time
import warnings

import bayes_cpp as bc
from bayes_cpp.model_selection import compare_ranks


def main(args: argparse.Namespace) -> None:
    warnings.simplefilter("ignore")
    data = bc.datasets.load(args.dataset)
    start = time.perf_counter()
    table = compare_ranks(
        data, ranks=args.ranks, random_seed=args.seed, draws=args.draws, tune=args.draws
    )
    print(table.round(2).to_string())
    print(f"total {time.perf_counter() - start:.0f} s")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cpp-crowdsourced")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    main(parse())
