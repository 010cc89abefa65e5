"""Simulation-based calibration of the default fit (issue 15): is the model's posterior what nutpie samples.

Draws ``--replications`` parameter sets from the prior of the default model on a
small simulated layout, simulates unit scores from the model's likelihood,
fits each with the default sampler and tests the ranks of the true values
among the posterior draws for uniformity (POT-C per quantity, Holm-corrected
over all quantities); see :mod:`bayes_cpp.validation`.

Usage (from the repository root; the full run)::

    python benchmarks/sbc.py --replications 200 --workers 2

Writes ``benchmarks/results/sbc.json`` (settings, tests, summary, fit records,
every rank) and ``benchmarks/results/sbc.png`` (the 12 quantities with the
smallest p-values), and prints the per-variable summary. The figure can be
redrawn from the JSON: ``plot_sbc(SBCResult.from_json(path))``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="local processes, one thread each")
    parser.add_argument("--llms", type=int, default=12)
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--families", type=int, default=4)
    parser.add_argument("--categories", type=int, default=2)
    parser.add_argument("--density", type=float, default=0.7)
    parser.add_argument("--spec", default="hbmf")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--newcomers", type=int, default=1, help="LLMs conditioned without refit")
    parser.add_argument("--revealed", type=int, default=2, help="revealed scores per newcomer")
    parser.add_argument("--max-cells", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sbc.json")
    parser.add_argument("--plot", type=Path, default=HERE / "results" / "sbc.png")
    args = parser.parse_args(argv)

    from bayes_cpp.validation import sbc, sbc_layout

    start = time.perf_counter()
    layout = sbc_layout(
        args.llms,
        args.tasks,
        n_families=args.families,
        n_categories=args.categories,
        density=args.density,
        random_seed=args.seed,
    )
    result = sbc(
        layout,
        replications=args.replications,
        spec=args.spec,
        params={"chains": args.chains, "draws": args.draws, "tune": args.tune},
        newcomers=args.newcomers,
        revealed=args.revealed,
        max_cells=args.max_cells,
        random_seed=args.seed,
        workers=args.workers,
        progress=True,
    )
    result.settings["command"] = " ".join(["python benchmarks/sbc.py", *(argv or sys.argv[1:])])
    result.settings["machine"] = f"{platform.machine()}, Python {platform.python_version()}"
    result.to_json(args.out, alpha=args.alpha)
    fits = result.fits
    print(result.summary(args.alpha).to_string(index=False))
    ok = fits["error"].isna()
    print(
        f"\n{len(fits)} fits ({int((~ok).sum())} failed), acceptance "
        f"{result.settings['acceptance']:.2f}, median {fits.loc[ok, 'seconds'].median():.1f} s "
        f"per fit, worst r-hat {fits.loc[ok, 'max_rhat'].max():.3f}, "
        f"{int(fits.loc[ok, 'n_divergent'].gt(0).sum())} fits with divergences; "
        f"{time.perf_counter() - start:.0f} s wall"
    )
    tests = result.tests(args.alpha)
    for kind in ("posterior", "prediction", "newcomer"):
        bad = tests[(tests["kind"] == kind) & tests["rejected"]]
        print(f"{kind}: {len(bad)} of {int((tests['kind'] == kind).sum())} quantities rejected")
    print(f"wrote {args.out}")
    if args.plot:
        from bayes_cpp import plotting

        plotting.plot_sbc(result).savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
