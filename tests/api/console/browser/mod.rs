//! The browser suite: headless Chromium driven over WebDriver
//! (`fantoccini`) by `chromedriver`, against the real server of a
//! [`TestApp`]. Controls are found the way a person finds them: by their
//! label or their button text, never by CSS classes.
//!
//! Without Chromium and chromedriver (Debian: `apt-get install chromium
//! chromium-driver`) every browser test passes without running and says so
//! loudly on stderr, unless `SCIMD_REQUIRE_BROWSER=1` (as `.ci/run` sets),
//! under which a missing browser fails the test. With
//! `SCIMD_UPDATE_SCREENSHOTS=1`, [`Browser::screenshot`] writes
//! `docs/console/<name>.png`; otherwise it writes nothing.

mod flows;
mod flows_b;
mod screenshots;
mod security;
mod seed_b;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::helpers::TestApp;

/// The window every test uses, so screenshots are the same size.
pub const WINDOW: (u32, u32) = (1280, 900);
/// The narrow window the pages must also work in.
#[allow(dead_code)]
pub const NARROW: (u32, u32) = (360, 780);

/// Where chromedriver and Chromium are expected (Debian's packages),
/// unless `SCIMD_CHROMEDRIVER` / `SCIMD_CHROMIUM` name others.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

static BANNER: Once = Once::new();

