//! The connector against a wiremock YCLIENTS answering with the documented shapes
//! (`fixtures/`).

use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::clock::FixedClock;

const COMPANY: u64 = 4564;

fn fixture(name: &str) -> Value {
    let path = format!("{}/src/adapters/yclients/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn ok(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(name))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn erlan() -> CustomerId {
    CustomerId("C1".to_owned())
}

fn other() -> CustomerId {
    CustomerId("C2".to_owned())
}

/// A CRM of two customers.
struct TwoCustomers;

fn profile_of(id: &str) -> Option<CustomerProfile> {
    let (name, phone) = match id {
        "C1" => ("Ерлан Ахметов", "+77011234567"),
        "C2" => ("Другой Клиент", "+77029998877"),
        _ => return None,
    };
    Some(CustomerProfile {
        id: CustomerId(id.to_owned()),
        name: name.to_owned(),
        first_name: name.split(' ').next().unwrap().to_owned(),
        phone: Phone::parse(phone).unwrap(),
        email: None,
        locale: None,
        tags: Vec::new(),
        time_zone: None,
    })
}

#[async_trait]
impl Crm for TwoCustomers {
    async fn find_by_phone(&self, phone: &Phone) -> AdapterResult<Option<CustomerProfile>> {
        Ok(["C1", "C2"].into_iter().filter_map(profile_of).find(|p| &p.phone == phone))
    }
    async fn profile(&self, id: &CustomerId) -> AdapterResult<Option<CustomerProfile>> {
        Ok(profile_of(id.as_str()))
    }
    async fn search(&self, _query: &str, _limit: u32) -> AdapterResult<Vec<CustomerProfile>> {
        Ok(Vec::new())
    }
}

fn config(server: &MockServer, user_token: bool) -> YclientsConfig {
    YclientsConfig {
        base_url: format!("{}/api/v1/", server.uri()),
        company_id: COMPANY,
        partner_token: SecretString::from("partner-secret"),
        user_token: user_token.then(|| SecretString::from("user-secret")),
        service_codes: BTreeMap::from([("1001".to_owned(), "haircut".to_owned())]),
        staff_codes: BTreeMap::new(),
        max_days: 7,
    }
}

/// The connector on the demo's clock (2025-01-11 10:00 in Almaty).
fn connector(server: &MockServer) -> Yclients {
    Yclients::new(&config(server, true), Arc::new(TwoCustomers), chrono_tz::Asia::Almaty)
        .unwrap()
        .with_clock(FixedClock::new(utc("2025-01-11T05:00:00Z")))
}

/// The whole Authorization header (wiremock's `header` matcher splits values at commas).
fn authorization(expected: &'static str) -> impl wiremock::Match {
    move |request: &wiremock::Request| {
        request.headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected)
    }
}

fn api(p: &str) -> String {
    format!("/api/v1{p}")
}

async fn mount_get(server: &MockServer, p: &str, response: ResponseTemplate) {
    Mock::given(method("GET")).and(path(api(p))).respond_with(response).mount(server).await;
}

fn slot(at: &str, staff: &str) -> Slot {
    Slot { start: utc(at), staff: staff.to_owned() }
}

async fn requests_to(server: &MockServer, verb: &str, p: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == api(p))
        .collect()
}

#[tokio::test]
async fn services_are_read_with_the_v2_headers_and_both_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/book_services/4564")))
        .and(header("accept", "application/vnd.yclients.v2+json"))
        .and(authorization("Bearer partner-secret, User user-secret"))
        .respond_with(ok("book_services.json"))
        .expect(1)
        .mount(&server)
        .await;
    let services = connector(&server).services().await.unwrap();
    assert_eq!(services.len(), 2);
    assert_eq!(services[0].code, "haircut");
    assert_eq!(services[0].name.get(crate::domain::Locale::Ru), "Стрижка");
    assert_eq!(services[0].duration_min, 60);
    assert_eq!(services[0].price, Decimal::from(5000));
    // No mapping: the id is the code; no seance_length: the default duration.
    assert_eq!(services[1].code, "1002");
    assert_eq!(services[1].duration_min, DEFAULT_DURATION_MIN);
    assert_eq!(services[1].price, "6000.50".parse::<Decimal>().unwrap());
}

