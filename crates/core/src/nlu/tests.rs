//! Recogniser tests: intents and entities end to end, with the demo-like catalogue.

use chrono::{NaiveDate, NaiveDateTime};

use super::*;

/// 2025-01-11 10:00, a Saturday.
fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 1, 11).and_then(|d| d.and_hms_opt(10, 0, 0)).expect("valid")
}

fn named(code: &str, names: &[&str]) -> Named {
    Named { code: code.to_string(), names: names.iter().map(|s| s.to_string()).collect() }
}

fn catalog() -> Catalog {
    Catalog {
        services: vec![
            named("haircut", &["Стрижка", "Haircut"]),
            named("manicure", &["Маникюр", "Manicure"]),
            named("massage", &["Массаж", "Massage"]),
        ],
        staff: vec![
            named("anna", &["Анна", "Anna"]),
            named("maria", &["Мария", "Maria"]),
            named("oleg", &["Олег", "Oleg"]),
        ],
        tariffs: vec![
            named("basic", &["Базовый", "Basic"]),
            named("optimal", &["Оптимальный", "Optimal"]),
            named("max", &["Максимум", "Maximum"]),
        ],
    }
}

fn nlu() -> &'static Nlu {
    static NLU: std::sync::OnceLock<Nlu> = std::sync::OnceLock::new();
    NLU.get_or_init(|| Nlu::embedded(catalog()).expect("embedded data loads"))
}

fn classify(text: &str) -> Classification {
    nlu().classify(text, now(), None)
}

fn entities(text: &str) -> Entities {
    classify(text).entities
}

fn intent(text: &str) -> Intent {
    classify(text).intent
}

fn check_intents(cases: &[(&str, Intent)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(text, want)| {
            let c = classify(text);
            (c.intent != *want).then(|| format!("{text:?}: want {want}, got {} ({:.2})", c.intent, c.confidence))
        })
        .collect();
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}

// ---- intents ----

#[test]
fn balance_is_recognised_in_many_wordings() {
    check_intents(&[
        ("баланс", Intent::Balance),
        ("Баланс?", Intent::Balance),
        ("сколько денег на счету", Intent::Balance),
        ("скока денег на счету", Intent::Balance),
        ("бабки на счету есть?", Intent::Balance),
        ("сколько я должен", Intent::Balance),
        ("балланс", Intent::Balance),
        ("какой у меня баланс", Intent::Balance),
        ("what's my balance", Intent::Balance),
        ("how much do I owe", Intent::Balance),
        ("how much money is on my account", Intent::Balance),
        ("balanse", Intent::Balance),
    ]);
}

#[test]
fn bonuses_and_top_up_are_told_from_balance() {
    check_intents(&[
        ("сколько у меня бонусов", Intent::Bonuses),
        ("мои баллы", Intent::Bonuses),
        ("кэшбэк", Intent::Bonuses),
        ("my points", Intent::Bonuses),
        ("how many bonus points do I have", Intent::Bonuses),
        ("пополнить баланс", Intent::TopUp),
        ("как оплатить", Intent::TopUp),
        ("хочу закинуть денег на счет", Intent::TopUp),
        ("пополнение", Intent::TopUp),
        ("top up", Intent::TopUp),
        ("how can I pay", Intent::TopUp),
    ]);
}

#[test]
fn orders_are_recognised() {
    check_intents(&[
        ("где мой заказ?", Intent::OrderStatus),
        ("что с заказом 12345", Intent::OrderStatus),
        ("где моя посылка", Intent::OrderStatus),
        ("когда привезут заказ", Intent::OrderStatus),
        ("курьер когда приедет", Intent::OrderStatus),
        ("зака 12345", Intent::OrderStatus),
        ("заказ №78234", Intent::OrderStatus),
        ("track my order", Intent::OrderStatus),
        ("where is my parcel", Intent::OrderStatus),
        ("order #12345 status", Intent::OrderStatus),
        ("мои заказы", Intent::OrderHistory),
        ("история покупок", Intent::OrderHistory),
        ("что я заказывал", Intent::OrderHistory),
        ("my orders", Intent::OrderHistory),
        ("order history", Intent::OrderHistory),
        ("повтори последний заказ", Intent::RepeatOrder),
        ("закажи как в прошлый раз", Intent::RepeatOrder),
        ("то же самое ещё раз", Intent::RepeatOrder),
        ("same as last time", Intent::RepeatOrder),
        ("reorder", Intent::RepeatOrder),
    ]);
}

#[test]
fn documents_are_recognised() {
    check_intents(&[
        ("пришли акт за декабрь", Intent::Documents),
        ("нужен чек за февраль", Intent::Documents),
        ("пришлите закрывающие документы за декабрь", Intent::Documents),
        ("докуметы за январь", Intent::Documents),
        ("квитанцию за 12.2024", Intent::Documents),
        ("счёт на оплату", Intent::Documents),
        ("акт сверки за прошлый месяц", Intent::Documents),
        ("send me the invoice", Intent::Documents),
        ("I need a receipt for March", Intent::Documents),
        ("contract please", Intent::Documents),
    ]);
}

