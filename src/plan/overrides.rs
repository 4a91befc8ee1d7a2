//! `--context` and `-n/--namespace`, as kubectl has them: they replace the kubeconfig
//! context and namespace of every kubernetes target of a plan, for one run.

use serde::{Deserialize, Serialize};

use super::{Plan, Target, TargetKind};

/// The kubernetes place a run was pointed at on its command line; empty when none was.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeOverride {
    pub context: Option<String>,
    pub namespace: Option<String>,
}

impl KubeOverride {
    /// Checks a command line's values: a context is any non-empty name; a namespace is a
    /// DNS label (lower-case letters, digits and -, at most 63), as Kubernetes requires.
    pub fn new(context: Option<String>, namespace: Option<String>) -> Result<Self, String> {
        if context.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err("--context is empty".into());
        }
        if let Some(n) = namespace.as_deref()
            && !is_dns_label(n)
        {
            return Err(format!(
                "--namespace {:?}: lower-case letters, digits and -, at most 63, not starting or ending with -",
                crate::text::sanitize(n)
            ));
        }
        Ok(KubeOverride { context, namespace })
    }

    pub fn is_empty(&self) -> bool {
        self.context.is_none() && self.namespace.is_none()
    }

    /// Points every kubernetes target of `plan` here (targets of other kinds are left as
    /// they are). The plan's digest is the file's and does not change.
    pub fn apply(&self, plan: &mut Plan) {
        plan.targets.values_mut().for_each(|t| self.apply_to(t));
    }

    /// Points `target` here when it is a kubernetes target; leaves any other kind alone.
    pub fn apply_to(&self, target: &mut Target) {
        if target.kind != TargetKind::Kubernetes {
            return;
        }
        if let Some(c) = &self.context {
            target.context = Some(c.clone());
        }
        if let Some(n) = &self.namespace {
            target.namespace = Some(n.clone());
        }
    }

    /// How the run's header and `ebb runs show` name it: `context prod, namespace shop`.
    pub fn describe(&self) -> Option<String> {
        let parts: Vec<String> = [("context", &self.context), ("namespace", &self.namespace)]
            .into_iter()
            .filter_map(|(what, v)| v.as_ref().map(|v| format!("{what} {v}")))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// A Kubernetes namespace name (RFC 1123 label).
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;

    const PLAN: &str = "[plan]\nname = \"p\"\n\n[targets.k]\nkind = \"kubernetes\"\ncontext = \"staging\"\nnamespace = \"shop\"\n\n[targets.k2]\nkind = \"kubernetes\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"env:DB\"\n\n[[step]]\nid = \"a\"\nkind = \"manual\"\ninstruction = \"go\"\n";

    fn plan() -> Plan {
        Plan::parse(&SourceFile::new("p.toml", PLAN)).unwrap()
    }

    #[test]
    fn overrides_every_kubernetes_target_and_only_those() {
        let mut p = plan();
        let digest = p.digest().to_string();
        let o = KubeOverride::new(Some("prod-eu".into()), Some("orders".into())).unwrap();
        o.apply(&mut p);
        for name in ["k", "k2"] {
            assert_eq!(p.targets[name].context.as_deref(), Some("prod-eu"));
            assert_eq!(p.targets[name].namespace.as_deref(), Some("orders"));
        }
        assert_eq!(p.targets["db"].context, None);
        assert_eq!(p.digest(), digest);
        assert_eq!(
            o.describe().as_deref(),
            Some("context prod-eu, namespace orders")
        );
    }

    #[test]
    fn only_what_was_given_changes() {
        let mut p = plan();
        KubeOverride::new(None, Some("payments".into()))
            .unwrap()
            .apply(&mut p);
        assert_eq!(p.targets["k"].context.as_deref(), Some("staging"));
        assert_eq!(p.targets["k"].namespace.as_deref(), Some("payments"));
        let none = KubeOverride::default();
        assert!(none.is_empty() && none.describe().is_none());
    }

    #[test]
    fn a_bad_namespace_or_empty_context_is_refused() {
        assert!(KubeOverride::new(None, Some("Shop_Prod".into())).is_err());
        assert!(KubeOverride::new(None, Some("-x".into())).is_err());
        assert!(KubeOverride::new(Some(" ".into()), None).is_err());
        assert!(KubeOverride::new(None, Some("a".repeat(64))).is_err());
        assert!(KubeOverride::new(None, Some("a".repeat(63))).is_ok());
    }
}