#[tokio::test]
async fn without_a_user_token_only_the_partner_token_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/book_services/4564")))
        .and(authorization("Bearer partner-secret"))
        .respond_with(ok("book_services.json"))
        .expect(1)
        .mount(&server)
        .await;
    let connector = Yclients::new(&config(&server, false), Arc::new(TwoCustomers), chrono_tz::Asia::Almaty).unwrap();
    assert_eq!(connector.services().await.unwrap().len(), 2);
    // Records need the user token: no request is made without it.
    assert!(matches!(
        connector.appointments(&erlan(), utc("2025-01-11T05:00:00Z")).await,
        Err(AdapterError::Unavailable(_))
    ));
}

#[tokio::test]
async fn staff_are_the_bookable_members_with_the_services_they_are_listed_for() {
    let server = MockServer::start().await;
    mount_get(&server, "/book_services/4564", ok("book_services.json")).await;
    Mock::given(method("GET"))
        .and(path(api("/book_staff/4564")))
        .and(query_param("service_ids[]", "1001"))
        .respond_with(ok("book_staff_haircut.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/book_staff/4564")))
        .and(query_param("service_ids[]", "1002"))
        .respond_with(ok("book_staff_manicure.json"))
        .expect(1)
        .mount(&server)
        .await;
    let staff = connector(&server).staff().await.unwrap();
    let summary: Vec<(&str, &str, Vec<&str>)> = staff
        .iter()
        .map(|s| {
            (s.id.as_str(), s.name.get(crate::domain::Locale::Ru), s.services.iter().map(String::as_str).collect())
        })
        .collect();
    assert_eq!(summary, [("501", "Анна", vec!["haircut"]), ("502", "Мария", vec!["haircut", "1002"])]);
}

#[tokio::test]
async fn free_times_take_both_offset_forms_and_unix_times_within_the_range_earliest_first() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/book_staff/4564")))
        .and(query_param("service_ids[]", "1001"))
        .respond_with(ok("book_staff_haircut.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/book_dates/4564")))
        .and(query_param("service_ids[]", "1001"))
        .respond_with(ok("book_dates.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/book_times/4564/501/2025-01-12")))
        .and(query_param("service_ids[]", "1001"))
        .respond_with(ok("book_times_colon.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/book_times/4564/502/2025-01-12")))
        .respond_with(ok("book_times_no_colon.json"))
        .expect(1)
        .mount(&server)
        .await;
    // The range ends with 2025-01-12 16:00 (local): the 13th and 14th are not asked.
    let slots = connector(&server)
        .free_slots("haircut", None, utc("2025-01-11T05:00:00Z"), utc("2025-01-12T11:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        slots,
        [
            slot("2025-01-12T05:00:00Z", "502"),
            slot("2025-01-12T07:00:00Z", "501"),
            // 16:00 (501) is not before the end, 18:00 (502, Unix time) neither.
        ]
    );
}

#[tokio::test]
async fn free_times_of_one_staff_member_ask_their_dates_and_parse_unix_times() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/book_dates/4564")))
        .and(query_param("staff_id", "502"))
        .respond_with(ok("book_dates.json"))
        .expect(1)
        .mount(&server)
        .await;
    mount_get(&server, "/book_times/4564/502/2025-01-12", ok("book_times_no_colon.json")).await;
    let slots = connector(&server)
        .free_slots("haircut", Some("502"), utc("2025-01-12T12:00:00Z"), utc("2025-01-12T14:00:00Z"))
        .await
        .unwrap();
    assert_eq!(slots, [slot("2025-01-12T13:00:00Z", "502")]);
    // No book_staff call when the staff member is given.
    assert!(requests_to(&server, "GET", "/book_staff/4564").await.is_empty());
}