#[test]
fn bookings_are_recognised() {
    check_intents(&[
        ("хочу записаться на стрижку", Intent::Booking),
        ("запиши к Анне на завтра в 12", Intent::Booking),
        ("можно на массаж послезавтра к 10 утра", Intent::Booking),
        ("запишите меня на маникюр", Intent::Booking),
        ("есть свободное время в субботу?", Intent::Booking),
        ("book a massage tomorrow at 3 pm", Intent::Booking),
        ("I want to book a haircut with Anna on Monday", Intent::Booking),
        ("мои записи", Intent::BookingList),
        ("когда у меня запись", Intent::BookingList),
        ("на когда я записана?", Intent::BookingList),
        ("my appointments", Intent::BookingList),
        ("when is my appointment", Intent::BookingList),
        ("перенесите мою запись на пятницу", Intent::BookingReschedule),
        ("можно перенести визит на другое время", Intent::BookingReschedule),
        ("reschedule my booking to Friday", Intent::BookingReschedule),
        ("отмените запись", Intent::BookingCancel),
        ("отменить мою запись к Олегу", Intent::BookingCancel),
        ("не смогу прийти завтра", Intent::BookingCancel),
        ("cancel my appointment", Intent::BookingCancel),
    ]);
}

#[test]
fn account_matters_are_recognised() {
    check_intents(&[
        ("сменить тариф", Intent::Subscription),
        ("приостановить подписку", Intent::Subscription),
        ("подключить тв", Intent::Subscription),
        ("add the TV option", Intent::Subscription),
        ("pause my subscription", Intent::Subscription),
        ("есть скидки?", Intent::Offers),
        ("какие акции", Intent::Offers),
        ("промокод", Intent::Offers),
        ("any discounts?", Intent::Offers),
        ("приведи друга", Intent::Referral),
        ("моя реферальная ссылка", Intent::Referral),
        ("invite a friend", Intent::Referral),
        ("отключите рассылку", Intent::Notifications),
        ("не присылайте рассылку", Intent::Notifications),
        ("отпишите меня", Intent::Notifications),
        ("больше не присылайте акции", Intent::Notifications),
        ("turn off notifications", Intent::Notifications),
        ("stop sending me offers", Intent::Notifications),
        ("unsubscribe", Intent::Notifications),
    ]);
}

#[test]
fn people_privacy_language_and_help_are_recognised() {
    check_intents(&[
        ("позовите оператора", Intent::Operator),
        ("хочу поговорить с человеком", Intent::Operator),
        ("у меня жалоба", Intent::Operator),
        ("talk to a human", Intent::Operator),
        ("удалите мои данные", Intent::Privacy),
        ("политика конфиденциальности", Intent::Privacy),
        ("delete my data", Intent::Privacy),
        ("switch to English", Intent::Language),
        ("поменяй язык", Intent::Language),
        ("по-русски пожалуйста", Intent::Language),
        ("что ты умеешь", Intent::Help),
        ("помощь", Intent::Help),
        ("/help", Intent::Help),
        ("what can you do", Intent::Help),
        ("привет", Intent::Greeting),
        ("приивеееет", Intent::Greeting),
        ("здравствуйте", Intent::Greeting),
        ("добрый вечер", Intent::Greeting),
        ("hi", Intent::Greeting),
        ("спасибо", Intent::Thanks),
        ("спасибо большое!", Intent::Thanks),
        ("thanks", Intent::Thanks),
        ("thank you", Intent::Thanks),
    ]);
}

#[test]
fn a_request_beside_a_greeting_wins() {
    check_intents(&[
        ("привет, какой у меня баланс?", Intent::Balance),
        ("спасибо, а где мой заказ", Intent::OrderStatus),
        ("hello, where is my parcel?", Intent::OrderStatus),
    ]);
    assert!(classify("привет, какой у меня баланс?").confidence > 0.8);
}

#[test]
fn commands_are_recognised_with_or_without_the_bot_name() {
    check_intents(&[
        ("/balance", Intent::Balance),
        ("/help@CabinetBot", Intent::Help),
        ("/orders", Intent::OrderHistory),
        ("/language", Intent::Language),
    ]);
    assert_eq!(classify("/balance").confidence, 1.0);
}

#[test]
fn unrelated_text_is_unknown() {
    check_intents(&[
        ("", Intent::Unknown),
        ("   ", Intent::Unknown),
        ("какая погода завтра", Intent::Unknown),
        ("расскажи анекдот", Intent::Unknown),
        ("кто выиграл вчера матч", Intent::Unknown),
        ("сколько будет 2+2", Intent::Unknown),
        ("asdkjh qwe zxcv", Intent::Unknown),
        ("ыва ыва ыва", Intent::Unknown),
        ("😀😀😀", Intent::Unknown),
        ("what's the weather like", Intent::Unknown),
        ("tell me a joke", Intent::Unknown),
        ("SELECT * FROM users; DROP TABLE customers; --", Intent::Unknown),
        ("12345", Intent::Unknown),
        ("ок", Intent::Unknown),
        ("до свидания", Intent::Unknown),
        ("how old are you", Intent::Unknown),
        ("play some music", Intent::Unknown),
        ("как приготовить борщ", Intent::Unknown),
    ]);
}

#[test]
fn confidence_is_high_for_clear_requests_and_alternatives_are_ranked() {
    let c = classify("пришли акт за декабрь");
    assert!(c.confidence >= 0.8, "{}", c.confidence);
    let c = classify("мои заказы");
    assert_eq!(c.intent, Intent::OrderHistory);
    assert_eq!(c.alternatives.first().map(|a| a.0), Some(Intent::OrderStatus));
    assert!(c.alternatives.iter().all(|a| a.1 < c.confidence));
    assert!(c.alternatives.windows(2).all(|w| w[0].1 >= w[1].1));
    let c = classify("деньги");
    assert_eq!(c.intent, Intent::Unknown);
    assert_eq!(c.alternatives.first().map(|a| a.0), Some(Intent::Balance));
}

