//! How a plan's errors are shown: every one is kept (for `--json`), but a report shows the
//! first [`MAX_ERRORS_SHOWN`] and then how many more, so a flood of errors stays readable.

use miette::Diagnostic;

use super::PlanErrors;

pub use crate::diag::MAX_ERRORS_SHOWN;

impl PlanErrors {
    /// Errors not shown in a report.
    pub fn hidden(&self) -> usize {
        self.errors.len().saturating_sub(MAX_ERRORS_SHOWN)
    }
}

impl Diagnostic for PlanErrors {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self.hidden() {
            0 => None,
            n => Some(Box::new(format!(
                "the first {MAX_ERRORS_SHOWN} are shown, and {n} more (`ebb plan check --json` lists every one)"
            ))),
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.errors
                .iter()
                .take(MAX_ERRORS_SHOWN)
                .map(|e| e as &dyn Diagnostic),
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::SourceFile;
    use crate::plan::Plan;

    #[test]
    fn a_flood_of_errors_shows_fifty_and_a_count() {
        let mut text = String::from("[plan]\nname = \"p\"\n");
        for i in 0..4000 {
            text.push_str(&format!(
                "[[step]]\nid = \"s{i}\"\nkind = \"sql\"\ntarget = \"nowhere\"\nstatement = \"SELECT 1\"\n"
            ));
        }
        let errors = Plan::parse(&SourceFile::new("flood.toml", text)).unwrap_err();
        assert!(errors.errors.len() >= 4000, "{}", errors.errors.len());
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        handler.render_report(&mut out, &errors).unwrap();
        let located = out.matches("flood.toml:").count();
        assert!(
            located <= 2 * super::MAX_ERRORS_SHOWN + 1,
            "{located} shown"
        );
        let more = errors.errors.len() - super::MAX_ERRORS_SHOWN;
        assert!(
            out.contains(&format!("and {more} more")),
            "{}",
            &out[..out.len().min(2000)]
        );
    }
}
