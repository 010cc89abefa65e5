"""A one-page summary of a fit: data, convergence, held-out calibration, importance, plots.

:func:`fit_report` writes a Markdown file (and, with ``html=True``, the same
page as HTML) whose first lines say whether the fit converged, then the data,
the model and sampler, the calibration of a held-out check (the per-cell
results of :func:`bayes_cpp.evaluation.evaluate`, e.g. from
:func:`heldout_check` or ``bayes-cpp evaluate --cells``; without them a note
says how to get them), the design-factor coefficients and the figures, which
are written next to the report (``<stem>-importance.png``, ...). Figures need
the ``plot`` extra; without matplotlib the report says so and has no figures.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_cpp import dims
from bayes_cpp.estimator import BayesCPP
from bayes_cpp.exceptions import MissingDependencyError
from bayes_cpp.output import interval_columns

__all__ = ["Report", "fit_report", "heldout_check"]


@dataclass
class Report:
    """A page as blocks, rendered to Markdown or HTML.

    Each block is ``(kind, payload)`` with kind ``"h1"``, ``"h2"``, ``"p"``
    (text with ``**bold**`` and ```code```), ``"ul"`` (list of such texts),
    ``"table"`` (a DataFrame) or ``"img"`` (``(file name, caption)``).
    """

    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def add(self, kind: str, payload: Any) -> None:
        """Append a block."""
        self.blocks.append((kind, payload))

    def markdown(self) -> str:
        """The page as GitHub-flavoured Markdown."""
        out: list[str] = []
        for kind, payload in self.blocks:
            if kind == "h1":
                out.append(f"# {payload}")
            elif kind == "h2":
                out.append(f"## {payload}")
            elif kind == "p":
                out.append(str(payload))
            elif kind == "ul":
                out.append("\n".join(f"* {item}" for item in payload))
            elif kind == "table":
                out.append(_markdown_table(payload))
            elif kind == "img":
                name, caption = payload
                out.append(f"![{caption}]({name})")
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        """The page as one self-contained HTML file (figures linked beside it)."""
        body: list[str] = []
        for kind, payload in self.blocks:
            if kind in ("h1", "h2"):
                body.append(f"<{kind}>{_inline(str(payload))}</{kind}>")
            elif kind == "p":
                body.append(f"<p>{_inline(str(payload))}</p>")
            elif kind == "ul":
                items = "".join(f"<li>{_inline(str(i))}</li>" for i in payload)
                body.append(f"<ul>{items}</ul>")
            elif kind == "table":
                body.append(_html_table(payload))
            elif kind == "img":
                name, caption = payload
                body.append(
                    f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption)}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
        style = (
            "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
            "line-height:1.45}table{border-collapse:collapse;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}"
            "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
            "img{max-width:100%}code{background:#f3f3f3;padding:0 .2em}"
        )
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{style}</style></head>\n<body>\n"
            + "\n".join(body)
            + "\n</body></html>\n"
        )


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{float(value):.3g}"
    return str(value).replace("|", "\\|")


def _markdown_table(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(str(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in table.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def heldout_check(
    est: BayesCPP,
    *,
    holdout: float = 0.05,
    seeds: int = 1,
    sampler: dict[str, Any] | None = None,
    random_seed: int = 0,
) -> pd.DataFrame:
    """Hide ``holdout`` of the fit's cells, refit its spec on the rest, score them.

    One refit per seed with the evaluation harness's lighter sampler settings
    (:data:`bayes_cpp.evaluation.EVALUATION_SAMPLER` unless ``sampler``).

    Returns
    -------
    pandas.DataFrame
        The per-cell results (``EvaluationResult.cells``) of the fit's spec.
    """
    from bayes_cpp.evaluation import evaluate
    from bayes_cpp.evaluation.methods import BayesMethod
    from bayes_cpp.evaluation.names import EVALUATION_SAMPLER

    est.check_is_fitted()
    params = dict(EVALUATION_SAMPLER if sampler is None else sampler)
    method = BayesMethod(est.spec_, params, label=est.spec_.name)
    result = evaluate(
        est.data_,
        "random",
        methods=[method],
        holdout=holdout,
        seeds=seeds,
        random_seed=random_seed,
        progress=False,
    )
    return result.cells


def _calibration_table(cells: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for method, group in cells.groupby("method", sort=False):
        row: dict[str, Any] = {"method": method, "cells": len(group)}
        if {"unit_score", "unit_predicted"} <= set(group.columns):
            error = group["unit_predicted"] - group["unit_score"]
            row["RMSE (0-1)"] = float(np.sqrt(np.mean(error**2)))
        for column in sorted(c for c in group.columns if re.fullmatch(r"covered_\d+", c)):
            row[f"{column.split('_')[1]}% interval covers"] = f"{group[column].mean():.0%}"
        rows.append(row)
    return pd.DataFrame(rows)


def _save(fig: Any, folder: Path, name: str) -> str:
    fig.savefig(folder / name, dpi=110, bbox_inches="tight")
    return name


def _figures(
    est: BayesCPP, folder: Path, stem: str, cells: pd.DataFrame | None, importance: pd.DataFrame
) -> tuple[list[tuple[str, str]], str | None]:
    """Write the figures; returns (file, caption) pairs and a note when plotting is unavailable."""
    try:
        from bayes_cpp import plotting
        from bayes_cpp.similarity import latent_positions
    except MissingDependencyError as exc:  # pragma: no cover - the plot extra is in dev
        return [], str(exc)
    shown: list[tuple[str, str]] = []
    try:
        if len(importance):
            fig = plotting.plot_importance(importance)
            shown.append((_save(fig, folder, f"{stem}-importance.png"), "design-factor effects"))
        if est.spec_.rank >= 2:
            fig = plotting.plot_latent_map(latent_positions(est))
            shown.append((_save(fig, folder, f"{stem}-latent.png"), "LLMs by latent position"))
        if cells is not None and len(cells):
            fig = plotting.plot_calibration(cells)
            shown.append((_save(fig, folder, f"{stem}-calibration.png"), "held-out calibration"))
        fig = plotting.plot_diagnostics(est)
        shown.append((_save(fig, folder, f"{stem}-diagnostics.png"), "worst-mixing quantities"))
    except MissingDependencyError as exc:
        return shown, str(exc)
    return shown, None


def fit_report(
    est: BayesCPP,
    path: str | Path,
    *,
    cells: pd.DataFrame | None = None,
    html: bool = False,
    title: str | None = None,
) -> list[Path]:
    """Write the one-page report of a fit to ``path`` (Markdown); returns every file written.

    Parameters
    ----------
    est : BayesCPP
        A fitted estimator.
    path : path
        The Markdown file; figures go beside it as ``<stem>-<figure>.png``.
    cells : pandas.DataFrame, optional
        Per-cell held-out results (``EvaluationResult.cells``, e.g. from
        :func:`heldout_check`) for the calibration section.
    html : bool
        Also write ``<stem>.html``.
    title : str, optional
        Page title (default names the spec and the data).
    """
    from bayes_cpp.importance import coefficients

    est.check_is_fitted()
    path = Path(path)
    folder, stem = path.parent, path.stem
    folder.mkdir(parents=True, exist_ok=True)
    data, spec = est.data_, est.spec_
    label = data.name or "the data"
    title = title or f"bayes_cpp fit: {spec.name} on {label}"
    report = est.diagnose(warn=False)
    page = Report()
    page.add("h1", title)
    verdict = "Converged" if report.ok else "⚠ NOT CONVERGED"
    page.add("p", f"**{verdict}**: {report.headline()}.")
    if not report.ok:
        page.add("ul", [*report.problems(), "Treat every number below as suspect; refit longer."])

    page.add("h2", "Data")
    page.add(
        "ul",
        [
            f"{data.n_llms} LLMs x {data.n_tasks} tasks, {data.n_observed} observed scores "
            f"({data.density:.0%} of the cells)",
            f"{len(data.families)} families, {len(data.categories)} task categories",
            "LLM features: "
            + (
                ", ".join(
                    f"`{f.name}` ({f.transform} of {f.columns[0]})" for f in spec.llm_features
                )
                or "none"
            ),
            "task features: "
            + (
                ", ".join(
                    f"`{f.name}` ({f.transform} of {f.columns[0]})" for f in spec.task_features
                )
                or "none"
            ),
        ],
    )
    post = est.idata_["posterior"]
    seconds = post.attrs.get("bayes_cpp_wall_seconds")
    page.add("h2", "Model and sampler")
    page.add(
        "p",
        f"Spec `{spec.name}` (rank {spec.rank}, {spec.likelihood} likelihood, "
        f"{spec.noise_scaling} noise): {spec.description} Sampled with {est.sampler_used_}, "
        f"{post.sizes['chain']} chains x {post.sizes['draw']} draws, seed {est.random_seed_}"
        + (f", in {float(seconds):.0f} s." if seconds is not None else "."),
    )

    page.add("h2", "Calibration on held-out cells")
    if cells is not None and len(cells):
        page.add(
            "p",
            "Cells hidden from a refit and predicted: a calibrated model's 90% intervals cover "
            "about 90% of them.",
        )
        page.add("table", _calibration_table(cells))
    else:
        page.add(
            "p",
            "No held-out check in this report. `bayes-cpp report --check` hides 5% of the cells, "
            "refits and scores them (one extra fit); `bayes-cpp evaluate` compares the model "
            "with baselines under the CPP paper's protocols.",
        )

    importance = coefficients(est)
    page.add("h2", "Which design factors matter")
    if len(importance):
        bias = importance[importance["on"] == "bias"].drop(columns="on")
        page.add(
            "p",
            "Effect of +1 sd of each standardized feature on the linear predictor (logit of the "
            f"chance-corrected score), with {dims.CI_PROB:.0%} intervals:",
        )
        page.add("table", interval_columns(bias))
    else:
        page.add("p", "The model uses no design factors.")

    figures, note = _figures(est, folder, stem, cells, importance)
    page.add("h2", "Figures")
    for name, caption in figures:
        page.add("img", (name, caption))
    if note:
        page.add("p", f"No (further) figures: {note}")

    written = [path]
    path.write_text(page.markdown(), encoding="utf-8")
    if html:
        html_path = path.with_suffix(".html")
        html_path.write_text(page.html(title), encoding="utf-8")
        written.append(html_path)
    return written + [folder / name for name, _ in figures]
