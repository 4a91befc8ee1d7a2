//! Semantic checks of a scenario file: sizes, durations, names that refer to each other,
//! fault fields per kind; every error located at the value that is wrong.

#![allow(clippy::result_large_err)]

use std::time::Duration;

use toml::Spanned;

use super::raw::{RawApp, RawBind, RawFault, RawFile, RawKind, RawMigration, S};
use super::*;
use crate::diag::{LocatedError, SourceFile};
use crate::units::{parse_bytes, parse_duration};

pub(super) struct Checker<'a> {
    pub(super) file: &'a SourceFile,
}

impl Checker<'_> {
    pub(super) fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        msg: String,
        help: Option<String>,
    ) -> Result<T, LocatedError> {
        Err(self.file.error_at(span, msg, help))
    }

    fn size(&self, s: &S) -> Result<f64, LocatedError> {
        parse_bytes(s.get_ref())
            .map(|b| b as f64)
            .map_err(|m| self.file.error_at(s.span(), m, None))
    }

    /// A byte rate such as `"10MiB/s"` (the `/s` is optional).
    fn rate(&self, s: &S) -> Result<f64, LocatedError> {
        let t = s.get_ref().trim();
        let t = t.strip_suffix("/s").unwrap_or(t);
        parse_bytes(t).map(|b| b as f64).map_err(|m| {
            self.file.error_at(
                s.span(),
                m,
                Some("a rate is a size per second, e.g. \"10MiB/s\"".into()),
            )
        })
    }

    pub(super) fn duration(&self, s: &S) -> Result<Duration, LocatedError> {
        parse_duration(s.get_ref()).map_err(|m| self.file.error_at(s.span(), m, None))
    }

    pub(super) fn lookup(&self, s: &S, what: &str, names: &[&str]) -> Result<usize, LocatedError> {
        match names.iter().position(|n| n == s.get_ref()) {
            Some(i) => Ok(i),
            None => self.err(
                s.span(),
                format!("unknown {what} {:?}", s.get_ref()),
                Some(format!(
                    "known: {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )),
            ),
        }
    }

    pub(super) fn unique(&self, names: &[&S], what: &str) -> Result<(), LocatedError> {
        for (i, n) in names.iter().enumerate() {
            if names[..i].iter().any(|m| m.get_ref() == n.get_ref()) {
                return self.err(
                    n.span(),
                    format!("duplicate {what} name {:?}", n.get_ref()),
                    None,
                );
            }
        }
        Ok(())
    }

    fn fraction(&self, v: &Spanned<f64>, what: &str) -> Result<f64, LocatedError> {
        let x = *v.get_ref();
        if !(0.0..=1.0).contains(&x) {
            return self.err(
                v.span(),
                format!("{what} must be between 0 and 1, found {x}"),
                None,
            );
        }
        Ok(x)
    }

    pub(super) fn build(&self, raw: RawFile) -> Result<Scenario, LocatedError> {
        // Volumes first: others refer to them.
        self.unique(
            &raw.volume.iter().map(|v| &v.name).collect::<Vec<_>>(),
            "volume",
        )?;
        let mut volumes = Vec::new();
        for v in &raw.volume {
            let capacity = self.size(&v.capacity)?;
            let used = self.size(&v.used)?;
            if capacity <= 0.0 {
                return self.err(
                    v.capacity.span(),
                    "capacity must be more than 0".into(),
                    None,
                );
            }
            if used > capacity {
                return self.err(
                    v.used.span(),
                    format!(
                        "used ({}) is more than the capacity ({})",
                        v.used.get_ref(),
                        v.capacity.get_ref()
                    ),
                    None,
                );
            }
            volumes.push(VolumeSpec {
                name: v.name.get_ref().clone(),
                owner: v.owner.clone(),
                capacity,
                used,
            });
        }
        let vol_names: Vec<&str> = volumes.iter().map(|v| v.name.as_str()).collect();
        let vol = |s: &Option<S>| -> Result<Option<usize>, LocatedError> {
            s.as_ref()
                .map(|s| self.lookup(s, "volume", &vol_names))
                .transpose()
        };

        let p = &raw.primary;
        let primary = PrimarySpec {
            name: p.name.clone(),
            wal_rate: self.rate(&p.wal_rate)?,
            max_wal_size: match &p.max_wal_size {
                Some(s) => self.size(s)?,
                None => 1024.0 * 1024.0 * 1024.0,
            },
            max_slot_wal_keep_size: p
                .max_slot_wal_keep_size
                .as_ref()
                .map(|s| self.size(s))
                .transpose()?,
            volume: vol(&p.volume)?,
        };

        self.unique(
            &raw.replica.iter().map(|r| &r.name).collect::<Vec<_>>(),
            "replica",
        )?;
        let mut replicas = Vec::new();
        for r in &raw.replica {
            replicas.push(ReplicaSpec {
                name: r.name.get_ref().clone(),
                apply_rate: self.rate(&r.apply_rate)?,
                bandwidth: self.rate(&r.bandwidth)?,
                volume: vol(&r.volume)?,
                slot: r.slot.unwrap_or(true),
            });
        }
        let rep_names: Vec<&str> = replicas.iter().map(|r| r.name.as_str()).collect();

        self.unique(
            &raw.slot.iter().map(|s| &s.name).collect::<Vec<_>>(),
            "slot",
        )?;
        let mut slots = Vec::new();
        for s in &raw.slot {
            let n = s.name.get_ref();
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return self.err(
                    s.name.span(),
                    format!("slot name {n:?} is not valid in PostgreSQL"),
                    Some("use lower-case letters, digits and underscores".into()),
                );
            }
            slots.push(SlotSpec {
                name: n.clone(),
                retained: self.size(&s.retained)?,
            });
        }

        let mut snapshots = Vec::new();
        for s in &raw.snapshot {
            snapshots.push(SnapshotSpec {
                name: s.name.clone(),
                volume: self.lookup(&s.volume, "volume", &vol_names)?,
                age: self.duration(&s.age)?,
                state: s.state,
            });
        }

        let app = self.app(&raw.app)?;
        let migration = self.migration(&raw.migration, &rep_names)?;

        let rev_names: Vec<&str> = app.revisions.iter().map(|r| r.name.as_str()).collect();
        let mut faults = Vec::new();
        for f in &raw.fault {
            faults.push(self.fault(f, &rep_names, &vol_names, &rev_names, app.replicas)?);
        }

        let bind = self.bind(&raw.bind, &primary, &rep_names, &app)?;
        let objectives = self.objectives(&raw.objective, &vol_names, primary.volume)?;
        Ok(Scenario {
            objectives,
            bind,
            name: raw.scenario.name,
            title: raw.scenario.title,
            description: raw.scenario.description,
            plan: raw.scenario.plan,
            primary,
            replicas,
            slots,
            volumes,
            snapshots,
            app,
            migration,
            faults,
        })
    }

    /// `[bind]`: each target names something the world has; flags name the app's flags.
    fn bind(
        &self,
        b: &RawBind,
        primary: &PrimarySpec,
        rep_names: &[&str],
        app: &AppSpec,
    ) -> Result<BindSpec, LocatedError> {
        let mut known: Vec<&str> = vec!["primary", primary.name.as_str()];
        known.extend_from_slice(rep_names);
        known.extend([
            "app",
            "cluster",
            app.statefulset.as_str(),
            "metrics",
            "web",
            "flags",
        ]);
        let mut targets = Vec::new();
        for (name, value) in &b.targets {
            self.lookup(value, "drill world node", &known)?;
            targets.push((name.clone(), value.get_ref().clone()));
        }
        let flag_names: Vec<&str> = app.flags.iter().map(|f| f.name.as_str()).collect();
        let mut flags = Vec::new();
        for (text, flag) in &b.flags {
            self.lookup(flag, "feature flag", &flag_names)?;
            flags.push((text.clone(), flag.get_ref().clone()));
        }
        let statements = b
            .statements
            .iter()
            .map(|(text, action)| (text.clone(), *action.get_ref()))
            .collect();
        Ok(BindSpec {
            targets,
            statements,
            flags,
        })
    }

    fn app(&self, a: &RawApp) -> Result<AppSpec, LocatedError> {
        let replicas = *a.replicas.get_ref();
        if replicas == 0 {
            return self.err(
                a.replicas.span(),
                "replicas must be at least 1".into(),
                None,
            );
        }
        let partition = match &a.partition {
            Some(p) if *p.get_ref() > replicas => {
                return self.err(
                    p.span(),
                    format!(
                        "partition {} is more than the {replicas} replicas",
                        p.get_ref()
                    ),
                    None,
                );
            }
            Some(p) => *p.get_ref(),
            None => 0,
        };
        if a.revision.is_empty() {
            return self.err(
                a.current_revision.span(),
                "the app needs at least one [[app.revision]]".into(),
                None,
            );
        }
        self.unique(
            &a.revision.iter().map(|r| &r.name).collect::<Vec<_>>(),
            "revision",
        )?;
        let revisions: Vec<RevisionSpec> = a
            .revision
            .iter()
            .map(|r| RevisionSpec {
                name: r.name.get_ref().clone(),
                version: r.version.clone(),
                schemas: r.schemas.clone(),
            })
            .collect();
        let names: Vec<&str> = revisions.iter().map(|r| r.name.as_str()).collect();
        self.lookup(&a.current_revision, "revision", &names)?;
        self.lookup(&a.update_revision, "revision", &names)?;
        self.unique(&a.flag.iter().map(|f| &f.name).collect::<Vec<_>>(), "flag")?;
        let mut flags = Vec::new();
        for f in &a.flag {
            flags.push(FlagSpec {
                name: f.name.get_ref().clone(),
                enabled: f.enabled,
                requires_schema: f.requires_schema.clone(),
                error_rate: f
                    .error_rate
                    .as_ref()
                    .map(|e| self.fraction(e, "error_rate"))
                    .transpose()?
                    .unwrap_or(0.3),
            });
        }
        let mut stuck_pods = Vec::new();
        for p in a.stuck_pods.iter().flatten() {
            let o = *p.get_ref();
            if o >= replicas {
                return self.err(
                    p.span(),
                    format!(
                        "stuck pod ordinal {o} is out of range; the app has {replicas} pods (0..{})",
                        replicas - 1
                    ),
                    None,
                );
            }
            if stuck_pods.contains(&o) {
                return self.err(p.span(), format!("pod ordinal {o} is listed twice"), None);
            }
            stuck_pods.push(o);
        }
        Ok(AppSpec {
            statefulset: a.statefulset.get_ref().clone(),
            metrics: self.metrics_prefix(a)?,
            replicas,
            partition,
            current_revision: a.current_revision.get_ref().clone(),
            update_revision: a.update_revision.get_ref().clone(),
            base_error_rate: a
                .base_error_rate
                .as_ref()
                .map(|e| self.fraction(e, "base_error_rate"))
                .transpose()?
                .unwrap_or(0.002),
            revisions,
            flags,
            stuck_pods,
        })
    }

    /// `[app] metrics`, or the statefulset's name with `-` as `_`: a Prometheus metric name.
    fn metrics_prefix(&self, a: &RawApp) -> Result<String, LocatedError> {
        let valid = |n: &str| {
            let mut chars = n.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        };
        match &a.metrics {
            Some(m) if valid(m.get_ref()) => Ok(m.get_ref().clone()),
            Some(m) => self.err(
                m.span(),
                format!("metrics {:?} is not a Prometheus metric name prefix", m.get_ref()),
                Some("use letters, digits, `_` and `:`, not starting with a digit, e.g. \"orders_api\"".into()),
            ),
            None => {
                let derived = a.statefulset.get_ref().replace('-', "_");
                if valid(&derived) {
                    Ok(derived)
                } else {
                    self.err(
                        a.statefulset.span(),
                        format!(
                            "the statefulset name {:?} does not make a Prometheus metric name",
                            a.statefulset.get_ref()
                        ),
                        Some("give the app's metric prefix: metrics = \"orders_api\"".into()),
                    )
                }
            }
        }
    }

    fn migration(
        &self,
        m: &RawMigration,
        rep_names: &[&str],
    ) -> Result<MigrationSpec, LocatedError> {
        let rows_done = m.rows_done.as_ref().map(|r| *r.get_ref()).unwrap_or(0);
        if let Some(r) = &m.rows_done
            && rows_done > m.rows_total
        {
            return self.err(
                r.span(),
                format!(
                    "rows_done ({rows_done}) is more than rows_total ({})",
                    m.rows_total
                ),
                None,
            );
        }
        if *m.batch.get_ref() == 0 {
            return self.err(m.batch.span(), "batch must be at least 1 row".into(), None);
        }
        let rps = *m.rows_per_sec.get_ref();
        if !(rps.is_finite() && rps > 0.0) {
            return self.err(
                m.rows_per_sec.span(),
                format!("rows_per_sec must be more than 0, found {rps}"),
                None,
            );
        }
        let bytes_per_row = self.size(&m.bytes_per_row)?;
        let heap_bytes_per_row = match &m.heap_bytes_per_row {
            Some(s) => self.size(s)?,
            None => bytes_per_row / 4.0,
        };
        let throttle_replicas = match &m.throttle_replicas {
            Some(list) => list
                .iter()
                .map(|s| self.lookup(s, "replica", rep_names))
                .collect::<Result<Vec<_>, _>>()?,
            None => (0..rep_names.len()).collect(),
        };
        Ok(MigrationSpec {
            name: m.name.clone(),
            table: m.table.clone().unwrap_or_else(|| "orders".to_string()),
            columns: m.columns.clone().unwrap_or_default(),
            from_schema: m.from_schema.clone(),
            to_schema: m.to_schema.clone(),
            rows_total: m.rows_total,
            rows_done,
            batch: *m.batch.get_ref(),
            rows_per_sec: rps,
            bytes_per_row,
            heap_bytes_per_row,
            throttle_max_lag: self.duration(&m.throttle_max_lag)?,
            throttle_replicas,
            state: m.state.unwrap_or(MigrationInitial::Running),
            max_retries: m.max_retries.unwrap_or(3),
        })
    }

    fn fault(
        &self,
        f: &RawFault,
        rep_names: &[&str],
        vol_names: &[&str],
        rev_names: &[&str],
        pods: u32,
    ) -> Result<FaultSpec, LocatedError> {
        let kind = *f.kind.get_ref();
        let kname = kind.name();
        // Which optional keys this kind accepts.
        let allowed: &[&str] = match kind {
            RawKind::ReplicaApplyStall => &["replica"],
            RawKind::NetworkDegradation => &["replica", "factor", "bandwidth"],
            RawKind::DiskFill => &["volume", "bytes", "rate"],
            RawKind::MigrationBatchFailure => &["message", "count"],
            RawKind::Crashloop => &["pod", "revision"],
            RawKind::SourceOutage => &["source"],
        };
        let present: [(&str, Option<std::ops::Range<usize>>); 10] = [
            ("replica", f.replica.as_ref().map(|s| s.span())),
            ("factor", f.factor.as_ref().map(|s| s.span())),
            ("bandwidth", f.bandwidth.as_ref().map(|s| s.span())),
            ("volume", f.volume.as_ref().map(|s| s.span())),
            ("bytes", f.bytes.as_ref().map(|s| s.span())),
            ("rate", f.rate.as_ref().map(|s| s.span())),
            ("message", f.message.as_ref().map(|s| s.span())),
            ("count", f.count.as_ref().map(|s| s.span())),
            ("pod", f.pod.as_ref().map(|s| s.span())),
            ("revision", f.revision.as_ref().map(|s| s.span())),
        ];
        for (key, span) in &present {
            if let Some(span) = span
                && !allowed.contains(key)
            {
                return self.err(
                    span.clone(),
                    format!("`{key}` does not apply to a {kname} fault"),
                    Some(format!("a {kname} fault takes: {}", allowed.join(", "))),
                );
            }
        }
        if let Some(s) = &f.source
            && kind != RawKind::SourceOutage
        {
            return self.err(
                s.span(),
                format!("`source` does not apply to a {kname} fault"),
                None,
            );
        }
        let missing = |what: &str| -> LocatedError {
            self.file.error_at(
                f.kind.span(),
                format!("a {kname} fault needs `{what}`"),
                None,
            )
        };
        let at = self.duration(&f.at)?;
        let duration = f.duration.as_ref().map(|d| self.duration(d)).transpose()?;
        if let (Some(d), Some(s)) = (duration, &f.duration)
            && d.is_zero()
        {
            return self.err(s.span(), "duration must be more than 0".into(), None);
        }
        let replica = |me: &Self| -> Result<usize, LocatedError> {
            let s = f.replica.as_ref().ok_or_else(|| missing("replica"))?;
            me.lookup(s, "replica", rep_names)
        };
        let fault = match kind {
            RawKind::ReplicaApplyStall => Fault::ReplicaApplyStall {
                replica: replica(self)?,
            },
            RawKind::NetworkDegradation => {
                let replica = replica(self)?;
                let bandwidth = match (&f.factor, &f.bandwidth) {
                    (Some(x), None) => Bandwidth::Factor(self.fraction(x, "factor")?),
                    (None, Some(b)) => Bandwidth::Absolute(self.rate(b)?),
                    (Some(x), Some(_)) => {
                        return self.err(
                            x.span(),
                            "give `factor` or `bandwidth`, not both".into(),
                            None,
                        );
                    }
                    (None, None) => return Err(missing("factor` or `bandwidth")),
                };
                Fault::NetworkDegradation { replica, bandwidth }
            }
            RawKind::DiskFill => {
                let s = f.volume.as_ref().ok_or_else(|| missing("volume"))?;
                let volume = self.lookup(s, "volume", vol_names)?;
                let fill = match (&f.bytes, &f.rate) {
                    (Some(b), None) => Fill::Bytes(self.size(b)?),
                    (None, Some(r)) => Fill::Rate(self.rate(r)?),
                    (Some(b), Some(_)) => {
                        return self.err(b.span(), "give `bytes` or `rate`, not both".into(), None);
                    }
                    (None, None) => return Err(missing("bytes` or `rate")),
                };
                Fault::DiskFill { volume, fill }
            }
            RawKind::MigrationBatchFailure => {
                let message = f.message.as_ref().ok_or_else(|| missing("message"))?;
                if let Some(c) = &f.count
                    && *c.get_ref() == 0
                {
                    return self.err(c.span(), "count must be at least 1".into(), None);
                }
                Fault::MigrationBatchFailure {
                    message: message.get_ref().clone(),
                    count: f.count.as_ref().map(|c| *c.get_ref()),
                }
            }
            RawKind::Crashloop => match (&f.pod, &f.revision) {
                (Some(p), None) => {
                    if *p.get_ref() >= pods {
                        return self.err(
                            p.span(),
                            format!(
                                "pod ordinal {} is out of range; the app has {pods} pods (0..{})",
                                p.get_ref(),
                                pods - 1
                            ),
                            None,
                        );
                    }
                    Fault::Crashloop {
                        target: CrashTarget::Pod(*p.get_ref()),
                    }
                }
                (None, Some(r)) => {
                    let i = self.lookup(r, "revision", rev_names)?;
                    Fault::Crashloop {
                        target: CrashTarget::Revision(rev_names[i].to_string()),
                    }
                }
                (Some(p), Some(_)) => {
                    return self.err(p.span(), "give `pod` or `revision`, not both".into(), None);
                }
                (None, None) => return Err(missing("pod` or `revision")),
            },
            RawKind::SourceOutage => {
                let s = f.source.as_ref().ok_or_else(|| missing("source"))?;
                Fault::SourceOutage {
                    source: *s.get_ref(),
                }
            }
        };
        Ok(FaultSpec {
            at,
            duration,
            fault,
        })
    }
}
