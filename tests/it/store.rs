//! The store, the import of business data sets and the built-in adapter, each check run
//! against SQLite (a temporary file and in memory) and PostgreSQL (a fresh database per test,
//! from `TEST_DATABASE_URL`).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use cabinet::adapters::builtin::import::{self, BusinessData, DEMO_JSON};
use cabinet::adapters::builtin::{BookingSettings, Builtin, BuiltinSettings};
use cabinet::adapters::{
    Appointment, Billing, Booking, BookingRefusal, BookingStatus, ChangeOutcome, ChangeRefusal, CreatedOrder, Crm,
    CustomerId, DocumentFile, Documents, LocalizedText, Logistics, Loyalty, NewOrder, OrderRefusal, OrderStatus,
    ReferralOutcome, Shop, Slot, SubscriptionChange,
};
use cabinet::clock::{Clock, FixedClock};
use cabinet::domain::{Locale, Period, Phone};
use cabinet::store::{AuditEntry, Binding, Engine, Lead, OtpRecord, Store, StoreError, StoredButton, TopUpPayment};
use cabinet::store::{Job, NewJob};
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
    migrate(&store).await;
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
    // Skipped (and said so) without a PostgreSQL server, a failure under CI=true.
    let Some(admin_url) = cabinet::testenv::postgres_url() else { return };
    let admin = Store::connect(&admin_url).await.unwrap();
    let name = format!("cabinet_test_{:016x}", rand::random::<u64>());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));

    let store = Store::connect(url.as_str()).await.unwrap();
    assert_eq!(store.engine(), Engine::Postgres);
    migrate(&store).await;
    let outcome = tokio::spawn(check(store.clone())).await;
    store.close().await;
    // Best effort: a database left behind does not break the next run.
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
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
    sqlx::query(sql).fetch_one(store.pool()).await.unwrap().try_get::<String, _>(0).unwrap()
}

/// A store with the demo data set imported on the demo clock.
async fn with_demo(store: &Store) -> Builtin {
    import::import(store, &BusinessData::demo(), Duration::zero()).await.unwrap();
    Builtin::new(store.clone())
}

/// The demo on the demo clock, read by an adapter whose clock stands at the demo time
/// (2025-01-11T10:00 in Almaty).
async fn with_demo_at_demo_time(store: &Store) -> (Builtin, Arc<FixedClock>) {
    let builtin = with_demo(store).await;
    let clock = FixedClock::new(BusinessData::demo().demo_now_utc().unwrap());
    (builtin.with_clock(clock.clone()), clock)
}

/// A change made (or that would be made) in tenge.
fn done(fee: &str, effective: &str) -> ChangeOutcome {
    ChangeOutcome::Done { monthly_fee: dec(fee), effective: date(effective), currency: "KZT".to_owned() }
}

fn refused(why: ChangeRefusal) -> ChangeOutcome {
    ChangeOutcome::Refused(why)
}

fn new_order(lines: &[(&str, i64)], address: Option<&str>) -> NewOrder {
    NewOrder {
        lines: lines.iter().map(|(sku, qty)| ((*sku).to_owned(), *qty)).collect(),
        address: address.map(str::to_owned),
    }
}

async fn stock(store: &Store, sku: &str) -> i64 {
    sqlx::query("SELECT in_stock FROM catalog WHERE sku = $1")
        .bind(sku.to_owned())
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>("in_stock")
        .unwrap()
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
    a_moved_bookings_calendar_sequence_rises,
    the_demo_imports_with_the_right_counts_and_a_reimport_changes_nothing,
    a_changed_value_is_the_only_change_a_reimport_makes,
    a_shifted_import_moves_every_date,
    an_invalid_data_set_is_refused_and_nothing_is_written,
    a_reimport_keeps_a_credited_top_up_and_its_transaction,
    a_reimport_keeps_a_tariff_changed_in_the_chat,
    a_reimport_keeps_an_option_changed_in_the_chat,
    a_reimport_keeps_a_pause,
    a_reimport_keeps_an_order_placed_in_the_chat,
    a_reimport_keeps_a_booking_made_in_the_chat,
    a_reimport_keeps_a_booking_moved_in_the_chat,
    a_reimport_keeps_a_booking_cancelled_in_the_chat,
    a_reimport_keeps_referral_points,
    every_kind_of_bot_record_survives_one_reimport,
    a_shifted_import_names_the_shifted_months_in_titles,
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
    turns_writing_at_once_all_land_each_chat_in_order,
    a_user_snapshot_reads_what_the_separate_reads_do,
    audit_entries_are_kept_per_user_oldest_first,
    a_lead_is_recorded_once_per_user_and_phone,
    an_in_memory_store_serves_concurrent_callers,
    subscription_changes_are_quoted_applied_refused_and_repeated_once,
    concurrent_changes_apply_once,
    payment_links_fill_the_template,
    a_payment_is_credited_once_even_concurrently,
    documents_are_scoped_to_their_customer_and_printable,
    a_repeat_order_is_built_from_the_last_delivered_one,
    a_double_tap_creates_one_order,
    an_offer_follows_an_old_enough_purchase,
    referral_codes_are_stable_and_credit_once,
    a_referral_never_closes_a_loop,
    document_file_ids_are_cached_per_variant,
    otp_challenges_are_kept_per_customer_and_outlive_forget,
    otp_wrong_codes_count_at_once_and_lock_at_the_last_try,
    otp_sends_are_claimed_one_at_a_time_under_the_throttle,
    customers_seen_are_marked_once_and_outlive_forget,
    a_top_up_is_marked_paid_once,
    a_pending_referral_code_is_kept_per_user,
    services_staff_and_preferred_staff_come_from_the_import,
    demo_free_slots_are_the_explicit_ones_then_hourly,
    free_slots_follow_the_clock_and_the_horizon,
    free_slots_cross_day_boundaries_and_dst_switches,
    days_off_come_from_working_hours_and_holidays,
    a_booking_is_checked_made_once_per_key_and_takes_its_time,
    the_database_forbids_double_booking,
    concurrent_bookings_of_one_time_give_it_to_one,
    a_move_takes_the_new_time_before_it_frees_the_old_one,
    a_cancellation_frees_the_time_once,
    upcoming_lists_every_customers_confirmed_appointments,
    jobs_are_scheduled_once_per_key,
    a_cancelled_job_is_revived_by_its_key_and_no_other,
    only_due_jobs_are_claimed_earliest_first,
    concurrent_claimers_never_get_the_same_job,
    a_job_whose_lease_passed_is_claimed_again_a_completed_one_never,
    pending_jobs_are_cancelled_by_an_exact_key_prefix,
    a_failed_job_is_retried_at_its_time_or_fails_for_good,
    support_topics_are_set_replaced_looked_up_and_forgotten,
    an_open_case_is_returned_instead_of_a_second_one,
    concurrent_escalations_open_one_case,
    case_priorities_are_set_and_only_raised_while_open,
    an_open_case_is_assigned_and_reassigned,
    the_first_staff_reply_is_recorded_once,
    a_case_is_closed_once_and_rated_once_from_one_to_five,
    support_stats_count_a_day_with_the_median_first_response,
    audit_entries_are_counted_by_action_since_a_time,
    an_alert_is_recorded_once_per_kind_user_and_window,
    forget_removes_support_requests_and_alerts_but_not_cases,
    staff_find_customers_by_phone_digits_and_by_name,
);

/// cabinet's own migrations and the built-in backend's.
async fn migrate(store: &Store) {
    store.migrate().await.unwrap();
    cabinet::adapters::builtin::migrate(store).await.unwrap();
}

async fn migrations_apply_twice_harmlessly(store: Store) {
    migrate(&store).await;
    migrate(&store).await;
    assert_eq!(count(&store, "customers").await, 0);
    let engine = match store.engine() {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    let sql_files = |dir: String| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql")))
            .count()
    };
    let files = sql_files(format!("migrations/{engine}"))
        + sql_files(format!("crates/core/src/adapters/builtin/migrations/{engine}"));
    // A new database skips the legacy history.
    assert_eq!(count(&store, "_sqlx_migrations").await, files as i64);
}

async fn a_moved_bookings_calendar_sequence_rises(store: Store) {
    migrate(&store).await;
    // Booked: 0, and reading it again changes nothing.
    assert_eq!(store.calendar_sequence("B-1", false).await.unwrap(), 0);
    assert_eq!(store.calendar_sequence("B-1", false).await.unwrap(), 0);
    // Every move: one more; another booking keeps its own.
    assert_eq!(store.calendar_sequence("B-1", true).await.unwrap(), 1);
    assert_eq!(store.calendar_sequence("B-1", true).await.unwrap(), 2);
    assert_eq!(store.calendar_sequence("B-1", false).await.unwrap(), 2);
    assert_eq!(store.calendar_sequence("B-2", false).await.unwrap(), 0);
}

async fn the_demo_imports_with_the_right_counts_and_a_reimport_changes_nothing(store: Store) {
    let data = BusinessData::demo();
    let first = import::import(&store, &data, Duration::zero()).await.unwrap();
    assert_eq!((first.customers, first.orders, first.documents, first.bookings), (3, 4, 6, 2));
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
    assert_eq!(first.changed, 1 + 3 + 1 + 5 + 3 + 3 + 4 + 10 + 3 + 3 + 5 + 4 + 5 + 4 + 6 + 2);

    let second = import::import(&store, &data, Duration::zero()).await.unwrap();
    assert_eq!(second.changed, 0);
    assert!(second.kept.is_empty(), "{:?}", second.kept);
    assert_eq!(second.kept_summary(), None);
    assert_eq!(second.customers, 3);
    assert_eq!(count(&store, "transactions").await, 5);
    assert_eq!(count(&store, "slots").await, 10);
}

async fn a_changed_value_is_the_only_change_a_reimport_makes(store: Store) {
    let builtin = with_demo(&store).await;
    let changed = BusinessData::parse(&demo_with("/customers/0/account/balance", "3500".into())).unwrap();
    let report = import::import(&store, &changed, Duration::zero()).await.unwrap();
    assert_eq!(report.changed, 1);
    let account = builtin.account(&id("C1")).await.unwrap().unwrap();
    assert_eq!(account.balance, dec("3500"));

    // An item dropped from an order and a delivery dropped: both go.
    let mut json: serde_json::Value = serde_json::from_str(DEMO_JSON).unwrap();
    json["customers"][0]["orders"][1]["items"].as_array_mut().unwrap().pop();
    json["customers"][0]["orders"][2].as_object_mut().unwrap().remove("delivery");
    let report =
        import::import(&store, &BusinessData::parse(&json.to_string()).unwrap(), Duration::zero()).await.unwrap();
    assert_eq!(report.changed, 1 + 1 + 1, "the balance back, one item and one delivery deleted");
    let order = builtin.order(&id("C1"), "78110").await.unwrap().unwrap();
    assert_eq!(order.items.len(), 1);
    assert!(builtin.order(&id("C1"), "77501").await.unwrap().unwrap().delivery.is_none());
}

