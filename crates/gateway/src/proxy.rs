//! The request path: smuggling check, route, decisions, fail-safe, rate limit, bounded body,
//! inspection, forwarding; then the access log line and the event.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use ensuresec_model::Clock;
use ensuresec_model::event::{Event, EventData, HttpRequest};
use ensuresec_pipeline::SystemClock;
use ensuresec_respond::failsafe::Verdict as FailSafeVerdict;
use ensuresec_webattack::{Engine, Verdict};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use ipnet::IpNet;

use crate::access_log::{self, AccessLog};
use crate::age::{self, AgeGateConfig, AgeGates, PRESENTATION_HEADER, Refusal};
use crate::authority::Authority;
use crate::challenge::{Challenger, SCRIPT_PATH, VERIFY_PATH};
use crate::challenge_http;
use crate::client_ip::client_ip;
use crate::config::{IdentityConfig, LimitsConfig};
use crate::enforce::{Sanction, Subject};
use crate::events::{MAX_EVENT_BODY, MAX_EVENT_HEADER, bounded};
use crate::failsafe::Switch;
use crate::headers::{SecurityHeaders, set_forwarding, strip_hop_by_hop};
use crate::inspect::{self, Outcome};
use crate::limits::{BodyError, RateLimit, read_body};
use crate::pages;
use crate::request_id::RequestIds;
use crate::route::Routes;
use crate::upstream::Pool;

/// The response body type.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// Largest CSP report accepted, in bytes.
pub const MAX_CSP_REPORT: usize = 64 * 1024;

/// The `HTTP/x` spelling of a version.
pub fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// What the connection knows about itself.
#[derive(Debug)]
pub struct Conn {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// Whether it came over TLS.
    pub tls: bool,
    /// Set by the smuggling scanner.
    pub smuggling: Arc<AtomicBool>,
}

/// Everything the request path needs, shared by all connections.
pub struct Proxy {
    pub(crate) routes: Routes,
    pub(crate) engine: Engine,
    pub(crate) pool: Pool,
    pub(crate) trusted: Vec<IpNet>,
    pub(crate) identity: IdentityConfig,
    pub(crate) limits: LimitsConfig,
    pub(crate) authority: Arc<dyn Authority>,
    pub(crate) throttle: RateLimit,
    pub(crate) switch: Switch,
    pub(crate) access_log: Option<AccessLog>,
    pub(crate) security: SecurityHeaders,
    pub(crate) csp_report_path: Option<String>,
    pub(crate) ids: RequestIds,
    pub(crate) challenge: Challenger,
    pub(crate) age_gates: AgeGates,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("routes", &self.routes)
            .finish()
    }
}

/// What is known about a request as it goes along.
struct Ctx {
    id: String,
    time: DateTime<Utc>,
    client: std::net::IpAddr,
    outcome: Outcome,
    verdict: Option<Verdict>,
    sanction: Option<Sanction>,
    body: Bytes,
    kind: &'static str,
    /// The client side of a protocol upgrade (WebSocket) the request asks for.
    upgrade: Option<OnUpgrade>,
    /// What the checkout age gate decided (`verified` or the refusal's code), if it looked.
    age: Option<String>,
}

/// A cookie's value from the `Cookie` headers.
pub(crate) fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

fn identity<'a>(
    parts: &'a Parts,
    cookie_name: &Option<String>,
    header_name: &Option<String>,
) -> Option<&'a str> {
    cookie_name
        .as_deref()
        .and_then(|c| cookie(parts, c))
        .or_else(|| {
            header_name
                .as_deref()
                .and_then(|h| parts.headers.get(h))
                .and_then(|v| v.to_str().ok())
        })
        .filter(|v| !v.is_empty())
}

