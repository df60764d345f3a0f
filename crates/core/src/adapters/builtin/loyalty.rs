//! Personal offers from the purchase history, referral codes and referral bonuses.

use std::collections::BTreeMap;

use rand::Rng;

use super::*;
use crate::store::time_to_db;

/// Referral code letters: upper-case letters and digits without 0/O and 1/I.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 8;
/// How many random codes are tried before giving up (a clash is already unlikely).
const CODE_ATTEMPTS: usize = 16;

fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..CODE_LEN).map(|_| char::from(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())])).collect()
}

/// "больше месяца" / "over a month": how long ago something happened, rounded down.
fn ago(days: i64) -> (&'static str, &'static str) {
    match days {
        365.. => ("больше года", "over a year"),
        30.. => ("больше месяца", "over a month"),
        21.. => ("больше трёх недель", "over three weeks"),
        14.. => ("больше двух недель", "over two weeks"),
        7.. => ("больше недели", "over a week"),
        _ => ("несколько дней", "a few days"),
    }
}

/// The offer's text: the product bought, how long ago, the product offered.
fn offer_text(bought: &LocalizedText, offered: &LocalizedText, days: i64) -> LocalizedText {
    let (ru_ago, en_ago) = ago(days);
    LocalizedText(BTreeMap::from([
        (
            "ru".to_owned(),
            format!(
                "С покупки «{}» прошло {ru_ago} — возможно, пора пополнить запас: {}.",
                bought.get(Locale::Ru),
                offered.get(Locale::Ru)
            ),
        ),
        (
            "en".to_owned(),
            format!(
                "You bought the {} {en_ago} ago — time to restock: {}.",
                bought.get(Locale::En),
                offered.get(Locale::En)
            ),
        ),
    ]))
}

/// How far up a chain of referrals the loop check looks.
const MAX_CHAIN: usize = 100;

/// Whether `referred` is among those who referred `referrer`, directly or through others:
/// crediting `referrer` for `referred` would close a loop (A refers B, B refers A).
async fn referred_up_the_chain(
    conn: &mut AnyConnection,
    referrer: &CustomerId,
    referred: &CustomerId,
) -> AdapterResult<bool> {
    let mut current = referrer.clone();
    for _ in 0..MAX_CHAIN {
        let row = sqlx::query("SELECT referrer_customer_id FROM referrals WHERE referred_customer_id = $1")
            .bind(current.as_str().to_owned())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(false) };
        let up = CustomerId(Cols::new(&row, "referrals").text("referrer_customer_id")?);
        if up == *referred {
            return Ok(true);
        }
        current = up;
    }
    Ok(false)
}

impl Builtin {
    /// The customer's latest purchase of `sku` (in an order not cancelled) made at or before
    /// `before`.
    async fn last_purchase(
        &self,
        id: &CustomerId,
        sku: &str,
        before: chrono::DateTime<chrono::Utc>,
    ) -> AdapterResult<Option<chrono::DateTime<chrono::Utc>>> {
        let row = sqlx::query(
            "SELECT MAX(o.created_at) AS at FROM orders o JOIN order_items i ON i.order_number = o.number \
             WHERE o.customer_id = $1 AND i.sku = $2 AND o.status NOT IN ('cancelled', 'canceled') \
             AND o.created_at <= $3",
        )
        .bind(id.as_str().to_owned())
        .bind(sku.to_owned())
        .bind(time_to_db(before))
        .fetch_one(self.pool())
        .await
        .map_err(db)?;
        Ok(Cols::new(&row, "orders").opt_time("at")?)
    }

    async fn code_of(&self, id: &CustomerId) -> AdapterResult<Option<String>> {
        let row = sqlx::query("SELECT code FROM referral_codes WHERE customer_id = $1")
            .bind(id.as_str().to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        Ok(match row {
            Some(row) => Some(Cols::new(&row, "referral_codes").text("code")?),
            None => None,
        })
    }
}

#[async_trait]
impl Loyalty for Builtin {
    async fn offer(&self, id: &CustomerId) -> AdapterResult<Option<Offer>> {
        let now = self.clock.now();
        for rule in &self.settings.offers {
            let Some(cutoff) = now.checked_sub_signed(chrono::Duration::days(rule.after_days)) else {
                continue;
            };
            let Some(bought_at) = self.last_purchase(id, &rule.bought, cutoff).await? else {
                continue;
            };
            let Some(offered) = self.product(&rule.offer).await?.filter(|p| p.in_stock > 0) else {
                continue;
            };
            let bought_name = match self.product(&rule.bought).await? {
                Some(p) => p.name,
                None => LocalizedText(BTreeMap::from([("ru".to_owned(), rule.bought.clone())])),
            };
            return Ok(Some(Offer {
                id: format!("{}->{}", rule.bought, rule.offer),
                text: offer_text(&bought_name, &offered.name, (now - bought_at).num_days()),
                sku: Some(offered.sku),
            }));
        }
        Ok(None)
    }