#[test]
fn a_typo_lowers_the_confidence() {
    let exact = classify("где моя посылка").confidence;
    let typo = classify("где моя пасылка");
    assert_eq!(typo.intent, Intent::OrderStatus);
    assert!(typo.confidence < exact, "{} vs {exact}", typo.confidence);
}

#[test]
fn the_language_is_detected_per_message_and_the_hint_breaks_ties() {
    let n = nlu();
    assert_eq!(n.classify("баланс", now(), Some(Locale::En)).locale, Locale::Ru);
    assert_eq!(n.classify("balance", now(), Some(Locale::Ru)).locale, Locale::En);
    assert_eq!(n.classify("12345", now(), Some(Locale::En)).locale, Locale::En);
    assert_eq!(n.classify("12345", now(), Some(Locale::Ru)).locale, Locale::Ru);
    assert_eq!(n.classify("мой order 12345 где", now(), None).locale, Locale::Ru);
}

// ---- entities ----

#[test]
fn a_month_without_a_year_is_its_latest_occurrence_not_after_now() {
    assert_eq!(entities("акт за декабрь").period.as_deref(), Some("2024-12"));
    assert_eq!(entities("акт за январь").period.as_deref(), Some("2025-01"));
    assert_eq!(entities("акт за февраль").period.as_deref(), Some("2024-02"));
    assert_eq!(entities("invoice for December").period.as_deref(), Some("2024-12"));
    assert_eq!(entities("акт за декабрь 2023").period.as_deref(), Some("2023-12"));
    assert_eq!(entities("акт за декабрь 2023 года").period.as_deref(), Some("2023-12"));
    assert_eq!(entities("statement for March 2023").period.as_deref(), Some("2023-03"));
}

#[test]
fn every_case_form_of_a_russian_month_is_a_period() {
    let forms: [(&[&str], &str); 12] = [
        (&["январь", "января", "январе", "январю", "январём", "январский"], "2025-01"),
        (&["февраль", "февраля", "феврале", "февралю", "февралём", "февральский"], "2024-02"),
        (&["март", "марта", "марте", "марту", "мартом", "мартовский"], "2024-03"),
        (&["апрель", "апреля", "апреле", "апрелю", "апрелем", "апрельский"], "2024-04"),
        (&["май", "мая", "мае", "маю", "маем", "майский"], "2024-05"),
        (&["июнь", "июня", "июне", "июню", "июнем", "июньский"], "2024-06"),
        (&["июль", "июля", "июле", "июлю", "июлем", "июльский"], "2024-07"),
        (&["август", "августа", "августе", "августу", "августом", "августовский"], "2024-08"),
        (&["сентябрь", "сентября", "сентябре", "сентябрю", "сентябрём", "сентябрьский"], "2024-09"),
        (&["октябрь", "октября", "октябре", "октябрю", "октябрём", "октябрьский"], "2024-10"),
        (&["ноябрь", "ноября", "ноябре", "ноябрю", "ноябрём", "ноябрьский"], "2024-11"),
        (&["декабрь", "декабря", "декабре", "декабрю", "декабрём", "декабрьский"], "2024-12"),
    ];
    for (words, want) in forms {
        for w in words {
            let e = entities(&format!("акт {w}"));
            assert_eq!(e.period.as_deref(), Some(want), "{w}");
        }
    }
}

#[test]
fn relative_months_are_resolved() {
    assert_eq!(entities("выписка за прошлый месяц").period.as_deref(), Some("2024-12"));
    assert_eq!(entities("акт в прошлом месяце").period.as_deref(), Some("2024-12"));
    assert_eq!(entities("акт за этот месяц").period.as_deref(), Some("2025-01"));
    assert_eq!(entities("акт в этом месяце").period.as_deref(), Some("2025-01"));
    assert_eq!(entities("акт за позапрошлый месяц").period.as_deref(), Some("2024-11"));
    assert_eq!(entities("invoice for last month").period.as_deref(), Some("2024-12"));
    assert_eq!(entities("receipt for this month").period.as_deref(), Some("2025-01"));
    assert_eq!(entities("акт за 2024-10").period.as_deref(), Some("2024-10"));
    assert_eq!(entities("акт за 10.2024").period.as_deref(), Some("2024-10"));
}

#[test]
fn may_is_a_month_only_in_context() {
    assert_eq!(entities("invoice for may").period.as_deref(), Some("2024-05"));
    assert_eq!(entities("may I book a massage").period, None);
    assert_eq!(entities("may 5th please").date.as_deref(), Some("2025-05-05"));
}

#[test]
fn relative_days_and_weekdays_are_resolved() {
    assert_eq!(entities("запиши на сегодня").date.as_deref(), Some("2025-01-11"));
    assert_eq!(entities("запиши на завтра").date.as_deref(), Some("2025-01-12"));
    assert_eq!(entities("запиши на послезавтра").date.as_deref(), Some("2025-01-13"));
    assert_eq!(entities("book for the day after tomorrow").date.as_deref(), Some("2025-01-13"));
    assert_eq!(entities("book for tomorrow").date.as_deref(), Some("2025-01-12"));
    // 2025-01-11 is a Saturday: the next Friday, and a Saturday means next week's.
    assert_eq!(entities("в пятницу").date.as_deref(), Some("2025-01-17"));
    assert_eq!(entities("в субботу").date.as_deref(), Some("2025-01-18"));
    assert_eq!(entities("в воскресенье").date.as_deref(), Some("2025-01-12"));
    assert_eq!(entities("в понедельник").date.as_deref(), Some("2025-01-13"));
    assert_eq!(entities("в среду").date.as_deref(), Some("2025-01-15"));
    assert_eq!(entities("on Monday").date.as_deref(), Some("2025-01-13"));
    assert_eq!(entities("friday").date.as_deref(), Some("2025-01-17"));
}

