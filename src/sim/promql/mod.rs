//! A PromQL subset over the drill's series: selectors, `rate`/`irate`/`increase`, `sum`/`max`/
//! `min`/`avg`/`count` by/without, arithmetic and comparisons; anything else is `Unsupported`.

pub mod eval;
mod lex;
pub mod parse;

use std::collections::BTreeMap;

pub use eval::LOOKBACK;
pub use parse::{Expr, parse};

use crate::backends::prometheus::client::{Labels, Sample, Series};
use crate::sim::series::SeriesStore;
use eval::Value;

/// The most points a range evaluation gives per series (Prometheus refuses more too).
pub const MAX_POINTS: usize = 11_000;

/// Why the subset gives no answer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PromqlError {
    /// A construct outside the subset; the text names it (e.g. "the `offset` modifier").
    #[error("{0} is outside the drill's PromQL subset")]
    Unsupported(String),
    /// Not PromQL (or mistyped), as Prometheus would refuse it.
    #[error("parse error at char {}: {msg}", pos + 1)]
    Parse { pos: usize, msg: String },
    /// Valid PromQL that cannot be evaluated (e.g. many-to-many matching).
    #[error("{0}")]
    Eval(String),
}

/// The answer to an instant query at world time `t`: one sample per series (a scalar is one
/// unlabelled sample), as `PromClient::query` gives it.
pub fn instant(store: &SeriesStore, query: &str, t: f64) -> Result<Vec<Sample>, PromqlError> {
    instant_expr(store, &parse(query)?, t)
}

/// As `instant`, for a parsed expression.
pub fn instant_expr(store: &SeriesStore, e: &Expr, t: f64) -> Result<Vec<Sample>, PromqlError> {
    match eval::eval(store, e, t)? {
        Value::Scalar(value) => Ok(vec![Sample {
            labels: Labels::new(),
            value,
        }]),
        Value::Vector(v) => Ok(v
            .into_iter()
            .map(|el| Sample {
                labels: el.labels,
                value: el.value,
            })
            .collect()),
        Value::Matrix(_) => Err(PromqlError::Eval(
            "a range vector is not an instant query's answer".into(),
        )),
    }
}

/// The answer to a range query from `start` to `end` every `step` (world seconds), as
/// `PromClient::query_range` gives it: each series with its points, oldest first.
pub fn range(
    store: &SeriesStore,
    query: &str,
    start: f64,
    end: f64,
    step: f64,
) -> Result<Vec<Series>, PromqlError> {
    let e = parse(query)?;
    if e.ty() == parse::Type::Matrix {
        return Err(PromqlError::Eval(
            "a range query needs a scalar or instant vector expression".into(),
        ));
    }
    if step.is_nan() || step <= 0.0 || end < start {
        return Err(PromqlError::Eval(
            "a range query needs end ≥ start and a step above 0".into(),
        ));
    }
    let points = ((end - start) / step).floor() as usize + 1;
    if points > MAX_POINTS {
        return Err(PromqlError::Eval(format!(
            "exceeded maximum resolution of {MAX_POINTS} points per timeseries"
        )));
    }
    let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for i in 0..points {
        let t = start + step * i as f64;
        for s in instant_expr(store, &e, t)? {
            series.entry(s.labels).or_default().push((t, s.value));
        }
    }
    Ok(series
        .into_iter()
        .map(|(labels, points)| Series { labels, points })
        .collect())
}

#[cfg(test)]
mod tests;
