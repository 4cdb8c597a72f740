//! The dashboard of `ensuresec serve`: server-rendered pages (askama templates compiled into the
//! binary), a little JavaScript for live updates (Server-Sent Events) and charts (uPlot, vendored),
//! and the access control around them: accounts with Argon2id passwords, roles, sessions in
//! `Secure; HttpOnly; SameSite=Strict` cookies, CSRF tokens, throttling and lockout, and a strict
//! Content-Security-Policy.
//!
//! Architecture invariant: the dashboard reads through the same `Store`, asset model and live
//! feed as the JSON API and holds no detection logic; it is mounted beside the API under `/ui/`.

mod error;
mod graph;
mod live;
mod pages;
mod security;
mod session;
mod static_files;
pub mod users;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use ensuresec_server::app::AppState;

use crate::users::UserDb;

/// What the dashboard's handlers reach.
#[derive(Clone)]
pub struct WebState {
    /// The API's state: platform, store, asset model.
    pub app: AppState,
    /// Accounts and sessions.
    pub users: Arc<UserDb>,
}

/// The dashboard's routes (`/` and `/ui/…`), to merge with the API's router.
pub fn router(app: AppState, users: Arc<UserDb>) -> Router {
    let state = WebState { app, users };
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(pages::overview::page))
        .route(
            "/ui/login",
            get(pages::login::form).post(pages::login::submit),
        )
        .route("/ui/logout", post(pages::login::logout))
        .route("/ui/incidents", get(pages::incidents::list))
        .route("/ui/incidents/{id}", get(pages::incident::page))
        .route("/ui/incidents/{id}/receipt", get(pages::incident::receipt))
        .route(
            "/ui/incidents/{id}/steps/{step}/approve",
            post(pages::response::approve),
        )
        .route(
            "/ui/incidents/{id}/steps/{step}/reject",
            post(pages::response::reject),
        )
        .route("/ui/decisions", get(pages::decisions::list))
        .route("/ui/decisions/{id}/revoke", post(pages::decisions::revoke))
        .route("/ui/rings", get(pages::rings::list))
        .route("/ui/integrity", get(pages::integrity::page))
        .route("/ui/integrity/authorize", post(pages::integrity::authorize))
        .route("/ui/integrity/revoke", post(pages::integrity::revoke))
        .route("/ui/assets", get(pages::assets::graph))
        .route("/ui/assets/{id}", get(pages::assets::asset))
        .route("/ui/recovery", get(pages::recovery::page))
        .route("/ui/recovery/run", post(pages::recovery::run))
        .route("/ui/search", get(pages::search::page))
        .route("/ui/users", get(pages::users::list))
        .route("/ui/users/{name}/role", post(pages::users::set_role))
        .route("/ui/live", get(live::stream))
        .route("/ui/static/{*file}", get(static_files::serve))
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(state)
}