#[test]
fn day_and_month_dates_are_this_year_or_next_if_past() {
    assert_eq!(entities("на 15 января").date.as_deref(), Some("2025-01-15"));
    assert_eq!(entities("на 15-го января").date.as_deref(), Some("2025-01-15"));
    assert_eq!(entities("на 10 января").date.as_deref(), Some("2026-01-10"));
    assert_eq!(entities("на 11 января").date.as_deref(), Some("2025-01-11"));
    assert_eq!(entities("на 3 марта").date.as_deref(), Some("2025-03-03"));
    assert_eq!(entities("January 15").date.as_deref(), Some("2025-01-15"));
    assert_eq!(entities("Jan 15th").date.as_deref(), Some("2025-01-15"));
    assert_eq!(entities("15th of January").date.as_deref(), Some("2025-01-15"));
    assert_eq!(entities("15.01").date.as_deref(), Some("2025-01-15"));
    assert_eq!(entities("на 15.01").date.as_deref(), Some("2025-01-15"));
    assert_eq!(entities("10.01").date.as_deref(), Some("2026-01-10"));
    assert_eq!(entities("15.01.2026").date.as_deref(), Some("2026-01-15"));
    assert_eq!(entities("15.01.26").date.as_deref(), Some("2026-01-15"));
    assert_eq!(entities("2025-03-04").date.as_deref(), Some("2025-03-04"));
    assert_eq!(entities("15 января 2026").date.as_deref(), Some("2026-01-15"));
    // A day with a month is a date, not a period.
    assert_eq!(entities("на 15 января").period, None);
}

#[test]
fn impossible_dates_are_not_reported() {
    assert_eq!(entities("31 февраля").date, None);
    assert_eq!(entities("31.02").date, None);
    assert_eq!(entities("45.01").date, None);
    assert_eq!(entities("00.00").date, None);
}

#[test]
fn times_are_read_on_the_24_hour_clock() {
    let cases = [
        ("в 12", "12:00"),
        ("в 3 часа дня", "15:00"),
        ("в 9 вечера", "21:00"),
        ("к 10 утра", "10:00"),
        ("в 16:30", "16:30"),
        ("в 16.30", "16:30"),
        ("в 2 ночи", "02:00"),
        ("в 11 ночи", "23:00"),
        ("в 12 ночи", "00:00"),
        ("в полдень", "12:00"),
        ("в 3 часа 30 минут", "15:30"),
        ("на 12", "12:00"),
        ("в 07:30", "07:30"),
        ("в 3", "15:00"),
        ("at 4 pm", "16:00"),
        ("4pm", "16:00"),
        ("at 4:30 pm", "16:30"),
        ("at 9 am", "09:00"),
        ("at 12 am", "00:00"),
        ("at 12 pm", "12:00"),
        ("15:00", "15:00"),
        ("at noon", "12:00"),
    ];
    for (text, want) in cases {
        assert_eq!(entities(text).time.as_deref(), Some(want), "{text}");
    }
}

#[test]
fn numbers_that_are_not_hours_are_not_times() {
    for text in ["через 2 дня", "на 3 дня", "заказ 12345", "в 2024 году", "15 января", "в 25", "at 99:99"]
    {
        assert_eq!(entities(text).time, None, "{text}");
    }
}

#[test]
fn order_numbers_follow_a_marker_or_stand_alone_in_an_order_question() {
    assert_eq!(entities("заказ №78234").order_id.as_deref(), Some("78234"));
    assert_eq!(entities("что с заказом 12345").order_id.as_deref(), Some("12345"));
    assert_eq!(entities("заказ номер 4567 где").order_id.as_deref(), Some("4567"));
    assert_eq!(entities("order #12345").order_id.as_deref(), Some("12345"));
    assert_eq!(entities("where is order no 55555").order_id.as_deref(), Some("55555"));
    assert_eq!(entities("№ 9876 где посылка").order_id.as_deref(), Some("9876"));
    assert_eq!(entities("где посылка 5551234").order_id.as_deref(), Some("5551234"));
    // Too short, or not about an order.
    assert_eq!(entities("заказ номер 123").order_id, None);
    assert_eq!(entities("12345").order_id, None);
    assert_eq!(entities("акт за декабрь 2024").order_id, None);
}

#[test]
fn document_kinds_are_recognised() {
    let cases = [
        ("пришли акт", "act"),
        ("акты за декабрь", "act"),
        ("пришлите счёт", "invoice"),
        ("счет-фактура", "invoice"),
        ("нужен чек", "receipt"),
        ("квитанцию пришлите", "receipt"),
        ("договор", "contract"),
        ("акт сверки", "statement"),
        ("выписку за январь", "statement"),
        ("send me the invoice", "invoice"),
        ("receipt please", "receipt"),
        ("the contract", "contract"),
        ("statement for December", "statement"),
        ("bill for last month", "invoice"),
    ];
    for (text, want) in cases {
        assert_eq!(entities(text).doc_kind.as_deref(), Some(want), "{text}");
    }
    // «счёт» is an account here, not a document.
    let c = classify("сколько денег на счету");
    assert_eq!(c.intent, Intent::Balance);
    assert_eq!(c.entities.doc_kind, None);
}

