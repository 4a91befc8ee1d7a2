//! Colour spellings in theme files: ANSI names, `#rrggbb`, `reset`, and 256-colour indexes
//! (`indexed(N)` or a bare number), turned into ratatui colours with messages for mistakes.

use ratatui::style::Color;

/// The ANSI names a theme may use, with their colours.
pub const NAMES: &[(&str, Color)] = &[
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("grey", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("darkgrey", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
];

const EXPECTED: &str = "expected an ANSI name (red, lightblue, darkgray, …), \"#rrggbb\", \"reset\", \"indexed(N)\" or a number 0–255";

/// A colour from its TOML value (a string, or an integer index).
pub fn parse(value: &toml::Value) -> Result<Color, (String, Option<String>)> {
    match value {
        toml::Value::Integer(n) => index(*n).map_err(|m| (m, None)),
        toml::Value::String(s) => parse_str(s),
        other => Err((
            format!(
                "a colour must be a string or a number, found {}",
                other.type_str()
            ),
            None,
        )),
    }
}

fn index(n: i64) -> Result<Color, String> {
    u8::try_from(n)
        .map(Color::Indexed)
        .map_err(|_| format!("colour index {n} is out of range; expected 0–255"))
}

fn parse_str(s: &str) -> Result<Color, (String, Option<String>)> {
    let lower = s.trim().to_ascii_lowercase();
    if let Some((_, c)) = NAMES.iter().find(|(n, _)| *n == lower) {
        return Ok(*c);
    }
    if let Some(hex) = lower.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let v = u32::from_str_radix(hex, 16).map_err(|e| (e.to_string(), None))?;
            let [_, r, g, b] = v.to_be_bytes();
            return Ok(Color::Rgb(r, g, b));
        }
        return Err((
            format!("bad colour `{s}`: a hex colour has six hex digits, like \"#c0caf5\""),
            None,
        ));
    }
    let inner = lower
        .strip_prefix("indexed(")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(&lower);
    if let Ok(n) = inner.parse::<i64>() {
        return index(n).map_err(|m| (m, None));
    }
    let help = crate::suggest::did_you_mean(&lower, NAMES.iter().map(|(n, _)| *n));
    Err((format!("unknown colour `{s}`; {EXPECTED}"), help))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Color, String> {
        parse(&toml::Value::String(s.into())).map_err(|e| e.0)
    }

    #[test]
    fn spellings() {
        assert_eq!(p("#c0caf5"), Ok(Color::Rgb(0xc0, 0xca, 0xf5)));
        assert_eq!(p("LightRed"), Ok(Color::LightRed));
        assert_eq!(p("reset"), Ok(Color::Reset));
        assert_eq!(p("indexed(208)"), Ok(Color::Indexed(208)));
        assert_eq!(p("17"), Ok(Color::Indexed(17)));
        assert_eq!(
            parse(&toml::Value::Integer(3)).map_err(|e| e.0),
            Ok(Color::Indexed(3))
        );
        assert!(p("#abc").unwrap_err().contains("six hex digits"));
        assert!(p("256").unwrap_err().contains("out of range"));
        assert!(p("rde").unwrap_err().contains("unknown colour"));
        let help = parse(&toml::Value::String("lightgren".into()))
            .unwrap_err()
            .1;
        assert_eq!(help.as_deref(), Some("did you mean `lightgreen`?"));
    }
}
