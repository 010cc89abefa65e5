"""Command-line interface ``bayes-cpp`` (also ``python -m bayes_cpp``).

Built only on the public API. Subcommands, by the question they answer:

* ``forecast``: what will a new LLM score (from its family, design factors
  and a few known scores), with intervals; ``whatif``: how that changes over
  one factor; ``next``: which cells to evaluate next; ``importance``: which
  design factors matter; ``similar``: which LLMs (tasks) behave alike;
  ``report``: a one-page Markdown/HTML summary of a fit.
* ``fit``, ``predict``, ``diagnose``: fit and save, summarise cells, check
  convergence; ``evaluate``: the evaluation harness; ``datasets``, ``specs``.

Every question command takes ``--fit FIT.nc`` (a file from ``fit``) or
``--dataset NAME``, which reuses the cached fit of the default model on that
dataset (:mod:`bayes_cpp.fitcache`; fitted once, in about a minute, the first
time). Tables are aligned text by default, ``--json``/``--csv`` for scripts.

Exit status: 0 done; 2 bad input or usage (one ``error:`` line on stderr, no
traceback); 3 done, but a fit failed its convergence checks (``diagnose``,
and ``evaluate --strict``); 130 interrupted (Ctrl-C). Warnings (data slips,
unconverged fits) and progress are lines on stderr. Output paths are checked
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
from bayes_cpp._version import __version__
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
_TRANSFORMS = ("identity", "log", "log1p", "log2")
#: File types matplotlib writes (checked before anything is fitted).
_FIGURE_TYPES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")
#: What ``--dataset`` fits when there is no cached fit (BayesCPP's defaults).
_DEFAULT_FIT: dict[str, Any] = {"spec": "hbmf", "random_seed": 0}

_DESCRIPTION = """Forecast how LLMs score on benchmarks, with honest uncertainty
(hierarchical Bayesian collaborative performance prediction).

Questions and the commands that answer them:
  What will my new LLM score?          bayes-cpp forecast --dataset cpp-crowdsourced
                                         --family LLama-3 --factor params_b=30
                                         --score "MMLU(5-shot)=62.1"
  How does that change with a factor?  bayes-cpp whatif ... --vary tokens_b --times 0.5,1,2,4
  Which cells should we evaluate next? bayes-cpp next --dataset NAME --budget 10
  Which design factors matter?         bayes-cpp importance --dataset NAME
  Which LLMs behave alike?             bayes-cpp similar "Llama 3 70B" --dataset NAME
  A one-page summary of a fit          bayes-cpp report --dataset NAME --out report.md