fn program(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// Whether the suite must run (CI): a missing browser is then a failure.
pub fn browser_required() -> bool {
    std::env::var("SCIMD_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Whether the suite runs on PostgreSQL (`SCIMD_TEST_DATABASE_URL`),
/// where only the smoke flow runs, to keep CI's time: a browser test that
/// is not the smoke flow returns at once when this is true.
pub fn skip_on_postgres() -> bool {
    std::env::var("SCIMD_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty())
}

/// Whether screenshots are to be written (`SCIMD_UPDATE_SCREENSHOTS=1`).
pub fn updating_screenshots() -> bool {
    std::env::var("SCIMD_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1")
}

/// The folder of the committed screenshots.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console")
}

fn missing_browser(what: &str) {
    if browser_required() {
        panic!(
            "SCIMD_REQUIRE_BROWSER=1 but the browser suite cannot run: {what}. \
             Install it with `apt-get install chromium chromium-driver`."
        );
    }
    BANNER.call_once(|| {
        use std::io::Write;
        let line = "=".repeat(78);
        let banner = format!(
            "\n{line}\n  THE CONSOLE'S BROWSER SUITE DID NOT RUN: {what}.\n  \
             Install Chromium and chromedriver to run it:\n      \
             apt-get install chromium chromium-driver\n  \
             (set SCIMD_REQUIRE_BROWSER=1 to make a missing browser fail the tests)\n{line}\n"
        );
        // Straight to stderr: the test harness captures `eprintln!` of
        // passing tests, and this must be seen.
        let _ = std::io::stderr().write_all(banner.as_bytes());
    });
}

/// A running chromedriver, in its own process group so that dropping it
/// also ends the Chromium it started.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_driver(chromedriver: &Path) -> Driver {
    use std::os::unix::process::CommandExt;
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not listen on port {port} within 5 s");
}

/// A headless Chromium showing one [`TestApp`]'s console.
pub struct Browser {
    pub client: Client,
    /// `http://localhost:<port>`: browsers keep `Secure` cookies from
    /// localhost over plain HTTP.
    pub base: String,
    _driver: Driver,
}

// Not every test uses every helper.
#[allow(dead_code)]
impl Browser {
    /// A browser for `app`, or `None` (after a loud notice) when Chromium
    /// or chromedriver is not installed and the suite is not required.
    pub async fn start(app: &TestApp) -> Option<Browser> {
        let chromedriver = program("SCIMD_CHROMEDRIVER", CHROMEDRIVER);
        let chromium = program("SCIMD_CHROMIUM", CHROMIUM);
        if !chromedriver.exists() {
            missing_browser(&format!("{} is missing", chromedriver.display()));
            return None;
        }
        if !chromium.exists() {
            missing_browser(&format!("{} is missing", chromium.display()));
            return None;
        }
        let driver = start_driver(&chromedriver).await;
        let (width, height) = WINDOW;
        let capabilities = json!({
            "browserName": "chrome",
            // An alert left open stays open, so a test can see it.
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    "--lang=en-US",
                    format!("--window-size={width},{height}"),
                ],
            },
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("an object"),
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session with Chromium");
        client
            .set_window_size(width, height)
            .await
            .expect("window size");
        let port = app.address.rsplit(':').next().expect("a port");
        Some(Browser {
            client,
            base: format!("http://localhost:{port}"),
            _driver: driver,
        })
    }

    /// Ends the WebDriver session (the driver is stopped on drop).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Opens `path` of the console's server.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("a body")
            .text()
            .await
            .expect("text")
    }

    /// The page's `<h1>`.
    pub async fn heading(&self) -> String {
        self.client
            .find(Locator::Css("h1"))
            .await
            .expect("a heading")
            .text()
            .await
            .expect("text")
    }

    /// The control whose `<label>` reads `label`.
    pub async fn by_label(&self, label: &str) -> Element {
        for element in self
            .client
            .find_all(Locator::Css("label"))
            .await
            .expect("labels")
        {
            if element.text().await.expect("label text").trim() == label {
                let id = element
                    .attr("for")
                    .await
                    .expect("attribute")
                    .unwrap_or_else(|| panic!("label {label} has no `for`"));
                return self
                    .client
                    .find(Locator::Id(&id))
                    .await
                    .unwrap_or_else(|e| panic!("the control of label {label}: {e}"));
            }
        }
        panic!("no label reads {label:?} on {}", self.path().await);
    }

    /// Types `text` into the field labelled `label` (emptied first).
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.by_label(label).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Chooses the option shown as `option` in the select labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        self.by_label(label)
            .await
            .select_by_label(option)
            .await
            .unwrap_or_else(|e| panic!("choosing {option:?} under {label:?}: {e}"));
    }

    /// The button whose text is `text` (the first, if several).
    pub async fn button(&self, text: &str) -> Element {
        for button in self
            .client
            .find_all(Locator::Css("button"))
            .await
            .expect("buttons")
        {
            if button.text().await.expect("button text").trim() == text {
                return button;
            }
        }
        panic!("no button reads {text:?} on {}", self.path().await);
    }

    /// Whether a button reads `text`.
    pub async fn has_button(&self, text: &str) -> bool {
        for button in self
            .client
            .find_all(Locator::Css("button"))
            .await
            .expect("buttons")
        {
            if button.text().await.expect("button text").trim() == text {
                return true;
            }
        }
        false
    }

    /// Clicks the button `text` and waits for the next page.
    pub async fn press(&self, text: &str) {
        let button = self.button(text).await;
        self.navigate_by(button).await;
    }

    /// Follows the link whose text is `text`.
    pub async fn follow(&self, text: &str) {
        let link = self
            .client
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("no link {text:?}: {e}"));
        self.navigate_by(link).await;
    }

    /// Clicks `element`, which leads to another page, and waits for that
    /// page: the old page's root goes stale once the new one replaced it
    /// (right after the click the old page still reads "complete").
    async fn navigate_by(&self, element: Element) {
        let old = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("a page");
        element.click().await.expect("click");
        for _ in 0..200 {
            if old.tag_name().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.settle().await;
    }

    /// Waits until the page has loaded.
    pub async fn settle(&self) {
        for _ in 0..100 {
            let state = self
                .client
                .execute("return document.readyState", Vec::new())
                .await;
            if state.as_ref().is_ok_and(|s| s == "complete") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs in through the sign-in page with `token`.
    pub async fn sign_in(&self, token: &str) {
        self.goto("/console/sign-in").await;
        self.fill("Admin token", token).await;
        self.press("Sign in").await;
    }

    /// The value of cookie `name`, if the browser holds it.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.client
            .get_named_cookie(name)
            .await
            .ok()
            .map(|c| c.value().to_owned())
    }

    /// Asserts that no alert (or other dialog) is open: an XSS payload
    /// that ran would have opened one.
    pub async fn assert_no_alert(&self, what: &str) {
        match self.client.get_alert_text().await {
            Err(error) if error.is_no_such_alert() => {}
            Err(error) => panic!("checking for an alert on {what}: {error}"),
            Ok(text) => panic!("an alert opened on {what}: {text:?}"),
        }
    }

    /// Resizes the window.
    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("window size");
    }

    /// Whether the page is wider than the window (a horizontal scroll bar
    /// at this width).
    pub async fn overflows(&self) -> bool {
        let wide = self
            .client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth",
                Vec::new(),
            )
            .await
            .expect("script");
        wide == serde_json::Value::Bool(true)
    }

    /// With `SCIMD_UPDATE_SCREENSHOTS=1`, saves the page as
    /// `docs/console/<name>.png`; otherwise does nothing.
    pub async fn screenshot(&self, name: &str) {
        if !updating_screenshots() {
            return;
        }
        // The whole page: the window grows to the document's height.
        let (width, height) = WINDOW;
        let needed = self
            .client
            .execute(
                "return document.documentElement.scrollHeight + (window.outerHeight - window.innerHeight)",
                Vec::new(),
            )
            .await
            .expect("script")
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(height);
        self.resize((width, needed.max(height))).await;
        let png = self.client.screenshot().await.expect("a screenshot");
        self.resize(WINDOW).await;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("docs/console");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
    }
}
