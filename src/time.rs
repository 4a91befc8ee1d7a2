//! Wall-clock instants as plain data (milliseconds since the Unix epoch, UTC).
//! The pure layers never read a clock; time arrives as a `Timestamp` in messages.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Reads the system clock. Only the I/O edges (sources, the event loop) call this.
    pub fn now() -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }

    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// `self + d`, saturating.
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(d.as_millis() as i64))
    }

    /// How long before `later` this instant was; zero if it is in the future.
    pub fn age_at(self, later: Timestamp) -> Duration {
        Duration::from_millis(later.0.saturating_sub(self.0).max(0) as u64)
    }

    /// `HH:MM:SS` in UTC.
    pub fn hms(self) -> String {
        let secs = self.0.div_euclid(1000);
        let day = secs.rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", day / 3600, (day % 3600) / 60, day % 60)
    }

    /// RFC 3339 in UTC to the second, e.g. `2026-11-24T03:00:00Z`.
    pub fn rfc3339(self) -> String {
        let st = if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_millis(self.0 as u64)
        } else {
            UNIX_EPOCH
        };
        humantime::format_rfc3339_seconds(st).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        let t = Timestamp::from_secs(1_795_489_200); // 2026-11-24T03:00:00Z
        assert_eq!(t.rfc3339(), "2026-11-24T03:00:00Z");
        assert_eq!(t.plus(Duration::from_secs(61)).hms(), "03:01:01");
    }

    #[test]
    fn age_never_negative() {
        let a = Timestamp(5_000);
        assert_eq!(a.age_at(Timestamp(2_000)), Duration::ZERO);
        assert_eq!(a.age_at(Timestamp(7_500)), Duration::from_millis(2_500));
    }
}
