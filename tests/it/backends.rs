//! Where the business's facts and each capability come from: `[backends]`, the `directory`
//! capability and `[business]`; the bot starts without an imported business.

use std::path::Path;

use cabinet::app;
use cabinet::config::Config;
use cabinet::sandbox::Sandbox;

use super::support::{WAIT, erlan};

/// A config on an empty SQLite database in `dir` (nothing imported), polling `sandbox`.
fn empty_config(sandbox: &Sandbox, dir: &Path) -> Config {
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.join("cabinet.db").display());
    config.telegram.token = Some(secrecy::SecretString::from(sandbox.token()));
    config
}

fn salon_facts(config: &mut Config) {
    config.backends.set("directory", "none");
    config.business.name = Some("Salon Nord".into());
    config.business.currency = Some("RUB".into());
    config.business.time_zone = Some("Europe/Moscow".into());
    config.business.default_locale = Some("en".into());
    config.business.working_hours = Some([("mon-sat".to_owned(), "10:00-20:00".to_owned())].into());
}

#[tokio::test]
async fn a_business_not_imported_starts_from_the_configs_facts() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = empty_config(&sandbox, dir.path());
    salon_facts(&mut config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let api_url = sandbox.api_url().to_string();
    let run_config = config.clone();
    let task = tokio::spawn(async move {
        app::run_until(&run_config, Some(api_url), async {
            let _ = stopped.await;
        })
        .await
    });
    let user = cabinet::sandbox::SandboxUser::new(erlan().id, "Erlan", None);
    sandbox.send_text(&user, "/start");
    let greeted = sandbox.wait_until(WAIT, |s| s.messages(user.id).iter().any(|m| m.text.contains("Hello"))).await;
    assert!(greeted, "no English greeting (the configured default language): {:?}", sandbox.messages(user.id));
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, task).await.expect("run did not stop").unwrap().unwrap();

    let store = app::open_store(&config.database.url).await.unwrap();
    let (_, business) = app::connect(&config, store, std::sync::Arc::new(cabinet::clock::SystemClock)).await.unwrap();
    assert_eq!((business.name.as_str(), business.currency.as_str()), ("Salon Nord", "RUB"));
    assert_eq!(business.time_zone, chrono_tz::Europe::Moscow);
    assert!(business.catalog.services.is_empty(), "nothing imported, no services: {:?}", business.catalog);
}

#[tokio::test]
async fn without_the_businesss_facts_start_up_says_where_to_get_them() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = empty_config(&sandbox, dir.path());
    let run = app::run_until(&config, Some(sandbox.api_url().to_string()), std::future::pending());
    let error = tokio::time::timeout(WAIT, run).await.expect("start-up hung").unwrap_err();
    let error = format!("{error:#}");
    assert!(error.contains("cabinet import") && error.contains("business.name"), "{error}");
    assert!(sandbox.calls().iter().all(|(method, _)| method != "getUpdates"), "it must not poll");
}

#[tokio::test]
async fn the_directory_gives_the_imported_business_and_the_config_overrides_a_fact() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = empty_config(&sandbox, dir.path());
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/demo-business.json");
    app::import_file(&config, &demo, false).await.unwrap();
    config.business.name = Some("Renamed".into());
    let store = app::open_store(&config.database.url).await.unwrap();
    let (_, business) = app::connect(&config, store, std::sync::Arc::new(cabinet::clock::SystemClock)).await.unwrap();
    assert_eq!(business.name, "Renamed");
    assert_eq!(business.currency, "KZT");
    assert_eq!(business.time_zone, chrono_tz::Asia::Almaty);
    let services: Vec<_> = business.catalog.services.iter().map(|s| s.code.as_str()).collect();
    assert!(services.contains(&"haircut"), "the booking backend names its services: {services:?}");
    assert!(!business.catalog.staff.is_empty());
}

