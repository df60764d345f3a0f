//! The bot: the dptree schema, dialogue state, keyboards and the dialogue handlers.

/// Told when the bot has finished handling an update (the sandbox uses it to know when a
/// step of a transcript is done).
pub trait UpdateObserver: Send + Sync {
    fn handled(&self, update_id: i32);
}
