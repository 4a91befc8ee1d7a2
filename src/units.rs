//! Parsing and compact formatting of sizes, durations and rates, as a responder reads them.
//! Parsers return a plain message; callers attach the file location.

use std::time::Duration;

const UNITS: &[(&str, f64)] = &[
    ("B", 1.0),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("KiB", 1024.0),
    ("MiB", 1024.0 * 1024.0),
    ("GiB", 1024.0 * 1024.0 * 1024.0),
    ("TiB", 1024.0 * 1024.0 * 1024.0 * 1024.0),
];

/// Parses `"512MiB"`, `"1.5 GiB"`, `"2000"` (bytes) into bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    let value: f64 = num
        .parse()
        .map_err(|_| format!("expected a size like \"512MiB\" or \"20GB\", found {s:?}"))?;
    let mult = if unit.is_empty() {
        1.0
    } else {
        UNITS
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(unit) && (u.len() == unit.len()))
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                format!("unknown size unit {unit:?} in {s:?}; expected one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB")
            })?
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("size {s:?} is out of range"));
    }
    Ok(bytes.round() as u64)
}

/// Parses `"15m"`, `"2s"`, `"1h 30m"`, `"250ms"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        format!("expected a duration like \"30s\", \"5m\" or \"1h30m\", found {s:?} ({e})")
    })
}

/// Binary-prefixed size with three significant figures: `"12.3 GiB"`, `"512 B"`.
pub fn fmt_bytes(b: u64) -> String {
    const STEPS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < STEPS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", STEPS[i])
    } else if v >= 10.0 {
        format!("{v:.1} {}", STEPS[i])
    } else {
        format!("{v:.2} {}", STEPS[i])
    }
}

/// A byte rate, e.g. `"3.20 MiB/s"`.
pub fn fmt_rate(bytes_per_sec: f64) -> String {
    if !bytes_per_sec.is_finite() || bytes_per_sec <= 0.0 {
        return "0 B/s".to_string();
    }
    format!("{}/s", fmt_bytes(bytes_per_sec.round() as u64))
}

/// A compact duration: `"850ms"`, `"12s"`, `"4m12s"`, `"1h03m"`, `"3d04h"`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    if s < 60 {
        if ms < 10_000 {
            return format!("{:.1}s", ms as f64 / 1000.0);
        }
        return format!("{s}s");
    }
    if s < 3600 {
        return format!("{}m{:02}s", s / 60, s % 60);
    }
    if s < 86_400 {
        return format!("{}h{:02}m", s / 3600, (s % 3600) / 60);
    }
    format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600)
}

/// A count with thousands separators: `1234567` → `"1,234,567"`.
pub fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A short count: `"1.2M"`, `"34.0k"`, `"999"`.
pub fn fmt_short_count(n: f64) -> String {
    let a = n.abs();
    if a >= 1e9 {
        format!("{:.1}G", n / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// `"95%"` (spaces allowed before the sign) as the number 95; `None` without the sign or
/// for a number that is not finite. Ranges are the caller's to check.
pub fn parse_percent(text: &str) -> Option<f64> {
    text.trim()
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        assert_eq!(parse_bytes("512MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_bytes("1.5 GiB"), Ok(1_610_612_736));
        assert_eq!(parse_bytes("20GB"), Ok(20_000_000_000));
        assert_eq!(parse_bytes("2000"), Ok(2000));
        assert!(parse_bytes("12 parsecs").is_err());
        assert!(parse_bytes("GiB").is_err());
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(1_610_612_736), "1.50 GiB");
        assert_eq!(fmt_bytes(200 * 1024 * 1024 * 1024), "200 GiB");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("five").is_err());
        assert_eq!(fmt_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(fmt_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(fmt_duration(Duration::from_secs(252)), "4m12s");
        assert_eq!(fmt_duration(Duration::from_secs(3780)), "1h03m");
        assert_eq!(
            fmt_duration(Duration::from_secs(2 * 86_400 + 7200)),
            "2d02h"
        );
    }

    #[test]
    fn counts() {
        assert_eq!(fmt_count(1_234_567), "1,234,567");
        assert_eq!(fmt_count(12), "12");
        assert_eq!(fmt_short_count(34_000.0), "34.0k");
    }
}
