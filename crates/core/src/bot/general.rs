//! The small talk and the menu: greeting, help, the main menu, the language switch, privacy,
//! what the business lacks, and content it does not read. Its buttons: the main menu, the
//! language, «Принимаю» and the answers to "did you mean…?".
//!
//! ```text
//! > привет
//! < Здравствуйте, Ерлан! Чем помочь?      [Баланс] [Где мой заказ] [Мои заказы] [Помощь]
//! > /language
//! < Выберите язык                          [Русский] [English]
//! ```

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::Requester;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo};

use super::keyboards::{ButtonKind, pressed, tag_and_arg};
use super::{HandlerResult, Turn, account, documents, onboarding, orders, subscription, understanding};
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::Arg;
use crate::nlu::{Entities, Intent};

/// The incoming text, kept in the chat history once the terms are accepted.
pub(super) async fn log_incoming(turn: Turn, text: String) -> HandlerResult {
    turn.log_incoming(&text);
    Ok(())
}

/// The buttons of the menu and the small talk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GeneralButton {
    /// «Принимаю»: the data-processing terms are accepted.
    Consent,
    /// A main-menu entry.
    Menu(MenuItem),
    /// Switch the language.
    Language(Locale),
    /// "Did you mean…?": the customer picked this intent.
    Intent(Intent),
}

/// The entries of the main menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MenuItem {
    Balance,
    OrderStatus,
    OrderHistory,
    Help,
    Documents,
    Subscription,
}

impl ButtonKind for GeneralButton {
    fn needs(&self) -> &'static [super::Capability] {
        use super::Capability;
        match self {
            GeneralButton::Menu(MenuItem::Balance | MenuItem::Subscription) => &[Capability::Billing],
            GeneralButton::Menu(MenuItem::OrderStatus | MenuItem::OrderHistory) => &[Capability::Logistics],
            GeneralButton::Menu(MenuItem::Documents) => &[Capability::Documents],
            // A chosen intent is checked where intents are acted on.
            _ => &[],
        }
    }

    const TAGS: &'static [&'static str] = &["c", "m", "l", "i"];

    fn encode(&self) -> String {
        match self {
            GeneralButton::Consent => "c".into(),
            GeneralButton::Menu(item) => format!(
                "m:{}",
                match item {
                    MenuItem::Balance => "b",
                    MenuItem::OrderStatus => "s",
                    MenuItem::OrderHistory => "h",
                    MenuItem::Help => "q",
                    MenuItem::Documents => "d",
                    MenuItem::Subscription => "t",
                }
            ),
            GeneralButton::Language(locale) => format!("l:{}", locale.as_str()),
            GeneralButton::Intent(intent) => format!("i:{}", intent.as_str()),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("c", "") => GeneralButton::Consent,
            ("m", "b") => GeneralButton::Menu(MenuItem::Balance),
            ("m", "s") => GeneralButton::Menu(MenuItem::OrderStatus),
            ("m", "h") => GeneralButton::Menu(MenuItem::OrderHistory),
            ("m", "q") => GeneralButton::Menu(MenuItem::Help),
            ("m", "d") => GeneralButton::Menu(MenuItem::Documents),
            ("m", "t") => GeneralButton::Menu(MenuItem::Subscription),
            ("l", locale) => GeneralButton::Language(Locale::parse(locale)?),
            ("i", intent) => GeneralButton::Intent(Intent::parse(intent).filter(|i| *i != Intent::Unknown)?),
            _ => return None,
        })
    }

    /// «Принимаю» and the language work before identification.
    fn needs_binding(&self) -> bool {
        !matches!(self, GeneralButton::Consent | GeneralButton::Language(_))
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<GeneralButton>().endpoint(on_button)
}

async fn on_button(turn: Turn, button: GeneralButton) -> HandlerResult {
    let turn = &turn;
    match button {
        GeneralButton::Consent => onboarding::on_consent(turn).await,
        GeneralButton::Language(locale) => switch_language(turn, locale).await,
        GeneralButton::Menu(MenuItem::Balance) => account::balance(turn).await,
        GeneralButton::Menu(MenuItem::OrderStatus) => orders::active(turn).await,
        GeneralButton::Menu(MenuItem::OrderHistory) => orders::history(turn, 0, None).await,
        GeneralButton::Menu(MenuItem::Help) => help(turn).await,
        GeneralButton::Menu(MenuItem::Documents) => documents::find(turn, &Entities::default()).await,
        GeneralButton::Menu(MenuItem::Subscription) => subscription::overview(turn).await,
        GeneralButton::Intent(intent) => understanding::chosen(turn, intent).await,
    }
}

/// The main menu as an inline keyboard.
/// The buttons of absent capabilities are left out, two a row; an identified customer's
/// menu ends with the Mini App's button when it is set up (`[miniapp] url`).
pub(super) fn main_menu(turn: &Turn) -> InlineKeyboardMarkup {
    let capabilities = turn.ctx.settings.capabilities;
    let items = [
        ("menu-balance", MenuItem::Balance),
        ("menu-order-status", MenuItem::OrderStatus),
        ("menu-order-history", MenuItem::OrderHistory),
        ("menu-documents", MenuItem::Documents),
        ("menu-subscription", MenuItem::Subscription),
        ("menu-help", MenuItem::Help),
    ];
    let buttons: Vec<_> = items
        .into_iter()
        .map(|(key, item)| (turn.t(key, &[]), GeneralButton::Menu(item)))
        .filter(|(_, button)| capabilities.has_all(button.needs()))
        .collect();
    let markup = turn.buttons().markup(buttons.chunks(2).map(<[_]>::to_vec).collect());
    match &turn.ctx.settings.miniapp_url {
        Some(url) if turn.binding.is_some() => {
            let info = WebAppInfo { url: url.clone() };
            markup.append_row([InlineKeyboardButton::web_app(turn.t("miniapp-open-button", &[]), info)])
        }
        _ => markup,
    }
}

