//! The page's axes: which values get a tick and how each is written, chosen here so the
//! page has no tick rule or number formatter of its own. Values are round (1, 2 or 5 times a
//! power of ten apart); labels are [`format::axis_tick`]'s. The decision boundary's ticks
//! travel with `/heatmap` ([`super::heatmap::Heatmap::ticks`]), the loss and accuracy
//! charts' with `/status` (`history_axes`, [`HistoryAxes`]).

use super::session::HistoryPoint;
use crate::format;
use serde::Serialize;

/// How many ticks the boundary's axes have, about.
pub const BOUNDARY_TICKS: usize = 5;
/// How many step ticks a session's history charts have, about: one per 55 CSS pixels of
/// their 286-pixel-wide plots (`#loss-curve`, `#accuracy-curve`).
pub const SESSION_STEP_TICKS: usize = 5;
/// How many step ticks a comparison's history charts have, about: one per 55 CSS pixels of
/// their 362-pixel-wide plots (`#compare-loss`, `#compare-accuracy`).
pub const COMPARISON_STEP_TICKS: usize = 6;
/// How many loss ticks the loss chart's y axis has, about.
pub const LOSS_TICKS: usize = 4;
/// How many accuracy ticks (0 % to 100 %) the accuracy chart's y axis has, about.
pub const ACCURACY_TICKS: usize = 5;
/// The fewest steps a history chart spans, so the first few steps are not stretched across
/// the plot.
pub const SMALLEST_STEP_SPAN: u64 = 10;

/// One tick of an axis: where it sits (in the axis's units) and its label.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tick {
    /// The value at the tick.
    pub value: f64,
    /// The label written at it.
    pub label: String,
}

/// Round values covering `[low, high]`, about `count` of them, [`format::axis_step`] apart
/// and at least `smallest_gap`; `[low]` for an empty or non-finite range.
pub fn round_values(low: f64, high: f64, count: usize, smallest_gap: f64) -> Vec<f64> {
    if !low.is_finite() || !high.is_finite() || high <= low {
        return vec![low];
    }
    let gap = format::axis_step(smallest_gap.max((high - low) / count.max(1) as f64));
    let first = (low / gap - 1e-9).ceil() as i64;
    let last = (high / gap + 1e-9).floor() as i64;
    (first..=last)
        .map(|k| {
            let v = k as f64 * gap;
            // 0.30000000000000004 as 0.3: twelve significant digits, as written.
            if v.abs() < gap * 1e-9 {
                0.0
            } else {
                format!("{v:.11e}").parse().unwrap_or(v)
            }
        })
        .collect()
}

/// `values` labelled with [`format::axis_tick`].
pub fn labelled(values: &[f64]) -> Vec<Tick> {
    values
        .iter()
        .map(|&value| Tick {
            value,
            label: format::axis_tick(value),
        })
        .collect()
}

/// Fractions labelled as percentages: `0.2` as `20 %` ([`format::axis_tick`] of the
/// rounded percentage).
pub fn labelled_as_percent(values: &[f64]) -> Vec<Tick> {
    values
        .iter()
        .map(|&value| Tick {
            value,
            label: format!("{} %", format::axis_tick((100.0 * value).round())),
        })
        .collect()
}

/// The ticks of the decision boundary's two axes (the region is square, so one list
/// serves x₁ and x₂): round values in `[min, max]`.
pub fn boundary_ticks(min: f64, max: f64) -> Vec<Tick> {
    labelled(&round_values(min, max, BOUNDARY_TICKS, 0.0))
}

/// One history chart's axes: the steps and values it spans and their ticks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChartAxes {
    /// The first and last step the x axis spans.
    pub steps: [u64; 2],
    /// The smallest and largest value the y axis spans.
    pub values: [f64; 2],
    /// Ticks along the steps.
    pub x_ticks: Vec<Tick>,
    /// Ticks along the values.
    pub y_ticks: Vec<Tick>,
}

/// The loss chart's and the accuracy chart's axes, for the histories drawn on them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryAxes {
    /// Train and test loss: from 0 up to the first round tick at or above the largest
    /// finite loss.
    pub loss: ChartAxes,
    /// Train and test accuracy: 0 % to 100 %.
    pub accuracy: ChartAxes,
}