async fn a_shifted_import_moves_every_date(store: Store) {
    let data = BusinessData::demo();
    import::import(&store, &data, Duration::days(30)).await.unwrap();
    let builtin = Builtin::new(store.clone());

    let order = builtin.order(&id("C1"), "78234").await.unwrap().unwrap();
    assert_eq!(order.created, utc("2025-02-09T04:50:00Z"), "2025-01-10T09:50 Almaty + 30 days");
    let delivery = order.delivery.unwrap();
    assert_eq!(delivery.eta_from, Some(utc("2025-02-11T05:00:00Z")));
    let account = builtin.account(&id("C1")).await.unwrap().unwrap();
    assert_eq!(account.next_charge.unwrap().date, date("2025-02-14"));
    let latest = builtin.transactions(&id("C1"), 1).await.unwrap();
    assert_eq!(latest[0].at, utc("2025-02-09T04:45:00Z"));

    let business = import::business_info(&store).await.unwrap().unwrap();
    assert_eq!(business.demo_day, Some(date("2025-02-10")));
    assert_eq!(business.demo_now, Some(utc("2025-02-10T05:00:00Z")));
    assert_eq!(text(&store, "SELECT period FROM documents WHERE id = 'D-1001'").await, "2025-01");
    assert_eq!(text(&store, "SELECT birthday FROM customers WHERE id = 'C1'").await, "1990-02-11");
    assert_eq!(
        text(&store, "SELECT start_at FROM bookings WHERE id = 'B-2001'").await,
        "2025-02-13T07:00:00.000000000Z"
    );
    assert_eq!(
        text(&store, "SELECT MIN(start_at) FROM slots WHERE staff_id = 'oleg'").await,
        "2025-02-11T05:00:00.000000000Z"
    );

    // Another day, another shift: the records move, nothing is duplicated.
    let report = import::import(&store, &data, Duration::days(31)).await.unwrap();
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
    let err = import::import(&store, &data, Duration::zero()).await.unwrap_err();
    match err {
        StoreError::InvalidData(message) => {
            assert_eq!(message, "customers[2].phone: not a phone number")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(count(&store, "business").await, 0);
    assert_eq!(count(&store, "customers").await, 0);
}

// --- a re-import keeps what the bot recorded -------------------------------------------------

/// Imports the demo data set again on the demo clock.
async fn reimport(store: &Store) -> import::ImportReport {
    reimport_json(store, DEMO_JSON).await
}

async fn reimport_json(store: &Store, json: &str) -> import::ImportReport {
    import::import(store, &BusinessData::parse(json).unwrap(), Duration::zero()).await.unwrap()
}

fn top_up_title() -> LocalizedText {
    LocalizedText(BTreeMap::from([
        ("ru".to_owned(), "Пополнение через Telegram".to_owned()),
        ("en".to_owned(), "Top-up via Telegram".to_owned()),
    ]))
}

async fn a_reimport_keeps_a_credited_top_up_and_its_transaction(store: Store) {
    let (builtin, clock) = with_demo_at_demo_time(&store).await;
    let c1 = id("C1");
    assert_eq!(builtin.credit_payment(&c1, dec("2000"), "tg-1", &top_up_title()).await.unwrap(), Some(dec("5450")));
    let c1_transactions = "transactions WHERE customer_id = 'C1'";
    assert_eq!(count(&store, c1_transactions).await, 5);

    let report = reimport(&store).await;
    assert_eq!(
        report.kept,
        [import::Kept::Balance { customer: "C1".to_owned(), file: dec("3450"), credited: dec("2000"), top_ups: 1 }]
    );
    assert_eq!(report.changed, 0, "the balance is the file's plus the top-up already");
    let summary = report.kept_summary().unwrap();
    assert!(
        summary.starts_with("kept 1 record the bot changed since: balance of customer C1 (top-up): 5450"),
        "{summary}"
    );
    let account = builtin.account(&c1).await.unwrap().unwrap();
    assert_eq!(account.balance, dec("5450"));
    let latest = &builtin.transactions(&c1, 1).await.unwrap()[0];
    assert_eq!((latest.at, latest.amount, latest.kind.as_str()), (clock.now(), dec("2000"), "top_up"));
    assert_eq!(count(&store, c1_transactions).await, 5);

    // The business's own balance changes: the top-up is added to it.
    let report = reimport_json(&store, &demo_with("/customers/0/account/balance", "3000".into())).await;
    assert_eq!(report.changed, 1);
    assert_eq!(builtin.account(&c1).await.unwrap().unwrap().balance, dec("5000"));

    // A transaction added to the file takes the bot's place; the bot's moves after it.
    let mut json: serde_json::Value = serde_json::from_str(DEMO_JSON).unwrap();
    json["customers"][0]["account"]["transactions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"at": "2025-01-10T12:00:00", "amount": "-100", "kind": "charge", "title": {"ru": "Услуга", "en": "Service"}}));
    reimport_json(&store, &json.to_string()).await;
    assert_eq!(count(&store, c1_transactions).await, 6);
    let listed: Vec<(Decimal, String)> =
        builtin.transactions(&c1, 2).await.unwrap().into_iter().map(|t| (t.amount, t.kind)).collect();
    assert_eq!(listed, [(dec("2000"), "top_up".to_owned()), (dec("-100"), "charge".to_owned())]);
    // And goes again: the bot's stays.
    let report = reimport(&store).await;
    assert_eq!(count(&store, c1_transactions).await, 5);
    assert_eq!(report.kept.len(), 1);
    assert_eq!(reimport(&store).await.changed, 0, "idempotent with the bot's records");

    // The file drops the account: it stays for the payment, with the bot's transaction only.
    let report = reimport_json(&store, &demo_with("/customers/0/account", serde_json::Value::Null)).await;
    assert_eq!(report.kept, [import::Kept::Account { customer: "C1".to_owned() }]);
    assert_eq!(builtin.account(&c1).await.unwrap().unwrap().balance, dec("5450"));
    assert_eq!(count(&store, c1_transactions).await, 1);
    assert_eq!(count(&store, "payments_credited").await, 1);
}

async fn a_reimport_keeps_a_tariff_changed_in_the_chat(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let c1 = id("C1");
    builtin.apply_change(&c1, &SubscriptionChange::Tariff("max".to_owned()), "k1").await.unwrap();
    let report = reimport(&store).await;
    assert_eq!(
        report.kept,
        [import::Kept::Subscription {
            customer: "C1".to_owned(),
            tariff: Some("max".to_owned()),
            file_tariff: Some("optimal".to_owned()),
            options: vec![],
            file_options: vec![],
            paused: false
        }]
    );
    assert_eq!(report.changed, 0);
    assert!(
        report
            .kept_summary()
            .unwrap()
            .contains("subscription of customer C1 changed in the chat: tariff max (the file: optimal)"),
        "{:?}",
        report.kept_summary()
    );
    let account = builtin.account(&c1).await.unwrap().unwrap();
    assert_eq!(account.tariff.unwrap().code, "max");
    assert_eq!(account.next_charge.unwrap().amount, dec("1490"));

    // The file catches up: from then on it decides again.
    let report = reimport_json(&store, &demo_with("/customers/0/account/tariff", "max".into())).await;
    assert!(report.kept.is_empty(), "{:?}", report.kept);
    assert_eq!(
        builtin.account(&c1).await.unwrap().unwrap().next_charge.unwrap().amount,
        dec("890"),
        "the file's next charge"
    );
    let report = reimport_json(&store, &demo_with("/customers/0/account/tariff", "basic".into())).await;
    assert!(report.kept.is_empty(), "{:?}", report.kept);
    let account = builtin.account(&c1).await.unwrap().unwrap();
    assert_eq!(account.tariff.unwrap().code, "basic");
}

async fn a_reimport_keeps_an_option_changed_in_the_chat(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let (c1, c2) = (id("C1"), id("C2"));
    builtin.apply_change(&c1, &SubscriptionChange::AddOption("tv".to_owned()), "k1").await.unwrap();
    builtin.apply_change(&c2, &SubscriptionChange::RemoveOption("tv".to_owned()), "k2").await.unwrap();
    let report = reimport(&store).await;
    assert_eq!(report.changed, 0);
    assert_eq!(report.kept.len(), 2, "{:?}", report.kept);
    assert!(
        report
            .kept_summary()
            .unwrap()
            .contains("subscription of customer C1 changed in the chat: options tv (the file: none)"),
        "{:?}",
        report.kept_summary()
    );
    let options =
        |account: cabinet::adapters::Account| -> Vec<String> { account.options.into_iter().map(|o| o.code).collect() };
    assert_eq!(options(builtin.account(&c1).await.unwrap().unwrap()), ["tv"]);
    assert!(options(builtin.account(&c2).await.unwrap().unwrap()).is_empty());
}

async fn a_reimport_keeps_a_pause(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let c2 = id("C2");
    builtin.apply_change(&c2, &SubscriptionChange::Pause, "p1").await.unwrap();
    // The file names the same tariff and options, but cannot pause: the bot's stays.
    for _ in 0..2 {
        let report = reimport(&store).await;
        assert_eq!(report.changed, 0);
        assert_eq!(
            report.kept,
            [import::Kept::Subscription {
                customer: "C2".to_owned(),
                tariff: Some("basic".to_owned()),
                file_tariff: Some("basic".to_owned()),
                options: vec!["tv".to_owned()],
                file_options: vec!["tv".to_owned()],
                paused: true
            }]
        );
        assert!(
            report.kept_summary().unwrap().ends_with("subscription of customer C2 changed in the chat: paused"),
            "{:?}",
            report.kept_summary()
        );
        let account = builtin.account(&c2).await.unwrap().unwrap();
        assert!(account.paused);
        assert_eq!(account.next_charge.unwrap().amount, dec("0"));
    }
    // Resumed in the chat: the file's subscription is the same again, and decides.
    builtin.apply_change(&c2, &SubscriptionChange::Resume, "p2").await.unwrap();
    let report = reimport(&store).await;
    assert!(report.kept.is_empty(), "{:?}", report.kept);
    assert_eq!(builtin.account(&c2).await.unwrap().unwrap().next_charge.unwrap().amount, dec("890"));
}

async fn a_reimport_keeps_an_order_placed_in_the_chat(store: Store) {
    let (builtin, clock) = with_demo_at_demo_time(&store).await;
    let c1 = id("C1");
    let created = builtin
        .create_order(&c1, &new_order(&[("COF-LAV-1KG", 1), ("MILK-32", 2)], None), "k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.number, "78301");
    let report = reimport(&store).await;
    assert_eq!(report.changed, 0);
    assert_eq!(
        report.kept,
        [
            import::Kept::Stock { sku: "COF-LAV-1KG".to_owned(), file: 40, ordered: 1 },
            import::Kept::Stock { sku: "MILK-32".to_owned(), file: 200, ordered: 2 }
        ]
    );
    assert!(
        report
            .kept_summary()
            .unwrap()
            .contains("stock of COF-LAV-1KG (order): 39 = 40 in the file - 1 ordered in the chat"),
        "{:?}",
        report.kept_summary()
    );
    assert_eq!((stock(&store, "COF-LAV-1KG").await, stock(&store, "MILK-32").await), (39, 198));
    let order = builtin.order(&c1, "78301").await.unwrap().unwrap();
    assert_eq!((order.status, order.created, order.total), (OrderStatus::New, clock.now(), dec("1468")));
    assert_eq!(order.items.len(), 2);
    assert_eq!(order.delivery.unwrap().address.as_deref(), Some("ул. Ленина 15, кв. 42"));

    // The file names the order with other lines: they stay the chat's; its progress is the
    // business's.
    let mut json: serde_json::Value = serde_json::from_str(DEMO_JSON).unwrap();
    json["customers"][0]["orders"].as_array_mut().unwrap().push(serde_json::json!({
        "number": "78301", "created": "2025-01-11T09:00", "status": "delivered",
        "delivered_at": "2025-01-11T18:00", "items": [{"sku": "BREAD-W", "qty": 5, "price": "150"}], "total": "750"
    }));
    let report = reimport_json(&store, &json.to_string()).await;
    assert!(
        report.kept.contains(&import::Kept::Order { customer: "C1".to_owned(), number: "78301".to_owned() }),
        "{:?}",
        report.kept
    );
    let order = builtin.order(&c1, "78301").await.unwrap().unwrap();
    assert_eq!((order.status, order.total, order.items.len()), (OrderStatus::Delivered, dec("1468"), 2));
    assert_eq!(order.items[0].sku, "COF-LAV-1KG");
    assert_eq!(order.delivered_at, Some(almaty("2025-01-11T18:00")));
    assert!(order.delivery.is_some(), "the chat's delivery stays");
    assert_eq!(stock(&store, "BREAD-W").await, 0);
    assert_eq!(reimport_json(&store, &json.to_string()).await.changed, 0);
}

async fn a_reimport_keeps_a_booking_made_in_the_chat(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let c1 = id("C1");
    let made = builtin.book(&c1, "haircut", &slot("anna", "2025-01-12T12:00"), "k1").await.unwrap().unwrap();
    let report = reimport(&store).await;
    assert_eq!((report.changed, report.kept.len()), (0, 0));
    assert_eq!(builtin.appointment(&c1, &made.id).await.unwrap(), Some(made.clone()));

    // A file that names it otherwise does not change it.
    let mut json: serde_json::Value = serde_json::from_str(DEMO_JSON).unwrap();
    json["customers"][0]["bookings"].as_array_mut().unwrap().push(serde_json::json!({
        "id": made.id, "service": "haircut", "staff": "maria", "start": "2025-01-12T11:00", "status": "confirmed"
    }));
    let report = reimport_json(&store, &json.to_string()).await;
    assert_eq!(
        report.kept,
        [import::Kept::Booking { customer: "C1".to_owned(), id: made.id.clone(), change: import::BotChange::Made }]
    );
    assert!(
        report.kept_summary().unwrap().contains(&format!("booking {} of customer C1 as made in the chat", made.id)),
        "{:?}",
        report.kept_summary()
    );
    assert_eq!(report.changed, 0);
    assert_eq!(builtin.appointment(&c1, &made.id).await.unwrap(), Some(made));
}

async fn a_reimport_keeps_a_booking_moved_in_the_chat(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let c2 = id("C2");
    let moved = builtin.reschedule(&c2, "B-2001", &slot("maria", "2025-01-15T14:00")).await.unwrap().unwrap();
    let report = reimport(&store).await;
    assert_eq!(report.changed, 0);
    assert_eq!(
        report.kept,
        [import::Kept::Booking {
            customer: "C2".to_owned(),
            id: "B-2001".to_owned(),
            change: import::BotChange::Moved
        }]
    );
    assert!(
        report.kept_summary().unwrap().contains("booking B-2001 of customer C2 as moved in the chat"),
        "{:?}",
        report.kept_summary()
    );
    assert_eq!(builtin.appointment(&c2, "B-2001").await.unwrap(), Some(moved));

    // The file catches up, then moves it itself.
    let report = reimport_json(&store, &demo_with("/customers/1/bookings/0/start", "2025-01-15T14:00".into())).await;
    assert!(report.kept.is_empty(), "{:?}", report.kept);
    let report = reimport_json(&store, &demo_with("/customers/1/bookings/0/start", "2025-01-16T10:00".into())).await;
    assert!(report.kept.is_empty(), "{:?}", report.kept);
    assert_eq!(builtin.appointment(&c2, "B-2001").await.unwrap().unwrap().start, almaty("2025-01-16T10:00"));
}

async fn a_reimport_keeps_a_booking_cancelled_in_the_chat(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let c3 = id("C3");
    builtin.cancel(&c3, "B-3001").await.unwrap().unwrap();
    for _ in 0..2 {
        let report = reimport(&store).await;
        assert_eq!(report.changed, 0);
        assert_eq!(
            report.kept,
            [import::Kept::Booking {
                customer: "C3".to_owned(),
                id: "B-3001".to_owned(),
                change: import::BotChange::Cancelled
            }]
        );
        let booking = builtin.appointment(&c3, "B-3001").await.unwrap().unwrap();
        assert_eq!(booking.status, BookingStatus::Cancelled);
    }
    assert!(
        reimport(&store)
            .await
            .kept_summary()
            .unwrap()
            .contains("booking B-3001 of customer C3 as cancelled in the chat")
    );
}

async fn a_reimport_keeps_referral_points(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let code = builtin.referral_code(&id("C1")).await.unwrap();
    builtin.credit_referral(&code, &id("C2")).await.unwrap();
    let points = |builtin: Builtin| async move { builtin.account(&id("C1")).await.unwrap().unwrap().bonus_points };
    assert_eq!(points(builtin.clone()).await, 1700);

    let report = reimport(&store).await;
    assert_eq!(report.changed, 0);
    assert_eq!(
        report.kept,
        [import::Kept::BonusPoints { customer: "C1".to_owned(), file: 1200, credited: 500, referrals: 1 }]
    );
    assert!(
        report
            .kept_summary()
            .unwrap()
            .contains("bonus points of customer C1 (referral): 1700 = 1200 in the file + 500 for 1 referral"),
        "{:?}",
        report.kept_summary()
    );
    assert_eq!(points(builtin.clone()).await, 1700);
    reimport_json(&store, &demo_with("/customers/0/account/bonus_points", 100.into())).await;
    assert_eq!(points(builtin.clone()).await, 600);
    assert_eq!(builtin.referral_code(&id("C1")).await.unwrap(), code, "the code stays");
}

async fn every_kind_of_bot_record_survives_one_reimport(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let (c1, c2, c3) = (id("C1"), id("C2"), id("C3"));
    builtin.credit_payment(&c1, dec("2000"), "tg-1", &top_up_title()).await.unwrap();
    builtin.apply_change(&c1, &SubscriptionChange::Tariff("max".to_owned()), "k1").await.unwrap();
    builtin.apply_change(&c2, &SubscriptionChange::Pause, "k2").await.unwrap();
    builtin.create_order(&c1, &new_order(&[("COF-LAV-1KG", 1)], None), "k3").await.unwrap().unwrap();
    builtin.book(&c1, "haircut", &slot("anna", "2025-01-12T12:00"), "k4").await.unwrap().unwrap();
    builtin.reschedule(&c2, "B-2001", &slot("maria", "2025-01-15T14:00")).await.unwrap().unwrap();
    builtin.cancel(&c3, "B-3001").await.unwrap().unwrap();
    let code = builtin.referral_code(&c3).await.unwrap();
    builtin.credit_referral(&code, &c2).await.unwrap();

    let before = snapshot(&store).await;
    let report = reimport(&store).await;
    assert_eq!(report.changed, 0, "{:?}", report.kept);
    assert_eq!(snapshot(&store).await, before);
    assert_eq!(report.kept.len(), 7, "{:?}", report.kept);
    let summary = report.kept_summary().unwrap();
    assert!(summary.starts_with("kept 7 records the bot changed since: "), "{summary}");
    for part in [
        "balance of customer C1 (top-up)",
        "subscription of customer C1 changed in the chat: tariff max (the file: optimal)",
        "subscription of customer C2 changed in the chat: paused",
        "stock of COF-LAV-1KG",
        "booking B-2001 of customer C2 as moved",
        "booking B-3001 of customer C3 as cancelled",
        "bonus points of customer C3 (referral)",
    ] {
        assert!(summary.contains(part), "{part:?} is missing from {summary}");
    }
}

/// Every row of the tables the bot writes, as text.
async fn snapshot(store: &Store) -> Vec<String> {
    let mut rows = Vec::new();
    for (table, cols) in [
        (
            "accounts",
            "customer_id, balance, bonus_points, tariff, options, paused, next_charge_amount, changed_by_bot_at",
        ),
        ("transactions", "customer_id, seq, at, amount, kind, payment_id"),
        ("orders", "number, customer_id, created_at, status, total"),
        ("order_items", "order_number, line, sku, qty, price"),
        ("deliveries", "order_number, address"),
        ("catalog", "sku, in_stock"),
        ("bookings", "id, customer_id, staff_id, start_at, status, updated_at"),
        ("payments_credited", "payment_id, amount"),
        ("referrals", "referred_customer_id, points"),
    ] {
        let cols: Vec<&str> = cols.split(", ").collect();
        let concat: Vec<String> = cols.iter().map(|c| format!("COALESCE(CAST({c} AS TEXT), '-')")).collect();
        let sql = format!("SELECT {} AS r FROM {table} ORDER BY 1", concat.join(" || '|' || "));
        for row in sqlx::query(&sql).fetch_all(store.pool()).await.unwrap() {
            rows.push(format!("{table}: {}", row.try_get::<String, _>("r").unwrap()));
        }
    }
    rows
}

/// 2025-01-11 + 23 months.
fn twenty_three_months() -> Duration {
    date("2026-12-11") - date("2025-01-11")
}

async fn a_shifted_import_names_the_shifted_months_in_titles(store: Store) {
    import::import(&store, &BusinessData::demo(), twenty_three_months()).await.unwrap();
    let builtin = Builtin::new(store.clone());
    let c1 = id("C1");
    let docs = builtin.documents(&c1).await.unwrap();
    let titled = |doc_id: &str| {
        let doc = docs.iter().find(|d| d.id == doc_id).unwrap();
        (doc.period.to_string(), doc.title.get(Locale::Ru).to_owned(), doc.title.get(Locale::En).to_owned())
    };
    assert_eq!(
        titled("D-1001"),
        (
            "2026-11".to_owned(),
            "Акт выполненных работ за ноябрь 2026".to_owned(),
            "Certificate of completion, November 2026".to_owned()
        )
    );
    assert_eq!(
        titled("D-1002"),
        ("2026-12".to_owned(), "Счёт на оплату за декабрь 2026".to_owned(), "Invoice for December 2026".to_owned())
    );
    assert_eq!(titled("D-1003").1, "Чек об оплате за январь 2026");
    // A title without a month keeps its words (the contract's number is not a date).
    assert_eq!(titled("D-1005").1, "Договор оказания услуг №2023-0615");
    // The charge for next month names the month after its shifted date.
    let charge = builtin.transactions(&c1, 10).await.unwrap().into_iter().find(|t| t.kind == "charge").unwrap();
    assert_eq!(charge.at.with_timezone(&chrono_tz::Asia::Almaty).date_naive(), date("2026-11-14"));
    assert_eq!(charge.title.get(Locale::Ru), "Тариф «Оптимальный», декабрь");
    assert_eq!(charge.title.get(Locale::En), "Optimal plan, December");

    // Back on the demo clock, the file's titles as written.
    import::import(&store, &BusinessData::demo(), Duration::zero()).await.unwrap();
    let docs = builtin.documents(&c1).await.unwrap();
    let act = docs.iter().find(|d| d.id == "D-1001").unwrap();
    assert_eq!(act.title.get(Locale::Ru), "Акт выполненных работ за декабрь 2024");
}

async fn customers_are_found_by_phone_and_an_unknown_phone_finds_nobody(store: Store) {
    let builtin = with_demo(&store).await;
    let c1 = builtin.find_by_phone(&Phone::parse("+77011234567").unwrap()).await.unwrap().unwrap();
    assert_eq!(c1.id, id("C1"));
    assert_eq!(c1.first_name, "Ерлан");
    assert_eq!(c1.name, "Ерлан Ахметов");
    assert_eq!(c1.email.as_deref(), Some("erlan@example.kz"));
    assert_eq!(c1.locale, Some(Locale::Ru));
    assert_eq!(c1.tags, vec!["vip".to_owned()]);

    let as_typed = builtin.find_by_phone(&Phone::parse("8 701 123 45 67").unwrap()).await.unwrap().unwrap();
    assert_eq!(as_typed.id, id("C1"));
    let c2 = builtin.find_by_phone(&Phone::parse("+77025556677").unwrap()).await.unwrap().unwrap();
    assert_eq!((c2.id.as_str(), c2.first_name.as_str(), c2.email), ("C2", "Ольга", None));
    let c3 = builtin.find_by_phone(&Phone::parse("+447700900123").unwrap()).await.unwrap().unwrap();
    assert_eq!((c3.id.as_str(), c3.first_name.as_str(), c3.locale), ("C3", "John", Some(Locale::En)));

    assert_eq!(builtin.find_by_phone(&Phone::parse("+77779998877").unwrap()).await.unwrap(), None);
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
    assert!(!c1.paused);

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
    assert_eq!(amounts, vec![dec("3000"), dec("-1379"), dec("2000"), dec("-890")]);
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
    assert!(builtin.orders(&id("C1"), 3, 2).await.unwrap().orders.is_empty());

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
    assert_eq!((courier.name.as_str(), courier.phone.as_deref()), ("Дамир", Some("+77770001122")));
    assert_eq!(delivery.eta_from, Some(utc("2025-01-12T05:00:00Z")));
    assert_eq!(delivery.eta_to, Some(utc("2025-01-12T09:00:00Z")));
    assert_eq!(delivery.location, Some((43.2389, 76.8897)));
    assert_eq!(delivery.note.unwrap().get(Locale::Ru), "Курьер позвонит за час до приезда");

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
    assert_eq!(builtin.order(&id("C1"), "78234' OR '1'='1").await.unwrap(), None);
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
    sqlx::query("UPDATE customers SET phone = 'garbage' WHERE id = 'C2'").execute(store.pool()).await.unwrap();
    sqlx::query("UPDATE orders SET created_at = 'yesterday' WHERE number = '78300'")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE accounts SET options = '{' WHERE customer_id = 'C3'").execute(store.pool()).await.unwrap();

    let err = builtin.profile(&id("C2")).await.unwrap_err().to_string();
    assert!(err.contains("customers.phone"), "{err}");
    let err = builtin.order(&id("C2"), "78300").await.unwrap_err().to_string();
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
    assert_eq!(business.working_hours.get("mon-sun").map(String::as_str), Some("10:00-19:00"));
    assert_eq!(business.demo_day, Some(date("2025-01-11")));
    assert_eq!(business.demo_now, Some(utc("2025-01-11T05:00:00Z")));

    let catalog = import::catalog_names(&store).await.unwrap();
    let services: Vec<&str> = catalog.services.iter().map(|n| n.code.as_str()).collect();
    assert_eq!(services, ["haircut", "manicure", "massage"]);
    let staff: Vec<&str> = catalog.staff.iter().map(|n| n.code.as_str()).collect();
    assert_eq!(staff, ["anna", "maria", "oleg"]);
    let massage = &catalog.services[2];
    assert!(massage.names.contains(&"Массаж".to_owned()) && massage.names.contains(&"Massage".to_owned()));
    assert_eq!(catalog, BusinessData::demo().catalog());
}

async fn users_consent_bindings_and_epochs_are_kept(store: Store) {
    assert_eq!(store.user(5001).await.unwrap(), None);
    let user = store.touch_user(5001, 5001).await.unwrap();
    assert_eq!((user.telegram_user_id, user.chat_id, user.locale, user.epoch), (5001, 5001, None, 0));
    let user = store.touch_user(5001, 7001).await.unwrap();
    assert_eq!(user.chat_id, 7001);

    store.set_user_locale(5001, Some(Locale::En)).await.unwrap();
    assert_eq!(store.user(5001).await.unwrap().unwrap().locale, Some(Locale::En));
    store.set_user_locale(5001, None).await.unwrap();
    assert_eq!(store.user(5001).await.unwrap().unwrap().locale, None);

    assert_eq!(store.bump_epoch(5001).await.unwrap(), 1);
    assert_eq!(store.bump_epoch(5001).await.unwrap(), 2);
    assert_eq!(store.touch_user(5001, 7001).await.unwrap().epoch, 2);
    assert_eq!(store.bump_epoch(5002).await.unwrap(), 1, "an unknown user starts at 1");

    assert_eq!(store.consent(5001).await.unwrap(), None);
    let at = Utc::now();
    store.record_consent(5001, "2025-01", at).await.unwrap();
    let consent = store.consent(5001).await.unwrap().unwrap();
    assert_eq!((consent.terms_version.as_str(), consent.accepted_at), ("2025-01", at));
    store.record_consent(5001, "2025-06", at).await.unwrap();
    assert_eq!(store.consent(5001).await.unwrap().unwrap().terms_version, "2025-06");

    let binding = Binding {
        telegram_user_id: 5001,
        chat_id: 7001,
        customer_id: id("C1"),
        phone: Phone::parse("+77011234567").unwrap(),
        first_name: "Ерлан".to_owned(),
        bound_at: Utc::now(),
        time_zone: None,
    };
    store.bind(&binding).await.unwrap();
    assert_eq!(store.binding(5001).await.unwrap(), Some(binding.clone()));
    assert_eq!(store.bindings_of(&id("C1")).await.unwrap(), vec![binding.clone()]);
    let rebound = Binding { customer_id: id("C2"), first_name: "Ольга".to_owned(), ..binding };
    store.bind(&rebound).await.unwrap();
    assert_eq!(store.binding(5001).await.unwrap(), Some(rebound));
    assert!(store.bindings_of(&id("C1")).await.unwrap().is_empty());

    assert!(store.unbind(5001, Utc::now()).await.unwrap());
    assert!(!store.unbind(5001, Utc::now()).await.unwrap());
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
                time_zone: None,
            })
            .await
            .unwrap();
        store.set_dialogue_state(user, r#"{"Idle":null}"#).await.unwrap();
        store.log_message(user, "in", "баланс", at).await.unwrap();
        store.log_message(user, "out", "3 450 ₸", at).await.unwrap();
        store
            .record_lead(
                &Lead {
                    telegram_user_id: user,
                    phone: Phone::parse("+77779998877").unwrap(),
                    first_name: "x".to_owned(),
                    created_at: at,
                },
                Duration::days(1),
            )
            .await
            .unwrap();
    }

    store.forget(5001, 5001, at + Duration::minutes(1)).await.unwrap();

    assert_eq!(store.binding(5001).await.unwrap(), None);
    assert_eq!(store.consent(5001).await.unwrap(), None);
    assert_eq!(store.dialogue_state(5001).await.unwrap(), None);
    assert!(store.chat_history(5001, 10).await.unwrap().is_empty());
    assert!(store.leads().await.unwrap().iter().all(|l| l.telegram_user_id != 5001));
    assert!(store.user(5001).await.unwrap().is_some(), "the epoch survives");
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
    store.set_dialogue_state(42, r#"{"AwaitingContact":{}}"#).await.unwrap();
    assert_eq!(store.dialogue_state(42).await.unwrap().as_deref(), Some(r#"{"AwaitingContact":{}}"#));
    store.set_dialogue_state(42, r#"{"Booking":{"service":"haircut"}}"#).await.unwrap();
    assert_eq!(store.dialogue_state(42).await.unwrap().as_deref(), Some(r#"{"Booking":{"service":"haircut"}}"#));
    assert_eq!(store.dialogue_state(43).await.unwrap(), None);
    store.remove_dialogue_state(42).await.unwrap();
    assert_eq!(store.dialogue_state(42).await.unwrap(), None);
    store.remove_dialogue_state(42).await.unwrap();
}

async fn chat_history_keeps_the_latest_messages_in_order_and_purges_old_ones(store: Store) {
    let start = utc("2025-01-11T05:00:00Z");
    for i in 0..5 {
        let direction = if i % 2 == 0 { "in" } else { "out" };
        store.log_message(7, direction, &format!("message {i}"), start + Duration::days(i)).await.unwrap();
    }
    store.log_message(8, "in", "other chat", start).await.unwrap();

    let last3 = store.chat_history(7, 3).await.unwrap();
    let texts: Vec<&str> = last3.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(texts, ["message 2", "message 3", "message 4"]);
    assert_eq!(last3[0].0, "in");
    assert_eq!(last3[1].0, "out");
    assert_eq!(last3[2].2, start + Duration::days(4));

    assert_eq!(store.purge_chat_history(start + Duration::days(2)).await.unwrap(), 3);
    assert_eq!(store.chat_history(7, 10).await.unwrap().len(), 3);
    assert!(store.chat_history(8, 10).await.unwrap().is_empty());
}

/// Many turns flushing at the same moment (`store::journal`, the group commit): every record
/// lands once, each chat's messages in the order they were written, and they share commits.
async fn turns_writing_at_once_all_land_each_chat_in_order(store: Store) {
    use cabinet::store::TurnWrite;
    const CHATS: i64 = 40;
    const TURNS: usize = 5;
    let at = utc("2025-01-11T05:00:00Z");
    let before = store.cost();
    let mut tasks = tokio::task::JoinSet::new();
    for chat in 1..=CHATS {
        let store = store.clone();
        tasks.spawn(async move {
            for turn in 0..TURNS {
                let writes = [
                    TurnWrite::Message { chat_id: chat, direction: "in", text: format!("{chat}:{turn}"), at },
                    TurnWrite::Request { at, telegram_user_id: chat, intent: "balance".to_owned(), escalated: false },
                    TurnWrite::Audit(AuditEntry {
                        at,
                        telegram_user_id: Some(chat),
                        customer_id: Some(id("C1")),
                        action: format!("read.{turn}"),
                        subject: None,
                        channel: "telegram".to_owned(),
                    }),
                ];
                store.write_all(&writes).await.unwrap();
                store.log_message(chat, "out", &format!("{chat}:{turn} answered"), at).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    for chat in 1..=CHATS {
        let history = store.chat_history(chat, 100).await.unwrap();
        let texts: Vec<String> = history.into_iter().map(|(_, text, _)| text).collect();
        let expected: Vec<String> =
            (0..TURNS).flat_map(|turn| [format!("{chat}:{turn}"), format!("{chat}:{turn} answered")]).collect();
        assert_eq!(texts, expected);
        let audit: Vec<String> = store.audit_entries(chat).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(audit, (0..TURNS).map(|turn| format!("read.{turn}")).collect::<Vec<_>>());
    }
    let requests: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM support_requests").fetch_one(store.pool().any()).await.unwrap().get("n");
    assert_eq!(requests, CHATS * TURNS as i64);
    let cost = store.cost();
    let handed = CHATS as u64 * TURNS as u64 * 4;
    assert_eq!(cost.journaled - before.journaled, handed);
    // Each hand-over is at most one transaction, however they were grouped.
    assert!(cost.transactions - before.transactions <= CHATS as u64 * TURNS as u64 * 2, "{cost:?}");
    println!(
        "{} turns' records ({handed} rows): {} statements, {} transactions",
        CHATS as usize * TURNS * 2,
        cost.statements - before.statements,
        cost.transactions - before.transactions
    );
}

/// The one read a turn makes of a user it does not keep in memory gives what the separate
/// reads give: their row, consent, binding and the outbox's record of them.
async fn a_user_snapshot_reads_what_the_separate_reads_do(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    assert_eq!(store.user_snapshot(5001).await.unwrap(), None);
    let user = store.touch_user(5001, 5001).await.unwrap();
    let snapshot = store.user_snapshot(5001).await.unwrap().unwrap();
    assert_eq!((snapshot.user, snapshot.has_consent, snapshot.binding, snapshot.recipient), (user, false, None, None));
    // Not current until the outbox has seen them in that language.
    assert!(!store.user_snapshot(5001).await.unwrap().unwrap().is_current(5001, Some("ru")));
    cabinet::notify::seen(&store, 5001, Some("ru"), at).await.unwrap();
    store.record_consent(5001, "v1", at).await.unwrap();
    let binding = binding_of(5001, "C1", at);
    store.bind(&binding).await.unwrap();
    let snapshot = store.user_snapshot(5001).await.unwrap().unwrap();
    assert_eq!(snapshot.user, store.user(5001).await.unwrap().unwrap());
    assert!(snapshot.has_consent);
    assert_eq!(snapshot.binding, store.binding(5001).await.unwrap());
    assert_eq!(snapshot.recipient, Some((Some("ru".to_owned()), false)));
    assert!(snapshot.is_current(5001, Some("ru")));
    // Another language, another chat, or a block since: the turn writes again.
    assert!(!snapshot.is_current(5001, Some("en")));
    assert!(!snapshot.is_current(6001, Some("ru")));
    // The outbox's 403 (`notify::sender`) marks them unreachable.
    sqlx::query("UPDATE notification_recipients SET unreachable_since = $1 WHERE telegram_user_id = 5001")
        .bind(cabinet::store::time_to_db(at))
        .execute(store.pool().any())
        .await
        .unwrap();
    let snapshot = store.user_snapshot(5001).await.unwrap().unwrap();
    assert_eq!(snapshot.recipient, Some((Some("ru".to_owned()), true)));
    assert!(!snapshot.is_current(5001, Some("ru")));
}

/// One turn's bad record fails that turn alone: the batch it was in is written again turn by
/// turn (SQLite: a trigger refuses one message).
#[tokio::test]
async fn a_bad_record_fails_its_own_turn_and_no_other() {
    use cabinet::store::TurnWrite;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("cabinet.db").display())).await.unwrap();
    migrate(&store).await;
    sqlx::query(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON chat_messages WHEN NEW.text = 'poison' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .execute(store.pool().any())
    .await
    .unwrap();
    let at = utc("2025-01-11T05:00:00Z");
    let mut tasks = tokio::task::JoinSet::new();
    for chat in 1..=60_i64 {
        let store = store.clone();
        tasks.spawn(async move {
            let text = if chat == 30 { "poison".to_owned() } else { format!("hello {chat}") };
            let writes = [
                TurnWrite::Message { chat_id: chat, direction: "in", text, at },
                TurnWrite::Request { at, telegram_user_id: chat, intent: "balance".to_owned(), escalated: false },
            ];
            (chat, store.write_all(&writes).await.is_ok())
        });
    }
    let mut failed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (chat, ok) = done.unwrap();
        if !ok {
            failed.push(chat);
        }
    }
    assert_eq!(failed, [30]);
    for chat in 1..=60_i64 {
        let history = store.chat_history(chat, 10).await.unwrap();
        assert_eq!(history.len(), usize::from(chat != 30), "chat {chat}");
    }
    // The refused turn's request went with it: its records are one transaction.
    let requests: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM support_requests").fetch_one(store.pool().any()).await.unwrap().get("n");
    assert_eq!(requests, 59);
    store.close().await;
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
    assert_eq!(store.audit_entries(5001).await.unwrap(), entries[..2].to_vec());
    assert_eq!(store.audit_entries(5002).await.unwrap(), entries[2..3].to_vec());
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
    let day = Duration::days(1);
    assert!(store.record_lead(&first, day).await.unwrap(), "staff hear of a new lead");
    assert_eq!(store.leads().await.unwrap(), vec![first.clone()]);

    let again = Lead { created_at: utc("2025-01-11T06:00:00Z"), ..first.clone() };
    assert!(!store.record_lead(&again, day).await.unwrap(), "not again within a day");
    assert_eq!(store.leads().await.unwrap(), vec![again.clone()]);
    let next_day = Lead { created_at: utc("2025-01-12T05:00:00Z"), ..first.clone() };
    assert!(store.record_lead(&next_day, day).await.unwrap(), "again a day after the last notice");
    assert!(!store.record_lead(&Lead { created_at: utc("2025-01-12T07:00:00Z"), ..first.clone() }, day).await.unwrap());

    let other_phone = Lead { phone: Phone::parse("+77770000001").unwrap(), ..again.clone() };
    assert!(store.record_lead(&other_phone, day).await.unwrap(), "another phone is another lead");
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

// --- self-service: the built-in adapter ----------------------------------------------------

async fn subscription_changes_are_quoted_applied_refused_and_repeated_once(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let codes =
        |list: Vec<cabinet::adapters::Tariff>| list.into_iter().map(|t| (t.code, t.monthly_fee)).collect::<Vec<_>>();
    assert_eq!(
        codes(builtin.tariffs().await.unwrap()),
        [("basic".to_owned(), dec("590")), ("optimal".to_owned(), dec("890")), ("max".to_owned(), dec("1490"))]
    );
    assert_eq!(codes(builtin.tariff_options().await.unwrap()), [("tv".to_owned(), dec("300"))]);

    let c1 = id("C1");
    let tariff = |code: &str| SubscriptionChange::Tariff(code.to_owned());
    let add = |code: &str| SubscriptionChange::AddOption(code.to_owned());
    let remove = |code: &str| SubscriptionChange::RemoveOption(code.to_owned());

    // Quotes: the fee model is the tariff plus options (C2: 590 + 300, C3: 1490 + 300).
    let quote = |who: &'static str, change: SubscriptionChange| {
        let builtin = builtin.clone();
        async move { builtin.quote_change(&id(who), &change).await.unwrap() }
    };
    assert_eq!(quote("C1", tariff("max")).await, done("1490", "2025-01-15"));
    assert_eq!(quote("C1", add("tv")).await, done("1190", "2025-01-11"));
    assert_eq!(quote("C1", SubscriptionChange::Pause).await, done("0", "2025-01-12"));
    assert_eq!(quote("C2", remove("tv")).await, done("590", "2025-01-13"));
    assert_eq!(quote("C2", tariff("optimal")).await, done("1190", "2025-01-13"));
    assert_eq!(quote("C3", tariff("basic")).await, done("890", "2025-02-01"));
    assert_eq!(quote("C3", remove("tv")).await, done("1490", "2025-02-01"));

    // Refusals.
    assert_eq!(quote("C1", tariff("optimal")).await, refused(ChangeRefusal::SameTariff));
    assert_eq!(quote("C1", tariff("gold")).await, refused(ChangeRefusal::Unknown));
    assert_eq!(quote("C1", add("radio")).await, refused(ChangeRefusal::Unknown));
    assert_eq!(quote("C1", remove("radio")).await, refused(ChangeRefusal::Unknown));
    assert_eq!(quote("C1", remove("tv")).await, refused(ChangeRefusal::OptionAbsent));
    assert_eq!(quote("C2", add("tv")).await, refused(ChangeRefusal::OptionPresent));
    assert_eq!(quote("C1", SubscriptionChange::Resume).await, refused(ChangeRefusal::NotPaused));
    assert_eq!(quote("C9", SubscriptionChange::Pause).await, refused(ChangeRefusal::NoSubscription));

    // A quote changes nothing.
    let account = builtin.account(&c1).await.unwrap().unwrap();
    assert_eq!(account.tariff.unwrap().code, "optimal");
    assert_eq!(account.next_charge.unwrap().amount, dec("890"));
    assert_eq!(count(&store, "subscription_changes").await, 0);

    // Applying: the account changes, the change is recorded.
    assert_eq!(builtin.apply_change(&c1, &tariff("max"), "k1").await.unwrap(), done("1490", "2025-01-15"));
    let account = builtin.account(&c1).await.unwrap().unwrap();
    assert_eq!(account.tariff.unwrap().code, "max");
    let next = account.next_charge.unwrap();
    assert_eq!((next.date, next.amount), (date("2025-01-15"), dec("1490")));
    assert_eq!(quote("C1", tariff("max")).await, refused(ChangeRefusal::SameTariff));

    // The same key answers with the first outcome and applies nothing, whatever it asks.
    assert_eq!(builtin.apply_change(&c1, &tariff("max"), "k1").await.unwrap(), done("1490", "2025-01-15"));
    assert_eq!(builtin.apply_change(&c1, &SubscriptionChange::Pause, "k1").await.unwrap(), done("1490", "2025-01-15"));
    assert!(!builtin.account(&c1).await.unwrap().unwrap().paused);
    assert_eq!(count(&store, "subscription_changes").await, 1);
    // The same key of another customer is another change.
    assert_eq!(builtin.apply_change(&id("C3"), &add("tv"), "k1").await.unwrap(), refused(ChangeRefusal::OptionPresent));
    assert_eq!(count(&store, "subscription_changes").await, 2);

    // Options on and off.
    assert_eq!(builtin.apply_change(&c1, &add("tv"), "k2").await.unwrap(), done("1790", "2025-01-11"));
    let account = builtin.account(&c1).await.unwrap().unwrap();
    assert_eq!(account.options.iter().map(|o| o.code.as_str()).collect::<Vec<_>>(), ["tv"]);
    assert_eq!(account.next_charge.unwrap().amount, dec("1790"));
    assert_eq!(builtin.apply_change(&c1, &remove("tv"), "k3").await.unwrap(), done("1490", "2025-01-15"));
    assert!(builtin.account(&c1).await.unwrap().unwrap().options.is_empty());

    // Pause and resume; a refusal is recorded and repeated too.
    let c2 = id("C2");
    assert_eq!(builtin.apply_change(&c2, &SubscriptionChange::Pause, "p1").await.unwrap(), done("0", "2025-01-12"));
    let account = builtin.account(&c2).await.unwrap().unwrap();
    assert!(account.paused);
    assert_eq!(account.next_charge.unwrap().amount, dec("0"));
    assert_eq!(quote("C2", tariff("max")).await, done("0", "2025-01-13"), "nothing to pay while paused");
    assert_eq!(
        builtin.apply_change(&c2, &SubscriptionChange::Pause, "p2").await.unwrap(),
        refused(ChangeRefusal::AlreadyPaused)
    );
    assert_eq!(
        builtin.apply_change(&c2, &SubscriptionChange::Pause, "p2").await.unwrap(),
        refused(ChangeRefusal::AlreadyPaused)
    );
    assert_eq!(builtin.apply_change(&c2, &SubscriptionChange::Resume, "p3").await.unwrap(), done("890", "2025-01-11"));
    let account = builtin.account(&c2).await.unwrap().unwrap();
    assert!(!account.paused);
    assert_eq!(account.next_charge.unwrap().amount, dec("890"));

    // A next charge date already past: from the first of next month.
    sqlx::query("UPDATE accounts SET next_charge_date = '2025-01-05' WHERE customer_id = 'C3'")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(quote("C3", tariff("basic")).await, done("890", "2025-02-01"));
    sqlx::query("UPDATE accounts SET next_charge_date = '2025-01-11' WHERE customer_id = 'C3'")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(quote("C3", tariff("basic")).await, done("890", "2025-02-01"), "today is not ahead");
    // No tariff, no subscription.
    sqlx::query("UPDATE accounts SET tariff = NULL WHERE customer_id = 'C3'").execute(store.pool()).await.unwrap();
    assert_eq!(quote("C3", tariff("basic")).await, refused(ChangeRefusal::NoSubscription));
}

async fn concurrent_changes_apply_once(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    // A double tap: one key, one change.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let builtin = builtin.clone();
            tokio::spawn(async move {
                builtin.apply_change(&id("C1"), &SubscriptionChange::AddOption("tv".to_owned()), "tap").await.unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), done("1190", "2025-01-11"));
    }
    let account = builtin.account(&id("C1")).await.unwrap().unwrap();
    assert_eq!(account.options.len(), 1);
    assert_eq!(count(&store, "subscription_changes").await, 1);

    // Different keys, one pause: the first pauses, the others find it paused.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let builtin = builtin.clone();
            tokio::spawn(async move {
                builtin.apply_change(&id("C3"), &SubscriptionChange::Pause, &format!("pause-{i}")).await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| **o == done("0", "2025-01-12")).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == refused(ChangeRefusal::AlreadyPaused)).count(), 7, "{outcomes:?}");
    assert!(builtin.account(&id("C3")).await.unwrap().unwrap().paused);
}

async fn payment_links_fill_the_template(store: Store) {
    let builtin = with_demo(&store).await;
    assert_eq!(
        builtin.payment_link(&id("C1"), dec("2000"), "ref-1").await.unwrap(),
        "https://pay.example.com/checkout?account=C1&amount=2000&ref=ref-1"
    );
    let custom = builtin.clone().with_settings(BuiltinSettings {
        payment_url: "https://pay.test/{customer}/{currency}?sum={amount}&r={reference}".to_owned(),
        ..BuiltinSettings::default()
    });
    assert_eq!(
        custom.payment_link(&id("C2"), dec("1500.5"), "a b&c={amount}").await.unwrap(),
        "https://pay.test/C2/KZT?sum=1500.50&r=a+b%26c%3D%7Bamount%7D"
    );
    assert!(builtin.payment_link(&id("C1"), dec("0"), "ref-2").await.is_err());
    assert!(builtin.payment_link(&id("C1"), dec("-5"), "ref-3").await.is_err());
}

async fn a_payment_is_credited_once_even_concurrently(store: Store) {
    let (builtin, clock) = with_demo_at_demo_time(&store).await;
    let title = LocalizedText(BTreeMap::from([
        ("ru".to_owned(), "Пополнение через Telegram".to_owned()),
        ("en".to_owned(), "Top-up via Telegram".to_owned()),
    ]));
    let c1 = id("C1");
    assert_eq!(builtin.credit_payment(&c1, dec("500.50"), "tg-1", &title).await.unwrap(), Some(dec("3950.50")));
    assert_eq!(builtin.credit_payment(&c1, dec("500.50"), "tg-1", &title).await.unwrap(), None);
    assert_eq!(builtin.account(&c1).await.unwrap().unwrap().balance, dec("3950.50"));
    let latest = builtin.transactions(&c1, 10).await.unwrap();
    assert_eq!(latest.len(), 5);
    assert_eq!(
        (latest[0].at, latest[0].amount, latest[0].kind.as_str(), &latest[0].title),
        (clock.now(), dec("500.50"), "top_up", &title)
    );
    assert_eq!(count(&store, "payments_credited").await, 1);

    // One payment id from many callers: one credit.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (builtin, title) = (builtin.clone(), title.clone());
            tokio::spawn(async move { builtin.credit_payment(&id("C2"), dec("100"), "tg-2", &title).await.unwrap() })
        })
        .collect();
    let mut credited = Vec::new();
    for task in tasks {
        credited.push(task.await.unwrap());
    }
    assert_eq!(credited.iter().flatten().collect::<Vec<_>>(), [&dec("250")], "{credited:?}");
    assert_eq!(builtin.account(&id("C2")).await.unwrap().unwrap().balance, dec("250"));
    assert_eq!(builtin.transactions(&id("C2"), 10).await.unwrap().len(), 2);

    // Different payments at once: each credited, each its own transaction.
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let (builtin, title) = (builtin.clone(), title.clone());
            tokio::spawn(async move {
                builtin.credit_payment(&id("C3"), dec("10"), &format!("tg-3-{i}"), &title).await.unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_some());
    }
    assert_eq!(builtin.account(&id("C3")).await.unwrap().unwrap().balance, dec("12050"));
    assert_eq!(builtin.transactions(&id("C3"), 10).await.unwrap().len(), 5);

    // No account, no credit, and the payment id stays free.
    assert!(builtin.credit_payment(&id("C9"), dec("1"), "tg-9", &title).await.is_err());
    assert_eq!(count(&store, "payments_credited").await, 1 + 1 + 5);
}

async fn documents_are_scoped_to_their_customer_and_printable(store: Store) {
    let builtin = with_demo(&store).await;
    let ids: Vec<String> = builtin.documents(&id("C1")).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(ids, ["D-1002", "D-1001", "D-1004", "D-1003", "D-1005"]);
    assert!(builtin.documents(&id("C3")).await.unwrap().is_empty());

    assert_eq!(builtin.document(&id("C2"), "D-1001").await.unwrap(), None);
    assert_eq!(builtin.file(&id("C2"), "D-1001").await.unwrap(), None);
    assert_eq!(builtin.file(&id("C1"), "D-9999").await.unwrap(), None);
    let info = builtin.document(&id("C1"), "D-1001").await.unwrap().unwrap();
    assert_eq!((info.kind.as_str(), info.period), ("act", Period::parse("2024-12").unwrap()));
    assert_eq!(info.title.get(Locale::En), "Certificate of completion, December 2024");

    let data = |who: &'static str, doc: &'static str| {
        let builtin = builtin.clone();
        async move {
            match builtin.file(&id(who), doc).await.unwrap() {
                Some(DocumentFile::Data(data)) => data,
                other => panic!("{doc}: {other:?}"),
            }
        }
    };
    let act = data("C1", "D-1001").await;
    assert_eq!(act.info, info);
    assert_eq!(act.issued, date("2024-12-31"));
    assert_eq!(act.customer_name, "Ерлан Ахметов");
    assert_eq!(act.customer_lines, ["ул. Ленина 15, кв. 42"]);
    assert_eq!(act.account.as_deref(), Some("C1"));
    assert_eq!(act.lines.len(), 1);
    assert_eq!(act.lines[0].description.get(Locale::Ru), "Услуги по тарифу «Оптимальный»");
    assert_eq!(act.lines[0].description.get(Locale::En), "Optimal plan");
    assert_eq!((act.lines[0].qty, act.lines[0].unit_price, act.lines[0].amount), (dec("1"), dec("890"), dec("890")));
    assert_eq!((act.total, act.currency.as_str()), (dec("890"), "KZT"));

    // Her act: the tariff and the option; no address on file.
    let act = data("C2", "D-2001").await;
    assert!(act.customer_lines.is_empty());
    assert_eq!(act.account.as_deref(), Some("C2"));
    let lines: Vec<(&str, Decimal)> = act.lines.iter().map(|l| (l.description.get(Locale::En), l.amount)).collect();
    assert_eq!(lines, [("Basic plan", dec("590")), ("TV pack option", dec("300"))]);
    assert_eq!(act.lines[1].description.get(Locale::Ru), "Опция «ТВ-пакет»");
    assert_eq!(act.total, dec("890"));

    // A receipt lists the period's top-ups; without any, the tariff.
    let receipt = data("C1", "D-1004").await;
    assert_eq!(receipt.lines.len(), 1);
    assert_eq!(receipt.lines[0].description.get(Locale::Ru), "Пополнение картой **4242");
    assert_eq!((receipt.total, receipt.issued), (dec("2000"), date("2024-12-31")));
    let receipt = data("C1", "D-1003").await;
    assert_eq!((receipt.total, receipt.issued), (dec("890"), date("2024-02-29")));

    let contract = data("C1", "D-1005").await;
    assert_eq!(contract.issued, date("2023-06-01"));
    assert_eq!(contract.total, dec("890"));
    let invoice = data("C1", "D-1002").await;
    assert_eq!((invoice.issued, invoice.total), (date("2025-01-31"), dec("890")));
}

async fn a_repeat_order_is_built_from_the_last_delivered_one(store: Store) {
    let (builtin, clock) = with_demo_at_demo_time(&store).await;
    let last = builtin.last_delivered_order(&id("C1")).await.unwrap().unwrap();
    assert_eq!(last.number, "78110");
    let lines: Vec<(&str, i64)> = last.items.iter().map(|i| (i.sku.as_str(), i.qty)).collect();
    assert_eq!(lines, [("COF-LAV-1KG", 1), ("MILK-32", 1)]);
    assert_eq!(last.delivery.unwrap().address.as_deref(), Some("ул. Ленина 15, кв. 42"));
    assert_eq!(builtin.last_delivered_order(&id("C2")).await.unwrap(), None, "78300 is not delivered");
    assert_eq!(builtin.last_delivered_order(&id("C3")).await.unwrap(), None);

    let products =
        builtin.products(&["MILK-32".to_owned(), "DOG-FOOD".to_owned(), "COF-LAV-1KG".to_owned()]).await.unwrap();
    let found: Vec<(&str, Decimal, i64)> = products.iter().map(|p| (p.sku.as_str(), p.price, p.in_stock)).collect();
    assert_eq!(found, [("MILK-32", dec("89"), 200), ("COF-LAV-1KG", dec("1290"), 40)]);
    assert_eq!(products[0].name.get(Locale::En), "Milk 3.2%");

    let repeat = new_order(&[("COF-LAV-1KG", 1), ("MILK-32", 2)], None);
    let created = builtin.create_order(&id("C1"), &repeat, "k1").await.unwrap().unwrap();
    assert_eq!(
        created,
        CreatedOrder { number: "78301".to_owned(), total: dec("1468"), currency: "KZT".to_owned(), new: true }
    );
    assert_eq!((stock(&store, "COF-LAV-1KG").await, stock(&store, "MILK-32").await), (39, 198));
    let order = builtin.order(&id("C1"), "78301").await.unwrap().unwrap();
    assert_eq!((order.status, order.created, order.total), (OrderStatus::New, clock.now(), dec("1468")));
    let items: Vec<(&str, i64, Decimal)> = order.items.iter().map(|i| (i.sku.as_str(), i.qty, i.price)).collect();
    assert_eq!(items, [("COF-LAV-1KG", 1, dec("1290")), ("MILK-32", 2, dec("89"))]);
    assert_eq!(
        order.delivery.unwrap().address.as_deref(),
        Some("ул. Ленина 15, кв. 42"),
        "the customer's address when none is given"
    );
    assert_eq!(builtin.order(&id("C2"), "78301").await.unwrap(), None);

    // The same key: the same order, nothing taken twice.
    let again = builtin.create_order(&id("C1"), &repeat, "k1").await.unwrap().unwrap();
    assert_eq!(again, CreatedOrder { new: false, ..created.clone() });
    // A caller that no longer has the lines (the draft is gone) still finds the order by key.
    let empty = NewOrder { lines: Vec::new(), address: None };
    let found = builtin.create_order(&id("C1"), &empty, "k1").await.unwrap().unwrap();
    assert_eq!(found, CreatedOrder { new: false, ..created.clone() });
    assert_eq!((stock(&store, "COF-LAV-1KG").await, stock(&store, "MILK-32").await), (39, 198));
    assert_eq!(count(&store, "orders").await, 5);

    // The same key of another customer is another order, to the address given.
    let hers = builtin
        .create_order(&id("C2"), &new_order(&[("MILK-32", 1)], Some("пр. Абая 10, кв. 5")), "k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((hers.number.as_str(), hers.total, hers.new), ("78302", dec("89"), true));
    let order = builtin.order(&id("C2"), "78302").await.unwrap().unwrap();
    assert_eq!(order.delivery.unwrap().address.as_deref(), Some("пр. Абая 10, кв. 5"));

    // Refusals write nothing.
    let refusal = |lines: &'static [(&'static str, i64)]| {
        let builtin = builtin.clone();
        async move { builtin.create_order(&id("C1"), &new_order(lines, None), "refused").await.unwrap().unwrap_err() }
    };
    assert_eq!(refusal(&[("MILK-32", 1), ("BREAD-W", 2)]).await, OrderRefusal::OutOfStock(vec!["BREAD-W".to_owned()]));
    assert_eq!(
        refusal(&[("DOG-FOOD", 1), ("COF-MACH", 4)]).await,
        OrderRefusal::OutOfStock(vec!["DOG-FOOD".to_owned(), "COF-MACH".to_owned()])
    );
    assert_eq!(
        refusal(&[("COF-MACH", 2), ("COF-MACH", 2)]).await,
        OrderRefusal::OutOfStock(vec!["COF-MACH".to_owned()]),
        "two lines of one product add up"
    );
    assert_eq!(refusal(&[]).await, OrderRefusal::Empty);
    assert_eq!(refusal(&[("MILK-32", 0)]).await, OrderRefusal::Empty);
    assert_eq!(count(&store, "orders").await, 6);
    assert_eq!(stock(&store, "MILK-32").await, 197);

    // The last unit: taken once.
    let machine = builtin.create_order(&id("C3"), &new_order(&[("COF-MACH", 3)], None), "m1").await.unwrap().unwrap();
    assert_eq!((machine.number.as_str(), machine.total), ("78303", dec("269970")));
    assert_eq!(stock(&store, "COF-MACH").await, 0);
    assert!(builtin.order(&id("C3"), "78303").await.unwrap().unwrap().delivery.is_none());
    assert_eq!(
        builtin.create_order(&id("C3"), &new_order(&[("COF-MACH", 1)], None), "m2").await.unwrap(),
        Err(OrderRefusal::OutOfStock(vec!["COF-MACH".to_owned()]))
    );
}

async fn a_double_tap_creates_one_order(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let builtin = builtin.clone();
            tokio::spawn(async move {
                builtin.create_order(&id("C1"), &new_order(&[("MILK-32", 1)], None), "tap").await.unwrap().unwrap()
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.unwrap());
    }
    assert!(created.iter().all(|c| c.number == "78301"), "{created:?}");
    assert_eq!(created.iter().filter(|c| c.new).count(), 1, "{created:?}");
    assert_eq!(count(&store, "orders").await, 5);
    assert_eq!(stock(&store, "MILK-32").await, 199);

    // Different orders at once: each its own number.
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let builtin = builtin.clone();
            tokio::spawn(async move {
                builtin
                    .create_order(&id("C2"), &new_order(&[("MILK-32", 1)], None), &format!("order-{i}"))
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    let mut numbers = HashSet::new();
    for task in tasks {
        let order = task.await.unwrap();
        assert!(order.new);
        numbers.insert(order.number);
    }
    let expected: HashSet<String> = (78302..78307).map(|n: i64| n.to_string()).collect();
    assert_eq!(numbers, expected);
    assert_eq!(stock(&store, "MILK-32").await, 194);
}

async fn an_offer_follows_an_old_enough_purchase(store: Store) {
    let (builtin, clock) = with_demo_at_demo_time(&store).await;
    let offer = builtin.offer(&id("C1")).await.unwrap().unwrap();
    assert_eq!(offer.id, "COF-MACH->COF-LAV-1KG");
    assert_eq!(offer.sku.as_deref(), Some("COF-LAV-1KG"));
    let ru = offer.text.get(Locale::Ru);
    assert!(ru.contains("Кофемашина DeLonghi") && ru.contains("Кофе Lavazza 1 кг"), "{ru}");
    assert!(ru.contains("больше месяца"), "{ru}");
    let en = offer.text.get(Locale::En);
    assert!(en.contains("DeLonghi coffee machine") && en.contains("Lavazza coffee 1 kg"), "{en}");
    assert_eq!(builtin.offer(&id("C2")).await.unwrap(), None);
    assert_eq!(builtin.offer(&id("C3")).await.unwrap(), None);

    // Bought 2024-12-10 11:00 in Almaty: 21 days later, not before.
    clock.set(utc("2024-12-31T05:59:00Z"));
    assert_eq!(builtin.offer(&id("C1")).await.unwrap(), None);
    clock.set(utc("2024-12-31T06:00:00Z"));
    let offer = builtin.offer(&id("C1")).await.unwrap().unwrap();
    assert!(offer.text.get(Locale::En).contains("over three weeks"), "{:?}", offer.text);

    // Nothing to offer when the product is out of stock or the purchase was cancelled.
    sqlx::query("UPDATE catalog SET in_stock = 0 WHERE sku = 'COF-LAV-1KG'").execute(store.pool()).await.unwrap();
    assert_eq!(builtin.offer(&id("C1")).await.unwrap(), None);
    sqlx::query("UPDATE catalog SET in_stock = 5 WHERE sku = 'COF-LAV-1KG'").execute(store.pool()).await.unwrap();
    assert!(builtin.offer(&id("C1")).await.unwrap().is_some());
    sqlx::query("UPDATE orders SET status = 'cancelled' WHERE number = '77501'").execute(store.pool()).await.unwrap();
    assert_eq!(builtin.offer(&id("C1")).await.unwrap(), None);

    // Rules come from the settings (78234, with cat food, is a day old).
    clock.set(utc("2025-01-11T05:00:00Z"));
    let rules = builtin.clone().with_settings(BuiltinSettings {
        offers: vec![cabinet::adapters::builtin::OfferRule {
            bought: "CAT-FOOD-2KG".to_owned(),
            offer: "CAT-FOOD-2KG".to_owned(),
            after_days: 0,
        }],
        ..BuiltinSettings::default()
    });
    let offer = rules.offer(&id("C1")).await.unwrap().unwrap();
    assert_eq!(offer.id, "CAT-FOOD-2KG->CAT-FOOD-2KG");
}

async fn referral_codes_are_stable_and_credit_once(store: Store) {
    let builtin = with_demo(&store).await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let builtin = builtin.clone();
            tokio::spawn(async move { builtin.referral_code(&id("C1")).await.unwrap() })
        })
        .collect();
    let mut codes = HashSet::new();
    for task in tasks {
        codes.insert(task.await.unwrap());
    }
    assert_eq!(codes.len(), 1, "{codes:?}");
    let code = codes.into_iter().next().unwrap();
    assert_eq!(code.len(), 8);
    assert!(code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{code}");
    assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
    assert_eq!(builtin.referral_code(&id("C1")).await.unwrap(), code);
    let hers = builtin.referral_code(&id("C2")).await.unwrap();
    assert_ne!(hers, code);
    assert!(builtin.referral_code(&id("C9")).await.is_err());

    // Referred by C1 from many callers at once: one credit.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (builtin, code) = (builtin.clone(), code.clone());
            tokio::spawn(async move { builtin.credit_referral(&code, &id("C2")).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let credited = ReferralOutcome::Credited { referrer: id("C1"), points: 500 };
    assert_eq!(outcomes.iter().filter(|o| **o == credited).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == ReferralOutcome::AlreadyReferred).count(), 7, "{outcomes:?}");
    assert_eq!(builtin.account(&id("C1")).await.unwrap().unwrap().bonus_points, 1700);

    // Referred once, whoever refers again.
    assert_eq!(builtin.credit_referral(&code, &id("C2")).await.unwrap(), ReferralOutcome::AlreadyReferred);
    let c3_code = builtin.referral_code(&id("C3")).await.unwrap();
    assert_eq!(builtin.credit_referral(&c3_code, &id("C2")).await.unwrap(), ReferralOutcome::AlreadyReferred);
    assert_eq!(builtin.credit_referral(&code, &id("C1")).await.unwrap(), ReferralOutcome::SelfReferral);
    assert_eq!(builtin.credit_referral("ZZZZ2345", &id("C3")).await.unwrap(), ReferralOutcome::UnknownCode);
    assert_eq!(builtin.credit_referral("", &id("C3")).await.unwrap(), ReferralOutcome::UnknownCode);
    assert_eq!(builtin.credit_referral("' OR 1=1 --", &id("C3")).await.unwrap(), ReferralOutcome::UnknownCode);
    // Typed in lower case, with spaces.
    let typed = format!(" {} ", hers.to_lowercase());
    let points = builtin.clone().with_settings(BuiltinSettings { referral_points: 50, ..BuiltinSettings::default() });
    assert_eq!(
        points.credit_referral(&typed, &id("C3")).await.unwrap(),
        ReferralOutcome::Credited { referrer: id("C2"), points: 50 }
    );
    assert_eq!(builtin.account(&id("C2")).await.unwrap().unwrap().bonus_points, 50);
    assert_eq!(builtin.account(&id("C1")).await.unwrap().unwrap().bonus_points, 1700);
    assert_eq!(count(&store, "referrals").await, 2);
}

async fn a_referral_never_closes_a_loop(store: Store) {
    let builtin = with_demo(&store).await;
    let code = |who: &'static str| {
        let builtin = builtin.clone();
        async move { builtin.referral_code(&id(who)).await.unwrap() }
    };
    let (c1_code, c2_code, c3_code) = (code("C1").await, code("C2").await, code("C3").await);
    let points = |who: &'static str| {
        let builtin = builtin.clone();
        async move { builtin.account(&id(who)).await.unwrap().unwrap().bonus_points }
    };
    let (c1_points, c2_points) = (points("C1").await, points("C2").await);
    assert!(matches!(builtin.credit_referral(&c1_code, &id("C2")).await.unwrap(), ReferralOutcome::Credited { .. }));
    // C1 referred C2: C2's code for C1 would close the loop.
    assert_eq!(
        builtin.credit_referral(&c2_code, &id("C1")).await.unwrap(),
        ReferralOutcome::Loop { referrer: id("C2") }
    );
    // Further round: C2 refers C3, then C3's code for C1.
    assert!(matches!(builtin.credit_referral(&c2_code, &id("C3")).await.unwrap(), ReferralOutcome::Credited { .. }));
    assert_eq!(
        builtin.credit_referral(&c3_code, &id("C1")).await.unwrap(),
        ReferralOutcome::Loop { referrer: id("C3") }
    );
    assert_eq!(points("C1").await, c1_points + 500);
    assert_eq!(points("C2").await, c2_points + 500);
    // A refused loop leaves no row: C1 has not been referred.
    assert_eq!(count(&store, "referrals").await, 2);
}

// --- self-service: cabinet's own records ---------------------------------------------------

async fn document_file_ids_are_cached_per_variant(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let c1 = id("C1");
    assert_eq!(store.cached_file_id(&c1, "D-1001", "ru").await.unwrap(), None);
    store.cache_file_id(&c1, "D-1001", "ru", "file-1", at).await.unwrap();
    assert_eq!(store.cached_file_id(&c1, "D-1001", "ru").await.unwrap().as_deref(), Some("file-1"));
    store.cache_file_id(&c1, "D-1001", "ru", "file-2", at + Duration::minutes(1)).await.unwrap();
    assert_eq!(store.cached_file_id(&c1, "D-1001", "ru").await.unwrap().as_deref(), Some("file-2"));
    assert_eq!(store.cached_file_id(&c1, "D-1001", "en").await.unwrap(), None);
    assert_eq!(store.cached_file_id(&id("C2"), "D-1001", "ru").await.unwrap(), None);
    assert_eq!(store.cached_file_id(&c1, "D-1002", "ru").await.unwrap(), None);
    assert_eq!(count(&store, "document_files").await, 1);
}

async fn otp_challenges_are_kept_per_customer_and_outlive_forget(store: Store) {
    let at = utc("2025-01-11T05:00:00.123456789Z");
    let (c1, c2) = (id("C1"), id("C2"));
    let first = OtpRecord {
        code_hash: "hash-1".to_owned(),
        purpose: "bind".to_owned(),
        sent_at: at,
        expires_at: at + Duration::minutes(5),
        attempts: 0,
        locked_until: None,
    };
    assert_eq!(store.otp(&c1).await.unwrap(), None);
    store.put_otp(&c1, &first).await.unwrap();
    assert_eq!(store.otp(&c1).await.unwrap(), Some(first.clone()));
    let locked = OtpRecord {
        attempts: 3,
        locked_until: Some(at + Duration::minutes(15)),
        purpose: "change".to_owned(),
        ..first.clone()
    };
    store.put_otp(&c1, &locked).await.unwrap();
    assert_eq!(store.otp(&c1).await.unwrap(), Some(locked.clone()));
    store.delete_otp(&c1).await.unwrap();
    assert_eq!(store.otp(&c1).await.unwrap(), None);
    store.delete_otp(&c1).await.unwrap();

    // A cleared code keeps the tries and the lock.
    store.put_otp(&c2, &locked).await.unwrap();
    store.clear_otp_code(&c2).await.unwrap();
    store.clear_otp_code(&id("C9")).await.unwrap();
    let cleared = OtpRecord { code_hash: String::new(), ..locked.clone() };
    assert_eq!(store.otp(&c2).await.unwrap(), Some(cleared.clone()));

    // /forget of the account bound to C1 leaves C1's challenge: it is the customer's.
    store.put_otp(&c1, &locked).await.unwrap();
    store
        .bind(&Binding {
            telegram_user_id: 5001,
            chat_id: 5001,
            customer_id: c1.clone(),
            phone: Phone::parse("+77011234567").unwrap(),
            first_name: "Ерлан".to_owned(),
            bound_at: at,
            time_zone: None,
        })
        .await
        .unwrap();
    store.forget(5001, 5001, at).await.unwrap();
    assert!(store.binding(5001).await.unwrap().is_none());
    assert_eq!(store.otp(&c1).await.unwrap(), Some(locked));
    assert_eq!(store.otp(&c2).await.unwrap(), Some(cleared));
}

async fn otp_wrong_codes_count_at_once_and_lock_at_the_last_try(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let until = at + Duration::minutes(15);
    let c1 = id("C1");
    assert_eq!(store.count_wrong_otp(&c1, 3, until).await.unwrap(), None);
    let sent = OtpRecord {
        code_hash: "hash-1".to_owned(),
        purpose: "subscription".to_owned(),
        sent_at: at,
        expires_at: at + Duration::minutes(5),
        attempts: 0,
        locked_until: None,
    };
    store.put_otp(&c1, &sent).await.unwrap();
    let once = store.count_wrong_otp(&c1, 3, until).await.unwrap().unwrap();
    assert_eq!((once.attempts, once.locked_until, once.code_hash.as_str()), (1, None, "hash-1"));

    // Two wrong codes at once (two accounts of the customer): both count, the last one locks.
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (store, c1) = (store.clone(), c1.clone());
            tokio::spawn(async move { store.count_wrong_otp(&c1, 3, until).await.unwrap().unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap().attempts);
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![2, 3]);
    let locked = store.otp(&c1).await.unwrap().unwrap();
    assert_eq!((locked.attempts, locked.locked_until, locked.code_hash.as_str()), (3, Some(until), ""));
    // Another wrong try keeps the lock as it was.
    let later = store.count_wrong_otp(&c1, 3, until + Duration::minutes(5)).await.unwrap().unwrap();
    assert_eq!(later.locked_until, Some(until + Duration::minutes(5)));
    assert_eq!(store.otp(&id("C2")).await.unwrap(), None);
}

async fn otp_sends_are_claimed_one_at_a_time_under_the_throttle(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let (c1, c2) = (id("C1"), id("C2"));
    let hour_ago = |now: DateTime<Utc>| now - Duration::hours(1);
    // At most two in the hour, whatever the gap.
    let two_an_hour = |sends: &[DateTime<Utc>]| (sends.len() >= 2).then(|| sends.to_vec());
    for minutes in [0, 10] {
        let now = at + Duration::minutes(minutes);
        assert_eq!(store.claim_otp_send(&c1, now, hour_ago(now), two_an_hour).await.unwrap(), Ok(()));
    }
    // The rule sees the sends of the hour, oldest first; a refused send changes nothing.
    let now = at + Duration::minutes(20);
    assert_eq!(
        store.claim_otp_send(&c1, now, hour_ago(now), two_an_hour).await.unwrap(),
        Err(vec![at, at + Duration::minutes(10)])
    );
    assert_eq!(store.otp_sends(&c1, hour_ago(now)).await.unwrap(), vec![at, at + Duration::minutes(10)]);
    assert!(store.otp_sends(&c2, hour_ago(now)).await.unwrap().is_empty());
    // A first send leaves an empty challenge to hold the customer's row, not a code.
    let held = store.otp(&c1).await.unwrap().unwrap();
    assert_eq!((held.code_hash.as_str(), held.attempts, held.locked_until), ("", 0, None));
    // An existing challenge is left as it was.
    let sent = OtpRecord {
        code_hash: "hash-1".to_owned(),
        purpose: "subscription".to_owned(),
        sent_at: at,
        expires_at: at + Duration::minutes(5),
        attempts: 2,
        locked_until: None,
    };
    store.put_otp(&c1, &sent).await.unwrap();

    // An hour after the first, it falls out and is dropped at the next send.
    let now = at + Duration::minutes(60);
    assert_eq!(store.claim_otp_send(&c1, now, hour_ago(now), two_an_hour).await.unwrap(), Ok(()));
    assert_eq!(store.otp(&c1).await.unwrap(), Some(sent));
    assert_eq!(store.otp_sends(&c1, at - Duration::days(1)).await.unwrap(), vec![at + Duration::minutes(10), now]);

    // Many claims at once for one customer, one a minute allowed: one goes.
    let now = at + Duration::hours(3);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, c2) = (store.clone(), c2.clone());
            tokio::spawn(async move {
                let one =
                    |sends: &[DateTime<Utc>]| sends.last().filter(|last| now - **last < Duration::minutes(1)).copied();
                store.claim_otp_send(&c2, now, now - Duration::hours(1), one).await.unwrap()
            })
        })
        .collect();
    let mut claimed = 0;
    for task in tasks {
        claimed += usize::from(task.await.unwrap().is_ok());
    }
    assert_eq!(claimed, 1);
    assert_eq!(store.otp_sends(&c2, at).await.unwrap(), vec![now]);
}

async fn customers_seen_are_marked_once_and_outlive_forget(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let c1 = id("C1");
    assert_eq!(store.customer_first_bound(&c1).await.unwrap(), None);
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let (store, c1) = (store.clone(), c1.clone());
            tokio::spawn(async move { store.mark_customer_seen(&c1, at + Duration::seconds(n)).await.unwrap() })
        })
        .collect();
    let mut firsts = 0;
    for task in tasks {
        firsts += usize::from(task.await.unwrap());
    }
    assert_eq!(firsts, 1);
    let first = store.customer_first_bound(&c1).await.unwrap().unwrap();
    assert!(first >= at && first < at + Duration::seconds(6), "{first}");
    assert!(!store.mark_customer_seen(&c1, at + Duration::days(1)).await.unwrap());
    assert_eq!(store.customer_first_bound(&c1).await.unwrap(), Some(first));

    store
        .bind(&Binding {
            telegram_user_id: 5001,
            chat_id: 5001,
            customer_id: c1.clone(),
            phone: Phone::parse("+77011234567").unwrap(),
            first_name: "Ерлан".to_owned(),
            bound_at: at,
            time_zone: None,
        })
        .await
        .unwrap();
    store.forget(5001, 5001, at).await.unwrap();
    assert_eq!(store.customer_first_bound(&c1).await.unwrap(), Some(first));
    assert!(store.mark_customer_seen(&id("C2"), at).await.unwrap());
}

