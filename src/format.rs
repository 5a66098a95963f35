//! How every command and page writes numbers for people: counts with thousands separators
//! (`32,532`), short values (`0.1235`, `1.50e-7`), abbreviated vectors, norms, byte sizes in
//! one unit system (IEC: `B`, `KiB`, `MiB`, `GiB`, powers of 1024), durations, percentages,
//! losses, axis ticks, and the operands of an equation with its numbers plugged in; and lines
//! of fields fitted to a terminal's width ([`fit_line`]).
//!
//! Files meant for programs (metrics JSON lines, model files, the playground's JSON numbers)
//! keep full precision; only text for people goes through here.

/// How many elements of a vector or matrix are printed before it is abbreviated.
pub const SHOWN_ELEMENTS: usize = 6;

/// A count with commas between groups of three digits: `32532` becomes `32,532`.
pub fn count(value: u64) -> String {
    group_digits(&value.to_string())
}

/// A count and its noun, singular for one: `counted(1, "thread", "threads")` is
/// `1 thread`, `counted(60000, "sample", "samples")` is `60,000 samples`.
pub fn counted(value: u64, singular: &str, plural: &str) -> String {
    format!(
        "{} {}",
        count(value),
        if value == 1 { singular } else { plural }
    )
}

/// A value rounded to a whole number, with thousands separators: `48712.4` becomes
/// `48,712`, `-1234` becomes `-1,234`. Non-finite values are shown as Rust prints them.
pub fn rounded_count(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let digits = group_digits(&format!("{:.0}", value.abs()));
    if value.round() < 0.0 {
        format!("-{digits}")
    } else {
        digits
    }
}

/// `digits` (ASCII digits only) with a comma before every group of three from the right.
fn group_digits(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A setting as given, exactly (the shortest digits that read back as the same `f64`), in
/// fixed point from `1e-5` below `1e16` (`0.1`, `0.0001`, `20`) and in scientific notation
/// beyond (`1e-300`, `1e308`), so that no value prints as hundreds of digits.
pub fn exact_number(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || !value.is_finite() || (1e-5..1e16).contains(&magnitude) {
        value.to_string()
    } else {
        format!("{value:?}")
    }
}

/// A number in at most about eight characters: fixed point (up to four decimals, trailing
/// zeros dropped) for magnitudes from `1e-3` below `1e4`, scientific with two decimals
/// otherwise.
pub fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_string()
    } else if !value.is_finite() {
        value.to_string()
    } else if (1e-3..1e4).contains(&magnitude) {
        trim_decimals(&format!("{value:.4}"))
    } else {
        format!("{value:.2e}")
    }
}

/// `[a, b, c]` for a few values; the first [`SHOWN_ELEMENTS`] and `… (n values, ‖·‖ = r)`
/// for more.
pub fn short_values(values: &[f64]) -> String {
    let shown: Vec<String> = values
        .iter()
        .take(SHOWN_ELEMENTS)
        .map(|&v| short_number(v))
        .collect();
    if values.len() <= SHOWN_ELEMENTS {
        format!("[{}]", shown.join(", "))
    } else {
        format!(
            "[{}, … ({} values, ‖·‖ = {})]",
            shown.join(", "),
            count(values.len() as u64),
            short_number(norm(values))
        )
    }
}

/// How many entries of a vector, or of each row of a matrix, an [`operand`] shows.
pub const OPERAND_ENTRIES: usize = 4;
/// How many rows of a matrix an [`operand`] shows.
pub const OPERAND_ROWS: usize = 2;

