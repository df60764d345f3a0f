//! F9 subscription: the tariff and options, and changes to them (another tariff, pause,
//! resume, an option on or off). Every change is quoted first — the new monthly fee and the day
//! it applies from — and made only after «Подтвердить», with a one-time code before it when
//! step-up verification is configured. The confirmation's key is the change's idempotency key.
//!
//! Owns [`SubscriptionButton`] (read in [`buttons`]) and the question of the one-time code
//! (the `AwaitingCode` state: [`answers_code`], [`on_code`], and [`leave_code`] when the
//! customer moves on).
//!
//! ```text
//! > сменить тариф
//! < Выберите тариф:   [Базовый — 590 ₸/мес] [Оптимальный — 890 ₸/мес (ваш)] [Максимум — 1 490 ₸/мес]
//! [Максимум]
//! < Тариф «Максимум»: 1 490 ₸ в месяц с 15 января. Подтвердить?   [Подтвердить] [Отмена]
//! [Подтвердить]
//! < Готово: тариф «Максимум», 1 490 ₸ в месяц с 15 января.
//! ```

use rust_decimal::Decimal;
use teloxide::dispatching::UpdateHandler;

use super::keyboards::{ButtonKind, arg, id, pressed, tag_and_arg};
use super::state::{Draft, State};
use super::stepup::{self, Verdict};
use super::understanding::{classify, is_cancel, moves_on};
use super::{HandlerResult, Turn, shop};
use crate::adapters::{Account, ChangeOutcome, ChangeRefusal, SubscriptionChange, Tariff};
use crate::domain::datetime::format_date;
use crate::domain::money::format_money;
use crate::error::BotError;
use crate::i18n::Arg;
use crate::nlu::{Entities, Intent};

/// The subscription buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SubscriptionButton {
    /// A subscription screen.
    Menu(SubscriptionMenu),
    /// Move to the tariff with this code.
    Tariff(String),
    /// Add the option with this code.
    AddOption(String),
    /// Remove the option with this code.
    RemoveOption(String),
    /// Confirm the drafted subscription change with this idempotency key.
    Confirm(String),
    /// Drop the drafted subscription change (or the code step).
    Cancel,
    /// Send a new one-time code.
    ResendCode,
}

/// The screens of the subscription dialogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SubscriptionMenu {
    Tariffs,
    AddOption,
    RemoveOption,
    Pause,
    Resume,
}

impl ButtonKind for SubscriptionButton {
    fn needs(&self) -> &'static [super::Capability] {
        use super::Capability;
        &[Capability::Billing]
    }

    const TAGS: &'static [&'static str] = &["s", "st", "sa", "sr", "sc", "sx", "k"];

    fn encode(&self) -> String {
        match self {
            SubscriptionButton::Menu(menu) => format!(
                "s:{}",
                match menu {
                    SubscriptionMenu::Tariffs => "t",
                    SubscriptionMenu::AddOption => "a",
                    SubscriptionMenu::RemoveOption => "r",
                    SubscriptionMenu::Pause => "p",
                    SubscriptionMenu::Resume => "u",
                }
            ),
            SubscriptionButton::Tariff(code) => format!("st:{}", arg(code)),
            SubscriptionButton::AddOption(code) => format!("sa:{}", arg(code)),
            SubscriptionButton::RemoveOption(code) => format!("sr:{}", arg(code)),
            SubscriptionButton::Confirm(key) => format!("sc:{}", arg(key)),
            SubscriptionButton::Cancel => "sx".into(),
            SubscriptionButton::ResendCode => "k".into(),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("s", "t") => SubscriptionButton::Menu(SubscriptionMenu::Tariffs),
            ("s", "a") => SubscriptionButton::Menu(SubscriptionMenu::AddOption),
            ("s", "r") => SubscriptionButton::Menu(SubscriptionMenu::RemoveOption),
            ("s", "p") => SubscriptionButton::Menu(SubscriptionMenu::Pause),
            ("s", "u") => SubscriptionButton::Menu(SubscriptionMenu::Resume),
            ("st", code) => SubscriptionButton::Tariff(id(code)?),
            ("sa", code) => SubscriptionButton::AddOption(id(code)?),
            ("sr", code) => SubscriptionButton::RemoveOption(id(code)?),
            ("sc", key) => SubscriptionButton::Confirm(id(key)?),
            ("sx", "") => SubscriptionButton::Cancel,
            ("k", "") => SubscriptionButton::ResendCode,
            _ => return None,
        })
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<SubscriptionButton>().endpoint(|turn: Turn, button: SubscriptionButton| async move {
        let turn = &turn;
        match button {
            SubscriptionButton::Menu(screen) => menu(turn, screen).await,
            SubscriptionButton::Tariff(code) => quote(turn, SubscriptionChange::Tariff(code)).await,
            SubscriptionButton::AddOption(code) => quote(turn, SubscriptionChange::AddOption(code)).await,
            SubscriptionButton::RemoveOption(code) => quote(turn, SubscriptionChange::RemoveOption(code)).await,
            SubscriptionButton::Confirm(key) => confirm(turn, &key).await,
            SubscriptionButton::Cancel => cancel(turn).await,
            SubscriptionButton::ResendCode => resend(turn).await,
        }
    })
}