    async fn referral_code(&self, id: &CustomerId) -> AdapterResult<String> {
        if let Some(code) = self.code_of(id).await? {
            return Ok(code);
        }
        let known = sqlx::query("SELECT id FROM customers WHERE id = $1")
            .bind(id.as_str().to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        if known.is_none() {
            return Err(AdapterError::Invalid(format!("no customer {id}")));
        }
        for _ in 0..CODE_ATTEMPTS {
            // A clash with another customer's code, or a code a concurrent call just gave this
            // customer, inserts nothing: the code read back decides.
            sqlx::query("INSERT INTO referral_codes (customer_id, code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id.as_str().to_owned())
                .bind(new_code())
                .execute(self.pool())
                .await
                .map_err(db)?;
            if let Some(code) = self.code_of(id).await? {
                return Ok(code);
            }
        }
        Err(AdapterError::Unavailable("no free referral code".to_owned()))
    }

    async fn credit_referral(&self, code: &str, referred: &CustomerId) -> AdapterResult<ReferralOutcome> {
        let code = code.trim().to_ascii_uppercase();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(ReferralOutcome::UnknownCode);
        }
        let row = sqlx::query("SELECT customer_id FROM referral_codes WHERE code = $1")
            .bind(code)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        let Some(row) = row else {
            return Ok(ReferralOutcome::UnknownCode);
        };
        let referrer = CustomerId(Cols::new(&row, "referral_codes").text("customer_id")?);
        if referrer == *referred {
            return Ok(ReferralOutcome::SelfReferral);
        }
        let points = self.settings.referral_points;

        let mut tx = self.pool().begin().await.map_err(db)?;
        // Writing first, both accounts in one order: PostgreSQL locks the rows, SQLite takes
        // its write lock, so A referring B and B referring A at once are judged one after the
        // other and the second sees the loop.
        let mut pair = [referrer.as_str(), referred.as_str()];
        pair.sort_unstable();
        for id in pair {
            sqlx::query("UPDATE accounts SET bonus_points = bonus_points WHERE customer_id = $1")
                .bind(id.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        // The primary key credits a referred customer once, concurrent calls included.
        let claimed = sqlx::query(
            "INSERT INTO referrals (referred_customer_id, referrer_customer_id, points, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (referred_customer_id) DO NOTHING",
        )
        .bind(referred.as_str().to_owned())
        .bind(referrer.as_str().to_owned())
        .bind(points)
        .bind(time_to_db(self.clock.now()))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if claimed == 0 {
            tx.rollback().await.map_err(db)?;
            return Ok(ReferralOutcome::AlreadyReferred);
        }
        if referred_up_the_chain(&mut tx, &referrer, referred).await? {
            tx.rollback().await.map_err(db)?;
            return Ok(ReferralOutcome::Loop { referrer });
        }
        let credited = sqlx::query("UPDATE accounts SET bonus_points = bonus_points + $2 WHERE customer_id = $1")
            .bind(referrer.as_str().to_owned())
            .bind(points)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        if credited == 0 {
            tx.rollback().await.map_err(db)?;
            return Err(AdapterError::Invalid(format!("no account for customer {referrer}")));
        }
        tx.commit().await.map_err(db)?;
        Ok(ReferralOutcome::Credited { referrer, points })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_unambiguous_letters_and_digits() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), CODE_LEN);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
        }
    }

    #[test]
    fn the_offer_names_both_products_and_how_long_ago() {
        let name = |ru: &str, en: &str| {
            LocalizedText(BTreeMap::from([("ru".to_owned(), ru.to_owned()), ("en".to_owned(), en.to_owned())]))
        };
        let text = offer_text(
            &name("Кофемашина DeLonghi", "DeLonghi coffee machine"),
            &name("Кофе Lavazza 1 кг", "Lavazza coffee 1 kg"),
            32,
        );
        assert_eq!(
            text.get(Locale::Ru),
            "С покупки «Кофемашина DeLonghi» прошло больше месяца — возможно, пора пополнить запас: Кофе Lavazza 1 кг."
        );
        assert_eq!(
            text.get(Locale::En),
            "You bought the DeLonghi coffee machine over a month ago — time to restock: Lavazza coffee 1 kg."
        );
        assert_eq!(ago(21).1, "over three weeks");
        assert_eq!(ago(3).0, "несколько дней");
    }
}