#[tokio::test]
async fn empty_lists_are_no_services_and_no_free_times() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        "/book_services/4564",
        ResponseTemplate::new(200).set_body_json(
            json!({"success": true, "data": {"services": [], "category": [], "events": []}, "meta": []}),
        ),
    )
    .await;
    mount_get(&server, "/book_staff/4564", ok("empty_list.json")).await;
    let c = connector(&server);
    assert!(c.services().await.unwrap().is_empty());
    assert!(c.staff().await.unwrap().is_empty());
    assert!(
        c.free_slots("haircut", None, utc("2025-01-11T05:00:00Z"), utc("2025-01-20T00:00:00Z"))
            .await
            .unwrap()
            .is_empty()
    );
    mount_get(&server, "/book_dates/4564", ok("empty_dates.json")).await;
    assert!(
        c.free_slots("haircut", Some("501"), utc("2025-01-11T05:00:00Z"), utc("2025-01-20T00:00:00Z"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn failures_are_unavailable_and_malformed_answers_invalid() {
    for (response, unavailable) in [
        (ResponseTemplate::new(500).set_body_json(fixture("error_500.json")), true),
        (ResponseTemplate::new(503), true),
        (ResponseTemplate::new(429).insert_header("retry-after", "1"), true),
        (ResponseTemplate::new(401).set_body_json(fixture("success_false.json")), true),
        (ResponseTemplate::new(403).set_body_json(fixture("success_false.json")), true),
        (ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"), false),
        (ResponseTemplate::new(200).set_body_json(fixture("success_false.json")), false),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"success": true, "data": {"services": "none"}, "meta": []})),
            false,
        ),
    ] {
        let server = MockServer::start().await;
        mount_get(&server, "/book_services/4564", response).await;
        let err = connector(&server).services().await.unwrap_err();
        if unavailable {
            assert!(matches!(err, AdapterError::Unavailable(_)), "{err:?}");
        } else {
            assert!(matches!(err, AdapterError::Invalid(_)), "{err:?}");
        }
        // Errors never carry the tokens.
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}

/// book_services, the key lookup (no records that day), book_check and book_record.
async fn mount_booking(server: &MockServer, check: ResponseTemplate, record: ResponseTemplate) {
    mount_get(server, "/book_services/4564", ok("book_services.json")).await;
    Mock::given(method("GET"))
        .and(path(api("/records/4564")))
        .and(query_param("start_date", "2025-01-12"))
        .and(query_param("end_date", "2025-01-12"))
        .respond_with(ok("empty_list.json"))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/book_check/4564")))
        .and(body_partial_json(json!({
            "appointments": [{"id": 1, "services": [1001], "staff_id": 501, "datetime": "2025-01-12T12:00:00+05:00"}]
        })))
        .respond_with(check)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/book_record/4564")))
        .and(authorization("Bearer partner-secret, User user-secret"))
        .and(body_partial_json(json!({
            "phone": "77011234567",
            "fullname": "Ерлан Ахметов",
            "comment": "cabinet:key-1",
            "appointments": [{"id": 1, "services": [1001], "staff_id": 501, "datetime": "2025-01-12T12:00:00+05:00"}]
        })))
        .respond_with(record)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_booking_sends_the_phone_name_and_key_and_a_repeat_books_once() {
    let server = MockServer::start().await;
    mount_booking(
        &server,
        ResponseTemplate::new(201).set_body_json(fixture("book_check.json")),
        ResponseTemplate::new(201).set_body_json(fixture("book_record.json")),
    )
    .await;
    let c = connector(&server);
    let s = slot("2025-01-12T07:00:00Z", "501");
    let first = c.book(&erlan(), "haircut", &s, "key-1").await.unwrap().unwrap();
    assert_eq!(
        first,
        Appointment {
            id: "2820023".to_owned(),
            service: "haircut".to_owned(),
            staff: "501".to_owned(),
            start: s.start,
            duration_min: 60,
            status: BookingStatus::Confirmed,
        }
    );
    let again = c.book(&erlan(), "haircut", &s, "key-1").await.unwrap().unwrap();
    assert_eq!(again, first);
    assert_eq!(requests_to(&server, "POST", "/book_record/4564").await.len(), 1);
    assert_eq!(requests_to(&server, "POST", "/book_check/4564").await.len(), 1);
}

#[tokio::test]
async fn a_repeat_after_a_restart_finds_the_record_by_its_comment_among_the_customers_own() {
    let server = MockServer::start().await;
    mount_get(&server, "/records/4564", ok("records_day.json")).await;
    Mock::given(method("POST"))
        .and(path(api("/book_record/4564")))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("book_record.json")))
        .expect(0)
        .mount(&server)
        .await;
    let found = connector(&server)
        .book(&erlan(), "haircut", &slot("2025-01-12T07:00:00Z", "502"), "key-1")
        .await
        .unwrap()
        .unwrap();
    // The other customer's record with the same comment is not Erlan's.
    assert_eq!(found.id, "2820023");
    assert_eq!(found.staff, "502");
}

