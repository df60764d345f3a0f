//! The store, the import of business data sets and the built-in adapter, each check run
//! against SQLite (a temporary file and in memory) and PostgreSQL (a fresh database per test,
//! from `TEST_DATABASE_URL`).

use std::future::Future;
use std::str::FromStr;

use cabinet::adapters::builtin::Builtin;
use cabinet::adapters::{Billing, Crm, CustomerId, Logistics, OrderStatus};
use cabinet::domain::{Locale, Phone};
use cabinet::store::import::{self, BusinessData, DEMO_JSON};
use cabinet::store::{AuditEntry, Binding, Engine, Lead, Store, StoreError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::Row;

// --- harness -------------------------------------------------------------------------------

/// Runs `check` on a fresh, migrated store of each kind.
macro_rules! on_every_engine {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn on_sqlite_file() {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("cabinet.db").display());
                super::run(&url, super::$check).await;
            }

            #[tokio::test]
            async fn on_sqlite_in_memory() {
                super::run("sqlite::memory:", super::$check).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                super::run_on_postgres(super::$check).await;
            }
        }
    )*};
}

async fn run<F, Fut>(url: &str, check: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(check(store.clone())).await;
    store.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn run_on_postgres<F, Fut>(check: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "TEST_DATABASE_URL is not set: on CI the PostgreSQL tests must run (postgres://user@host:port/db)"
            );
        }
        eprintln!("skipped: set TEST_DATABASE_URL=postgres://… to run this test on PostgreSQL");
        return;
    };
    let admin = Store::connect(&admin_url).await.unwrap();
    let name = format!("cabinet_test_{:016x}", rand::random::<u64>());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin.pool())
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));

    let store = Store::connect(url.as_str()).await.unwrap();
    assert_eq!(store.engine(), Engine::Postgres);
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(check(store.clone())).await;
    store.close().await;
    // Best effort: a database left behind does not break the next run.
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(admin.pool())
        .await;
    admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn id(s: &str) -> CustomerId {
    CustomerId(s.to_owned())
}

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap()
}

async fn text(store: &Store, sql: &str) -> String {
    sqlx::query(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<String, _>(0)
        .unwrap()
}

/// A store with the demo data set imported on the demo clock.
async fn with_demo(store: &Store) -> Builtin {
    import::import(store, &BusinessData::demo(), Duration::zero())
        .await
        .unwrap();
    Builtin::new(store.clone())
}

/// The demo data set with one value replaced (a JSON pointer).
fn demo_with(pointer: &str, value: serde_json::Value) -> String {
    let mut json: serde_json::Value = serde_json::from_str(DEMO_JSON).unwrap();
    *json.pointer_mut(pointer).unwrap() = value;
    json.to_string()
}

// --- checks run on every engine ----------------------------------------------------------

on_every_engine!(
    migrations_apply_twice_harmlessly,
    the_demo_imports_with_the_right_counts_and_a_reimport_changes_nothing,
    a_changed_value_is_the_only_change_a_reimport_makes,
    a_shifted_import_moves_every_date,
    an_invalid_data_set_is_refused_and_nothing_is_written,
    customers_are_found_by_phone_and_an_unknown_phone_finds_nobody,
    accounts_carry_balance_tariff_next_charge_and_currency,
    transactions_come_newest_first_up_to_the_limit,
    orders_are_paged_newest_first_with_the_total,
    active_orders_carry_items_and_delivery,
    an_order_is_found_only_among_the_customers_own,
    a_corrupt_row_is_an_error_not_a_panic,
    business_info_and_catalog_names_come_from_the_import,
    users_consent_bindings_and_epochs_are_kept,
    forget_removes_the_users_data_and_keeps_an_audit_entry,
    dialogue_state_is_set_replaced_and_removed,
    chat_history_keeps_the_latest_messages_in_order_and_purges_old_ones,
    audit_entries_are_kept_per_user_oldest_first,
    a_lead_is_recorded_once_per_user_and_phone,
    an_in_memory_store_serves_concurrent_callers,
);

async fn migrations_apply_twice_harmlessly(store: Store) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(count(&store, "customers").await, 0);
    assert_eq!(count(&store, "_sqlx_migrations").await, 1);
}

