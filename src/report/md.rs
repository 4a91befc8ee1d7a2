//! The report as Markdown: tables for the header, figures, objectives and timeline, and
//! links to the chart SVG files written beside it (`STEM-lag.svg`, …).

use std::fmt::Write as _;

use super::escape::md as esc;
use super::{ReportData, chart, facts};

/// The chart files for a report written as `STEM.md`: (file name, SVG document).
pub fn chart_files(d: &ReportData, stem: &str) -> Vec<(String, String)> {
    d.charts
        .iter()
        .map(|c| (format!("{stem}-{}.svg", c.slug), chart::svg(c, true)))
        .collect()
}

/// The Markdown text. `charts`: the file names of the charts beside it, in the order of
/// `d.charts`; `None` when they are not written (Markdown on stdout).
pub fn write(d: &ReportData, charts: Option<&[String]>) -> String {
    let mut o = String::with_capacity(8192);
    let _ = writeln!(o, "# {}\n", esc(&d.title()));
    o.push_str("| | |\n|---|---|\n");
    for (k, v) in facts::header(d) {
        let _ = writeln!(o, "| {k} | {} |", esc(&v));
    }
    o.push('\n');
    for n in &d.notes {
        let _ = writeln!(o, "> **Note:** {}\n", esc(n));
    }

    o.push_str("## Figures\n\n| Figure | Value | When |\n|---|---|---|\n");
    for (k, v, when) in facts::figures(d) {
        let _ = writeln!(o, "| {k} | {} | {} |", esc(&v), esc(&when));
    }
    o.push('\n');

    o.push_str("## Objectives\n\n");
    let objectives = facts::objectives(d);
    if objectives.is_empty() {
        o.push_str("No objectives were scored for this run.\n\n");
    } else {
        o.push_str("| Objective | Result | World T+ | Detail | Asks |\n|---|---|---|---|---|\n");
        for row in objectives {
            let cells: Vec<String> = row.iter().map(|c| esc(c)).collect();
            let _ = writeln!(o, "| {} |", cells.join(" | "));
        }
        o.push('\n');
    }

    o.push_str("## Charts\n\n");
    match charts {
        Some(files) => {
            for (c, f) in d.charts.iter().zip(files) {
                let _ = writeln!(o, "![{}]({})\n", esc(&c.title), link(f));
            }
        }
        None => {
            o.push_str("Charts are written as SVG files beside the report: use `-o FILE.md`.\n\n")
        }
    }

    o.push_str("## Timeline\n\n| T+ | UTC | Who | What | Source |\n|---|---|---|---|---|\n");
    for row in facts::timeline(d) {
        let cells: Vec<String> = row.iter().map(|c| esc(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o.push('\n');

    o.push_str("## Follow-ups\n\n");
    for q in facts::FOLLOW_UPS {
        let _ = writeln!(o, "- {q}");
    }
    o
}

/// A relative link target: only the characters a file name made by ebb has, the rest
/// percent-encoded (a stem with spaces or parentheses still links).
fn link(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_and_encoded() {
        assert_eq!(link("my report-lag.svg"), "my%20report-lag.svg");
        assert_eq!(link("a)b(.svg"), "a%29b%28.svg");
    }
}
