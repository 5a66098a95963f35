//! Training curves: loss and accuracy per epoch, drawn from the epoch records of a run.
//!
//! [`plot_training_curves`] draws a figure with two panels side by side, loss per epoch (train
//! loss L, train objective J dashed, validation and test loss) and accuracy per epoch (train,
//! validation, test), plus a third panel of the records' extra values (gradient norms, ...)
//! when they have any. [`plot_training_curves_with_extra`] chooses that third panel explicitly.
//!
//! The format follows the file extension: `.svg` or `.png`. Text in a PNG is rasterised with
//! DejaVu Sans, embedded in the program through the `dejavu` crate, so no font needs to be
//! installed; an SVG keeps its text as `<text>` elements for the viewer to draw. Either file
//! is written atomically.

use std::error::Error as StdError;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::{codecs::png::PngEncoder, ExtendedColorType, ImageEncoder};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use plotters_backend::{BackendCoord, DrawingErrorKind};
use thiserror::Error;

use crate::atomic_file::{write_atomically, write_bytes_atomically};
use crate::train::grad_stats::{self, GradientOf};
use crate::train::metrics::EpochRecord;

/// Width in pixels of one panel of the figure.
pub const PANEL_WIDTH: u32 = 640;
/// Height in pixels of the figure, title included.
pub const FIGURE_HEIGHT: u32 = 480;

/// The font family every text of the figure uses; [`register_embedded_font`] backs it with
/// the embedded DejaVu Sans.
const FONT_FAMILY: &str = "sans-serif";

/// The colours of matplotlib's default cycle (tab10), so the curves look like D2L's figures.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const TRAIN_COLOR: RGBColor = PALETTE[0];
const VALIDATION_COLOR: RGBColor = PALETTE[1];
const TEST_COLOR: RGBColor = PALETTE[2];

/// The smallest span of the accuracy axis, in percentage points: a run that stays between
/// 33.0 and 33.6 % is drawn flat, not as wild swings.
const MIN_ACCURACY_SPAN: f64 = 10.0;

/// The smallest span of the loss axis, as a fraction of the largest loss drawn.
const MIN_LOSS_SPAN_FRACTION: f64 = 0.2;

/// Failure to draw or write a plot.
#[derive(Debug, Error)]
pub enum PlotError {
    /// The file name does not end in `.svg` or `.png`.
    #[error("cannot plot to {}: unsupported file extension (expected .svg or .png)", path.display())]
    UnsupportedFormat {
        /// The requested output file.
        path: PathBuf,
    },
    /// There is nothing to plot.
    #[error("cannot plot to {}: there are no epoch records to plot", path.display())]
    NoRecords {
        /// The requested output file.
        path: PathBuf,
    },
    /// An extra series asked for is in none of the records.
    #[error(
        "cannot plot to {}: no epoch record has the extra value `{name}` (expected one of: {available})",
        path.display()
    )]
    UnknownExtraSeries {
        /// The requested output file.
        path: PathBuf,
        /// The series asked for.
        name: String,
        /// The extra values the records do have, comma-separated.
        available: String,
    },
    /// The embedded font could not be loaded (a bug in the build, not in the input).
    #[error("cannot load the embedded DejaVu Sans font for plot text")]
    Font,
    /// The plotting library failed while drawing.
    #[error("cannot draw the plot {}: {message}", path.display())]
    Draw {
        /// The requested output file.
        path: PathBuf,
        /// What the plotting library reported.
        message: String,
    },
    /// The drawn image could not be encoded as PNG.
    #[error("cannot encode the plot {} as PNG: {source}", path.display())]
    Encode {
        /// The requested output file.
        path: PathBuf,
        /// What the PNG encoder reported.
        source: image::ImageError,
    },
    /// The file could not be written.
    #[error("cannot write the plot {}: {source}", path.display())]
    Write {
        /// The requested output file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
}

/// A third panel of per-epoch values taken from [`EpochRecord::extra`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraPanel {
    /// The caption above the panel, e.g. `"Gradient norms per epoch"`.
    pub caption: String,
    /// The y-axis description, e.g. `"‖∂J/∂W‖"`.
    pub y_label: String,
    /// The names of the extra values to draw, one curve each, in legend order.
    pub series: Vec<String>,
    /// Whether the y axis is logarithmic. On a log axis, values that are not positive are
    /// left out; if no value is positive the axis falls back to linear.
    pub log_scale: bool,
}

impl ExtraPanel {
    /// A panel with every extra value found in `records`, or `None` if there are none.
    /// The y axis is logarithmic when every finite value is positive (norms, learning rates).
    pub fn with_all_series(records: &[EpochRecord]) -> Option<Self> {
        let series = extra_series_names(records);
        if series.is_empty() {
            return None;
        }
        let log_scale = records
            .iter()
            .flat_map(|record| record.extra.values())
            .filter(|value| value.is_finite())
            .all(|&value| value > 0.0);
        Some(Self {
            caption: "Other values per epoch".to_string(),
            y_label: "value".to_string(),
            series,
            log_scale,
        })
    }

    /// A log-scale panel with the extra values whose names start with `prefix` (for example
    /// `"grad_norm"`), or `None` if no record has such a value.
    pub fn with_prefix(
        records: &[EpochRecord],
        prefix: &str,
        caption: &str,
        y_label: &str,
    ) -> Option<Self> {
        let series: Vec<String> = extra_series_names(records)
            .into_iter()
            .filter(|name| name.starts_with(prefix))
            .collect();
        (!series.is_empty()).then(|| Self {
            caption: caption.to_string(),
            y_label: y_label.to_string(),
            series,
            log_scale: true,
        })
    }
}

