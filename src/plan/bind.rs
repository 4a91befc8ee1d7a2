//! Which of a plan's targets a drill can bind to the simulated world. Until every target
//! kind has a binding, a drill refuses the others, located: a drill never reaches a real system.

use toml::de::{DeTable, DeValue};

use super::{Plan, PlanErrors, TargetKind};
use crate::diag::SourceFile;

/// Every target of `plan` (read from `file`) that the drill world cannot stand in for, as
/// located errors at its `kind`; empty when the whole plan binds.
pub fn unbindable(file: &SourceFile, plan: &Plan) -> Result<(), PlanErrors> {
    let doc = DeTable::parse(&file.text).ok();
    let targets = doc.as_ref().and_then(|d| {
        d.get_ref().iter().find_map(|(k, v)| match v.get_ref() {
            DeValue::Table(t) if k.get_ref().as_ref() == "targets" => Some(t),
            _ => None,
        })
    });
    let mut errors = Vec::new();
    for t in plan.targets.values().filter(|t| t.kind != TargetKind::Sim) {
        let span = targets
            .and_then(|ts| ts.iter().find(|(k, _)| k.get_ref().as_ref() == t.name))
            .and_then(|(_, v)| match v.get_ref() {
                DeValue::Table(fields) => fields
                    .iter()
                    .find(|(k, _)| k.get_ref().as_ref() == "kind")
                    .map(|(_, v)| v.span()),
                _ => None,
            })
            .unwrap_or(0..0);
        errors.push(file.error_at(
            span,
            format!(
                "target `{}` is a {} target, which the drill world cannot stand in for yet; \
                 a drill never reaches a real system",
                t.name,
                t.kind.name()
            ),
            Some("drill a plan whose targets are `sim`, or run this one for real with `ebb run PLAN`".into()),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PlanErrors {
            name: file.name.clone(),
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_targets_are_refused_at_their_kind() {
        let src = "[plan]\nname = \"p\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"env:DB\"\n\n[targets.w]\nkind = \"sim\"\nobject = \"orders-db\"\n\n[[step]]\nid = \"a\"\nkind = \"manual\"\ninstruction = \"go\"\n";
        let file = SourceFile::new("p.toml", src);
        let plan = Plan::parse(&file).unwrap();
        let errors = unbindable(&file, &plan).unwrap_err().errors;
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .line_form()
                .starts_with("p.toml:5:8: target `db` is a postgres target"),
            "{}",
            errors[0].line_form()
        );
        let sim_only = src.replace(
            "kind = \"postgres\"\nurl = \"env:DB\"",
            "kind = \"sim\"\nobject = \"orders-db\"",
        );
        let file = SourceFile::new("p.toml", sim_only);
        assert!(unbindable(&file, &Plan::parse(&file).unwrap()).is_ok());
    }
}
