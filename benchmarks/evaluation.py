"""Run the evaluation protocols of benchmarks/RESULTS.md and regenerate its tables.

Usage (from the repository root; a few hours on a 2-core machine for all)::

    BAYES_CPP_DATA=../shared/data python benchmarks/evaluation.py            # every experiment
    BAYES_CPP_DATA=../shared/data python benchmarks/evaluation.py cpp-random  # some of them
    python benchmarks/evaluation.py --render                                 # tables only

Each experiment writes ``benchmarks/results/<name>.json`` (settings, metric
mean/std over splits, fit records, PIT histograms: everything but per-cell
rows). The section between the ``evaluation`` markers of RESULTS.md is then
rebuilt from every JSON file present, so numbers in it only ever come from
these runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RESULTS_MD = HERE / "RESULTS.md"
START, END = "<!-- evaluation:start -->", "<!-- evaluation:end -->"

SWEEP_METHODS = ["hbmf", "task-mean", "additive", "mf", "softimpute-logit-3"]
#: The model next to the interval baselines and the audit's sample mean.
PEER_METHODS = [
    "hbmf",
    "sample-mean",
    "softimpute-logit-3",
    "gaussian-conditional",
    "conformal-softimpute-logit-3",
]


def _ranks(*ranks: int) -> list[Any]:
    from bayes_cpp.evaluation import BayesMethod

    return [BayesMethod("hbmf", {"rank": r}, label=f"hbmf-rank{r}") for r in ranks]


def _with_constant_noise() -> list[Any]:
    """The default methods plus hbmf with the flat noise of bayes_cpp <= 0.1 (ablation)."""
    from bayes_cpp import load_spec
    from bayes_cpp.evaluation import DEFAULT_METHODS, BayesMethod

    spec = load_spec("hbmf").replace(noise_scaling="constant", noise_floor=0.02)
    return [*DEFAULT_METHODS, BayesMethod(spec, label="hbmf-constant-noise")]


def _robust_without_floor() -> list[Any]:
    """hbmf_robust without the chance floor (does the floor make it mix slowly?)."""
    from bayes_cpp import load_spec
    from bayes_cpp.evaluation import BayesMethod

    spec = load_spec("hbmf_robust").replace(chance_level=False)
    return [BayesMethod(spec, label="hbmf_robust-no-floor")]


def _variant(spec: str, label: str, *, with_default: bool = False) -> list[Any]:
    """A shipped variant of hbmf (``models/``), optionally next to the default."""
    from bayes_cpp.evaluation import BayesMethod

    return [*(["hbmf"] if with_default else []), BayesMethod(spec, label=label)]


#: named method sets an experiment can ask for with ``"methods": "<name>"``
METHOD_SETS = {
    # Issue 15: a learned share of the chance floor; a noise multiplier per LLM.
    "chance-share": lambda: _variant("hbmf_chance_share", "hbmf-chance-share"),
    "chance-share-and-default": lambda: _variant(
        "hbmf_chance_share", "hbmf-chance-share", with_default=True
    ),
    "llm-noise": lambda: _variant("hbmf_llm_noise", "hbmf-llm-noise"),
    "llm-noise-and-default": lambda: _variant(
        "hbmf_llm_noise", "hbmf-llm-noise", with_default=True
    ),
    "ranks": lambda: _ranks(1, 2, 3),
    "constant-noise": _with_constant_noise,
    "robust-no-floor": _robust_without_floor,
}


#: name -> (dataset, evaluate() keyword arguments, title)
EXPERIMENTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "cpp-random": (
        "cpp-crowdsourced",
        {"protocol": "random", "holdout": 0.05, "seeds": 5, "methods": "constant-noise"},
        "cpp-crowdsourced, random 5% hidden, 5 seeds (the paper's Table 1 protocol)",
    ),
    "cpp-random-40": (
        "cpp-crowdsourced",
        {"protocol": "random", "holdout": 0.05, "seeds": 40},
        "cpp-crowdsourced, random 5% hidden, 40 seeds",
    ),
    "cpp-random-40-robust": (
        "cpp-crowdsourced",
        {"protocol": "random", "holdout": 0.05, "seeds": 40, "methods": ["hbmf_robust"]},
        "cpp-crowdsourced, hbmf_robust (Student-t noise), the same 40 random 5% splits "
        "(likelihood comparison)",
    ),
    "cpp-llm-holdout": (
        "cpp-crowdsourced",
        {"protocol": "llm-holdout", "k": [0, 2], "llms": "paper", "seeds": 3},
        "cpp-crowdsourced, the 12 LLMs of the paper's Table 4 held out: CPP-0 (k=0) and "
        "CPP-2 (k=2, 3 seeds of revealed scores)",
    ),
    "cpp-random-robust-no-floor": (
        "cpp-crowdsourced",
        {"protocol": "random", "holdout": 0.05, "seeds": 5, "methods": "robust-no-floor"},
        "cpp-crowdsourced, hbmf_robust without the chance floor, the paper's 5 random 5% "
        "splits (floor ablation)",
    ),
    "cpp-llm-holdout-robust": (
        "cpp-crowdsourced",
        {
            "protocol": "llm-holdout",
            "k": [0, 2],
            "llms": "paper",
            "seeds": 3,
            "methods": ["hbmf_robust"],
        },
        "cpp-crowdsourced, hbmf_robust (Student-t noise), the same Table 4 holdouts "
        "(does a heavier tail fix CPP-2 coverage?)",
    ),
    "cpp-llm-holdout-llm-noise": (
        "cpp-crowdsourced",
        {
            "protocol": "llm-holdout",
            "k": [0, 2],
            "llms": "paper",
            "seeds": 3,
            "methods": "llm-noise",
        },
        "cpp-crowdsourced, hbmf with a noise multiplier per LLM, the same Table 4 holdouts",
    ),
    "cpp-random-llm-noise": (
        "cpp-crowdsourced",
        {"protocol": "random", "holdout": 0.05, "seeds": 5, "methods": "llm-noise"},
        "cpp-crowdsourced, hbmf with a noise multiplier per LLM, the paper's 5 random 5% splits",
    ),
    "obsscaling-llm-holdout-llm-noise": (
        "obsscaling",
        {
            "protocol": "llm-holdout",
            "k": [0, 2],
            "llms": "paper",
            "seeds": 3,
            "methods": "llm-noise-and-default",
        },
        "obsscaling, hbmf and hbmf with a noise multiplier per LLM, the Table 4 LLMs it has",
    ),
    # The protocols peers publish (issue 15): BenchPress's per-LLM folds, the
    # audit's stronger-than-seen, and a release-date split of the Open LLM dump.
    "cpp-per-llm-folds": (
        "cpp-crowdsourced",
        {"protocol": "per-llm-folds", "seeds": 10, "methods": PEER_METHODS},
        "cpp-crowdsourced, per-LLM folds (BenchPress: 3 folds per LLM, 3 groups, 10 seeds)",
    ),
    "obsscaling-per-llm-folds": (
        "obsscaling",
        {"protocol": "per-llm-folds", "seeds": 10, "methods": PEER_METHODS},
        "obsscaling, per-LLM folds (BenchPress: 3 folds per LLM, 3 groups, 10 seeds)",
    ),
    "cpp-stronger-than-seen": (
        "cpp-crowdsourced",
        {
            "protocol": "stronger-than-seen",
            "holdout": 0.1,
            "k": [0, 2],
            "seeds": 3,
            "methods": PEER_METHODS,
        },
        "cpp-crowdsourced, the strongest 10% of LLMs held out (0 and 2 revealed scores)",
    ),
    "obsscaling-stronger-than-seen": (
        "obsscaling",
        {
            "protocol": "stronger-than-seen",
            "holdout": 0.1,
            "k": [0, 2],
            "seeds": 3,
            "methods": PEER_METHODS,
        },
        "obsscaling, the strongest 10% of LLMs held out (0 and 2 revealed scores)",
    ),
    "openllm-release-date": (
        "openllm-v1",
        {
            "protocol": "release-date",
            "holdout": 0.1,
            "k": [0, 2],
            "seeds": 3,
            "methods": PEER_METHODS,
            "protocol_options": {"max_train": 600, "max_test": 200},
        },
        "openllm-v1, the latest 10% by date forecast from 600 earlier LLMs "
        "(200 scored, 0 and 2 revealed scores)",
    ),
    "cpp-random-chance-share": (
        "cpp-crowdsourced",
        {"protocol": "random", "holdout": 0.05, "seeds": 5, "methods": "chance-share"},
        "cpp-crowdsourced, hbmf with a learned share of the chance floor, the paper's 5 "
        "random 5% splits",
    ),
    "cpp-llm-holdout-chance-share": (
        "cpp-crowdsourced",
        {
            "protocol": "llm-holdout",
            "k": [0, 2],
            "llms": "paper",
            "seeds": 3,
            "methods": "chance-share",
        },
        "cpp-crowdsourced, hbmf with a learned share of the chance floor, the Table 4 holdouts",
    ),
    "obsscaling-random-chance-share": (
        "obsscaling",
        {"protocol": "random", "holdout": 0.05, "seeds": 5, "methods": "chance-share-and-default"},
        "obsscaling, hbmf and hbmf with a learned share of the chance floor, random 5%, 5 seeds",
    ),
    "cpp-family": (
        "cpp-crowdsourced",
        {"protocol": "family-extrapolation"},
        "cpp-crowdsourced, family extrapolation (each family's largest member hidden)",
    ),
    "cpp-sparsity": (
        "cpp-crowdsourced",
        {
            "protocol": "random",
            "holdout": [0.2, 0.4, 0.6, 0.8],
            "seeds": 1,
            "methods": SWEEP_METHODS,
        },
        "cpp-crowdsourced, sparsity sweep (20-80% hidden, 1 seed each)",
    ),
    "cpp-rank": (
        "cpp-crowdsourced",
        {"protocol": "random", "holdout": 0.05, "seeds": 5, "methods": "ranks"},
        "cpp-crowdsourced, hbmf rank 1-3, random 5% hidden, 5 seeds (choice of the default rank)",
    ),
    "obsscaling-random": (
        "obsscaling",
        {"protocol": "random", "holdout": 0.05, "seeds": 5},
        "obsscaling, random 5% hidden, 5 seeds",
    ),
    "obsscaling-random-20": (
        "obsscaling",
        {"protocol": "random", "holdout": 0.2, "seeds": 10},
        "obsscaling, random 20% hidden, 10 seeds",
    ),
    "obsscaling-llm-holdout": (
        "obsscaling",
        {"protocol": "llm-holdout", "k": [0, 2], "llms": "paper", "seeds": 3},
        "obsscaling, the Table 4 LLMs it has, held out: CPP-0 and CPP-2 (3 seeds)",
    ),
    "obsscaling-rank": (
        "obsscaling",
        {"protocol": "random", "holdout": 0.2, "seeds": 5, "methods": "ranks"},
        "obsscaling, hbmf rank 1-3, random 20% hidden, 5 seeds (choice of the default rank)",
    ),
    "obsscaling-family": (
        "obsscaling",
        {"protocol": "family-extrapolation"},
        "obsscaling, family extrapolation (each family's largest member hidden)",
    ),
    "obsscaling-sparsity": (
        "obsscaling",
        {
            "protocol": "random",
            "holdout": [0.2, 0.4, 0.6, 0.8],
            "seeds": 1,
            "methods": SWEEP_METHODS,
        },
        "obsscaling, sparsity sweep (20-80% hidden, 1 seed each)",
    ),
}


def run(name: str) -> Path:
    """Run one experiment and write its JSON."""
    from bayes_cpp import datasets
    from bayes_cpp.evaluation import evaluate, paper_table4_llms

    dataset, kwargs, _ = EXPERIMENTS[name]
    data = datasets.load(dataset)
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("methods"), str):
        kwargs["methods"] = METHOD_SETS[kwargs["methods"]]()
    if kwargs.get("llms") == "paper":
        kwargs["llms"] = paper_table4_llms(data)
    holdouts = kwargs.pop("holdout", 0.05)
    holdouts = holdouts if isinstance(holdouts, list) else [holdouts]
    records = []
    for holdout in holdouts:
        result = evaluate(data, holdout=holdout, **kwargs)
        print(f"\n## {name} holdout={holdout}\n{result.to_markdown()}", flush=True)
        record = result.to_dict()
        record["table"] = result.table().to_dict(orient="records")
        records.append(record)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    command = f"BAYES_CPP_DATA=../shared/data python benchmarks/evaluation.py {name}"
    path.write_text(json.dumps({"command": command, "runs": records}, indent=2))
    return path


def _markdown_table(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def render() -> str:
    """The generated Markdown section from every results JSON present."""
    parts = [START, ""]
    for name, (_, _, title) in EXPERIMENTS.items():
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        record = json.loads(path.read_text())
        parts.append(f"### {title}\n")
        wall = 0.0
        for run_record in record["runs"]:
            s = run_record["settings"]
            wall += s["wall_seconds"]
            if len(record["runs"]) > 1:
                parts.append(f"holdout {s['holdout']}:\n")
            parts.append(_markdown_table(run_record["table"]) + "\n")
            pits = run_record["pit_histograms"]
            bayes = [m for m in pits if m.startswith("hbmf")]
            if bayes:
                lines = [f"`{m}` {pits[m]}" for m in bayes]
                parts.append(
                    "PIT histogram, 10 bins (flat = calibrated): " + "; ".join(lines) + "\n"
                )
        s = record["runs"][0]["settings"]
        parts.append(
            f"`{record['command']}` — {s['n_splits']} splits per run, "
            f"{wall / 60:.1f} min on {s['machine']}, bayes_cpp {s['bayes_cpp_version']}, "
            f"model fits with {s['sampler']}; {_noise_note(s)}. {_fit_note(record['runs'])}\n"
        )
    parts.append(END)
    return "\n".join(parts)


def _noise_note(settings: dict[str, Any]) -> str:
    """Which noise model the run's hbmf had (recorded since the spec is stored)."""
    specs = settings.get("specs")
    if not specs:
        return "hbmf with constant per-task noise (floor 0.02; run before specs were recorded)"
    notes = [
        f"{label}: {d['spec']['likelihood']} likelihood, {d['spec']['noise_scaling']} noise, "
        f"floor {d['spec']['noise_floor']:g}"
        + (", a noise multiplier per LLM" if d["spec"].get("llm_noise") else "")
        + (", a learned share of the chance floor" if d["spec"].get("chance_share") else "")
        for label, d in specs.items()
    ]
    return "; ".join(notes)