/// The names of the extra values in `records`, sorted, each once.
fn extra_series_names(records: &[EpochRecord]) -> Vec<String> {
    let mut names: Vec<String> = records
        .iter()
        .flat_map(|record| record.extra.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Draws loss and accuracy per epoch to `path` (`.svg` or `.png`), with `title` above both
/// panels, and a third panel of every extra value when the records have any
/// (see [`ExtraPanel::with_all_series`]).
///
/// Validation and test curves appear when at least one record has them. Non-finite values
/// (a diverged run) leave gaps in their curve; a curve without any finite value is left out,
/// legend entry included.
pub fn plot_training_curves(
    path: &Path,
    records: &[EpochRecord],
    title: &str,
) -> Result<(), PlotError> {
    let extra = ExtraPanel::with_all_series(records);
    plot_training_curves_with_extra(path, records, title, extra.as_ref())
}

/// Draws loss and accuracy per epoch to `path` (`.svg` or `.png`), with `title` above the
/// panels, and `extra` as a third panel if given.
pub fn plot_training_curves_with_extra(
    path: &Path,
    records: &[EpochRecord],
    title: &str,
    extra: Option<&ExtraPanel>,
) -> Result<(), PlotError> {
    let format = ImageFormat::from_path(path)?;
    if records.is_empty() {
        return Err(PlotError::NoRecords {
            path: path.to_path_buf(),
        });
    }
    let mut panels = vec![loss_panel(records), accuracy_panel(records)];
    if let Some(extra) = extra {
        panels.push(extra_panel(path, records, extra)?);
    }
    register_embedded_font()?;

    let size = (PANEL_WIDTH * panels.len() as u32, FIGURE_HEIGHT);
    let draw_error = |error: Box<dyn StdError>| PlotError::Draw {
        path: path.to_path_buf(),
        message: error.to_string(),
    };
    match format {
        ImageFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                draw_figure(&root, title, &panels).map_err(draw_error)?;
            }
            write_bytes_atomically(path, svg.as_bytes()).map_err(|source| PlotError::Write {
                path: path.to_path_buf(),
                source,
            })
        }
        ImageFormat::Png => {
            let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
                draw_figure(&root, title, &panels).map_err(draw_error)?;
            }
            let mut png = Vec::new();
            PngEncoder::new(&mut png)
                .write_image(&pixels, size.0, size.1, ExtendedColorType::Rgb8)
                .map_err(|source| PlotError::Encode {
                    path: path.to_path_buf(),
                    source,
                })?;
            write_atomically(path, |writer| io::Write::write_all(writer, &png)).map_err(|source| {
                PlotError::Write {
                    path: path.to_path_buf(),
                    source,
                }
            })
        }
    }
}

