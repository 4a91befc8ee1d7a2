//! Unknown keys of a plan file, every one of them, located: a walk of the parsed TOML
//! against the fields the raw shapes take, read off their serde derive so they never drift.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::raw::{
    RawCheck, RawGate, RawHeader, RawPlan, RawRequest, RawStep, RawTarget, RawThrottle,
};
use crate::diag::{LocatedError, SourceFile};
use crate::suggest::did_you_mean;

/// Every key the plan's shapes do not take, in file order. A file that does not parse as
/// TOML yields none here: its syntax error is reported by the typed parse.
pub(super) fn unknown_keys(file: &SourceFile) -> Vec<LocatedError> {
    let Ok(doc) = DeTable::parse(&file.text) else {
        return Vec::new();
    };
    let mut walk = Walk {
        file,
        errors: Vec::new(),
    };
    walk.plan(doc.get_ref());
    let mut errors = walk.errors;
    errors.sort_by_key(|e| (e.line, e.col));
    errors
}

struct Walk<'f> {
    file: &'f SourceFile,
    errors: Vec<LocatedError>,
}

impl Walk<'_> {
    fn plan(&mut self, t: &DeTable<'_>) {
        self.fields(t, fields_of::<RawPlan>(), "the file");
        for (k, v) in t {
            match (k.get_ref().as_ref(), v.get_ref()) {
                ("plan", DeValue::Table(h)) => {
                    self.fields(h, fields_of::<RawHeader>(), "[plan]");
                }
                ("targets", DeValue::Table(targets)) => {
                    for t in targets.values() {
                        if let DeValue::Table(t) = t.get_ref() {
                            self.fields(t, fields_of::<RawTarget>(), "a target");
                        }
                    }
                }
                ("gate", DeValue::Array(gates)) => {
                    for g in tables(gates) {
                        self.fields(g, fields_of::<RawGate>(), "a [[gate]]");
                        if let Some(DeValue::Table(c)) = get(g, "check") {
                            self.check(c);
                        }
                    }
                }
                ("step", DeValue::Array(steps)) => {
                    for s in tables(steps) {
                        self.step(s, "a [[step]]");
                    }
                }
                _ => {}
            }
        }
    }

    fn step(&mut self, s: &DeTable<'_>, what: &str) {
        self.fields(s, fields_of::<RawStep>(), what);
        for (k, v) in s {
            match (k.get_ref().as_ref(), v.get_ref()) {
                ("preflight" | "postcheck" | "checks", DeValue::Array(checks)) => {
                    for c in tables(checks) {
                        self.check(c);
                    }
                }
                ("check", DeValue::Table(c)) => self.check(c),
                ("throttle", DeValue::Table(t)) => {
                    self.fields(t, fields_of::<RawThrottle>(), "a throttle");
                }
                ("request", DeValue::Table(r)) => {
                    self.fields(r, fields_of::<RawRequest>(), "a request");
                }
                ("undo", DeValue::Table(u)) => self.step(u, "an undo"),
                _ => {}
            }
        }
    }

    fn check(&mut self, c: &DeTable<'_>) {
        self.fields(c, fields_of::<RawCheck>(), "a check");
    }

    fn fields(&mut self, t: &DeTable<'_>, known: &[&str], what: &str) {
        for k in t.keys() {
            let key = k.get_ref().as_ref();
            if known.contains(&key) {
                continue;
            }
            // A short list helps; a step's thirty-odd fields do not: a suggestion does.
            let message = if known.len() <= 8 {
                let expected = known
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("unknown field `{key}` in {what}, expected one of {expected}")
            } else {
                format!("unknown field `{key}` in {what}")
            };
            self.errors.push(self.file.error_at(
                k.span(),
                message,
                did_you_mean(key, known.iter().copied()),
            ));
        }
    }
}

fn get<'t, 'i>(t: &'t DeTable<'i>, key: &str) -> Option<&'t DeValue<'i>> {
    t.iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v.get_ref())
}

fn tables<'a, 'i>(items: &'a [Spanned<DeValue<'i>>]) -> impl Iterator<Item = &'a DeTable<'i>> {
    items.iter().filter_map(|v| match v.get_ref() {
        DeValue::Table(t) => Some(t),
        _ => None,
    })
}

/// The field names a derived `Deserialize` struct takes (serde passes them to
/// `deserialize_struct`); empty for anything that is not a struct.
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

struct Probe<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("fields read"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_from_the_derive() {
        assert!(fields_of::<RawCheck>().contains(&"for"));
        assert!(fields_of::<RawStep>().contains(&"statement"));
        assert_eq!(
            fields_of::<RawHeader>(),
            &["name", "description", "rto", "on_detach"]
        );
    }

    #[test]
    fn every_unknown_key_is_reported_where_it_is() {
        let src = "[plan]\nname = \"p\"\nrtoo = \"5m\"\n\n[targets.db]\nkind = \"postgres\"\nurll = \"env:X\"\n\n[[step]]\nid = \"a\"\nkind = \"manual\"\ninstructoin = \"go\"\npostcheck = [{ kind = \"sql\", quer = \"x\" }]\nundo = { kind = \"manual\", instruction = \"back\", tiemout = \"1m\" }\n";
        let file = SourceFile::new("p.toml", src);
        let lines: Vec<String> = unknown_keys(&file).iter().map(|e| e.line_form()).collect();
        let located: Vec<&str> = lines
            .iter()
            .map(|l| l.split(": unknown field").next().unwrap_or(""))
            .collect();
        assert_eq!(
            located,
            [
                "p.toml:3:1",
                "p.toml:7:1",
                "p.toml:12:1",
                "p.toml:13:30",
                "p.toml:14:49"
            ],
            "{lines:#?}"
        );
        assert!(
            lines[0].contains("unknown field `rtoo` in [plan]"),
            "{}",
            lines[0]
        );
    }
}
