//! `ebb report` through the real binary: a headless drill, then its report as HTML (one
//! self-contained file) and as Markdown with its chart SVGs beside it; an unknown run.

use std::path::Path;
use std::process::Stdio;

use crate::support::headless::{ebb, flat, runs};

/// Checks that `svg` is one well-formed element tree: every tag closed in order, no stray
/// `<` in text, attributes quoted. Returns how many elements it holds.
fn well_formed(svg: &str) -> usize {
    let mut stack: Vec<String> = Vec::new();
    let mut elements = 0;
    let mut rest = svg.trim();
    assert!(
        rest.starts_with("<svg"),
        "not an SVG: {}",
        &rest[..rest.len().min(80)]
    );
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("a tag left open") + open;
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "a '<' inside a tag: {tag}");
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(top, name.trim(), "</{name}> closes <{top}>");
        } else if !tag.starts_with('!') && !tag.starts_with('?') {
            elements += 1;
            let name: String = tag
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[close + 1..];
        if stack.is_empty() {
            break;
        }
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
    assert!(rest.trim().is_empty(), "text after the root: {rest}");
    elements
}

/// Each `<svg …>…</svg>` inside an HTML page.
fn inline_svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("an svg left open") + start + 6;
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

fn drill(home: &Path) -> String {
    let out = ebb(home)
        .args([
            "run",
            "examples/plans/backfill-slot-fill.toml",
            "--drill",
            "--headless",
            "--speed",
            "100",
            "--seed",
            "7",
            "--yes",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", flat(&out.stderr));
    runs(home)[0]["id"].as_str().unwrap().to_string()
}

#[test]
fn report_of_a_headless_drill_as_html_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let id = drill(dir.path());

    let html_path = dir.path().join("x.html");
    let out = ebb(dir.path())
        .args(["report", &id, "--format", "html", "-o"])
        .arg(&html_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", flat(&out.stderr));
    let html = std::fs::read_to_string(&html_path).unwrap();
    for section in ["Figures", "Objectives", "Charts", "Timeline", "Follow-ups"] {
        assert!(
            html.contains(&format!("<h2>{section}</h2>")),
            "no {section}"
        );
    }
    assert!(html.contains("Drill debrief: orders-0042-rollback"));
    assert!(html.contains(&id));
    assert!(html.contains("Time to recover"));
    assert!(
        html.contains("RTO 30m 00s: met"),
        "a completed drill within its RTO"
    );
    assert!(
        html.contains("re-simulated"),
        "a headless drill stores no observations"
    );
    assert!(html.contains("step pause-backfill applied"));
    // The scenario's objectives, scored by the re-simulated world and final: the plan
    // paused the backfill at once, so that one is met.
    for name in [
        "first-action",
        "paused-before-90",
        "recovered",
        "no-data-loss",
    ] {
        assert!(html.contains(name), "objective {name} in the report");
    }
    assert!(!html.contains("No objectives were scored"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("src=") && !html.contains("href="));
    let svgs = inline_svgs(&html);
    assert_eq!(svgs.len(), 3, "lag, volume, migration");
    for svg in svgs {
        assert!(well_formed(svg) > 10);
    }

    let md_path = dir.path().join("dir").join("r.md");
    let out = ebb(dir.path())
        .args(["report", &id, "--format", "md", "-o"])
        .arg(&md_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", flat(&out.stderr));
    let md = std::fs::read_to_string(&md_path).unwrap();
    for section in ["## Figures", "## Objectives", "## Charts", "## Timeline"] {
        assert!(md.contains(section), "no {section}");
    }
    let links: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("!["))
        .filter_map(|l| l.split_once("](")?.1.strip_suffix(')'))
        .collect();
    assert_eq!(links, ["r-lag.svg", "r-volume.svg", "r-migration.svg"]);
    for link in links {
        let svg = std::fs::read_to_string(md_path.with_file_name(link)).unwrap();
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
        assert!(well_formed(&svg) > 10, "{link}");
        assert!(!svg.contains("<script"));
    }

    // Markdown on stdout says how to get the charts.
    let out = ebb(dir.path()).args(["report", &id]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("use `-o FILE.md`"));
}

#[test]
fn an_unknown_run_names_runs_list() {
    let dir = tempfile::tempdir().unwrap();
    let out = ebb(dir.path())
        .args(["report", "r-nope", "--format", "html"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = flat(&out.stderr);
    assert!(
        err.contains("no run r-nope") && err.contains("ebb runs list"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
