//! URL query strings: `a=1&b=x%2Cy` into decoded key/value pairs.

/// The most key/value pairs one query may hold.
pub const MAX_PAIRS: usize = 64;

/// A query string that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A `%` not followed by two hexadecimal digits, or bytes that are not UTF-8.
    #[error("malformed percent-encoding in {0:?}")]
    Encoding(String),
    /// The same key twice.
    #[error("query parameter {0:?} given twice")]
    Repeated(String),
    /// More than [`MAX_PAIRS`] pairs.
    #[error("more than {MAX_PAIRS} query parameters")]
    TooMany,
}

/// The decoded `(key, value)` pairs of `query` (without the leading `?`), in order; `+` is a
/// space. A key without `=` has an empty value; empty pieces (`a=1&&b=2`) are skipped.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, QueryError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        if pairs.len() == MAX_PAIRS {
            return Err(QueryError::TooMany);
        }
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let key = percent_decode(key)?;
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(QueryError::Repeated(key));
        }
        pairs.push((key, percent_decode(value)?));
    }
    Ok(pairs)
}

/// Decodes `%XX` escapes and `+`.
pub fn percent_decode(text: &str) -> Result<String, QueryError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| QueryError::Encoding(text.to_string()))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| QueryError::Encoding(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_rejects_broken_ones() {
        let pairs = parse_query("hidden=8%2C4&name=a+b&flag").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("hidden".to_string(), "8,4".to_string()),
                ("name".to_string(), "a b".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
        assert!(parse_query("a=%zz").is_err());
        assert!(parse_query("a=%4").is_err());
        assert!(parse_query("a=%ff").is_err());
        assert!(matches!(
            parse_query("a=1&a=2"),
            Err(QueryError::Repeated(_))
        ));
    }
}
