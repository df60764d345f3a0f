//! The Mini App in a real browser: Debian's headless Chromium, driven over WebDriver
//! (`chromedriver`) by the small client below (reqwest, no Node or npm at build or test
//! time), opens the page the sandboxed bot serves as Ерлан, identified in the chat first, as
//! a plain browser opens it (init data in `#tgWebAppData=`, no host but the local one
//! resolves). It visits every screen in Russian and English, light and dark (`?theme=`), with
//! a screenshot of each (`<CARGO_TARGET_TMPDIR>/miniapp-screenshots/`), books a time and
//! cancels it, checks out a cart, repeats an order and tops up, and the chat receives the
//! confirmations; a stranger is sent to the chat, and altered init data gets a polite error.
//!
//! It finds things by the page's DOM contract only, never by layout or wording:
//! `body[data-ready=SCREEN]` once a screen's data is rendered, `html[lang]`,
//! `html[data-theme]`, `[data-nav=SCREEN]` tabs, `[data-screen=SCREEN]` roots, and per screen
//! `[data-balance]`, `canvas[data-chart]`, `[data-transaction]`, `[data-order=NUMBER]`,
//! `[data-map]`, `[data-action=repeat|back|confirm-booking|checkout|topup|add]`,
//! `[data-document=ID] a[data-download]`, `[data-service]`, `[data-staff]`, `[data-day]`,
//! `[data-slot=RFC3339]`, `[data-booked=ID]`, `input[data-search]`, `[data-category]`,
//! `[data-product=SKU]`, `[data-cart-count]`, `[data-cart-line=SKU]`,
//! `[data-order-number=NUMBER]`, `input[data-topup-amount]`, `[data-topup-result]`,
//! `[data-category-toggle]`, `[data-language]`, `a[data-chat-link]` and `[data-error]`.
//!
//! Without chromium and chromedriver the test is named as skipped; under `CI=true` it fails.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use cabinet::replay::harness::SandboxedBot;
use cabinet::sandbox::SandboxUser;
use cabinet::testenv::{self, Requirement};
use reqwest::Method;
use serde_json::{Value, json};

use super::support::{erlan, fixed, identify};

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long the page may take to show something.
const WAIT: Duration = Duration::from_secs(20);
/// How often a condition is looked at while waiting.
const POLL: Duration = Duration::from_millis(50);
/// How long chromedriver may take to start.
const DRIVER_START: Duration = Duration::from_secs(30);