def _fit_note(runs: list[dict[str, Any]]) -> str:
    """Worst convergence and total fit time of each Bayesian method over the runs."""
    notes = []
    # Records that reused another split's fit (CPP-k variants of one holdout) are not fits.
    fits = [
        f
        for r in runs
        for f in r["fits"]
        if f.get("max_rhat") is not None and not f.get("reused_fit")
    ]
    for method in dict.fromkeys(f["method"] for f in fits):
        mine = [f for f in fits if f["method"] == method]
        notes.append(
            f"`{method}`: {len(mine)} fits, {sum(f['seconds'] for f in mine) / 60:.1f} min, "
            f"worst r̂ {max(f['max_rhat'] for f in mine):.3f}, smallest bulk ESS "
            f"{min(f['min_ess_bulk'] for f in mine):.0f}, "
            f"{sum(int(f['n_divergent']) for f in mine)} divergences"
        )
    return "; ".join(notes) + "." if notes else ""


def write_results_md() -> None:
    """Replace the generated section of RESULTS.md (appended if absent)."""
    text = RESULTS_MD.read_text()
    section = render()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n## Evaluation (generated)\n\n" + section + "\n"
    RESULTS_MD.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"experiments (default all): {list(EXPERIMENTS)}")
    parser.add_argument("--render", action="store_true", help="only rebuild RESULTS.md")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment(s) {unknown}; choose from {list(EXPERIMENTS)}")
    failed = []
    if not args.render:
        for name in args.names or list(EXPERIMENTS):
            try:
                print(f"wrote {run(name)}", flush=True)
            except Exception:  # keep going: one failed experiment must not cost the others
                traceback.print_exc()
                failed.append(name)
    write_results_md()
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