/// Registers the embedded DejaVu Sans (regular and bold) as plotters' `"sans-serif"` family.
/// Plotting calls this itself; it does the work once per process.
pub fn register_embedded_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        register_font(FONT_FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT_FAMILY, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if registered {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// The image formats a plot can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    /// The format named by the extension of `path`, in any letter case.
    fn from_path(path: &Path) -> Result<Self, PlotError> {
        let extension = path
            .extension()
            .map(|extension| extension.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("svg") => Ok(Self::Svg),
            Some("png") => Ok(Self::Png),
            _ => Err(PlotError::UnsupportedFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// The shape drawn at each point of a curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    FilledCircle,
    HollowCircle,
    Triangle,
    Square,
    Diamond,
}

const MARKER_CYCLE: [Marker; 4] = [
    Marker::FilledCircle,
    Marker::Triangle,
    Marker::Square,
    Marker::Diamond,
];

/// One labelled curve: a value per epoch; non-finite values leave a gap.
#[derive(Debug, Clone)]
struct Curve {
    label: String,
    color: RGBColor,
    dashed: bool,
    marker: Marker,
    points: Vec<(f64, f64)>,
}

impl Curve {
    fn new(
        label: &str,
        color: RGBColor,
        marker: Marker,
        records: &[EpochRecord],
        value: impl Fn(&EpochRecord) -> Option<f64>,
    ) -> Self {
        Self {
            label: label.to_string(),
            color,
            dashed: false,
            marker,
            points: records
                .iter()
                .map(|record| (record.epoch as f64, value(record).unwrap_or(f64::NAN)))
                .collect(),
        }
    }

    fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// The runs of consecutive points that can be drawn: finite, and positive on a log axis.
    fn drawable_runs(&self, log_scale: bool) -> Vec<Vec<(f64, f64)>> {
        let mut runs = Vec::new();
        let mut run = Vec::new();
        for &(x, y) in &self.points {
            if y.is_finite() && (!log_scale || y > 0.0) {
                run.push((x, y));
            } else if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        runs
    }
}

/// One panel of the figure.
#[derive(Debug, Clone)]
struct Panel {
    caption: String,
    y_label: String,
    curves: Vec<Curve>,
    log_scale: bool,
    /// Bounds the y range must stay within (accuracy stays within [0, 100] %, loss above 0).
    y_limits: (f64, f64),
    /// The smallest y span shown (linear axes), so that noise of a few tenths does not fill
    /// the panel.
    min_span: f64,
}

/// The loss panel: train L, train J (dashed, only when it differs from L, that is when
/// λ > 0), and validation and test loss when measured.
fn loss_panel(records: &[EpochRecord]) -> Panel {
    let objective_differs = records.iter().any(|r| {
        let (loss, objective) = (r.train_loss, r.train_objective);
        (loss.is_finite() || objective.is_finite())
            && (objective - loss).abs() > 1e-9 * loss.abs().max(1.0)
    });
    let mut curves = if objective_differs {
        vec![
            Curve::new(
                "train loss L",
                TRAIN_COLOR,
                Marker::FilledCircle,
                records,
                |r| Some(r.train_loss),
            ),
            Curve::new(
                "train objective J = L + λ/2 Σ‖W‖²",
                TRAIN_COLOR,
                Marker::HollowCircle,
                records,
                |r| Some(r.train_objective),
            )
            .dashed(),
        ]
    } else {
        // With λ = 0 the objective is the loss: one curve, labelled as both.
        vec![Curve::new(
            "train loss L (= objective J)",
            TRAIN_COLOR,
            Marker::FilledCircle,
            records,
            |r| Some(r.train_loss),
        )]
    };
    if records.iter().any(|r| r.val_loss.is_some()) {
        curves.push(Curve::new(
            "validation loss",
            VALIDATION_COLOR,
            Marker::Triangle,
            records,
            |r| r.val_loss,
        ));
    }
    if records.iter().any(|r| r.test_loss.is_some()) {
        curves.push(Curve::new(
            "test loss",
            TEST_COLOR,
            Marker::Square,
            records,
            |r| r.test_loss,
        ));
    }
    let largest = curves
        .iter()
        .flat_map(|curve| &curve.points)
        .map(|&(_, y)| y)
        .filter(|y| y.is_finite())
        .fold(0.0, f64::max);
    Panel {
        caption: "Loss per epoch".to_string(),
        y_label: "loss".to_string(),
        curves,
        log_scale: false,
        y_limits: (0.0, f64::INFINITY),
        min_span: MIN_LOSS_SPAN_FRACTION * largest,
    }
}

/// The accuracy panel, in percent as the console prints it: train, and validation and test
/// accuracy when measured.
fn accuracy_panel(records: &[EpochRecord]) -> Panel {
    let mut curves = vec![Curve::new(
        "train accuracy",
        TRAIN_COLOR,
        Marker::FilledCircle,
        records,
        |r| Some(100.0 * r.train_accuracy),
    )];
    if records.iter().any(|r| r.val_accuracy.is_some()) {
        curves.push(Curve::new(
            "validation accuracy",
            VALIDATION_COLOR,
            Marker::Triangle,
            records,
            |r| r.val_accuracy.map(|a| 100.0 * a),
        ));
    }
    if records.iter().any(|r| r.test_accuracy.is_some()) {
        curves.push(Curve::new(
            "test accuracy",
            TEST_COLOR,
            Marker::Square,
            records,
            |r| r.test_accuracy.map(|a| 100.0 * a),
        ));
    }
    Panel {
        caption: "Accuracy per epoch".to_string(),
        y_label: "accuracy (%)".to_string(),
        curves,
        log_scale: false,
        y_limits: (0.0, 100.0),
        min_span: MIN_ACCURACY_SPAN,
    }
}

/// The panel of extra values; every requested series must be in at least one record.
fn extra_panel(
    path: &Path,
    records: &[EpochRecord],
    extra: &ExtraPanel,
) -> Result<Panel, PlotError> {
    let curves = extra
        .series
        .iter()
        .enumerate()
        .map(|(index, name)| {
            if !records.iter().any(|r| r.extra.contains_key(name)) {
                return Err(PlotError::UnknownExtraSeries {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    available: extra_series_names(records).join(", "),
                });
            }
            let value = |r: &EpochRecord| r.extra.get(name).copied();
            Ok(match gradient_norm_series(name) {
                // One colour per layer; weights solid with filled markers, activations
                // dashed with hollow ones.
                Some((label, layer, GradientOf::Weights)) => Curve::new(
                    &label,
                    layer_color(layer, extra.series.len()),
                    Marker::FilledCircle,
                    records,
                    value,
                ),
                Some((label, layer, GradientOf::Activations)) => Curve::new(
                    &label,
                    layer_color(layer, extra.series.len()),
                    Marker::HollowCircle,
                    records,
                    value,
                )
                .dashed(),
                None => Curve::new(
                    name,
                    PALETTE[index % PALETTE.len()],
                    MARKER_CYCLE[index % MARKER_CYCLE.len()],
                    records,
                    value,
                ),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let has_positive_value = curves
        .iter()
        .flat_map(|curve| &curve.points)
        .any(|&(_, y)| y.is_finite() && y > 0.0);
    Ok(Panel {
        caption: extra.caption.clone(),
        y_label: extra.y_label.clone(),
        curves,
        log_scale: extra.log_scale && has_positive_value,
        y_limits: (f64::NEG_INFINITY, f64::INFINITY),
        min_span: 0.0,
    })
}

/// A metric key of `--grad-stats` (`grad_norm_W3`, `grad_norm_z1`) as a label for people
/// (`‖∂J/∂W₃‖`), with its layer and what it measures; `None` for any other key.
fn gradient_norm_series(name: &str) -> Option<(String, usize, GradientOf)> {
    const SUBSCRIPTS: [char; 10] = ['₀', '₁', '₂', '₃', '₄', '₅', '₆', '₇', '₈', '₉'];
    let (kind, layer) = grad_stats::parse_key(name)?;
    let subscript: String = layer
        .to_string()
        .bytes()
        .map(|digit| SUBSCRIPTS[usize::from(digit - b'0')])
        .collect();
    Some((format!("‖∂J/∂{}{subscript}‖", kind.symbol()), layer, kind))
}

/// The colour of layer `layer` (from 1): the palette's colours while there are at most as
/// many series as colours, else evenly spaced hues, so that no two layers share a colour.
fn layer_color(layer: usize, series: usize) -> RGBColor {
    let layers = series.div_ceil(2).max(1);
    if layers <= PALETTE.len() {
        return PALETTE[(layer.max(1) - 1) % PALETTE.len()];
    }
    let hue = (layer.max(1) - 1) as f64 / layers as f64;
    let RGBAColor(red, green, blue, _) = HSLColor(hue, 0.65, 0.45).to_rgba();
    RGBColor(red, green, blue)
}

/// Draws the title and the panels side by side on `root`.
fn draw_figure<DB>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel],
) -> Result<(), Box<dyn StdError>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let body = root
        .margin(6, 0, 0, 0)
        .titled(title, (FONT_FAMILY, 26, FontStyle::Bold))?;
    let areas = body.split_evenly((1, panels.len()));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    root.present()?;
    Ok(())
}

/// Draws one panel: caption, axes with descriptions, curves with markers, and the legend
/// in a strip of its own below the chart, so that it never covers a curve.
fn draw_panel<DB>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<(), Box<dyn StdError>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let (x_range, x_ticks) = epoch_axis(panel);
    let font = TextStyle::from((FONT_FAMILY, LEGEND_FONT_SIZE).into_font());
    let labelled = labelled_curves(panel);
    let label_widths = labelled
        .iter()
        .map(|curve| area.estimate_text_size(&curve.label, &font).map(|(w, _)| w))
        .collect::<Result<Vec<u32>, _>>()?;
    let (width, height) = area.dim_in_pixel();
    let layout = legend_layout(width, height, &label_widths);
    let (chart_area, legend_area) = area.split_vertically(layout.legend.top);
    draw_legend(&legend_area, &layout, &labelled)?;
    let mut builder = ChartBuilder::on(&chart_area);
    builder
        .caption(&panel.caption, (FONT_FAMILY, 20))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(72);
    let (y_low, y_high) = value_range(panel);
    let x_formatter = |x: &f64| crate::format::rounded_count(*x);
    let y_formatter = |y: &f64| crate::format::axis_tick(*y);
    // The two branches build charts of different coordinate types, so the mesh and curves
    // are drawn by the same code expanded twice.
    macro_rules! draw_chart {
        ($y_axis:expr) => {{
            let x_axis = EpochAxis {
                range: RangedCoordf64::from(x_range.clone()),
                ticks: x_ticks.clone(),
            };
            let mut chart = builder.build_cartesian_2d(x_axis, $y_axis)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(&panel.y_label)
                .axis_desc_style((FONT_FAMILY, 17))
                .label_style((FONT_FAMILY, 14))
                .x_label_formatter(&x_formatter)
                .y_label_formatter(&y_formatter)
                .y_labels(8)
                .max_light_lines(4)
                .bold_line_style(RGBColor(220, 220, 220))
                .light_line_style(RGBColor(244, 244, 244))
                .draw()?;
            draw_curves(&mut chart, panel)?;
        }};
    }
    if panel.log_scale {
        draw_chart!((y_low..y_high).log_scale());
    } else {
        draw_chart!(y_low..y_high);
    }
    Ok(())
}

/// Draws every curve of a panel, with its markers and a legend entry, then the legend.
fn draw_curves<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    panel: &Panel,
) -> Result<(), Box<dyn StdError>>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate<From = (f64, f64)>,
{
    for curve in &panel.curves {
        let line_style = curve.color.stroke_width(2);
        for run in curve.drawable_runs(panel.log_scale) {
            if curve.dashed {
                chart.draw_series(DashedLineSeries::new(run.clone(), 8, 5, line_style))?;
            } else {
                chart.draw_series(LineSeries::new(run.clone(), line_style))?;
            }
            chart.draw_series(
                run.into_iter()
                    .map(|point| MarkerElement::point(point, curve.color, curve.marker)),
            )?;
        }
    }
    Ok(())
}

/// The font size of legend labels.
const LEGEND_FONT_SIZE: u32 = 14;
/// The height of a row of the legend, in pixels.
const LEGEND_ROW_HEIGHT: u32 = 22;
/// The space around the legend and between its entries, in pixels.
const LEGEND_GAP: u32 = 14;
/// The room a legend sample (a short line with the marker) takes before its label.
const LEGEND_SAMPLE_WIDTH: u32 = 2 * LEGEND_LINE_HALF_LENGTH as u32 + 8;

/// A rectangle in pixels within a panel: `left <= x < right`, `top <= y < bottom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelRect {
    /// The left edge.
    pub left: u32,
    /// The top edge.
    pub top: u32,
    /// The right edge (exclusive).
    pub right: u32,
    /// The bottom edge (exclusive).
    pub bottom: u32,
}

impl PixelRect {
    /// Whether the two rectangles share a pixel.
    pub fn intersects(&self, other: &PixelRect) -> bool {
        self.left < other.right
            && other.left < self.right
            && self.top < other.bottom
            && other.top < self.bottom
    }
}

/// Where a panel's chart and its legend go: the chart above, the legend in a strip below,
/// its entries left to right in rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegendLayout {
    /// The chart: caption, axes and the plotting area.
    pub chart: PixelRect,
    /// The legend strip (empty when there is nothing to label).
    pub legend: PixelRect,
    /// Each entry's rectangle (sample and label), in the panel's pixels.
    pub entries: Vec<PixelRect>,
}

/// The layout of a panel of `width x height` pixels whose legend labels are
/// `label_widths` pixels wide: entries packed in rows as wide as the panel, the legend's
/// strip as tall as its rows, the chart above it.
pub fn legend_layout(width: u32, height: u32, label_widths: &[u32]) -> LegendLayout {
    let mut entries = Vec::new();
    let (mut x, mut row) = (LEGEND_GAP, 0u32);
    for &label in label_widths {
        let entry = (LEGEND_SAMPLE_WIDTH + label).min(width.saturating_sub(2 * LEGEND_GAP));
        if x > LEGEND_GAP && x + entry + LEGEND_GAP > width {
            x = LEGEND_GAP;
            row += 1;
        }
        entries.push((x, row, entry));
        x += entry + LEGEND_GAP;
    }
    let rows = if entries.is_empty() { 0 } else { row + 1 };
    let legend_height = if rows == 0 {
        0
    } else {
        (rows * LEGEND_ROW_HEIGHT + LEGEND_GAP / 2).min(height / 2)
    };
    let top = height - legend_height;
    LegendLayout {
        chart: PixelRect {
            left: 0,
            top: 0,
            right: width,
            bottom: top,
        },
        legend: PixelRect {
            left: 0,
            top,
            right: width,
            bottom: height,
        },
        entries: entries
            .into_iter()
            .map(|(x, row, entry)| PixelRect {
                left: x,
                top: top + row * LEGEND_ROW_HEIGHT,
                right: x + entry,
                bottom: top + (row + 1) * LEGEND_ROW_HEIGHT,
            })
            .collect(),
    }
}

/// The curves of a panel that are drawn (have a finite point), in legend order.
fn labelled_curves(panel: &Panel) -> Vec<&Curve> {
    panel
        .curves
        .iter()
        .filter(|curve| !curve.drawable_runs(panel.log_scale).is_empty())
        .collect()
}

/// Draws the legend into its strip (`area`, below the chart): per curve a short line in
/// its colour and dash with its marker, then the label.
fn draw_legend<DB>(
    area: &DrawingArea<DB, Shift>,
    layout: &LegendLayout,
    curves: &[&Curve],
) -> Result<(), Box<dyn StdError>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let top = layout.legend.top as i32;
    let style = TextStyle::from((FONT_FAMILY, LEGEND_FONT_SIZE).into_font()).pos(
        plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Left,
            plotters::style::text_anchor::VPos::Center,
        ),
    );
    for (entry, curve) in layout.entries.iter().zip(curves) {
        let y = (entry.top + entry.bottom) as i32 / 2 - top;
        let x = entry.left as i32;
        area.draw(&MarkerElement {
            at: (x + LEGEND_LINE_HALF_LENGTH, y),
            color: curve.color,
            marker: curve.marker,
            legend_line: Some(if curve.dashed {
                LineKind::Dashed
            } else {
                LineKind::Solid
            }),
        })?;
        area.draw(&Text::new(
            curve.label.clone(),
            (x + LEGEND_SAMPLE_WIDTH as i32, y),
            style.clone(),
        ))?;
    }
    Ok(())
}

