//! Subscription changes, payment links and credited payments.
//!
//! The monthly fee is the tariff's fee plus the options' fees, zero while paused. A tariff
//! change and a removed option apply from the next charge date; an added option and a resume
//! apply today; a pause applies tomorrow.
//!
//! What the bot writes here is marked as the bot's, so that `cabinet import` keeps it: a
//! credited top-up's transaction carries its payment id, and an applied change stamps
//! `accounts.changed_by_bot_at` (see `builtin::import`).

use chrono::{Datelike, Days};

use super::*;
use crate::domain::money::{from_minor, to_minor};
use crate::store::time_to_db;

/// A customer's subscription as the accounts table keeps it.
#[derive(Debug, Clone)]
struct Subscription {
    tariff: Option<String>,
    options: Vec<String>,
    paused: bool,
    next_charge_date: Option<NaiveDate>,
}

/// A change outcome as `subscription_changes.outcome` keeps it (money in minor units).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredOutcome {
    Done { monthly_fee: i64, effective: NaiveDate, currency: String },
    Refused(String),
}

impl StoredOutcome {
    fn of(outcome: &ChangeOutcome) -> StoredOutcome {
        match outcome {
            ChangeOutcome::Done { monthly_fee, effective, currency } => StoredOutcome::Done {
                monthly_fee: to_minor(*monthly_fee),
                effective: *effective,
                currency: currency.clone(),
            },
            ChangeOutcome::Refused(why) => StoredOutcome::Refused(refusal_name(*why).to_owned()),
        }
    }

    fn outcome(self) -> Option<ChangeOutcome> {
        Some(match self {
            StoredOutcome::Done { monthly_fee, effective, currency } => {
                ChangeOutcome::Done { monthly_fee: from_minor(monthly_fee), effective, currency }
            }
            StoredOutcome::Refused(name) => ChangeOutcome::Refused(refusal_by_name(&name)?),
        })
    }
}

const REFUSALS: [(ChangeRefusal, &str); 7] = [
    (ChangeRefusal::SameTariff, "same_tariff"),
    (ChangeRefusal::Unknown, "unknown"),
    (ChangeRefusal::OptionPresent, "option_present"),
    (ChangeRefusal::OptionAbsent, "option_absent"),
    (ChangeRefusal::AlreadyPaused, "already_paused"),
    (ChangeRefusal::NotPaused, "not_paused"),
    (ChangeRefusal::NoSubscription, "no_subscription"),
];

fn refusal_name(why: ChangeRefusal) -> &'static str {
    REFUSALS.iter().find(|(r, _)| *r == why).map_or("unknown", |(_, name)| name)
}

fn refusal_by_name(name: &str) -> Option<ChangeRefusal> {
    REFUSALS.iter().find(|(_, n)| *n == name).map(|(r, _)| *r)
}

async fn subscription(conn: &mut AnyConnection, id: &CustomerId) -> AdapterResult<Option<Subscription>> {
    let row = sqlx::query("SELECT tariff, options, paused, next_charge_date FROM accounts WHERE customer_id = $1")
        .bind(id.as_str().to_owned())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let c = Cols::new(&row, "accounts");
    Ok(Some(Subscription {
        tariff: c.opt_text("tariff")?,
        options: c.json("options")?,
        paused: c.i64("paused")? != 0,
        next_charge_date: c.opt_date("next_charge_date")?,
    }))
}

/// The monthly fee (minor units) of a tariff or option; `None` for an unknown code.
async fn fee_of(conn: &mut AnyConnection, table: &'static str, code: &str) -> AdapterResult<Option<i64>> {
    let sql = format!("SELECT monthly_fee FROM {table} WHERE code = $1");
    let row = sqlx::query(&sql).bind(code.to_owned()).fetch_optional(&mut *conn).await.map_err(db)?;
    Ok(match row {
        Some(row) => Some(Cols::new(&row, table).i64("monthly_fee")?),
        None => None,
    })
}