/// An operand of an equation with its numbers plugged in, `rows x cols` in §4.7's
/// orientation (`values` row-major): a scalar as one number, a column `n x 1` as
/// `[a, b, c]ᵀ`, a row `1 x n` as `[a, b, c]`, a matrix as `[[a, b], [c, d]]`. A larger one
/// shows its first [`OPERAND_ENTRIES`] entries (of its first [`OPERAND_ROWS`] rows), then
/// `…` and its shape: `[0.1, 0.2, 0.3, 0.4, …]ᵀ (16x1)`.
pub fn operand(values: &[f64], rows: usize, cols: usize) -> String {
    let row = |r: usize| {
        let start = (r * cols).min(values.len());
        entries(&values[start..(start + cols).min(values.len())])
    };
    let abbreviated = cols > OPERAND_ENTRIES
        || (cols == 1 && rows > OPERAND_ENTRIES)
        || (cols > 1 && rows > OPERAND_ROWS);
    let shape = if abbreviated {
        format!(" ({rows}x{cols})")
    } else {
        String::new()
    };
    match (rows, cols) {
        (1, 1) => values
            .first()
            .map_or("[]".to_string(), |&v| short_number(v)),
        (_, 1) => format!("{}ᵀ{shape}", entries(values)),
        (1, _) => format!("{}{shape}", row(0)),
        _ => {
            let mut shown: Vec<String> = (0..rows.min(OPERAND_ROWS)).map(row).collect();
            if rows > OPERAND_ROWS {
                shown.push("…".to_string());
            }
            format!("[{}]{shape}", shown.join(", "))
        }
    }
}

/// `[a, b, c, …]`: the first [`OPERAND_ENTRIES`] of `values`, and `…` when there are more.
fn entries(values: &[f64]) -> String {
    let mut shown: Vec<String> = values
        .iter()
        .take(OPERAND_ENTRIES)
        .map(|&v| short_number(v))
        .collect();
    if values.len() > OPERAND_ENTRIES {
        shown.push("…".to_string());
    }
    format!("[{}]", shown.join(", "))
}

/// The values at some elements of a tensor of `total` elements: `[a, b, c]` when they are
/// all of its elements, else `[a, b, c, … (note)]`.
pub fn selected_values(selected: &[f64], total: usize, note: &str) -> String {
    let shown: Vec<String> = selected.iter().map(|&v| short_number(v)).collect();
    if selected.len() == total {
        format!("[{}]", shown.join(", "))
    } else {
        format!("[{}, … ({note})]", shown.join(", "))
    }
}

/// A scalar as one number, anything larger as [`short_values`].
pub fn short_value_or_values(values: &[f64]) -> String {
    match values {
        [single] => short_number(*single),
        values => short_values(values),
    }
}

/// The numbers when there are at most three (`[1, -0.5]`), else the norm (`‖·‖ 2.4`).
pub fn values_or_norm(values: &[f64]) -> String {
    if values.len() <= 3 {
        let numbers: Vec<String> = values.iter().map(|&v| short_number(v)).collect();
        format!("[{}]", numbers.join(", "))
    } else {
        format!("‖·‖ {}", short_number(norm(values)))
    }
}

/// The Euclidean (Frobenius) norm `sqrt(Σ v²)`.
pub fn norm(values: &[f64]) -> f64 {
    values.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// A byte count in IEC units with one decimal: `512 B`, `13.0 KiB`, `1.5 MiB`, `2.0 GiB`.
pub fn bytes(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let value = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if value < KIB * KIB {
        format!("{:.1} KiB", value / KIB)
    } else if value < KIB * KIB * KIB {
        format!("{:.1} MiB", value / (KIB * KIB))
    } else {
        format!("{:.1} GiB", value / (KIB * KIB * KIB))
    }
}

/// A byte count with its exact figure: `13.0 KiB (13,312 bytes)`.
pub fn bytes_exactly(count_of_bytes: usize) -> String {
    format!(
        "{} ({} bytes)",
        bytes(count_of_bytes),
        count(count_of_bytes as u64)
    )
}

/// A duration in seconds with two decimals: `1.23 s`.
pub fn seconds(seconds: f64) -> String {
    format!("{seconds:.2} s")
}

/// A fraction as a percentage with two decimals: `0.93126` becomes `93.13%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}

/// A rate per second with thousands separators: `48,712 samples/s`.
pub fn rate(per_second: f64, unit: &str) -> String {
    format!("{} {unit}/s", rounded_count(per_second))
}

/// The distance between an axis's ticks for a wanted distance `raw`: the smallest of 1, 2
/// or 5 times a power of ten that is at least `raw` (1 for a `raw` that is not a positive
/// number). The plots' epoch axes and the playground's axes space their ticks by it.
pub fn axis_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|&step| step >= raw * (1.0 - 1e-12))
        .unwrap_or(10.0 * magnitude)
}

