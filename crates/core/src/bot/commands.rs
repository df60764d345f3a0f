//! The customers' commands (`/start`, `/balance`, …), read by `teloxide::filter_command` in
//! the schema, and the menu registered with Telegram. The staff's commands are the staff
//! module's.

use teloxide::macros::BotCommands;

use super::Capability;

/// Commands a customer can type. Their descriptions in the Telegram menu come from the
/// locale files (`cmd-*` keys), registered by [`crate::bot::register_commands`].
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    Start(String),
    Help,
    Menu,
    Balance,
    Orders,
    Status,
    Language,
    Privacy,
    Forget,
    Logout,
    Notifications,
    Operator,
}

/// The commands shown in Telegram's menu, with their description keys.
pub const MENU: [(&str, &str); 10] = [
    ("start", "cmd-start"),
    ("balance", "cmd-balance"),
    ("status", "cmd-status"),
    ("orders", "cmd-orders"),
    ("help", "cmd-help"),
    ("notifications", "cmd-notifications"),
    ("language", "cmd-language"),
    ("privacy", "cmd-privacy"),
    ("logout", "cmd-logout"),
    ("forget", "cmd-forget"),
];

/// The capabilities the command `name` (without the slash) needs.
pub fn needs(name: &str) -> &'static [Capability] {
    match name {
        "balance" => &[Capability::Billing],
        "status" | "orders" => &[Capability::Logistics],
        _ => &[],
    }
}

/// The capabilities a command needs.
pub fn needs_of(command: &Command) -> &'static [Capability] {
    match command {
        Command::Balance => needs("balance"),
        Command::Status => needs("status"),
        Command::Orders => needs("orders"),
        _ => &[],
    }
}