/// Whether an HTTP/1.1 request asks to switch protocols (`Connection: upgrade` and `Upgrade`).
fn wants_upgrade(parts: &Parts) -> bool {
    parts.version == Version::HTTP_11
        && parts.headers.contains_key(header::UPGRADE)
        && parts
            .headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

fn is_write(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Proxy {
    /// Serves one request; never fails (failures are answers).
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        conn: Arc<Conn>,
    ) -> Result<Response<Body>, Infallible> {
        let started = Instant::now();
        let (mut parts, body) = req.into_parts();
        let upgrade = if wants_upgrade(&parts) {
            parts.extensions.remove::<OnUpgrade>()
        } else {
            None
        };
        let mut ctx = Ctx {
            id: self.ids.next(),
            time: SystemClock.now(),
            client: client_ip(conn.peer.ip(), &parts.headers, &self.trusted),
            outcome: Outcome::Skipped,
            verdict: None,
            sanction: None,
            body: Bytes::new(),
            kind: "request",
            upgrade,
            age: None,
        };
        let mut response = self.respond(&parts, body, &conn, &mut ctx).await;
        if let Ok(v) = HeaderValue::from_str(&ctx.id) {
            response.headers_mut().insert("x-request-id", v);
        }
        self.security.apply(response.headers_mut());
        self.record(&parts, &ctx, &response, started);
        Ok(response)
    }

    async fn respond(
        &self,
        parts: &Parts,
        body: Incoming,
        conn: &Conn,
        ctx: &mut Ctx,
    ) -> Response<Body> {
        if conn.smuggling.load(Ordering::Acquire) {
            tracing::warn!(request_id = %ctx.id, client = %ctx.client, "request smuggling attempt: both Content-Length and Transfer-Encoding");
            ctx.kind = "smuggling";
            return pages::error(StatusCode::BAD_REQUEST, &ctx.id);
        }
        let path = parts.uri.path();
        if self.csp_report_path.as_deref() == Some(path) && parts.method == Method::POST {
            ctx.kind = "csp_report";
            return match read_body(body, MAX_CSP_REPORT, self.body_timeout()).await {
                Ok(b) => {
                    ctx.body = b;
                    let mut r = Response::new(pages::full(Bytes::new()));
                    *r.status_mut() = StatusCode::NO_CONTENT;
                    r
                }
                Err(e) => self.body_error(e, ctx),
            };
        }
        if path == SCRIPT_PATH && matches!(parts.method, Method::GET | Method::HEAD) {
            ctx.kind = "challenge";
            return challenge_http::script();
        }
        if path == VERIFY_PATH && parts.method == Method::POST {
            ctx.kind = "challenge";
            return challenge_http::verify(
                &self.challenge,
                body,
                ctx.client,
                conn.tls,
                ctx.time.timestamp(),
                self.body_timeout(),
                &ctx.id,
            )
            .await;
        }
        let Some(route) = self.routes.find(path) else {
            return pages::error(StatusCode::NOT_FOUND, &ctx.id);
        };
        let who = Subject {
            ip: ctx.client,
            account: identity(
                parts,
                &self.identity.account_cookie,
                &self.identity.account_header,
            ),
            device: identity(
                parts,
                &self.identity.device_cookie,
                &self.identity.device_header,
            ),
        };
        ctx.sanction = self.authority.sanction(&who);
        match ctx.sanction {
            Some(Sanction::Ban) => return pages::denied(&ctx.id),
            Some(Sanction::Challenge) => {
                let now = ctx.time.timestamp();
                if !challenge_http::has_pass(&self.challenge, parts, ctx.client, now) {
                    ctx.kind = "challenge";
                    return challenge_http::answer(
                        &self.challenge,
                        parts,
                        ctx.client,
                        now,
                        &ctx.id,
                    );
                }
            }
            Some(Sanction::Throttle) => {
                if let Err(wait) = self.throttle.check(ctx.client) {
                    return pages::too_many(&ctx.id, secs_up(wait));
                }
            }
            None => {}
        }
        if let FailSafeVerdict::Refuse(message) =
            self.switch
                .verdict(&*self.authority, &route.group, is_write(&parts.method))
        {
            ctx.kind = "failsafe";
            return pages::failsafe(&message);
        }
        if let Some(limit) = &route.limit
            && let Err(wait) = limit.check(ctx.client)
        {
            ctx.kind = "rate_limited";
            return pages::too_many(&ctx.id, secs_up(wait));
        }
        let body = match read_body(body, self.limits.max_body_bytes, self.body_timeout()).await {
            Ok(b) => b,
            Err(e) => return self.body_error(e, ctx),
        };
        ctx.body = body.clone();
        let (outcome, verdict) =
            inspect::judge(&self.engine, route.mode, route.threshold, parts, &body);
        ctx.outcome = outcome;
        ctx.verdict = verdict;
        if matches!(outcome, Outcome::Blocked | Outcome::Detected) {
            let v = ctx.verdict.as_ref();
            tracing::warn!(
                request_id = %ctx.id,
                client = %ctx.client,
                outcome = outcome.as_str(),
                score = v.map_or(0, |v| v.score),
                rules = %rule_ids(v),
                method = %parts.method,
                path = %path,
                "web attack"
            );
        }
        if outcome == Outcome::Blocked {
            return pages::blocked(&ctx.id);
        }
        if let Some(gate) = self.age_gates.guards(&parts.method, path)
            && let Err(refusal) = self.check_age(gate, parts, &body, ctx).await
        {
            ctx.kind = "age_refused";
            ctx.age = Some(refusal.code.clone());
            return refusal.response();
        }
        self.forward(parts, body, conn, ctx, &route.upstream).await
    }

    /// Lets a checkout through unless it orders restricted products without a proof of age
    /// the platform accepts for this order.
    async fn check_age(
        &self,
        gate: &AgeGateConfig,
        parts: &Parts,
        body: &[u8],
        ctx: &mut Ctx,
    ) -> Result<(), Refusal> {
        let Some(order) = gate.restricted_order(parts, body)? else {
            return Ok(());
        };
        let verifier = self
            .authority
            .age_verifier()
            .ok_or_else(Refusal::unavailable)?;
        age::check(verifier, &order).await?;
        ctx.age = Some("verified".into());
        Ok(())
    }

    fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.body_read_timeout_ms)
    }

    fn body_error(&self, e: BodyError, ctx: &mut Ctx) -> Response<Body> {
        ctx.kind = "bad_body";
        let status = match e {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut => StatusCode::REQUEST_TIMEOUT,
            BodyError::Broken => StatusCode::BAD_REQUEST,
        };
        pages::error(status, &ctx.id)
    }

    async fn forward(
        &self,
        parts: &Parts,
        body: Bytes,
        conn: &Conn,
        ctx: &mut Ctx,
        upstream: &crate::upstream::Upstream,
    ) -> Response<Body> {
        let Ok(uri) = upstream.uri_for(parts.uri.path_and_query()) else {
            return pages::error(StatusCode::BAD_REQUEST, &ctx.id);
        };
        let mut headers = parts.headers.clone();
        strip_hop_by_hop(&mut headers);
        // The shop needs the verdict, which it got by being reached, not the credential.
        headers.remove(PRESENTATION_HEADER);
        let upgrade = ctx.upgrade.take();
        if upgrade.is_some() {
            keep_upgrade(&parts.headers, &mut headers);
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(http::uri::Authority::as_str));
        if !headers.contains_key(header::HOST)
            && let Some(h) = host.and_then(|h| HeaderValue::from_str(h).ok())
        {
            headers.insert(header::HOST, h);
        }
        let peer_trusted = self.trusted.iter().any(|n| n.contains(&conn.peer.ip()));
        set_forwarding(&mut headers, conn.peer.ip(), peer_trusted, conn.tls, host);
        if let Ok(v) = HeaderValue::from_str(&ctx.id) {
            headers.insert("x-request-id", v);
        }
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        let timeout = Duration::from_millis(self.limits.upstream_timeout_ms);
        match tokio::time::timeout(timeout, self.pool.request(req)).await {
            Ok(Ok(resp)) if resp.status() == StatusCode::SWITCHING_PROTOCOLS => match upgrade {
                Some(client) => tunnel(client, resp, &ctx.id),
                None => {
                    tracing::warn!(request_id = %ctx.id, "upstream switched protocols unasked");
                    pages::error(StatusCode::BAD_GATEWAY, &ctx.id)
                }
            },
            Ok(Ok(resp)) => {
                let (mut rparts, rbody) = resp.into_parts();
                strip_hop_by_hop(&mut rparts.headers);
                Response::from_parts(rparts, rbody.boxed())
            }
            Ok(Err(e)) => {
                tracing::warn!(request_id = %ctx.id, error = %e, "upstream failed");
                pages::error(StatusCode::BAD_GATEWAY, &ctx.id)
            }
            Err(_) => {
                tracing::warn!(request_id = %ctx.id, "upstream timed out");
                pages::error(StatusCode::GATEWAY_TIMEOUT, &ctx.id)
            }
        }
    }

    fn record(&self, parts: &Parts, ctx: &Ctx, response: &Response<Body>, started: Instant) {
        let bytes = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        if let Some(log) = &self.access_log {
            log.log(&access_log::Entry {
                client: ctx.client,
                time: ctx.time,
                method: parts.method.as_str(),
                target: parts.uri.path_and_query().map_or("/", |pq| pq.as_str()),
                protocol: version_str(parts.version),
                status: response.status().as_u16(),
                bytes,
                referer: text(header::REFERER),
                user_agent: text(header::USER_AGENT),
            });
        }
        if !self.authority.reports() {
            return;
        }
        let mut labels = BTreeMap::new();
        labels.insert("request_id".to_string(), ctx.id.clone());
        labels.insert("gateway".to_string(), ctx.kind.to_string());
        labels.insert("inspection".to_string(), ctx.outcome.as_str().to_string());
        if let Some(v) = &ctx.verdict
            && v.score > 0
        {
            labels.insert("score".to_string(), v.score.to_string());
            labels.insert("rules".to_string(), rule_ids(Some(v)));
        }
        if let Some(a) = &ctx.age {
            labels.insert("age_gate".to_string(), a.clone());
        }
        if let Some(s) = ctx.sanction {
            labels.insert(
                "decision".to_string(),
                format!("{s:?}").to_ascii_lowercase(),
            );
        }
        let headers = parts
            .headers
            .iter()
            .filter(|(n, _)| {
                !matches!(
                    n.as_str(),
                    "cookie"
                        | "authorization"
                        | "proxy-authorization"
                        | "host"
                        | "user-agent"
                        | "referer"
                )
            })
            .take(32)
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    bounded(&String::from_utf8_lossy(v.as_bytes()), MAX_EVENT_HEADER),
                )
            })
            .collect();
        let body = (!ctx.body.is_empty())
            .then(|| bounded(&String::from_utf8_lossy(&ctx.body), MAX_EVENT_BODY));
        let account = identity(
            parts,
            &self.identity.account_cookie,
            &self.identity.account_header,
        );
        let device = identity(
            parts,
            &self.identity.device_cookie,
            &self.identity.device_header,
        );
        let bounded_opt = |v: Option<&str>| v.map(|v| bounded(v, MAX_EVENT_HEADER));
        self.authority.report(Event {
            time: ctx.time,
            ingest_time: None,
            source: "gateway".into(),
            labels,
            data: EventData::HttpRequest(HttpRequest {
                client_ip: ctx.client,
                method: bounded(parts.method.as_str(), 32),
                host: bounded_opt(text(header::HOST).or_else(|| parts.uri.host())),
                path: bounded(parts.uri.path(), MAX_EVENT_BODY),
                query: parts.uri.query().map(|q| bounded(q, MAX_EVENT_BODY)),
                http_version: Some(version_str(parts.version).to_string()),
                status: Some(response.status().as_u16()),
                user_agent: bounded_opt(text(header::USER_AGENT)),
                referer: bounded_opt(text(header::REFERER)),
                headers,
                body,
                bytes_sent: bytes,
                duration_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
                session: None,
                account: bounded_opt(account),
                device: bounded_opt(device),
            }),
        });
    }
}