#[test]
fn staff_are_found_in_any_case_form() {
    let cases = [
        ("к Анне", "anna"),
        ("у Анны", "anna"),
        ("с Анной", "anna"),
        ("Анну", "anna"),
        ("к Марии", "maria"),
        ("Марию", "maria"),
        ("с Марией", "maria"),
        ("к Олегу", "oleg"),
        ("у Олега", "oleg"),
        ("с Олегом", "oleg"),
        ("with Anna", "anna"),
        ("Maria please", "maria"),
        ("Oleg", "oleg"),
    ];
    for (text, want) in cases {
        assert_eq!(entities(text).staff.as_deref(), Some(want), "{text}");
    }
    for text in ["аннулировать", "в марте", "март", "акт за мар"] {
        assert_eq!(entities(text).staff, None, "{text}");
    }
}

#[test]
fn services_are_found_in_any_case_form() {
    let cases = [
        ("на стрижку", "haircut"),
        ("стрижки", "haircut"),
        ("маникюр", "manicure"),
        ("на маникюрчик", "manicure"),
        ("массажа", "massage"),
        ("масаж", "massage"),
        ("book a massage", "massage"),
        ("haircuts", "haircut"),
    ];
    for (text, want) in cases {
        assert_eq!(entities(text).service.as_deref(), Some(want), "{text}");
    }
}

#[test]
fn a_full_booking_request_carries_all_its_entities() {
    let c = classify("запиши к Анне на завтра в 12");
    assert_eq!(c.intent, Intent::Booking);
    assert_eq!(c.entities.staff.as_deref(), Some("anna"));
    assert_eq!(c.entities.date.as_deref(), Some("2025-01-12"));
    assert_eq!(c.entities.time.as_deref(), Some("12:00"));
    let c = classify("book a massage tomorrow at 4 pm");
    assert_eq!(c.intent, Intent::Booking);
    assert_eq!(c.entities.service.as_deref(), Some("massage"));
    assert_eq!(c.entities.date.as_deref(), Some("2025-01-12"));
    assert_eq!(c.entities.time.as_deref(), Some("16:00"));
    let c = classify("хочу на маникюр к Марии в пятницу в 3 часа дня");
    assert_eq!(c.intent, Intent::Booking);
    assert_eq!(c.entities.service.as_deref(), Some("manicure"));
    assert_eq!(c.entities.staff.as_deref(), Some("maria"));
    assert_eq!(c.entities.date.as_deref(), Some("2025-01-17"));
    assert_eq!(c.entities.time.as_deref(), Some("15:00"));
    assert_eq!(c.entities.period, None);
}

#[test]
fn subscription_actions_are_recognised() {
    let cases = [
        ("сменить тариф", "change"),
        ("хочу поменять тариф", "change"),
        ("приостановить подписку", "pause"),
        ("заморозить абонемент", "pause"),
        ("возобновить подписку", "resume"),
        ("подключить тв", "add_option"),
        ("добавьте опцию телевидение", "add_option"),
        ("отключить опцию", "remove_option"),
        ("change my plan", "change"),
        ("pause my subscription", "pause"),
        ("resume my subscription", "resume"),
        ("add the TV option", "add_option"),
        ("remove the TV option", "remove_option"),
    ];
    for (text, want) in cases {
        let c = classify(text);
        assert_eq!(c.intent, Intent::Subscription, "{text}");
        assert_eq!(c.entities.subscription_action.as_deref(), Some(want), "{text}");
    }
    // Only a subscription message carries one.
    assert_eq!(entities("отключите рассылку").subscription_action, None);
}

// ---- robustness ----

#[test]
fn hostile_input_never_panics() {
    let long = "баланс ".repeat(2000);
    let long_word = "а".repeat(10_000);
    let digits = "9".repeat(10_000);
    let inputs = [
        "",
        "\n",
        "\u{0}",
        "😀🔥👍🏽👨‍👩‍👧",
        "\u{202E}сналаб\u{202C}",
        "ба\u{200B}ла\u{200D}нс",
        "مرحبا بالعالم",
        "שלום",
        "你好，我的余额是多少",
        "Robert'); DROP TABLE customers;--",
        "' OR 1=1 --",
        "1.2.3.4.5.6",
        "99:99:99",
        "..::--//",
        "31.13.99999",
        "#№#№#",
        "заказ № № № ###",
        "2024-13-45",
        "0000-00",
        "в 99 часов",
        "at 25 pm",
        "ёёёёёё",
        "ǅ ß ﬁ İ",
        "ⅫⅣ ①②",
        "１２：３０",
        "\u{FEFF}\u{FEFF}",
        &long,
        &long_word,
        &digits,
    ];
    for text in inputs {
        let c = nlu().classify(text, now(), Some(Locale::En));
        assert!((0.0..=1.0).contains(&c.confidence), "{text:?}");
    }
}