impl HistoryAxes {
    /// The axes of charts showing every history of `histories` (one per run) together: the
    /// x axis spans the steps recorded, at least [`SMALLEST_STEP_SPAN`] of them, with about
    /// `step_ticks` ticks.
    pub fn of(histories: &[&[HistoryPoint]], step_ticks: usize) -> HistoryAxes {
        let points = || histories.iter().flat_map(|h| h.iter());
        let first = points().map(|p| p.step).min().unwrap_or(0);
        let last = points()
            .map(|p| p.step)
            .max()
            .unwrap_or(0)
            .max(first + SMALLEST_STEP_SPAN);
        let step_ticks = labelled(&round_values(first as f64, last as f64, step_ticks, 1.0));
        let largest_loss = points()
            .flat_map(|p| [p.train_loss, p.test_loss])
            .filter(|v| v.is_finite())
            .fold(1e-6, f64::max);
        let loss_high = if points().next().is_none() {
            1.0
        } else {
            let covering = round_values(0.0, largest_loss, LOSS_TICKS, 0.0);
            let gap = match covering[..] {
                [a, b, ..] => b - a,
                _ => largest_loss,
            };
            let high = *covering.last().unwrap_or(&largest_loss);
            if high < largest_loss * 0.999 {
                high + gap
            } else {
                high
            }
        };
        HistoryAxes {
            loss: ChartAxes {
                steps: [first, last],
                values: [0.0, loss_high],
                x_ticks: step_ticks.clone(),
                y_ticks: labelled(&round_values(0.0, loss_high, LOSS_TICKS, 0.0)),
            },
            accuracy: ChartAxes {
                steps: [first, last],
                values: [0.0, 1.0],
                x_ticks: step_ticks,
                y_ticks: labelled_as_percent(&round_values(0.0, 1.0, ACCURACY_TICKS, 0.0)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labels of `ticks`.
    fn labels_of(ticks: &[Tick]) -> Vec<&str> {
        ticks.iter().map(|t| t.label.as_str()).collect()
    }

    fn point(step: u64, loss: f64) -> HistoryPoint {
        HistoryPoint {
            step,
            train_loss: loss,
            train_accuracy: 0.5,
            test_loss: loss,
            test_accuracy: 0.5,
        }
    }

    #[test]
    fn round_values_are_1_2_or_5_apart_and_cover_the_range() {
        assert_eq!(round_values(-1.1, 1.1, 5, 0.0), [-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(
            round_values(0.0, 1.0, 5, 0.0),
            [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        assert_eq!(round_values(0.0, 0.3, 3, 0.0), [0.0, 0.1, 0.2, 0.3]);
        assert_eq!(
            round_values(0.0, 10.0, 5, 1.0),
            [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(round_values(0.0, 3.0, 5, 1.0), [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(round_values(2.0, 2.0, 5, 0.0), [2.0]);
        assert_eq!(round_values(0.0, f64::INFINITY, 5, 0.0), [0.0]);
    }

    #[test]
    fn the_loss_axis_ends_at_a_round_tick_above_the_largest_loss() {
        let history = [point(0, 1.1), point(100, f64::NAN), point(250, 0.2)];
        let axes = HistoryAxes::of(&[&history], SESSION_STEP_TICKS);
        assert_eq!(axes.loss.steps, [0, 250]);
        assert_eq!(axes.loss.values, [0.0, 1.5]);
        let labels = labels_of(&axes.loss.y_ticks);
        assert_eq!(labels, ["0", "0.5", "1", "1.5"]);
        let labels = labels_of(&axes.accuracy.y_ticks);
        assert_eq!(labels, ["0 %", "20 %", "40 %", "60 %", "80 %", "100 %"]);
        let steps = labels_of(&axes.loss.x_ticks);
        assert_eq!(steps, ["0", "50", "100", "150", "200", "250"]);
        // Large step counts as axis_tick writes them: 1e5, not JavaScript's 1e+5.
        let long = HistoryAxes::of(&[&[point(0, 1.0), point(243_000, 0.1)]], SESSION_STEP_TICKS);
        let steps = labels_of(&long.loss.x_ticks);
        assert_eq!(steps, ["0", "50000", "1e5", "1.5e5", "2e5"]);
        let empty = HistoryAxes::of(&[&[]], SESSION_STEP_TICKS);
        let wider = HistoryAxes::of(
            &[&[point(0, 1.0)], &[point(104, 0.5)]],
            COMPARISON_STEP_TICKS,
        );
        let steps = labels_of(&wider.accuracy.x_ticks);
        assert_eq!(steps, ["0", "20", "40", "60", "80", "100"]);
        assert_eq!(empty.loss.steps, [0, SMALLEST_STEP_SPAN]);
        assert_eq!(empty.loss.values, [0.0, 1.0]);
    }
}
