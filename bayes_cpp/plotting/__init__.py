"""Figures for the questions bayes_cpp answers (the ``plot`` extra).

Every function takes its data (a labelled draw array or a tidy frame, as each
docstring says), keyword-only options, and returns a
:class:`matplotlib.figure.Figure`. The figures are not registered with
pyplot: nothing opens a window or calls ``show()``; a figure displays in a
notebook when it is a cell's value and ``fig.savefig(path)`` writes it.
matplotlib (and arviz-plots, for :func:`plot_diagnostics`) are imported only
when a function runs; without them a
:class:`~bayes_cpp.MissingDependencyError` says to install
``bayes_cpp[plot]``.

Intervals are equal-tailed with explicit probabilities
(:data:`bayes_cpp.dims.BAND_PROBS`, 50% and 90%, unless the caller passes
others); coverage and PIT figures use the evaluation's own levels
(:data:`bayes_cpp.evaluation.metrics.INTERVAL_PROBS`).

Functions
---------
plot_forecast
    One LLM across tasks: posterior mean, 50% and 90% intervals, observed scores.
plot_predicted_vs_observed
    Held-out cells of one method, with their predictive intervals.
plot_calibration
    Nominal vs empirical interval coverage per method.
plot_pit
    PIT histogram and PIT ECDF difference with a simultaneous band.
plot_importance, plot_importance_by_category
    Forests of standardized design-factor coefficients.
plot_latent_map
    First two latent dimensions with uncertainty, coloured by group.
plot_whatif
    Forecast curves over a design factor, one panel per task.
plot_active_curve
    Held-out error and interval width vs cells revealed, per strategy.
plot_diagnostics
    Rank or trace plots of the worst-mixing identified quantities of a fit.
plot_sbc
    Simulation-based calibration: rank ECDF differences or histograms per quantity.
"""

from bayes_cpp.plotting.active import plot_active_curve
from bayes_cpp.plotting.convergence import plot_diagnostics
from bayes_cpp.plotting.forecast import observed_scores, plot_forecast, plot_whatif
from bayes_cpp.plotting.heldout import plot_calibration, plot_pit, plot_predicted_vs_observed
from bayes_cpp.plotting.importance import plot_importance, plot_importance_by_category
from bayes_cpp.plotting.latent import plot_latent_map
from bayes_cpp.plotting.validation import plot_sbc

__all__ = [
    "observed_scores",
    "plot_active_curve",
    "plot_calibration",
    "plot_diagnostics",
    "plot_forecast",
    "plot_importance",
    "plot_importance_by_category",
    "plot_latent_map",
    "plot_pit",
    "plot_predicted_vs_observed",
    "plot_sbc",
    "plot_whatif",
]