/// «Здравствуйте, Ерлан!» with the main menu.
pub(super) async fn greeting(turn: &Turn) -> HandlerResult {
    let name = turn.binding.as_ref().map_or(turn.first_name.as_str(), |b| b.first_name.as_str());
    turn.say_with(turn.t("greeting", &[("name", Arg::from(name))]), main_menu(turn)).await?;
    Ok(())
}

/// «Я умею: …», a line per capability the business has, and the commands it serves.
pub(super) async fn help(turn: &Turn) -> HandlerResult {
    let text = help_text(turn);
    if turn.binding.is_some() {
        turn.say_with(text, main_menu(turn)).await?;
    } else {
        turn.say(text).await?;
    }
    Ok(())
}

fn help_text(turn: &Turn) -> String {
    use super::Capability::{Billing, Booking, Documents, Logistics, Loyalty};
    let capabilities = turn.ctx.settings.capabilities;
    let orders_key = if capabilities.shop { "help-orders" } else { "help-orders-no-repeat" };
    let lines: Vec<String> = [
        ("help-balance", &[Billing][..]),
        ("help-order", &[Logistics]),
        (orders_key, &[Logistics]),
        ("help-documents", &[Documents]),
        ("help-top-up", &[Billing]),
        ("help-plan", &[Billing]),
        ("help-loyalty", &[Loyalty]),
        ("help-booking", &[Booking]),
    ]
    .into_iter()
    .filter(|(_, needs)| capabilities.has_all(needs))
    .map(|(key, _)| turn.t(key, &[]))
    .collect();
    let commands = ["balance", "status", "orders", "notifications", "language", "privacy", "logout", "forget"]
        .into_iter()
        .filter(|name| capabilities.serves_command(name))
        .map(|name| format!("/{name}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = turn.t("help-intro", &[]);
    if !lines.is_empty() {
        text.push('\n');
        text.push_str(&lines.join(";\n"));
        text.push('.');
    }
    text.push('\n');
    text.push_str(&turn.t("help-commands", &[("commands", Arg::from(commands))]));
    text
}

/// What a capability the business lacks was asked for: «Этого в чате нет — …» with the menu.
pub(super) async fn absent(turn: &Turn) -> HandlerResult {
    turn.say_with(turn.t("capability-absent", &[]), main_menu(turn)).await?;
    Ok(())
}

pub(super) async fn privacy(turn: &Turn) -> HandlerResult {
    let args = [
        ("url", Arg::from(turn.ctx.settings.privacy_url.as_str())),
        ("version", Arg::from(turn.ctx.settings.terms_version.as_str())),
    ];
    turn.say(turn.t("privacy", &args)).await?;
    Ok(())
}

pub(super) async fn language_menu(turn: &Turn) -> HandlerResult {
    let markup = turn.buttons().markup(vec![vec![
        (turn.t("language-ru", &[]), GeneralButton::Language(Locale::Ru)),
        (turn.t("language-en", &[]), GeneralButton::Language(Locale::En)),
    ]]);
    turn.say_with(turn.t("language-choose", &[]), markup).await?;
    Ok(())
}

async fn switch_language(turn: &Turn, locale: Locale) -> HandlerResult {
    turn.ctx.store.set_user_locale(turn.user_id, Some(locale)).await?;
    let text = turn.ctx.i18n.t(locale, "language-switched", &[]);
    turn.say(text).await?;
    if turn.binding.is_some() {
        super::miniapp_menu_for_chat(turn, locale);
    }
    Ok(())
}

/// Stickers, photos, voice and the like.
pub(super) async fn unsupported_content(turn: &Turn) -> HandlerResult {
    turn.say(turn.t("unsupported-content", &[])).await?;
    if !turn.has_consent {
        return onboarding::ask_consent(turn).await;
    }
    Ok(())
}

/// A question about the business («до скольки вы работаете»): the business's own answer, as
/// it wrote it, with its link as a button and its place on the map.
pub(super) async fn faq(turn: &Turn, answer: &crate::nlu::FaqAnswer) -> HandlerResult {
    let text = crate::i18n::escape_html(&answer.text);
    match &answer.link {
        Some(link) => match url::Url::parse(&link.url) {
            Ok(url) => {
                let markup = InlineKeyboardMarkup::new([[InlineKeyboardButton::url(link.text.clone(), url)]]);
                turn.say_with(text, markup).await?;
            }
            Err(_) => {
                turn.say(text).await?;
            }
        },
        None => {
            turn.say(text).await?;
        }
    }
    if let Some(place) = &answer.location {
        turn.bot.send_location(turn.chat, place.latitude, place.longitude).await?;
    }
    Ok(())
}
