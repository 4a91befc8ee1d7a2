//! Where a drill's binding of a plan fails, located in the plan file: at the `kind` of
//! each target the drill world cannot stand in for, before the terminal is taken.

use toml::de::{DeTable, DeValue};

use super::PlanErrors;
use crate::diag::SourceFile;

/// `unbound` (target name, why) as located errors at each target's `kind` in `file`;
/// `Ok` when there are none.
pub fn located(file: &SourceFile, unbound: &[(String, String)]) -> Result<(), PlanErrors> {
    if unbound.is_empty() {
        return Ok(());
    }
    let doc = DeTable::parse(&file.text).ok();
    let targets = doc.as_ref().and_then(|d| {
        d.get_ref().iter().find_map(|(k, v)| match v.get_ref() {
            DeValue::Table(t) if k.get_ref().as_ref() == "targets" => Some(t),
            _ => None,
        })
    });
    let errors = unbound
        .iter()
        .map(|(name, why)| {
            let span = targets
                .and_then(|ts| ts.iter().find(|(k, _)| k.get_ref().as_ref() == name))
                .and_then(|(_, v)| match v.get_ref() {
                    DeValue::Table(fields) => fields
                        .iter()
                        .find(|(k, _)| k.get_ref().as_ref() == "kind")
                        .map(|(_, v)| v.span()),
                    _ => None,
                })
                .unwrap_or(0..0);
            file.error_at(
                span,
                format!("target `{name}` cannot be bound to the drill world: {why}"),
                Some(
                    "bind it in the scenario's [bind.targets] (primary, a replica, app, metrics, web); \
                     a drill never reaches a real system"
                        .into(),
                ),
            )
        })
        .collect();
    Err(PlanErrors {
        name: file.name.clone(),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbound_targets_are_located_at_their_kind() {
        let src = "[plan]\nname = \"p\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"env:DB\"\n";
        let file = SourceFile::new("p.toml", src);
        let errors = located(&file, &[("db".into(), "no primary".into())])
            .unwrap_err()
            .errors;
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].line_form().starts_with(
                "p.toml:5:8: target `db` cannot be bound to the drill world: no primary"
            ),
            "{}",
            errors[0].line_form()
        );
        assert!(located(&file, &[]).is_ok());
    }
}
