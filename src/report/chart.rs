//! SVG line charts drawn by ebb itself: axes with "nice" ticks, a legend, gaps where a
//! source was down, and the run's actions as labelled vertical lines on the time axis.

use std::fmt::Write as _;

use super::escape::xml;
use super::timeline::tplus;

/// What a chart's values measure (scale and tick labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Seconds (replication lag): from zero up to a nice ceiling.
    Seconds,
    /// Percent (volume usage, migration progress): 0–100, further if a value is above.
    Percent,
}

/// One line: `(x, y)` with x in seconds since the run started; `None` is a gap.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, Option<f64>)>,
}

/// What a marker stands for (its colour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerKind {
    /// A responder's run control, note or approval.
    Action,
    /// A fault the facilitator injected (or a scenario fault).
    Fault,
    /// The run itself: paused, finished.
    Run,
}

/// A vertical line at `x` seconds with a short label.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub x: f64,
    pub label: String,
    pub kind: MarkerKind,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// File-name part and element id: `lag`, `volume`, `migration`.
    pub slug: &'static str,
    pub title: String,
    pub unit: Unit,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    /// Seconds since the start shown on the x axis (the run's span).
    pub x_span: (f64, f64),
    /// The x axis' caption, e.g. `T+ (wall clock)`.
    pub x_caption: String,
}

const W: f64 = 760.0;
const H: f64 = 300.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 36.0;
/// Room above the plot for the title and three rows of marker labels.
const TOP: f64 = 70.0;
/// Room below the plot for tick labels, the caption and the legend.
const BOTTOM: f64 = 70.0;
const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];
/// Marker labels longer than this are cut (the whole text is the line's tooltip).
const LABEL_CHARS: usize = 18;

/// The chart as an SVG document. `standalone`: with the XML namespace, for a file of its
/// own; inline in HTML the namespace is implied (and the page names no URL at all).
pub fn svg(c: &Chart, standalone: bool) -> String {
    let (x0, x1) = x_range(c);
    let (y0, y1) = y_range(c);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;
    let mut o = String::with_capacity(4096);
    let ns = if standalone {
        r#" xmlns="http://www.w3.org/2000/svg""#
    } else {
        ""
    };
    let _ = write!(
        o,
        r#"<svg{ns} width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{slug}-title" font-family="sans-serif" font-size="11">"#,
        slug = c.slug
    );
    let _ = write!(
        o,
        "\n<title id=\"{}-title\">{}</title>\n<rect width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>\n",
        c.slug,
        xml(&c.title)
    );
    let _ = writeln!(
        o,
        r#"<text x="{LEFT}" y="16" font-size="14" font-weight="bold">{}</text>"#,
        xml(&c.title)
    );
    // Axes and grid.
    for t in ticks(y0, y1) {
        let y = sy(t);
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            y + 4.0,
            y_label(t, c.unit)
        );
    }
    for t in time_ticks(x0, x1) {
        let x = sx(t);
        let _ = writeln!(
            o,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 4.0,
            TOP + ph + 16.0,
            tplus(t)
        );
    }
    let _ = writeln!(
        o,
        r##"<path d="M{LEFT} {TOP}V{:.1}H{:.1}" fill="none" stroke="#333"/>"##,
        TOP + ph,
        LEFT + pw
    );
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + pw / 2.0,
        TOP + ph + 32.0,
        xml(&c.x_caption)
    );
    let unit = match c.unit {
        Unit::Seconds => "seconds",
        Unit::Percent => "percent",
    };
    let _ = writeln!(
        o,
        r#"<text x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">{unit}</text>"#,
        TOP + ph / 2.0,
        TOP + ph / 2.0
    );
    if c.series
        .iter()
        .all(|s| s.points.iter().all(|p| p.1.is_none()))
    {
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#777">no data</text>"##,
            LEFT + pw / 2.0,
            TOP + ph / 2.0
        );
    }
    // Lines, one polyline per unbroken run of points.
    for (i, s) in c.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let _ = writeln!(o, "<g stroke=\"{colour}\" fill=\"{colour}\">");
        for run in s.points.split(|p| p.1.is_none()) {
            let pts: Vec<(f64, f64)> = run
                .iter()
                .filter_map(|&(x, y)| y.map(|y| (sx(x.clamp(x0, x1)), sy(y.clamp(y0, y1)))))
                .collect();
            match pts.as_slice() {
                [] => {}
                [(x, y)] => {
                    let _ = writeln!(o, r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5"/>"#);
                }
                _ => {
                    o.push_str("<polyline fill=\"none\" stroke-width=\"1.5\" points=\"");
                    for (k, (x, y)) in pts.iter().enumerate() {
                        if k > 0 {
                            o.push(' ');
                        }
                        let _ = write!(o, "{x:.1},{y:.1}");
                    }
                    o.push_str("\"/>\n");
                }
            }
        }
        o.push_str("</g>\n");
    }
    // Markers: dashed lines, labels in three staggered rows above the plot.
    for (i, m) in c.markers.iter().enumerate() {
        if m.x < x0 || m.x > x1 {
            continue;
        }
        let x = sx(m.x);
        let colour = match m.kind {
            MarkerKind::Action => "#555555",
            MarkerKind::Fault => "#c62828",
            MarkerKind::Run => "#1565c0",
        };
        let row = (i % 3) as f64;
        let ly = TOP - 32.0 + row * 12.0;
        // Near the right edge the label reads leftwards from its line.
        let (tx, anchor) = if x > LEFT + pw - 110.0 {
            (x - 2.0, "end")
        } else {
            (x + 2.0, "start")
        };
        let _ = writeln!(
            o,
            r#"<g><title>{} {}</title><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{colour}" stroke-dasharray="4 3"/><text x="{tx:.1}" y="{ly:.1}" text-anchor="{anchor}" fill="{colour}" font-size="10">{}</text></g>"#,
            tplus(m.x),
            xml(&m.label),
            ly + 2.0,
            TOP + ph,
            xml(&short(&m.label))
        );
    }
    // Legend.
    let mut lx = LEFT;
    let ly = TOP + ph + 52.0;
    for (i, s) in c.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let _ = writeln!(
            o,
            r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="4" fill="{colour}"/><text x="{:.1}" y="{ly:.1}">{}</text>"#,
            ly - 4.0,
            lx + 16.0,
            xml(&s.name)
        );
        lx += 28.0 + 6.5 * s.name.chars().count().min(40) as f64;
    }
    o.push_str("</svg>\n");
    o
}

