//! The report as one self-contained HTML file: inline CSS and inline SVG charts, no script
//! and no URL, and a content security policy that would refuse both anyway.

use std::fmt::Write as _;

use super::escape::xml as esc;
use super::timeline::RowKind;
use super::{ReportData, chart, facts};

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1000px;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top;font-size:13px}\
th{background:#f3f3f3}\
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px}\
.missed{color:#c62828;font-weight:bold}.met{color:#2e7d32;font-weight:bold}\
tr.pause td{background:#e3f2fd}tr.fault td{background:#ffebee}tr.run td{font-weight:bold}\
tr.approval td{background:#f3e5f5}\
figure{margin:0 0 1.5em}";

/// The HTML document.
pub fn write(d: &ReportData) -> String {
    let mut o = String::with_capacity(16384);
    let title = esc(&d.title());
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    o.push_str("<table class=\"header\">\n");
    for (k, v) in facts::header(d) {
        let _ = writeln!(o, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    o.push_str("</table>\n");
    for n in &d.notes {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", esc(n));
    }

    o.push_str("<h2>Figures</h2>\n<table>\n<tr><th>Figure</th><th>Value</th><th>When</th></tr>\n");
    let rto_met = d.figures.recovery.rto_met();
    for (k, v, when) in facts::figures(d) {
        let class = match (k, rto_met) {
            ("Time to recover", Some(true)) => " class=\"met\"",
            ("Time to recover", Some(false)) => " class=\"missed\"",
            _ => "",
        };
        let _ = writeln!(
            o,
            "<tr><td>{k}</td><td{class}>{}</td><td>{}</td></tr>",
            esc(&v),
            esc(&when)
        );
    }
    o.push_str("</table>\n");

    o.push_str("<h2>Objectives</h2>\n");
    let objectives = facts::objectives(d);
    if objectives.is_empty() {
        o.push_str("<p>No objectives were scored for this run.</p>\n");
    } else {
        o.push_str("<table>\n<tr><th>Objective</th><th>Result</th><th>World T+</th><th>Detail</th><th>Asks</th></tr>\n");
        for [name, result, at, detail, asks] in objectives {
            let class = if result.starts_with("Met") {
                "met"
            } else if result.starts_with("Missed") {
                "missed"
            } else {
                "pending"
            };
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&name),
                esc(&result),
                esc(&at),
                esc(&detail),
                esc(&asks)
            );
        }
        o.push_str("</table>\n");
    }

    o.push_str("<h2>Charts</h2>\n");
    for c in &d.charts {
        let _ = write!(
            o,
            "<figure id=\"chart-{}\">\n{}</figure>\n",
            c.slug,
            chart::svg(c, false)
        );
    }

    o.push_str("<h2>Timeline</h2>\n<table>\n<tr><th>T+</th><th>UTC</th><th>Who</th><th>What</th><th>Source</th></tr>\n");
    for (row, cells) in d.rows.iter().zip(facts::timeline(d)) {
        let class = match row.kind {
            RowKind::Pause => " class=\"pause\"",
            RowKind::Facilitator => " class=\"fault\"",
            RowKind::Run => " class=\"run\"",
            RowKind::Approval => " class=\"approval\"",
            _ => "",
        };
        o.push_str("<tr");
        o.push_str(class);
        o.push('>');
        for c in &cells {
            let _ = write!(o, "<td>{}</td>", esc(c));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");

    o.push_str("<h2>Follow-ups</h2>\n<ul>\n");
    for q in facts::FOLLOW_UPS {
        let _ = writeln!(o, "<li>{}</li>", esc(q));
    }
    o.push_str("</ul>\n</body>\n</html>\n");
    o
}
