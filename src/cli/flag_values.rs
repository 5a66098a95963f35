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
    // The flags counted this way have bounds of their own, checked where they are known (at
    // most 100,000 epochs, a batch no larger than the data), so the type's limit is not named.
    let value = parse_whole(text, "too large")?;
    if value >= 1 {
        Ok(value)
    } else {
        Err(format!("{text} is out of range: expected at least 1"))
    }
}

/// A whole number of at least 0 that fits in 64 bits (random seeds).
pub fn whole_number(text: &str) -> Result<u64, String> {
    parse_whole(text, &format!("expected at most {}", u64::MAX))
}

/// A whole number of at least 0 that fits in the address space (sample indices).
pub fn index(text: &str) -> Result<usize, String> {
    parse_whole(text, "too large")
}

/// Parses a whole number of the type `T`, telling a value beyond `T`'s range (refused with
/// `"{text} is out of range: {too_large}"`) from text that is not a whole number at all (`-1`,
/// `2.5`, `ten`).
fn parse_whole<T: std::str::FromStr>(text: &str, too_large: &str) -> Result<T, String> {
    text.parse().map_err(|_| {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            format!("{text} is out of range: {too_large}")
        } else {
            format!("'{text}' is not a whole number")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_number_refuses_signs_fractions_and_overflow_each_in_its_own_words() {
        assert_eq!(whole_number("0"), Ok(0));
        assert_eq!(whole_number("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(whole_number("-1"), Err("'-1' is not a whole number".into()));
        assert_eq!(
            whole_number("2.5"),
            Err("'2.5' is not a whole number".into())
        );
        assert_eq!(whole_number(""), Err("'' is not a whole number".into()));
        assert_eq!(
            whole_number("18446744073709551616"),
            Err(
                "18446744073709551616 is out of range: expected at most 18446744073709551615"
                    .into()
            )
        );
        assert_eq!(
            count("0"),
            Err("0 is out of range: expected at least 1".into())
        );
        assert_eq!(
            count("99999999999999999999"),
            Err("99999999999999999999 is out of range: too large".into())
        );
        assert_eq!(index("7"), Ok(7));
    }
}
