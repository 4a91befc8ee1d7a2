//! Who is at the keyboard: the unix user (and SUDO_USER when elevated), optionally
//! annotated by `--operator` for drills on a shared terminal. Never replaces the unix name.

use std::ffi::CStr;

/// The login name of the real user, from the password database, else `$USER`.
pub fn unix_user() -> String {
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy the name out
    // immediately and do not keep the pointer. Single-threaded at the point of call (startup).
    let from_passwd = unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            None
        } else {
            Some(CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned())
        }
    };
    from_passwd
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The name shown in the header and recorded with actions: `alice`, `root (sudo alice)`,
/// or `alice as "facilitator"`.
pub fn operator(annotation: Option<&str>) -> String {
    let mut who = unix_user();
    if let Ok(sudo) = std::env::var("SUDO_USER")
        && !sudo.is_empty()
        && sudo != who
    {
        who = format!("{who} (sudo {sudo})");
    }
    match annotation {
        Some(a) if !a.trim().is_empty() => format!("{who} as \"{}\"", a.trim()),
        _ => who,
    }
}
