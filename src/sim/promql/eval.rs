//! Evaluates a parsed expression over a `SeriesStore` at one world time: selectors with a
//! 5-minute lookback, counter functions, aggregations, arithmetic and comparison filters.

use std::collections::{BTreeMap, HashMap};

use super::PromqlError;
use super::parse::{AggOp, BinOp, Expr, Func, Grouping, Matching, Selector};
use crate::backends::prometheus::client::Labels;
use crate::sim::series::{Samples, SeriesKey, SeriesStore};

/// How far back an instant selector looks for a series' latest sample, as Prometheus.
pub const LOOKBACK: f64 = 300.0;

/// One series' value at the evaluation time.
#[derive(Clone, Debug, PartialEq)]
pub struct Elem {
    pub labels: Labels,
    pub value: f64,
}

/// What an expression evaluates to at one instant.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<Elem>),
    /// A range selector's samples per series (only as a function's argument).
    Matrix(Vec<(Labels, Vec<(f64, f64)>)>),
}

/// Evaluates `e` at world time `t` over `store`.
pub fn eval(store: &SeriesStore, e: &Expr, t: f64) -> Result<Value, PromqlError> {
    Ok(match e {
        Expr::Number(n) => Value::Scalar(*n),
        Expr::Selector(sel) => Value::Vector(instant(store, sel, t)),
        Expr::Range(sel, range) => Value::Matrix(
            selected(store, sel)
                .map(|(k, s)| (labels(k), window(s, t - range, t).to_vec()))
                .filter(|(_, points)| !points.is_empty())
                .collect(),
        ),
        Expr::Call(func, arg) => match eval(store, arg, t)? {
            Value::Matrix(m) => Value::Vector(call(*func, arg, m)),
            _ => return Err(PromqlError::Eval("a function needs a range vector".into())),
        },
        Expr::Aggregate { op, grouping, expr } => match eval(store, expr, t)? {
            Value::Vector(v) => Value::Vector(aggregate(*op, grouping, v)),
            _ => {
                return Err(PromqlError::Eval(
                    "an aggregation needs an instant vector".into(),
                ));
            }
        },
        Expr::Neg(e) => match eval(store, e, t)? {
            Value::Scalar(n) => Value::Scalar(-n),
            Value::Vector(v) => Value::Vector(
                v.into_iter()
                    .map(|mut el| {
                        el.labels.remove("__name__");
                        el.value = -el.value;
                        el
                    })
                    .collect(),
            ),
            Value::Matrix(_) => return Err(PromqlError::Eval("cannot negate a range".into())),
        },
        Expr::Binary {
            op,
            lhs,
            rhs,
            keep,
            matching,
        } => {
            let (l, r) = (eval(store, lhs, t)?, eval(store, rhs, t)?);
            binary(*op, *keep, matching, l, r)?
        }
    })
}

fn labels(key: &SeriesKey) -> Labels {
    let mut l: Labels = key.labels.iter().cloned().collect();
    l.insert("__name__".to_string(), key.name.clone());
    l
}

fn selected<'a>(
    store: &'a SeriesStore,
    sel: &'a Selector,
) -> Box<dyn Iterator<Item = (&'a SeriesKey, &'a Samples)> + 'a> {
    let matches = move |(k, _): &(&SeriesKey, &Samples)| {
        sel.matchers
            .iter()
            .all(|m| m.matches(k.label(&m.label).unwrap_or("")))
    };
    match &sel.name {
        Some(name) => Box::new(store.named(name).filter(matches)),
        None => Box::new(store.iter().filter(matches)),
    }
}

/// Samples in `(from, to]`.
fn window(s: &Samples, from: f64, to: f64) -> Vec<(f64, f64)> {
    let lo = s.partition_point(|(t, _)| *t <= from);
    let hi = s.partition_point(|(t, _)| *t <= to);
    s.range(lo..hi).copied().collect()
}

fn instant(store: &SeriesStore, sel: &Selector, t: f64) -> Vec<Elem> {
    selected(store, sel)
        .filter_map(|(k, s)| {
            let i = s.partition_point(|(ts, _)| *ts <= t);
            let (ts, v) = *s.get(i.checked_sub(1)?)?;
            (t - ts < LOOKBACK).then(|| Elem {
                labels: labels(k),
                value: v,
            })
        })
        .collect()
}

/// Increase over the points, a drop counted as a reset to 0 (as Prometheus does).
fn increase_of(points: &[(f64, f64)]) -> f64 {
    points
        .windows(2)
        .map(|w| {
            let (prev, cur) = (w[0].1, w[1].1);
            if cur < prev { cur } else { cur - prev }
        })
        .sum()
}

/// `rate`: the increase between the first and last samples in the range over the time
/// between them (no extrapolation to the range's ends). `increase`: that rate times the
/// range (the extrapolated figure Prometheus approximates). `irate`: the last two samples.
/// A series with fewer than two samples gives nothing.
fn call(func: Func, arg: &Expr, m: Vec<(Labels, Vec<(f64, f64)>)>) -> Vec<Elem> {
    let range = match arg {
        Expr::Range(_, r) => *r,
        _ => 0.0,
    };
    m.into_iter()
        .filter_map(|(mut labels, points)| {
            let (first, last) = (points.first()?.0, points.last()?.0);
            if points.len() < 2 || last <= first {
                return None;
            }
            let value = match func {
                Func::Rate => increase_of(&points) / (last - first),
                Func::Increase => increase_of(&points) / (last - first) * range,
                Func::Irate => {
                    let tail = &points[points.len() - 2..];
                    increase_of(tail) / (tail[1].0 - tail[0].0)
                }
            };
            labels.remove("__name__");
            Some(Elem { labels, value })
        })
        .collect()
}

