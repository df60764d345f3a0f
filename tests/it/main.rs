//! The integration tests, in one binary so that the crate is linked once: a module per area.
//! `cargo test --test it store::` runs one area.

mod bot;
mod conversations;
mod demo;
mod nlu;
mod ops;
mod store;
mod support;
