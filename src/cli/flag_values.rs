//! Parsers for numeric flags, so that an out-of-range value is a usage error (exit 2) with
//! a message that says what is expected.

/// A finite number above 0 (learning rates).
pub fn positive_number(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "{text} is out of range: expected a finite number above 0"
        ))
    }
}

/// A finite number of at least 0 (weight decay).
pub fn non_negative_number(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "{text} is out of range: expected a finite number of at least 0"
        ))
    }
}

/// A fraction in `[0, 1)` (the validation share).
pub fn fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{text} is out of range: expected a fraction in [0, 1)"
        ))
    }
}

/// A whole number of at least 1.
pub fn count(text: &str) -> Result<usize, String> {
    let value: usize = text
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number"))?;
    if value >= 1 {
        Ok(value)
    } else {
        Err(format!("{text} is out of range: expected at least 1"))
    }
}