async fn a_top_up_is_marked_paid_once(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let top_up = |reference: &str| TopUpPayment {
        reference: reference.to_owned(),
        telegram_user_id: 5001,
        customer_id: id("C1"),
        amount: dec("1500.50"),
        currency: "KZT".to_owned(),
        created_at: at,
        paid: false,
    };
    assert_eq!(store.top_up("t-1").await.unwrap(), None);
    store.create_top_up(&top_up("t-1")).await.unwrap();
    assert_eq!(store.top_up("t-1").await.unwrap(), Some(top_up("t-1")));
    assert!(store.create_top_up(&top_up("t-1")).await.is_err(), "a reference is unique");

    assert!(store.mark_top_up_paid("t-1", "charge-1", at).await.unwrap());
    assert!(!store.mark_top_up_paid("t-1", "charge-1", at).await.unwrap());
    assert!(!store.mark_top_up_paid("t-9", "charge-9", at).await.unwrap());
    assert_eq!(store.top_up("t-1").await.unwrap(), Some(TopUpPayment { paid: true, ..top_up("t-1") }));

    store.create_top_up(&top_up("t-2")).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.mark_top_up_paid("t-2", "charge-2", at).await.unwrap() })
        })
        .collect();
    let mut moved = 0;
    for task in tasks {
        moved += usize::from(task.await.unwrap());
    }
    assert_eq!(moved, 1);
    assert!(store.top_up("t-2").await.unwrap().unwrap().paid);
}

