//! Parser tests: each construct of the subset, type errors, and every unsupported one named.

use super::*;

fn sel(name: &str) -> Expr {
    Expr::Selector(Selector {
        name: Some(name.into()),
        matchers: vec![],
    })
}

fn unsupported_what(q: &str) -> String {
    match parse(q) {
        Err(PromqlError::Unsupported(what)) => what,
        other => panic!("{q}: {other:?}"),
    }
}

fn parse_err(q: &str) -> String {
    match parse(q) {
        Err(PromqlError::Parse { msg, .. }) => msg,
        other => panic!("{q}: {other:?}"),
    }
}

#[test]
fn numbers_and_durations() {
    assert_eq!(parse("1.5").unwrap(), Expr::Number(1.5));
    assert_eq!(parse("1e3").unwrap(), Expr::Number(1000.0));
    assert_eq!(parse("0x10").unwrap(), Expr::Number(16.0));
    assert_eq!(parse("-2").unwrap(), Expr::Number(-2.0));
    assert!(matches!(parse("NaN").unwrap(), Expr::Number(n) if n.is_nan()));
    assert_eq!(parse("Inf").unwrap(), Expr::Number(f64::INFINITY));
    let Expr::Range(_, secs) = parse("up[1h30m]").unwrap() else {
        panic!()
    };
    assert_eq!(secs, 5400.0);
    let Expr::Range(_, secs) = parse("up[250ms]").unwrap() else {
        panic!()
    };
    assert_eq!(secs, 0.25);
}

