//! Short, readable numbers and abbreviated vectors for explanations and graph labels.

/// How many elements of a vector or matrix are printed before it is abbreviated.
pub const SHOWN_ELEMENTS: usize = 6;

/// A number in at most about eight characters: fixed point for ordinary magnitudes,
/// scientific otherwise.
pub fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_string()
    } else if !value.is_finite() {
        value.to_string()
    } else if (1e-3..1e4).contains(&magnitude) {
        let text = format!("{value:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        text.to_string()
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
            values.len(),
            short_number(norm(values))
        )
    }
}

/// A scalar as one number, anything larger as [`short_values`].
pub fn short_value_or_values(values: &[f64]) -> String {
    match values {
        [single] => short_number(*single),
        values => short_values(values),
    }
}

/// The Euclidean (Frobenius) norm.
pub fn norm(values: &[f64]) -> f64 {
    values.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// A byte count in B, KiB or MiB.
pub fn short_bytes(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(short_bytes(2048), "2.0 KiB");
    }
}
