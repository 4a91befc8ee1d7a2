//! YAML for YAML 1.1 readers too: serde_norway writes YAML 1.2, where `no`, `on` or `y` are
//! plain strings, but kubectl's parser (YAML 1.1) reads them as booleans; these are quoted.
//!
//! The serializer has no style option, so each such string is swapped for a placeholder it
//! always quotes (a hex number no string holds), and the quoted placeholder swapped back.

use serde::Serialize;
use serde_norway::Value;

/// YAML 1.1's booleans (yaml.org/type/bool.html), its value key `=` and merge key `<<`;
/// YAML 1.2 leaves all but true/false plain.
const YAML11_WORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
    "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "=", "<<",
];

/// Whether a YAML 1.1 reader could take this plain string for something else: one of its
/// special words, or (conservatively) anything made of digits and `_ : . + -`, like its `1_000` integers,
/// `1:20` sexagesimals and `2001-01-01` timestamps. Quoting more than needed is harmless.
pub fn needs_quotes(s: &str) -> bool {
    YAML11_WORDS.contains(&s)
        || (s.chars().any(|c| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_digit() || "_:.+-".contains(c)))
}

/// `object` as YAML whose strings read back the same in YAML 1.1 and 1.2.
pub fn to_string<T: Serialize>(object: &T) -> Result<String, serde_norway::Error> {
    let mut value = serde_norway::to_value(object)?;
    let mut prefix = String::from("0xebb");
    while mentions(&value, &prefix) {
        prefix.push('e');
    }
    let mut swapped = Vec::new();
    swap_out(&mut value, &prefix, &mut swapped);
    let mut text = serde_norway::to_string(&value)?;
    for (i, original) in swapped.iter().enumerate() {
        // `'0xebb1'` is not a part of `'0xebb10'`: the closing quote ends it.
        text = text.replace(&format!("'{prefix}{i}'"), &format!("'{original}'"));
    }
    Ok(text)
}

/// Whether any string (or mapping key) in `value` contains `needle`.
fn mentions(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s.contains(needle),
        Value::Sequence(items) => items.iter().any(|v| mentions(v, needle)),
        Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| mentions(k, needle) || mentions(v, needle)),
        Value::Tagged(t) => mentions(&t.value, needle),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Replaces each string value that [`needs_quotes`] with `PREFIX<n>`, keeping it in `swapped[n]`.
fn swap_out(value: &mut Value, prefix: &str, swapped: &mut Vec<String>) {
    match value {
        Value::String(s) if needs_quotes(s) => {
            let placeholder = format!("{prefix}{}", swapped.len());
            swapped.push(std::mem::replace(s, placeholder));
        }
        Value::Sequence(items) => {
            for v in items {
                swap_out(v, prefix, swapped);
            }
        }
        Value::Mapping(m) => {
            for v in m.values_mut() {
                swap_out(v, prefix, swapped);
            }
        }
        Value::Tagged(t) => swap_out(&mut t.value, prefix, swapped),
        Value::String(_) | Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn yaml11_booleans_and_number_like_strings_are_quoted() {
        let words: Vec<String> = [
            "no",
            "on",
            "y",
            "OFF",
            "=",
            "1_000",
            "1:20",
            "2001-01-01",
            "a",
        ]
        .map(String::from)
        .to_vec();
        let map = BTreeMap::from([("namespace", "no"), ("other", "yes")]);
        let text = to_string(&(words.clone(), map)).unwrap();
        assert_eq!(
            text,
            "- - 'no'\n  - 'on'\n  - 'y'\n  - 'OFF'\n  - '='\n  - '1_000'\n  - '1:20'\n  - '2001-01-01'\n  - a\n\
             - namespace: 'no'\n  other: 'yes'\n"
        );
        let back: (Vec<String>, BTreeMap<String, String>) = serde_norway::from_str(&text).unwrap();
        assert_eq!(back.0, words);
    }

    #[test]
    fn a_string_holding_the_placeholder_is_left_alone() {
        let words: Vec<String> = ["0xebb0", "no", "'0xebbe0'"].map(String::from).to_vec();
        let text = to_string(&words).unwrap();
        let back: Vec<String> = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, words);
        assert!(text.contains("- 'no'\n"), "{text}");
    }
}
