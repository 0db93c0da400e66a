//! The portal in a real headless browser (Debian's chromium, driven over WebDriver by
//! chromedriver): submit the form, land on the status page, watch it reach "provisioned", or
//! say "superseded" and name the newer order that won.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::helpers::*;
use eda_tests::broker::TestBroker;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session, spoken to in plain W3C WebDriver JSON.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        for tool in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: run scripts/test-tools.sh (installs Debian's chromium and chromium-driver)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen; its /status says when it is ready.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready {
                let status: Value = r.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_owned();
        Browser { http, session: format!("{base}/session/{session}"), _driver: driver, _profile: profile }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        self.try_call(method, path, body)
            .await
            .unwrap_or_else(|refusal| panic!("WebDriver {path}: {refusal}"))
    }

    /// A WebDriver command; its value, or the status and body it was refused with.
    async fn try_call(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        if status.is_success() {
            Ok(value["value"].clone())
        } else {
            Err(format!("{status} {value}"))
        }
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url })).await;
    }

    pub async fn find(&self, css: &str) -> String {
        let found = self
            .call(reqwest::Method::POST, "/element", json!({"using": "css selector", "value": css}))
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), json!({ "text": text })).await;
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), json!({})).await;
    }

    /// The text of the first element matching `css`, as the user sees it.
    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        let text = self.call(reqwest::Method::GET, &format!("/element/{id}/text"), Value::Null).await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Whether the first element matching `css` is shown (not `hidden`).
    pub async fn displayed(&self, css: &str) -> bool {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/displayed"), Value::Null).await == true
    }

    /// How many elements match `css`.
    pub async fn find_all(&self, css: &str) -> usize {
        let found = self
            .call(reqwest::Method::POST, "/elements", json!({"using": "css selector", "value": css}))
            .await;
        found.as_array().map_or(0, Vec::len)
    }

    /// The names and values of the cookies the browser would send to the current page.
    pub async fn cookies(&self) -> Vec<(String, String)> {
        let all = self.call(reqwest::Method::GET, "/cookie", Value::Null).await;
        let pairs = all.as_array().cloned().unwrap_or_default().into_iter();
        pairs
            .map(|c| (c["name"].as_str().unwrap().to_owned(), c["value"].as_str().unwrap().to_owned()))
            .collect()
    }

    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", Value::Null).await.as_str().unwrap().to_owned()
    }

    /// The URL once `arrived` holds for it: a click that submits a form or follows a link may
    /// return before the new page is the current one. Panics after `WAIT` with the last URL.
    pub async fn wait_for_url(&self, arrived: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let url = self.current_url().await;
            if arrived(&url) {
                return url;
            }
            assert!(tokio::time::Instant::now() < deadline, "the browser stayed on {url} for {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Resolves when the element's text equals `text`: a MutationObserver in the page, no polling.
    pub async fn wait_for_text(&self, element_id: &str, text: &str) -> String {
        self.call(reqwest::Method::POST, "/timeouts", json!({"script": WAIT.as_millis() as u64})).await;
        let script = r#"
            const [id, want, done] = arguments;
            const el = document.getElementById(id);
            const observer = new MutationObserver(check);
            function check() {
                if (el.textContent === want) { observer.disconnect(); done(el.textContent); }
            }
            observer.observe(el, { childList: true, characterData: true, subtree: true });
            check();
        "#;
        let value = self
            .call(
                reqwest::Method::POST,
                "/execute/async",
                json!({"script": script, "args": [element_id, text]}),
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Resolves when the first element matching `css` has the text `text` (a MutationObserver
    /// on the document, no polling); the element may be replaced meanwhile, and so may the
    /// document: a form posted back to its own URL (an order refused at a field) loads a new
    /// page under the same URL, and chromedriver ends a script whose document went with "script
    /// timeout" at once. The observer is then set again on the new document, until `WAIT`.
    pub async fn wait_for_css_text(&self, css: &str, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            self.call(reqwest::Method::POST, "/timeouts", json!({"script": left.as_millis() as u64})).await;
            match self.try_wait_for_css_text(css, text).await {
                Ok(found) => return found,
                Err(refusal)
                    if tokio::time::Instant::now() < deadline && refusal.contains("script timeout") =>
                {
                    eprintln!("the page changed while waiting for {css}: watching the new one");
                }
                Err(refusal) => panic!("no element {css} with the text {text:?} within {WAIT:?}: {refusal}"),
            }
        }
    }

    async fn try_wait_for_css_text(&self, css: &str, text: &str) -> Result<String, String> {
        let script = r#"
            const [css, want, done] = arguments;
            const observer = new MutationObserver(check);
            function check() {
                const el = document.querySelector(css);
                if (el && el.textContent === want) { observer.disconnect(); done(el.textContent); }
            }
            observer.observe(document.documentElement, { childList: true, characterData: true, subtree: true, attributes: true });
            check();
        "#;
        let value = self
            .try_call(reqwest::Method::POST, "/execute/async", json!({"script": script, "args": [css, text]}))
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    pub async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

/// A producer behind basic auth, and an order for `client` placed through the portal's form in
/// `browser`, which lands on the order's status page and waits there for "accepted". Returns the
/// producer, the order's trace id and its message id.
async fn order_in_the_portal(browser: &Browser, client: &str) -> (TestApp, Uuid, String) {
    let t = TestBroker::new().await;
    let config = config_with_login(&t, "buyer", "browser pass");
    let app = TestApp::spawn_with(t, config, true).await;
    let tap = app.tap().await;

    // The login travels in the first URL; the browser then answers the portal's Basic
    // challenge for the whole site, form post and live stream included.
    let login_url = app.url("/").replace("http://", "http://buyer:browser%20pass@");
    browser.goto(&login_url).await;
    browser.type_into("#client", client).await;
    browser.click("#product option[value='product-b']").await;
    browser.click("#environment option[value='staging']").await;
    browser.click("#submit").await;

    let published = app.t.take(&tap, 1, WAIT).await.remove(0);
    let body = eda_tests::broker::json(&published);
    assert_eq!(body["client"], client);
    assert_eq!(body["product"], "product-b");
    assert_eq!(body["environment"], "staging");
    let trace_id = Uuid::parse_str(body["MessageAttributes"]["trace_id"].as_str().unwrap()).unwrap();
    let message_id = published.properties.message_id().as_ref().expect("a message id").as_str().to_owned();
    let url = browser.current_url().await;
    assert!(url.ends_with(&format!("/orders/{trace_id}")), "the browser landed on the status page: {url}");
    assert_eq!(browser.wait_for_text("status", "accepted").await, "accepted");
    (app, trace_id, message_id)
}

#[tokio::test]
async fn the_portal_form_leads_to_a_status_page_that_follows_the_order_to_provisioned() {
    let browser = Browser::start().await;
    let (app, trace_id, _) = order_in_the_portal(&browser, "browser01").await;

    app.publish_as("provisioner", &provisioner_event("browser01", "provisioning", trace_id)).await;
    app.publish_as("provisioner", &provisioner_event("browser01", "provisioned", trace_id)).await;
    assert_eq!(browser.wait_for_text("status", "provisioned").await, "provisioned");
    let steps = browser.find("#steps li[data-step='done'].done").await;
    assert!(!steps.is_empty(), "the last step is marked done");

    browser.quit().await;
    app.stop().await;
}

/// How many steps are done, current and failed.
async fn steps(browser: &Browser) -> [usize; 3] {
    let mut counts = [0; 3];
    for (count, class) in counts.iter_mut().zip(["done", "current", "failed"]) {
        *count = browser.find_all(&format!("#steps li.{class}")).await;
    }
    counts
}

#[tokio::test]
async fn a_superseded_order_says_so_live_and_names_the_newer_order_that_won() {
    let browser = Browser::start().await;
    let (app, trace_id, order_id) = order_in_the_portal(&browser, "browser02").await;
    assert!(!browser.displayed("#superseded").await, "no notice before a superseded");
    let accepted_steps = steps(&browser).await;

    let newer_time = "2026-01-01T00:00:09.123456789Z";
    let superseded = superseded_event("browser02", trace_id, &order_id, "m-newer", newer_time, "present");
    app.publish_as("provisioner", &superseded).await;
    assert_eq!(browser.wait_for_text("status", "superseded").await, "superseded");
    assert!(browser.displayed("#superseded").await, "the notice is shown");
    assert_eq!(browser.text("#newer-order-id").await, "m-newer");
    assert_eq!(browser.text("#newer-order-time").await, newer_time);
    assert_eq!(browser.text("#newer-desired").await, "present");
    // The steps still say what the order itself reached, as before the superseded: accepted.
    assert_eq!(steps(&browser).await, accepted_steps, "the steps are what they were");
    assert_eq!(browser.find_all("#steps li[data-step='accepted'].current").await, 1);
    assert_eq!(browser.text("#steps li[data-step='done']").await, "Provisioned");

    browser.quit().await;
    app.stop().await;
}
