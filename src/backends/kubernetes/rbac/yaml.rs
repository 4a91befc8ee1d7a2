//! The YAML stream `plan check --rbac` prints: the typed RBAC objects through serde_norway
//! (YAML's own quoting, see `yaml11`), with the header and notes as comments no plan text can
//! break out of.

use serde::Serialize;

use super::{Noted, PlanRbac};

/// The YAML serializer refused an object (not expected of k8s-openapi's types).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the plan's RBAC as YAML: {0}")]
pub struct RbacError(serde_norway::Error);

/// The header, then one `---` document per Role and the ClusterRole.
pub fn stream(rbac: &PlanRbac) -> Result<String, RbacError> {
    let mut out = comment(&format!(
        "Least-privilege RBAC for plan {:?} ({}), from `ebb plan check --rbac`.",
        rbac.plan, rbac.digest
    ));
    out.push_str(&comment(
        "Bind these to the identity ebb runs as; the bindings are not included.",
    ));
    for role in &rbac.roles {
        document(&mut out, role)?;
    }
    document(&mut out, &rbac.cluster_role)?;
    Ok(out)
}

/// `---`, the object's notes as comments, the object.
fn document<T: Serialize>(out: &mut String, noted: &Noted<T>) -> Result<(), RbacError> {
    out.push_str("---\n");
    for note in &noted.notes {
        out.push_str(&comment(note));
    }
    out.push_str(&super::yaml11::to_string(&noted.object).map_err(RbacError)?);
    Ok(())
}

/// `# TEXT` and a newline, with every line break and other control character of TEXT
/// escaped (`\u{a}`), so that TEXT stays one comment line whatever it holds.
pub fn comment(text: &str) -> String {
    let mut line = String::from("# ");
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') {
            line.extend(c.escape_unicode());
        } else {
            line.push(c);
        }
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("a: b # c"), "# a: b # c\n");
        assert_eq!(
            comment("x\nkind: Secret\r\u{85}\u{2028}y"),
            "# x\\u{a}kind: Secret\\u{d}\\u{85}\\u{2028}y\n"
        );
    }
}
