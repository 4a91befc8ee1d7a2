//! The committed screenshots/ are what `ebb screenshot` renders now: a change to the view
//! or a theme that is not followed by regenerating them fails here.

use ebb::cli::screenshot::{model_at, render_buffer};
use ebb::config::{keymap_by_name, preset_theme_names, theme_by_name};
use ebb::plan::PlanOutline;
use ebb::sim::world::Scenario;
use ebb::tui::svg::to_svg;

/// The arguments every committed screenshot is made with (see README, "Screenshots").
pub const AT: u64 = 300;
pub const SEED: u64 = 42;

#[test]
fn committed_screenshots_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let keymap = keymap_by_name("default").unwrap();
    let scenario = Scenario::load("backfill-slot-fill").unwrap();
    let plan = PlanOutline::builtin("backfill-slot-fill.toml")
        .unwrap()
        .unwrap();
    let model = model_at(&scenario, Some(plan), SEED, AT, "oncall", &keymap);
    let mut stale = Vec::new();
    for name in preset_theme_names() {
        let theme = theme_by_name(name).unwrap();
        let svg = to_svg(&render_buffer(&model, &keymap, &theme, 160, 48), &theme);
        let path = root.join("screenshots").join(format!("drill-{name}.svg"));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != svg {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out-of-date screenshots: {stale:?}\nregenerate with: scripts/screenshots"
    );
}
