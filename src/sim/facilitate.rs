//! What a drill's facilitator can ask of the runner (speed, freeze, the world's faults,
//! announcements) and the menu of it a scenario offers, filtered by what was typed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sim::world::live::{FaultState, FaultView, fmt_world};
use crate::sim::world::scenario::{Bandwidth, CrashTarget, Fault, FaultSpec, Fill};
use crate::sim::world::{OutageSource, Scenario, WorldControl};

/// A facilitator's request, as the runner takes it from a request row (`drill.*`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilitatorRequest {
    /// World seconds per real second (0.1–100).
    Speed {
        speed: f64,
    },
    Freeze {
        frozen: bool,
    },
    /// A change to the world's timeline: inject or end a fault, hide or show a source.
    World {
        control: WorldControl,
    },
    /// A note shown on every console of the drill.
    Announce {
        text: String,
    },
}

/// The drill as its runner last published it: clock, faults and hidden sources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillSeen {
    pub speed: f64,
    pub frozen: bool,
    pub faults: Vec<FaultView>,
    pub hidden: Vec<OutageSource>,
}

/// One line of the facilitator's fault menu.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub label: String,
    pub request: FacilitatorRequest,
}

/// What was typed in the menu: words to match, and `@12m` (start at that world time) or
/// `for 5m` (last that long); `say TEXT` is an announcement.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Typed {
    pub words: Vec<String>,
    pub at: Option<Duration>,
    pub duration: Option<Duration>,
    pub say: Option<String>,
    /// A time or duration that could not be read.
    pub error: Option<String>,
}

impl Typed {
    pub fn parse(input: &str) -> Typed {
        let mut t = Typed::default();
        if let Some(rest) = input.trim_start().strip_prefix("say ") {
            t.say = Some(rest.trim().to_string());
            return t;
        }
        let mut tokens = input.split_whitespace().peekable();
        while let Some(tok) = tokens.next() {
            if let Some(at) = tok.strip_prefix('@') {
                match crate::units::parse_duration(at) {
                    Ok(d) => t.at = Some(d),
                    Err(e) => t.error = Some(format!("@{at}: {e}")),
                }
            } else if tok == "for" {
                if let Some(d) = tokens.next() {
                    match crate::units::parse_duration(d) {
                        Ok(d) => t.duration = Some(d),
                        Err(e) => t.error = Some(format!("for {d}: {e}")),
                    }
                }
            } else {
                t.words.push(tok.to_lowercase());
            }
        }
        t
    }
}

/// The faults `scenario`'s world can be given, one line each (injected now; what is typed
/// sets when and for how long): the part of the menu that never changes during a drill.
pub fn menu(scenario: &Scenario) -> Vec<Choice> {
    let inject = |fault: Fault, what: String| Choice {
        label: what,
        request: FacilitatorRequest::World {
            control: WorldControl::InjectFault(FaultSpec {
                at: Duration::ZERO,
                duration: None,
                fault,
            }),
        },
    };
    let mut all = Vec::new();
    for (i, r) in scenario.replicas.iter().enumerate() {
        all.push(inject(
            Fault::ReplicaApplyStall { replica: i },
            format!("replica apply stall on {}", r.name),
        ));
        all.push(inject(
            Fault::NetworkDegradation {
                replica: i,
                bandwidth: Bandwidth::Factor(0.0),
            },
            format!("network partition of {} from the primary", r.name),
        ));
        all.push(inject(
            Fault::NetworkDegradation {
                replica: i,
                bandwidth: Bandwidth::Factor(0.1),
            },
            format!("network degradation of {} to 10% bandwidth", r.name),
        ));
    }
    for (i, v) in scenario.volumes.iter().enumerate() {
        all.push(inject(
            Fault::DiskFill {
                volume: i,
                fill: Fill::Bytes(10.0 * GIB),
            },
            format!("disk fill of {} by 10 GiB", v.name),
        ));
        all.push(inject(
            Fault::DiskFill {
                volume: i,
                fill: Fill::Rate(50.0 * MIB),
            },
            format!("disk fill of {} at 50 MiB/s", v.name),
        ));
    }
    all.push(inject(
        Fault::MigrationBatchFailure {
            message: "deadlock detected".into(),
            count: None,
        },
        format!(
            "migration batch failure: {} batches fail",
            scenario.migration.name
        ),
    ));
    all.push(inject(
        Fault::MigrationBatchFailure {
            message: "canceling statement due to statement timeout".into(),
            count: Some(3),
        },
        format!(
            "migration batch failure: the next 3 batches of {}",
            scenario.migration.name
        ),
    ));
    for o in 0..scenario.app.replicas {
        all.push(inject(
            Fault::Crashloop {
                target: CrashTarget::Pod(o),
            },
            format!("crashlooping pod {}-{o}", scenario.app.statefulset),
        ));
    }
    for r in &scenario.app.revisions {
        all.push(inject(
            Fault::Crashloop {
                target: CrashTarget::Revision(r.name.clone()),
            },
            format!("crashlooping pods on revision {}", r.name),
        ));
    }
    for (source, name, _) in SOURCES {
        all.push(inject(
            Fault::SourceOutage { source },
            format!("source outage of {name} (its target unreachable)"),
        ));
    }
    all
}

