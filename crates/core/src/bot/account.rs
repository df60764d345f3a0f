//! F3 balance: current balance, next charge with tariff and date, bonus points, how many
//! days the money lasts when the billing charges daily, the last operations, «Пополнить».
//! Its one button is the top-up's ([`super::payments::PaymentButton`]).
//!
//! ```text
//! > баланс
//! < Ваш баланс: 3 450 ₸
//!   Следующее списание: 890 ₸ (тариф «Оптимальный») 15 января.
//!   Бонусные баллы: 1200
//!   Последние операции:
//!   10 января · +3 000 ₸ · Пополнение картой **4242
//!   …                                                   [Пополнить]
//! ```

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::payments::PaymentButton;
use super::{HandlerResult, Turn};
use crate::adapters::{Account, CustomerId};
use crate::domain::datetime::format_date;
use crate::domain::money::{format_count, format_money, format_money_signed};
use crate::i18n::Arg;

/// How many operations the balance shows.
const LAST_OPERATIONS: u32 = 5;

fn customer(turn: &Turn) -> Option<CustomerId> {
    turn.binding.as_ref().map(|b| b.customer_id.clone())
}

async fn account(turn: &Turn, id: &CustomerId) -> Result<Option<Account>, crate::error::BotError> {
    let billing = turn.ctx.adapters.billing.clone();
    turn.call(billing.account(id)).await
}

pub(super) async fn balance(turn: &Turn) -> HandlerResult {
    let Some(id) = customer(turn) else { return Ok(()) };
    let billing = turn.ctx.adapters.billing.clone();
    let Some(account) = account(turn, &id).await? else {
        turn.audit("balance.none", None).await?;
        return turn.say(turn.t("balance-no-account", &[])).await.map(drop);
    };
    let operations = turn.call(billing.transactions(&id, LAST_OPERATIONS)).await?;
    turn.audit("balance.read", None).await?;

    let locale = turn.locale;
    let money = |amount: Decimal| format_money(amount, &account.currency, locale);
    let mut text = turn.t("balance-title", &[("balance", Arg::from(money(account.balance)))]);
    if let Some(next) = &account.next_charge {
        let mut args =
            vec![("amount", Arg::from(money(next.amount))), ("date", Arg::from(format_date(next.date, locale)))];
        let key = match &account.tariff {
            Some(tariff) => {
                args.push(("tariff", Arg::from(tariff.name.get(locale))));
                "balance-next-charge"
            }
            None => "balance-next-charge-no-tariff",
        };
        text.push('\n');
        text.push_str(&turn.t(key, &args));
    }
    if let Some(days) = days_left(&account) {
        text.push('\n');
        text.push_str(&turn.t("balance-days-left", &[("days", Arg::Num(days))]));
    }
    text.push('\n');
    text.push_str(&turn.t(
        "balance-bonus",
        &[
            ("points", Arg::Num(account.bonus_points)),
            ("points_text", Arg::from(format_count(account.bonus_points, locale))),
        ],
    ));
    if !operations.is_empty() {
        text.push_str("\n\n");
        text.push_str(&turn.t("balance-operations", &[]));
        for op in &operations {
            let at = turn.ctx.to_local(op.at).date();
            let args = [
                ("date", Arg::from(format_date(at, locale))),
                ("amount", Arg::from(format_money_signed(op.amount, &account.currency, locale))),
                ("title", Arg::from(op.title.get(locale))),
            ];
            text.push('\n');
            text.push_str(&turn.t("balance-operation", &args));
        }
    }
    let markup = turn.buttons().markup(vec![vec![(turn.t("balance-top-up-button", &[]), PaymentButton::TopUp)]]);
    turn.say_with(text, markup).await?;
    Ok(())
}

/// Whole days the balance covers at the daily charge, when the billing charges daily.
fn days_left(account: &Account) -> Option<i64> {
    let daily = account.daily_charge.filter(|d| *d > Decimal::ZERO)?;
    if account.balance <= Decimal::ZERO {
        return Some(0);
    }
    (account.balance / daily).floor().to_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(balance: i64, daily: Option<i64>) -> Account {
        Account {
            balance: Decimal::from(balance),
            currency: "KZT".into(),
            bonus_points: 0,
            tariff: None,
            options: vec![],
            next_charge: None,
            daily_charge: daily.map(Decimal::from),
            card_mask: None,
            paused: false,
        }
    }

    #[test]
    fn days_left_are_whole_days_of_the_daily_charge() {
        assert_eq!(days_left(&account(150, Some(75))), Some(2));
        assert_eq!(days_left(&account(149, Some(75))), Some(1));
        assert_eq!(days_left(&account(-10, Some(75))), Some(0));
    }

    #[test]
    fn no_daily_charge_means_no_estimate() {
        assert_eq!(days_left(&account(3450, None)), None);
        assert_eq!(days_left(&account(3450, Some(0))), None);
    }
}