async fn a_pending_referral_code_is_kept_per_user(store: Store) {
    assert_eq!(store.pending_referral(5001).await.unwrap(), None);
    store.set_pending_referral(5001, Some("ABCD2345")).await.unwrap();
    assert_eq!(store.pending_referral(5001).await.unwrap().as_deref(), Some("ABCD2345"));
    assert_eq!(store.user(5001).await.unwrap().map(|u| u.chat_id), Some(5001));
    assert_eq!(store.pending_referral(5002).await.unwrap(), None);

    // A known user keeps their chat and language.
    store.touch_user(5002, 7002).await.unwrap();
    store.set_user_locale(5002, Some(Locale::En)).await.unwrap();
    store.set_pending_referral(5002, Some("WXYZ6789")).await.unwrap();
    let user = store.user(5002).await.unwrap().unwrap();
    assert_eq!((user.chat_id, user.locale), (7002, Some(Locale::En)));
    assert_eq!(store.pending_referral(5002).await.unwrap().as_deref(), Some("WXYZ6789"));

    store.set_pending_referral(5001, None).await.unwrap();
    assert_eq!(store.pending_referral(5001).await.unwrap(), None);
    assert_eq!(store.pending_referral(5002).await.unwrap().as_deref(), Some("WXYZ6789"));
}

// --- booking: the built-in adapter ---------------------------------------------------------

/// A wall time in Almaty (the demo's zone, +05:00, no DST): "2025-01-12T12:00".
fn almaty(local: &str) -> DateTime<Utc> {
    utc(&format!("{local}:00+05:00"))
}

fn slot(staff: &str, local: &str) -> Slot {
    Slot { start: almaty(local), staff: staff.to_owned() }
}

fn slots(staff: &str, locals: &[&str]) -> Vec<Slot> {
    locals.iter().map(|local| slot(staff, local)).collect()
}

/// Every hourly start of a demo day from `first` to `last` o'clock.
fn hourly(staff: &str, day: &str, first: u32, last: u32) -> Vec<Slot> {
    (first..=last).map(|h| slot(staff, &format!("{day}T{h:02}:00"))).collect()
}

/// The free slots of `service` (of `staff`) between two Almaty wall times.
async fn free(builtin: &Builtin, service: &str, staff: Option<&str>, from: &str, to: &str) -> Vec<Slot> {
    builtin.free_slots(service, staff, almaty(from), almaty(to)).await.unwrap()
}

/// Changes the imported business row's time zone and working hours, and its demo day.
async fn set_business(store: &Store, zone: &str, hours: &str, demo_day: Option<&str>) {
    sqlx::query("UPDATE business SET time_zone = $1, working_hours = $2, demo_day = $3 WHERE id = 1")
        .bind(zone.to_owned())
        .bind(hours.to_owned())
        .bind(demo_day.map(str::to_owned))
        .execute(store.pool())
        .await
        .unwrap();
}

/// Adds customers X0..X{n-1} (no account: only bookings need them).
async fn add_customers(store: &Store, n: usize) -> Vec<CustomerId> {
    let mut ids = Vec::new();
    for i in 0..n {
        sqlx::query("INSERT INTO customers (id, name, first_name, phone, tags) VALUES ($1, $2, $2, $3, '[]')")
            .bind(format!("X{i}"))
            .bind(format!("Guest {i}"))
            .bind(format!("+7701555{i:04}"))
            .execute(store.pool())
            .await
            .unwrap();
        ids.push(id(&format!("X{i}")));
    }
    ids
}

/// How many bookings that are not cancelled the staff member has at this start.
async fn held(store: &Store, staff: &str, start: DateTime<Utc>) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM bookings WHERE staff_id = $1 AND start_at = $2 AND status <> 'cancelled'")
        .bind(staff.to_owned())
        .bind(cabinet::store::time_to_db(start))
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap()
}