/// A point marker, drawn straight on the backend so that every marker shape is one element
/// type. As a legend sample it also draws a short solid or dashed line through the marker.
struct MarkerElement<C> {
    at: C,
    color: RGBColor,
    marker: Marker,
    legend_line: Option<LineKind>,
}

/// How a curve's line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Solid,
    Dashed,
}

impl<C> MarkerElement<C> {
    fn point(at: C, color: RGBColor, marker: Marker) -> Self {
        Self {
            at,
            color,
            marker,
            legend_line: None,
        }
    }
}

/// Half the width of a marker, in pixels.
const MARKER_RADIUS: i32 = 4;
/// Half the length of the line of a legend sample, in pixels.
const LEGEND_LINE_HALF_LENGTH: i32 = 14;

impl<'a, C: 'a> PointCollection<'a, C> for &'a MarkerElement<C> {
    type Point = &'a C;
    type IntoIter = std::iter::Once<&'a C>;

    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<C, DB: DrawingBackend> Drawable<DB> for MarkerElement<C> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut positions: I,
        backend: &mut DB,
        _parent_dim: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = positions.next() else {
            return Ok(());
        };
        let line_style = self.color.stroke_width(2);
        let half = LEGEND_LINE_HALF_LENGTH;
        match self.legend_line {
            Some(LineKind::Solid) => {
                backend.draw_line((x - half, y), (x + half, y), &line_style)?
            }
            Some(LineKind::Dashed) => {
                backend.draw_line((x - half, y), (x - half + 6, y), &line_style)?;
                backend.draw_line((x + half - 6, y), (x + half, y), &line_style)?;
            }
            None => {}
        }
        let r = MARKER_RADIUS;
        let fill = self.color.filled();
        match self.marker {
            Marker::FilledCircle => backend.draw_circle((x, y), r as u32, &fill, true),
            Marker::HollowCircle => {
                backend.draw_circle((x, y), r as u32, &WHITE.filled(), true)?;
                backend.draw_circle((x, y), r as u32, &line_style, false)
            }
            Marker::Triangle => backend.fill_polygon(
                [(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)],
                &fill,
            ),
            Marker::Square => backend.fill_polygon(
                [
                    (x - r, y - r),
                    (x + r, y - r),
                    (x + r, y + r),
                    (x - r, y + r),
                ],
                &fill,
            ),
            Marker::Diamond => backend.fill_polygon(
                [
                    (x, y - r - 1),
                    (x + r + 1, y),
                    (x, y + r + 1),
                    (x - r - 1, y),
                ],
                &fill,
            ),
        }
    }
}