--dataset NAME fits the default model once (about a minute) and caches it;
--fit FIT.nc uses a file written by "bayes-cpp fit"."""

_EPILOG = """exit status: 0 done; 2 bad input or options (one "error:" line); 3 done, but a fit
failed its convergence checks; 130 interrupted. "bayes-cpp COMMAND --help" lists
every option with its default."""


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
    try:
        dims.interval_bounds(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
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


def _feature_option(text: str) -> tuple[str, str]:
    """``COLUMN[:transform]`` -> (column, transform)."""
    column, sep, transform = text.rpartition(":")
    if not sep or transform not in _TRANSFORMS:
        column, transform = text, "identity"
    column = column.strip()
    if not column:
        raise argparse.ArgumentTypeError(
            f"give a factor column, optionally with :transform ({', '.join(_TRANSFORMS)}), "
            f"not {text!r}"
        )
    return column, transform


def _figure_path(path: str | None, option: str = "--plot") -> None:
    if path is None:
        return
    if Path(path).suffix.lower() not in _FIGURE_TYPES:
        raise BayesCPPError(
            f"{option} {path}: name a figure file ending in {', '.join(_FIGURE_TYPES)}"
        )
    _check_output(path, option)


# ------------------------------------------------------- fits and output
def _feature_params(args: argparse.Namespace, spec: Any) -> dict[str, Any]:
    """``--llm-feature``/``--task-feature`` as BayesCPP parameters (empty when none given).

    A column the spec already uses with the same transform keeps the spec's
    feature name, so the option does not add the same regressor twice.
    """
    from bayes_cpp.spec import load_spec

    out: dict[str, Any] = {}
    base = load_spec(spec)
    for side, given, features in (
        ("llm", args.llm_feature, base.llm_features),
        ("task", args.task_feature, base.task_features),
    ):
        if not given:
            continue
        named: dict[str, Any] = {}
        for column, transform in given:
            known = [f.name for f in features if column in f.columns and f.transform == transform]
            name = (
                known[0]
                if known
                else (column if transform == "identity" else f"{transform}_{column}")
            )
            named[name] = (column, transform)
        out[f"{side}_features"] = named
    if args.replace_features:
        if not out:
            raise BayesCPPError("--replace-features needs --llm-feature or --task-feature")
        out["replace_features"] = True
    return out


def _announce(est: Any, what: str) -> Any:
    from bayes_cpp.progress import FitProgress, fit_headline

    print(f"{fit_headline(est, what)} ...", file=sys.stderr, flush=True)
    return FitProgress()


def _fit_data(
    est: Any, data: Any, what: str, *, cache: bool, groups: tuple[str, ...] | None = None
) -> Any:
    """Fit ``est`` to ``data`` with a progress line, through the fit cache unless ``cache`` is off.

    ``groups``: what a cached fit is read with (:meth:`BayesCPP.load`; None: every group).
    """
    from bayes_cpp.fitcache import FitCache

    progress: Any = None

    def before(e: Any) -> None:
        nonlocal progress
        progress = _announce(e, what)

    def update(chains: Any) -> None:
        if progress is not None:
            progress(chains)

    if not cache:
        before(est)
        est.fit(data, progress=update)
        progress.close(f"fitted in {progress.elapsed():.0f} s")
        return est
    store = FitCache()
    out = store.fit(est, data, before_fit=before, progress=update, groups=groups)
    if store.last_reused:
        print(
            f"using the cached fit of {out.spec_.name} on {what} ({store.last_path}; "
            "--no-cache refits)",
            file=sys.stderr,
        )
    elif progress is not None:
        where = f"; cached in {store.last_path}" if store.last_path else ""
        progress.close(f"fitted in {progress.elapsed():.0f} s{where}")
    return out


def _warn_unconverged(
    est: Any, source: str, file: str | None = None, *, problems: bool = False
) -> None:
    """One ``warning:`` line when the fit failed its convergence checks (with the failed checks)."""
    from bayes_cpp.diagnostics import headline

    record = est.saved_diagnostics_
    if record is None:
        record = est.diagnose(warn=False).to_dict()
    if record.get("ok", False):
        return
    failed = "".join(f"; {p}" for p in record.get("problems", [])) if problems else ""
    details = f"bayes-cpp diagnose --fit {file}" if file else "fit with --out, then diagnose"
    _warn(f"{source} {headline(record)}{failed}; its predictions may be wrong (details: {details})")


def _estimator(args: argparse.Namespace, *, complete: bool = False) -> Any:
    """The fit a question command works on: ``--fit FILE`` or the cached fit of ``--dataset``.

    A fit file (or a cached fit) is read without its ``sample_stats``,
    ``constant_data`` and ``observed_data`` groups (faster; questions need only
    the posterior and the training data) unless ``complete``.
    """
    if bool(args.fit) == bool(args.dataset):
        raise BayesCPPError(
            "give --fit FIT.nc (a file from `bayes-cpp fit`) or --dataset NAME (the cached "
            "default fit of a dataset from `bayes-cpp datasets`), not "
            + ("both" if args.fit else "neither")
        )
    groups = None if complete else ()
    if args.fit:
        return _load_fit(args.fit, groups=groups)
    from bayes_cpp import BayesCPP, datasets

    data = datasets.load(args.dataset)
    est = _fit_data(
        BayesCPP(**_DEFAULT_FIT), data, args.dataset, cache=not args.no_cache, groups=groups
    )
    _warn_unconverged(est, f"the fit of {args.dataset}", problems=True)
    return est


def _source(args: argparse.Namespace) -> str:
    return args.fit if args.fit else f"the default fit of {args.dataset}"


def _output_format(args: argparse.Namespace) -> tuple[str, str | None]:
    """("text" | "csv" | "json", file or None for stdout)."""
    for fmt in ("json", "csv"):
        target = getattr(args, fmt, None)
        if target is not None:
            return fmt, None if target == "-" else target
    return "text", None


def _check_outputs(args: argparse.Namespace) -> None:
    _, target = _output_format(args)
    _check_output(target, "--json" if getattr(args, "json", None) else "--csv")
    _figure_path(getattr(args, "plot", None))


def _emit(
    args: argparse.Namespace,
    table: Any,
    *,
    title: str = "",
    notes: Sequence[str] = (),
    decimals: int | dict[str, int] = 1,
) -> None:
    """Print (or write) a table: text with a title and notes, or bare CSV/JSON."""
    from bayes_cpp.output import render

    fmt, target = _output_format(args)
    text = render(table, fmt, decimals=decimals)  # type: ignore[arg-type]
    if target is not None:
        Path(target).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        print(f"wrote {len(table)} rows to {target}")
        return
    if fmt != "text":
        print(text.rstrip("\n"))
        return
    if title:
        print(title)
    print(text)
    for note in notes:
        print(note)


def _save_figure(fig: Any, args: argparse.Namespace) -> None:
    fig.savefig(args.plot, dpi=120, bbox_inches="tight")
    fmt, target = _output_format(args)
    # CSV or JSON on stdout must stay parseable: the path then goes to stderr.
    machine = fmt != "text" and target is None
    print(f"figure: {args.plot}", file=sys.stderr if machine else sys.stdout)


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
    if args.out is None and args.no_cache:
        raise BayesCPPError("--no-cache without --out keeps the fit nowhere; give --out FIT.nc")
    est = BayesCPP(
        args.spec,
        rank=args.rank,
        sampler=args.sampler,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        random_seed=args.seed,
        **_feature_params(args, args.spec),
    )
    est.resolved_spec()  # a bad spec or rank fails now, not after the data is read
    est.sampler_config()
    data = _load_data(args)
    est = _fit_data(est, data, args.dataset or Path(args.scores).name, cache=not args.no_cache)
    print(est)
    if args.out:
        est.save(args.out)
        print(f"saved to {args.out}")
    elif args.dataset:
        print(f"use it with: bayes-cpp forecast --dataset {args.dataset} ... (or predict, whatif)")
    _warn_unconverged(est, "the fit", args.out, problems=True)
    return 0


def _load_fit(path: str, groups: tuple[str, ...] | None = None) -> Any:
    from bayes_cpp import BayesCPP

    est = BayesCPP.load(path, groups=groups)
    if est.saved_diagnostics_ is not None:
        _warn_unconverged(est, f"{path}:", path)
    return est


def _percent_columns(prob: float) -> tuple[str, str]:
    from bayes_cpp.dims import percent_label
    from bayes_cpp.output import quantile_levels

    lo, hi = quantile_levels([prob])
    return percent_label(lo), percent_label(hi)


def _predict(args: argparse.Namespace) -> int:
    import numpy as np

    from bayes_cpp.output import summarize

    _check_outputs(args)
    est = _estimator(args)
    draws = est.predict(args.llm or None, args.task or None, kind=args.kind)
    table = summarize(draws, probs=[args.prob]).drop(columns="sd")
    observed = est.data_.scores.set_index(["llm", "task"])["score"]
    table["observed"] = [
        observed.get((a, b), np.nan) for a, b in zip(table["llm"], table["task"], strict=True)
    ]
    lo, hi = _percent_columns(args.prob)
    _emit(
        args,
        table,
        title=f"{_kind_text(args.kind)}, {args.prob:.0%} intervals ({lo} to {hi}), task units, "
        f"from {_source(args)}:",
    )
    return 0


def _kind_text(kind: str) -> str:
    return (
        "score of a new evaluation (noise included)"
        if kind == "score"
        else "expected score (no evaluation noise)"
    )


def _diagnose(args: argparse.Namespace) -> int:
    from bayes_cpp import BayesCPP

    est = BayesCPP.load(args.fit)
    report = est.diagnose(warn=False)
    print(report)
    print(report.table.to_string())
    return 0 if report.ok else EXIT_UNCONVERGED


def _describe(args: argparse.Namespace) -> Any:
    from bayes_cpp.newcomers import describe_llm

    return describe_llm(
        file=args.llm_file,
        name=args.name,
        family=args.family,
        factors=args.factor or [],
        scores=args.score or [],
    )


def _forecast(args: argparse.Namespace) -> int:
    from bayes_cpp.output import summarize

    _check_outputs(args)
    new = _describe(args)
    est = _estimator(args)
    draws = est.forecast(
        new.family,
        factors=new.factors,
        scores=new.scores,
        name=new.name,
        tasks=args.task or None,
        kind=args.kind,
    )
    table = summarize(draws.isel({dims.LLM: 0}, drop=True), by=[dims.TASK])
    table.insert(1, "known", [new.scores.get(t, float("nan")) for t in table[dims.TASK]])
    if not new.scores:
        table = table.drop(columns="known")
    table = table.sort_values("mean", ascending=False, kind="stable")
    _emit(
        args,
        table,
        title=f"Forecast for {new.headline()} from {_source(args)}:\n"
        f"{_kind_text(args.kind)}, task units; 50% interval 25%..75%, 90% interval 5%..95%",
    )
    if args.plot:
        from bayes_cpp.plotting import plot_forecast

        shown = {t: v for t, v in new.scores.items() if t in set(table[dims.TASK])}
        fig = plot_forecast(draws, observed=shown or None, title=f"Forecast: {new.headline()}")
        _save_figure(fig, args)
    return 0


def _whatif(args: argparse.Namespace) -> int:
    import pandas as pd

    from bayes_cpp.whatif import curve_summary, forecast_curve

    _check_outputs(args)
    if (args.values is None) == (args.times is None):
        raise BayesCPPError("give --values V1,V2,... or --times M1,M2,... (multiples), not both")
    new = _describe(args)
    base = new.factors.get(args.vary)
    if args.times is not None:
        if base is None:
            raise BayesCPPError(
                f"--times multiplies the planned value of {args.vary}: give it, e.g. "
                f"--factor {args.vary}=4000"
            )
        values = [base * m for m in args.times]
    else:
        values = list(args.values)
    est = _estimator(args)
    curve = forecast_curve(
        est,
        new.family,
        factors=new.factors,
        vary=args.vary,
        values=values,
        scores=new.scores,
        tasks=args.task or None,
        kind=args.kind,
    )
    table = curve_summary(curve).rename(columns={"value": args.vary})
    if args.times is not None:
        n_tasks = curve.sizes[dims.TASK]
        table.insert(1, "times", [m for m in args.times for _ in range(n_tasks)])
    order = {t: i for i, t in enumerate(curve[dims.TASK].values.tolist())}
    table = table.sort_values([dims.TASK], key=lambda c: c.map(order), kind="stable")
    table = pd.DataFrame(table).reset_index(drop=True)
    table.insert(0, dims.TASK, table.pop(dims.TASK))
    _emit(
        args,
        table,
        title=f"What if {args.vary} of {new.headline()} changes, from {_source(args)}:\n"
        f"{_kind_text(args.kind)}, task units; 50% band 25%..75%, 90% band 5%..95%",
        decimals={args.vary: 0 if all(float(v).is_integer() for v in values) else 2, "times": 2},
    )
    if args.plot:
        from bayes_cpp.plotting import plot_whatif

        fig = plot_whatif(curve, reference=base, title=f"What if: {new.headline()}")
        _save_figure(fig, args)
    return 0


def _target(text: str) -> Any:
    if text == "matrix":
        return "matrix"
    side, sep, name = text.partition(":")
    if not sep or side not in ("llm", "task") or not name.strip():
        raise BayesCPPError(f"--target is matrix, llm:NAME or task:NAME, not {text!r}")
    return (side, name.strip())


def _next(args: argparse.Namespace) -> int:
    from bayes_cpp.active import recommend

    _check_outputs(args)
    target = _target(args.target)
    est = _estimator(args)
    plan = recommend(est, budget=args.budget, target=target)
    what = {
        "matrix": "every untested cell",
        "llm": f"the untested cells of {target[1]}",
        "task": f"the ranking of the LLMs on {target[1]}",
    }[target if isinstance(target, str) else target[0]]
    _emit(
        args,
        plan,
        title=f"The {len(plan)} evaluations that most reduce the uncertainty about {what}, "
        f"in order, from {_source(args)}:",
        notes=[
            "expected_gain: expected reduction of the summed predictive variance (0-1 scale; "
            "pairwise order variance for a task target) given the earlier picks; "
            "predicted, predicted_sd: today's forecast of that cell, task units"
        ],
        decimals={"expected_gain": 4, "cumulative_gain": 4},
    )
    return 0


def _importance(args: argparse.Namespace) -> int:
    from bayes_cpp.importance import by_category, coefficients
    from bayes_cpp.output import interval_columns

    _check_outputs(args)
    est = _estimator(args)
    if args.by_category:
        raw = by_category(est)
        title = (
            "Effect of +1 sd of each LLM factor on an average task of each category (change of "
            "the logit of the chance-corrected score), 90% intervals:"
        )
    else:
        raw = coefficients(est)
        title = (
            "Standardized design-factor coefficients (per +1 sd of the transformed factor; bias: "
            "on the logit of the chance-corrected score; latent k: on that loading), 90% intervals:"
        )
    _emit(args, interval_columns(raw), title=f"{title}\nfrom {_source(args)}", decimals=2)
    if args.plot:
        from bayes_cpp.plotting import plot_importance, plot_importance_by_category

        fig = plot_importance_by_category(raw) if args.by_category else plot_importance(raw)
        _save_figure(fig, args)
    return 0


def _similar(args: argparse.Namespace) -> int:
    from bayes_cpp.output import interval_columns
    from bayes_cpp.similarity import latent_positions, most_similar

    _check_outputs(args)
    est = _estimator(args)
    near = most_similar(est, args.name, side=args.side, n=args.n)
    what = "LLMs" if args.side == dims.LLM else "tasks"
    _emit(
        args,
        interval_columns(near),
        title=f"The {len(near)} {what} that behave most like {args.name}, from {_source(args)}:\n"
        "distance: root mean square difference of the linear predictors (logit scale) over "
        f"the other side's rows, 90% intervals",
        decimals=2,
    )
    if args.plot:
        from bayes_cpp.plotting import plot_latent_map

        fig = plot_latent_map(
            latent_positions(est, args.side),
            highlight=[args.name, *near["name"]],
            group_label="family" if args.side == dims.LLM else "category",
            title=f"{what} by latent position; {args.name} and its {len(near)} nearest marked",
        )
        _save_figure(fig, args)
    return 0


def _report(args: argparse.Namespace) -> int:
    import pandas as pd

    from bayes_cpp.report import fit_report, heldout_check

    _check_output(args.out, "--out")
    if args.check and args.cells:
        raise BayesCPPError("give --check (run a held-out check) or --cells CSV, not both")
    cells = None
    if args.cells:
        try:
            cells = pd.read_csv(args.cells)
        except (OSError, ValueError) as exc:
            raise BayesCPPError(f"--cells {args.cells}: cannot read it as CSV ({exc})") from None
    est = _estimator(args, complete=True)
    if args.check:
        print(
            "held-out check: hiding 5% of the cells and refitting on the rest ...",
            file=sys.stderr,
            flush=True,
        )
        cells = heldout_check(est, random_seed=args.seed)
    written = fit_report(est, args.out, cells=cells, html=args.html)
    for path in written:
        print(f"wrote {path}")
    return 0


def _methods(args: argparse.Namespace) -> list[Any]:
    """``--methods``: names, spec TOML paths; with custom features every spec gets them."""
    from bayes_cpp.evaluation import BASELINES
    from bayes_cpp.evaluation.methods import BayesMethod
    from bayes_cpp.spec import load_spec

    out: list[Any] = []
    sampler = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    for name in _names(args.methods) or []:
        is_file = name.endswith(".toml")
        if name in BASELINES or (not is_file and not (args.llm_feature or args.task_feature)):
            out.append(name)
            continue
        spec = load_spec(name) if is_file else name
        label = Path(name).stem if is_file else name
        features = _feature_params(args, spec)
        out.append(BayesMethod(spec, {**sampler, **features}, label=label))
    return out


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
    methods = _methods(args)
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
        methods=methods,
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


class _TopFormatter(_Formatter, argparse.RawDescriptionHelpFormatter):
    """The top-level help keeps the description's line breaks (the question table)."""


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