/// An axis tick label: up to four decimals for magnitudes from `1e-3` below `1e5`
/// (trailing zeros dropped), scientific notation with one decimal otherwise (`2e-5`, not
/// `2.0e-5`).
pub fn axis_tick(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&magnitude) {
        format!("{value:.1e}").replace(".0e", "e")
    } else {
        trim_decimals(&format!("{value:.4}"))
    }
}

/// A loss or objective with four decimals, as the console prints them: `0.4000`.
pub fn loss(value: f64) -> String {
    format!("{value:.4}")
}

/// The width of `text` in terminal columns (one per character: every text written here is
/// narrow, without escape sequences).
pub fn columns(text: &str) -> usize {
    text.chars().count()
}

/// The separator between the fields of a line: two spaces.
pub const FIELD_SEPARATOR: &str = "  ";

/// One way of writing a field of a line: its text, the columns it takes when shown (its
/// text's, or more for a template that expands), and how much it is worth keeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldForm {
    /// The text (empty: the field is left out).
    pub text: String,
    /// The columns the text takes on the terminal.
    pub columns: usize,
    /// The higher, the longer this form is kept before the field takes its next form.
    pub keep: u32,
}

impl FieldForm {
    /// A form shown as its text, worth `keep`.
    pub fn new(text: impl Into<String>, keep: u32) -> Self {
        let text = text.into();
        FieldForm {
            columns: columns(&text),
            text,
            keep,
        }
    }

    /// A form that takes `columns` columns when shown (a template whose placeholders expand).
    pub fn taking(text: impl Into<String>, columns: usize, keep: u32) -> Self {
        FieldForm {
            text: text.into(),
            columns,
            keep,
        }
    }
}

/// A field of a line: its forms, longest first; a field whose last form is empty can be
/// left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The forms, from the fullest to the shortest.
    pub forms: Vec<FieldForm>,
}

impl Field {
    /// A field with these forms, fullest first.
    pub fn new(forms: Vec<FieldForm>) -> Self {
        assert!(!forms.is_empty(), "a field has at least one form");
        Field { forms }
    }

    /// A field with one form that is never shortened nor left out.
    pub fn fixed(text: impl Into<String>) -> Self {
        Field::new(vec![FieldForm::new(text, u32::MAX)])
    }
}

/// The columns of a line of `fields` in the chosen forms, with [`FIELD_SEPARATOR`] between
/// the fields that are shown.
fn line_columns(fields: &[Field], chosen: &[usize]) -> usize {
    let shown: Vec<usize> = fields
        .iter()
        .zip(chosen)
        .map(|(field, &form)| field.forms[form].columns)
        .filter(|&c| c > 0)
        .collect();
    shown.iter().sum::<usize>() + columns(FIELD_SEPARATOR) * shown.len().saturating_sub(1)
}

/// The form of each field that fits `fields` in `width` columns: starting from the fullest
/// forms, the field whose current form is worth least (the rightmost of equals) takes its
/// next form, until the line fits or no field can be shortened further; then fuller forms
/// that fit again are given back, the most valued first.
pub fn fit_forms(fields: &[Field], width: usize) -> Vec<usize> {
    let mut chosen = vec![0; fields.len()];
    while line_columns(fields, &chosen) > width {
        let next = fields
            .iter()
            .zip(&chosen)
            .enumerate()
            .filter(|(_, (field, &form))| form + 1 < field.forms.len())
            .min_by_key(|(index, (field, &form))| (field.forms[form].keep, usize::MAX - index));
        match next {
            Some((index, _)) => chosen[index] += 1,
            None => return chosen,
        }
    }
    // Shortening is greedy: give back the fuller forms that still fit, most valued first.
    loop {
        let mut candidates: Vec<usize> = (0..fields.len()).filter(|&i| chosen[i] > 0).collect();
        candidates.sort_by_key(|&i| std::cmp::Reverse(fields[i].forms[chosen[i] - 1].keep));
        let restored = candidates.into_iter().find(|&i| {
            chosen[i] -= 1;
            let fits = line_columns(fields, &chosen) <= width;
            if !fits {
                chosen[i] += 1;
            }
            fits
        });
        if restored.is_none() {
            return chosen;
        }
    }
}