/// The demo bot with the adapters `config` chooses, made as `cabinet run` makes them.
pub async fn bot_configured(config: Config) -> cabinet::replay::harness::SandboxedBot {
    cabinet::replay::harness::SandboxedBot::start_with_adapters(
        config,
        super::support::fixed(),
        |store, clock, config| app::adapters_from_config(config, store, clock, chrono_tz::Asia::Almaty).unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn one_setting_moves_the_orders_tracking_to_cdek() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let json = |body: &str| ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json");
    let cdek = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token"))
        .respond_with(json(include_str!("../../crates/core/src/adapters/cdek/fixtures/token.json")))
        .mount(&cdek)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/orders"))
        .and(query_param("cdek_number", "1234567890"))
        .respond_with(json(include_str!("../../crates/core/src/adapters/cdek/fixtures/order_at_pick_up_point.json")))
        .mount(&cdek)
        .await;
    let toml = format!(
        "[backends]\nlogistics = \"cdek\"\n[backends.cdek]\nbase_url = \"{}/v2\"\nclient_id = \"shop\"\nclient_secret = \"s\"\n",
        cdek.uri()
    );
    let config = Config::from_toml(&toml, "cabinet.toml").unwrap();
    let bot = bot_configured(config).await;
    let user = erlan();
    super::support::identify(&bot, &user, "+77011234567").await;
    let replies = super::support::say(&bot, &user, "где мой заказ?").await;
    assert!(replies.contains("Принят на склад до востребования"), "{}", replies.dump());
    bot.stop().await;

    // Without the table, start-up names what is missing.
    let config = Config::from_toml("[backends]\nlogistics = \"cdek\"\n", "cabinet.toml").unwrap();
    let store = app::open_store("sqlite::memory:").await.unwrap();
    let clock = std::sync::Arc::new(cabinet::clock::SystemClock);
    let error = app::adapters_from_config(&config, store, clock, chrono_tz::Asia::Almaty).err().unwrap();
    assert!(format!("{error:#}").contains("[backends.cdek]"), "{error:#}");
}

#[tokio::test]
async fn a_bot_over_the_http_backend_starts_with_nothing_imported() {
    use cabinet::adapters::builtin::import::{self, BusinessData};
    use cabinet::adapters::http::server::LocalServer;
    // The business's system: the demo, served through the HTTP contract.
    let theirs = app::open_store("sqlite::memory:").await.unwrap();
    import::import(&theirs, &BusinessData::demo(), chrono::Duration::zero()).await.unwrap();
    let secret = secrecy::SecretString::from("shared-secret");
    let server =
        LocalServer::start(cabinet::adapters::builtin::Builtin::new(theirs).adapters(), Some(secret)).await.unwrap();

    // The bot's own database is empty; every capability and the directory are "http".
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = empty_config(&sandbox, dir.path());
    for capability in cabinet::config::BackendsConfig::CAPABILITIES {
        assert!(config.backends.set(capability, "http"));
    }
    let toml = format!("[backends.http]\nurl = \"{}\"\nsecret = \"shared-secret\"\n", server.url());
    config.backends.http = Config::from_toml(&toml, "cabinet.toml").unwrap().backends.http;
    let store = app::open_store(&config.database.url).await.unwrap();
    let (adapters, business) =
        app::connect(&config, store, std::sync::Arc::new(cabinet::clock::SystemClock)).await.unwrap();
    assert_eq!(business.name, "Demo Service");
    assert_eq!(business.time_zone, chrono_tz::Asia::Almaty);
    assert!(business.catalog.services.iter().any(|s| s.code == "haircut"), "{:?}", business.catalog);
    assert_eq!(adapters.names.directory, "http");

    // And it serves: /start is answered, with nothing imported into its database.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let api_url = sandbox.api_url().to_string();
    let run_config = config.clone();
    let task = tokio::spawn(async move {
        app::run_until(&run_config, Some(api_url), async {
            let _ = stopped.await;
        })
        .await
    });
    let user = erlan();
    sandbox.send_text(&user, "/start");
    let greeted =
        sandbox.wait_until(WAIT, |s| s.messages(user.id).iter().any(|m| m.text.contains("Здравствуйте"))).await;
    assert!(greeted, "{:?}", sandbox.messages(user.id));
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, task).await.expect("run did not stop").unwrap().unwrap();
    server.stop().await;
}
