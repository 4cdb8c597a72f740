//! Reading a request body under a byte limit and a time limit, refusing an oversized body
//! before reading it when its declared length already says so; and the JSON body extractor of
//! the control endpoints, built on it.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::error::ApiError;

/// The whole body, at most `limit` bytes, read within `timeout`.
pub(crate) async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::TooLarge { limit });
    }
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Err(_) => Err(ApiError::BodyRead("timed out".into())),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::TooLarge { limit })
        }
        Ok(Err(e)) => Err(ApiError::BodyRead(e.to_string())),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// Largest JSON body of the control endpoints (decisions, status changes, the fail-safe switch,
/// recovery runs, script authorisations): the 10,000 decisions one request may bring fit.
pub(crate) const MAX_CONTROL_BODY_BYTES: usize = 2 << 20;

/// A JSON request body decoded into `T`. Axum's own `Json` answers a wrong content type or a
/// bad body in plain text; this answers in the API's error shape (415 naming the type received,
/// 400 naming the fault, 413 naming the limit) and reads under the server's body time limit.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        json(
            &parts.headers,
            body,
            MAX_CONTROL_BODY_BYTES,
            state.body_timeout,
        )
        .await
        .map(JsonBody)
    }
}

/// A JSON body decoded into `T`, at most `limit` bytes read within `timeout`: a content type
/// other than JSON is a 415 naming it, a body that does not decode a 400 naming `body`. For
/// endpoints with a limit of their own; the others take [`JsonBody`].
pub(crate) async fn json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<T, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if !content_type.as_deref().is_some_and(is_json) {
        let received = content_type.map_or("none".into(), |t| format!("`{t}`"));
        return Err(ApiError::UnsupportedMedia(format!(
            "{received}: expected application/json"
        )));
    }
    let bytes = read(headers, body, limit, timeout).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::BadParam {
        param: "body".into(),
        message: e.to_string(),
    })
}

/// Whether a `Content-Type` is JSON: `application/json` or a `+json` type, any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence
            .rsplit_once('+')
            .is_some_and(|(_, suffix)| suffix.eq_ignore_ascii_case("json"))
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_and_its_suffix_types_are_json_whatever_their_parameters() {
        for t in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(t), "{t}");
        }
        for t in [
            "",
            "text/plain",
            "application/jsonx",
            "application/x-ndjson",
            "json",
        ] {
            assert!(!is_json(t), "{t}");
        }
    }
}