async fn the_demo_imports_with_the_right_counts_and_a_reimport_changes_nothing(store: Store) {
    let data = BusinessData::demo();
    let first = import::import(&store, &data, Duration::zero())
        .await
        .unwrap();
    assert_eq!(
        (
            first.customers,
            first.orders,
            first.documents,
            first.bookings
        ),
        (3, 4, 6, 2)
    );
    assert!(first.changed > 0);

    for (table, n) in [
        ("business", 1),
        ("tariffs", 3),
        ("tariff_options", 1),
        ("catalog", 5),
        ("services", 3),
        ("staff", 3),
        ("staff_services", 4),
        ("slots", 10),
        ("customers", 3),
        ("accounts", 3),
        ("transactions", 5),
        ("orders", 4),
        ("order_items", 5),
        ("deliveries", 4),
        ("documents", 6),
        ("bookings", 2),
    ] {
        assert_eq!(count(&store, table).await, n, "{table}");
    }
    // Every row of the data set is one insert.
    assert_eq!(
        first.changed,
        1 + 3 + 1 + 5 + 3 + 3 + 4 + 10 + 3 + 3 + 5 + 4 + 5 + 4 + 6 + 2
    );

    let second = import::import(&store, &data, Duration::zero())
        .await
        .unwrap();
    assert_eq!(second.changed, 0);
    assert_eq!(second.customers, 3);
    assert_eq!(count(&store, "transactions").await, 5);
    assert_eq!(count(&store, "slots").await, 10);
}

async fn a_changed_value_is_the_only_change_a_reimport_makes(store: Store) {
    let builtin = with_demo(&store).await;
    let changed =
        BusinessData::parse(&demo_with("/customers/0/account/balance", "3500".into())).unwrap();
    let report = import::import(&store, &changed, Duration::zero())
        .await
        .unwrap();
    assert_eq!(report.changed, 1);
    let account = builtin.account(&id("C1")).await.unwrap().unwrap();
    assert_eq!(account.balance, dec("3500"));

    // An item dropped from an order and a delivery dropped: both go.
    let mut json: serde_json::Value = serde_json::from_str(DEMO_JSON).unwrap();
    json["customers"][0]["orders"][1]["items"]
        .as_array_mut()
        .unwrap()
        .pop();
    json["customers"][0]["orders"][2]
        .as_object_mut()
        .unwrap()
        .remove("delivery");
    let report = import::import(
        &store,
        &BusinessData::parse(&json.to_string()).unwrap(),
        Duration::zero(),
    )
    .await
    .unwrap();
    assert_eq!(
        report.changed,
        1 + 1 + 1,
        "the balance back, one item and one delivery deleted"
    );
    let order = builtin.order(&id("C1"), "78110").await.unwrap().unwrap();
    assert_eq!(order.items.len(), 1);
    assert!(
        builtin
            .order(&id("C1"), "77501")
            .await
            .unwrap()
            .unwrap()
            .delivery
            .is_none()
    );
}

async fn a_shifted_import_moves_every_date(store: Store) {
    let data = BusinessData::demo();
    import::import(&store, &data, Duration::days(30))
        .await
        .unwrap();
    let builtin = Builtin::new(store.clone());

    let order = builtin.order(&id("C1"), "78234").await.unwrap().unwrap();
    assert_eq!(
        order.created,
        utc("2025-02-09T04:50:00Z"),
        "2025-01-10T09:50 Almaty + 30 days"
    );
    let delivery = order.delivery.unwrap();
    assert_eq!(delivery.eta_from, Some(utc("2025-02-11T05:00:00Z")));
    let account = builtin.account(&id("C1")).await.unwrap().unwrap();
    assert_eq!(account.next_charge.unwrap().date, date("2025-02-14"));
    let latest = builtin.transactions(&id("C1"), 1).await.unwrap();
    assert_eq!(latest[0].at, utc("2025-02-09T04:45:00Z"));

    let business = import::business_info(&store).await.unwrap().unwrap();
    assert_eq!(business.demo_day, Some(date("2025-02-10")));
    assert_eq!(business.demo_now, Some(utc("2025-02-10T05:00:00Z")));
    assert_eq!(
        text(&store, "SELECT period FROM documents WHERE id = 'D-1001'").await,
        "2025-01"
    );
    assert_eq!(
        text(&store, "SELECT birthday FROM customers WHERE id = 'C1'").await,
        "1990-02-11"
    );
    assert_eq!(
        text(&store, "SELECT start_at FROM bookings WHERE id = 'B-2001'").await,
        "2025-02-13T07:00:00.000000000Z"
    );
    assert_eq!(
        text(
            &store,
            "SELECT MIN(start_at) FROM slots WHERE staff_id = 'oleg'"
        )
        .await,
        "2025-02-11T05:00:00.000000000Z"
    );

    // Another day, another shift: the records move, nothing is duplicated.
    let report = import::import(&store, &data, Duration::days(31))
        .await
        .unwrap();
    assert!(report.changed > 0);
    assert_eq!(count(&store, "slots").await, 10);
    assert_eq!(count(&store, "transactions").await, 5);
    assert_eq!(count(&store, "orders").await, 4);
    let order = builtin.order(&id("C1"), "78234").await.unwrap().unwrap();
    assert_eq!(order.created, utc("2025-02-10T04:50:00Z"));
}