async fn account(turn: &Turn) -> Result<Option<Account>, BotError> {
    let Some(id) = turn.customer_id() else { return Ok(None) };
    let billing = turn.ctx.adapters.billing.clone();
    let account = turn.call(billing.account(&id)).await?;
    if account.is_none() {
        turn.say(turn.t("balance-no-account", &[])).await?;
    }
    Ok(account)
}

fn fee(turn: &Turn, amount: Decimal) -> String {
    format_money(amount, &turn.ctx.settings.currency, turn.locale)
}

/// The subscription intent: straight to the screen the message asked for, else the overview.
pub(super) async fn start(turn: &Turn, entities: &Entities, text: Option<&str>) -> HandlerResult {
    // «давайте Максимум», «тариф побыстрее»: a tariff named is a change to it.
    if let Some(wanted) = entities.tariff.as_deref()
        && matches!(entities.subscription_action.as_deref(), None | Some("change"))
    {
        let tariffs = turn.call(turn.ctx.adapters.billing.tariffs()).await?;
        let code = if wanted == "faster" {
            faster_than_current(turn, &tariffs).await?
        } else {
            tariffs.iter().find(|t| t.code == wanted).map(|t| t.code.clone())
        };
        return match code {
            Some(code) => quote(turn, SubscriptionChange::Tariff(code)).await,
            None => menu(turn, SubscriptionMenu::Tariffs).await,
        };
    }
    match entities.subscription_action.as_deref() {
        Some("change") => {
            let tariffs = turn.call(turn.ctx.adapters.billing.tariffs()).await?;
            match text.and_then(|t| named_tariff_in(&tariffs, t)) {
                Some(code) => quote(turn, SubscriptionChange::Tariff(code)).await,
                None => menu(turn, SubscriptionMenu::Tariffs).await,
            }
        }
        Some("pause") => menu(turn, SubscriptionMenu::Pause).await,
        Some("resume") => menu(turn, SubscriptionMenu::Resume).await,
        Some("add_option") => menu(turn, SubscriptionMenu::AddOption).await,
        Some("remove_option") => menu(turn, SubscriptionMenu::RemoveOption).await,
        _ => overview(turn).await,
    }
}

/// The next tariff up from the customer's (by its monthly fee); none when theirs is the top.
async fn faster_than_current(turn: &Turn, tariffs: &[Tariff]) -> Result<Option<String>, crate::error::BotError> {
    let Some(account) = account(turn).await? else { return Ok(None) };
    let current = account.tariff.as_ref().map_or(Decimal::ZERO, |t| t.monthly_fee);
    let mut up: Vec<&Tariff> = tariffs.iter().filter(|t| t.monthly_fee > current).collect();
    up.sort_by_key(|t| t.monthly_fee);
    Ok(up.first().map(|t| t.code.clone()))
}