fn refusal(outcome: Result<Appointment, BookingRefusal>) -> BookingRefusal {
    outcome.expect_err("refused")
}

async fn services_staff_and_preferred_staff_come_from_the_import(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let services = builtin.services().await.unwrap();
    assert_eq!(
        services.iter().map(|s| (s.code.as_str(), s.duration_min, s.price)).collect::<Vec<_>>(),
        [("haircut", 60, dec("5000")), ("manicure", 90, dec("6000")), ("massage", 60, dec("9000"))]
    );
    assert_eq!(services[1].name.get(Locale::En), "Manicure");
    let staff = builtin.staff().await.unwrap();
    assert_eq!(
        staff.iter().map(|s| (s.id.as_str(), s.name.get(Locale::Ru), s.services.clone())).collect::<Vec<_>>(),
        [
            ("anna", "Анна", vec!["haircut".to_owned()]),
            ("maria", "Мария", vec!["haircut".to_owned(), "manicure".to_owned()]),
            ("oleg", "Олег", vec!["massage".to_owned()]),
        ]
    );
    assert_eq!(builtin.preferred_staff(&id("C1")).await.unwrap().as_deref(), Some("anna"));
    assert_eq!(builtin.preferred_staff(&id("C2")).await.unwrap(), None);
    assert_eq!(builtin.preferred_staff(&id("C9")).await.unwrap(), None);
}

async fn demo_free_slots_are_the_explicit_ones_then_hourly(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    // The demo day itself has no times; D+1 and D+2 the explicit ones; from D+3 hourly.
    let mut anna = slots("anna", &["2025-01-12T12:00", "2025-01-12T16:00", "2025-01-13T10:00"]);
    anna.extend(hourly("anna", "2025-01-14", 10, 18));
    assert_eq!(free(&builtin, "haircut", Some("anna"), "2025-01-11T00:00", "2025-01-15T00:00").await, anna);

    // Manicure (90 min): up to 17:00 (17:00 + 90 min = 18:30 <= 19:00). C2's B-2001 takes
    // 12:00-13:30 on the 14th: 11:00, 12:00 and 13:00 overlap it.
    let mut maria = slots("maria", &["2025-01-12T11:00", "2025-01-12T14:00", "2025-01-13T15:00", "2025-01-13T17:00"]);
    maria.extend(slots("maria", &["2025-01-14T10:00"]));
    maria.extend(hourly("maria", "2025-01-14", 14, 17));
    maria.extend(hourly("maria", "2025-01-15", 10, 17));
    assert_eq!(free(&builtin, "manicure", Some("maria"), "2025-01-11T00:00", "2025-01-16T00:00").await, maria);
    // A haircut (60 min) of hers fits at 11:00 but not at 13:00.
    let mut haircut = slots("maria", &["2025-01-14T10:00", "2025-01-14T11:00"]);
    haircut.extend(hourly("maria", "2025-01-14", 14, 18));
    assert_eq!(free(&builtin, "haircut", Some("maria"), "2025-01-14T00:00", "2025-01-15T00:00").await, haircut);

    // Oleg: C3's B-3001 (13th 15:00) is not on his explicit list; his 16:00 touches its end.
    let mut oleg = slots("oleg", &["2025-01-12T10:00", "2025-01-13T11:00", "2025-01-13T16:00"]);
    oleg.extend(hourly("oleg", "2025-01-14", 10, 18));
    assert_eq!(free(&builtin, "massage", Some("oleg"), "2025-01-11T00:00", "2025-01-15T00:00").await, oleg);

    // Anyone who does haircuts, by start then staff.
    assert_eq!(
        free(&builtin, "haircut", None, "2025-01-12T00:00", "2025-01-13T00:00").await,
        [
            slot("maria", "2025-01-12T11:00"),
            slot("anna", "2025-01-12T12:00"),
            slot("maria", "2025-01-12T14:00"),
            slot("anna", "2025-01-12T16:00")
        ]
    );
    assert_eq!(
        free(&builtin, "haircut", None, "2025-01-16T10:00", "2025-01-16T11:00").await,
        [slot("anna", "2025-01-16T10:00"), slot("maria", "2025-01-16T10:00")]
    );
    // Not theirs, unknown: nothing.
    assert!(free(&builtin, "massage", Some("anna"), "2025-01-14T00:00", "2025-01-15T00:00").await.is_empty());
    assert!(free(&builtin, "yoga", None, "2025-01-14T00:00", "2025-01-15T00:00").await.is_empty());
    // [from, to): a start at `to` is left out.
    assert_eq!(
        free(&builtin, "haircut", Some("anna"), "2025-01-14T10:00", "2025-01-14T12:00").await,
        hourly("anna", "2025-01-14", 10, 11)
    );
}

async fn free_slots_follow_the_clock_and_the_horizon(store: Store) {
    let (builtin, clock) = with_demo_at_demo_time(&store).await;
    // Fourteen days from 2025-01-11 10:00: the 25th at 10:00 is beyond.
    assert_eq!(
        free(&builtin, "haircut", Some("anna"), "2025-01-24T00:00", "2025-02-01T00:00").await,
        hourly("anna", "2025-01-24", 10, 18)
    );
    clock.set(almaty("2025-01-12T12:00"));
    let first = |list: Vec<Slot>| list.into_iter().next();
    // A start at "now" is still free; a second later it has passed.
    assert_eq!(
        first(free(&builtin, "haircut", Some("anna"), "2025-01-11T00:00", "2025-01-20T00:00").await),
        Some(slot("anna", "2025-01-12T12:00"))
    );
    clock.set(almaty("2025-01-12T12:00") + Duration::seconds(1));
    assert_eq!(
        first(free(&builtin, "haircut", Some("anna"), "2025-01-11T00:00", "2025-01-20T00:00").await),
        Some(slot("anna", "2025-01-12T16:00"))
    );
    clock.set(almaty("2025-01-14T13:30"));
    assert_eq!(
        free(&builtin, "haircut", Some("anna"), "2025-01-14T00:00", "2025-01-15T00:00").await,
        hourly("anna", "2025-01-14", 14, 18)
    );
    // The horizon moved too: the 28th at 13:00 is the last start.
    assert_eq!(
        free(&builtin, "haircut", Some("anna"), "2025-01-28T00:00", "2025-02-05T00:00").await,
        hourly("anna", "2025-01-28", 10, 13)
    );

    // A shorter horizon and a finer step.
    clock.set(almaty("2025-01-11T10:00"));
    let near = builtin.clone().with_booking_settings(BookingSettings {
        horizon_days: 3,
        step_minutes: 30,
        ..BookingSettings::default()
    });
    assert_eq!(
        free(&near, "haircut", Some("anna"), "2025-01-11T00:00", "2025-01-20T00:00").await,
        slots("anna", &["2025-01-12T12:00", "2025-01-12T16:00", "2025-01-13T10:00"])
    );
    let fine =
        builtin.clone().with_booking_settings(BookingSettings { step_minutes: 30, ..BookingSettings::default() });
    let halves: Vec<Slot> = (0..17)
        .map(|i| Slot { start: almaty("2025-01-14T10:00") + Duration::minutes(30 * i), staff: "anna".to_owned() })
        .collect();
    assert_eq!(free(&fine, "haircut", Some("anna"), "2025-01-14T00:00", "2025-01-15T00:00").await, halves);
    let booked = fine.book(&id("C1"), "haircut", &slot("anna", "2025-01-14T10:30"), "half").await.unwrap();
    assert!(booked.is_ok(), "{booked:?}");
    // The default step does not offer 10:30.
    assert_eq!(
        refusal(builtin.book(&id("C1"), "haircut", &slot("anna", "2025-01-14T12:30"), "other").await.unwrap()),
        BookingRefusal::NotOffered
    );
}

async fn free_slots_cross_day_boundaries_and_dst_switches(store: Store) {
    let (builtin, clock) = with_demo_at_demo_time(&store).await;

    // New York, open 18:00-24:00, no demo day: a UTC day holds the evening of one local day
    // and the start of the next one's.
    set_business(&store, "America/New_York", r#"{"mon-sun": "18:00-24:00"}"#, None).await;
    let got = builtin
        .free_slots("haircut", Some("anna"), utc("2025-01-15T00:00:00Z"), utc("2025-01-16T00:00:00Z"))
        .await
        .unwrap();
    let want: Vec<Slot> = [
        "2025-01-15T00:00:00Z", // 14th 19:00
        "2025-01-15T01:00:00Z",
        "2025-01-15T02:00:00Z",
        "2025-01-15T03:00:00Z",
        "2025-01-15T04:00:00Z", // 14th 23:00, ends at midnight
        "2025-01-15T23:00:00Z", // 15th 18:00
    ]
    .into_iter()
    .map(|at| Slot { start: utc(at), staff: "anna".to_owned() })
    .collect();
    assert_eq!(got, want);

    // Berlin, open 00:00-06:00. 2025-03-30: 02:00 does not exist (clocks go to 03:00).
    set_business(&store, "Europe/Berlin", r#"{"mon-sun": "00:00-06:00"}"#, None).await;
    clock.set(utc("2025-03-29T12:00:00Z"));
    let got = builtin
        .free_slots("massage", Some("oleg"), utc("2025-03-29T23:00:00Z"), utc("2025-03-30T22:00:00Z"))
        .await
        .unwrap();
    let starts: Vec<DateTime<Utc>> = got.iter().map(|s| s.start).collect();
    assert_eq!(
        starts,
        [
            "2025-03-29T23:00:00Z",
            "2025-03-30T00:00:00Z",
            "2025-03-30T01:00:00Z",
            "2025-03-30T02:00:00Z",
            "2025-03-30T03:00:00Z"
        ]
        .map(utc)
    );
    // 01:30 CET is not on the grid; 03:00 CEST is, and can be booked.
    let oleg = |at: &str| Slot { start: utc(at), staff: "oleg".to_owned() };
    assert_eq!(
        refusal(builtin.book(&id("C3"), "massage", &oleg("2025-03-30T00:30:00Z"), "gap-1").await.unwrap()),
        BookingRefusal::NotOffered
    );
    let booked = builtin.book(&id("C3"), "massage", &oleg("2025-03-30T01:00:00Z"), "gap-2").await.unwrap().unwrap();
    assert_eq!(booked.start, utc("2025-03-30T01:00:00Z"));

    // 2025-10-26: 03:00 CEST becomes 02:00 CET; a wall 02:00 is the earlier (CEST) instant.
    clock.set(utc("2025-10-25T12:00:00Z"));
    let got = builtin
        .free_slots("massage", Some("oleg"), utc("2025-10-25T22:00:00Z"), utc("2025-10-26T23:00:00Z"))
        .await
        .unwrap();
    let starts: Vec<DateTime<Utc>> = got.iter().map(|s| s.start).collect();
    assert_eq!(
        starts,
        [
            "2025-10-25T22:00:00Z",
            "2025-10-25T23:00:00Z",
            "2025-10-26T00:00:00Z",
            "2025-10-26T02:00:00Z",
            "2025-10-26T03:00:00Z",
            "2025-10-26T04:00:00Z",
        ]
        .map(utc)
    );
}

async fn days_off_come_from_working_hours_and_holidays(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    // 2025-01-12 and 19 are Sundays, the 18th a Saturday; the 15th is a holiday.
    set_business(
        &store,
        "Asia/Almaty",
        r#"{"mon-fri": "10:00-19:00", "sat": "11:00-15:00", "sun": "off"}"#,
        Some("2025-01-11"),
    )
    .await;
    let builtin = builtin
        .with_booking_settings(BookingSettings { holidays: vec![date("2025-01-15")], ..BookingSettings::default() });
    let mut want = slots("anna", &["2025-01-13T10:00"]);
    want.extend(hourly("anna", "2025-01-14", 10, 18));
    want.extend(hourly("anna", "2025-01-16", 10, 18));
    want.extend(hourly("anna", "2025-01-17", 10, 18));
    want.extend(hourly("anna", "2025-01-18", 11, 14));
    assert_eq!(free(&builtin, "haircut", Some("anna"), "2025-01-11T00:00", "2025-01-20T00:00").await, want);
    // A manicure must end by 15:00 on Saturday.
    assert_eq!(
        free(&builtin, "manicure", Some("maria"), "2025-01-18T00:00", "2025-01-19T00:00").await,
        hourly("maria", "2025-01-18", 11, 13)
    );
    // Neither a holiday nor a day off can be booked, explicit times included.
    for (local, key) in [("2025-01-15T10:00", "holiday"), ("2025-01-12T12:00", "sunday"), ("2025-01-18T10:00", "early")]
    {
        let outcome = builtin.book(&id("C1"), "haircut", &slot("anna", local), key).await.unwrap();
        assert_eq!(refusal(outcome), BookingRefusal::NotOffered, "{local}");
    }
    // Days no entry covers are off too.
    set_business(&store, "Asia/Almaty", r#"{"mon-fri": "10:00-19:00"}"#, Some("2025-01-11")).await;
    assert!(free(&builtin, "haircut", Some("anna"), "2025-01-18T00:00", "2025-01-20T00:00").await.is_empty());
    // Invalid working hours are an error, not an empty answer.
    set_business(&store, "Asia/Almaty", r#"{"mon-fri": "10:00"}"#, Some("2025-01-11")).await;
    let err =
        builtin.free_slots("haircut", None, almaty("2025-01-14T00:00"), almaty("2025-01-15T00:00")).await.unwrap_err();
    assert!(
        matches!(err, cabinet::adapters::AdapterError::Invalid(ref m) if m.contains("working_hours.mon-fri")),
        "{err}"
    );
}

async fn a_booking_is_checked_made_once_per_key_and_takes_its_time(store: Store) {
    let (builtin, clock) = with_demo_at_demo_time(&store).await;
    let c1 = id("C1");
    let first = builtin.book(&c1, "haircut", &slot("anna", "2025-01-12T12:00"), "k1").await.unwrap().unwrap();
    assert!(first.id.starts_with("B-") && first.id.len() == 10, "{}", first.id);
    assert_eq!(
        first,
        Appointment {
            id: first.id.clone(),
            service: "haircut".to_owned(),
            staff: "anna".to_owned(),
            start: almaty("2025-01-12T12:00"),
            duration_min: 60,
            status: BookingStatus::Confirmed,
        }
    );
    // The same key: the same appointment, whatever the request brings.
    let again = builtin.book(&c1, "haircut", &slot("anna", "2025-01-12T12:00"), "k1").await.unwrap();
    assert_eq!(again, Ok(first.clone()));
    let other = builtin.book(&c1, "massage", &slot("oleg", "2025-01-12T10:00"), "k1").await.unwrap();
    assert_eq!(other, Ok(first.clone()));
    assert_eq!(count(&store, "bookings").await, 3);
    assert_eq!(
        free(&builtin, "haircut", Some("anna"), "2025-01-12T00:00", "2025-01-13T00:00").await,
        slots("anna", &["2025-01-12T16:00"])
    );

    // Refusals, in the order they are checked.
    let c3 = id("C3");
    let cases = [
        ("yoga", slot("anna", "2025-01-14T10:00"), BookingRefusal::Unknown),
        ("haircut", slot("zoe", "2025-01-14T10:00"), BookingRefusal::Unknown),
        ("manicure", slot("anna", "2025-01-14T10:00"), BookingRefusal::Unknown),
        ("haircut", slot("anna", "2025-01-11T09:00"), BookingRefusal::InPast),
        ("haircut", slot("anna", "2025-01-10T12:00"), BookingRefusal::InPast),
        ("haircut", slot("anna", "2025-01-11T12:00"), BookingRefusal::NotOffered),
        ("haircut", slot("anna", "2025-01-12T13:00"), BookingRefusal::NotOffered),
        ("haircut", slot("anna", "2025-01-14T10:30"), BookingRefusal::NotOffered),
        ("haircut", slot("anna", "2025-01-14T19:00"), BookingRefusal::NotOffered),
        ("manicure", slot("maria", "2025-01-14T18:00"), BookingRefusal::NotOffered),
        ("haircut", slot("anna", "2025-01-30T10:00"), BookingRefusal::NotOffered),
        ("haircut", slot("anna", "2025-01-12T12:00"), BookingRefusal::SlotTaken),
        // Overlapping C2's manicure (12:00-13:30) without the same start.
        ("manicure", slot("maria", "2025-01-14T11:00"), BookingRefusal::SlotTaken),
        ("haircut", slot("maria", "2025-01-14T13:00"), BookingRefusal::SlotTaken),
        ("haircut", slot("maria", "2025-01-14T12:00"), BookingRefusal::SlotTaken),
    ];
    for (i, (service, at, why)) in cases.iter().enumerate() {
        let outcome = builtin.book(&c3, service, at, &format!("c3-{i}")).await.unwrap();
        assert_eq!(outcome, Err(*why), "{service} {at:?}");
    }
    assert_eq!(count(&store, "bookings").await, 3);
    // A refused key books nothing and is not remembered.
    let later = builtin.book(&c3, "haircut", &slot("maria", "2025-01-14T11:00"), "c3-13").await.unwrap().unwrap();
    assert_eq!(later.start, almaty("2025-01-14T11:00"));

    // Only the customer's own appointments; `appointment` scoped.
    assert_eq!(builtin.appointments(&c1, almaty("2025-01-11T00:00")).await.unwrap(), std::slice::from_ref(&first));
    assert_eq!(builtin.appointment(&c1, &first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(builtin.appointment(&c3, &first.id).await.unwrap(), None);
    let c3_ids: Vec<String> =
        builtin.appointments(&c3, almaty("2025-01-11T00:00")).await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(c3_ids, ["B-3001".to_owned(), later.id.clone()]);
    // `from` leaves the earlier ones out.
    assert_eq!(builtin.appointments(&c3, almaty("2025-01-13T15:00") + Duration::seconds(1)).await.unwrap(), [later]);

    // Asked again once the time has passed: still the same appointment.
    clock.set(almaty("2025-01-13T09:00"));
    let repeat = builtin.book(&c1, "haircut", &slot("anna", "2025-01-12T12:00"), "k1").await.unwrap();
    assert_eq!(repeat, Ok(first));
    // An unknown customer is an error, not a booking.
    let err = builtin.book(&id("C9"), "haircut", &slot("anna", "2025-01-14T10:00"), "k").await;
    assert!(err.is_err(), "{err:?}");
}

async fn the_database_forbids_double_booking(store: Store) {
    let _builtin = with_demo(&store).await;
    let start = text(&store, "SELECT start_at FROM bookings WHERE id = 'B-2001'").await;
    let insert = |booking: &'static str, customer: &'static str, status: &'static str, key: Option<&'static str>| {
        sqlx::query(
            "INSERT INTO bookings (id, customer_id, service, staff_id, start_at, status, idempotency_key) \
             VALUES ($1, $2, 'haircut', 'maria', $3, $4, $5)",
        )
        .bind(booking)
        .bind(customer)
        .bind(start.clone())
        .bind(status)
        .bind(key)
        .execute(store.pool())
    };
    // Bypassing the adapter: the partial unique index refuses a second booking of the time…
    let err = insert("B-X1", "C3", "confirmed", None).await.unwrap_err();
    assert!(err.as_database_error().is_some_and(|e| e.is_unique_violation()), "{err}");
    // …but not a cancelled one.
    insert("B-X2", "C3", "cancelled", None).await.unwrap();
    insert("B-X3", "C1", "cancelled", Some("key")).await.unwrap();
    // One booking per customer and key.
    let err = insert("B-X4", "C1", "cancelled", Some("key")).await.unwrap_err();
    assert!(err.as_database_error().is_some_and(|e| e.is_unique_violation()), "{err}");
    insert("B-X5", "C3", "cancelled", Some("key")).await.unwrap();
    assert_eq!(count(&store, "bookings").await, 5);

    // What the adapter relies on when a writer that does not lock the staff member raced it:
    // an insert that conflicts does nothing, a move onto a taken time is a unique violation.
    let skipped = sqlx::query(
        "INSERT INTO bookings (id, customer_id, service, staff_id, start_at, status) \
         VALUES ('B-X6', 'C1', 'haircut', 'maria', $1, 'confirmed') ON CONFLICT DO NOTHING",
    )
    .bind(start.clone())
    .execute(store.pool())
    .await
    .unwrap();
    assert_eq!(skipped.rows_affected(), 0);
    let err = sqlx::query("UPDATE bookings SET staff_id = 'maria', start_at = $1 WHERE id = 'B-3001'")
        .bind(start.clone())
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(err.as_database_error().is_some_and(|e| e.is_unique_violation()), "{err}");
    assert_eq!(count(&store, "bookings").await, 5);
}

async fn concurrent_bookings_of_one_time_give_it_to_one(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    const N: usize = 8;
    let guests = add_customers(&store, N).await;

    // N customers, one slot, at the same moment.
    let race = |calls: Vec<(CustomerId, &'static str, Slot, String)>| {
        let barrier = Arc::new(tokio::sync::Barrier::new(calls.len()));
        let tasks: Vec<_> = calls
            .into_iter()
            .map(|(who, service, at, key)| {
                let builtin = builtin.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    builtin.book(&who, service, &at, &key).await.unwrap()
                })
            })
            .collect();
        async move {
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.unwrap());
            }
            outcomes
        }
    };
    let started = std::time::Instant::now();
    let at = slot("anna", "2025-01-16T10:00");
    let outcomes = race(guests.iter().map(|g| (g.clone(), "haircut", at.clone(), "k".to_owned())).collect()).await;
    let one_slot = started.elapsed();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == Err(BookingRefusal::SlotTaken)).count(), N - 1, "{outcomes:?}");
    assert_eq!(held(&store, "anna", at.start).await, 1);

    // Overlapping times of one staff member (manicure 10:00-11:30 and 11:00-12:30): the unique
    // index alone would let both in.
    let started = std::time::Instant::now();
    let outcomes = race(
        guests
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let local = if i % 2 == 0 { "2025-01-17T10:00" } else { "2025-01-17T11:00" };
                (g.clone(), "manicure", slot("maria", local), "m".to_owned())
            })
            .collect(),
    )
    .await;
    let overlapping = started.elapsed();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert_eq!(
        held(&store, "maria", almaty("2025-01-17T10:00")).await
            + held(&store, "maria", almaty("2025-01-17T11:00")).await,
        1
    );

    // A double tap: one key, one booking, the same answer for every tap.
    let started = std::time::Instant::now();
    let outcomes =
        race((0..N).map(|_| (id("C1"), "haircut", slot("anna", "2025-01-18T10:00"), "tap".to_owned())).collect()).await;
    let double_tap = started.elapsed();
    let first = outcomes[0].clone().unwrap();
    assert!(outcomes.iter().all(|o| *o == Ok(first.clone())), "{outcomes:?}");
    assert_eq!(held(&store, "anna", almaty("2025-01-18T10:00")).await, 1);

    // N moves into one free time: one moves, the others keep their own time.
    let mut own = Vec::new();
    for (i, g) in guests.iter().enumerate() {
        let at = slot("maria", &format!("2025-01-20T{:02}:00", 10 + i));
        own.push(builtin.book(g, "haircut", &at, "own").await.unwrap().unwrap());
    }
    let target = slot("maria", "2025-01-21T10:00");
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let started = std::time::Instant::now();
    let tasks: Vec<_> = guests
        .iter()
        .zip(&own)
        .map(|(g, booking)| {
            let (builtin, barrier, g, booking_id, target) =
                (builtin.clone(), barrier.clone(), g.clone(), booking.id.clone(), target.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                builtin.reschedule(&g, &booking_id, &target).await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let moves = started.elapsed();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == Err(BookingRefusal::SlotTaken)).count(), N - 1, "{outcomes:?}");
    assert_eq!(held(&store, "maria", target.start).await, 1);
    for (g, (booking, outcome)) in guests.iter().zip(own.iter().zip(&outcomes)) {
        let now = builtin.appointment(g, &booking.id).await.unwrap().unwrap();
        let want = if outcome.is_ok() { target.start } else { booking.start };
        assert_eq!(now.start, want);
    }
    eprintln!(
        "{:?}: {N} bookings of one slot {one_slot:?}, overlapping {overlapping:?}, double tap {double_tap:?}, moves {moves:?}",
        store.engine()
    );
}