#[test]
fn selectors_with_each_matcher() {
    let Expr::Selector(s) =
        parse(r#"http_requests_total{code=~"5..", job!="x", pod!~'a|b', env=`prod`,}"#).unwrap()
    else {
        panic!()
    };
    assert_eq!(s.name.as_deref(), Some("http_requests_total"));
    let ops: Vec<MatchOp> = s.matchers.iter().map(|m| m.op).collect();
    assert_eq!(ops, [MatchOp::Re, MatchOp::Ne, MatchOp::NotRe, MatchOp::Eq]);
    // Anchored: "5.." matches 500 but not 5000 nor x500.
    assert!(s.matchers[0].matches("500"));
    assert!(!s.matchers[0].matches("5000"));
    assert!(!s.matchers[0].matches("x500"));
    assert!(s.matchers[2].matches("c") && !s.matchers[2].matches("a"));
    assert_eq!(s.matchers[3].value, "prod");
    let Expr::Selector(s) = parse(r#"{__name__="up", a="x\"y"}"#).unwrap() else {
        panic!()
    };
    assert_eq!(s.name, None);
    assert_eq!(s.matchers[1].value, "x\"y");
    assert!(parse_err(r#"{a=""}"#).contains("non-empty matcher"));
    assert!(parse_err(r#"up{a=~"("}"#).contains("bad regex"));
    assert!(parse_err(r#"up{a="x""#).contains("expected"));
}

#[test]
fn functions_and_aggregations_with_grouping_before_or_after() {
    assert_eq!(
        parse("rate(x[5m])").unwrap(),
        Expr::Call(
            Func::Rate,
            Box::new(Expr::Range(
                Selector {
                    name: Some("x".into()),
                    matchers: vec![]
                },
                300.0
            ))
        )
    );
    assert!(matches!(
        parse("irate(x[1m])").unwrap(),
        Expr::Call(Func::Irate, _)
    ));
    assert!(matches!(
        parse("increase(x[1m])").unwrap(),
        Expr::Call(Func::Increase, _)
    ));
    let by_before = parse("sum by (pod, job) (x)").unwrap();
    let by_after = parse("sum(x) by (pod, job)").unwrap();
    assert_eq!(by_before, by_after);
    assert_eq!(
        by_before,
        Expr::Aggregate {
            op: AggOp::Sum,
            grouping: Grouping::By(vec!["pod".into(), "job".into()]),
            expr: Box::new(sel("x"))
        }
    );
    for (q, op) in [
        ("max(x)", AggOp::Max),
        ("min(x)", AggOp::Min),
        ("avg(x)", AggOp::Avg),
        ("count(x)", AggOp::Count),
    ] {
        assert!(
            matches!(parse(q).unwrap(), Expr::Aggregate { op: o, grouping: Grouping::All, .. } if o == op),
            "{q}"
        );
    }
    assert!(matches!(
        parse("max without (pod) (x)").unwrap(),
        Expr::Aggregate { grouping: Grouping::Without(l), .. } if l == ["pod"]
    ));
    assert!(parse_err("rate(x)").contains("expected type range vector"));
    assert!(parse_err("sum(x[5m])").contains("expected type instant vector"));
    assert!(parse_err("sum by (a) (x) by (b)").contains("once"));
}

#[test]
fn binary_operators_precedence_modifiers_and_parentheses() {
    let e = parse("a + b * c").unwrap();
    let Expr::Binary {
        op: BinOp::Add,
        rhs,
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert!(matches!(*rhs, Expr::Binary { op: BinOp::Mul, .. }));
    let e = parse("(a + b) * c").unwrap();
    assert!(matches!(e, Expr::Binary { op: BinOp::Mul, .. }));
    let e = parse("a - b - c").unwrap();
    let Expr::Binary { lhs, .. } = e else {
        panic!()
    };
    assert!(
        matches!(*lhs, Expr::Binary { op: BinOp::Sub, .. }),
        "left-associative"
    );
    let e = parse("a / b > 0.5").unwrap();
    assert!(matches!(
        e,
        Expr::Binary {
            op: BinOp::Gt,
            keep: false,
            ..
        }
    ));
    let e = parse("a > bool 1").unwrap();
    assert!(matches!(
        e,
        Expr::Binary {
            op: BinOp::Gt,
            keep: true,
            ..
        }
    ));
    let e = parse("a / on(pod) b").unwrap();
    assert!(matches!(e, Expr::Binary { matching: Matching::On(l), .. } if l == ["pod"]));
    let e = parse("a / ignoring(code) b").unwrap();
    assert!(matches!(e, Expr::Binary { matching: Matching::Ignoring(l), .. } if l == ["code"]));
    for (q, op) in [
        ("a == 1", BinOp::Eq),
        ("a != 1", BinOp::Ne),
        ("a < 1", BinOp::Lt),
        ("a <= 1", BinOp::Le),
        ("a >= 1", BinOp::Ge),
        ("a - 1", BinOp::Sub),
    ] {
        assert!(
            matches!(parse(q).unwrap(), Expr::Binary { op: o, .. } if o == op),
            "{q}"
        );
    }
    assert_eq!(parse("-(1)").unwrap(), Expr::Number(-1.0));
    assert!(matches!(parse("-a").unwrap(), Expr::Neg(_)));
    assert_eq!(parse("1 > bool 2").unwrap().ty(), Type::Scalar);
    assert!(parse_err("1 > 2").contains("BOOL"));
    assert!(parse_err("a + bool b").contains("comparison"));
    assert!(parse_err("a[5m] + 1").contains("scalar and instant vector"));
    assert!(parse_err("(a + b").contains("expected `)`"));
    assert!(parse_err("a b").contains("end of the query"));
    assert!(parse_err("").contains("expected an expression"));
}

#[test]
fn everything_outside_the_subset_is_unsupported_and_named() {
    for (q, what) in [
        (
            "histogram_quantile(0.9, x)",
            "function `histogram_quantile`",
        ),
        ("abs(x)", "function `abs`"),
        ("topk(3, x)", "`topk` aggregation"),
        ("quantile(0.5, x)", "`quantile` aggregation"),
        ("x offset 5m", "`offset`"),
        ("x @ 100", "`@`"),
        ("rate(x[5m:1m])", "subqueries"),
        ("a % b", "`%`"),
        ("a ^ 2", "`^`"),
        ("a and b", "`and`"),
        ("a or b", "`or`"),
        ("a unless b", "`unless`"),
        ("a / on(x) group_left b", "group_left"),
        ("\"text\"", "string literals"),
    ] {
        let got = unsupported_what(q);
        assert!(got.contains(what), "{q}: {got}");
    }
}
