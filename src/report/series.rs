//! The charts' series from observations: replication lag per replica, usage per volume and
//! progress per migration, with gaps where the source was down or went quiet.

use crate::sources::{Observation, Payload, ReplicaState};
use crate::time::Timestamp;

use super::chart::{Chart, Marker, Series, Unit};

/// Which chart a series belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Lag,
    Volume,
    Migration,
}

struct Line {
    which: Which,
    source: String,
    series: Series,
    /// The source's interval (seconds), to tell a quiet spell from the next sample.
    interval: f64,
}

/// The three charts: lag, volume usage, migration progress. `start`: the instant of x = 0
/// for observation stamps; `x_span`: the run's span on the axis; `markers`: the actions.
pub fn charts(
    obs: &[Observation],
    start: Timestamp,
    x_span: (f64, f64),
    markers: &[Marker],
    x_caption: &str,
) -> Vec<Chart> {
    let mut lines: Vec<Line> = Vec::new();
    let mut sorted: Vec<&Observation> = obs.iter().collect();
    sorted.sort_by_key(|o| o.at);
    for o in sorted {
        let x = (o.at.0 - start.0) as f64 / 1000.0;
        let interval = o.interval.as_secs_f64().max(0.001);
        let mut put = |which: Which, name: &str, y: Option<f64>| {
            push(&mut lines, which, &o.source.0, name, interval, x, y);
        };
        match &o.payload {
            Payload::Replication(r) => {
                for rep in &r.replicas {
                    let y = match (rep.state, rep.time_lag) {
                        (ReplicaState::Disconnected, _) => None,
                        // Idle: nothing outstanding to replay.
                        (_, None) => Some(0.0),
                        (_, Some(d)) => Some(d.as_secs_f64()),
                    };
                    put(Which::Lag, rep.name.as_str(), y);
                }
            }
            Payload::Storage(s) => {
                for v in &s.volumes {
                    let y = (v.capacity_bytes > 0)
                        .then(|| v.used_bytes as f64 / v.capacity_bytes as f64 * 100.0);
                    put(Which::Volume, v.name.as_str(), y);
                }
            }
            Payload::Migrations(m) => {
                for mig in &m.migrations {
                    let y = (mig.rows_total > 0)
                        .then(|| mig.rows_done as f64 / mig.rows_total as f64 * 100.0);
                    put(Which::Migration, mig.name.as_str(), y);
                }
            }
            // The source is down: every line it feeds breaks here.
            Payload::Error(_) => {
                for l in lines.iter_mut().filter(|l| l.source == o.source.0) {
                    if l.series.points.last().is_some_and(|p| p.1.is_some()) {
                        l.series.points.push((x, None));
                    }
                }
            }
            _ => {}
        }
    }
    let chart = |which: Which, slug, title: &str, unit| Chart {
        slug,
        title: title.to_string(),
        unit,
        series: lines
            .iter()
            .filter(|l| l.which == which)
            .map(|l| l.series.clone())
            .collect(),
        markers: markers.to_vec(),
        x_span,
        x_caption: x_caption.to_string(),
    };
    vec![
        chart(Which::Lag, "lag", "Replication lag", Unit::Seconds),
        chart(Which::Volume, "volume", "Volume usage", Unit::Percent),
        chart(
            Which::Migration,
            "migration",
            "Migration progress",
            Unit::Percent,
        ),
    ]
}

/// Appends `(x, y)` to its line (made on first use), with a gap first when the line has
/// been quiet for more than three of its intervals.
fn push(
    lines: &mut Vec<Line>,
    which: Which,
    source: &str,
    name: &str,
    interval: f64,
    x: f64,
    y: Option<f64>,
) {
    let i = match lines
        .iter()
        .position(|l| l.which == which && l.source == source && l.series.name == name)
    {
        Some(i) => i,
        None => {
            lines.push(Line {
                which,
                source: source.to_string(),
                series: Series {
                    name: name.to_string(),
                    points: Vec::new(),
                },
                interval,
            });
            lines.len() - 1
        }
    };
    let l = &mut lines[i];
    if let Some(&(last_x, Some(_))) = l.series.points.last()
        && x - last_x > 3.0 * l.interval
    {
        l.series.points.push(((last_x + x) / 2.0, None));
    }
    l.series.points.push((x, y));
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sources::{ReplicaStatus, ReplicationSnapshot, SourceId};
    use crate::text::DisplayText;

    fn lag(at_s: i64, secs: Option<u64>, state: ReplicaState) -> Observation {
        Observation {
            source: SourceId("sim:db".into()),
            at: Timestamp::from_secs(at_s),
            interval: Duration::from_secs(1),
            payload: Payload::Replication(ReplicationSnapshot {
                primary: DisplayText::new("p"),
                wal_bytes_per_sec: 0.0,
                replicas: vec![ReplicaStatus {
                    name: DisplayText::new("replica-1"),
                    state,
                    time_lag: secs.map(Duration::from_secs),
                    byte_lag: 0,
                    replay_paused: false,
                }],
            }),
        }
    }

    #[test]
    fn errors_and_quiet_spells_are_gaps() {
        let down = Observation {
            source: SourceId("sim:db".into()),
            at: Timestamp::from_secs(3),
            interval: Duration::from_secs(1),
            payload: Payload::Error(DisplayText::new("timeout")),
        };
        let obs = vec![
            lag(1, Some(4), ReplicaState::Streaming),
            lag(2, None, ReplicaState::Streaming),
            down,
            lag(4, Some(2), ReplicaState::Streaming),
            lag(20, Some(1), ReplicaState::Streaming),
            lag(21, None, ReplicaState::Disconnected),
        ];
        let c = charts(&obs, Timestamp(0), (0.0, 30.0), &[], "T+");
        let pts = &c[0].series[0].points;
        let ys: Vec<Option<f64>> = pts.iter().map(|p| p.1).collect();
        assert_eq!(
            ys,
            vec![Some(4.0), Some(0.0), None, Some(2.0), None, Some(1.0), None]
        );
        assert!(c[1].series.is_empty() && c[2].series.is_empty());
    }
}