async fn a_move_takes_the_new_time_before_it_frees_the_old_one(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let (c2, c3) = (id("C2"), id("C3"));
    let moved = builtin.reschedule(&c2, "B-2001", &slot("maria", "2025-01-15T14:00")).await.unwrap().unwrap();
    assert_eq!(
        moved,
        Appointment {
            id: "B-2001".to_owned(),
            service: "manicure".to_owned(),
            staff: "maria".to_owned(),
            start: almaty("2025-01-15T14:00"),
            duration_min: 90,
            status: BookingStatus::Confirmed,
        }
    );
    assert_eq!(builtin.appointment(&c2, "B-2001").await.unwrap(), Some(moved.clone()));
    // The old time is free again, the new one taken (with its overlaps).
    assert_eq!(
        free(&builtin, "manicure", Some("maria"), "2025-01-14T00:00", "2025-01-15T00:00").await,
        hourly("maria", "2025-01-14", 10, 17)
    );
    let mut day = hourly("maria", "2025-01-15", 10, 12);
    day.extend(hourly("maria", "2025-01-15", 16, 17));
    assert_eq!(free(&builtin, "manicure", Some("maria"), "2025-01-15T00:00", "2025-01-16T00:00").await, day);

    // Into its own overlapping time, and onto itself.
    let moved = builtin.reschedule(&c2, "B-2001", &slot("maria", "2025-01-15T15:00")).await.unwrap().unwrap();
    assert_eq!(moved.start, almaty("2025-01-15T15:00"));
    let same = builtin.reschedule(&c2, "B-2001", &slot("maria", "2025-01-15T15:00")).await.unwrap();
    assert_eq!(same, Ok(moved.clone()));

    // A taken time: refused, the booking keeps its time.
    builtin.book(&c3, "haircut", &slot("maria", "2025-01-16T10:00"), "c3").await.unwrap().unwrap();
    for (at, why) in [
        (slot("maria", "2025-01-16T10:00"), BookingRefusal::SlotTaken),
        (slot("maria", "2025-01-16T09:00"), BookingRefusal::NotOffered),
        (slot("maria", "2025-01-16T10:30"), BookingRefusal::NotOffered),
        (slot("maria", "2025-01-16T18:00"), BookingRefusal::NotOffered),
        (slot("maria", "2025-01-11T09:00"), BookingRefusal::InPast),
        (slot("anna", "2025-01-16T12:00"), BookingRefusal::Unknown),
        (slot("zoe", "2025-01-16T12:00"), BookingRefusal::Unknown),
    ] {
        assert_eq!(builtin.reschedule(&c2, "B-2001", &at).await.unwrap(), Err(why), "{at:?}");
    }
    assert_eq!(builtin.appointment(&c2, "B-2001").await.unwrap(), Some(moved.clone()));
    // 11:00 does not overlap C3's 10:00-11:00.
    let moved = builtin.reschedule(&c2, "B-2001", &slot("maria", "2025-01-16T11:00")).await.unwrap().unwrap();
    assert_eq!(moved.start, almaty("2025-01-16T11:00"));

    // Another customer's booking: not found, and untouched.
    assert_eq!(
        builtin.reschedule(&c3, "B-2001", &slot("maria", "2025-01-17T10:00")).await.unwrap(),
        Err(BookingRefusal::NotFound)
    );
    assert_eq!(
        builtin.reschedule(&c2, "B-9999", &slot("maria", "2025-01-17T10:00")).await.unwrap(),
        Err(BookingRefusal::NotFound)
    );
    assert_eq!(builtin.appointment(&c2, "B-2001").await.unwrap(), Some(moved));
}

async fn a_cancellation_frees_the_time_once(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let (c1, c2, c3) = (id("C1"), id("C2"), id("C3"));
    // Another customer can neither see nor cancel it.
    assert_eq!(builtin.appointment(&c3, "B-2001").await.unwrap(), None);
    assert_eq!(builtin.cancel(&c3, "B-2001").await.unwrap(), Err(BookingRefusal::NotFound));
    assert_eq!(builtin.cancel(&c2, "B-9999").await.unwrap(), Err(BookingRefusal::NotFound));

    let cancelled = builtin.cancel(&c2, "B-2001").await.unwrap().unwrap();
    assert_eq!((cancelled.status, cancelled.start), (BookingStatus::Cancelled, almaty("2025-01-14T12:00")));
    assert_eq!(builtin.cancel(&c2, "B-2001").await.unwrap(), Err(BookingRefusal::AlreadyCancelled));
    assert_eq!(
        builtin.reschedule(&c2, "B-2001", &slot("maria", "2025-01-15T10:00")).await.unwrap(),
        Err(BookingRefusal::AlreadyCancelled)
    );
    assert_eq!(builtin.appointment(&c2, "B-2001").await.unwrap(), Some(cancelled));
    assert!(builtin.appointments(&c2, almaty("2025-01-11T00:00")).await.unwrap().is_empty());

    // The very same time can be booked again (the index ignores cancelled bookings).
    assert_eq!(
        free(&builtin, "manicure", Some("maria"), "2025-01-14T00:00", "2025-01-15T00:00").await,
        hourly("maria", "2025-01-14", 10, 17)
    );
    let again = builtin.book(&c1, "manicure", &slot("maria", "2025-01-14T12:00"), "again").await.unwrap().unwrap();
    assert_eq!(held(&store, "maria", again.start).await, 1);
    let cancelled = builtin.cancel(&c1, &again.id).await.unwrap().unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    // The key still answers with that booking.
    let repeat = builtin.book(&c1, "manicure", &slot("maria", "2025-01-14T12:00"), "again").await.unwrap();
    assert_eq!(repeat, Ok(cancelled));
}

async fn upcoming_lists_every_customers_confirmed_appointments(store: Store) {
    let (builtin, _clock) = with_demo_at_demo_time(&store).await;
    let ids = |list: Vec<(CustomerId, Appointment)>| list.into_iter().map(|(c, a)| (c.0, a.id)).collect::<Vec<_>>();
    let pair = |c: &str, b: &str| (c.to_owned(), b.to_owned());
    assert_eq!(
        ids(builtin.upcoming(almaty("2025-01-11T00:00"), almaty("2025-01-20T00:00")).await.unwrap()),
        [pair("C3", "B-3001"), pair("C2", "B-2001")]
    );
    // [from, to)
    assert_eq!(
        ids(builtin.upcoming(almaty("2025-01-13T15:00"), almaty("2025-01-14T12:00")).await.unwrap()),
        [pair("C3", "B-3001")]
    );
    let booked = builtin.book(&id("C1"), "haircut", &slot("anna", "2025-01-13T10:00"), "k").await.unwrap().unwrap();
    builtin.cancel(&id("C2"), "B-2001").await.unwrap().unwrap();
    let upcoming = builtin.upcoming(almaty("2025-01-11T00:00"), almaty("2025-01-20T00:00")).await.unwrap();
    assert_eq!(
        upcoming,
        [(id("C1"), booked), (id("C3"), builtin.appointment(&id("C3"), "B-3001").await.unwrap().unwrap())]
    );
}

// --- checks without a database -------------------------------------------------------------

#[test]
fn parse_errors_name_the_path() {
    let cases = [
        ("/customers/1/phone", serde_json::json!("+7 701 12"), "customers[1].phone: not a phone number"),
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
        ("/business/time_zone", serde_json::json!("Mars/Olympus"), "business.time_zone: not a time zone"),
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
    assert!(BusinessData::parse("{").unwrap_err().starts_with("invalid data set"));
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
        assert!(matches!(Store::connect(url).await, Err(StoreError::BadUrl(_))), "{url}");
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

// --- scheduled jobs ------------------------------------------------------------------------

fn new_job(key: &str, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        key: key.to_owned(),
        kind: "test.remind".to_owned(),
        payload: serde_json::json!({ "key": key, "text": "Напоминание: стрижка завтра в 10:00" }),
        run_at,
    }
}

async fn job_by_key(store: &Store, key: &str) -> Job {
    let jobs = store.jobs_with_prefix(key).await.unwrap();
    jobs.into_iter().find(|j| j.key == key).unwrap_or_else(|| panic!("no job {key}"))
}

fn keys(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.key.as_str()).collect()
}

async fn jobs_are_scheduled_once_per_key(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    assert!(store.schedule_job(&new_job("booking:1:24h", t)).await.unwrap());
    // The same key again, with another time and payload: nothing changes.
    let mut again = new_job("booking:1:24h", t + Duration::hours(1));
    again.payload = serde_json::json!({ "other": true });
    assert!(!store.schedule_job(&again).await.unwrap());
    assert!(store.schedule_job(&new_job("booking:1:2h", t)).await.unwrap());

    let jobs = store.jobs_with_prefix("booking:1:").await.unwrap();
    assert_eq!(jobs.len(), 2);
    let job = job_by_key(&store, "booking:1:24h").await;
    assert_eq!(job.run_at, t);
    assert_eq!(job.kind, "test.remind");
    assert_eq!(job.payload, new_job("booking:1:24h", t).payload);
    assert_eq!((job.status.as_str(), job.attempts, job.last_error), ("pending", 0, None));
    // Even a finished job keeps its key taken.
    let claimed = store.claim_due_jobs(t, 10, Duration::minutes(5)).await.unwrap();
    for job in &claimed {
        assert!(store.complete_job(job.id, t).await.unwrap());
    }
    assert!(!store.schedule_job(&new_job("booking:1:24h", t)).await.unwrap());
    assert_eq!(count(&store, "jobs").await, 2);
}

async fn a_cancelled_job_is_revived_by_its_key_and_no_other(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    assert!(store.schedule_or_revive_job(&new_job("reminder:B-1:100:24h", t)).await.unwrap());
    assert!(store.schedule_job(&new_job("reminder:B-1:100:2h", t)).await.unwrap());
    assert!(!store.schedule_or_revive_job(&new_job("reminder:B-1:100:24h", t)).await.unwrap(), "pending: left");
    assert_eq!(store.cancel_jobs("reminder:B-1:").await.unwrap(), 2);
    // Plain scheduling leaves a cancelled job cancelled; reviving makes it pending again, with
    // the new time and payload.
    assert!(!store.schedule_job(&new_job("reminder:B-1:100:24h", t)).await.unwrap());
    let mut again = new_job("reminder:B-1:100:24h", t + Duration::hours(1));
    again.payload = serde_json::json!({ "other": true });
    assert!(store.schedule_or_revive_job(&again).await.unwrap());
    let job = job_by_key(&store, "reminder:B-1:100:24h").await;
    assert_eq!((job.status.as_str(), job.run_at, &job.payload), ("pending", t + Duration::hours(1), &again.payload));
    assert_eq!(job_by_key(&store, "reminder:B-1:100:2h").await.status, "cancelled");
    // A finished job is not run again.
    let claimed = store.claim_due_jobs(t + Duration::hours(1), 10, Duration::minutes(5)).await.unwrap();
    assert_eq!(keys(&claimed), ["reminder:B-1:100:24h"]);
    assert!(store.complete_job(claimed[0].id, t).await.unwrap());
    assert!(!store.schedule_or_revive_job(&again).await.unwrap());
    assert_eq!(job_by_key(&store, "reminder:B-1:100:24h").await.status, "done");
    assert_eq!(count(&store, "jobs").await, 2);
}

async fn only_due_jobs_are_claimed_earliest_first(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    store.schedule_job(&new_job("c-now", t)).await.unwrap();
    store.schedule_job(&new_job("c-later", t + Duration::seconds(1))).await.unwrap();
    store.schedule_job(&new_job("c-past", t - Duration::hours(1))).await.unwrap();
    store.schedule_job(&new_job("c-past2", t - Duration::minutes(1))).await.unwrap();

    let first = store.claim_due_jobs(t, 2, Duration::minutes(5)).await.unwrap();
    assert_eq!(keys(&first), ["c-past", "c-past2"]);
    assert!(first.iter().all(|j| j.status == "running" && j.attempts == 1));
    let second = store.claim_due_jobs(t, 2, Duration::minutes(5)).await.unwrap();
    assert_eq!(keys(&second), ["c-now"]);
    assert!(store.claim_due_jobs(t, 2, Duration::minutes(5)).await.unwrap().is_empty());
    assert_eq!(job_by_key(&store, "c-later").await.status, "pending");
    let third = store.claim_due_jobs(t + Duration::seconds(1), 10, Duration::minutes(5)).await.unwrap();
    assert_eq!(keys(&third), ["c-later"]);
}

async fn concurrent_claimers_never_get_the_same_job(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    for i in 0..60 {
        store.schedule_job(&new_job(&format!("race:{i:02}"), t)).await.unwrap();
    }
    // A second pool on the same database where there can be one: another replica.
    let url = store.pool().any().connect_options().database_url.to_string();
    let other = if url.contains("memory") { store.clone() } else { Store::connect(&url).await.unwrap() };
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = if n % 2 == 0 { store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_due_jobs(t, 3, Duration::minutes(5)).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|j| (j.key, j.attempts)));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    if !url.contains("memory") {
        other.close().await;
    }
    let unique: HashSet<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(all.len(), 60, "claimed {} times for 60 jobs", all.len());
    assert_eq!(unique.len(), 60);
    assert!(all.iter().all(|(_, attempts)| *attempts == 1));
}

async fn a_job_whose_lease_passed_is_claimed_again_a_completed_one_never(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    store.schedule_job(&new_job("lease:crashed", t)).await.unwrap();
    store.schedule_job(&new_job("lease:done", t)).await.unwrap();
    let claimed = store.claim_due_jobs(t, 10, Duration::minutes(5)).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let done = claimed.iter().find(|j| j.key == "lease:done").unwrap();
    assert!(store.complete_job(done.id, t + Duration::minutes(1)).await.unwrap());
    assert!(!store.complete_job(done.id, t + Duration::minutes(1)).await.unwrap());

    // "lease:crashed" was claimed by a worker that died: it is held until its lease ends.
    assert!(store.claim_due_jobs(t + Duration::minutes(4), 10, Duration::minutes(5)).await.unwrap().is_empty());
    assert!(store.claim_due_jobs(t + Duration::minutes(5), 10, Duration::minutes(5)).await.unwrap().is_empty());
    let again =
        store.claim_due_jobs(t + Duration::minutes(5) + Duration::seconds(1), 10, Duration::minutes(5)).await.unwrap();
    assert_eq!(keys(&again), ["lease:crashed"]);
    assert_eq!(again[0].attempts, 2);
    assert!(store.complete_job(again[0].id, t + Duration::minutes(6)).await.unwrap());
    assert!(store.claim_due_jobs(t + Duration::days(30), 10, Duration::minutes(5)).await.unwrap().is_empty());
    let jobs = store.jobs_with_prefix("lease:").await.unwrap();
    assert!(jobs.iter().all(|j| j.status == "done"), "{jobs:?}");
}

async fn pending_jobs_are_cancelled_by_an_exact_key_prefix(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    for key in [
        "booking:1:24h",
        "booking:1:2h",
        "booking:10:24h",
        "Booking:1:x",
        "booking_1:x",
        "booking%1:x",
        "напоминание:1",
        "напоминание:2",
        "booking:1:sent",
    ] {
        store.schedule_job(&new_job(key, t + Duration::hours(1))).await.unwrap();
    }
    // One of them has run already.
    let sent = store.claim_due_jobs(t + Duration::hours(1), 1, Duration::minutes(5)).await.unwrap();
    assert_eq!(keys(&sent), ["booking:1:24h"]);
    store.complete_job(sent[0].id, t + Duration::hours(1)).await.unwrap();

    assert_eq!(store.cancel_jobs("booking:1:").await.unwrap(), 2);
    assert_eq!(store.cancel_jobs("booking:1:").await.unwrap(), 0);
    // `_` and `%` are not wildcards; case matters; characters, not bytes, are counted.
    assert_eq!(store.cancel_jobs("booking_").await.unwrap(), 1);
    assert_eq!(store.cancel_jobs("booking%").await.unwrap(), 1);
    assert_eq!(store.cancel_jobs("напоминание:1").await.unwrap(), 1);
    let status = |jobs: Vec<Job>| -> BTreeMap<String, String> { jobs.into_iter().map(|j| (j.key, j.status)).collect() };
    let all = status(store.jobs_with_prefix("").await.unwrap());
    let expected: BTreeMap<String, String> = [
        ("booking:1:24h", "done"),
        ("booking:1:2h", "cancelled"),
        ("booking:10:24h", "pending"),
        ("Booking:1:x", "pending"),
        ("booking_1:x", "cancelled"),
        ("booking%1:x", "cancelled"),
        ("напоминание:1", "cancelled"),
        ("напоминание:2", "pending"),
        ("booking:1:sent", "cancelled"),
    ]
    .into_iter()
    .map(|(k, s)| (k.to_owned(), s.to_owned()))
    .collect();
    assert_eq!(all, expected);
    assert_eq!(keys(&store.jobs_with_prefix("booking_").await.unwrap()), ["booking_1:x"]);
    // A cancelled job is never claimed.
    let claimed = store.claim_due_jobs(t + Duration::days(1), 100, Duration::minutes(5)).await.unwrap();
    let mut claimed = keys(&claimed);
    claimed.sort_unstable();
    assert_eq!(claimed, ["Booking:1:x", "booking:10:24h", "напоминание:2"]);
}

async fn a_failed_job_is_retried_at_its_time_or_fails_for_good(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    store.schedule_job(&new_job("flaky", t)).await.unwrap();
    let job = store.claim_due_jobs(t, 10, Duration::minutes(5)).await.unwrap().remove(0);
    assert!(store.fail_job(job.id, "the chat is busy", Some(t + Duration::minutes(10))).await.unwrap());
    let after = job_by_key(&store, "flaky").await;
    assert_eq!((after.status.as_str(), after.run_at), ("pending", t + Duration::minutes(10)));
    assert_eq!(after.last_error.as_deref(), Some("the chat is busy"));
    // Only a running job can be failed or completed.
    assert!(!store.fail_job(job.id, "again", None).await.unwrap());
    assert!(!store.complete_job(job.id, t).await.unwrap());

    assert!(store.claim_due_jobs(t + Duration::minutes(9), 10, Duration::minutes(5)).await.unwrap().is_empty());
    let job = store.claim_due_jobs(t + Duration::minutes(10), 10, Duration::minutes(5)).await.unwrap().remove(0);
    assert_eq!(job.attempts, 2);
    assert!(store.fail_job(job.id, "blocked by the user", None).await.unwrap());
    let after = job_by_key(&store, "flaky").await;
    assert_eq!((after.status.as_str(), after.attempts), ("failed", 2));
    assert_eq!(after.last_error.as_deref(), Some("blocked by the user"));
    assert!(store.claim_due_jobs(t + Duration::days(1), 10, Duration::minutes(5)).await.unwrap().is_empty());
    assert_eq!(store.cancel_jobs("flaky").await.unwrap(), 0);
}

// --- support: topics, cases, requests, alerts, /find ---------------------------------------

use cabinet::store::{CasePriority, NewCase, SupportCase};

fn new_case(customer: &str, user: i64, at: DateTime<Utc>) -> NewCase {
    NewCase {
        customer_id: id(customer),
        telegram_user_id: user,
        customer_chat_id: user,
        priority: CasePriority::Normal,
        reason: "Списали деньги дважды".to_owned(),
        at,
    }
}

async fn case(store: &Store, case_id: i64) -> SupportCase {
    store.case_by_id(case_id).await.unwrap().unwrap_or_else(|| panic!("no case {case_id}"))
}

/// Another pool on the same database where there can be one (another replica), else the
/// same store.
async fn other_pool(store: &Store) -> (Store, bool) {
    let url = store.pool().any().connect_options().database_url.to_string();
    if url.contains("memory") { (store.clone(), false) } else { (Store::connect(&url).await.unwrap(), true) }
}

async fn support_topics_are_set_replaced_looked_up_and_forgotten(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let group = -1_001_234_567_890_i64;
    assert_eq!(store.support_topic(&id("C1")).await.unwrap(), None);
    assert_eq!(store.customer_of_topic(group, 7).await.unwrap(), None);

    store.set_support_topic(&id("C1"), group, 7, "Ерлан Ахметов · C1", at).await.unwrap();
    store.set_support_topic(&id("C2"), group, 9, "Ольга Петрова · C2", at).await.unwrap();
    assert_eq!(store.support_topic(&id("C1")).await.unwrap(), Some((group, 7)));
    assert_eq!(store.customer_of_topic(group, 7).await.unwrap(), Some(id("C1")));
    assert_eq!(store.customer_of_topic(group, 9).await.unwrap(), Some(id("C2")));
    // The same thread id in another chat is another topic.
    assert_eq!(store.customer_of_topic(-100_999, 7).await.unwrap(), None);

    // A new topic replaces the old one (the upsert keeps one row per customer).
    store.set_support_topic(&id("C1"), group, i32::MAX, "Ерлан Ахметов · C1", at + Duration::hours(1)).await.unwrap();
    assert_eq!(store.support_topic(&id("C1")).await.unwrap(), Some((group, i32::MAX)));
    assert_eq!(store.customer_of_topic(group, 7).await.unwrap(), None);
    assert_eq!(store.customer_of_topic(group, i32::MAX).await.unwrap(), Some(id("C1")));
    assert_eq!(count(&store, "support_topics").await, 2);
    assert_eq!(text(&store, "SELECT name FROM support_topics WHERE customer_id = 'C1'").await, "Ерлан Ахметов · C1");

    // A topic handed to another customer is theirs alone.
    store.set_support_topic(&id("C3"), group, 9, "John Carter · C3", at).await.unwrap();
    assert_eq!(store.customer_of_topic(group, 9).await.unwrap(), Some(id("C3")));
    assert_eq!(store.support_topic(&id("C2")).await.unwrap(), None);

    store.forget_support_topic(&id("C1")).await.unwrap();
    store.forget_support_topic(&id("C1")).await.unwrap();
    assert_eq!(store.support_topic(&id("C1")).await.unwrap(), None);
    assert_eq!(store.customer_of_topic(group, i32::MAX).await.unwrap(), None);
    assert_eq!(store.support_topic(&id("C3")).await.unwrap(), Some((group, 9)));
}

