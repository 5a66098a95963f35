//! The page: HTML, CSS and JavaScript from `assets/`, embedded in the binary at compile
//! time (no CDN, no network, no build step).

/// The playground page.
pub const INDEX_HTML: &str = include_str!("../../assets/playground.html");
/// Its style sheet.
pub const STYLE_CSS: &str = include_str!("../../assets/playground.css");
/// Its script: draws what the JSON API returns.
pub const SCRIPT_JS: &str = include_str!("../../assets/playground.js");