#[tokio::test]
async fn refusals_of_the_booking_map_to_the_bots_answers() {
    for (status, fixture_name, at_check, expected) in [
        (422, "error_433.json", true, Some(BookingRefusal::SlotTaken)),
        (422, "error_433.json", false, Some(BookingRefusal::SlotTaken)),
        (422, "error_437.json", false, Some(BookingRefusal::SlotTaken)),
        (422, "error_436.json", true, Some(BookingRefusal::Unknown)),
        (403, "error_403.json", false, Some(BookingRefusal::NotOffered)),
        (422, "error_431.json", false, None),
    ] {
        let server = MockServer::start().await;
        let refusal = ResponseTemplate::new(status).set_body_json(fixture(fixture_name));
        let (check, record) = if at_check {
            (refusal, ResponseTemplate::new(201).set_body_json(fixture("book_record.json")))
        } else {
            (ResponseTemplate::new(201).set_body_json(fixture("book_check.json")), refusal)
        };
        mount_booking(&server, check, record).await;
        let outcome = connector(&server).book(&erlan(), "haircut", &slot("2025-01-12T07:00:00Z", "501"), "key-1").await;
        match expected {
            Some(refusal) => assert_eq!(outcome.unwrap(), Err(refusal), "{fixture_name}"),
            None => assert!(matches!(outcome, Err(AdapterError::Invalid(_))), "{fixture_name}: {outcome:?}"),
        }
        let records = requests_to(&server, "POST", "/book_record/4564").await.len();
        assert_eq!(records, usize::from(!at_check), "{fixture_name}");
    }
}