#[test]
fn odd_reference_times_do_not_break_dates() {
    let n = nlu();
    let end = NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_opt(23, 59, 59)).expect("valid");
    let start = NaiveDate::from_ymd_opt(-100, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("valid");
    for now in [end, start, NaiveDateTime::MAX, NaiveDateTime::MIN] {
        for text in [
            "завтра",
            "вчера",
            "в воскресенье",
            "31 декабря",
            "послезавтра",
            "в пятницу",
            "15 января",
            "10.01",
            "за декабрь",
            "прошлый месяц",
        ] {
            let _ = n.classify(text, now, None);
        }
    }
}

#[test]
fn long_input_is_capped_but_still_understood_from_its_start() {
    let text = format!("где мой заказ {}", "бла ".repeat(3000));
    assert_eq!(intent(&text), Intent::OrderStatus);
}

#[test]
fn classify_lines_writes_one_json_line_per_input_line() {
    let mut input: Vec<u8> = Vec::new();
    input.extend_from_slice("пришли акт за декабрь\n".as_bytes());
    input.extend_from_slice(b"\n");
    input.extend_from_slice(b"\xff\xfe broken \xc3\x28\n");
    input.extend_from_slice("what's my balance\r\n".as_bytes());
    input.extend_from_slice("спасибо".as_bytes());
    let mut out = Vec::new();
    classify_lines(nlu(), &input[..], &mut out, now(), Some(Locale::Ru)).expect("writes");
    let text = String::from_utf8(out).expect("utf-8 output");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0].starts_with(r#"{"intent":"documents","entities":{"doc_kind":"act","period":"2024-12"},"confidence":"#),
        "{}",
        lines[0]
    );
    let parsed: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_str(l).expect("json line")).collect();
    let want = (classify("пришли акт за декабрь").confidence as f64 * 100.0).round() / 100.0;
    assert!((parsed[0]["confidence"].as_f64().expect("number") - want).abs() < 1e-6);
    assert_eq!(parsed[1]["intent"], "unknown");
    assert_eq!(parsed[1]["entities"], serde_json::json!({}));
    assert_eq!(parsed[2]["intent"], "unknown");
    assert_eq!(parsed[3]["intent"], "balance");
    assert_eq!(parsed[4]["intent"], "thanks");
    for p in &parsed {
        let c = p["confidence"].as_f64().expect("number");
        assert!((0.0..=1.0).contains(&c));
        assert!(((c * 100.0).round() - c * 100.0).abs() < 1e-6, "{c} has more than 2 decimals");
    }
}

#[test]
fn classify_lines_with_no_input_writes_nothing() {
    let mut out = Vec::new();
    classify_lines(nlu(), &b""[..], &mut out, now(), None).expect("writes");
    assert!(out.is_empty());
}

// ---- data files ----

fn write_embedded_copy(dir: &std::path::Path) {
    for source in data::embedded_sources() {
        let path = dir.join(&source.name);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, source.text).expect("write");
    }
}

#[test]
fn from_dir_reads_the_same_layout_as_the_embedded_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_embedded_copy(dir.path());
    let n = Nlu::from_dir(dir.path(), catalog()).expect("loads");
    let c = n.classify("пришли акт за декабрь", now(), None);
    assert_eq!(c, classify("пришли акт за декабрь"));
}

#[test]
fn from_dir_uses_the_wording_found_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_embedded_copy(dir.path());
    let path = dir.path().join("ru/intents.toml");
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("\n[operator.extra]\n");
    std::fs::write(
        &path,
        text.replace("[thanks]\n", "[thanks]\nhints = [\"лайк\"]\n").replace("\n[operator.extra]\n", ""),
    )
    .expect("write");
    let path = dir.path().join("ru/intents.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("[balance]\nwords = [", "[balance]\nwords = [\"кошелек\", ")).expect("write");
    let n = Nlu::from_dir(dir.path(), catalog()).expect("loads");
    assert_eq!(n.classify("кошелёк", now(), None).intent, Intent::Balance);
    assert_eq!(intent("кошелёк"), Intent::Unknown);
}

#[test]
fn a_malformed_data_file_is_reported_with_its_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_embedded_copy(dir.path());
    let path = dir.path().join("en/intents.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    let broken_line = text.lines().position(|l| l.starts_with("[bonuses]")).expect("has bonuses") + 2;
    let broken = text.replacen("[bonuses]\n", "[bonuses]\nwords = [\"points\"\n", 1);
    std::fs::write(&path, broken).expect("write");
    match Nlu::from_dir(dir.path(), catalog()) {
        Err(NluError::Data { file, line, .. }) => {
            assert_eq!(file, "en/intents.toml");
            assert!(line >= broken_line && line <= broken_line + 2, "line {line}, broken at {broken_line}");
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a broken file loaded"),
    }
}

#[test]
fn an_unknown_intent_in_a_data_file_is_reported_at_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_embedded_copy(dir.path());
    let path = dir.path().join("ru/intents.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    let lines = text.lines().count();
    std::fs::write(&path, format!("{text}\n[weather]\nwords = [\"погода\"]\n")).expect("write");
    match Nlu::from_dir(dir.path(), catalog()) {
        Err(e @ NluError::Data { .. }) => {
            let NluError::Data { ref file, line, ref message } = e else { unreachable!() };
            assert_eq!(file, "ru/intents.toml");
            assert_eq!(line, lines + 2);
            assert!(message.contains("weather"), "{message}");
            assert!(e.to_string().starts_with(&format!("ru/intents.toml:{}:", lines + 2)));
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("an unknown intent loaded"),
    }
}

#[test]
fn patterns_in_a_data_file_score_their_intent() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_embedded_copy(dir.path());
    let path = dir.path().join("en/intents.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replacen("[help]\n", "[help]\npatterns = ['^\\w+ manual$']\n", 1)).expect("write");
    let n = Nlu::from_dir(dir.path(), catalog()).expect("loads");
    assert_eq!(n.classify("Gadget manual!", now(), None).intent, Intent::Help);
    assert_eq!(n.classify("gadget manual please", now(), None).intent, Intent::Unknown);
    assert_eq!(intent("Gadget manual!"), Intent::Unknown);
}

#[test]
fn the_recogniser_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Nlu>();
}

#[test]
fn a_missing_data_file_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(Nlu::from_dir(dir.path(), catalog()), Err(NluError::Io(_))));
}