/// What the subscription costs a month, in minor units: zero while paused.
async fn monthly_fee(conn: &mut AnyConnection, sub: &Subscription) -> AdapterResult<i64> {
    if sub.paused {
        return Ok(0);
    }
    let mut fee = 0i64;
    if let Some(code) = &sub.tariff {
        fee = fee.saturating_add(fee_of(conn, "tariffs", code).await?.unwrap_or(0));
    }
    for code in &sub.options {
        fee = fee.saturating_add(fee_of(conn, "tariff_options", code).await?.unwrap_or(0));
    }
    Ok(fee)
}

/// The next charge date when it is still ahead, else the first day of next month.
fn next_charge_day(sub: &Subscription, today: NaiveDate) -> NaiveDate {
    match sub.next_charge_date {
        Some(date) if date > today => date,
        _ => {
            let (year, month) =
                if today.month() == 12 { (today.year() + 1, 1) } else { (today.year(), today.month() + 1) };
            NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(today)
        }
    }
}

/// What `change` does to the subscription as it is on `conn` now: the outcome and, when it is
/// done, the subscription after it.
async fn plan_change(
    conn: &mut AnyConnection,
    id: &CustomerId,
    change: &SubscriptionChange,
    today: NaiveDate,
    currency: &str,
) -> AdapterResult<(ChangeOutcome, Option<Subscription>)> {
    let refused = |why| Ok((ChangeOutcome::Refused(why), None));
    let Some(sub) = subscription(conn, id).await? else {
        return refused(ChangeRefusal::NoSubscription);
    };
    let Some(current) = sub.tariff.clone() else {
        return refused(ChangeRefusal::NoSubscription);
    };
    let mut next = sub.clone();
    let effective = match change {
        SubscriptionChange::Tariff(code) => {
            if *code == current {
                return refused(ChangeRefusal::SameTariff);
            }
            if fee_of(conn, "tariffs", code).await?.is_none() {
                return refused(ChangeRefusal::Unknown);
            }
            next.tariff = Some(code.clone());
            next_charge_day(&sub, today)
        }
        SubscriptionChange::AddOption(code) => {
            if fee_of(conn, "tariff_options", code).await?.is_none() {
                return refused(ChangeRefusal::Unknown);
            }
            if sub.options.contains(code) {
                return refused(ChangeRefusal::OptionPresent);
            }
            next.options.push(code.clone());
            today
        }
        SubscriptionChange::RemoveOption(code) => {
            let on = sub.options.contains(code);
            if !on && fee_of(conn, "tariff_options", code).await?.is_none() {
                return refused(ChangeRefusal::Unknown);
            }
            if !on {
                return refused(ChangeRefusal::OptionAbsent);
            }
            next.options.retain(|o| o != code);
            next_charge_day(&sub, today)
        }
        SubscriptionChange::Pause => {
            if sub.paused {
                return refused(ChangeRefusal::AlreadyPaused);
            }
            next.paused = true;
            today.checked_add_days(Days::new(1)).unwrap_or(today)
        }
        SubscriptionChange::Resume => {
            if !sub.paused {
                return refused(ChangeRefusal::NotPaused);
            }
            next.paused = false;
            today
        }
    };
    let fee = monthly_fee(conn, &next).await?;
    Ok((ChangeOutcome::Done { monthly_fee: from_minor(fee), effective, currency: currency.to_owned() }, Some(next)))
}

/// The payment page's amount: "2000", "1500.50".
fn plain_amount(amount: Decimal) -> String {
    let rounded = amount.round_dp(2);
    if rounded.fract().is_zero() { rounded.trunc().normalize().to_string() } else { format!("{rounded:.2}") }
}

fn url_encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `template` with `{customer}`, `{amount}`, `{reference}` and `{currency}` replaced by their
/// URL-encoded values (which have no braces, so nothing is replaced twice).
fn payment_url(template: &str, customer: &CustomerId, amount: Decimal, reference: &str, currency: &str) -> String {
    template
        .replace("{customer}", &url_encoded(customer.as_str()))
        .replace("{amount}", &url_encoded(&plain_amount(amount)))
        .replace("{reference}", &url_encoded(reference))
        .replace("{currency}", &url_encoded(currency))
}

