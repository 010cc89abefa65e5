"""Whole-process speed of fits, forecasts and the CLI, cold and warm, with machine-independent counts.

Each measurement runs in a fresh Python process (what a user waits for), with
the compile caches either empty ("cold": fresh ``NUMBA_CACHE_DIR`` and PyTensor
``base_compiledir``) or filled by a previous run ("warm"), and is repeated
``--repeats`` times (median reported). Besides seconds it records counts that
do not depend on the machine's load: gradient evaluations of the whole fit
(tuning included), the cost of one log-density gradient, and the worst bulk
ESS per 1,000 gradients.

Usage (from the repository root)::

    BAYES_CPP_DATA=../shared/data python benchmarks/speed.py            # everything
    BAYES_CPP_DATA=../shared/data python benchmarks/speed.py fit-cpp fit-obsscaling
    python benchmarks/speed.py --list

Writes ``benchmarks/results/speed.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "speed.json"

#: name -> (kind, arguments of the child)
SCENARIOS: dict[str, tuple[str, dict[str, Any]]] = {
    "fit-cpp": ("fit", {"dataset": "cpp-crowdsourced"}),
    "fit-obsscaling": ("fit", {"dataset": "obsscaling"}),
    "fit-leaderboard-200x12": ("fit", {"simulate": [200, 12, 0.7]}),
    "fit-sim-100x30": ("fit", {"simulate": [100, 30, 0.3]}),
    "fit-sim-1000x30": ("fit", {"simulate": [1000, 30, 0.3]}),
    "fit-sim-10000x30": ("fit", {"simulate": [10000, 30, 0.3], "chains": 2, "draws": 300}),
    "forecast-2-scores": ("forecast", {"dataset": "cpp-crowdsourced"}),
    "cli-forecast-2-scores": ("cli-forecast", {"dataset": "cpp-crowdsourced"}),
    "cli-help": ("cli", {"argv": ["--help"]}),
}


def _forecast_argv(dataset: str, fit: str) -> list[str]:
    """``bayes-cpp forecast`` for the best-observed LLM of ``dataset``, two of its scores known."""
    import bayes_cpp as bc

    data = bc.datasets.load(dataset)
    target = data.observed_counts("llm").idxmax()
    row = data.llms.loc[target]
    argv = ["forecast", "--fit", fit, "--family", str(row["family"]), "--name", "new"]
    for col in ("params_b", "tokens_b"):
        if col in row and row[col] == row[col]:
            argv += ["--factor", f"{col}={row[col]}"]
    two = data.scores[data.scores["llm"] == target].head(2)
    for task, score in zip(two["task"], two["score"], strict=True):
        argv += ["--score", f"{task}={score}"]
    return argv


def _child(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run inside the measured process; returns what it measured."""
    t0 = time.perf_counter()
    import numpy as np

    import bayes_cpp as bc

    imported = time.perf_counter() - t0
    if kind == "cli":
        raise AssertionError("the CLI is timed from outside")
    if "simulate" in args:
        n_llm, n_task, density = args["simulate"]
        data = bc.simulate(n_llm, n_task, density=density, coverage="uniform", random_seed=0).data
    else:
        data = bc.datasets.load(args["dataset"])
    if kind == "forecast":
        path = Path(args["fit"])
        t1 = time.perf_counter()
        est = bc.BayesCPP.load(path)
        target = data.observed_counts("llm").idxmax()
        row = data.llms.loc[target]
        two = data.scores[data.scores["llm"] == target].head(2).set_index("task")["score"]
        factors = {c: row[c] for c in est.llm_design_.columns}
        est.forecast(row["family"], factors=factors, scores=two.to_dict(), name="new")
        return {"import_s": imported, "forecast_s": time.perf_counter() - t1}
    params = {k: args[k] for k in ("chains", "draws", "tune") if k in args}
    est = bc.BayesCPP(random_seed=args.get("seed", 0), **params)
    t1 = time.perf_counter()
    est.fit(data)
    fit_s = time.perf_counter() - t1
    report = est.diagnose(warn=False)
    post = est.idata_["posterior"]
    n_grad = int(post.attrs.get("bayes_cpp_n_gradients", 0))
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(post.data_vars):
        digest.update(np.ascontiguousarray(post[name].values).tobytes())
    out = {
        "import_s": imported,
        "fit_s": fit_s,
        "posterior_sha256": digest.hexdigest()[:16],
        "n_llms": data.n_llms,
        "n_tasks": data.n_tasks,
        "n_observed": data.n_observed,
        "chains": int(post.sizes["chain"]),
        "draws": int(post.sizes["draw"]),
        "n_gradients": n_grad,
        "max_rhat": report.max_rhat,
        "min_ess_bulk": report.min_ess_bulk,
        "n_divergent": report.n_divergent,
        "ess_per_1k_gradients": 1000.0 * report.min_ess_bulk / max(n_grad, 1),
    }
    if "save" in args:
        est.save(args["save"])
    # The cost of one gradient, timed in this process after the fit.
    from bayes_cpp import kernel
    from bayes_cpp.features import build_design
    from bayes_cpp.inputs import graph_inputs

    spec = est.spec_
    inputs = graph_inputs(
        data,
        spec,
        build_design(spec.llm_features, data.llms, side="llm"),
        build_design(spec.task_features, data.tasks, side="task"),
    )
    layout = kernel.build_layout(inputs, spec)
    theta = np.random.default_rng(0).normal(0.0, 0.3, layout.n_dim)
    grad = np.zeros(layout.n_dim)
    n = max(200, min(20000, int(2e6 / max(data.n_observed, 1))))
    t2 = time.perf_counter()
    for _ in range(n):
        kernel.logp_grad(theta, grad, layout.floats, layout.ints)
    out["gradient_us"] = 1e6 * (time.perf_counter() - t2) / n
    return out