#[test]
fn intent_names_round_trip() {
    for i in Intent::ALL {
        assert_eq!(Intent::parse(i.as_str()), Some(i));
        assert_eq!(serde_json::to_value(i).expect("serialises"), serde_json::json!(i.as_str()));
    }
    assert_eq!(Intent::parse("weather"), None);
}

#[test]
fn the_catalogue_comes_from_the_caller() {
    let other = Catalog {
        services: vec![named("pedicure", &["Педикюр", "Pedicure"])],
        staff: vec![named("ivan", &["Иван", "Ivan"])],
        tariffs: Vec::new(),
    };
    let n = Nlu::embedded(other).expect("loads");
    let c = n.classify("запишите на педикюр к Ивану", now(), None);
    assert_eq!(c.intent, Intent::Booking);
    assert_eq!(c.entities.service.as_deref(), Some("pedicure"));
    assert_eq!(c.entities.staff.as_deref(), Some("ivan"));
    assert_eq!(n.classify("к Анне на стрижку", now(), None).entities.staff, None);
}

#[test]
#[ignore = "a measurement, not a check: cargo test --lib nlu::tests::speed -- --ignored --nocapture"]
fn speed() {
    let n = nlu();
    let msgs = [
        "баланс",
        "скока денег на счету",
        "где моя посылка",
        "что с заказом 12345",
        "пришлите закрывающие документы за декабрь",
        "запиши к Анне на завтра в 12",
        "book a massage tomorrow at 4 pm",
        "what's my balance",
        "спасибо",
        "какая погода завтра",
    ];
    let rounds = 2000;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for m in msgs {
            std::hint::black_box(n.classify(m, now(), None));
        }
    }
    let per = start.elapsed() / (rounds * msgs.len() as u32);
    println!("{per:?} per message");
    let long: String = (0..3000).map(|i| format!("слво{} ", i % 97)).collect();
    let start = std::time::Instant::now();
    for _ in 0..200 {
        std::hint::black_box(n.classify(&long, now(), None));
    }
    println!("{:?} per long message", start.elapsed() / 200);
}

// ---- matching details ----

#[test]
fn stop_words_between_the_words_of_a_phrase_do_not_break_it() {
    check_intents(&[
        ("какие данные вы обо мне храните", Intent::Privacy),
        ("какие у вас для меня есть скидки", Intent::Offers),
    ]);
}

#[test]
fn a_two_word_phrase_with_a_stop_word_is_not_read_backwards() {
    assert_eq!(intent("recommend a good book"), Intent::Unknown);
    assert_eq!(intent("book a massage"), Intent::Booking);
}

#[test]
fn an_entity_alone_points_to_the_intent_that_likes_it_most() {
    // A service supports a cancellation the words ask for, but alone it means a booking.
    let c = classify("на маникюр");
    assert_eq!(c.intent, Intent::Booking);
    assert!(c.alternatives.iter().all(|(i, _)| *i != Intent::BookingCancel), "{:?}", c.alternatives);
    assert_eq!(intent("отменить маникюр"), Intent::BookingCancel);
    assert_eq!(intent("I need to reschedule my haircut with Oleg"), Intent::BookingReschedule);
}

#[test]
fn a_context_word_for_a_document_counts_when_a_month_goes_with_it() {
    let c = classify("ноябрьский счёт");
    assert_eq!(c.intent, Intent::Documents);
    assert_eq!(c.entities.doc_kind.as_deref(), Some("invoice"));
    assert_eq!(c.entities.period.as_deref(), Some("2024-11"));
    // Without a month the account is not a document.
    let c = classify("пополнить счёт");
    assert_eq!(c.intent, Intent::TopUp);
    assert_eq!(c.entities.doc_kind, None);
}

#[test]
fn sql_is_unknown_whatever_words_it_holds() {
    for text in [
        "SELECT * FROM orders WHERE id=1 OR 1=1",
        "SELECT balance FROM accounts WHERE user_id = 7",
        "'; DROP TABLE bookings; --",
    ] {
        let c = classify(text);
        assert_eq!(c.intent, Intent::Unknown, "{text}");
        assert_eq!(c.confidence, 1.0, "{text}");
        assert!(c.alternatives.is_empty(), "{text}: {:?}", c.alternatives);
    }
    // Ordinary words that SQL also uses are not code, and words inside markup still count.
    assert_eq!(intent("delete my data from your database"), Intent::Privacy);
    assert_eq!(intent("<b>привет</b><script>alert(1)</script>"), Intent::Greeting);
}

#[test]
fn unknown_in_a_data_file_takes_only_patterns() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_embedded_copy(dir.path());
    let path = dir.path().join("ru/intents.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, format!("{text}\n[unknown]\nwords = [\"погода\"]\n")).expect("write");
    match Nlu::from_dir(dir.path(), catalog()) {
        Err(NluError::Data { file, message, .. }) => {
            assert_eq!(file, "ru/intents.toml");
            assert!(message.contains("unknown"), "{message}");
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("wording for unknown loaded"),
    }
}