/// The epoch axis: a linear f64 axis whose ticks and grid lines are exactly the given
/// whole epochs (plotters' own key points on an f64 axis may fall between epochs).
struct EpochAxis {
    range: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for EpochAxis {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.range()
    }
}

/// The x range of a panel (the epochs, padded so edge markers are not cut) and its ticks:
/// whole epochs, at most about ten of them.
fn epoch_axis(panel: &Panel) -> (std::ops::Range<f64>, Vec<f64>) {
    let epochs = panel
        .curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0));
    let (first, last) = epochs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let span = last - first;
    let padding = (span * 0.04).max(0.3);
    let step = crate::format::axis_step(span / 10.0).max(1.0);
    let first_tick = (first / step).ceil() * step;
    let ticks = (0..)
        .map(|k| first_tick + k as f64 * step)
        .take_while(|&tick| tick <= last + 1e-9)
        .collect();
    (first - padding..last + padding, ticks)
}

/// The y range of a panel: the drawable values with a margin, kept within the panel's limits.
/// Without any drawable value the range is `[0, 1]`.
fn value_range(panel: &Panel) -> (f64, f64) {
    let (low, high) = panel
        .curves
        .iter()
        .flat_map(|curve| curve.drawable_runs(panel.log_scale))
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, y)| {
            (lo.min(y), hi.max(y))
        });
    if low > high {
        return (0.0, 1.0);
    }
    let (limit_low, limit_high) = panel.y_limits;
    if panel.log_scale {
        return (low / 1.5, high * 1.5);
    }
    let margin = if high > low {
        0.06 * (high - low)
    } else {
        0.05 * high.abs().max(1e-3)
    };
    let (low, high) = widened_to(low, high, panel.min_span, panel.y_limits);
    let mut range = (
        (low - margin).max(limit_low),
        (high + margin).min(limit_high),
    );
    if range.0 >= range.1 {
        range = (low - margin, high + margin);
    }
    range
}

