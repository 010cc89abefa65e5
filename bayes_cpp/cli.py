"""Command-line interface ``bayes-cpp`` (also ``python -m bayes_cpp``).

Built only on the public API. Subcommands:

* ``datasets [--json]``: the named datasets with shapes, source and license.
* ``specs [--json]``: the model specifications shipped in ``models/``.
* ``fit --dataset NAME | --scores CSV ... --out FIT.nc``: fit and save.
* ``predict --fit FIT.nc [--llm ...] [--task ...] [--csv OUT]``: posterior
  summaries of predicted scores.
* ``diagnose --fit FIT.nc``: convergence report on identified quantities.
* ``evaluate --dataset NAME | --scores CSV ... --protocol random ...``: the
  evaluation harness; prints a Markdown table, optionally writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes_cpp import dims
from bayes_cpp.exceptions import BayesCPPError

__all__ = ["main"]


def _datasets(args: argparse.Namespace) -> int:
    from bayes_cpp import datasets

    table = datasets.list()
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=2, default=str))
    else:
        shown = table.assign(density=table["density"].map(lambda d: f"{d:.1%}"))
        print(shown.drop(columns=["description"]).to_string(index=False))
    return 0


def _specs(args: argparse.Namespace) -> int:
    from bayes_cpp.spec import available_specs, load_spec

    records = [load_spec(name).to_dict() for name in available_specs()]
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        for r in records:
            print(f"{r['name']:14s} rank {r['rank']}  {r['likelihood']:9s} {r['description']}")
    return 0


def _load_data(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from bayes_cpp import datasets, read_llm_factors_csv, read_task_factors_csv, read_wide_csv
    from bayes_cpp.readers import read_long_csv

    if args.dataset:
        return datasets.load(args.dataset)
    if not args.scores:
        raise BayesCPPError("give --dataset NAME or --scores CSV")
    llms = read_llm_factors_csv(args.llm_factors) if args.llm_factors else None
    tasks = read_task_factors_csv(args.task_factors) if args.task_factors else None
    reader = read_long_csv if args.long else read_wide_csv
    return reader(args.scores, llms=llms, tasks=tasks)


def _fit(args: argparse.Namespace) -> int:
    from bayes_cpp import BayesCPP

    data = _load_data(args)
    est = BayesCPP(
        args.spec,
        rank=args.rank,
        sampler=args.sampler,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        random_seed=args.seed,
    )
    est.fit(data)
    est.save(args.out)
    print(est)
    print(f"saved to {args.out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from bayes_cpp import BayesCPP

    est = BayesCPP.load(args.fit)
    draws = est.predict(args.llm or None, args.task or None, kind=args.kind)
    lo_q, hi_q = (1 - args.prob) / 2, 1 - (1 - args.prob) / 2
    stacked = draws.stack(sample=dims.SAMPLE_DIMS)
    table = pd.DataFrame(
        {
            "mean": stacked.mean("sample").to_series(),
            f"q{lo_q:.3f}": stacked.quantile(lo_q, "sample").drop_vars("quantile").to_series(),
            f"q{hi_q:.3f}": stacked.quantile(hi_q, "sample").drop_vars("quantile").to_series(),
        }
    ).reset_index()
    observed = est.data_.scores.set_index(["llm", "task"])["score"]
    table["observed"] = [
        observed.get((a, b), np.nan) for a, b in zip(table["llm"], table["task"], strict=True)
    ]
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {len(table)} rows to {args.csv}")
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from bayes_cpp import BayesCPP

    est = BayesCPP.load(args.fit)
    report = est.diagnose(warn=False)
    print(report)
    print(report.table.to_string())
    return 0 if report.ok else 1


def _list(text: str | None, convert: type = str) -> list | None:
    if text is None:
        return None
    return [convert(v.strip()) for v in text.split(",") if v.strip()]


def _evaluate(args: argparse.Namespace) -> int:
    from bayes_cpp.evaluation import PAPER_TABLE5_TASKS, evaluate, paper_table4_llms

    data = _load_data(args)
    holdout = _list(args.holdout, float) or [0.05]
    ks = _list(args.k, int) or [0]
    llms = paper_table4_llms(data) if args.llms == "paper" else _list(args.llms)
    tasks = list(PAPER_TABLE5_TASKS) if args.tasks == "paper" else _list(args.tasks)
    sampler = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    result = evaluate(
        data,
        args.protocol,
        methods=_list(args.methods) or [],
        holdout=holdout[0] if len(holdout) == 1 else holdout,
        seeds=args.seeds,
        k=ks[0] if len(ks) == 1 else ks,
        llms=llms,
        tasks=tasks,
        random_seed=args.seed,
        sampler=sampler,
        progress=not args.no_progress,
    )
    print(result.to_markdown())
    print(f"\n{result.settings['wall_seconds']} s on {result.settings['machine']}")
    if args.json:
        result.to_json(args.json)
        print(f"wrote {args.json}")
    if args.cells:
        result.cells.to_csv(args.cells, index=False)
        print(f"wrote {len(result.cells)} cell rows to {args.cells}")
    return 0


def _add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", help="a name from `bayes-cpp datasets`")
    p.add_argument("--scores", help="score CSV (wide: LLM rows; --long for llm,task,score)")
    p.add_argument("--long", action="store_true", help="--scores is long format")
    p.add_argument("--llm-factors", help="LLM factor CSV")
    p.add_argument("--task-factors", help="task factor CSV")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="bayes-cpp", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list the named datasets")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=_datasets)

    p = sub.add_parser("specs", help="list the model specifications")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_specs)

    p = sub.add_parser("fit", help="fit a model and save it")
    _add_data_arguments(p)
    p.add_argument("--spec", default="hbmf", help="model spec name or TOML path")
    p.add_argument("--rank", type=int, default=None)
    p.add_argument(
        "--sampler",
        default="nutpie",
        choices=["nutpie", "pymc", "numpyro", "advi", "fullrank_advi"],
    )
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output netCDF file")
    p.set_defaults(func=_fit)

    p = sub.add_parser("predict", help="summarise predictions of a saved fit")
    p.add_argument("--fit", required=True)
    p.add_argument("--llm", action="append", help="LLM name (repeatable; default all)")
    p.add_argument("--task", action="append", help="task name (repeatable; default all)")
    p.add_argument("--kind", default="score", choices=["score", "mean"])
    p.add_argument("--prob", type=float, default=dims.CI_PROB, help="central interval probability")
    p.add_argument("--csv", help="write the table here instead of printing it")
    p.set_defaults(func=_predict)

    p = sub.add_parser("diagnose", help="convergence report of a saved fit")
    p.add_argument("--fit", required=True)
    p.set_defaults(func=_diagnose)

    from bayes_cpp.evaluation import DEFAULT_METHODS, EVALUATION_SAMPLER, PROTOCOLS

    p = sub.add_parser(
        "evaluate",
        help="compare methods under a protocol of the CPP paper",
        description="Hide cells by a protocol, fit every method on the rest, score the hidden "
        "cells (Markdown table on stdout; --json for everything).",
    )
    _add_data_arguments(p)
    p.add_argument("--protocol", default="random", choices=PROTOCOLS)
    p.add_argument("--holdout", default="0.05", help="random: hidden fraction(s), comma-separated")
    p.add_argument("--seeds", type=int, default=5, help="number of random splits (seeds 0..n-1)")
    p.add_argument("--k", default="0", help="holdouts: revealed scores per newcomer, e.g. 0,2")
    p.add_argument(
        "--llms",
        help="llm-holdout: comma-separated LLMs, or 'paper' (those of Table 4 in the data)",
    )
    p.add_argument("--tasks", help="task-holdout: comma-separated tasks, or 'paper' (Table 5)")
    p.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help="comma-separated spec and baseline names (default: %(default)s)",
    )
    p.add_argument("--draws", type=int, default=EVALUATION_SAMPLER["draws"])
    p.add_argument("--tune", type=int, default=EVALUATION_SAMPLER["tune"])
    p.add_argument("--chains", type=int, default=EVALUATION_SAMPLER["chains"])
    p.add_argument("--seed", type=int, default=0, help="random seed of fits and predictions")
    p.add_argument("--json", help="write settings, metrics and fit records here")
    p.add_argument("--cells", help="write per-cell scores to this CSV")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BayesCPPError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