def _add_feature_arguments(p: argparse.ArgumentParser) -> None:
    transforms = ", ".join(_TRANSFORMS)
    p.add_argument(
        "--llm-feature",
        action="append",
        type=_feature_option,
        metavar="COLUMN[:TRANSFORM]",
        help=f"also use this LLM factor column (repeatable; TRANSFORM one of {transforms}; "
        "e.g. context_window:log); default: the spec's features",
    )
    p.add_argument(
        "--task-feature",
        action="append",
        type=_feature_option,
        metavar="COLUMN[:TRANSFORM]",
        help="also use this task factor column (repeatable), e.g. shots:log1p",
    )
    p.add_argument(
        "--replace-features",
        action="store_true",
        help="use only the --llm-feature/--task-feature columns on their side, not the spec's",
    )


def _add_sampler_arguments(p: argparse.ArgumentParser, defaults: dict[str, int]) -> None:
    p.add_argument(
        "--draws", type=_positive(1), default=defaults["draws"], help="posterior draws per chain"
    )
    p.add_argument(
        "--tune", type=_positive(0), default=defaults["tune"], help="warm-up steps per chain"
    )
    p.add_argument("--chains", type=_positive(1), default=defaults["chains"], help="chains")


def _add_fit_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fit", metavar="FIT.nc", help="a file written by `bayes-cpp fit`")
    p.add_argument(
        "--dataset",
        metavar="NAME",
        help="use the default model's fit of this dataset (`bayes-cpp datasets`): fitted once "
        "(about a minute) and cached, reused afterwards",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="with --dataset: fit afresh, neither reading nor writing the fit cache",
    )


