//! Bearer-token authentication: handlers state the scope they need by taking a `Scoped<S>`.

use std::marker::PhantomData;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ensuresec_store::{Scope, TokenInfo};

use crate::app::AppState;
use crate::error::ApiError;

/// A scope as a type, so that a handler's signature says what it needs.
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope.
    const SCOPE: Scope;
}

/// Needs the `ingest` scope.
pub struct Ingest;
impl RequiredScope for Ingest {
    const SCOPE: Scope = Scope::Ingest;
}

/// Needs the `read` scope.
pub struct Read;
impl RequiredScope for Read {
    const SCOPE: Scope = Scope::Read;
}

/// Needs the `admin` scope.
pub struct Admin;
impl RequiredScope for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// A CrowdSec bouncer, authenticated by its `X-Api-Key` header (a token with the `bouncer`
/// scope), as bouncers send it. A bearer token with the scope is accepted too.
pub struct BouncerKey {
    /// The token used; its name keys the bouncer's stream position.
    pub token: TokenInfo,
}

impl FromRequestParts<AppState> for BouncerKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok());
        let secret = key.or_else(|| bearer(parts));
        let token = authorize(state, secret, Scope::Bouncer).await?;
        Ok(BouncerKey { token })
    }
}

/// The token of an `Authorization: Bearer` header, if any.
fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Looks the presented secret up (in the tokens found valid within `[server] token_trust_ms`,
/// else in the store) and checks that its token holds `scope`: the one place where a request's
/// credentials are judged, whichever header carried them.
async fn authorize(
    state: &AppState,
    secret: Option<&str>,
    scope: Scope,
) -> Result<TokenInfo, ApiError> {
    let secret = secret
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or(ApiError::Unauthorized)?;
    let hash = ensuresec_store::hash_token(secret);
    let token = match state.tokens.get(&hash, Instant::now()) {
        Some(token) => token,
        None => {
            let read = Instant::now();
            let token = state
                .platform
                .store()
                .token_by_hash(hash.clone())
                .await?
                .ok_or(ApiError::Unauthorized)?;
            state.tokens.insert(hash, token.clone(), read);
            token
        }
    };
    if !token.allows(scope) {
        return Err(ApiError::Forbidden(scope.as_str()));
    }
    Ok(token)
}

/// An authenticated caller holding scope `S`.
pub struct Scoped<S: RequiredScope> {
    /// The token used.
    pub token: TokenInfo,
    _scope: PhantomData<S>,
}

impl<S: RequiredScope> FromRequestParts<AppState> for Scoped<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authorize(state, bearer(parts), S::SCOPE).await?;
        Ok(Scoped {
            token,
            _scope: PhantomData,
        })
    }
}