/// `chromedriver` on a free local port; killed when dropped.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        // A free port: bound, read and released (chromedriver needs a number).
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver cannot be started: {e}"));
        ChromeDriver { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An element found on the page (its WebDriver reference).
#[derive(Debug, Clone)]
struct El(String);

/// A WebDriver session of headless Chromium.
struct Browser {
    http: reqwest::Client,
    session: String,
    /// Where screenshots go.
    shots: PathBuf,
    /// Dropped last: the session is deleted first (see `Drop`).
    driver: ChromeDriver,
}

impl Browser {
    /// Chromium at a phone's size, or `None` (said so) when it is not installed.
    async fn start(shots: PathBuf) -> Option<Browser> {
        if !testenv::require(Requirement::Chromium) {
            return None;
        }
        let driver = ChromeDriver::start();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let deadline = Instant::now() + DRIVER_START;
        loop {
            let status = http.get(format!("{}/status", driver.url())).send().await;
            if let Ok(response) = status
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver was not ready within {DRIVER_START:?}");
            tokio::time::sleep(POLL).await;
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=390,844",
                "--disable-dev-shm-usage", "--lang=ru-RU",
                // Hermetic: no host but the local server resolves, so the page's
                // telegram-web-app.js fails at once (a plain browser), never waits on a network.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ] },
            "goog:loggingPrefs": { "browser": "ALL" },
        } } });
        let response = http.post(format!("{}/session", driver.url())).json(&capabilities).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        let session = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver started no session: {body}"))
            .to_owned();
        let browser = Browser { http, session, shots, driver };
        // A phone's screen: headless Chromium keeps windows at least 500 px wide, so the
        // viewport is set through chromedriver's DevTools bridge.
        let metrics = json!({ "cmd": "Emulation.setDeviceMetricsOverride", "params": {
            "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true,
        } });
        browser.must(Method::POST, "/goog/cdp/execute", Some(metrics)).await;
        // The folder is this test's own: a run's screenshots, and no older ones.
        let _ = std::fs::remove_dir_all(&browser.shots);
        std::fs::create_dir_all(&browser.shots).unwrap();
        Some(browser)
    }

    /// A command of this session: its `value`, or WebDriver's error code and message.
    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, (String, String)> {
        let url = format!("{}/session/{}{path}", self.driver.url(), self.session);
        let mut request = self.http.request(method.clone(), url);
        if method == Method::POST {
            request = request.json(&body.unwrap_or_else(|| json!({})));
        }
        let response = request.send().await.map_err(|e| ("transport".to_owned(), e.to_string()))?;
        let body: Value = response.json().await.map_err(|e| ("not JSON".to_owned(), e.to_string()))?;
        let value = body["value"].clone();
        match value.get("error").and_then(Value::as_str) {
            Some(error) => Err((error.to_owned(), value["message"].as_str().unwrap_or_default().to_owned())),
            None => Ok(value),
        }
    }

    async fn must(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        match self.command(method, path, body).await {
            Ok(value) => value,
            Err((error, message)) => panic!("WebDriver {path}: {error}: {message}"),
        }
    }

    async fn navigate(&self, url: &str) {
        self.must(Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// The elements matching the CSS `selector` now.
    async fn find_all(&self, selector: &str) -> Vec<El> {
        let found =
            self.must(Method::POST, "/elements", Some(json!({ "using": "css selector", "value": selector }))).await;
        found.as_array().unwrap().iter().map(|e| El(e[ELEMENT].as_str().unwrap().to_owned())).collect()
    }

    /// The first element matching `selector` now.
    async fn find(&self, selector: &str) -> Option<El> {
        self.find_all(selector).await.into_iter().next()
    }

    /// The elements matching `selector` inside `parent`.
    async fn find_in(&self, parent: &El, selector: &str) -> Vec<El> {
        let path = format!("/element/{}/elements", parent.0);
        let found = self.must(Method::POST, &path, Some(json!({ "using": "css selector", "value": selector }))).await;
        found.as_array().unwrap().iter().map(|e| El(e[ELEMENT].as_str().unwrap().to_owned())).collect()
    }

    /// Clicks `el` as a user would (it must be visible and not covered); one covered by a
    /// fixed bar is scrolled to the middle of the screen and clicked again.
    async fn click(&self, el: &El) {
        let path = format!("/element/{}/click", el.0);
        match self.command(Method::POST, &path, None).await {
            Ok(_) => {}
            Err((error, _)) if error == "element click intercepted" => {
                self.execute("arguments[0].scrollIntoView({block: 'center'});", vec![element(el)]).await;
                self.must(Method::POST, &path, None).await;
            }
            Err((error, message)) => panic!("{}: click: {error}: {message}", self.describe(el).await),
        }
    }

    async fn clear(&self, el: &El) {
        self.must(Method::POST, &format!("/element/{}/clear", el.0), None).await;
    }

    async fn send_keys(&self, el: &El, text: &str) {
        self.must(Method::POST, &format!("/element/{}/value", el.0), Some(json!({ "text": text }))).await;
    }

    async fn text(&self, el: &El) -> String {
        self.must(Method::GET, &format!("/element/{}/text", el.0), None).await.as_str().unwrap_or_default().to_owned()
    }

    async fn attribute(&self, el: &El, name: &str) -> Option<String> {
        let value = self.must(Method::GET, &format!("/element/{}/attribute/{name}", el.0), None).await;
        value.as_str().map(str::to_owned)
    }

    async fn displayed(&self, el: &El) -> bool {
        self.must(Method::GET, &format!("/element/{}/displayed", el.0), None).await == true
    }

    /// Runs `script` in the page (`arguments` are `args`); what it returns.
    async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.must(Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    /// The first element matching `selector`, waited for (every [`POLL`] up to [`WAIT`]); a
    /// failure says what the page shows and keeps a screenshot.
    async fn wait(&self, selector: &str) -> El {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(el) = self.find(selector).await {
                return el;
            }
            if Instant::now() > deadline {
                self.fail(&format!("{selector} did not appear within {WAIT:?}")).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `script` returns `true` (`what` names it in a failure).
    async fn wait_script(&self, script: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        while self.execute(script, vec![]).await != true {
            if Instant::now() > deadline {
                self.fail(&format!("{what}: not within {WAIT:?}")).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `selector` matches nothing.
    async fn wait_gone(&self, selector: &str) {
        let deadline = Instant::now() + WAIT;
        while self.find(selector).await.is_some() {
            if Instant::now() > deadline {
                self.fail(&format!("{selector} was still there after {WAIT:?}")).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the screen `name` has loaded (`body[data-ready=name]`) and is the one shown.
    async fn wait_ready(&self, name: &str) {
        self.wait(&format!("body[data-ready=\"{name}\"]")).await;
        let screen = self.wait(&format!("[data-screen=\"{name}\"]")).await;
        if !self.displayed(&screen).await {
            self.fail(&format!("the screen {name} is loaded but not shown")).await;
        }
    }

    /// Clicks `[data-nav=name]` and waits for that screen (the ready mark is cleared first,
    /// so that the screen shown before does not count).
    async fn open(&self, name: &str) {
        self.execute("document.body.removeAttribute('data-ready');", vec![]).await;
        let nav = self.wait(&format!("[data-nav=\"{name}\"]")).await;
        self.click(&nav).await;
        self.wait_ready(name).await;
    }

    /// Saves a PNG screenshot as `<name>.png` in the screenshots' folder.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.must(Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded.as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "the screenshot {name} is not a PNG");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// An element in a message: its tag, attributes and text.
    async fn describe(&self, el: &El) -> String {
        let html = self.execute("return arguments[0].outerHTML.slice(0, 300);", vec![element(el)]).await;
        html.as_str().unwrap_or_default().to_owned()
    }

    /// Fails the test with what the page shows: the ready mark, an error shown, the
    /// browser's console, and a screenshot.
    async fn fail(&self, what: &str) -> ! {
        let state = self
            .execute(
                "const e = document.querySelector('[data-error]');\n\
                 return { url: location.href.split('#')[0], ready: document.body && document.body.dataset.ready,\n\
                 error: e && e.textContent, html: document.body && document.body.innerHTML.slice(0, 2000) };",
                vec![],
            )
            .await;
        let console = self.command(Method::POST, "/se/log", Some(json!({ "type": "browser" }))).await;
        let shot = self.screenshot("failure").await;
        panic!("{what}\npage: {state:#}\nconsole: {console:?}\nscreenshot: {}", shot.display());
    }
}

impl Drop for Browser {
    /// Ends the session (closing Chromium) before the driver is killed: a plain blocking
    /// `DELETE` (this may run during a panic, outside async code).
    fn drop(&mut self) {
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session, self.driver.port
        );
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.driver.port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = stream.write_all(request.as_bytes());
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
        }
    }
}

fn element(el: &El) -> Value {
    json!({ ELEMENT: el.0 })
}

/// The page's URL with `?theme=` set (before the init data's `#`).
fn themed(url: &str, theme: &str) -> String {
    let (page, hash) = url.split_once('#').unwrap();
    format!("{page}?theme={theme}#{hash}")
}

/// Visits every screen, checks what each must show and takes a screenshot of each, named
/// `<prefix>-<screen>`.
async fn visit_screens(b: &Browser, prefix: &str, bot: &SandboxedBot, page: &str) {
    b.open("balance").await;
    let balance = b.wait("[data-balance]").await;
    assert!(!b.text(&balance).await.trim().is_empty(), "{prefix}: the balance is empty");
    b.wait("canvas[data-chart]").await;
    // The chart is drawn: some pixel of the canvas is not transparent.
    let drawn = "const c = document.querySelector('canvas[data-chart]');\n\
                 if (!c || !c.width || !c.height) return false;\n\
                 const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;\n\
                 for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;\n\
                 return false;";
    b.wait_script(drawn, &format!("{prefix}: the balance chart is drawn")).await;
    assert!(!b.find_all("[data-transaction]").await.is_empty(), "{prefix}: no transactions");
    b.screenshot(&format!("{prefix}-balance")).await;

    b.open("orders").await;
    let first = b.wait("[data-order]").await;
    let number = b.attribute(&first, "data-order").await.unwrap();
    b.screenshot(&format!("{prefix}-orders")).await;
    b.execute("document.body.removeAttribute('data-ready');", vec![]).await;
    b.click(&first).await;
    b.wait_ready("order").await;
    let shown = b.text(&b.wait("body").await).await;
    assert!(shown.contains(&number), "{prefix}: order {number} is not on the page: {shown}");
    // The map link, when the order has one.
    let (status, order) = api(bot, page, &format!("orders/{number}")).await;
    assert_eq!(status, 200, "{order}");
    if let Some(map) = order["delivery"]["map_url"].as_str() {
        let link = b.wait("[data-map]").await;
        assert_eq!(b.attribute(&link, "href").await.as_deref(), Some(map), "{prefix}: the map link");
    }
    let back = b.wait("[data-action=\"back\"]").await;
    assert!(b.displayed(&back).await, "{prefix}: no visible back button on the order's screen");
    b.screenshot(&format!("{prefix}-order")).await;

    b.open("documents").await;
    let document = b.wait("[data-document]").await;
    assert!(!b.find_in(&document, "a[data-download]").await.is_empty(), "{prefix}: a document has no download link");
    b.screenshot(&format!("{prefix}-documents")).await;

    b.open("booking").await;
    b.wait("[data-service]").await;
    b.screenshot(&format!("{prefix}-booking")).await;

    b.open("catalogue").await;
    b.wait("[data-product]").await;
    assert!(!b.find_all("[data-category]").await.is_empty(), "{prefix}: no category chips");
    b.screenshot(&format!("{prefix}-catalogue")).await;

    b.open("cart").await;
    b.screenshot(&format!("{prefix}-cart")).await;

    b.open("settings").await;
    b.wait("input[type=checkbox][data-category-toggle]").await;
    b.wait("[data-language]").await;
    b.screenshot(&format!("{prefix}-settings")).await;
}

/// Checks the document's theme and language marks.
async fn expect_marks(b: &Browser, lang: &str, theme: &str) {
    b.wait(&format!("html[lang=\"{lang}\"][data-theme=\"{theme}\"]")).await;
}

/// The bot's messages in `chat` after the first `from`, waited for until one satisfies `wanted`.
async fn chat_message(bot: &SandboxedBot, chat: i64, from: usize, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let messages = bot.sandbox.messages(chat);
        if let Some(found) = messages.iter().skip(from).find(|m| wanted(&m.text)) {
            return found.text.clone();
        }
        let texts: Vec<&str> = messages.iter().skip(from).map(|m| m.text.as_str()).collect();
        assert!(Instant::now() < deadline, "the chat did not receive it; new messages: {texts:#?}");
        tokio::time::sleep(POLL).await;
    }
}

/// A GET of the Mini App's API as `user`, with the init data of `page_url`.
async fn api(bot: &SandboxedBot, page_url: &str, path: &str) -> (u16, Value) {
    let (_, fragment) = page_url.split_once('#').unwrap();
    let (_, init_data) = url::form_urlencoded::parse(fragment.as_bytes()).find(|(k, _)| k == "tgWebAppData").unwrap();
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/app/{path}", bot.server_url().unwrap()))
        .header("authorization", format!("tma {init_data}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mini_app_in_headless_chromium_every_screen_both_languages_and_themes_a_booking_and_an_order() {
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("miniapp-screenshots");
    let Some(b) = Browser::start(shots.clone()).await else { return };
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user: SandboxUser = erlan();
    identify(&bot, &user, "+77011234567").await;
    let page = bot.miniapp_url(user.id, &user.first_name).unwrap();

    // Russian, light then dark.
    b.navigate(&themed(&page, "light")).await;
    b.wait("body[data-ready]").await;
    expect_marks(&b, "ru", "light").await;
    let ru_balance_tab = b.text(&b.wait("[data-nav=\"balance\"]").await).await;
    visit_screens(&b, "ru-light", &bot, &page).await;
    b.navigate("about:blank").await;
    b.navigate(&themed(&page, "dark")).await;
    b.wait("body[data-ready]").await;
    expect_marks(&b, "ru", "dark").await;
    visit_screens(&b, "ru-dark", &bot, &page).await;

    // English, chosen in Settings: the page speaks it at once, and the choice is kept.
    let language = b.wait("[data-language]").await;
    if b.find("select[data-language]").await.is_some() {
        let script = "arguments[0].value = 'en'; arguments[0].dispatchEvent(new Event('change', { bubbles: true }));";
        b.execute(script, vec![element(&language)]).await;
    } else {
        b.click(&b.wait("[data-language=\"en\"]").await).await;
    }
    expect_marks(&b, "en", "dark").await;
    let en_balance_tab = b.text(&b.wait("[data-nav=\"balance\"]").await).await;
    assert_ne!(en_balance_tab, ru_balance_tab, "the tab bar is not translated");
    let deadline = Instant::now() + WAIT;
    while api(&bot, &page, "settings").await.1["language"] != "en" {
        assert!(Instant::now() < deadline, "the language chosen in the Mini App was not saved");
        tokio::time::sleep(POLL).await;
    }
    visit_screens(&b, "en-dark", &bot, &page).await;
    b.navigate("about:blank").await;
    b.navigate(&themed(&page, "light")).await;
    b.wait("body[data-ready]").await;
    expect_marks(&b, "en", "light").await;
    visit_screens(&b, "en-light", &bot, &page).await;

    // A booking: service → specialist → day → time → confirm.
    let before = bot.sandbox.messages(user.id).len();
    b.open("booking").await;
    b.click(&b.wait("[data-service]").await).await;
    b.click(&b.wait("[data-staff]:not([data-staff=\"any\"])").await).await;
    b.click(&b.wait("[data-day]").await).await;
    let slot = b.wait("[data-slot]").await;
    let start = b.attribute(&slot, "data-slot").await.unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(&start).is_ok(), "data-slot={start}");
    b.click(&slot).await;
    let confirm = b.wait("[data-action=\"confirm-booking\"]").await;
    assert!(b.displayed(&confirm).await, "the confirm button is not visible");
    b.click(&confirm).await;
    let booked = b.wait("[data-booked]").await;
    let id = b.attribute(&booked, "data-booked").await.unwrap();
    b.screenshot("en-light-booked").await;
    let (status, appointment) = api(&bot, &page, &format!("booking/appointments/{id}")).await;
    assert_eq!(status, 200, "{appointment}");
    assert_eq!(appointment["status"], "confirmed", "{appointment}");
    let starts = chrono::DateTime::parse_from_rfc3339(appointment["start"]["at"].as_str().unwrap()).unwrap();
    assert_eq!(starts, chrono::DateTime::parse_from_rfc3339(&start).unwrap(), "{appointment}");
    let (service, staff) =
        (appointment["service"]["name"].as_str().unwrap(), appointment["staff"]["name"].as_str().unwrap());
    let confirmation = chat_message(&bot, user.id, before, |t| t.contains(service) && t.contains(staff)).await;
    println!("the chat's booking confirmation: {confirmation}");

    // It is among my appointments, and cancelled from there.
    b.open("booking").await;
    let row = format!("[data-appointment=\"{id}\"]");
    b.wait(&row).await;
    b.screenshot("en-light-appointments").await;
    b.click(&b.wait(&format!("{row} [data-action=\"cancel\"]")).await).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, appointment) = api(&bot, &page, &format!("booking/appointments/{id}")).await;
        if appointment["status"] == "cancelled" {
            break;
        }
        assert!(Instant::now() < deadline, "not cancelled: {status} {appointment}");
        tokio::time::sleep(POLL).await;
    }

    // Two products into the cart, then the order.
    let before = bot.sandbox.messages(user.id).len();
    b.open("catalogue").await;
    let search = b.wait("input[data-search]").await;
    b.send_keys(&search, "zzzz-nothing-like-it").await;
    b.wait_gone("[data-product]").await;
    b.clear(&search).await;
    b.execute("arguments[0].dispatchEvent(new Event('input', { bubbles: true }));", vec![element(&search)]).await;
    b.wait("[data-product]").await;
    // Elements are found afresh for each step: the page may render the list again.
    let mut skus = Vec::new();
    for product in b.find_all("[data-product]").await {
        skus.push(b.attribute(&product, "data-product").await.unwrap());
    }
    let mut added = Vec::new();
    for sku in &skus {
        if added.len() == 2 {
            break;
        }
        let Some(add) = b.find(&format!("[data-product=\"{sku}\"] [data-action=\"add\"]")).await else { continue };
        let enabled = b.execute("return !arguments[0].disabled;", vec![element(&add)]).await == true;
        if enabled && b.displayed(&add).await {
            b.click(&add).await;
            added.push(sku.clone());
        }
    }
    assert_eq!(added.len(), 2, "two products could not be added (of {skus:?})");
    let deadline = Instant::now() + WAIT;
    loop {
        let count = b.text(&b.wait("[data-cart-count]").await).await;
        if count.trim() == "2" {
            break;
        }
        assert!(Instant::now() < deadline, "the cart count is {count:?}");
        tokio::time::sleep(POLL).await;
    }
    b.open("cart").await;
    for sku in &added {
        b.wait(&format!("[data-cart-line=\"{sku}\"]")).await;
    }
    assert_eq!(b.find_all("[data-cart-line]").await.len(), 2);
    b.screenshot("en-light-cart-filled").await;
    let checkout = b.wait("[data-action=\"checkout\"]").await;
    assert!(b.displayed(&checkout).await, "the checkout button is not visible");
    b.click(&checkout).await;
    let placed = b.wait("[data-order-number]").await;
    let number = b.attribute(&placed, "data-order-number").await.unwrap();
    b.screenshot("en-light-ordered").await;
    let (status, order) = api(&bot, &page, &format!("orders/{number}")).await;
    assert_eq!(status, 200, "{order}");
    let confirmation = chat_message(&bot, user.id, before, |t| t.contains(&number)).await;
    println!("the chat's order confirmation: {confirmation}");

    // «Repeat» on an order's screen fills the cart with its lines.
    b.open("orders").await;
    b.execute("document.body.removeAttribute('data-ready');", vec![]).await;
    b.click(&b.wait("[data-order]").await).await;
    b.wait_ready("order").await;
    b.execute("document.body.removeAttribute('data-ready');", vec![]).await;
    b.click(&b.wait("[data-action=\"repeat\"]").await).await;
    b.wait_ready("cart").await;
    b.wait("[data-cart-line]").await;
    b.screenshot("en-light-repeat").await;

    // A top-up: the chat is sent the payment link, and the page says so.
    let before = bot.sandbox.messages(user.id).len();
    b.open("balance").await;
    let amount = b.wait("input[data-topup-amount]").await;
    b.clear(&amount).await;
    b.send_keys(&amount, "500").await;
    b.click(&b.wait("[data-action=\"topup\"]").await).await;
    let result = b.wait("[data-topup-result] > *").await;
    assert!(!b.text(&result).await.trim().is_empty(), "an empty top-up result");
    b.screenshot("en-light-topup").await;
    let sent = chat_message(&bot, user.id, before, |t| !t.is_empty()).await;
    println!("the chat's top-up message: {sent}");

    // A notification category switched in Settings is saved.
    b.open("settings").await;
    let toggle = b.wait("input[type=checkbox][data-category-toggle]").await;
    let category = b.attribute(&toggle, "data-category-toggle").await.unwrap();
    let was_on = b.execute("return arguments[0].checked;", vec![element(&toggle)]).await == true;
    b.click(&toggle).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, settings) = api(&bot, &page, "settings").await;
        let list = settings["notifications"].as_array().cloned().unwrap_or_default();
        let on = list.iter().find(|n| n["category"] == category.as_str()).map(|n| n["on"].clone());
        if on == Some(json!(!was_on)) {
            break;
        }
        assert!(Instant::now() < deadline, "{category} was not switched: {settings}");
        tokio::time::sleep(POLL).await;
    }

    // Somebody the chat does not know yet is sent to the chat.
    let john = bot.miniapp_url(7001, "John").unwrap();
    b.navigate("about:blank").await;
    b.navigate(&themed(&john, "light")).await;
    b.wait_ready("identify").await;
    let link = b.attribute(&b.wait("a[data-chat-link]").await, "href").await.unwrap();
    assert!(link.starts_with("https://t.me/"), "{link}");
    b.screenshot("identify").await;

    // Altered init data: a polite message, no data and no raw JSON.
    let (head, hash) = page.rsplit_once("hash%3D").unwrap();
    let flipped = match hash.strip_prefix('0') {
        Some(rest) => format!("1{rest}"),
        None => format!("0{}", &hash[1..]),
    };
    b.navigate("about:blank").await;
    b.navigate(&themed(&format!("{head}hash%3D{flipped}"), "light")).await;
    b.wait_ready("error").await;
    let error = b.text(&b.wait("[data-error]").await).await;
    assert!(!error.trim().is_empty() && !error.contains('{') && !error.contains("unauthorized"), "{error}");
    assert!(b.find("[data-balance]").await.is_none() && b.find("[data-nav=\"balance\"]:not([hidden])").await.is_none());
    b.screenshot("error").await;

    println!("Mini App screenshots: {}", shots.display());
    drop(b);
    bot.stop().await;
}
