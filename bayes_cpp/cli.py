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

Exit status: 0 done; 2 bad input or usage (one ``error:`` line on stderr, no
traceback); 3 done, but a fit failed its convergence checks (``diagnose``,
and ``evaluate --strict``); 130 interrupted (Ctrl-C). Warnings (data slips,
unconverged fits) are ``warning:`` lines on stderr. Output paths are checked
before any fitting starts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bayes_cpp import dims
from bayes_cpp.exceptions import BayesCPPError, ConvergenceWarning, DataWarning

__all__ = ["EXIT_INTERRUPTED", "EXIT_UNCONVERGED", "EXIT_USAGE", "build_parser", "main"]

#: Bad input, a bad option, or a file that cannot be read or written.
EXIT_USAGE = 2
#: The command finished but a fit failed its convergence checks.
EXIT_UNCONVERGED = 3
#: Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Most seeds ``--seeds`` accepts (each is a whole set of fits).
_MAX_SEEDS = 10_000
_AGGREGATES = ("mean", "median", "first", "last", "max", "min")


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# ------------------------------------------------------------ output checks
def _check_output(path: str | None, option: str, *, folder_ok: bool = False) -> None:
    """Fail before any work when ``path`` cannot be written."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir() and not folder_ok:
        raise BayesCPPError(f"{option} {path} is a directory; give a file name inside it")
    parent = target.parent if not target.is_dir() else target
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise BayesCPPError(f"{option} {path}: cannot create it, {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BayesCPPError(f"{option} {path}: no permission to write in {parent}")


# ---------------------------------------------------------- argument types
def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"{text} is not a probability strictly between 0 and 1 (e.g. 0.9 for 90%)"
        )
    return value


def _positive(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} must be >= {minimum}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _number_list(convert: type, what: str) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        items = [v.strip() for v in text.split(",") if v.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"give at least one {what}")
        try:
            return [convert(v) for v in items]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a comma-separated list of {what}s"
            ) from None

    parse.__name__ = f"{what} list"
    return parse


def _seeds(text: str) -> int | list[int]:
    """``N`` (seeds 0..N-1), a range ``A-B`` (inclusive) or a list ``A,B,C``."""
    text = text.strip()
    usage = f"--seeds takes a count N (seeds 0..N-1), a range A-B or a list A,B,C, not {text!r}"
    if re.fullmatch(r"\d+", text):
        count = int(text)
        if not 1 <= count <= _MAX_SEEDS:
            raise argparse.ArgumentTypeError(f"a seed count must be 1..{_MAX_SEEDS}, not {count}")
        return count
    span = re.fullmatch(r"(\d+)\s*-\s*(\d+)", text)
    if span:
        first, last = int(span[1]), int(span[2])
        if last < first or last - first >= _MAX_SEEDS:
            raise argparse.ArgumentTypeError(
                f"a seed range A-B needs A <= B and at most {_MAX_SEEDS} seeds, not {text!r}"
            )
        return list(range(first, last + 1))
    items = [v.strip() for v in text.split(",")]
    if len(items) < 2 or not all(re.fullmatch(r"\d+", v) for v in items):
        raise argparse.ArgumentTypeError(usage)
    seeds = [int(v) for v in items]
    if len(set(seeds)) < len(seeds):
        raise argparse.ArgumentTypeError(f"--seeds lists a seed twice: {text!r}")
    return seeds


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [v.strip() for v in text.split(",") if v.strip()]


# ---------------------------------------------------------------- commands
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


def _check_data_arguments(args: argparse.Namespace) -> None:
    if args.dataset and args.scores:
        raise BayesCPPError("give --dataset NAME or --scores CSV, not both")
    if not args.dataset and not args.scores:
        raise BayesCPPError("give --dataset NAME or --scores CSV")
    if args.dataset:
        extra = [
            name
            for name, value in (
                ("--llm-factors", args.llm_factors),
                ("--task-factors", args.task_factors),
                ("--long", args.long),
                ("--aggregate", args.aggregate),
            )
            if value
        ]
        if extra:
            raise BayesCPPError(f"{', '.join(extra)} apply to --scores, not to --dataset")


def _load_data(args: argparse.Namespace) -> Any:
    from bayes_cpp import datasets, read_llm_factors_csv, read_task_factors_csv, read_wide_csv
    from bayes_cpp.readers import read_long_csv

    _check_data_arguments(args)
    if args.dataset:
        return datasets.load(args.dataset)
    llms = read_llm_factors_csv(args.llm_factors) if args.llm_factors else None
    tasks = read_task_factors_csv(args.task_factors) if args.task_factors else None
    reader = read_long_csv if args.long else read_wide_csv
    return reader(
        args.scores, llms=llms, tasks=tasks, aggregate=args.aggregate, name=Path(args.scores).name
    )


def _input_records(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bayes_cpp.evaluation import file_record

    roles = [
        ("scores", args.scores),
        ("llm_factors", args.llm_factors),
        ("task_factors", args.task_factors),
    ]
    return [file_record(role, path) for role, path in roles if path]


def _fit(args: argparse.Namespace) -> int:
    from bayes_cpp import BayesCPP

    _check_output(args.out, "--out")
    est = BayesCPP(
        args.spec,
        rank=args.rank,
        sampler=args.sampler,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        random_seed=args.seed,
    )
    est.resolved_spec()  # a bad spec or rank fails now, not after the data is read
    est.sampler_config()
    data = _load_data(args)
    est.fit(data)
    est.save(args.out)
    print(est)
    print(f"saved to {args.out}")
    report = est.diagnose(warn=False)
    if not report.ok:
        _warn(f"the fit {report.headline()}; " + "; ".join(report.problems()))
    return 0


def _load_fit(path: str) -> Any:
    from bayes_cpp import BayesCPP
    from bayes_cpp.diagnostics import headline

    est = BayesCPP.load(path)
    record = est.saved_diagnostics_
    if record is not None and not record.get("ok", False):
        _warn(
            f"{path}: {headline(record)}; its predictions may be wrong "
            f"(details: bayes-cpp diagnose --fit {path})"
        )
    return est


def _predict(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    _check_output(args.csv, "--csv")
    est = _load_fit(args.fit)
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
    return 0 if report.ok else EXIT_UNCONVERGED


def _evaluate(args: argparse.Namespace) -> int:
    from bayes_cpp.datasets import cache_dir
    from bayes_cpp.evaluation import PAPER_TABLE5_TASKS, evaluate, paper_table4_llms

    for value, option in ((args.json, "--json"), (args.cells, "--cells")):
        _check_output(value, option)
    default_checkpoint = args.checkpoint is None and not args.no_checkpoint
    checkpoint = None if args.no_checkpoint else args.checkpoint
    if default_checkpoint:
        checkpoint = str(cache_dir() / "evaluate")
        Path(checkpoint).mkdir(parents=True, exist_ok=True)
    _check_output(checkpoint, "--checkpoint", folder_ok=True)
    data = _load_data(args)
    llms = paper_table4_llms(data) if args.llms == "paper" else _names(args.llms)
    tasks = list(PAPER_TABLE5_TASKS) if args.tasks == "paper" else _names(args.tasks)
    holdout, ks = args.holdout, args.k
    if checkpoint is not None:
        args.resume_hint = (
            f"; the finished fits are saved in {checkpoint}: run the same command to resume"
        )
    options = {
        key: value
        for key, value in (
            ("cutoff", args.cutoff),
            ("folds", args.folds),
            ("groups", args.groups),
            ("max_train", args.max_train),
            ("max_test", args.max_test),
        )
        if value is not None
    }
    result = evaluate(
        data,
        args.protocol,
        methods=_names(args.methods) or [],
        holdout=holdout[0] if len(holdout) == 1 else holdout,
        seeds=args.seeds,
        k=ks[0] if len(ks) == 1 else ks,
        llms=llms,
        tasks=tasks,
        random_seed=args.seed,
        sampler={"draws": args.draws, "tune": args.tune, "chains": args.chains},
        progress=not args.no_progress,
        workers=args.workers,
        scheduler=args.scheduler,
        checkpoint=checkpoint,
        inputs=_input_records(args),
        protocol_options=options,
    )
    if result.settings["resumed_results"]:
        _warn(
            f"resumed: {result.settings['resumed_results']} finished results were read from "
            f"{result.settings['checkpoint']} (written with the same settings)"
        )
    print(result.to_markdown())
    print(f"\n{result.settings['wall_seconds']} s on {result.settings['machine']}")
    if args.json:
        result.to_json(args.json)
        print(f"wrote {args.json}")
    if args.cells:
        result.cells.to_csv(args.cells, index=False)
        print(f"wrote {len(result.cells)} cell rows to {args.cells}")
    if default_checkpoint and result.settings["checkpoint"]:
        Path(result.settings["checkpoint"]).unlink(missing_ok=True)  # done: nothing to resume
    for line in result.problems():
        _warn(line)
    return EXIT_UNCONVERGED if args.strict and result.problems() else 0


# ------------------------------------------------------------------ parser
class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show every option's default, except the uninformative None and False."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def _add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", help="a name from `bayes-cpp datasets`")
    p.add_argument(
        "--scores", help="score CSV, comma-separated UTF-8 (wide: one row per LLM; see --long)"
    )
    p.add_argument("--long", action="store_true", help="--scores has columns llm,task,score")
    p.add_argument("--llm-factors", help="LLM factor CSV (llm, family, params_b, ...)")
    p.add_argument("--task-factors", help="task factor CSV (task, category, lo, hi, chance, ...)")
    p.add_argument(
        "--aggregate",
        choices=_AGGREGATES,
        help="combine several scores of one (llm, task) pair this way (default: an error)",
    )


def _add_sampler_arguments(p: argparse.ArgumentParser, defaults: dict[str, int]) -> None:
    p.add_argument(
        "--draws", type=_positive(1), default=defaults["draws"], help="posterior draws per chain"
    )
    p.add_argument(
        "--tune", type=_positive(0), default=defaults["tune"], help="warm-up steps per chain"
    )
    p.add_argument("--chains", type=_positive(1), default=defaults["chains"], help="chains")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="bayes-cpp", description=__doc__.splitlines()[0], formatter_class=_Formatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, formatter_class=_Formatter, **kwargs)

    p = command("datasets", "list the named datasets")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=_datasets)

    p = command("specs", "list the model specifications")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=_specs)

    p = command("fit", "fit a model and save it")
    _add_data_arguments(p)
    p.add_argument("--spec", default="hbmf", help="model spec name or TOML path")
    p.add_argument(
        "--rank", type=_positive(0), default=None, help="latent dimensions (default: the spec's)"
    )
    p.add_argument(
        "--sampler",
        default="nutpie",
        choices=["nutpie", "pymc", "numpyro", "advi", "fullrank_advi"],
        help="inference method",
    )
    _add_sampler_arguments(p, {"draws": 1000, "tune": 500, "chains": 4})
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--out", required=True, help="output netCDF file (checked before fitting)")
    p.set_defaults(func=_fit)

    p = command("predict", "summarise predictions of a saved fit")
    p.add_argument("--fit", required=True, help="a file written by `bayes-cpp fit`")
    p.add_argument("--llm", action="append", help="LLM name (repeatable; default: all)")
    p.add_argument("--task", action="append", help="task name (repeatable; default: all)")
    p.add_argument(
        "--kind",
        default="score",
        choices=["score", "mean"],
        help="score: a new evaluation's score (noise included); mean: the expected score",
    )
    p.add_argument(
        "--prob",
        type=_probability,
        default=dims.CI_PROB,
        help="central interval probability, strictly between 0 and 1",
    )
    p.add_argument("--csv", help="write the table here instead of printing it")
    p.set_defaults(func=_predict)

    p = command("diagnose", "convergence report of a saved fit (exit 3 when it fails)")
    p.add_argument("--fit", required=True, help="a file written by `bayes-cpp fit`")
    p.set_defaults(func=_diagnose)

    from bayes_cpp.evaluation.names import DEFAULT_METHODS, EVALUATION_SAMPLER, PROTOCOLS

    p = command(
        "evaluate",
        "compare methods under a protocol of the CPP paper",
        description="Hide cells by a protocol, fit every method on the rest, score the hidden "
        "cells (Markdown table on stdout; --json for everything). Each finished (method, split) "
        "is checkpointed, so an interrupted run resumes when rerun with the same settings.",
    )
    _add_data_arguments(p)
    p.add_argument("--protocol", default="random", choices=PROTOCOLS, help="how cells are hidden")
    p.add_argument(
        "--holdout",
        type=_number_list(float, "fraction"),
        default="0.05",
        help="random: hidden fraction(s), comma-separated; stronger-than-seen, release-date: "
        "fraction of LLMs held out",
    )
    p.add_argument(
        "--seeds",
        type=_seeds,
        default=5,
        help="splits' seeds: a count N (0..N-1), a range A-B (inclusive) or a list A,B,C",
    )
    p.add_argument(
        "--k",
        type=_number_list(int, "integer"),
        default="0",
        help="holdouts: revealed scores per newcomer, e.g. 0,2",
    )
    p.add_argument(
        "--llms",
        help="llm-holdout: comma-separated LLMs, or 'paper' (those of Table 4 in the data)",
    )
    p.add_argument("--tasks", help="task-holdout: comma-separated tasks, or 'paper' (Table 5)")
    p.add_argument(
        "--cutoff",
        help="release-date: LLMs dated before it train (default: the latest --holdout of them held out)",
    )
    p.add_argument("--folds", type=_positive(2), help="per-llm-folds: folds per LLM (default 3)")
    p.add_argument(
        "--groups", type=_positive(1), help="per-llm-folds: groups of held-out LLMs (default 3)"
    )
    p.add_argument(
        "--max-train", type=_positive(1), help="release-date: at most this many training LLMs"
    )
    p.add_argument(
        "--max-test", type=_positive(1), help="release-date: at most this many held-out LLMs"
    )
    p.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help="comma-separated spec and baseline names",
    )
    _add_sampler_arguments(p, EVALUATION_SAMPLER)
    p.add_argument("--seed", type=int, default=0, help="random seed of fits and predictions")
    p.add_argument(
        "--workers",
        type=_positive(1),
        default=1,
        help="local worker processes (one thread each) running fits in parallel",
    )
    p.add_argument(
        "--scheduler",
        help="a Dask distributed scheduler address (tcp://host:8786): run the fits on that "
        "cluster (pip install 'bayes_cpp[distributed]')",
    )
    p.add_argument(
        "--checkpoint",
        help="JSON-lines file (or folder) receiving each finished result; kept for resuming "
        "(default: a file in the user cache folder, deleted when the run completes)",
    )
    p.add_argument(
        "--no-checkpoint", action="store_true", help="keep no checkpoint (a Ctrl-C loses the run)"
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help=f"exit {EXIT_UNCONVERGED} when any fit fails its convergence checks",
    )
    p.add_argument("--json", help="write settings, metrics and fit records here")
    p.add_argument("--cells", help="write per-cell scores to this CSV")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_evaluate)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Warnings as one ``warning:`` line each (no source lines)."""
    own = issubclass(category, DataWarning | ConvergenceWarning)
    _warn(str(message) if own else f"{category.__name__}: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (see the module docstring)."""
    args: argparse.Namespace | None = None
    with warnings.catch_warnings():
        # The package's warnings are for the user: always shown, one line each.
        warnings.simplefilter("always", DataWarning)
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.showwarning = _show_warning
        try:
            args = build_parser().parse_args(argv)
            return int(args.func(args))
        except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
            if exc.code is None:
                return 0
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        except KeyboardInterrupt:
            hint = getattr(args, "resume_hint", "")
            print(f"interrupted{hint}", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BayesCPPError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except OSError as exc:  # writing an output: disk full, permissions, ...
            where = f": {exc.filename}" if exc.filename else ""
            print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
            return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