def _run(kind: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    start = time.perf_counter()
    if kind == "cli":
        proc = subprocess.run(
            [sys.executable, "-m", "bayes_cpp", *args["argv"]],
            env=env,
            capture_output=True,
            text=True,
        )
        result: dict[str, Any] = {"returncode": proc.returncode}
    else:
        code = (
            f"import json, resource, sys; sys.path.insert(0, {str(HERE)!r}); import speed; "
            f"r = speed._child({kind!r}, json.loads({json.dumps(args)!r})); "
            "r['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            "print('RESULT ' + json.dumps(r))"
        )
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if not lines:
            raise RuntimeError(f"{kind} {args} failed:\n{proc.stderr[-3000:]}")
        result = json.loads(lines[-1][len("RESULT ") :])
    result["wall_s"] = time.perf_counter() - start
    return result


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    env["PYTENSOR_FLAGS"] = f"base_compiledir={cache / 'pytensor'}"
    return env


def measure(name: str, repeats: int, workdir: Path) -> dict[str, Any]:
    """Cold runs (each with empty caches) and warm runs (after one filling run)."""
    kind, args = SCENARIOS[name]
    runs: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    if kind in ("forecast", "cli-forecast"):
        fit_path = workdir / "forecast-fit.nc"
        if not fit_path.exists():
            _run("fit", {**args, "save": str(fit_path)}, _env(workdir / "forecast-cache"))
        args = {**args, "fit": str(fit_path)}
        if kind == "cli-forecast":
            kind, args = "cli", {"argv": _forecast_argv(args["dataset"], str(fit_path))}
    for i in range(repeats):
        cold = workdir / f"{name}-cold-{i}"
        runs["cold"].append(_run(kind, args, _env(cold)))
        shutil.rmtree(cold, ignore_errors=True)
    warm = workdir / f"{name}-warm"
    _run(kind, args, _env(warm))
    for _ in range(repeats):
        runs["warm"].append(_run(kind, args, _env(warm)))
    summary: dict[str, Any] = {"kind": kind, "args": args, "runs": runs}
    for state, items in runs.items():
        summary[f"{state}_wall_s"] = statistics.median(r["wall_s"] for r in items)
    return summary


def _table(results: dict[str, Any]) -> str:
    head = (
        "| scenario | cold wall s | warm wall s | fit s (warm) | gradients | gradient µs | "
        "min ESS / 1k grad | max r̂ | min bulk ESS | divergences | peak RSS MB |"
    )
    lines = [head, "|" + "---|" * 11]
    for name, r in results["scenarios"].items():
        w = r["runs"]["warm"]

        def med(key: str, w: list[dict[str, Any]] = w) -> float:
            return statistics.median(x[key] for x in w) if key in w[0] else float("nan")

        lines.append(
            f"| {name} | {r['cold_wall_s']:.1f} | {r['warm_wall_s']:.2f} | {med('fit_s'):.1f} | "
            f"{med('n_gradients'):,.0f} | {med('gradient_us'):.1f} | {med('ess_per_1k_gradients'):.2f} | "
            f"{max(x.get('max_rhat', float('nan')) for x in w):.4f} | "
            f"{min(x.get('min_ess_bulk', float('nan')) for x in w):.0f} | "
            f"{max(x.get('n_divergent', 0) for x in w)} | {med('peak_rss_mb'):.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help="default: all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(SCENARIOS))
        return {}
    names = args.scenarios or list(SCENARIOS)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bayes-cpp-speed-") as tmp:
        results = {
            "command": "python benchmarks/speed.py " + " ".join(argv or sys.argv[1:]),
            "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
            "load_before": load,
            "scenarios": {n: measure(n, args.repeats, Path(tmp)) for n in names},
        }
    out = Path(args.out)
    previous = json.loads(out.read_text()) if out.exists() else {"scenarios": {}}
    previous["scenarios"].update(results["scenarios"])
    previous.update({k: v for k, v in results.items() if k != "scenarios"})
    out.write_text(json.dumps(previous, indent=2))
    print(_table(results))
    return results


if __name__ == "__main__":
    main()
