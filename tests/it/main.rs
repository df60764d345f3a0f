//! The integration tests, in one binary so that the crate is linked once: a module per area.
//! `cargo test --test it store::` runs one area, `cargo test --test it t60_` one transcript.

#![allow(clippy::unwrap_used)] // a test that cannot go on fails with its message

mod backends;
mod bench;
mod bitrix24;
mod bot;
mod broadcast;
mod browser;
mod cdek;
mod conformance;
mod conversations;
mod delivery;
mod demo;
mod events;
mod http_backend;
mod miniapp;
mod nlu;
mod notify;
mod ops;
mod server;
mod store;
mod support;
mod yclients;

use std::io::Write as _;

use cabinet::testenv::{self, Requirement};

/// What the tests need from this machine: each line says whether it is present and, when
/// it is not, which tests skip. The lines go to standard output past the test harness's
/// capture, so that every `cargo test` shows them. Under `CI=true` a missing one fails.
#[test]
fn environment_summary() {
    let mut report = String::new();
    let mut missing = Vec::new();
    for requirement in Requirement::ALL {
        let line = match requirement.check() {
            Ok(found) => format!("environment: {}: present, {found}\n", requirement.name()),
            Err(why) => {
                missing.push(format!("{}: {why}", requirement.name()));
                format!("environment: {}: MISSING ({why}); skipped: {}\n", requirement.name(), requirement.needed_by())
            }
        };
        report.push_str(&line);
    }
    let _ = std::io::stdout().lock().write_all(report.as_bytes());
    assert!(!testenv::on_ci() || missing.is_empty(), "CI=true and missing: {}", missing.join("; "));
}