async fn an_open_case_is_returned_instead_of_a_second_one(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    assert_eq!(store.open_case_of(&id("C1")).await.unwrap(), None);
    assert_eq!(store.last_case_of(&id("C1")).await.unwrap(), None);

    let mut first = new_case("C1", 5001, at);
    first.priority = CasePriority::High;
    let (opened, new) = store.open_case(&first).await.unwrap();
    assert!(new);
    assert_eq!(
        (
            &opened.customer_id,
            opened.telegram_user_id,
            opened.customer_chat_id,
            opened.priority,
            opened.reason.as_str(),
            opened.open,
            opened.opened_at,
        ),
        (&id("C1"), 5001, 5001, CasePriority::High, "Списали деньги дважды", true, at)
    );
    assert_eq!(
        (
            opened.assigned_to,
            opened.assigned_name.clone(),
            opened.first_response_at,
            opened.last_staff_at,
            opened.last_customer_at,
            opened.closed_at,
            opened.rating,
            opened.unreachable,
        ),
        (None, None, None, None, None, None, None, false)
    );
    assert_eq!(case(&store, opened.id).await, opened);

    // The customer writes again (from another account): the open case, unchanged.
    let mut again = new_case("C1", 5009, at + Duration::minutes(3));
    again.priority = CasePriority::Critical;
    again.reason = "Где мой заказ?".to_owned();
    let (same, new) = store.open_case(&again).await.unwrap();
    assert!(!new);
    assert_eq!(same, opened);
    assert_eq!(store.open_case_of(&id("C1")).await.unwrap(), Some(opened.clone()));

    // Another customer gets a case of their own.
    let (other, new) = store.open_case(&new_case("C2", 5002, at)).await.unwrap();
    assert!(new);
    assert_ne!(other.id, opened.id);

    // Once closed, the next escalation opens a new case; the closed one stays.
    assert!(store.close_case(opened.id, at + Duration::hours(1)).await.unwrap());
    assert_eq!(store.open_case_of(&id("C1")).await.unwrap(), None);
    let last = store.last_case_of(&id("C1")).await.unwrap().unwrap();
    assert_eq!((last.id, last.open), (opened.id, false));
    let (next, new) = store.open_case(&again).await.unwrap();
    assert!(new);
    assert!(next.id > opened.id);
    assert_eq!((next.priority, next.telegram_user_id), (CasePriority::Critical, 5009));
    assert_eq!(store.last_case_of(&id("C1")).await.unwrap(), Some(next.clone()));
    assert_eq!(store.open_case_of(&id("C1")).await.unwrap(), Some(next));
    assert_eq!(count(&store, "support_cases").await, 3);
    assert_eq!(store.case_by_id(999_999).await.unwrap(), None);
}

async fn concurrent_escalations_open_one_case(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let (other, separate) = other_pool(&store).await;
    let mut tasks = Vec::new();
    for n in 0..8_i64 {
        let store = if n % 2 == 0 { store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            let mut new = new_case("C1", 5000 + n, at + Duration::seconds(n));
            new.reason = format!("request {n}");
            store.open_case(&new).await.unwrap()
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    if separate {
        other.close().await;
    }
    assert_eq!(results.iter().filter(|(_, new)| *new).count(), 1, "{results:?}");
    let (winner, _) = results.iter().find(|(_, new)| *new).unwrap();
    assert!(results.iter().all(|(case, _)| case == winner));
    assert_eq!(count(&store, "support_cases").await, 1);
    assert_eq!(store.open_cases().await.unwrap(), vec![winner.clone()]);
}

async fn case_priorities_are_set_and_only_raised_while_open(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let (c, _) = store.open_case(&new_case("C1", 5001, at)).await.unwrap();
    assert_eq!(c.priority, CasePriority::Normal);

    // Raising to the same level or lower does nothing.
    assert!(!store.raise_case_priority(c.id, CasePriority::Normal).await.unwrap());
    assert!(store.raise_case_priority(c.id, CasePriority::High).await.unwrap());
    assert_eq!(case(&store, c.id).await.priority, CasePriority::High);
    assert!(!store.raise_case_priority(c.id, CasePriority::High).await.unwrap());
    assert!(!store.raise_case_priority(c.id, CasePriority::Normal).await.unwrap());
    assert_eq!(case(&store, c.id).await.priority, CasePriority::High);
    assert!(store.raise_case_priority(c.id, CasePriority::Critical).await.unwrap());
    assert!(!store.raise_case_priority(c.id, CasePriority::High).await.unwrap());
    assert_eq!(case(&store, c.id).await.priority, CasePriority::Critical);

    // Setting goes either way.
    assert!(store.set_case_priority(c.id, CasePriority::Normal).await.unwrap());
    assert_eq!(case(&store, c.id).await.priority, CasePriority::Normal);
    assert!(store.raise_case_priority(c.id, CasePriority::Critical).await.unwrap());
    assert_eq!(case(&store, c.id).await.priority, CasePriority::Critical);

    // Closed or unknown cases keep theirs.
    assert!(store.close_case(c.id, at).await.unwrap());
    assert!(!store.set_case_priority(c.id, CasePriority::High).await.unwrap());
    assert!(!store.raise_case_priority(c.id, CasePriority::Critical).await.unwrap());
    assert_eq!(case(&store, c.id).await.priority, CasePriority::Critical);
    assert!(!store.set_case_priority(999_999, CasePriority::High).await.unwrap());
    assert!(!store.raise_case_priority(999_999, CasePriority::Critical).await.unwrap());
}

async fn an_open_case_is_assigned_and_reassigned(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let (c, _) = store.open_case(&new_case("C1", 5001, at)).await.unwrap();
    assert!(store.assign_case(c.id, 9001, "Айгерим").await.unwrap());
    let got = case(&store, c.id).await;
    assert_eq!((got.assigned_to, got.assigned_name.as_deref()), (Some(9001), Some("Айгерим")));
    assert!(store.assign_case(c.id, 9002, "Dmitry").await.unwrap());
    let got = case(&store, c.id).await;
    assert_eq!((got.assigned_to, got.assigned_name.as_deref()), (Some(9002), Some("Dmitry")));

    assert!(store.close_case(c.id, at).await.unwrap());
    assert!(!store.assign_case(c.id, 9001, "Айгерим").await.unwrap());
    assert_eq!(case(&store, c.id).await.assigned_to, Some(9002));
    assert!(!store.assign_case(999_999, 9001, "Айгерим").await.unwrap());
}

async fn the_first_staff_reply_is_recorded_once(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let (c, _) = store.open_case(&new_case("C1", 5001, at)).await.unwrap();
    store.record_customer_message(c.id, at + Duration::minutes(1)).await.unwrap();
    assert_eq!(case(&store, c.id).await.last_customer_at, Some(at + Duration::minutes(1)));

    assert!(store.record_staff_reply(c.id, at + Duration::minutes(4)).await.unwrap());
    assert!(!store.record_staff_reply(c.id, at + Duration::minutes(9)).await.unwrap());
    let got = case(&store, c.id).await;
    assert_eq!(got.first_response_at, Some(at + Duration::minutes(4)));
    assert_eq!(got.last_staff_at, Some(at + Duration::minutes(9)));
    assert_eq!(got.last_customer_at, Some(at + Duration::minutes(1)));
    store.record_customer_message(c.id, at + Duration::minutes(12)).await.unwrap();
    assert_eq!(case(&store, c.id).await.last_customer_at, Some(at + Duration::minutes(12)));

    // Staff answering at once in one case: one of them is first.
    let (d, _) = store.open_case(&new_case("C2", 5002, at)).await.unwrap();
    let (other, separate) = other_pool(&store).await;
    let mut tasks = Vec::new();
    for n in 0..8_i64 {
        let store = if n % 2 == 0 { store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(
            async move { store.record_staff_reply(d.id, at + Duration::minutes(5)).await.unwrap() },
        ));
    }
    let mut firsts = 0;
    for task in tasks {
        firsts += usize::from(task.await.unwrap());
    }
    if separate {
        other.close().await;
    }
    assert_eq!(firsts, 1);
    assert_eq!(case(&store, d.id).await.first_response_at, Some(at + Duration::minutes(5)));

    // The unreachable mark is set and cleared.
    store.set_case_unreachable(c.id, true).await.unwrap();
    assert!(case(&store, c.id).await.unreachable);
    assert!(!case(&store, d.id).await.unreachable);
    store.set_case_unreachable(c.id, false).await.unwrap();
    assert!(!case(&store, c.id).await.unreachable);
    assert!(!store.record_staff_reply(999_999, at).await.unwrap());
}

async fn a_case_is_closed_once_and_rated_once_from_one_to_five(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let (c, _) = store.open_case(&new_case("C1", 5001, at)).await.unwrap();
    // An open case cannot be rated.
    assert!(!store.rate_case(c.id, 5).await.unwrap());

    let (other, separate) = other_pool(&store).await;
    let mut tasks = Vec::new();
    for n in 0..8_i64 {
        let store = if n % 2 == 0 { store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            store.close_case(c.id, at + Duration::hours(1) + Duration::seconds(n)).await.unwrap()
        }));
    }
    let mut closed = 0;
    for task in tasks {
        closed += usize::from(task.await.unwrap());
    }
    if separate {
        other.close().await;
    }
    assert_eq!(closed, 1);
    let got = case(&store, c.id).await;
    assert!(!got.open);
    let closed_at = got.closed_at.unwrap();
    assert!(closed_at >= at + Duration::hours(1) && closed_at < at + Duration::hours(1) + Duration::seconds(8));
    assert!(!store.close_case(c.id, at + Duration::hours(2)).await.unwrap());
    assert_eq!(case(&store, c.id).await.closed_at, Some(closed_at));
    assert!(store.open_cases().await.unwrap().is_empty());

    for bad in [0, 6, -1, 10] {
        assert!(!store.rate_case(c.id, bad).await.unwrap(), "{bad}");
    }
    assert_eq!(case(&store, c.id).await.rating, None);
    assert!(store.rate_case(c.id, 4).await.unwrap());
    assert!(!store.rate_case(c.id, 1).await.unwrap());
    assert_eq!(case(&store, c.id).await.rating, Some(4));
    assert!(!store.rate_case(999_999, 3).await.unwrap());
    assert!(!store.close_case(999_999, at).await.unwrap());

    // Both ends of the scale are ratings.
    for (customer, rating) in [("C2", 1), ("C3", 5)] {
        let (c, _) = store.open_case(&new_case(customer, 5002, at)).await.unwrap();
        assert!(store.close_case(c.id, at).await.unwrap());
        assert!(store.rate_case(c.id, rating).await.unwrap());
        assert_eq!(case(&store, c.id).await.rating, Some(rating));
    }

    // The open ones come oldest first.
    for (customer, minutes) in [("C4", 30), ("C5", 10), ("C6", 20)] {
        store.open_case(&new_case(customer, 5003, at + Duration::minutes(minutes))).await.unwrap();
    }
    let open: Vec<String> = store.open_cases().await.unwrap().into_iter().map(|c| c.customer_id.0).collect();
    assert_eq!(open, ["C5", "C6", "C4"]);
}

async fn support_stats_count_a_day_with_the_median_first_response(store: Store) {
    let day = utc("2025-01-11T00:00:00Z");
    let next = day + Duration::days(1);
    let empty = store.support_stats(day, next).await.unwrap();
    assert_eq!(empty, cabinet::store::SupportStats::default());
    assert_eq!((empty.requests, empty.cases_opened, empty.median_first_response), (0, 0, None));

    let requests = [
        (day - Duration::nanoseconds(1), "balance", false),
        (day, "balance", false),
        (day + Duration::hours(3), "order", false),
        (day + Duration::hours(4), "balance", false),
        (day + Duration::hours(5), "human", true),
        (day + Duration::hours(6), "order", true),
        (day + Duration::hours(7), "tariff", false),
        (next - Duration::nanoseconds(1), "balance", false),
        (next, "human", true),
    ];
    for (n, (at, intent, escalated)) in requests.into_iter().enumerate() {
        store.log_request(at, 5000 + n as i64, intent, escalated).await.unwrap();
    }

    // Cases with their first responses after 5, 1 and 30 minutes, one without; one the day
    // before and one the day after (not counted).
    let cases = [
        ("C1", day - Duration::minutes(10), Some(Duration::minutes(2))),
        ("C2", day + Duration::hours(1), Some(Duration::minutes(5))),
        ("C3", day + Duration::hours(2), Some(Duration::minutes(1))),
        ("C4", day + Duration::hours(3), None),
        ("C5", next - Duration::minutes(1), Some(Duration::minutes(30))),
        ("C6", next, Some(Duration::seconds(1))),
    ];
    for (customer, opened, response) in cases {
        let (c, _) = store.open_case(&new_case(customer, 5001, opened)).await.unwrap();
        if let Some(after) = response {
            assert!(store.record_staff_reply(c.id, opened + after).await.unwrap());
            // Later replies do not move the first response.
            store.record_staff_reply(c.id, opened + after + Duration::hours(1)).await.unwrap();
        }
    }

    let stats = store.support_stats(day, next).await.unwrap();
    assert_eq!(stats.requests, 7);
    assert_eq!(stats.escalated_requests, 2);
    assert_eq!(
        stats.by_intent,
        [("balance".to_owned(), 3), ("order".to_owned(), 2), ("human".to_owned(), 1), ("tariff".to_owned(), 1)]
    );
    assert_eq!(stats.cases_opened, 4);
    assert_eq!(stats.median_first_response, Some(Duration::minutes(5)));

    // A fourth answered case: the median is between the two middle ones (5 and 10 minutes).
    let opened = day + Duration::hours(8);
    let (c, _) = store.open_case(&new_case("C7", 5001, opened)).await.unwrap();
    store.record_staff_reply(c.id, opened + Duration::minutes(10)).await.unwrap();
    let stats = store.support_stats(day, next).await.unwrap();
    assert_eq!(stats.cases_opened, 5);
    assert_eq!(stats.median_first_response, Some(Duration::seconds(450)));

    // A closed case counts where it was opened.
    store.close_case(c.id, next + Duration::days(1)).await.unwrap();
    assert_eq!(store.support_stats(day, next).await.unwrap(), stats);

    // The day after: the escalated request at midnight and the case opened then.
    let after = store.support_stats(next, next + Duration::days(1)).await.unwrap();
    assert_eq!((after.requests, after.escalated_requests, after.cases_opened), (1, 1, 1));
    assert_eq!(after.by_intent, [("human".to_owned(), 1)]);
    assert_eq!(after.median_first_response, Some(Duration::seconds(1)));
}

async fn audit_entries_are_counted_by_action_since_a_time(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    let entry = |user: i64, action: &str, at: DateTime<Utc>| AuditEntry {
        at,
        telegram_user_id: Some(user),
        customer_id: None,
        action: action.to_owned(),
        subject: Some("A-1001".to_owned()),
        channel: "telegram".to_owned(),
    };
    for (user, action, at) in [
        (5001, "order.not_found", t - Duration::hours(2)),
        (5001, "order.not_found", t - Duration::minutes(60)),
        (5001, "order.not_found", t - Duration::minutes(30)),
        (5001, "contact.rejected", t - Duration::minutes(10)),
        (5001, "balance.read", t - Duration::minutes(5)),
        (5001, "order.not_found", t),
        (5002, "order.not_found", t),
    ] {
        store.audit(&entry(user, action, at)).await.unwrap();
    }
    let since = t - Duration::hours(1);
    assert_eq!(store.count_audit(5001, &["order.not_found"], since).await.unwrap(), 3);
    assert_eq!(store.count_audit(5001, &["order.not_found", "contact.rejected"], since).await.unwrap(), 4);
    assert_eq!(
        store
            .count_audit(5001, &["order.not_found", "contact.rejected", "balance.read"], t - Duration::days(1))
            .await
            .unwrap(),
        6
    );
    assert_eq!(store.count_audit(5001, &["order.not_found"], t).await.unwrap(), 1);
    assert_eq!(store.count_audit(5001, &["order.not_found"], t + Duration::nanoseconds(1)).await.unwrap(), 0);
    assert_eq!(store.count_audit(5002, &["order.not_found"], since).await.unwrap(), 1);
    assert_eq!(store.count_audit(5001, &[], since).await.unwrap(), 0);
    assert_eq!(store.count_audit(5001, &["order.read"], since).await.unwrap(), 0);
    assert_eq!(store.count_audit(5003, &["order.not_found"], since).await.unwrap(), 0);
}

async fn an_alert_is_recorded_once_per_kind_user_and_window(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    let window = Duration::hours(1);
    assert!(store.record_alert(5001, "order_probing", t, window).await.unwrap());
    assert!(!store.record_alert(5001, "order_probing", t + Duration::minutes(1), window).await.unwrap());
    assert!(!store.record_alert(5001, "order_probing", t + window - Duration::nanoseconds(1), window).await.unwrap());
    // Another kind, another user: their own alerts.
    assert!(store.record_alert(5001, "contact_spoofing", t, window).await.unwrap());
    assert!(store.record_alert(5002, "order_probing", t, window).await.unwrap());
    // Once the window has passed, the alert is raised again, and its window starts anew.
    assert!(store.record_alert(5001, "order_probing", t + window, window).await.unwrap());
    assert!(!store.record_alert(5001, "order_probing", t + window + Duration::minutes(59), window).await.unwrap());
    assert!(store.record_alert(5001, "order_probing", t + window * 2, window).await.unwrap());
    // A wider window counts from the last one raised.
    assert!(!store.record_alert(5001, "order_probing", t + window * 3, Duration::hours(2)).await.unwrap());

    // Concurrent raises of one alert: one is recorded.
    let (other, separate) = other_pool(&store).await;
    let mut tasks = Vec::new();
    for n in 0..8_i64 {
        let store = if n % 2 == 0 { store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            store.record_alert(5003, "otp_flood", t + Duration::seconds(n), window).await.unwrap()
        }));
    }
    let mut raised = 0;
    for task in tasks {
        raised += usize::from(task.await.unwrap());
    }
    if separate {
        other.close().await;
    }
    assert_eq!(raised, 1);
}

async fn forget_removes_support_requests_and_alerts_but_not_cases(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let window = Duration::hours(1);
    for user in [6001, 6002] {
        store.log_request(at, user, "balance", false).await.unwrap();
        store.log_request(at, user, "human", true).await.unwrap();
        assert!(store.record_alert(user, "order_probing", at, window).await.unwrap());
    }
    let (c, _) = store.open_case(&new_case("C1", 6001, at)).await.unwrap();

    store.forget(6001, 6001, at + Duration::minutes(1)).await.unwrap();

    let rows_of = |table: &'static str, user: i64| {
        let store = store.clone();
        async move {
            sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table} WHERE telegram_user_id = $1"))
                .bind(user)
                .fetch_one(store.pool())
                .await
                .unwrap()
                .try_get::<i64, _>("n")
                .unwrap()
        }
    };
    assert_eq!(rows_of("support_requests", 6001).await, 0);
    assert_eq!(rows_of("support_alerts", 6001).await, 0);
    assert_eq!(rows_of("support_requests", 6002).await, 2);
    assert_eq!(rows_of("support_alerts", 6002).await, 1);
    let stats = store.support_stats(at, at + Duration::days(1)).await.unwrap();
    assert_eq!((stats.requests, stats.escalated_requests), (2, 1));
    // The alert about the forgotten user is gone; the other's is still in its window.
    assert!(store.record_alert(6001, "order_probing", at + Duration::minutes(2), window).await.unwrap());
    assert!(!store.record_alert(6002, "order_probing", at + Duration::minutes(2), window).await.unwrap());
    // The case is the business's record: it stays, still open, detached from the chat.
    assert_eq!(case(&store, c.id).await, SupportCase { detached_at: Some(at + Duration::minutes(1)), ..c });
}

async fn staff_find_customers_by_phone_digits_and_by_name(store: Store) {
    let builtin = with_demo(&store).await;
    for (customer, name, first_name, phone) in
        [("C7", "Семён Ёлкин", "Семён", "+77011234000"), ("C8", "ЕРЛАН Сейтов", "Ерлан", "+77079991234")]
    {
        sqlx::query("INSERT INTO customers (id, name, first_name, phone, tags) VALUES ($1, $2, $3, $4, '[]')")
            .bind(customer)
            .bind(name)
            .bind(first_name)
            .bind(phone)
            .execute(store.pool())
            .await
            .unwrap();
    }
    let find = |query: &'static str, limit: u32| {
        let builtin = builtin.clone();
        async move { builtin.search(query, limit).await.unwrap().into_iter().map(|p| p.id.0).collect::<Vec<_>>() }
    };

    // By name: any case, any alphabet, ё as е, the words in any order; sorted by name.
    assert_eq!(find("ерлан", 10).await, ["C1", "C8"]);
    assert_eq!(find("ЕРЛАН", 10).await, ["C1", "C8"]);
    assert_eq!(find("ерлан", 1).await, ["C1"]);
    assert_eq!(find("  ахметов   Ерлан ", 10).await, ["C1"]);
    assert_eq!(find("семен", 10).await, ["C7"]);
    assert_eq!(find("ЁЛКИН", 10).await, ["C7"]);
    assert_eq!(find("carter", 10).await, ["C3"]);
    assert_eq!(find("Ольга Иванова", 10).await, Vec::<String>::new());
    let olga = builtin.search("ольга", 5).await.unwrap();
    assert_eq!(olga, vec![builtin.profile(&id("C2")).await.unwrap().unwrap()]);

    // By phone: the digits typed, whatever around them, at least four of them.
    assert_eq!(find("1234", 10).await, ["C1", "C8", "C7"]);
    assert_eq!(find("1234", 2).await, ["C1", "C8"]);
    assert_eq!(find("+7 (701) 123", 10).await, ["C1", "C7"]);
    assert_eq!(find("8 702 555 66 77", 10).await, ["C2"]);
    assert_eq!(find("87025556677", 10).await, ["C2"]);
    assert_eq!(find("702 555-66-77", 10).await, ["C2"]);
    assert_eq!(find("0123", 10).await, ["C3"]);
    // Either matches.
    assert_eq!(find("ольга 7011", 10).await, ["C1", "C2", "C7"]);

    // Too little to go on: nobody.
    for query in ["12", "+7", "123", "", "   ", "+-()"] {
        assert_eq!(find(query, 10).await, Vec::<String>::new(), "{query:?}");
    }
    assert_eq!(find("ерлан", 0).await, Vec::<String>::new());
}

// --- trust: one account per customer, cases detached from chats no longer bound -----------

on_every_engine!(
    the_newest_proof_of_ownership_unbinds_the_earlier_account,
    logout_and_forget_detach_an_open_case_and_a_returning_customer_reattaches_it,
);

fn binding_of(user: i64, customer: &str, at: DateTime<Utc>) -> Binding {
    Binding {
        telegram_user_id: user,
        chat_id: user,
        customer_id: id(customer),
        phone: Phone::parse("+77011234567").unwrap(),
        first_name: "Ерлан".to_owned(),
        bound_at: at,
        time_zone: None,
    }
}

