//! What the tests need from the machine they run on, checked in one place: a PostgreSQL
//! server (`TEST_DATABASE_URL`) for the store tests on that engine, poppler's
//! `pdftotext` and `pdfinfo` for reading rendered PDFs back, and Chromium with its
//! WebDriver (`chromedriver`) for the Mini App's browser test.
//!
//! A test that needs something missing calls [`require`], which, locally, prints
//! `SKIPPED (why): test` on standard output (shown with `cargo test -- --nocapture`) and
//! lets the test return early; under `CI=true` it fails the test instead. The integration
//! tests' `environment_summary` prints what is present and what is skipped on every run.

use std::net::{TcpStream, ToSocketAddrs};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Something the tests need from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A PostgreSQL server at `TEST_DATABASE_URL` that accepts connections.
    Postgres,
    /// `pdftotext` and `pdfinfo` (poppler-utils).
    Poppler,
    /// `chromium` and `chromedriver` (Debian's chromium and chromium-driver).
    Chromium,
}

/// How long the check of `TEST_DATABASE_URL` waits for the server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

impl Requirement {
    pub const ALL: [Requirement; 3] = [Requirement::Postgres, Requirement::Poppler, Requirement::Chromium];

    /// What it is, in words.
    pub fn name(self) -> &'static str {
        match self {
            Requirement::Postgres => "PostgreSQL (TEST_DATABASE_URL)",
            Requirement::Poppler => "pdftotext and pdfinfo (poppler-utils)",
            Requirement::Chromium => "chromium and chromedriver (chromium, chromium-driver)",
        }
    }

    /// The tests that need it, in words.
    pub fn needed_by(self) -> &'static str {
        match self {
            Requirement::Postgres => "the store tests on PostgreSQL (store::*::on_postgres)",
            Requirement::Poppler => "the checks of the PDFs' text (pdf::tests in the unit tests, demo::* here)",
            Requirement::Chromium => "the Mini App in a headless browser (browser::*)",
        }
    }

    /// Whether it is there: what was found, or why not. Checked once per process.
    pub fn check(self) -> Result<&'static str, &'static str> {
        static CHECKED: [OnceLock<Result<String, String>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let (slot, check): (_, fn() -> Result<String, String>) = match self {
            Requirement::Postgres => (&CHECKED[0], check_postgres),
            Requirement::Poppler => (&CHECKED[1], check_poppler),
            Requirement::Chromium => (&CHECKED[2], check_chromium),
        };
        match slot.get_or_init(check) {
            Ok(found) => Ok(found),
            Err(why) => Err(why),
        }
    }
}

/// Whether this is a CI run (`CI=true`), where nothing the tests need may be missing.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// For a test that needs `requirement`: true when it is there. When it is not, a failure
/// under `CI=true`; otherwise the test is named on standard output as skipped, and the
/// caller returns early.
pub fn require(requirement: Requirement) -> bool {
    let Err(why) = requirement.check() else { return true };
    if on_ci() {
        panic!("{} is needed and missing: {why} (CI=true: install it, as .ci/run does)", requirement.name());
    }
    let thread = std::thread::current();
    println!("SKIPPED ({why}): {}", thread.name().unwrap_or("a test"));
    false
}

/// The URL of the PostgreSQL server for tests, when [`require`] allows the test to run.
pub fn postgres_url() -> Option<String> {
    if !require(Requirement::Postgres) {
        return None;
    }
    std::env::var("TEST_DATABASE_URL").ok()
}

fn check_postgres() -> Result<String, String> {
    let Ok(raw) = std::env::var("TEST_DATABASE_URL") else {
        return Err("no TEST_DATABASE_URL".to_owned());
    };
    let mut url = url::Url::parse(&raw).map_err(|e| format!("TEST_DATABASE_URL is not a URL: {e}"))?;
    // Never print a password.
    let _ = url.set_password(None);
    let host = url.host_str().unwrap_or("localhost").to_owned();
    let port = url.port().unwrap_or(5432);
    let addrs = (host.as_str(), port).to_socket_addrs().map_err(|e| format!("{url}: {e}"))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(format!("at {url}")),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => format!("nothing answers at {url}: {e}"),
        None => format!("{url}: the host has no address"),
    })
}

fn check_poppler() -> Result<String, String> {
    let mut versions = Vec::new();
    for tool in ["pdftotext", "pdfinfo"] {
        // `-v` prints the version (on standard error) and exits; its status varies.
        let output = Command::new(tool).arg("-v").output().map_err(|e| format!("{tool} cannot be run: {e}"))?;
        let text = String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout);
        versions.push(text.lines().next().unwrap_or(tool).trim().to_owned());
    }
    Ok(versions.join(", "))
}

fn check_chromium() -> Result<String, String> {
    let mut versions = Vec::new();
    for tool in ["chromium", "chromedriver"] {
        let output = Command::new(tool).arg("--version").output().map_err(|e| format!("{tool} cannot be run: {e}"))?;
        if !output.status.success() {
            return Err(format!("{tool} --version failed"));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        versions.push(text.lines().next().unwrap_or(tool).trim().to_owned());
    }
    Ok(versions.join(", "))
}