async fn an_invalid_data_set_is_refused_and_nothing_is_written(store: Store) {
    let mut data = BusinessData::demo();
    data.customers[2].phone = "not a phone".to_owned();
    let err = import::import(&store, &data, Duration::zero())
        .await
        .unwrap_err();
    match err {
        StoreError::InvalidData(message) => {
            assert_eq!(message, "customers[2].phone: not a phone number")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(count(&store, "business").await, 0);
    assert_eq!(count(&store, "customers").await, 0);
}

async fn customers_are_found_by_phone_and_an_unknown_phone_finds_nobody(store: Store) {
    let builtin = with_demo(&store).await;
    let c1 = builtin
        .find_by_phone(&Phone::parse("+77011234567").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c1.id, id("C1"));
    assert_eq!(c1.first_name, "Ерлан");
    assert_eq!(c1.name, "Ерлан Ахметов");
    assert_eq!(c1.email.as_deref(), Some("erlan@example.kz"));
    assert_eq!(c1.locale, Some(Locale::Ru));
    assert_eq!(c1.tags, vec!["vip".to_owned()]);

    let as_typed = builtin
        .find_by_phone(&Phone::parse("8 701 123 45 67").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(as_typed.id, id("C1"));
    let c2 = builtin
        .find_by_phone(&Phone::parse("+77025556677").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c2.id.as_str(), c2.first_name.as_str(), c2.email),
        ("C2", "Ольга", None)
    );
    let c3 = builtin
        .find_by_phone(&Phone::parse("+447700900123").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c3.id.as_str(), c3.first_name.as_str(), c3.locale),
        ("C3", "John", Some(Locale::En))
    );

    assert_eq!(
        builtin
            .find_by_phone(&Phone::parse("+77779998877").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(builtin.profile(&id("C3")).await.unwrap(), Some(c3));
    assert_eq!(builtin.profile(&id("C9")).await.unwrap(), None);
}

async fn accounts_carry_balance_tariff_next_charge_and_currency(store: Store) {
    let builtin = with_demo(&store).await;
    let c1 = builtin.account(&id("C1")).await.unwrap().unwrap();
    assert_eq!(c1.balance, dec("3450"));
    assert_eq!(c1.bonus_points, 1200);
    assert_eq!(c1.currency, "KZT");
    let tariff = c1.tariff.unwrap();
    assert_eq!(tariff.code, "optimal");
    assert_eq!(tariff.name.get(Locale::Ru), "Оптимальный");
    assert_eq!(tariff.name.get(Locale::En), "Optimal");
    assert_eq!(tariff.monthly_fee, dec("890"));
    let next = c1.next_charge.unwrap();
    assert_eq!((next.date, next.amount), (date("2025-01-15"), dec("890")));
    assert!(c1.options.is_empty());
    assert_eq!(c1.daily_charge, None);
    assert_eq!(c1.card_mask.as_deref(), Some("**** **** **** 4242"));

    let c2 = builtin.account(&id("C2")).await.unwrap().unwrap();
    assert_eq!(c2.balance, dec("150"));
    assert_eq!(c2.daily_charge, Some(dec("75")));
    assert_eq!(c2.tariff.unwrap().code, "basic");
    assert_eq!(c2.options.len(), 1);
    assert_eq!(c2.options[0].code, "tv");
    assert_eq!(c2.options[0].name.get(Locale::Ru), "ТВ-пакет");
    assert_eq!(c2.options[0].monthly_fee, dec("300"));
    assert_eq!(c2.card_mask, None);

    assert_eq!(builtin.account(&id("C9")).await.unwrap(), None);
}

async fn transactions_come_newest_first_up_to_the_limit(store: Store) {
    let builtin = with_demo(&store).await;
    let all = builtin.transactions(&id("C1"), 10).await.unwrap();
    let amounts: Vec<Decimal> = all.iter().map(|t| t.amount).collect();
    assert_eq!(
        amounts,
        vec![dec("3000"), dec("-1379"), dec("2000"), dec("-890")]
    );
    assert!(all.windows(2).all(|w| w[0].at > w[1].at));
    assert_eq!(all[0].at, utc("2025-01-10T04:45:00Z"));
    assert_eq!(all[0].kind, "top_up");
    assert_eq!(all[1].title.get(Locale::En), "Order #78110");

    let two = builtin.transactions(&id("C1"), 2).await.unwrap();
    assert_eq!(two, all[..2].to_vec());
    assert!(builtin.transactions(&id("C3"), 5).await.unwrap().is_empty());
    assert_eq!(builtin.transactions(&id("C2"), 5).await.unwrap().len(), 1);
}

async fn orders_are_paged_newest_first_with_the_total(store: Store) {
    let builtin = with_demo(&store).await;
    let first = builtin.orders(&id("C1"), 0, 2).await.unwrap();
    assert_eq!(first.total, 3);
    assert_eq!(first.currency, "KZT");
    let numbers: Vec<&str> = first.orders.iter().map(|o| o.number.as_str()).collect();
    assert_eq!(numbers, ["78234", "78110"]);
    assert_eq!(first.orders[0].status, OrderStatus::InTransit);
    assert_eq!(first.orders[1].total, dec("1379"));

    let second = builtin.orders(&id("C1"), 2, 2).await.unwrap();
    assert_eq!(second.total, 3);
    assert_eq!(second.orders.len(), 1);
    assert_eq!(second.orders[0].number, "77501");
    assert_eq!(second.orders[0].created, utc("2024-12-10T06:00:00Z"));
    assert!(
        builtin
            .orders(&id("C1"), 3, 2)
            .await
            .unwrap()
            .orders
            .is_empty()
    );

    let none = builtin.orders(&id("C3"), 0, 5).await.unwrap();
    assert_eq!((none.total, none.orders.len()), (0, 0));
}

async fn active_orders_carry_items_and_delivery(store: Store) {
    let builtin = with_demo(&store).await;
    let active = builtin.active_orders(&id("C1")).await.unwrap();
    assert_eq!(active.len(), 1);
    let order = &active[0];
    assert_eq!(order.number, "78234");
    assert_eq!(order.status, OrderStatus::InTransit);
    assert_eq!(order.currency, "KZT");
    assert_eq!(order.total, dec("2500"));
    assert_eq!(order.items.len(), 1);
    assert_eq!(order.items[0].sku, "CAT-FOOD-2KG");
    assert_eq!(order.items[0].name.get(Locale::Ru), "Корм для кошек 2 кг");
    assert_eq!((order.items[0].qty, order.items[0].price), (1, dec("2500")));
    let delivery = order.delivery.clone().unwrap();
    assert_eq!(delivery.tracking.as_deref(), Some("1234567890"));
    assert_eq!(delivery.carrier.as_deref(), Some("CDEK"));
    assert_eq!(delivery.address.as_deref(), Some("ул. Ленина 15, кв. 42"));
    let courier = delivery.courier.unwrap();
    assert_eq!(
        (courier.name.as_str(), courier.phone.as_deref()),
        ("Дамир", Some("+77770001122"))
    );
    assert_eq!(delivery.eta_from, Some(utc("2025-01-12T05:00:00Z")));
    assert_eq!(delivery.eta_to, Some(utc("2025-01-12T09:00:00Z")));
    assert_eq!(delivery.location, Some((43.2389, 76.8897)));
    assert_eq!(
        delivery.note.unwrap().get(Locale::Ru),
        "Курьер позвонит за час до приезда"
    );

    let c2 = builtin.active_orders(&id("C2")).await.unwrap();
    assert_eq!(c2.len(), 1);
    assert_eq!(c2[0].status, OrderStatus::Assembling);
    assert_eq!(c2[0].items[0].qty, 3);
    let d2 = c2[0].delivery.clone().unwrap();
    assert_eq!((d2.tracking, d2.courier, d2.location), (None, None, None));
    assert!(builtin.active_orders(&id("C3")).await.unwrap().is_empty());
}

async fn an_order_is_found_only_among_the_customers_own(store: Store) {
    let builtin = with_demo(&store).await;
    assert_eq!(builtin.order(&id("C2"), "78234").await.unwrap(), None);
    assert_eq!(builtin.order(&id("C1"), "99999").await.unwrap(), None);
    assert_eq!(
        builtin.order(&id("C1"), "78234' OR '1'='1").await.unwrap(),
        None
    );
    assert!(builtin.order(&id("C1"), "78234").await.unwrap().is_some());

    let delivered = builtin.order(&id("C1"), "78110").await.unwrap().unwrap();
    assert_eq!(delivered.status, OrderStatus::Delivered);
    assert_eq!(delivered.delivered_at, Some(utc("2025-01-06T08:20:00Z")));
    let skus: Vec<&str> = delivered.items.iter().map(|i| i.sku.as_str()).collect();
    assert_eq!(skus, ["COF-LAV-1KG", "MILK-32"]);
    assert_eq!(delivered.items[1].name.get(Locale::En), "Milk 3.2%");
}

async fn a_corrupt_row_is_an_error_not_a_panic(store: Store) {
    let builtin = with_demo(&store).await;
    sqlx::query("UPDATE customers SET phone = 'garbage' WHERE id = 'C2'")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET created_at = 'yesterday' WHERE number = '78300'")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE accounts SET options = '{' WHERE customer_id = 'C3'")
        .execute(store.pool())
        .await
        .unwrap();

    let err = builtin.profile(&id("C2")).await.unwrap_err().to_string();
    assert!(err.contains("customers.phone"), "{err}");
    let err = builtin
        .order(&id("C2"), "78300")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("orders.created_at"), "{err}");
    let err = builtin.account(&id("C3")).await.unwrap_err().to_string();
    assert!(err.contains("accounts.options"), "{err}");

    store.touch_user(1, 1).await.unwrap();
    sqlx::query("UPDATE telegram_users SET locale = 'xx' WHERE telegram_user_id = 1")
        .execute(store.pool())
        .await
        .unwrap();
    match store.user(1).await {
        Err(StoreError::Corrupt(what)) => assert!(what.contains("telegram_users.locale"), "{what}"),
        other => panic!("unexpected {other:?}"),
    }
}

async fn business_info_and_catalog_names_come_from_the_import(store: Store) {
    assert_eq!(import::business_info(&store).await.unwrap(), None);
    with_demo(&store).await;
    let business = import::business_info(&store).await.unwrap().unwrap();
    assert_eq!(business.name, "Demo Service");
    assert_eq!(business.currency, "KZT");
    assert_eq!(business.time_zone, chrono_tz::Asia::Almaty);
    assert_eq!(business.default_locale, Locale::Ru);
    assert_eq!(business.locales, ["ru", "en"]);
    assert_eq!(business.support_hours.as_deref(), Some("09:00-21:00"));
    assert_eq!(
        business.working_hours.get("mon-sun").map(String::as_str),
        Some("10:00-19:00")
    );
    assert_eq!(business.demo_day, Some(date("2025-01-11")));
    assert_eq!(business.demo_now, Some(utc("2025-01-11T05:00:00Z")));

    let catalog = import::catalog_names(&store).await.unwrap();
    let services: Vec<&str> = catalog.services.iter().map(|n| n.code.as_str()).collect();
    assert_eq!(services, ["haircut", "manicure", "massage"]);
    let staff: Vec<&str> = catalog.staff.iter().map(|n| n.code.as_str()).collect();
    assert_eq!(staff, ["anna", "maria", "oleg"]);
    let massage = &catalog.services[2];
    assert!(
        massage.names.contains(&"Массаж".to_owned())
            && massage.names.contains(&"Massage".to_owned())
    );
    assert_eq!(catalog, BusinessData::demo().catalog());
}

async fn users_consent_bindings_and_epochs_are_kept(store: Store) {
    assert_eq!(store.user(5001).await.unwrap(), None);
    let user = store.touch_user(5001, 5001).await.unwrap();
    assert_eq!(
        (user.telegram_user_id, user.chat_id, user.locale, user.epoch),
        (5001, 5001, None, 0)
    );
    let user = store.touch_user(5001, 7001).await.unwrap();
    assert_eq!(user.chat_id, 7001);

    store.set_user_locale(5001, Some(Locale::En)).await.unwrap();
    assert_eq!(
        store.user(5001).await.unwrap().unwrap().locale,
        Some(Locale::En)
    );
    store.set_user_locale(5001, None).await.unwrap();
    assert_eq!(store.user(5001).await.unwrap().unwrap().locale, None);

    assert_eq!(store.bump_epoch(5001).await.unwrap(), 1);
    assert_eq!(store.bump_epoch(5001).await.unwrap(), 2);
    assert_eq!(store.touch_user(5001, 7001).await.unwrap().epoch, 2);
    assert_eq!(
        store.bump_epoch(5002).await.unwrap(),
        1,
        "an unknown user starts at 1"
    );

    assert_eq!(store.consent(5001).await.unwrap(), None);
    let at = Utc::now();
    store.record_consent(5001, "2025-01", at).await.unwrap();
    let consent = store.consent(5001).await.unwrap().unwrap();
    assert_eq!(
        (consent.terms_version.as_str(), consent.accepted_at),
        ("2025-01", at)
    );
    store.record_consent(5001, "2025-06", at).await.unwrap();
    assert_eq!(
        store.consent(5001).await.unwrap().unwrap().terms_version,
        "2025-06"
    );

    let binding = Binding {
        telegram_user_id: 5001,
        chat_id: 7001,
        customer_id: id("C1"),
        phone: Phone::parse("+77011234567").unwrap(),
        first_name: "Ерлан".to_owned(),
        bound_at: Utc::now(),
    };
    store.bind(&binding).await.unwrap();
    assert_eq!(store.binding(5001).await.unwrap(), Some(binding.clone()));
    assert_eq!(
        store.bindings_of(&id("C1")).await.unwrap(),
        vec![binding.clone()]
    );
    let rebound = Binding {
        customer_id: id("C2"),
        first_name: "Ольга".to_owned(),
        ..binding
    };
    store.bind(&rebound).await.unwrap();
    assert_eq!(store.binding(5001).await.unwrap(), Some(rebound));
    assert!(store.bindings_of(&id("C1")).await.unwrap().is_empty());

    assert!(store.unbind(5001).await.unwrap());
    assert!(!store.unbind(5001).await.unwrap());
    assert_eq!(store.binding(5001).await.unwrap(), None);
}

async fn forget_removes_the_users_data_and_keeps_an_audit_entry(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    for (user, customer, phone) in [(5001, "C1", "+77011234567"), (5002, "C2", "+77025556677")] {
        store.touch_user(user, user).await.unwrap();
        store.record_consent(user, "1", at).await.unwrap();
        store
            .bind(&Binding {
                telegram_user_id: user,
                chat_id: user,
                customer_id: id(customer),
                phone: Phone::parse(phone).unwrap(),
                first_name: "x".to_owned(),
                bound_at: at,
            })
            .await
            .unwrap();
        store
            .set_dialogue_state(user, r#"{"Idle":null}"#)
            .await
            .unwrap();
        store.log_message(user, "in", "баланс", at).await.unwrap();
        store.log_message(user, "out", "3 450 ₸", at).await.unwrap();
        store
            .record_lead(&Lead {
                telegram_user_id: user,
                phone: Phone::parse("+77779998877").unwrap(),
                first_name: "x".to_owned(),
                created_at: at,
            })
            .await
            .unwrap();
    }

    store
        .forget(5001, 5001, at + Duration::minutes(1))
        .await
        .unwrap();

    assert_eq!(store.binding(5001).await.unwrap(), None);
    assert_eq!(store.consent(5001).await.unwrap(), None);
    assert_eq!(store.dialogue_state(5001).await.unwrap(), None);
    assert!(store.chat_history(5001, 10).await.unwrap().is_empty());
    assert!(
        store
            .leads()
            .await
            .unwrap()
            .iter()
            .all(|l| l.telegram_user_id != 5001)
    );
    assert!(
        store.user(5001).await.unwrap().is_some(),
        "the epoch survives"
    );
    let audit = store.audit_entries(5001).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "forget");
    assert_eq!(audit[0].customer_id, Some(id("C1")));
    assert_eq!(audit[0].at, at + Duration::minutes(1));

    // The other user keeps everything.
    assert!(store.binding(5002).await.unwrap().is_some());
    assert!(store.consent(5002).await.unwrap().is_some());
    assert!(store.dialogue_state(5002).await.unwrap().is_some());
    assert_eq!(store.chat_history(5002, 10).await.unwrap().len(), 2);
    assert_eq!(store.leads().await.unwrap().len(), 1);

    // Forgetting someone the bot never bound still leaves the trace.
    store.forget(5003, 5003, at).await.unwrap();
    let audit = store.audit_entries(5003).await.unwrap();
    assert_eq!((audit.len(), audit[0].customer_id.clone()), (1, None));
}

async fn dialogue_state_is_set_replaced_and_removed(store: Store) {
    assert_eq!(store.dialogue_state(42).await.unwrap(), None);
    store
        .set_dialogue_state(42, r#"{"AwaitingContact":{}}"#)
        .await
        .unwrap();
    assert_eq!(
        store.dialogue_state(42).await.unwrap().as_deref(),
        Some(r#"{"AwaitingContact":{}}"#)
    );
    store
        .set_dialogue_state(42, r#"{"Booking":{"service":"haircut"}}"#)
        .await
        .unwrap();
    assert_eq!(
        store.dialogue_state(42).await.unwrap().as_deref(),
        Some(r#"{"Booking":{"service":"haircut"}}"#)
    );
    assert_eq!(store.dialogue_state(43).await.unwrap(), None);
    store.remove_dialogue_state(42).await.unwrap();
    assert_eq!(store.dialogue_state(42).await.unwrap(), None);
    store.remove_dialogue_state(42).await.unwrap();
}

async fn chat_history_keeps_the_latest_messages_in_order_and_purges_old_ones(store: Store) {
    let start = utc("2025-01-11T05:00:00Z");
    for i in 0..5 {
        let direction = if i % 2 == 0 { "in" } else { "out" };
        store
            .log_message(
                7,
                direction,
                &format!("message {i}"),
                start + Duration::days(i),
            )
            .await
            .unwrap();
    }
    store
        .log_message(8, "in", "other chat", start)
        .await
        .unwrap();

    let last3 = store.chat_history(7, 3).await.unwrap();
    let texts: Vec<&str> = last3.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(texts, ["message 2", "message 3", "message 4"]);
    assert_eq!(last3[0].0, "in");
    assert_eq!(last3[1].0, "out");
    assert_eq!(last3[2].2, start + Duration::days(4));

    assert_eq!(
        store
            .purge_chat_history(start + Duration::days(2))
            .await
            .unwrap(),
        3
    );
    assert_eq!(store.chat_history(7, 10).await.unwrap().len(), 3);
    assert!(store.chat_history(8, 10).await.unwrap().is_empty());
}

async fn audit_entries_are_kept_per_user_oldest_first(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let entries = [
        AuditEntry {
            at,
            telegram_user_id: Some(5001),
            customer_id: Some(id("C1")),
            action: "balance.read".to_owned(),
            subject: None,
            channel: "telegram".to_owned(),
        },
        AuditEntry {
            at: at + Duration::seconds(5),
            telegram_user_id: Some(5001),
            customer_id: Some(id("C1")),
            action: "order.not_found".to_owned(),
            subject: Some("78300".to_owned()),
            channel: "telegram".to_owned(),
        },
        AuditEntry {
            at,
            telegram_user_id: Some(5002),
            customer_id: None,
            action: "contact.rejected".to_owned(),
            subject: None,
            channel: "telegram".to_owned(),
        },
        AuditEntry {
            at,
            telegram_user_id: None,
            customer_id: Some(id("C2")),
            action: "order.read".to_owned(),
            subject: Some("78300".to_owned()),
            channel: "api".to_owned(),
        },
    ];
    for entry in &entries {
        store.audit(entry).await.unwrap();
    }
    assert_eq!(
        store.audit_entries(5001).await.unwrap(),
        entries[..2].to_vec()
    );
    assert_eq!(
        store.audit_entries(5002).await.unwrap(),
        entries[2..3].to_vec()
    );
    assert!(store.audit_entries(5003).await.unwrap().is_empty());
    assert_eq!(count(&store, "audit_log").await, 4);
}

async fn a_lead_is_recorded_once_per_user_and_phone(store: Store) {
    let first = Lead {
        telegram_user_id: 9001,
        phone: Phone::parse("+77779998877").unwrap(),
        first_name: "Гость".to_owned(),
        created_at: utc("2025-01-11T05:00:00Z"),
    };
    store.record_lead(&first).await.unwrap();
    assert_eq!(store.leads().await.unwrap(), vec![first.clone()]);

    let again = Lead {
        created_at: utc("2025-01-11T06:00:00Z"),
        ..first.clone()
    };
    store.record_lead(&again).await.unwrap();
    assert_eq!(store.leads().await.unwrap(), vec![again.clone()]);

    let other_phone = Lead {
        phone: Phone::parse("+77770000001").unwrap(),
        ..again.clone()
    };
    store.record_lead(&other_phone).await.unwrap();
    assert_eq!(store.leads().await.unwrap().len(), 2);
}

async fn an_in_memory_store_serves_concurrent_callers(store: Store) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store.touch_user(100 + i, 100 + i).await.unwrap();
                store.bump_epoch(100 + i).await.unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 1);
    }
    assert_eq!(count(&store, "telegram_users").await, 20);
}

// --- checks without a database -------------------------------------------------------------

#[test]
fn parse_errors_name_the_path() {
    let cases = [
        (
            "/customers/1/phone",
            serde_json::json!("+7 701 12"),
            "customers[1].phone: not a phone number",
        ),
        (
            "/customers/0/account/tariff",
            serde_json::json!("gold"),
            "customers[0].account.tariff: unknown tariff \"gold\"",
        ),
        (
            "/tariffs/1/monthly_fee",
            serde_json::json!("8,90"),
            "tariffs[1].monthly_fee: not a decimal amount (\"8,90\")",
        ),
        (
            "/customers/0/orders/0/items/0/sku",
            serde_json::json!("DOG-FOOD"),
            "customers[0].orders[0].items[0].sku: unknown sku \"DOG-FOOD\"",
        ),
        (
            "/customers/1/bookings/0/staff",
            serde_json::json!("ivan"),
            "customers[1].bookings[0].staff: unknown staff \"ivan\"",
        ),
        (
            "/customers/0/account/options",
            serde_json::json!(["radio"]),
            "customers[0].account.options[0]: unknown tariff option \"radio\"",
        ),
        (
            "/customers/0/account/next_charge/date",
            serde_json::json!("15.01.2025"),
            "customers[0].account.next_charge.date: not a date",
        ),
        (
            "/customers/0/orders/1/created",
            serde_json::json!("yesterday"),
            "customers[0].orders[1].created: not a local time",
        ),
        (
            "/business/time_zone",
            serde_json::json!("Mars/Olympus"),
            "business.time_zone: not a time zone",
        ),
        (
            "/customers/2/phone",
            serde_json::json!("+77011234567"),
            "customers[2].phone: the same phone as another customer",
        ),
    ];
    for (pointer, value, expected) in cases {
        let err = BusinessData::parse(&demo_with(pointer, value)).unwrap_err();
        assert!(err.starts_with(expected), "{pointer}: {err}");
    }
    assert!(
        BusinessData::parse("{")
            .unwrap_err()
            .starts_with("invalid data set")
    );
}

#[test]
fn unknown_fields_and_comments_are_tolerated() {
    let mut json: serde_json::Value = serde_json::from_str(DEMO_JSON).unwrap();
    json["customers"][0]["loyalty_level"] = serde_json::json!("gold");
    json["free_slots"]["_note"] = serde_json::json!("ignored");
    let data = BusinessData::parse(&json.to_string()).unwrap();
    assert_eq!(data.free_slots.len(), 3);
    assert_eq!(data.free_slots["maria"].len(), 4);
}

#[tokio::test]
async fn other_database_urls_are_refused() {
    for url in ["mysql://localhost/db", "cabinet.db", "sqlite://"] {
        assert!(
            matches!(Store::connect(url).await, Err(StoreError::BadUrl(_))),
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_sqlite_file_is_created_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.engine(), Engine::Sqlite);
    store.migrate().await.unwrap();
    store.touch_user(1, 2).await.unwrap();
    store.close().await;
    assert!(path.exists());

    let again = Store::connect(&url).await.unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.user(1).await.unwrap().map(|u| u.chat_id), Some(2));
    again.close().await;
}