async fn the_newest_proof_of_ownership_unbinds_the_earlier_account(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    for user in [5001, 5009] {
        store.touch_user(user, user).await.unwrap();
    }
    assert!(store.bind(&binding_of(5001, "C1", at)).await.unwrap().is_empty());
    let (case_of_old, created) = store.open_case(&new_case("C1", 5001, at)).await.unwrap();
    assert!(created);
    let epoch = store.user(5001).await.unwrap().unwrap().epoch;

    // Another account proves the same phone: it is bound, the earlier one is not any more.
    let later = at + Duration::hours(1);
    let displaced = store.bind(&binding_of(5009, "C1", later)).await.unwrap();
    assert_eq!(displaced, vec![binding_of(5001, "C1", at)]);
    assert_eq!(store.binding(5001).await.unwrap(), None);
    assert_eq!(store.bindings_of(&id("C1")).await.unwrap(), vec![binding_of(5009, "C1", later)]);
    assert_eq!(store.user(5001).await.unwrap().unwrap().epoch, epoch + 1, "its buttons go stale");
    assert_eq!(case(&store, case_of_old.id).await.detached_at, Some(later), "its case is detached");

    // Proving it again from the same account changes nobody else.
    assert!(store.bind(&binding_of(5009, "C1", later + Duration::hours(1))).await.unwrap().is_empty());
    // The database itself keeps one account per customer.
    let second = sqlx::query(
        "INSERT INTO bindings (telegram_user_id, chat_id, customer_id, phone, first_name, bound_at) \
         VALUES (5010, 5010, 'C1', '+77011234567', 'x', '2025-01-11T05:00:00.000000000Z')",
    )
    .execute(store.pool())
    .await;
    assert!(second.is_err(), "a second binding of one customer is refused");
}

async fn logout_and_forget_detach_an_open_case_and_a_returning_customer_reattaches_it(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    store.touch_user(5001, 5001).await.unwrap();
    store.bind(&binding_of(5001, "C1", at)).await.unwrap();
    let (open, _) = store.open_case(&new_case("C1", 5001, at)).await.unwrap();
    assert_eq!(open.detached_at, None);
    // Another customer's case is not touched.
    store.bind(&binding_of(5002, "C2", at)).await.unwrap();
    let (other, _) = store.open_case(&new_case("C2", 5002, at)).await.unwrap();

    let left = at + Duration::minutes(5);
    assert!(store.unbind(5001, left).await.unwrap());
    assert_eq!(case(&store, open.id).await.detached_at, Some(left));
    assert_eq!(case(&store, other.id).await.detached_at, None);
    assert!(case(&store, open.id).await.open, "the case stays open for staff");

    // Back, bound again: the case follows the account that asked for a person again.
    store.bind(&binding_of(5007, "C1", left + Duration::minutes(1))).await.unwrap();
    assert!(store.reattach_case(open.id, 5007, 5007).await.unwrap());
    let back = case(&store, open.id).await;
    assert_eq!((back.telegram_user_id, back.customer_chat_id, back.detached_at), (5007, 5007, None));
    assert!(!store.reattach_case(open.id, 5007, 5007).await.unwrap(), "an attached case is left as it is");

    // /forget detaches it too.
    store.forget(5007, 5007, left + Duration::minutes(2)).await.unwrap();
    assert_eq!(case(&store, open.id).await.detached_at, Some(left + Duration::minutes(2)));
    // A closed case is not reattached.
    store.close_case(open.id, left + Duration::minutes(3)).await.unwrap();
    assert!(!store.reattach_case(open.id, 5007, 5007).await.unwrap());
}

// --- button payloads kept server-side ------------------------------------------------------

on_every_engine!(
    a_button_payload_is_kept_under_its_token_for_its_user,
    expired_button_payloads_are_purged_a_batch_at_a_time_and_with_each_new_one,
    forget_deletes_the_users_button_payloads_only,
);

async fn a_button_payload_is_kept_under_its_token_for_its_user(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    let payload = format!("d:{}", "deal-3f2b8c1e-9a4d-4e7b-b6f0-1c2d3e4f5a6b-".repeat(3));
    store.keep_button_payload("tok-A_12345678901", 5001, &payload, at, at + Duration::days(30)).await.unwrap();
    let kept = store.button_payload("tok-A_12345678901").await.unwrap().unwrap();
    assert_eq!(kept, StoredButton { telegram_user_id: 5001, payload, expires_at: at + Duration::days(30) });
    assert_eq!(store.button_payload("tok-a_12345678901").await.unwrap(), None, "tokens are case-sensitive");
    assert_eq!(store.button_payload("unknown").await.unwrap(), None);
    // A token is issued once.
    assert!(store.keep_button_payload("tok-A_12345678901", 5002, "o:1", at, at + Duration::days(1)).await.is_err());
}

async fn expired_button_payloads_are_purged_a_batch_at_a_time_and_with_each_new_one(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    for i in 1..=5 {
        let token = format!("old{i}");
        store.keep_button_payload(&token, 5001, "o:1", at, at + Duration::days(i)).await.unwrap();
    }
    store.keep_button_payload("live", 5001, "o:2", at, at + Duration::days(30)).await.unwrap();
    // Expired by day 3: old1..old3; a batch of two takes the earliest.
    assert_eq!(store.purge_button_payloads(at + Duration::days(3), 2).await.unwrap(), 2);
    assert_eq!(store.button_payload("old1").await.unwrap(), None);
    assert_eq!(store.button_payload("old2").await.unwrap(), None);
    assert!(store.button_payload("old3").await.unwrap().is_some());
    // Keeping a new payload purges what has expired by then.
    store.keep_button_payload("new", 5002, "o:3", at + Duration::days(4), at + Duration::days(34)).await.unwrap();
    for gone in ["old3", "old4"] {
        assert_eq!(store.button_payload(gone).await.unwrap(), None, "{gone}");
    }
    for kept in ["old5", "live", "new"] {
        assert!(store.button_payload(kept).await.unwrap().is_some(), "{kept}");
    }
}

async fn forget_deletes_the_users_button_payloads_only(store: Store) {
    let at = utc("2025-01-11T05:00:00Z");
    for user in [5001, 5002] {
        store.touch_user(user, user).await.unwrap();
        store.keep_button_payload(&format!("t{user}"), user, "o:1", at, at + Duration::days(30)).await.unwrap();
    }
    store.unbind(5001, at).await.unwrap();
    assert!(store.button_payload("t5001").await.unwrap().is_some(), "/logout leaves them to the epoch");
    store.forget(5001, 5001, at).await.unwrap();
    assert_eq!(store.button_payload("t5001").await.unwrap(), None);
    assert!(store.button_payload("t5002").await.unwrap().is_some());
}

// --- the built-in CRM's leads and notes ------------------------------------------------------

on_every_engine!(the_builtin_crm_keeps_one_lead_per_phone_and_notes_on_a_record);

async fn the_builtin_crm_keeps_one_lead_per_phone_and_notes_on_a_record(store: Store) {
    use cabinet::adapters::{Crm, NewLead};
    let crm = Builtin::new(store.clone());
    let lead = |user: i64, phone: &str| NewLead {
        phone: Phone::parse(phone).unwrap(),
        first_name: "Гость".to_owned(),
        telegram_user_id: user,
        at: utc("2025-01-11T05:00:00Z"),
    };
    let first = crm.create_lead(&lead(5050, "+77779998877")).await.unwrap().expect("a lead id");
    assert_eq!(crm.create_lead(&lead(5051, "+77779998877")).await.unwrap(), Some(first.clone()), "one per phone");
    let other = crm.create_lead(&lead(5050, "+77770000001")).await.unwrap().expect("a lead id");
    assert_ne!(first, other);
    assert!(crm.add_note(&id("C1"), "Telegram: обращение №1").await.unwrap());
    assert!(crm.add_note(&id("C1"), "Telegram: обращение №2").await.unwrap());
    let n = sqlx::query("SELECT COUNT(*) AS n FROM crm_notes WHERE customer_id = 'C1'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(n.try_get::<i64, _>("n").unwrap(), 2);
}

on_every_engine!(the_latest_waiting_job_of_a_prefix_is_read_in_one_row);

async fn the_latest_waiting_job_of_a_prefix_is_read_in_one_row(store: Store) {
    let t = utc("2025-01-11T05:00:00Z");
    let waiting = ["pending", "running"];
    assert_eq!(store.latest_run_at("staffpost:C1:", &waiting).await.unwrap(), None);
    for (key, at) in [
        ("staffpost:C1:1", t),
        ("staffpost:C1:2", t + Duration::minutes(2)),
        ("staffpost:C2:1", t + Duration::hours(1)),
    ] {
        store.schedule_job(&new_job(key, at)).await.unwrap();
    }
    assert_eq!(store.latest_run_at("staffpost:C1:", &waiting).await.unwrap(), Some(t + Duration::minutes(2)));
    // Cancelled and done jobs do not wait.
    store.cancel_jobs("staffpost:C1:2").await.unwrap();
    assert_eq!(store.latest_run_at("staffpost:C1:", &waiting).await.unwrap(), Some(t));
    assert_eq!(store.latest_run_at("staffpost:C1:", &["cancelled"]).await.unwrap(), Some(t + Duration::minutes(2)));
    assert_eq!(store.latest_run_at("staffpost:C1:", &[]).await.unwrap(), None);
}

// --- the conformance suite ------------------------------------------------------------------

on_every_engine!(the_builtin_backend_keeps_every_promise_of_the_adapter_traits);

async fn the_builtin_backend_keeps_every_promise_of_the_adapter_traits(store: Store) {
    let (builtin, clock) = with_demo_at_demo_time(&store).await;
    let fixture = cabinet::adapters::contract::Fixture::demo(clock.now());
    let broken = cabinet::adapters::contract::check_all(&builtin.adapters(), &fixture).await;
    assert!(broken.is_empty(), "the built-in backend breaks:\n{}", broken.join("\n"));
}

/// A logistics backend that forgets whose order it is asked about.
struct LeakyLogistics(Arc<dyn cabinet::adapters::Logistics>, CustomerId);

#[async_trait::async_trait]
impl cabinet::adapters::Logistics for LeakyLogistics {
    async fn orders(
        &self,
        id: &CustomerId,
        offset: u32,
        limit: u32,
    ) -> cabinet::adapters::AdapterResult<cabinet::adapters::OrderPage> {
        self.0.orders(id, offset, limit).await
    }
    async fn active_orders(&self, id: &CustomerId) -> cabinet::adapters::AdapterResult<Vec<cabinet::adapters::Order>> {
        self.0.active_orders(id).await
    }
    async fn order(
        &self,
        id: &CustomerId,
        number: &str,
    ) -> cabinet::adapters::AdapterResult<Option<cabinet::adapters::Order>> {
        match self.0.order(id, number).await? {
            Some(order) => Ok(Some(order)),
            None => self.0.order(&self.1, number).await,
        }
    }
}

#[tokio::test]
async fn the_conformance_suite_catches_a_backend_that_shows_another_customers_order() {
    run("sqlite::memory:", |store| async move {
        let (builtin, clock) = with_demo_at_demo_time(&store).await;
        let mut adapters = builtin.adapters();
        adapters.logistics = Arc::new(LeakyLogistics(adapters.logistics.clone(), id("C2")));
        let fixture = cabinet::adapters::contract::Fixture::demo(clock.now());
        let broken = cabinet::adapters::contract::check_all(&adapters, &fixture).await;
        assert_eq!(broken, ["logistics.order: another customer's order is shown"]);
    })
    .await;
}

// --- the legacy history ----------------------------------------------------------------------

/// The legacy history's first `upto` migrations, as a database made before the split had them.
async fn apply_legacy(store: &Store, upto: i64) {
    let engine = match store.engine() {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    let all = sqlx::migrate::Migrator::new(std::path::Path::new(&format!("migrations/legacy/{engine}"))).await.unwrap();
    let migrations: Vec<_> = all.migrations.iter().filter(|m| m.version <= upto).cloned().collect();
    assert!(!migrations.is_empty());
    let legacy =
        sqlx::migrate::Migrator { migrations: std::borrow::Cow::Owned(migrations), ..sqlx::migrate::Migrator::DEFAULT };
    legacy.run(store.pool().any()).await.unwrap();
}

/// Every table's columns and every index, as text lines to compare.
async fn schema(store: &Store) -> Vec<String> {
    let sql = match store.engine() {
        Engine::Sqlite => {
            "SELECT 'column ' || m.name || '.' || p.name || ' ' || p.type || ' notnull=' || p.\"notnull\" || \
             ' default=' || COALESCE(p.dflt_value, '-') || ' pk=' || p.pk AS line \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT IN ('_sqlx_migrations', 'sqlite_sequence') \
             UNION ALL SELECT 'index ' || m.name || ' ' || m.sql AS line FROM sqlite_master m \
             WHERE m.type = 'index' AND m.sql IS NOT NULL \
             UNION ALL SELECT 'fk ' || m.name || ' ' || f.\"from\" || ' ' || f.\"table\" || '.' || f.\"to\" || ' ' || f.on_delete AS line \
             FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
        }
        Engine::Postgres => {
            "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || \
             ' default=' || COALESCE(column_default, '-') AS line \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' \
             UNION ALL SELECT 'index ' || indexdef AS line FROM pg_indexes \
             WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations' \
             UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) AS line \
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        }
    };
    let mut lines: Vec<String> =
        sqlx::query(sql).fetch_all(store.pool()).await.unwrap().iter().map(|r| r.get::<String, _>("line")).collect();
    // SQLite keeps an index's SQL as written: compare it without the words the baselines add.
    for line in &mut lines {
        *line = line.replace("IF NOT EXISTS ", "").split_whitespace().collect::<Vec<_>>().join(" ");
    }
    lines.sort();
    lines
}

/// A database made before the split (its history stopped at legacy `upto`) and a new one end
/// with the same tables, columns, indexes and constraints, and the old one's data is kept.
async fn a_legacy_database_is_brought_to_the_new_schema(fresh: Store, legacy: Store, upto: i64) {
    migrate(&fresh).await;
    apply_legacy(&legacy, upto).await;
    sqlx::query(
        "INSERT INTO telegram_users (telegram_user_id, chat_id, locale, epoch, created_at) VALUES (7, 7, NULL, 0, 'x')",
    )
    .execute(legacy.pool())
    .await
    .unwrap();
    migrate(&legacy).await;
    migrate(&legacy).await;
    let (new, old) = (schema(&fresh).await, schema(&legacy).await);
    let only_new: Vec<_> = new.iter().filter(|l| !old.contains(l)).collect();
    let only_old: Vec<_> = old.iter().filter(|l| !new.contains(l)).collect();
    assert!(
        only_new.is_empty() && only_old.is_empty(),
        "only in a new database: {only_new:#?}\nonly in the old one: {only_old:#?}"
    );
    assert!(new.len() > 100, "{new:?}");
    assert!(legacy.user(7).await.unwrap().is_some());
}

#[tokio::test]
async fn a_legacy_sqlite_database_is_brought_to_the_new_schema() {
    for upto in [6, 12] {
        let fresh = Store::connect("sqlite::memory:").await.unwrap();
        let legacy = Store::connect("sqlite::memory:").await.unwrap();
        a_legacy_database_is_brought_to_the_new_schema(fresh, legacy, upto).await;
    }
}

#[tokio::test]
async fn a_legacy_postgres_database_is_brought_to_the_new_schema() {
    let Some(admin_url) = cabinet::testenv::postgres_url() else { return };
    let admin = Store::connect(&admin_url).await.unwrap();
    let mut names = Vec::new();
    let mut database = async |admin: &Store| {
        let name = format!("cabinet_test_{:016x}", rand::random::<u64>());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        names.push(name);
        Store::connect(url.as_str()).await.unwrap()
    };
    let (fresh, legacy) = (database(&admin).await, database(&admin).await);
    let outcome = tokio::spawn(a_legacy_database_is_brought_to_the_new_schema(fresh.clone(), legacy.clone(), 6)).await;
    fresh.close().await;
    legacy.close().await;
    for name in names {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
    }
    admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

// --- events update the built-in backend's data ----------------------------------------------

on_every_engine!(an_order_status_event_updates_the_customers_own_order_only);

async fn an_order_status_event_updates_the_customers_own_order_only(store: Store) {
    let (builtin, _) = with_demo_at_demo_time(&store).await;
    let delivery = cabinet::adapters::Delivery {
        address: None,
        carrier: Some("CDEK".into()),
        tracking: Some("9999".into()),
        eta_from: None,
        eta_to: None,
        courier: Some(cabinet::adapters::Courier { name: "Асхат".into(), phone: None }),
        note: None,
        location: None,
    };
    assert!(builtin.apply_order_status(&id("C1"), "78234", &OrderStatus::Delivered, &delivery).await.unwrap());
    let order = builtin.order(&id("C1"), "78234").await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Delivered);
    assert!(order.delivered_at.is_some());
    let shipped = order.delivery.unwrap();
    assert_eq!((shipped.tracking.as_deref(), shipped.courier.unwrap().name.as_str()), (Some("9999"), "Асхат"));
    assert!(shipped.address.is_some(), "details not given are kept");
    // Another customer's order: untouched.
    assert!(!builtin.apply_order_status(&id("C1"), "78300", &OrderStatus::Cancelled, &delivery).await.unwrap());
    assert_eq!(builtin.order(&id("C2"), "78300").await.unwrap().unwrap().status, OrderStatus::Assembling);
}

// --- what one update costs the database ----------------------------------------------------

/// The statements and transactions one «баланс» of a bound customer costs, through the real
/// bot (the second one: the first after binding may fill caches). Counted by the store's
/// pool for the update's own task (`cabinet::store::tally`), so the background loops do
/// not blur it.
/// What a «баланс» costs the database: (a user kept in memory, one read again).
async fn one_balance_costs(database_url: Option<String>) -> (cabinet::store::Cost, cabinet::store::Cost) {
    use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
    let bot = SandboxedBot::start(SandboxOptions { database_url, ..super::support::fixed() }).await.unwrap();
    let user = super::support::erlan();
    super::support::identify(&bot, &user, "+77011234567").await;
    super::support::say(&bot, &user, "баланс").await;
    let replies = super::support::say(&bot, &user, "баланс").await;
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    let kept = bot.store.pool().last_update().expect("the update was tallied");
    // As when they last wrote more than `KNOWN_USER_TTL` ago.
    bot.store.forget_known(user.id);
    let replies = super::support::say(&bot, &user, "баланс").await;
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    let read = bot.store.pool().last_update().expect("the update was tallied");
    // The audit holds every read, in order, and the chat log every turn.
    let reads = bot.store.audit_entries(user.id).await.unwrap();
    assert_eq!(reads.iter().filter(|e| e.action == "balance.read").count(), 3);
    let log = bot.store.chat_history(user.id, 100).await.unwrap();
    assert_eq!(log.iter().filter(|(direction, text, _)| direction == "in" && text == "баланс").count(), 3);
    bot.stop().await;
    (kept, read)
}

/// At most this many statements per «баланс» (docs/performance.md, "Statements per
/// update"): a change that adds a round trip to the hot path fails here. The turn's records
/// (the message in, the request, the audit entry, the message out) go to the group commit.
const BALANCE_STATEMENTS: u64 = 3;
/// And when the user's row, consent and binding are read again.
const BALANCE_STATEMENTS_READING_THE_USER: u64 = 4;
const BALANCE_RECORDS: u64 = 4;

fn check_balance_cost(engine: &str, (kept, read): (cabinet::store::Cost, cabinet::store::Cost)) {
    for (cost, statements, what) in
        [(kept, BALANCE_STATEMENTS, "the user kept"), (read, BALANCE_STATEMENTS_READING_THE_USER, "the user read")]
    {
        println!(
            "one «баланс» on {engine}, {what}: {} statements, {} transactions, {} records to the group commit",
            cost.statements, cost.transactions, cost.journaled
        );
        assert!(cost.statements <= statements, "{engine}, {what}: {cost:?}");
        assert_eq!(cost.transactions, 0, "{engine}, {what}: {cost:?}");
        assert_eq!(cost.journaled, BALANCE_RECORDS, "{engine}, {what}: {cost:?}");
    }
}

#[tokio::test]
async fn one_balance_costs_few_statements_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cabinet.db").display());
    check_balance_cost("SQLite", one_balance_costs(Some(url)).await);
}

#[tokio::test]
async fn one_balance_costs_few_statements_on_postgresql() {
    let Some((admin, name, url)) = super::support::postgres_database().await else { return };
    check_balance_cost("PostgreSQL", one_balance_costs(Some(url)).await);
    super::support::drop_database(admin, &name).await;
}

/// The binding and consent a turn reads are kept in memory for a moment
/// (`Store::known_user`): a /logout, a /forget and another account proving the same phone
/// are seen by the very next message, however soon it comes.
#[tokio::test]
async fn a_binding_kept_in_memory_goes_with_logout_forget_and_rebinding() {
    use cabinet::replay::harness::SandboxedBot;
    use cabinet::sandbox::SandboxUser;

    use super::support::{fixed, identify, say, share_own_contact};
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let first = super::support::erlan();
    let second = SandboxUser::new(5009, "Ерлан", Some("ru"));
    let shows_balance = |replies: &cabinet::replay::drive::Replies| replies.contains("Ваш баланс");

    identify(&bot, &first, "+77011234567").await;
    assert!(shows_balance(&say(&bot, &first, "баланс").await));
    // Another account proves the phone: the first sees nothing on its next message.
    identify(&bot, &second, "+77011234567").await;
    let replies = say(&bot, &first, "баланс").await;
    assert!(!shows_balance(&replies), "{}", replies.dump());
    assert!(shows_balance(&say(&bot, &second, "баланс").await));
    // /logout: the next message asks for the contact.
    say(&bot, &second, "/logout").await;
    let replies = say(&bot, &second, "баланс").await;
    assert!(!shows_balance(&replies), "{}", replies.dump());
    // Bound again, then /forget: the terms are asked again.
    share_own_contact(&bot, &second, "+77011234567").await;
    assert!(shows_balance(&say(&bot, &second, "баланс").await));
    say(&bot, &second, "/forget").await;
    let replies = say(&bot, &second, "баланс").await;
    assert!(!shows_balance(&replies), "{}", replies.dump());
    let asks_consent = replies.chat.iter().any(|r| r.button_labels().contains(&"Принимаю"));
    assert!(asks_consent, "{}", replies.dump());
    bot.stop().await;
}

// --- unrecognised messages ------------------------------------------------------------------

on_every_engine!(unrecognised_messages_are_counted_per_day_by_their_normalised_text);

async fn unrecognised_messages_are_counted_per_day_by_their_normalised_text(store: Store) {
    let day = |d: u32| NaiveDate::from_ymd_opt(2025, 1, d).unwrap();
    let keep_from = day(1);
    assert!(store.top_unrecognised(day(1), 10).await.unwrap().is_empty());
    for (d, text) in [
        (10, "Фиолетовые слоны"),
        (10, "  фиолетовые   СЛОНЫ "),
        (11, "фиолетовые слоны"),
        (11, "позвоните 87011234567"),
        (11, "12345678"),
        (4, "старое"),
    ] {
        store.count_unrecognised(day(d), text, keep_from).await.unwrap();
    }
    let top = store.top_unrecognised(day(5), 10).await.unwrap();
    assert_eq!(top, vec![("фиолетовые слоны".to_owned(), 3), ("позвоните".to_owned(), 1)]);
    // Ties by text.
    assert_eq!(store.top_unrecognised(day(11), 1).await.unwrap(), vec![("позвоните".to_owned(), 1)]);
    assert_eq!(store.top_unrecognised(day(1), 10).await.unwrap().len(), 3);
    // Days before `keep_from` are purged by the next count.
    store.count_unrecognised(day(12), "фиолетовые слоны", day(10)).await.unwrap();
    let all = store.top_unrecognised(day(1), 10).await.unwrap();
    assert_eq!(all, vec![("фиолетовые слоны".to_owned(), 4), ("позвоните".to_owned(), 1)]);
}