#[test]
fn the_business_questions_are_recognised_with_their_key() {
    for (text, key) in [
        ("до скольки вы работаете", "opening_hours"),
        ("дo скольки вы работаите?", "opening_hours"),
        ("what are your opening hours", "opening_hours"),
        ("какой у вас адрес", "address"),
        ("how do I get to you", "address"),
        ("сколько стоит маникюр", "prices"),
        ("какие способы оплаты", "payment_methods"),
        ("как настроить роутер", "router_setup"),
        ("wifi not working after reset", "router_setup"),
    ] {
        let c = classify(text);
        assert_eq!((c.intent, c.entities.faq.as_deref()), (Intent::Faq, Some(key)), "{text}");
    }
    // A key is reported only for the faq intent, and a request stays a request.
    let c = classify("хочу записаться на маникюр");
    assert_eq!((c.intent, c.entities.faq), (Intent::Booking, None));
    let answer = nlu().faq_answer("address", Locale::En).expect("the demo answers");
    assert!(answer.location.is_some() && answer.text.contains("Almaty"), "{answer:?}");
    assert_eq!(nlu().faq_answer("address", Locale::Ru).map(|a| a.locale), Some(Locale::Ru));
    assert!(nlu().faq_answer("no_such_key", Locale::Ru).is_none());
}

#[test]
fn a_recogniser_without_the_faq_has_no_answers() {
    let n = Nlu::embedded(catalog()).expect("loads").without_faq();
    assert!(n.faq_answer("opening_hours", Locale::Ru).is_none());
}

#[test]
fn cancelling_an_order_is_not_cancelling_an_appointment() {
    check_intents(&[
        ("отмените заказ 78234", Intent::OrderCancel),
        ("хочу отменить заказ", Intent::OrderCancel),
        ("cancel my order", Intent::OrderCancel),
        ("отмените запись", Intent::BookingCancel),
        ("cancel my appointment", Intent::BookingCancel),
        ("где мой заказ", Intent::OrderStatus),
    ]);
    assert_eq!(entities("отмените заказ 78234").order_id.as_deref(), Some("78234"));
}

#[test]
fn a_tariff_is_named_by_its_name_or_as_the_cheapest_or_a_faster_one() {
    for (text, want) in [
        ("переключите меня на Максимум", "max"),
        ("хочу тариф Оптимальный", "optimal"),
        ("switch me to Basic", "basic"),
        ("самый дешёвый тариф", "basic"),
        ("хочу тариф побыстрее", "faster"),
        ("a faster plan please", "faster"),
    ] {
        let c = classify(text);
        assert_eq!((c.intent, c.entities.tariff.as_deref()), (Intent::Subscription, Some(want)), "{text}");
    }
}

#[test]
fn the_earliest_time_and_days_ahead_are_read() {
    for (text, from) in [
        ("запишите на стрижку после 15", "15:00"),
        ("book a haircut after 3 pm", "15:00"),
        ("можно в обед на маникюр", "12:00"),
        ("на массаж после обеда", "14:00"),
    ] {
        let e = entities(text);
        assert_eq!((e.time_from.as_deref(), e.time), (Some(from), None), "{text}");
    }
    assert_eq!(entities("запишите на стрижку в 15").time.as_deref(), Some("15:00"));
    // Saturday 2025-01-11.
    for (text, date) in [
        ("запишите через неделю", "2025-01-18"),
        ("через 3 дня на стрижку", "2025-01-14"),
        ("in two days", "2025-01-13"),
        ("in a week please", "2025-01-18"),
        ("на выходных к Маше", "2025-01-11"),
        ("this weekend", "2025-01-11"),
    ] {
        assert_eq!(entities(text).date.as_deref(), Some(date), "{text}");
    }
    assert_eq!(entities("на 3 дня").date, None);
}

#[test]
fn diminutives_case_forms_and_verbs_name_staff_and_services() {
    for (text, service, staff) in [
        ("хочу к Ане", None, Some("anna")),
        ("запишите к Машеньке на ноготочки", Some("manicure"), Some("maria")),
        ("хочу постричься", Some("haircut"), None),
        ("к Олежке помассировать спину", Some("massage"), Some("oleg")),
        ("a trim with Masha", Some("haircut"), Some("maria")),
    ] {
        let e = entities(text);
        assert_eq!((e.service.as_deref(), e.staff.as_deref()), (service, staff), "{text}");
    }
    // «аннулируйте» is not Anna.
    assert_eq!(entities("аннулируйте заказ").staff, None);
}

#[test]
fn money_points_offers_and_complaints_without_their_usual_words() {
    check_intents(&[
        ("когда следующее списание?", Intent::Balance),
        ("хватит ли денег до конца месяца", Intent::Balance),
        ("when will you charge me next", Intent::Balance),
        ("как потратить баллы", Intent::Bonuses),
        ("can I pay with my points", Intent::Bonuses),
        ("что у вас новенького для меня?", Intent::Offers),
        ("any deals for me?", Intent::Offers),
        ("сколько можно, третий день без связи", Intent::Operator),
        ("I want my money back", Intent::Operator),
        ("во сколько я записан?", Intent::BookingList),
        ("what time is my appointment", Intent::BookingList),
    ]);
}