/// `[low, high]` widened about its middle to at least `span`, shifted to stay within
/// `limits` where it can.
fn widened_to(low: f64, high: f64, span: f64, limits: (f64, f64)) -> (f64, f64) {
    if high - low >= span {
        return (low, high);
    }
    let middle = 0.5 * (low + high);
    let (mut low, mut high) = (middle - 0.5 * span, middle + 0.5 * span);
    if low < limits.0 {
        high += limits.0 - low;
        low = limits.0;
    }
    if high > limits.1 {
        low = (low - (high - limits.1)).max(limits.0);
        high = limits.1;
    }
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::fs;

    /// Ten epochs of a plausible run, with validation every epoch and test at the end.
    fn run(epochs: usize) -> Vec<EpochRecord> {
        (1..=epochs)
            .map(|epoch| {
                let e = epoch as f64;
                let mut extra = BTreeMap::new();
                extra.insert("grad_norm_W1".to_string(), 0.5 / e);
                extra.insert("grad_norm_W2".to_string(), 0.05 / e.sqrt());
                EpochRecord {
                    epoch,
                    step: epoch * 235,
                    train_loss: 0.25 + 0.6 / e,
                    train_objective: 0.27 + 0.6 / e,
                    train_accuracy: 0.95 - 0.15 / e,
                    val_loss: Some(0.3 + 0.55 / e),
                    val_accuracy: Some(0.93 - 0.14 / e),
                    test_loss: (epoch == epochs).then_some(0.32 + 0.55 / e),
                    test_accuracy: (epoch == epochs).then_some(0.92 - 0.14 / e),
                    epoch_seconds: 1.2,
                    samples_per_second: 50_000.0,
                    extra,
                }
            })
            .collect()
    }

    /// The contents of the `<text>` elements of an SVG document, trimmed, in document order.
    fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .map(|element| {
                let start = element.find('>').unwrap() + 1;
                let end = element.find("</text>").unwrap();
                element[start..end].trim().to_string()
            })
            .collect()
    }

    fn has_text(svg: &str, text: &str) -> bool {
        svg_texts(svg).iter().any(|t| t == text)
    }

    fn png_size(path: &Path) -> (u32, u32) {
        let image = image::open(path).unwrap();
        (image.width(), image.height())
    }

    #[test]
    fn the_svg_has_title_axis_descriptions_and_legend_labels_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.svg");
        plot_training_curves_with_extra(&path, &run(10), "MLP on Fashion-MNIST & <co>", None)
            .unwrap();
        let svg = fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(&format!("width=\"{}\"", 2 * PANEL_WIDTH)));
        for text in [
            "MLP on Fashion-MNIST &amp; &lt;co&gt;",
            "Loss per epoch",
            "Accuracy per epoch",
            "epoch",
            "loss",
            "accuracy (%)",
            "train loss L",
            "train objective J = L + λ/2 Σ‖W‖²",
            "validation loss",
            "test loss",
            "train accuracy",
            "validation accuracy",
            "test accuracy",
        ] {
            assert!(
                has_text(&svg, text),
                "missing {text} in {:?}",
                svg_texts(&svg)
            );
        }
        let epoch_ticks: Vec<String> = (1..=10).map(|e| e.to_string()).collect();
        assert!(epoch_ticks.iter().all(|tick| has_text(&svg, tick)));
        assert!(!svg.contains("grad_norm"), "no extra panel was asked for");
    }

    #[test]
    fn curves_that_were_never_measured_are_not_in_the_legend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.svg");
        let mut records = run(3);
        for record in &mut records {
            record.val_loss = None;
            record.val_accuracy = None;
            record.test_loss = None;
            record.test_accuracy = None;
        }
        plot_training_curves(&path, &records, "no held-out sets").unwrap();
        let svg = fs::read_to_string(&path).unwrap();
        assert!(has_text(&svg, "train loss L"));
        let texts = svg_texts(&svg);
        assert!(
            !texts.iter().any(|t| t.starts_with("validation")),
            "{texts:?}"
        );
        assert!(!texts.iter().any(|t| t.starts_with("test")), "{texts:?}");
    }

    #[test]
    fn extra_values_get_a_third_panel() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.svg");
        let records = run(5);
        plot_training_curves(&path, &records, "with gradient norms").unwrap();
        let svg = fs::read_to_string(&path).unwrap();
        assert!(svg.contains(&format!("width=\"{}\"", 3 * PANEL_WIDTH)));
        assert!(has_text(&svg, "‖∂J/∂W₁‖") && has_text(&svg, "‖∂J/∂W₂‖"));
        assert!(has_text(&svg, "Other values per epoch"));

        let panel =
            ExtraPanel::with_prefix(&records, "grad_norm_W2", "Gradient norm", "norm").unwrap();
        plot_training_curves_with_extra(&path, &records, "one norm", Some(&panel)).unwrap();
        let svg = fs::read_to_string(&path).unwrap();
        assert!(has_text(&svg, "‖∂J/∂W₂‖") && !has_text(&svg, "‖∂J/∂W₁‖"));
        assert!(has_text(&svg, "Gradient norm") && has_text(&svg, "norm"));
    }

    #[test]
    fn asking_for_an_absent_extra_value_names_it_and_the_available_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.svg");
        let panel = ExtraPanel {
            caption: "norms".into(),
            y_label: "norm".into(),
            series: vec!["grad_norm_W3".into()],
            log_scale: true,
        };
        let error = plot_training_curves_with_extra(&path, &run(2), "t", Some(&panel)).unwrap_err();
        assert!(matches!(error, PlotError::UnknownExtraSeries { .. }));
        let message = error.to_string();
        assert!(message.contains("`grad_norm_W3`"), "{message}");
        assert!(message.contains("grad_norm_W1, grad_norm_W2"), "{message}");
        assert!(!path.exists());
    }

    #[test]
    fn the_png_has_the_png_signature_the_figure_size_and_drawn_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        plot_training_curves_with_extra(&path, &run(10), "Training curves", None).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(png_size(&path), (2 * PANEL_WIDTH, FIGURE_HEIGHT));

        // The title band holds dark glyph pixels only if the embedded font rendered text.
        let image = image::open(&path).unwrap().to_luma8();
        let dark_title_pixels = (0..30)
            .flat_map(|y| (0..image.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| image.get_pixel(x, y)[0] < 100)
            .count();
        assert!(
            dark_title_pixels > 100,
            "only {dark_title_pixels} dark pixels in the title"
        );
    }

    #[test]
    fn a_png_with_extra_values_is_three_panels_wide() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("CURVES.PNG");
        plot_training_curves(&path, &run(4), "three panels").unwrap();
        assert_eq!(png_size(&path), (3 * PANEL_WIDTH, FIGURE_HEIGHT));
    }

    #[test]
    fn a_single_epoch_and_a_diverged_run_still_plot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.png");
        plot_training_curves(&path, &run(1), "one epoch").unwrap();
        assert_eq!(png_size(&path), (3 * PANEL_WIDTH, FIGURE_HEIGHT));

        let mut diverged = run(4);
        for record in &mut diverged[2..] {
            record.train_loss = f64::NAN;
            record.train_objective = f64::INFINITY;
            record.val_loss = Some(f64::NAN);
            record.extra.insert("grad_norm_W1".into(), f64::NAN);
        }
        let path = dir.path().join("diverged.svg");
        plot_training_curves(&path, &diverged, "diverged").unwrap();
        let svg = fs::read_to_string(&path).unwrap();
        assert!(has_text(&svg, "train loss L") && has_text(&svg, "‖∂J/∂W₁‖"));

        // Only non-finite losses on the training set: those curves are left out.
        plot_training_curves(&path, &diverged[2..], "nothing finite in L or J").unwrap();
        let svg = fs::read_to_string(&path).unwrap();
        assert!(!has_text(&svg, "train loss L") && !has_text(&svg, "train objective J"));
        assert!(!has_text(&svg, "validation loss") && !has_text(&svg, "‖∂J/∂W₁‖"));
        assert!(has_text(&svg, "test loss") && has_text(&svg, "‖∂J/∂W₂‖"));
    }

    #[test]
    fn an_unsupported_extension_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["curves.jpg", "curves", "curves.svg.txt"] {
            let path = dir.path().join(name);
            let error = plot_training_curves(&path, &run(3), "t").unwrap_err();
            assert!(
                matches!(error, PlotError::UnsupportedFormat { .. }),
                "{name}"
            );
            assert!(error.to_string().contains("expected .svg or .png"));
            assert!(error.to_string().contains(name));
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn no_records_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        let error = plot_training_curves(&path, &[], "t").unwrap_err();
        assert!(matches!(error, PlotError::NoRecords { .. }));
        assert_eq!(
            error.to_string(),
            format!(
                "cannot plot to {}: there are no epoch records to plot",
                path.display()
            )
        );
        assert!(!path.exists());
    }

    #[test]
    fn a_missing_folder_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("curves.svg");
        let error = plot_training_curves(&path, &run(2), "t").unwrap_err();
        assert!(matches!(error, PlotError::Write { .. }), "{error}");
    }

    #[test]
    fn epoch_ticks_are_whole_epochs_at_most_about_ten() {
        let panel = loss_panel(&run(10));
        let (range, ticks) = epoch_axis(&panel);
        assert_eq!(ticks, (1..=10).map(f64::from).collect::<Vec<_>>());
        assert!(range.start < 1.0 && range.end > 10.0);
        let (_, ticks) = epoch_axis(&loss_panel(&run(45)));
        assert_eq!(
            ticks,
            (1..=9).map(|k| f64::from(k) * 5.0).collect::<Vec<_>>()
        );
        let (range, ticks) = epoch_axis(&loss_panel(&run(1)));
        assert_eq!(ticks, vec![1.0]);
        assert!(range.start < 1.0 && range.end > 1.0);
    }

    #[test]
    fn accuracy_is_in_percent_and_stays_within_zero_and_a_hundred() {
        let mut records = run(3);
        records[0].train_accuracy = 1.0;
        records[1].train_accuracy = 0.0;
        let (low, high) = value_range(&accuracy_panel(&records));
        assert_eq!((low, high), (0.0, 100.0));
    }

    #[test]
    fn a_flat_accuracy_is_drawn_on_at_least_ten_points() {
        // The sigmoid run of the README: 33.0 – 33.6 %, noise that must not fill the panel.
        let mut records = run(4);
        for (record, accuracy) in records.iter_mut().zip([0.330, 0.336, 0.333, 0.331]) {
            record.train_accuracy = accuracy;
            record.val_accuracy = None;
            record.test_accuracy = None;
        }
        let (low, high) = value_range(&accuracy_panel(&records));
        assert!(high - low >= MIN_ACCURACY_SPAN, "{low} .. {high}");
        assert!(low <= 33.0 && high >= 33.6 && low >= 0.0 && high <= 100.0);
        // Near a limit the span is kept by shifting, not cut.
        for record in &mut records {
            record.train_accuracy = 0.998;
        }
        let (low, high) = value_range(&accuracy_panel(&records));
        assert!(
            high <= 100.0 && high - low >= MIN_ACCURACY_SPAN,
            "{low} .. {high}"
        );
    }

    #[test]
    fn the_objective_is_drawn_only_when_it_differs_from_the_loss() {
        let mut records = run(3);
        for record in &mut records {
            record.train_objective = record.train_loss;
        }
        let labels: Vec<String> = loss_panel(&records)
            .curves
            .iter()
            .map(|c| c.label.clone())
            .collect();
        assert!(labels.contains(&"train loss L (= objective J)".to_string()));
        assert!(!labels.iter().any(|l| l.starts_with("train objective")));
        records[1].train_objective = records[1].train_loss + 0.01;
        let labels: Vec<String> = loss_panel(&records)
            .curves
            .iter()
            .map(|c| c.label.clone())
            .collect();
        assert!(labels.contains(&"train loss L".to_string()));
        assert!(labels.iter().any(|l| l.starts_with("train objective J")));
    }

    #[test]
    fn gradient_norm_series_read_as_norms_with_one_colour_per_layer() {
        assert_eq!(
            gradient_norm_series("grad_norm_W12"),
            Some(("‖∂J/∂W₁₂‖".to_string(), 12, GradientOf::Weights))
        );
        assert_eq!(
            gradient_norm_series("grad_norm_z3"),
            Some(("‖∂J/∂z₃‖".to_string(), 3, GradientOf::Activations))
        );
        assert_eq!(gradient_norm_series("grad_norm_b1"), None);
        assert_eq!(gradient_norm_series("learning_rate"), None);
        // Six layers (11 series): six distinct colours; thirty layers: thirty distinct ones.
        for layers in [6usize, 30] {
            let series = 2 * layers - 1;
            let mut colours: Vec<(u8, u8, u8)> = (1..=layers)
                .map(|layer| {
                    let RGBColor(r, g, b) = layer_color(layer, series);
                    (r, g, b)
                })
                .collect();
            colours.sort();
            colours.dedup();
            assert_eq!(colours.len(), layers);
        }
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(crate::format::axis_tick(0.0), "0");
        assert_eq!(crate::format::axis_tick(0.25), "0.25");
        assert_eq!(crate::format::axis_tick(2.0), "2");
        assert_eq!(crate::format::axis_tick(1e-4), "1e-4");
        assert_eq!(crate::format::axis_tick(2.5e-5), "2.5e-5");
    }

    #[test]
    fn the_legend_has_a_strip_of_its_own_below_the_chart() {
        // Eleven gradient norms (‖∂J/∂W₁‖ .. ‖∂J/∂W₆‖, ‖∂J/∂z₁‖ .. ‖∂J/∂z₅‖), about 60 px each.
        let layout = legend_layout(PANEL_WIDTH, FIGURE_HEIGHT, &[60; 11]);
        assert!(!layout.legend.intersects(&layout.chart));
        assert_eq!(layout.chart.bottom, layout.legend.top);
        assert_eq!(layout.legend.bottom, FIGURE_HEIGHT);
        assert!(layout.chart.bottom - layout.chart.top >= FIGURE_HEIGHT / 2);
        assert_eq!(layout.entries.len(), 11);
        for (i, entry) in layout.entries.iter().enumerate() {
            assert!(entry.right <= PANEL_WIDTH, "{entry:?}");
            assert!(!entry.intersects(&layout.chart), "{entry:?}");
            assert!(entry.top >= layout.legend.top && entry.bottom <= layout.legend.bottom);
            for other in &layout.entries[i + 1..] {
                assert!(!entry.intersects(other), "{entry:?} {other:?}");
            }
        }
        assert!(
            layout.entries.iter().map(|e| e.top).max() > Some(layout.legend.top),
            "eleven entries take more than one row"
        );
        let none = legend_layout(PANEL_WIDTH, FIGURE_HEIGHT, &[]);
        assert_eq!(none.chart.bottom, FIGURE_HEIGHT);
    }
}