/// Puts back the two hop-by-hop headers an upgrade needs on its next hop.
fn keep_upgrade(from: &http::HeaderMap, to: &mut http::HeaderMap) {
    if let Some(protocol) = from.get(header::UPGRADE) {
        to.insert(header::UPGRADE, protocol.clone());
        to.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// Answers the client's upgrade with the upstream's `101 Switching Protocols` and joins the two
/// upgraded connections once both sides have switched; bytes then flow both ways untouched
/// until either side closes.
fn tunnel(client: OnUpgrade, mut resp: Response<Incoming>, request_id: &str) -> Response<Body> {
    let upstream = hyper::upgrade::on(&mut resp);
    let (mut rparts, _) = resp.into_parts();
    let from_upstream = rparts.headers.clone();
    strip_hop_by_hop(&mut rparts.headers);
    keep_upgrade(&from_upstream, &mut rparts.headers);
    let id = request_id.to_string();
    tokio::spawn(async move {
        match tokio::try_join!(client, upstream) {
            Ok((c, u)) => {
                let (mut c, mut u) = (TokioIo::new(c), TokioIo::new(u));
                match tokio::io::copy_bidirectional(&mut c, &mut u).await {
                    Ok((up, down)) => {
                        tracing::debug!(request_id = %id, up, down, "upgraded connection closed");
                    }
                    Err(e) => {
                        tracing::debug!(request_id = %id, error = %e, "upgraded connection broke");
                    }
                }
            }
            Err(e) => tracing::debug!(request_id = %id, error = %e, "upgrade failed"),
        }
    });
    Response::from_parts(rparts, pages::full(Bytes::new()))
}

/// The ids of the rules that fired, comma-separated (at most 10).
fn rule_ids(v: Option<&Verdict>) -> String {
    v.map(|v| {
        v.findings
            .iter()
            .take(10)
            .map(|f| f.rule_id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    })
    .unwrap_or_default()
}
