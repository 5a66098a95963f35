//! Names and formulas typeset as §4.7 prints them: a layer number after a name is a
//! subscript (`W1` is W₁, `z2` is z₂), and so is whatever follows an underscore (`u_o` is
//! u with subscript o, `‖W_k‖_F²` has subscripts k and F). The graph drawing writes the
//! subscripts as SVG `tspan`s ([`svg`]), the playground's node panel as HTML `sub`
//! ([`html`]); both read the text the same way ([`pieces`]), so no name is ever shown with
//! a raw underscore or a run-in layer number.

use super::graph_svg::escape;

/// A run of text, on the baseline or as a subscript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// The characters.
    pub text: String,
    /// Whether they are a subscript.
    pub subscript: bool,
}

/// `text` cut into baseline runs and subscripts: the digits ending a name (a letter that
/// does not follow a letter or digit, then digits up to a character that is neither: `W1`,
/// `h2`, but not `1e5` or `3x16`), and the letters or digits after `_` (the `_` dropped).
pub fn pieces(text: &str) -> Vec<Piece> {
    let chars: Vec<char> = text.chars().collect();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut push = |c: &[char], subscript: bool| {
        if c.is_empty() {
            return;
        }
        match pieces.last_mut() {
            Some(last) if last.subscript == subscript => last.text.extend(c),
            _ => pieces.push(Piece {
                text: c.iter().collect(),
                subscript,
            }),
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let after_word = i > 0 && continues_word(chars[i - 1]);
        if c == '_' && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) {
            let end = run_end(&chars, i + 1, continues_word);
            push(&chars[i + 1..end], true);
            i = end;
        } else if c.is_alphabetic() && !after_word {
            let digits = i + 1;
            let end = run_end(&chars, digits, |d| d.is_ascii_digit());
            let name_ends = chars.get(end).is_none_or(|&n| !continues_word(n));
            push(&chars[i..digits], false);
            if end > digits && name_ends {
                push(&chars[digits..end], true);
                i = end;
            } else {
                i = digits;
            }
        } else {
            push(&chars[i..i + 1], false);
            i += 1;
        }
    }
    pieces
}

/// Whether `c` goes on the word before it: letters and digits, but not the `ᵀ` of a
/// transpose or the `²` of a square.
fn continues_word(c: char) -> bool {
    c.is_alphanumeric() && c != 'ᵀ' && c != '²'
}

/// The first index from `start` whose character does not satisfy `keep`.
fn run_end(chars: &[char], start: usize, keep: impl Fn(char) -> bool) -> usize {
    chars[start..]
        .iter()
        .position(|&c| !keep(c))
        .map_or(chars.len(), |p| start + p)
}

/// `text` as HTML (escaped), subscripts in `<sub>`.
pub fn html(text: &str) -> String {
    pieces(text)
        .iter()
        .map(|p| {
            if p.subscript {
                format!("<sub>{}</sub>", escape(&p.text))
            } else {
                escape(&p.text)
            }
        })
        .collect()
}

/// `text` as the content of an SVG `<text>` of `font_size` (escaped), subscripts as
/// smaller `tspan`s moved down and the baseline restored after each.
pub fn svg(text: &str, font_size: f64) -> String {
    let size = (font_size * 0.7).max(11.0);
    let drop = font_size * 0.3;
    let mut out = String::new();
    let mut lowered = false;
    for p in pieces(text) {
        let text = escape(&p.text);
        match (p.subscript, lowered) {
            (true, _) => {
                out.push_str(&format!(
                    r#"<tspan font-size="{size:.1}" dy="{drop:.1}">{text}</tspan>"#
                ));
                lowered = true;
            }
            (false, true) => {
                out.push_str(&format!(r#"<tspan dy="-{drop:.1}">{text}</tspan>"#));
                lowered = false;
            }
            (false, false) => out.push_str(&text),
        }
    }
    out
}

/// `text` with subscripts written out as plain characters after the name (for a tooltip or
/// a test): `u_o` is `uo`, `W1` stays `W1`.
pub fn plain(text: &str) -> String {
    pieces(text).into_iter().map(|p| p.text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscripts(text: &str) -> Vec<String> {
        pieces(text)
            .into_iter()
            .filter(|p| p.subscript)
            .map(|p| p.text)
            .collect()
    }

    #[test]
    fn layer_numbers_and_underscores_become_subscripts() {
        assert_eq!(subscripts("W1"), ["1"]);
        assert_eq!(subscripts("∂J/∂z1 xᵀ + W2ᵀ"), ["1", "2"]);
        assert_eq!(subscripts("∂J/∂W2 = ∂J/∂o h1ᵀ + λ W2"), ["2", "1", "2"]);
        assert_eq!(subscripts("u_o"), ["o"]);
        assert_eq!(subscripts("l2: s = λ/2 Σ_k ‖W_k‖_F²"), ["2", "k", "k", "F"]);
        assert_eq!(subscripts("softmax(o)_y"), ["y"]);
        assert_eq!(html("‖W1‖²"), "‖W<sub>1</sub>‖²");
        assert_eq!(html("u_o < 1"), "u<sub>o</sub> &lt; 1");
        assert_eq!(plain("u_o"), "uo");
    }

    #[test]
    fn numbers_shapes_and_words_are_left_alone() {
        for text in [
            "1.50e5",
            "3x16",
            "16x1",
            "4.7.13 (layer 2)",
            "softmax(o) - onehot(y)",
            "-1.2e-7",
            "B x 5",
        ] {
            assert_eq!(subscripts(text), Vec::<String>::new(), "{text}");
            assert_eq!(plain(text), text);
        }
    }

    #[test]
    fn svg_subscripts_restore_the_baseline() {
        let text = svg("W1 x", 17.0);
        assert!(text.starts_with("W<tspan"), "{text}");
        assert!(text.ends_with("> x</tspan>"), "{text}");
        assert_eq!(text.matches("dy=\"5.1\"").count(), 1);
        assert_eq!(text.matches("dy=\"-5.1\"").count(), 1);
    }
}
