//! What the test areas share: the demo bot driven as its users drive it, through
//! [`cabinet::replay::drive`] as the transcripts are (each helper fails the test when the bot
//! does not handle the update in time), the demo's users, and readers of what the bot sent.

use std::time::Duration;

use cabinet::replay::drive::{Driver, Replies, Sent};
use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
use cabinet::sandbox::SandboxUser;

/// How long a test waits for something the bot does at once.
pub const WAIT: Duration = cabinet::replay::HANDLE_TIMEOUT;

/// Drives `bot`'s users (replies in their private chats only).
pub fn driver(bot: &SandboxedBot) -> Driver<'_> {
    Driver::new(&bot.sandbox)
}

/// The replies in `user`'s chat to update `update_id`, sent straight through the sandbox,
/// among the events from `seq` on.
pub async fn collect(bot: &SandboxedBot, user: &SandboxUser, seq: usize, update_id: i32) -> Replies {
    driver(bot).collect(&Sent::update(seq, update_id, user.id)).await.unwrap_or_else(|e| panic!("{e}"))
}

/// `user` writes `text` to the bot.
pub async fn say(bot: &SandboxedBot, user: &SandboxUser, text: &str) -> Replies {
    driver(bot).say(user, text).await.unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// `user` presses the newest button whose label contains `label`.
pub async fn press(bot: &SandboxedBot, user: &SandboxUser, label: &str) -> Replies {
    driver(bot).press(user, label).await.unwrap_or_else(|e| panic!("[{label}]: {e}"))
}

/// `user` shares their own contact.
pub async fn share_own_contact(bot: &SandboxedBot, user: &SandboxUser, phone: &str) -> Replies {
    driver(bot).share_contact(user, phone).await.unwrap_or_else(|e| panic!("contact {phone}: {e}"))
}

/// Consent and identification as the demo customer with this phone.
pub async fn identify(bot: &SandboxedBot, user: &SandboxUser, phone: &str) {
    identify_as(bot, user, phone, "Принимаю", "Здравствуйте").await;
}

/// [`identify`] in another language: `agree` is the consent button, `greeting` part of the
/// answer to the contact.
pub async fn identify_as(bot: &SandboxedBot, user: &SandboxUser, phone: &str, agree: &str, greeting: &str) {
    say(bot, user, "/start").await;
    press(bot, user, agree).await;
    let replies = share_own_contact(bot, user, phone).await;
    assert!(replies.contains(greeting), "{}", replies.dump());
}

/// Ерлан, the demo's customer C1 (+77011234567), in Russian.
pub fn erlan() -> SandboxUser {
    SandboxUser::new(5001, "Ерлан", Some("ru"))
}

/// John, the demo's English-speaking customer (+447700900123).
pub fn john() -> SandboxUser {
    SandboxUser::new(7001, "John", Some("en"))
}

/// The demo bot on its fixed clock.
pub fn fixed() -> SandboxOptions {
    SandboxOptions { fixed_clock: true, ..Default::default() }
}

pub fn at(rfc3339: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

/// The reminders the bot sent to this chat.
pub fn reminders_in(bot: &SandboxedBot, chat: i64) -> Vec<String> {
    bot.sandbox.messages(chat).into_iter().map(|m| m.text).filter(|t| t.starts_with('⏰')).collect()
}

/// A fresh PostgreSQL database of its own for one test: the admin connection, its name and
/// its URL (`None`, said so, without a server; a failure under `CI=true`). Drop it with
/// [`drop_database`].
pub async fn postgres_database() -> Option<(cabinet::store::Store, String, String)> {
    let admin_url = cabinet::testenv::postgres_url()?;
    let admin = cabinet::store::Store::connect(&admin_url).await.unwrap();
    let name = format!("cabinet_test_{:016x}", rand::random::<u64>());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    Some((admin, name, url.to_string()))
}

/// Drops a database [`postgres_database`] made (best effort: one left behind breaks nothing).
pub async fn drop_database(admin: cabinet::store::Store, name: &str) {
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
    admin.close().await;
}
