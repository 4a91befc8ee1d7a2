//! Who is at the keyboard, as the header shows it: the unix user (and SUDO_USER when
//! elevated), optionally annotated by `--operator`; the audit log records the full identity.

/// `alice`, `root (sudo alice)`, or `alice as "facilitator"` (the same form the audit
/// log's operator shows).
pub fn operator(annotation: Option<&str>) -> String {
    crate::audit::Operator::from_env(annotation).display()
}
