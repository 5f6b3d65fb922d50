//! Fault injection for the tests: in debug builds, `LIGHTNING_FAULT=NAME` makes the
//! point called NAME panic, so a test can prove that a panic anywhere ends the
//! process promptly. Release builds compile the points to nothing.

/// Panic here when `LIGHTNING_FAULT` names this point (debug builds only).
#[inline]
pub fn point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("LIGHTNING_FAULT").is_ok_and(|v| v == name) {
        panic!("fault injected at `{name}`");
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