fn aggregate(op: AggOp, grouping: &Grouping, v: Vec<Elem>) -> Vec<Elem> {
    let mut groups: BTreeMap<Labels, (f64, f64, usize)> = BTreeMap::new();
    for el in v {
        let key: Labels = match grouping {
            Grouping::All => Labels::new(),
            Grouping::By(names) => el
                .labels
                .iter()
                .filter(|(k, _)| names.contains(k) && k.as_str() != "__name__")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            Grouping::Without(names) => el
                .labels
                .iter()
                .filter(|(k, _)| !names.contains(k) && k.as_str() != "__name__")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let x = el.value;
        groups
            .entry(key)
            .and_modify(|(acc, sum, n)| {
                *acc = match op {
                    // NaN loses to any number, as in Prometheus.
                    AggOp::Max if acc.is_nan() || x > *acc => x,
                    AggOp::Min if acc.is_nan() || x < *acc => x,
                    _ => *acc,
                };
                *sum += x;
                *n += 1;
            })
            .or_insert((x, x, 1));
    }
    groups
        .into_iter()
        .map(|(labels, (acc, sum, n))| Elem {
            labels,
            value: match op {
                AggOp::Sum => sum,
                AggOp::Max | AggOp::Min => acc,
                AggOp::Avg => sum / n as f64,
                AggOp::Count => n as f64,
            },
        })
        .collect()
}

fn arith(op: BinOp, l: f64, r: f64) -> f64 {
    match op {
        BinOp::Add => l + r,
        BinOp::Sub => l - r,
        BinOp::Mul => l * r,
        BinOp::Div => l / r,
        BinOp::Eq => f64::from(u8::from(l == r)),
        BinOp::Ne => f64::from(u8::from(l != r)),
        BinOp::Gt => f64::from(u8::from(l > r)),
        BinOp::Lt => f64::from(u8::from(l < r)),
        BinOp::Ge => f64::from(u8::from(l >= r)),
        BinOp::Le => f64::from(u8::from(l <= r)),
    }
}

/// The element a binary operation gives for `l op r` with result labels `labels`: for an
/// arithmetic op or `bool`, the result without `__name__`; for a filter, the vector side's
/// value if the comparison holds, else nothing.
fn combine(op: BinOp, keep: bool, mut labels: Labels, l: f64, r: f64, kept: f64) -> Option<Elem> {
    let value = arith(op, l, r);
    if op.is_comparison() && !keep {
        return (value == 1.0).then_some(Elem {
            labels,
            value: kept,
        });
    }
    labels.remove("__name__");
    Some(Elem { labels, value })
}

fn binary(
    op: BinOp,
    keep: bool,
    matching: &Matching,
    l: Value,
    r: Value,
) -> Result<Value, PromqlError> {
    Ok(match (l, r) {
        (Value::Scalar(a), Value::Scalar(b)) => Value::Scalar(arith(op, a, b)),
        (Value::Vector(v), Value::Scalar(b)) => Value::Vector(
            v.into_iter()
                .filter_map(|el| combine(op, keep, el.labels, el.value, b, el.value))
                .collect(),
        ),
        (Value::Scalar(a), Value::Vector(v)) => Value::Vector(
            v.into_iter()
                .filter_map(|el| combine(op, keep, el.labels, a, el.value, el.value))
                .collect(),
        ),
        (Value::Vector(lv), Value::Vector(rv)) => {
            Value::Vector(one_to_one(op, keep, matching, lv, rv)?)
        }
        _ => {
            return Err(PromqlError::Eval(
                "a range vector cannot be an operand".into(),
            ));
        }
    })
}

/// The labels two sides are matched on.
fn signature(labels: &Labels, matching: &Matching) -> Vec<(String, String)> {
    labels
        .iter()
        .filter(|(k, _)| {
            k.as_str() != "__name__"
                && match matching {
                    Matching::Default => true,
                    Matching::On(names) => names.contains(k),
                    Matching::Ignoring(names) => !names.contains(k),
                }
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn one_to_one(
    op: BinOp,
    keep: bool,
    matching: &Matching,
    lv: Vec<Elem>,
    rv: Vec<Elem>,
) -> Result<Vec<Elem>, PromqlError> {
    let show = |sig: &[(String, String)]| {
        let parts: Vec<String> = sig.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        format!("{{{}}}", parts.join(", "))
    };
    let mut right: HashMap<Vec<(String, String)>, f64> = HashMap::with_capacity(rv.len());
    for el in &rv {
        let sig = signature(&el.labels, matching);
        if right.insert(sig.clone(), el.value).is_some() {
            return Err(PromqlError::Eval(format!(
                "found duplicate series for the match group {} on the right hand-side of the operation; many-to-many matching is not allowed",
                show(&sig)
            )));
        }
    }
    let mut seen: HashMap<Vec<(String, String)>, ()> = HashMap::with_capacity(lv.len());
    let mut out = Vec::new();
    for el in lv {
        let sig = signature(&el.labels, matching);
        let Some(&b) = right.get(&sig) else { continue };
        if seen.insert(sig.clone(), ()).is_some() {
            return Err(PromqlError::Eval(format!(
                "multiple matches for labels {}: many-to-one matching must be explicit (group_left/group_right)",
                show(&sig)
            )));
        }
        let labels = match matching {
            Matching::On(names) => el
                .labels
                .into_iter()
                .filter(|(k, _)| names.contains(k))
                .collect(),
            Matching::Ignoring(names) => el
                .labels
                .into_iter()
                .filter(|(k, _)| !names.contains(k))
                .collect(),
            Matching::Default => el.labels,
        };
        if let Some(e) = combine(op, keep, labels, el.value, b, el.value) {
            out.push(e);
        }
    }
    Ok(out)
}