#[tokio::test]
async fn a_failing_booking_is_unavailable() {
    let server = MockServer::start().await;
    mount_booking(
        &server,
        ResponseTemplate::new(201).set_body_json(fixture("book_check.json")),
        ResponseTemplate::new(502),
    )
    .await;
    let outcome = connector(&server).book(&erlan(), "haircut", &slot("2025-01-12T07:00:00Z", "501"), "key-1").await;
    assert!(matches!(outcome, Err(AdapterError::Unavailable(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_past_time_is_refused_without_asking() {
    let server = MockServer::start().await;
    let outcome = connector(&server).book(&erlan(), "haircut", &slot("2025-01-11T04:00:00Z", "501"), "key-1").await;
    assert_eq!(outcome.unwrap(), Err(BookingRefusal::InPast));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn another_customers_record_is_not_found_and_not_cancelled() {
    let server = MockServer::start().await;
    mount_get(&server, "/record/4564/2820099", ok("record_other.json")).await;
    mount_get(&server, "/record/4564/2820023", ok("record_own.json")).await;
    mount_get(&server, "/record/4564/404", ResponseTemplate::new(404).set_body_json(fixture("success_false.json")))
        .await;
    Mock::given(method("DELETE"))
        .and(path(api("/record/4564/2820099")))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(api("/book_record/4564/2820099")))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let c = connector(&server);
    assert_eq!(c.appointment(&erlan(), "2820099").await.unwrap(), None);
    assert_eq!(c.cancel(&erlan(), "2820099").await.unwrap(), Err(BookingRefusal::NotFound));
    assert_eq!(
        c.reschedule(&erlan(), "2820099", &slot("2025-01-13T06:00:00Z", "501")).await.unwrap(),
        Err(BookingRefusal::NotFound)
    );
    assert_eq!(c.appointment(&erlan(), "404").await.unwrap(), None);
    // Not an id at all: not asked.
    assert_eq!(c.appointment(&erlan(), "../records/4564").await.unwrap(), None);
    let own = c.appointment(&erlan(), "2820023").await.unwrap().unwrap();
    assert_eq!((own.start, own.staff.as_str(), own.service.as_str()), (utc("2025-01-13T05:00:00Z"), "501", "haircut"));
    // The owner of the other record sees it.
    assert!(c.appointment(&other(), "2820099").await.unwrap().is_some());
}

#[tokio::test]
async fn cancelling_deletes_the_customers_record_once() {
    let server = MockServer::start().await;
    mount_get(&server, "/record/4564/2820023", ok("record_own.json")).await;
    Mock::given(method("DELETE"))
        .and(path(api("/record/4564/2820023")))
        .and(authorization("Bearer partner-secret, User user-secret"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let cancelled = connector(&server).cancel(&erlan(), "2820023").await.unwrap().unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);

    let server = MockServer::start().await;
    mount_get(&server, "/record/4564/2820023", ok("record_deleted.json")).await;
    assert_eq!(connector(&server).cancel(&erlan(), "2820023").await.unwrap(), Err(BookingRefusal::AlreadyCancelled));
}

#[tokio::test]
async fn a_move_checks_the_new_time_then_puts_the_new_datetime() {
    let server = MockServer::start().await;
    mount_get(&server, "/record/4564/2820023", ok("record_own.json")).await;
    mount_get(&server, "/book_dates/4564", ok("book_dates.json")).await;
    mount_get(&server, "/book_times/4564/501/2025-01-12", ok("book_times_colon.json")).await;
    Mock::given(method("PUT"))
        .and(path(api("/book_record/4564/2820023")))
        .and(body_partial_json(
            json!({"datetime": "2025-01-12T16:00:00+05:00", "comment": "Пожелание: покороче. cabinet:key-0"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("record_own.json")))
        .expect(1)
        .mount(&server)
        .await;
    let c = connector(&server);
    let moved = c.reschedule(&erlan(), "2820023", &slot("2025-01-12T11:00:00Z", "501")).await.unwrap().unwrap();
    assert_eq!((moved.id.as_str(), moved.start), ("2820023", utc("2025-01-12T11:00:00Z")));
    // 14:00 is not among the free times: taken, and not asked to move.
    assert_eq!(
        c.reschedule(&erlan(), "2820023", &slot("2025-01-12T09:00:00Z", "501")).await.unwrap(),
        Err(BookingRefusal::SlotTaken)
    );
}

#[tokio::test]
async fn the_customers_appointments_are_their_confirmed_records_from_then_on() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api("/company/4564/clients/search")))
        .and(body_partial_json(json!({"filters": [{"type": "quick_search", "state": {"value": "77011234567"}}]})))
        .respond_with(ok("clients_search.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/records/4564")))
        .and(query_param("client_id", "3901"))
        .respond_with(ok("records_range.json"))
        .mount(&server)
        .await;
    let c = connector(&server);
    let list = c.appointments(&erlan(), utc("2025-01-11T05:00:00Z")).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|a| a.id.as_str()).collect();
    // Earliest first; the deleted one and other clients' records (were YCLIENTS to send
    // them) are left out.
    assert_eq!(ids, ["2820030", "2820031"]);
    assert_eq!(c.preferred_staff(&erlan()).await.unwrap().as_deref(), Some("501"));
}

#[tokio::test]
async fn upcoming_records_are_mapped_to_customers_by_phone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/records/4564")))
        .and(query_param("start_date", "2025-01-12"))
        .and(query_param("end_date", "2025-01-13"))
        .respond_with(ok("records_range.json"))
        .expect(1)
        .mount(&server)
        .await;
    let upcoming = connector(&server).upcoming(utc("2025-01-11T19:00:00Z"), utc("2025-01-13T19:00:00Z")).await.unwrap();
    let seen: Vec<(&str, &str)> = upcoming.iter().map(|(c, a)| (c.as_str(), a.id.as_str())).collect();
    assert_eq!(seen, [("C2", "2820040"), ("C1", "2820030"), ("C1", "2820031")]);
}

#[test]
fn instants_come_with_either_offset_form_as_wall_times_or_as_unix_seconds() {
    let tz = chrono_tz::Asia::Almaty;
    let noon = utc("2025-01-12T07:00:00Z");
    for v in [
        json!("2025-01-12T12:00:00+05:00"),
        json!("2025-01-12T12:00:00+0500"),
        json!("2025-01-12T11:00:00+04:00"),
        json!("2025-01-12 12:00:00"),
        json!(1736665200),
        json!("1736665200"),
    ] {
        assert_eq!(instant(&v, tz), Some(noon), "{v}");
    }
    assert_eq!(instant(&json!("tomorrow"), tz), None);
    assert_eq!(instant(&json!(null), tz), None);
}

#[test]
fn the_config_takes_the_documented_keys_only() {
    let config: YclientsConfig = toml::from_str("company_id = 4564\npartner_token = \"p\"\n").unwrap();
    assert_eq!(config.base_url, "https://api.yclients.com/api/v1");
    assert_eq!(config.max_days, 7);
    assert!(config.user_token.is_none());
    assert!(toml::from_str::<YclientsConfig>("company_id = 1\npartner_token = \"p\"\ncompany = 2\n").is_err());
}

#[tokio::test]
async fn a_yclients_that_does_not_answer_is_unavailable() {
    // A port nobody listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = MockServer::start().await;
    let mut config = config(&server, true);
    config.base_url = format!("http://127.0.0.1:{port}/api/v1");
    let c = Yclients::new(&config, Arc::new(TwoCustomers), chrono_tz::Asia::Almaty).unwrap();
    let err = c.services().await.unwrap_err();
    assert!(matches!(err, AdapterError::Unavailable(_)), "{err:?}");
}