def _add_table_output(p: argparse.ArgumentParser, plot: str | None = None) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="JSON records instead of the text table (to FILE, or stdout without one)",
    )
    group.add_argument(
        "--csv",
        nargs="?",
        const="-",
        metavar="FILE",
        help="CSV instead of the text table (to FILE, or stdout without one)",
    )
    if plot:
        p.add_argument(
            "--plot", metavar="FILE", help=f"also draw {plot} to FILE (.png, .pdf, .svg)"
        )


def _add_llm_description(p: argparse.ArgumentParser, *, kind: str = "score") -> None:
    p.add_argument(
        "--family",
        help="the new LLM's family: a known one borrows its effect (default: a new family)",
    )
    p.add_argument(
        "--factor",
        action="append",
        metavar="NAME=VALUE",
        help="a design factor in the LLM table's units, e.g. params_b=30 tokens_b=4000 "
        "(repeatable; a factor left out is imputed)",
    )
    p.add_argument(
        "--score",
        action="append",
        metavar="TASK=VALUE",
        help='a score already measured, in task units, e.g. "MMLU(5-shot)=62.1" (repeatable)',
    )
    p.add_argument(
        "--llm-file",
        metavar="FILE",
        help="a .toml or .json file with name, family, [factors] and [scores] "
        "(the flags above add to it and win)",
    )
    p.add_argument("--name", help="label of the new LLM (default: the file's, or new-llm)")
    p.add_argument("--task", action="append", help="task to show (repeatable; default: all)")
    p.add_argument(
        "--kind",
        default=kind,
        choices=["score", "mean"],
        help="score: a new evaluation's score (noise included); mean: the expected score",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="bayes-cpp",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=_TopFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bayes-cpp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=help, description=description or help, formatter_class=_Formatter
        )

    p = command(
        "forecast",
        "forecast a new LLM on every task, with intervals",
        description="Forecast a new LLM from its family, design factors and any scores already "
        "measured (no refit). Example: bayes-cpp forecast --dataset cpp-crowdsourced "
        '--family LLama-3 --factor params_b=30 --factor tokens_b=4000 --score "MMLU(5-shot)=62.1"',
    )
    _add_fit_source(p)
    _add_llm_description(p)
    _add_table_output(p, "the forecast (mean, 50%%/90%% intervals, known scores)")
    p.set_defaults(func=_forecast)

    p = command(
        "whatif",
        "forecast curves over one design factor",
        description="Forecast a planned LLM at several values of one factor, the others fixed: "
        "mean and 50%/90% bands per task. Example: ... --factor params_b=30 "
        "--factor tokens_b=4000 --vary tokens_b --times 0.5,1,2,4",
    )
    _add_fit_source(p)
    _add_llm_description(p, kind="mean")
    p.add_argument("--vary", required=True, help="the factor column to vary, e.g. tokens_b")
    p.add_argument(
        "--values", type=_number_list(float, "number"), help="values of --vary, e.g. 1000,2000,4000"
    )
    p.add_argument(
        "--times",
        type=_number_list(float, "number"),
        help="multiples of the planned value (--factor VARY=...), e.g. 0.5,1,2,4",
    )
    _add_table_output(p, "the curves, one panel per task")
    p.set_defaults(func=_whatif)

    p = command(
        "next",
        "which untested cells to evaluate next (active evaluation)",
        description="A greedy batch of the untested (LLM, task) cells whose scores would most "
        "reduce the posterior predictive uncertainty of the target, with the expected gain of "
        "each, computed without refitting.",
    )
    _add_fit_source(p)
    p.add_argument("--budget", type=_positive(1), default=10, help="evaluations to plan")
    p.add_argument(
        "--target",
        default="matrix",
        help="what to learn about: matrix (every untested cell), llm:NAME (one LLM's "
        "profile) or task:NAME (the ranking on one task)",
    )
    _add_table_output(p)
    p.set_defaults(func=_next)

    p = command("importance", "which design factors matter (standardized coefficients)")
    _add_fit_source(p)
    p.add_argument(
        "--by-category",
        action="store_true",
        help="effect of each LLM factor per task category instead of the coefficients",
    )
    _add_table_output(p, "a forest of the effects")
    p.set_defaults(func=_importance)

    p = command("similar", "which LLMs (or tasks) behave most like a given one")
    _add_fit_source(p)
    p.add_argument("name", help="an LLM (or, with --side task, a task) of the fit")
    p.add_argument("--side", default="llm", choices=["llm", "task"], help="compare LLMs or tasks")
    p.add_argument("-n", type=_positive(1), default=5, help="how many to list")
    _add_table_output(p, "the latent map with these marked")
    p.set_defaults(func=_similar)

    p = command(
        "report",
        "a one-page Markdown (and HTML) summary of a fit",
        description="Data, convergence (first), held-out calibration, factor importance and "
        "figures of a fit, in one Markdown page; the figures are written next to it.",
    )
    _add_fit_source(p)
    p.add_argument("--out", default="report.md", help="the Markdown file")
    p.add_argument("--html", action="store_true", help="also write the page as HTML (same stem)")
    p.add_argument(
        "--check",
        action="store_true",
        help="run a quick held-out check for the calibration section: hide 5%% of the cells, "
        "refit (2 chains x 500 draws) and score them",
    )
    p.add_argument(
        "--cells", metavar="CSV", help="per-cell held-out results from `bayes-cpp evaluate --cells`"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out check")
    p.set_defaults(func=_report)

    p = command("fit", "fit a model and save it")
    _add_data_arguments(p)
    p.add_argument("--spec", default="hbmf", help="model spec name or TOML path")
    p.add_argument(
        "--rank", type=_positive(0), default=None, help="latent dimensions (default: the spec's)"
    )
    _add_feature_arguments(p)
    p.add_argument(
        "--sampler",
        default="nutpie",
        choices=["nutpie", "pymc", "numpyro", "advi", "fullrank_advi"],
        help="inference method",
    )
    _add_sampler_arguments(p, {"draws": 1000, "tune": 300, "chains": 4})
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--out",
        help="output netCDF file (checked before fitting); the fit is also cached, so "
        "--dataset NAME finds it without --out",
    )
    p.add_argument(
        "--no-cache", action="store_true", help="neither reuse nor store a cached fit (needs --out)"
    )
    p.set_defaults(func=_fit)

    p = command("predict", "summarise predictions of a fit for known LLMs and tasks")
    _add_fit_source(p)
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
    _add_table_output(p)
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
        help="comma-separated spec names, spec TOML files and baseline names",
    )
    _add_feature_arguments(p)
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

    p = command("datasets", "list the named datasets")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=_datasets)

    p = command("specs", "list the model specifications")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=_specs)
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
