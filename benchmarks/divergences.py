"""Where does a fit diverge? Each quantity's shift at divergent draws, in posterior sds.

Fits the default model (or ``--spec``) to a dataset with one seed and, for every scalar
of the posterior, compares its mean over the divergent draws with its mean over the
others, in units of its posterior sd. A quantity far from 0 marks the region NUTS cannot
cross (a funnel's neck, a likelihood that turns stiff); a spread of small values means
no single place. Constant entries (observed design factors) are skipped.

Usage (from the repository root)::

    BAYES_CPP_DATA=../shared/data python benchmarks/divergences.py --dataset obsscaling --seed 3
"""

from __future__ import annotations

import argparse
import warnings


def main(argv: list[str] | None = None) -> int:
    from bayes_cpp import BayesCPP, datasets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="obsscaling")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--spec", default="hbmf")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)

    data = datasets.load(args.dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = BayesCPP(args.spec, random_seed=args.seed).fit(data)
    post = est.idata_["posterior"]
    diverging = est.idata_["sample_stats"]["diverging"].to_numpy()
    div = diverging.ravel()
    print(f"{int(div.sum())} divergences; per chain {diverging.sum(axis=1).tolist()}")
    if not div.any():
        return 0
    rows = []
    for name, da in post.data_vars.items():
        arr = da.to_numpy()
        labels = [str(c) for c in da[da.dims[2]].to_numpy()] if da.ndim == 3 else None
        arr = arr.reshape(arr.shape[0] * arr.shape[1], -1)
        for j in range(arr.shape[1]):
            x = arr[:, j]
            sd = float(x.std())
            if sd < 1e-6 * (abs(float(x.mean())) + 1.0):
                continue
            z = (x[div].mean() - x[~div].mean()) / sd
            label = (
                f"{name}[{labels[j]}]"
                if labels
                else (name if arr.shape[1] == 1 else f"{name}[{j}]")
            )
            rows.append((abs(z), label, z, x[div].mean(), x[~div].mean(), sd))
    rows.sort(reverse=True)
    print(f"{'quantity':40s} {'z':>6s} {'at div':>9s} {'elsewhere':>9s} {'sd':>7s}")
    for _, label, z, a, b, sd in rows[: args.top]:
        print(f"{label:40s} {z:+6.2f} {a:9.3f} {b:9.3f} {sd:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