/// The label cut to `LABEL_CHARS` characters, with an ellipsis when cut.
fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// The x range: the run's span widened to every point, never empty.
pub fn x_range(c: &Chart) -> (f64, f64) {
    let xs = c.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (mut lo, mut hi) = (c.x_span.0, c.x_span.1);
    for x in xs.filter(|x| x.is_finite()) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 60.0);
    }
    if hi - lo < 1.0 {
        hi = lo + 60.0;
    }
    (lo, hi)
}

/// The y range: from zero to a nice ceiling above the largest value (percent: at least
/// 100), never empty (a constant or all-zero series gets room above it).
pub fn y_range(c: &Chart) -> (f64, f64) {
    let max = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .filter(|y| y.is_finite())
        .fold(0.0_f64, f64::max);
    match c.unit {
        Unit::Percent if max <= 100.0 => (0.0, 100.0),
        _ if max <= 0.0 => (0.0, 1.0),
        _ => {
            let step = nice_step(max / 5.0);
            (0.0, (max / step).ceil() * step)
        }
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ not below `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw * (1.0 - 1e-9) {
            return m * mag;
        }
    }
    10.0 * mag
}

/// About five ticks from `lo` to `hi` at a nice step.
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let step = nice_step((hi - lo) / 5.0);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    // Rounded to well below the step, so 3 × 0.2 reads 0.6.
    (first..=last)
        .map(|k| (k as f64 * step * 1e6).round() / 1e6)
        .collect()
}

/// Ticks for a time axis, in seconds: a step people read (5 s … 2 h), at most ~7 ticks.
pub fn time_ticks(lo: f64, hi: f64) -> Vec<f64> {
    const STEPS: [f64; 12] = [
        5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];
    let span = hi - lo;
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 6.0)
        .unwrap_or_else(|| (span / 6.0 / 3600.0).ceil() * 3600.0);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn y_label(v: f64, unit: Unit) -> String {
    let n = if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else if (v * 10.0).fract().abs() < 1e-6 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    match unit {
        Unit::Seconds => format!("{n}s"),
        Unit::Percent => format!("{n}%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(unit: Unit, points: Vec<(f64, Option<f64>)>) -> Chart {
        Chart {
            slug: "lag",
            title: "Replication lag".into(),
            unit,
            series: vec![Series {
                name: "replica-1".into(),
                points,
            }],
            markers: vec![],
            x_span: (0.0, 120.0),
            x_caption: "T+".into(),
        }
    }

    #[test]
    fn no_data_draws_axes_and_says_so() {
        let c = chart(Unit::Seconds, vec![]);
        let s = svg(&c, true);
        assert!(s.contains("no data"));
        assert_eq!(y_range(&c), (0.0, 1.0));
        assert!(!s.contains("<polyline"));
        assert!(!s.contains("NaN") && !s.contains("inf"));
    }

    #[test]
    fn one_point_is_a_dot() {
        let c = chart(Unit::Seconds, vec![(10.0, Some(3.0))]);
        let s = svg(&c, true);
        assert!(s.contains("<circle"), "{s}");
        assert!(!s.contains("<polyline"));
        assert!(!s.contains("no data"));
    }

    #[test]
    fn gaps_split_the_line() {
        let c = chart(
            Unit::Seconds,
            vec![
                (0.0, Some(1.0)),
                (1.0, Some(2.0)),
                (2.0, None),
                (3.0, Some(2.0)),
                (4.0, Some(1.0)),
            ],
        );
        assert_eq!(svg(&c, true).matches("<polyline").count(), 2);
    }

    #[test]
    fn constant_series_get_room() {
        let zero = chart(Unit::Seconds, vec![(0.0, Some(0.0)), (60.0, Some(0.0))]);
        assert_eq!(y_range(&zero), (0.0, 1.0));
        let flat = chart(Unit::Seconds, vec![(0.0, Some(7.0)), (60.0, Some(7.0))]);
        let (lo, hi) = y_range(&flat);
        assert!(lo == 0.0 && hi >= 7.0, "{lo} {hi}");
        let pct = chart(Unit::Percent, vec![(0.0, Some(40.0)), (60.0, Some(40.0))]);
        assert_eq!(y_range(&pct), (0.0, 100.0));
        let over = chart(Unit::Percent, vec![(0.0, Some(130.0))]);
        assert!(y_range(&over).1 >= 130.0);
    }

    #[test]
    fn nice_ticks() {
        assert_eq!(ticks(0.0, 100.0), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(ticks(0.0, 1.0), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(time_ticks(0.0, 120.0), vec![0.0, 30.0, 60.0, 90.0, 120.0]);
        assert_eq!(time_ticks(0.0, 3600.0).len(), 7);
        assert!(time_ticks(0.0, 86_400.0).len() <= 7);
    }

    #[test]
    fn a_zero_width_span_is_widened() {
        let mut c = chart(Unit::Seconds, vec![(5.0, Some(1.0))]);
        c.x_span = (5.0, 5.0);
        let (lo, hi) = x_range(&c);
        assert!(hi > lo);
    }

    #[test]
    fn hostile_names_are_escaped_everywhere() {
        let mut c = chart(Unit::Seconds, vec![(0.0, Some(1.0)), (10.0, Some(2.0))]);
        c.title = "<script>alert(1)</script>".into();
        c.series[0].name = "r]]><script>".into();
        c.markers.push(Marker {
            x: 5.0,
            label: "\"/><script>x</script>".into(),
            kind: MarkerKind::Action,
        });
        let s = svg(&c, false);
        assert!(!s.contains("<script"), "{s}");
        assert!(!s.contains("]]>"));
        assert!(!s.contains("http"), "inline SVG names no URL");
        assert!(svg(&c, true).contains("xmlns="));
    }

    #[test]
    fn markers_outside_the_span_are_left_out() {
        let mut c = chart(Unit::Seconds, vec![(0.0, Some(1.0)), (10.0, Some(2.0))]);
        c.markers.push(Marker {
            x: 500.0,
            label: "late".into(),
            kind: MarkerKind::Run,
        });
        assert!(!svg(&c, true).contains("late"));
    }
}