/// «перейти на максимум»: a tariff named in the text, in any of its languages (the stem of
/// the name, so «на максимум», «максимальный» and «Maximum» all count).
fn named_tariff_in(tariffs: &[Tariff], text: &str) -> Option<String> {
    let text = text.to_lowercase();
    tariffs
        .iter()
        .find(|t| {
            t.name.0.values().any(|name| {
                let name = name.to_lowercase();
                let stem: String = name.chars().take(name.chars().count().saturating_sub(2).max(4)).collect();
                !stem.is_empty() && text.contains(&stem)
            })
        })
        .map(|t| t.code.clone())
}

/// The tariff, options, monthly fee and what can be changed.
pub(super) async fn overview(turn: &Turn) -> HandlerResult {
    let Some(account) = account(turn).await? else { return Ok(()) };
    turn.audit("subscription.read", None).await?;
    let Some(tariff) = &account.tariff else {
        return turn.say(turn.t("subscription-none", &[])).await.map(drop);
    };
    let locale = turn.locale;
    let options_fee: Decimal = account.options.iter().map(|o| o.monthly_fee).sum();
    let monthly = if account.paused { Decimal::ZERO } else { tariff.monthly_fee + options_fee };
    let options = if account.options.is_empty() {
        turn.t("subscription-no-options", &[])
    } else {
        account
            .options
            .iter()
            .map(|o| format!("{} ({})", o.name.get(locale), fee(turn, o.monthly_fee)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = turn.t(
        "subscription-overview",
        &[
            ("tariff", Arg::from(tariff.name.get(locale))),
            ("tariff_fee", Arg::from(fee(turn, tariff.monthly_fee))),
            ("options", Arg::from(options)),
            ("monthly", Arg::from(fee(turn, monthly))),
        ],
    );
    if account.paused {
        text.push('\n');
        text.push_str(&turn.t("subscription-paused", &[]));
    }
    let mut rows =
        vec![vec![(turn.t("subscription-change-button", &[]), SubscriptionButton::Menu(SubscriptionMenu::Tariffs))]];
    let all_options = turn.call(turn.ctx.adapters.billing.tariff_options()).await?;
    for option in &all_options {
        let present = account.options.iter().any(|o| o.code == option.code);
        let (key, callback) = if present {
            ("subscription-remove-option-button", SubscriptionButton::RemoveOption(option.code.clone()))
        } else {
            ("subscription-add-option-button", SubscriptionButton::AddOption(option.code.clone()))
        };
        let args = [("option", Arg::from(option.name.get(locale))), ("fee", Arg::from(fee(turn, option.monthly_fee)))];
        rows.push(vec![(turn.t(key, &args), callback)]);
    }
    rows.push(vec![if account.paused {
        (turn.t("subscription-resume-button", &[]), SubscriptionButton::Menu(SubscriptionMenu::Resume))
    } else {
        (turn.t("subscription-pause-button", &[]), SubscriptionButton::Menu(SubscriptionMenu::Pause))
    }]);
    turn.say_with(text, turn.buttons().markup(rows)).await?;
    Ok(())
}

/// A screen of the dialogue: the tariffs, the options to add or remove, or straight to the
/// quote of a pause or resume.
pub(super) async fn menu(turn: &Turn, menu: SubscriptionMenu) -> HandlerResult {
    match menu {
        SubscriptionMenu::Pause => return quote(turn, SubscriptionChange::Pause).await,
        SubscriptionMenu::Resume => return quote(turn, SubscriptionChange::Resume).await,
        _ => {}
    }
    let Some(account) = account(turn).await? else { return Ok(()) };
    let locale = turn.locale;
    let billing = turn.ctx.adapters.billing.clone();
    match menu {
        SubscriptionMenu::Tariffs => {
            let tariffs = turn.call(billing.tariffs()).await?;
            let current = account.tariff.as_ref().map(|t| t.code.as_str());
            let rows = tariffs
                .iter()
                .map(|t| {
                    let key = if Some(t.code.as_str()) == current {
                        "subscription-tariff-current"
                    } else {
                        "subscription-tariff"
                    };
                    let args = [("name", Arg::from(t.name.get(locale))), ("fee", Arg::from(fee(turn, t.monthly_fee)))];
                    vec![(turn.t(key, &args), SubscriptionButton::Tariff(t.code.clone()))]
                })
                .collect();
            turn.say_with(turn.t("subscription-choose-tariff", &[]), turn.buttons().markup(rows)).await?;
        }
        SubscriptionMenu::AddOption | SubscriptionMenu::RemoveOption => {
            let adding = menu == SubscriptionMenu::AddOption;
            let candidates: Vec<Tariff> = if adding {
                let all = turn.call(billing.tariff_options()).await?;
                all.into_iter().filter(|o| !account.options.iter().any(|a| a.code == o.code)).collect()
            } else {
                account.options.clone()
            };
            match candidates.as_slice() {
                [] => {
                    let key = if adding { "subscription-all-options-on" } else { "subscription-no-options-to-remove" };
                    turn.say(turn.t(key, &[])).await?;
                }
                [one] => {
                    let change = if adding {
                        SubscriptionChange::AddOption(one.code.clone())
                    } else {
                        SubscriptionChange::RemoveOption(one.code.clone())
                    };
                    return quote(turn, change).await;
                }
                several => {
                    let rows = several
                        .iter()
                        .map(|o| {
                            let args =
                                [("name", Arg::from(o.name.get(locale))), ("fee", Arg::from(fee(turn, o.monthly_fee)))];
                            let callback = if adding {
                                SubscriptionButton::AddOption(o.code.clone())
                            } else {
                                SubscriptionButton::RemoveOption(o.code.clone())
                            };
                            vec![(turn.t("subscription-tariff", &args), callback)]
                        })
                        .collect();
                    let key =
                        if adding { "subscription-choose-option-add" } else { "subscription-choose-option-remove" };
                    turn.say_with(turn.t(key, &[]), turn.buttons().markup(rows)).await?;
                }
            }
        }
        SubscriptionMenu::Pause | SubscriptionMenu::Resume => {}
    }
    Ok(())
}

/// The change's effect — new monthly fee, from when — with Confirm / Cancel, or why not.
pub(super) async fn quote(turn: &Turn, change: SubscriptionChange) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let billing = turn.ctx.adapters.billing.clone();
    let outcome = turn.call(billing.quote_change(&id, &change)).await?;
    match outcome {
        ChangeOutcome::Refused(refusal) => refused(turn, &change, refusal).await,
        ChangeOutcome::Done { monthly_fee, effective, currency } => {
            let what = describe(turn, &change).await?;
            let args = [
                ("change", Arg::from(what)),
                ("fee", Arg::from(format_money(monthly_fee, &currency, turn.locale))),
                ("date", Arg::from(format_date(effective, turn.locale))),
            ];
            let key = shop::new_key();
            turn.set_state(State::with_draft(Draft::Change { key: key.clone(), change })).await?;
            let markup = turn.buttons().markup(vec![vec![
                (turn.t("confirm-button", &[]), SubscriptionButton::Confirm(key)),
                (turn.t("cancel-button", &[]), SubscriptionButton::Cancel),
            ]]);
            turn.say_with(turn.t("subscription-quote", &args), markup).await?;
            Ok(())
        }
    }
}

/// «Тариф «Максимум»», «пауза», «опция «ТВ-пакет»: подключить».
async fn describe(turn: &Turn, change: &SubscriptionChange) -> Result<String, BotError> {
    let billing = turn.ctx.adapters.billing.clone();
    let name_of = |list: Vec<Tariff>, code: &str| {
        list.into_iter()
            .find(|t| t.code == code)
            .map_or_else(|| code.to_owned(), |t| t.name.get(turn.locale).to_owned())
    };
    Ok(match change {
        SubscriptionChange::Tariff(code) => {
            let name = name_of(turn.call(billing.tariffs()).await?, code);
            turn.t("change-tariff", &[("name", Arg::Raw(name))])
        }
        SubscriptionChange::AddOption(code) => {
            let name = name_of(turn.call(billing.tariff_options()).await?, code);
            turn.t("change-add-option", &[("name", Arg::Raw(name))])
        }
        SubscriptionChange::RemoveOption(code) => {
            let name = name_of(turn.call(billing.tariff_options()).await?, code);
            turn.t("change-remove-option", &[("name", Arg::Raw(name))])
        }
        SubscriptionChange::Pause => turn.t("change-pause", &[]),
        SubscriptionChange::Resume => turn.t("change-resume", &[]),
    })
}

async fn refused(turn: &Turn, change: &SubscriptionChange, refusal: ChangeRefusal) -> HandlerResult {
    let what = describe(turn, change).await?;
    let key = match refusal {
        ChangeRefusal::SameTariff => "change-refused-same-tariff",
        ChangeRefusal::Unknown => "change-refused-unknown",
        ChangeRefusal::OptionPresent => "change-refused-option-present",
        ChangeRefusal::OptionAbsent => "change-refused-option-absent",
        ChangeRefusal::AlreadyPaused => "change-refused-already-paused",
        ChangeRefusal::NotPaused => "change-refused-not-paused",
        ChangeRefusal::NoSubscription => "subscription-none",
    };
    turn.set_state(State::ready()).await?;
    turn.say(turn.t(key, &[("change", Arg::from(what))])).await?;
    Ok(())
}

/// «Подтвердить»: a code first when step-up is on, else the change itself.
pub(super) async fn confirm(turn: &Turn, key: &str) -> HandlerResult {
    let state = turn.state().await?;
    let change = match state.draft() {
        Some(Draft::Change { key: draft_key, change }) if draft_key == key => change.clone(),
        _ => {
            // Already made (a double tap), or another dialogue replaced it.
            return turn.say(turn.t("draft-stale", &[])).await.map(drop);
        }
    };
    if stepup::required(turn) {
        if stepup::send_code(turn, "subscription").await? {
            turn.set_state(State::AwaitingCode { key: key.to_owned(), change }).await?;
        }
        return Ok(());
    }
    apply(turn, &change, key).await
}

/// Makes the change and says what it did.
async fn apply(turn: &Turn, change: &SubscriptionChange, key: &str) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let billing = turn.ctx.adapters.billing.clone();
    let outcome = turn.call(billing.apply_change(&id, change, key)).await?;
    match outcome {
        ChangeOutcome::Refused(refusal) => refused(turn, change, refusal).await,
        ChangeOutcome::Done { monthly_fee, effective, currency } => {
            turn.set_state(State::ready()).await?;
            let subject = serde_json::to_string(change).unwrap_or_default();
            turn.audit("subscription.change", Some(&subject)).await?;
            let what = describe(turn, change).await?;
            let args = [
                ("change", Arg::from(what)),
                ("fee", Arg::from(format_money(monthly_fee, &currency, turn.locale))),
                ("date", Arg::from(format_date(effective, turn.locale))),
            ];
            turn.say(turn.t("subscription-done", &args)).await?;
            Ok(())
        }
    }
}

/// «Отмена» of a drafted change or of the code step.
pub(super) async fn cancel(turn: &Turn) -> HandlerResult {
    let state = turn.state().await?;
    if matches!(state, State::AwaitingCode { .. }) || matches!(state.draft(), Some(Draft::Change { .. })) {
        turn.set_state(State::ready()).await?;
        if matches!(state, State::AwaitingCode { .. }) {
            stepup::discard(turn).await?;
        }
    }
    turn.say(turn.t("subscription-cancelled", &[])).await?;
    Ok(())
}

/// «Отправить код ещё раз».
pub(super) async fn resend(turn: &Turn) -> HandlerResult {
    match turn.state().await? {
        State::AwaitingCode { .. } => {
            stepup::send_code(turn, "subscription").await?;
        }
        _ => {
            turn.say(turn.t("draft-stale", &[])).await?;
        }
    }
    Ok(())
}

/// Whether a message answers the one-time code's question: «отмена», something that looks
/// like a code, or anything that does not clearly ask for something else (which leaves it).
pub(super) fn answers_code(turn: Turn, text: String) -> bool {
    is_cancel(&text) || stepup::looks_like_code(&text) || !moves_on(&classify(&turn, &text), Intent::Subscription)
}

/// The answer to the one-time code's question (`key` and `change` are the change's).
pub(super) async fn on_code(turn: Turn, text: String, (key, change): (String, SubscriptionChange)) -> HandlerResult {
    let (turn, text) = (&turn, text.as_str());
    if is_cancel(text) {
        return cancel(turn).await;
    }
    if on_code_text(turn, text, &key, &change).await? {
        return Ok(());
    }
    turn.say(turn.t("otp-remind", &[])).await.map(drop)
}

/// The customer moved on while a code was awaited: the code is no longer wanted.
pub(super) async fn leave_code(turn: Turn) -> HandlerResult {
    stepup::discard(&turn).await
}

/// A message while the code is awaited. Returns `false` when the text is not a code (the
/// caller reminds or moves on).
async fn on_code_text(turn: &Turn, text: &str, key: &str, change: &SubscriptionChange) -> Result<bool, BotError> {
    if !stepup::looks_like_code(text) {
        return Ok(false);
    }
    match stepup::verify(turn, text).await? {
        Verdict::Valid => apply(turn, change, key).await?,
        Verdict::Wrong { left } => {
            turn.say(turn.t("otp-wrong", &[("left", Arg::Num(i64::from(left)))])).await?;
        }
        Verdict::LockedNow => {
            turn.set_state(State::ready()).await?;
            let minutes = turn.ctx.settings.step_up.as_ref().map_or(15, |s| s.lock.num_minutes());
            turn.say(turn.t("otp-locked-now", &[("minutes", Arg::Num(minutes))])).await?;
        }
        Verdict::Locked { until } => {
            turn.set_state(State::ready()).await?;
            stepup::say_locked(turn, until).await?;
        }
        Verdict::Expired => {
            let markup = turn.buttons().markup(vec![vec![
                (turn.t("otp-resend-button", &[]), SubscriptionButton::ResendCode),
                (turn.t("cancel-button", &[]), SubscriptionButton::Cancel),
            ]]);
            turn.say_with(turn.t("otp-expired", &[]), markup).await?;
        }
        Verdict::NoCode => {
            turn.set_state(State::ready()).await?;
            turn.say(turn.t("draft-stale", &[])).await?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::LocalizedText;

    fn tariff(code: &str, ru: &str, en: &str) -> Tariff {
        let name =
            LocalizedText([("ru".to_owned(), ru.to_owned()), ("en".to_owned(), en.to_owned())].into_iter().collect());
        Tariff { code: code.into(), name, monthly_fee: Decimal::ZERO }
    }

    #[test]
    fn a_tariff_named_in_any_word_form_is_found() {
        let tariffs = [
            tariff("basic", "Базовый", "Basic"),
            tariff("optimal", "Оптимальный", "Optimal"),
            tariff("max", "Максимум", "Maximum"),
        ];
        assert_eq!(named_tariff_in(&tariffs, "перейти на максимум").as_deref(), Some("max"));
        assert_eq!(named_tariff_in(&tariffs, "хочу базовый тариф").as_deref(), Some("basic"));
        assert_eq!(named_tariff_in(&tariffs, "switch me to the Optimal plan").as_deref(), Some("optimal"));
        assert_eq!(named_tariff_in(&tariffs, "сменить тариф"), None);
    }
}