/// The menu as it stands: `menu`'s faults (timed as typed), hiding or showing each
/// source, ending each fault in force; narrowed to what matches the typed words.
pub fn choices(menu: &[Choice], seen: &DrillSeen, input: &str) -> Vec<Choice> {
    let typed = Typed::parse(input);
    if let Some(text) = typed.say.filter(|t| !t.is_empty()) {
        return vec![Choice {
            label: format!("announce to every console: {text}"),
            request: FacilitatorRequest::Announce { text },
        }];
    }
    let when = match typed.at {
        Some(d) => format!(" at {}", fmt_world(d)),
        None => " now".to_string(),
    };
    let lasting = match typed.duration {
        Some(d) => format!(" for {}", fmt_world(d)),
        None => String::new(),
    };
    let mut all: Vec<Choice> = menu
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if let FacilitatorRequest::World {
                control: WorldControl::InjectFault(spec),
            } = &mut c.request
            {
                spec.at = typed.at.unwrap_or(Duration::ZERO);
                spec.duration = typed.duration;
                c.label = format!("inject{when}{lasting}: {}", c.label);
            }
            c
        })
        .collect();
    for (source, name, panes) in SOURCES {
        let hidden = seen.hidden.contains(&source);
        all.push(Choice {
            label: if hidden {
                format!("show {name} again ({panes})")
            } else {
                format!("hide {name} from the consoles ({panes}): a monitoring outage")
            },
            request: FacilitatorRequest::World {
                control: WorldControl::HideSource {
                    source,
                    hidden: !hidden,
                },
            },
        });
    }
    for f in &seen.faults {
        if f.state == FaultState::Ended {
            continue;
        }
        let verb = if f.state == FaultState::Scheduled {
            "cancel"
        } else {
            "end"
        };
        all.push(Choice {
            label: format!("{verb} fault #{}: {}", f.index, f.text),
            request: FacilitatorRequest::World {
                control: WorldControl::EndFault { index: f.index },
            },
        });
    }
    all.retain(|c| {
        let label = c.label.to_lowercase();
        typed.words.iter().all(|w| label.contains(w.as_str()))
    });
    all
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
const SOURCES: [(OutageSource, &str, &str); 2] = [
    (
        OutageSource::Db,
        "sim:db",
        "Replication, Migration, Storage",
    ),
    (OutageSource::App, "sim:app", "Workload"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario::builtin("backfill-slot-fill")
            .and_then(Result::ok)
            .unwrap()
    }

    #[test]
    fn the_menu_offers_every_kind_of_the_vocabulary() {
        let all = choices(&menu(&scenario()), &DrillSeen::default(), "");
        for kind in [
            "replica apply stall",
            "network degradation",
            "network partition",
            "disk fill",
            "migration batch failure",
            "crashlooping pod",
            "source outage",
            "hide sim:db",
        ] {
            assert!(all.iter().any(|c| c.label.contains(kind)), "{kind}");
        }
    }

    #[test]
    fn typed_words_narrow_and_at_and_for_set_the_fault_times() {
        let c = choices(
            &menu(&scenario()),
            &DrillSeen::default(),
            "stall replica-1 @12m for 5m",
        );
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(
            c[0].label,
            "inject at 12m00s for 5m00s: replica apply stall on replica-1"
        );
        let FacilitatorRequest::World {
            control: WorldControl::InjectFault(spec),
        } = &c[0].request
        else {
            panic!("{c:?}")
        };
        assert_eq!(spec.at, Duration::from_secs(720));
        assert_eq!(spec.duration, Some(Duration::from_secs(300)));
    }

    #[test]
    fn say_makes_an_announcement_and_active_faults_can_be_ended() {
        let c = choices(
            &menu(&scenario()),
            &DrillSeen::default(),
            "say failover at 10:30",
        );
        assert_eq!(
            c[0].request,
            FacilitatorRequest::Announce {
                text: "failover at 10:30".into()
            }
        );
        let seen = DrillSeen {
            faults: vec![FaultView {
                index: 1,
                text: "replica-2: WAL replay stalled".into(),
                at_ms: 0,
                until_ms: None,
                state: FaultState::Active,
                live: true,
            }],
            ..DrillSeen::default()
        };
        let c = choices(&menu(&scenario()), &seen, "end");
        assert!(
            c.iter()
                .any(|c| c.label == "end fault #1: replica-2: WAL replay stalled")
        );
    }

    #[test]
    fn a_bad_time_is_said() {
        assert!(Typed::parse("stall @soon").error.is_some());
    }

    #[test]
    fn requests_cross_the_bus_as_json() {
        for c in choices(&menu(&scenario()), &DrillSeen::default(), "") {
            let json = serde_json::to_value(&c.request).unwrap();
            let back: FacilitatorRequest = serde_json::from_value(json).unwrap();
            assert_eq!(back, c.request);
        }
    }
}
