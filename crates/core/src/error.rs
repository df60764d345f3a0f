//! Error enums per boundary. Internals are logged; customers get a polite message.

use crate::adapters::AdapterError;
use crate::bot::state::StateError;
use crate::store::StoreError;

/// What can go wrong while handling an update.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("Telegram request failed: {0}")]
    Telegram(#[from] teloxide::RequestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(StateError),
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    /// A fault of cabinet itself (a document that would not render, …).
    #[error("{0}")]
    Internal(String),
}