impl Builtin {
    pub(super) async fn all_tariffs(&self, table: &'static str) -> AdapterResult<Vec<Tariff>> {
        let sql = format!("SELECT code, name, monthly_fee FROM {table} ORDER BY monthly_fee, code");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await.map_err(db)?;
        rows.iter()
            .map(|row| {
                let c = Cols::new(row, table);
                Ok(Tariff { code: c.text("code")?, name: c.json("name")?, monthly_fee: c.money("monthly_fee")? })
            })
            .collect()
    }

    pub(super) async fn quote_subscription_change(
        &self,
        id: &CustomerId,
        change: &SubscriptionChange,
    ) -> AdapterResult<ChangeOutcome> {
        let mut conn = self.pool().acquire().await.map_err(db)?;
        let business = business_on(&mut conn).await?;
        let today = self.today(business.tz);
        let (outcome, _) = plan_change(&mut conn, id, change, today, &business.currency).await?;
        Ok(outcome)
    }

    /// Applies the change in one transaction that starts by claiming the idempotency key: a
    /// concurrent call with the same key waits for it (PostgreSQL: the primary key; SQLite:
    /// the write lock) and then answers with the stored outcome.
    pub(super) async fn apply_subscription_change(
        &self,
        id: &CustomerId,
        change: &SubscriptionChange,
        key: &str,
    ) -> AdapterResult<ChangeOutcome> {
        let business = self.business().await?;
        let now = self.clock.now();
        let today = now.with_timezone(&business.tz).date_naive();
        let change_json = serde_json::to_string(change).map_err(|e| AdapterError::Invalid(e.to_string()))?;

        let mut tx = self.pool().begin().await.map_err(db)?;
        // Writing first: a SQLite transaction that starts with a read cannot wait for a
        // concurrent writer.
        let claimed = sqlx::query(
            "INSERT INTO subscription_changes (customer_id, idempotency_key, change, outcome, created_at) \
             VALUES ($1, $2, $3, '', $4) ON CONFLICT (customer_id, idempotency_key) DO NOTHING",
        )
        .bind(id.as_str().to_owned())
        .bind(key.to_owned())
        .bind(change_json)
        .bind(time_to_db(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if claimed == 0 {
            tx.rollback().await.map_err(db)?;
            return self.stored_outcome(id, key).await;
        }
        // Locks the account row (PostgreSQL) so that two different changes do not both read
        // the state before the other.
        sqlx::query("UPDATE accounts SET paused = paused WHERE customer_id = $1")
            .bind(id.as_str().to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let (outcome, next) = plan_change(&mut tx, id, change, today, &business.currency).await?;
        if let Some(next) = next {
            let fee = monthly_fee(&mut tx, &next).await?;
            let options = serde_json::to_string(&next.options).map_err(|e| AdapterError::Invalid(e.to_string()))?;
            sqlx::query(
                "UPDATE accounts SET tariff = $2, options = $3, paused = $4, next_charge_amount = $5, \
                 changed_by_bot_at = $6 WHERE customer_id = $1",
            )
            .bind(id.as_str().to_owned())
            .bind(next.tariff.clone())
            .bind(options)
            .bind(i64::from(next.paused))
            .bind(fee)
            .bind(time_to_db(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        let stored =
            serde_json::to_string(&StoredOutcome::of(&outcome)).map_err(|e| AdapterError::Invalid(e.to_string()))?;
        sqlx::query("UPDATE subscription_changes SET outcome = $3 WHERE customer_id = $1 AND idempotency_key = $2")
            .bind(id.as_str().to_owned())
            .bind(key.to_owned())
            .bind(stored)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(outcome)
    }

    /// The outcome recorded for this key.
    async fn stored_outcome(&self, id: &CustomerId, key: &str) -> AdapterResult<ChangeOutcome> {
        let row =
            sqlx::query("SELECT outcome FROM subscription_changes WHERE customer_id = $1 AND idempotency_key = $2")
                .bind(id.as_str().to_owned())
                .bind(key.to_owned())
                .fetch_optional(self.pool())
                .await
                .map_err(db)?
                .ok_or_else(|| AdapterError::Unavailable("the change was not recorded".to_owned()))?;
        let stored: StoredOutcome = Cols::new(&row, "subscription_changes").json("outcome")?;
        stored
            .outcome()
            .ok_or_else(|| AdapterError::Invalid("subscription_changes.outcome: unknown refusal".to_owned()))
    }

    pub(super) async fn payment_link_for(
        &self,
        id: &CustomerId,
        amount: Decimal,
        reference: &str,
    ) -> AdapterResult<String> {
        if amount <= Decimal::ZERO {
            return Err(AdapterError::Invalid(format!("a payment of {amount}")));
        }
        let currency = self.currency().await?;
        Ok(payment_url(&self.settings.payment_url, id, amount, reference, &currency))
    }

    /// Credits the payment once per `payment_id`: the payment row, the balance and the
    /// "top_up" transaction are written in one transaction that starts by claiming the id.
    pub(super) async fn credit(
        &self,
        id: &CustomerId,
        amount: Decimal,
        payment_id: &str,
        title: &LocalizedText,
    ) -> AdapterResult<Option<Decimal>> {
        if amount <= Decimal::ZERO {
            return Err(AdapterError::Invalid(format!("a payment of {amount}")));
        }
        let minor = to_minor(amount);
        let at = time_to_db(self.clock.now());
        let title = serde_json::to_string(title).map_err(|e| AdapterError::Invalid(e.to_string()))?;

        let mut tx = self.pool().begin().await.map_err(db)?;
        let claimed = sqlx::query(
            "INSERT INTO payments_credited (payment_id, customer_id, amount, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (payment_id) DO NOTHING",
        )
        .bind(payment_id.to_owned())
        .bind(id.as_str().to_owned())
        .bind(minor)
        .bind(at.clone())
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if claimed == 0 {
            tx.rollback().await.map_err(db)?;
            return Ok(None);
        }
        // The update locks the account row: concurrent credits number their transactions
        // one after the other.
        let row = sqlx::query("UPDATE accounts SET balance = balance + $2 WHERE customer_id = $1 RETURNING balance")
            .bind(id.as_str().to_owned())
            .bind(minor)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(db)?;
            return Err(AdapterError::Invalid(format!("no account for customer {id}")));
        };
        let balance = Cols::new(&row, "accounts").money("balance")?;
        sqlx::query(
            "INSERT INTO transactions (customer_id, seq, at, amount, kind, title, payment_id) \
             SELECT $1, COALESCE(MAX(seq), -1) + 1, $2, $3, 'top_up', $4, $5 FROM transactions WHERE customer_id = $1",
        )
        .bind(id.as_str().to_owned())
        .bind(at)
        .bind(minor)
        .bind(title)
        .bind(payment_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(balance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_are_plain_decimals() {
        assert_eq!(plain_amount(dec("2000")), "2000");
        assert_eq!(plain_amount(dec("2000.00")), "2000");
        assert_eq!(plain_amount(dec("1500.5")), "1500.50");
        assert_eq!(plain_amount(dec("0.07")), "0.07");
    }

    #[test]
    fn payment_urls_encode_every_value() {
        let url = payment_url(
            "https://pay/x?a={customer}&s={amount}&r={reference}&c={currency}",
            &CustomerId("C 1&x={amount}".to_owned()),
            dec("10.5"),
            "r/1",
            "KZT",
        );
        assert_eq!(url, "https://pay/x?a=C+1%26x%3D%7Bamount%7D&s=10.50&r=r%2F1&c=KZT");
    }

    #[test]
    fn the_next_charge_day_is_ahead_or_the_first_of_next_month() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let sub = |next: Option<&str>| Subscription {
            tariff: None,
            options: vec![],
            paused: false,
            next_charge_date: next.map(d),
        };
        let today = d("2025-01-11");
        assert_eq!(next_charge_day(&sub(Some("2025-01-15")), today), d("2025-01-15"));
        assert_eq!(next_charge_day(&sub(Some("2025-01-11")), today), d("2025-02-01"));
        assert_eq!(next_charge_day(&sub(None), d("2024-12-31")), d("2025-01-01"));
    }

    #[test]
    fn stored_outcomes_round_trip() {
        for why in REFUSALS.map(|(r, _)| r) {
            let stored = serde_json::to_string(&StoredOutcome::of(&ChangeOutcome::Refused(why))).unwrap();
            let back: StoredOutcome = serde_json::from_str(&stored).unwrap();
            assert_eq!(back.outcome(), Some(ChangeOutcome::Refused(why)));
        }
    }
}
