//! A dashboard user over plain HTTP: accounts made with `ensuresec users add`, a login through
//! the form (with its CSRF token) and requests carrying the session cookie.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use super::Server;

/// Adds an account (`ensuresec users add ARGS`) in `data`, the password on standard input.
pub fn add_user(data: &Path, args: &[&str], password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args(["users", "add"])
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());
}

/// The accounts most dashboard tests log in with: `admin1` (admin), `viewer1` (viewer) and
/// `courier` (partner of `parcel-express`), each with the password `"ROLE password 123"`.
pub fn add_role_users(data: &Path) {
    add_user(data, &["admin1", "--role", "admin"], "admin password 123");
    add_user(
        data,
        &["viewer1", "--role", "viewer"],
        "viewer password 123",
    );
    add_user(
        data,
        &[
            "courier",
            "--role",
            "partner",
            "--partner",
            "parcel-express",
        ],
        "partner password 123",
    );
}

/// A client that does not follow redirects (cookies are passed by hand: the session cookie is
/// `Secure`, which a client library's cookie jar would not send over plain http).
pub fn browser() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `name=value` part of a response's `Set-Cookie`.
fn set_cookie(r: &reqwest::blocking::Response) -> String {
    let v = r.headers()["set-cookie"].to_str().unwrap();
    v.split(';').next().unwrap().to_string()
}

/// A logged-in user: requests with the session cookie.
pub struct Session {
    cookie: String,
}

impl Session {
    /// GETs `path`.
    pub fn get(&self, server: &Server, path: &str) -> reqwest::blocking::Response {
        browser()
            .get(server.url(path))
            .header("cookie", &self.cookie)
            .send()
            .unwrap()
    }

    /// POSTs a form to `path`.
    pub fn post(
        &self,
        server: &Server,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::blocking::Response {
        browser()
            .post(server.url(path))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .unwrap()
    }

    /// The CSRF token of the session, from a page's logout form.
    pub fn csrf(&self, server: &Server) -> String {
        hidden_csrf(&self.get(server, "/ui/").text().unwrap())
    }
}

fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[at..at + 64].to_string()
}

/// Logs in through the form, checking the session cookie's flags.
pub fn login(server: &Server, name: &str, password: &str) -> Session {
    let c = browser();
    let page = c.get(server.url("/ui/login")).send().unwrap();
    let login_cookie = set_cookie(&page);
    let form = page.text().unwrap();
    let r = c
        .post(server.url("/ui/login"))
        .header("cookie", login_cookie)
        .form(&[
            ("name", name),
            ("password", password),
            ("csrf", &hidden_csrf(&form)),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303, "login of {name}");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    Session {
        cookie: set_cookie(&r),
    }
}