/// The texts of the chosen forms, joined by [`FIELD_SEPARATOR`] (empty forms left out).
pub fn join_forms(fields: &[Field], chosen: &[usize]) -> String {
    let shown: Vec<&str> = fields
        .iter()
        .zip(chosen)
        .map(|(field, &form)| field.forms[form].text.as_str())
        .filter(|text| !text.is_empty())
        .collect();
    shown.join(FIELD_SEPARATOR)
}

/// `fields` as one line of at most `width` columns: shortened and left out by
/// [`fit_forms`], then, if even the shortest forms are too wide, cut with `…`. Without a
/// width (not a terminal), the fullest forms.
pub fn fit_line(fields: &[Field], width: Option<usize>) -> String {
    let Some(width) = width else {
        return join_forms(fields, &vec![0; fields.len()]);
    };
    let line = join_forms(fields, &fit_forms(fields, width));
    cut_to(&line, width)
}

/// `text` cut to `width` columns, its last shown character replaced by `…` when cut.
pub fn cut_to(text: &str, width: usize) -> String {
    if columns(text) <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        cut.push('…');
    }
    cut
}

/// `text` broken at spaces into lines of at most `width` columns, the lines after the first
/// indented by `indent` spaces (a word longer than a line is cut with `…`). Without a width,
/// `text` unchanged.
pub fn wrap(text: &str, width: Option<usize>, indent: usize) -> String {
    let Some(width) = width else {
        return text.to_string();
    };
    let indent = indent.min(width / 2);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let prefix = if lines.is_empty() { 0 } else { indent };
        if !line.is_empty() && prefix + columns(&line) + 1 + columns(word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            if index == 0 {
                cut_to(line, width)
            } else {
                format!("{}{}", " ".repeat(indent), cut_to(line, width - indent))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `1.5000` as `1.5`, `2.0000` as `2`.
fn trim_decimals(text: &str) -> String {
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_is_singular_for_one_and_grouped() {
        assert_eq!(counted(1, "thread", "threads"), "1 thread");
        assert_eq!(counted(2, "thread", "threads"), "2 threads");
        assert_eq!(counted(0, "sample", "samples"), "0 samples");
        assert_eq!(counted(60_000, "sample", "samples"), "60,000 samples");
    }

    #[test]
    fn exact_numbers_read_back_and_never_run_to_hundreds_of_digits() {
        assert_eq!(exact_number(0.1), "0.1");
        assert_eq!(exact_number(1e-4), "0.0001");
        assert_eq!(exact_number(20.0), "20");
        assert_eq!(exact_number(0.0), "0");
        assert_eq!(exact_number(1e-300), "1e-300");
        assert_eq!(exact_number(1e308), "1e308");
        assert_eq!(exact_number(-2.5e-7), "-2.5e-7");
        for value in [1e-300, 3.7e-6, 0.1, 123.456, 9.99e15, 1.5e300] {
            assert_eq!(exact_number(value).parse::<f64>(), Ok(value));
            assert!(exact_number(value).len() <= 24, "{}", exact_number(value));
        }
    }

    #[test]
    fn counts_group_digits_in_threes() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(32_532), "32,532");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(rounded_count(0.4), "0");
        assert_eq!(rounded_count(123_456.0), "123,456");
        assert_eq!(rounded_count(-1_234.0), "-1,234");
        assert_eq!(rounded_count(48_712.4), "48,712");
        assert_eq!(rounded_count(f64::NAN), "NaN");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(0.5), "0.5");
        assert_eq!(short_number(-1.23456), "-1.2346");
        assert_eq!(short_number(1.5e-7), "1.50e-7");
        assert_eq!(short_values(&[1.0, 2.0]), "[1, 2]");
        let long = short_values(&[3.0; 16]);
        assert!(
            long.starts_with("[3, 3, 3, 3, 3, 3, … (16 values, ‖·‖ = 12)]"),
            "{long}"
        );
        assert_eq!(values_or_norm(&[1.0, -0.5]), "[1, -0.5]");
        assert_eq!(values_or_norm(&[2.0; 4]), "‖·‖ 4");
    }

    #[test]
    fn operands_are_abbreviated_with_their_shape() {
        assert_eq!(operand(&[0.5], 1, 1), "0.5");
        assert_eq!(operand(&[0.12, -0.3], 2, 1), "[0.12, -0.3]ᵀ");
        assert_eq!(operand(&[0.5, 0.0, 1.2], 1, 3), "[0.5, 0, 1.2]");
        let column: Vec<f64> = (1..=16).map(|i| i as f64 / 10.0).collect();
        assert_eq!(operand(&column, 16, 1), "[0.1, 0.2, 0.3, 0.4, …]ᵀ (16x1)");
        assert_eq!(operand(&column, 1, 16), "[0.1, 0.2, 0.3, 0.4, …] (1x16)");
        assert_eq!(operand(&column[..4], 2, 2), "[[0.1, 0.2], [0.3, 0.4]]");
        assert_eq!(
            operand(&column[..12], 3, 4),
            "[[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], …] (3x4)"
        );
        assert_eq!(
            operand(&column, 2, 8),
            "[[0.1, 0.2, 0.3, 0.4, …], [0.9, 1, 1.1, 1.2, …]] (2x8)"
        );
    }

    #[test]
    fn bytes_are_in_one_unit_system() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(bytes(2 * 1024 * 1024 * 1024), "2.0 GiB");
        assert_eq!(bytes_exactly(13_312), "13.0 KiB (13,312 bytes)");
    }

    #[test]
    fn durations_percentages_rates_and_ticks() {
        assert_eq!(seconds(1.234), "1.23 s");
        assert_eq!(percent(0.93126), "93.13%");
        assert_eq!(rate(1_234_567.0, "samples"), "1,234,567 samples/s");
        assert_eq!(axis_tick(0.25), "0.25");
        assert_eq!(axis_tick(2e-5), "2e-5");
        assert_eq!(axis_tick(150_000.0), "1.5e5");
        assert_eq!(loss(0.24123), "0.2412");
    }

    fn fields() -> Vec<Field> {
        vec![
            Field::fixed("epoch 3/10"),
            Field::new(vec![
                FieldForm::new("val loss 0.2601 acc 92.40%", 20),
                FieldForm::new("val 92.40%", 40),
                FieldForm::new("", 0),
            ]),
            Field::new(vec![
                FieldForm::new("48,712 samples/s", 10),
                FieldForm::new("48,712/s", 30),
                FieldForm::new("", 0),
            ]),
        ]
    }

    #[test]
    fn a_line_keeps_its_fullest_forms_when_they_fit() {
        let full = "epoch 3/10  val loss 0.2601 acc 92.40%  48,712 samples/s";
        assert_eq!(fit_line(&fields(), None), full);
        assert_eq!(fit_line(&fields(), Some(columns(full))), full);
    }

    #[test]
    fn a_narrow_line_shortens_and_drops_the_fields_worth_least_first() {
        assert_eq!(
            fit_line(&fields(), Some(50)),
            "epoch 3/10  val loss 0.2601 acc 92.40%  48,712/s"
        );
        assert_eq!(
            fit_line(&fields(), Some(40)),
            "epoch 3/10  val 92.40%  48,712 samples/s"
        );
        assert_eq!(
            fit_line(&fields(), Some(39)),
            "epoch 3/10  val 92.40%  48,712/s"
        );
        assert_eq!(fit_line(&fields(), Some(24)), "epoch 3/10  val 92.40%");
        assert_eq!(fit_line(&fields(), Some(12)), "epoch 3/10");
        assert_eq!(fit_line(&fields(), Some(6)), "epoch…");
        for width in 0..70 {
            assert!(
                columns(&fit_line(&fields(), Some(width))) <= width,
                "{width}"
            );
        }
    }

    #[test]
    fn wrapped_text_fits_and_indents_its_continuation_lines() {
        let text = "data: spiral, 3 classes - 2,001 train, 10,002 test";
        assert_eq!(wrap(text, None, 2), text);
        let wrapped = wrap(text, Some(24), 2);
        assert_eq!(
            wrapped,
            "data: spiral, 3 classes\n  - 2,001 train, 10,002\n  test"
        );
        for width in 1..60 {
            for line in wrap(text, Some(width), 6).lines() {
                assert!(columns(line) <= width, "{width}: {line:?}");
            }
        }
    }
}
