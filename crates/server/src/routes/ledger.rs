//! `/v1/ledger/…`: the tamper-evident audit log. The latest checkpoint (C2SP signed note), the
//! C2SP tlog-tiles resources, inclusion and consistency proofs, entries, and receipts for an
//! entry, an alert or an incident. Reads need the `read` scope unless `ledger.public_read` is
//! set (then everything but entries is public); publishing on demand needs `admin`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ensuresec_auditlog::StoreError as LogStoreError;
use ensuresec_auditlog::hash::hash_to_base64;
use ensuresec_auditlog::merkle::ProveError;
use ensuresec_auditlog::tiles::TilePath;
use ensuresec_store::{AlertFilter, PageRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Admin, Read, Scoped};
use crate::error::{ApiError, ErrorBody};
use crate::ledger::{Ledger, LedgerError, Publication};
use crate::params::{self, Params};

/// Most entries one `GET /v1/ledger/entries` returns.
pub(crate) const MAX_ENTRIES: u64 = 1000;

/// A caller allowed to read the log's public material: anyone with `ledger.public_read`, else a
/// `read` token.
pub(crate) struct LedgerRead;

impl FromRequestParts<AppState> for LedgerRead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.platform.config().ledger.public_read {
            return Ok(LedgerRead);
        }
        Scoped::<Read>::from_request_parts(parts, state).await?;
        Ok(LedgerRead)
    }
}

fn ledger(state: &AppState) -> Result<&Arc<Ledger>, ApiError> {
    state
        .platform
        .ledger()
        .ok_or_else(|| ApiError::NotFound("the audit log (disabled by ledger.enabled)".into()))
}

/// Requests for things outside the log are 404s; the rest are server failures.
fn map(e: LedgerError) -> ApiError {
    match e {
        LedgerError::NotFound(what) => ApiError::NotFound(what),
        LedgerError::Store(
            LogStoreError::OutOfRange { what, .. }
            | LogStoreError::Prove(ProveError::OutOfRange { what, .. }),
        ) => ApiError::NotFound(what),
        other => ApiError::Ledger(other),
    }
}

fn map_store(e: LogStoreError) -> ApiError {
    map(LedgerError::Store(e))
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

#[utoipa::path(
    get,
    path = "/v1/ledger/checkpoint",
    tag = "ledger",
    responses(
        (status = 200, description = "The latest signed checkpoint (C2SP tlog-checkpoint signed note, text), with any witness cosignatures"),
        (status = 404, description = "No checkpoint yet, or the audit log is disabled", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// The latest checkpoint.
pub(crate) async fn checkpoint(
    State(state): State<AppState>,
    _auth: LedgerRead,
) -> Result<Response, ApiError> {
    let note = ledger(&state)?
        .latest_checkpoint()
        .ok_or_else(|| ApiError::NotFound("a checkpoint".into()))?;
    Ok(text(note.to_string()))
}

#[utoipa::path(
    get,
    path = "/v1/ledger/checkpoint/cosigned",
    tag = "ledger",
    responses(
        (status = 200, description = "The latest checkpoint that meets the witness policy (k of n cosignatures), text"),
        (status = 404, description = "No checkpoint meets the policy yet", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// The latest checkpoint that counts under the witness policy.
pub(crate) async fn cosigned(
    State(state): State<AppState>,
    _auth: LedgerRead,
) -> Result<Response, ApiError> {
    let note = ledger(&state)?
        .cosigned_checkpoint()
        .ok_or_else(|| ApiError::NotFound("a checkpoint meeting the witness policy".into()))?;
    Ok(text(note.to_string()))
}

#[utoipa::path(
    post,
    path = "/v1/ledger/checkpoint",
    tag = "ledger",
    responses(
        (status = 200, description = "Published now (if the log grew) and sent to the witnesses: {size, new, checkpoint, counts, witnesses}"),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])),
)]
/// Publishes a checkpoint now instead of at the next interval.
pub(crate) async fn publish(
    State(state): State<AppState>,
    _auth: Scoped<Admin>,
) -> Result<Json<Publication>, ApiError> {
    Ok(Json(ledger(&state)?.publish().await.map_err(map)?))
}

#[utoipa::path(
    get,
    path = "/v1/ledger/key",
    tag = "ledger",
    responses((status = 200, description = "The origin line, then every verifier key of the log (current last), text")),
    security(("bearer" = ["read"])),
)]
/// The log's origin and verifier keys.
pub(crate) async fn key(
    State(state): State<AppState>,
    _auth: LedgerRead,
) -> Result<Response, ApiError> {
    let l = ledger(&state)?;
    let mut out = format!("{}\n", l.origin());
    for v in l.vkeys() {
        out.push_str(v);
        out.push('\n');
    }
    Ok(text(out))
}

#[utoipa::path(
    get,
    path = "/v1/ledger/tile/{path}",
    tag = "ledger",
    params(("path" = String, Path, description = "C2SP tlog-tiles path below tile/: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`")),
    responses(
        (status = 200, description = "The tile (concatenated 32-byte hashes) or entry bundle (u16 length-prefixed entries)", content_type = "application/octet-stream"),
        (status = 400, description = "Not a tlog-tiles path", body = ErrorBody),
        (status = 404, description = "Beyond the tree", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// A tlog-tiles hash tile or entry bundle.
pub(crate) async fn tile(
    State(state): State<AppState>,
    _auth: LedgerRead,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let l = ledger(&state)?.clone();
    let parsed = TilePath::parse(&format!("tile/{path}")).ok_or_else(|| ApiError::BadParam {
        param: "path".into(),
        message: format!("`{path}` is not a tlog-tiles path"),
    })?;
    let reader = l.reader().clone();
    let bytes = tokio::task::spawn_blocking(move || match parsed {
        TilePath::Hashes {
            level,
            index,
            width,
        } => reader.tile(level, index, width),
        TilePath::Entries { index, width } => reader.entry_bundle(index, width),
    })
    .await
    .map_err(|e| ApiError::Ledger(LedgerError::Task(e.to_string())))?
    .map_err(map_store)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            // A full tile never changes; a partial one is replaced by a wider one.
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        bytes,
    )
        .into_response())
}

/// A proof: hashes in base64, leaf to root.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProofBody {
    /// Leaf index (inclusion proofs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Old tree size (consistency proofs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_size: Option<u64>,
    /// Tree size the proof is for.
    pub size: u64,
    /// Leaf hash of the entry (inclusion proofs), base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_hash: Option<String>,
    /// The proof's hashes, base64.
    pub proof: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/v1/ledger/proof/inclusion",
    tag = "ledger",
    params(
        ("index" = u64, Query, description = "Leaf index"),
        ("size" = Option<u64>, Query, description = "Tree size (default: the latest checkpoint's)"),
    ),
    responses(
        (status = 200, description = "The inclusion proof", body = ProofBody),
        (status = 404, description = "Index or size beyond the log", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// An inclusion proof.
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    _auth: LedgerRead,
    RawQuery(query): RawQuery,
) -> Result<Json<ProofBody>, ApiError> {
    let l = ledger(&state)?;
    let p = Params::parse(query.as_deref(), &["index", "size"])?;
    let index: u64 = p.parsed("index")?.ok_or_else(|| ApiError::BadParam {
        param: "index".into(),
        message: "is required".into(),
    })?;
    let size = match p.parsed::<u64>("size")? {
        Some(s) => s,
        None => checkpoint_size(l)?,
    };
    if index >= size {
        return Err(ApiError::NotFound(format!(
            "entry {index} in a tree of {size}"
        )));
    }
    let proof = l.reader().inclusion_proof(index, size).map_err(map_store)?;
    let leaf = l.reader().leaf_hash(index).map_err(map_store)?;
    Ok(Json(ProofBody {
        index: Some(index),
        old_size: None,
        size,
        leaf_hash: Some(hash_to_base64(&leaf)),
        proof: proof.iter().map(hash_to_base64).collect(),
    }))
}

fn checkpoint_size(l: &Ledger) -> Result<u64, ApiError> {
    l.latest_checkpoint()
        .and_then(|n| ensuresec_auditlog::checkpoint::Checkpoint::parse(&n.text).ok())
        .map(|c| c.size)
        .ok_or_else(|| ApiError::NotFound("a checkpoint".into()))
}

#[utoipa::path(
    get,
    path = "/v1/ledger/proof/consistency",
    tag = "ledger",
    params(
        ("old" = u64, Query, description = "Old tree size"),
        ("size" = Option<u64>, Query, description = "New tree size (default: the latest checkpoint's)"),
    ),
    responses(
        (status = 200, description = "The consistency proof", body = ProofBody),
        (status = 404, description = "A size beyond the log", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// A consistency proof between two tree sizes.
pub(crate) async fn consistency(
    State(state): State<AppState>,
    _auth: LedgerRead,
    RawQuery(query): RawQuery,
) -> Result<Json<ProofBody>, ApiError> {
    let l = ledger(&state)?;
    let p = Params::parse(query.as_deref(), &["old", "size"])?;
    let old: u64 = p.parsed("old")?.ok_or_else(|| ApiError::BadParam {
        param: "old".into(),
        message: "is required".into(),
    })?;
    let size = match p.parsed::<u64>("size")? {
        Some(s) => s,
        None => checkpoint_size(l)?,
    };
    if old == 0 || old > size {
        return Err(ApiError::BadParam {
            param: "old".into(),
            message: format!("must be 1 to size {size} (the empty tree has no proof)"),
        });
    }
    let proof = l.reader().consistency_proof(old, size).map_err(map_store)?;
    Ok(Json(ProofBody {
        index: None,
        old_size: Some(old),
        size,
        leaf_hash: None,
        proof: proof.iter().map(hash_to_base64).collect(),
    }))
}

/// One entry of the log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntryBody {
    /// Leaf index.
    pub index: u64,
    /// The entry bytes, base64 (what is hashed).
    pub entry: String,
    /// The entry parsed as JSON (every ensuresec record is canonical JSON).
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

#[utoipa::path(
    get,
    path = "/v1/ledger/entries",
    tag = "ledger",
    params(
        ("start" = Option<u64>, Query, description = "First leaf index (default 0)"),
        ("limit" = Option<u64>, Query, description = "How many, 1 to 1000 (default 100)"),
    ),
    responses(
        (status = 200, description = "Entries from start, oldest first", body = [EntryBody]),
        (status = 404, description = "Beyond the log", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// Entries of the log (always needs the `read` scope: records name entities).
pub(crate) async fn entries(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<EntryBody>>, ApiError> {
    let l = ledger(&state)?;
    let p = Params::parse(query.as_deref(), &["start", "limit"])?;
    let start: u64 = p.parsed("start")?.unwrap_or(0);
    let limit = p.parsed::<u64>("limit")?.unwrap_or(100);
    if limit == 0 || limit > MAX_ENTRIES {
        return Err(ApiError::BadParam {
            param: "limit".into(),
            message: format!("must be 1 to {MAX_ENTRIES}"),
        });
    }
    let size = l.reader().size();
    if start >= size {
        return Err(ApiError::NotFound(format!(
            "entry {start} (the log has {size})"
        )));
    }
    let end = (start + limit).min(size);
    let raw = l.reader().entries(start, end).map_err(map_store)?;
    Ok(Json(
        raw.into_iter()
            .enumerate()
            .map(|(i, e)| EntryBody {
                index: start + i as u64,
                record: serde_json::from_slice(&e).unwrap_or(serde_json::Value::Null),
                entry: STANDARD.encode(&e),
            })
            .collect(),
    ))
}

fn receipt_response(
    receipt: &ensuresec_auditlog::receipt::Receipt,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let p = Params::parse(query, &["format"])?;
    match p.text("format").as_deref().unwrap_or("json") {
        "json" => Ok((
            [(header::CONTENT_TYPE, "application/json")],
            receipt.to_json(),
        )
            .into_response()),
        "tlog-proof" => Ok(text(receipt.to_tlog_proof())),
        other => Err(ApiError::BadParam {
            param: "format".into(),
            message: format!("`{other}` is not json or tlog-proof"),
        }),
    }
}

#[utoipa::path(
    get,
    path = "/v1/ledger/receipt/{index}",
    tag = "ledger",
    params(
        ("index" = u64, Path, description = "Leaf index"),
        ("format" = Option<String>, Query, description = "json (default: entry, inclusion proof, checkpoint) or tlog-proof (C2SP; the entry travels separately)"),
    ),
    responses(
        (status = 200, description = "A receipt its holder can verify offline with `ensuresec ledger verify-receipt`"),
        (status = 404, description = "No such entry", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// The receipt of a log entry.
pub(crate) async fn receipt(
    State(state): State<AppState>,
    _auth: LedgerRead,
    Path(index): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let index = params::id("index", &index, "an entry index")?;
    let r = ledger(&state)?.receipt(index).await.map_err(map)?;
    receipt_response(&r, query.as_deref())
}

#[utoipa::path(
    get,
    path = "/v1/ledger/receipt/incident/{id}",
    tag = "ledger",
    params(("id" = u64, Path, description = "Incident id"), ("format" = Option<String>, Query, description = "json or tlog-proof")),
    responses(
        (status = 200, description = "The receipt of the incident's latest recorded state"),
        (status = 404, description = "No such incident, or not recorded in the log", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// The receipt of an incident's latest state.
pub(crate) async fn incident_receipt(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = params::id("id", &id, "an incident id")?;
    let detail = state
        .platform
        .store()
        .incident(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))?;
    let index = detail
        .incident
        .ledger_index
        .ok_or_else(|| ApiError::NotFound(format!("incident {id} in the audit log")))?;
    let r = ledger(&state)?.receipt(index).await.map_err(map)?;
    receipt_response(&r, query.as_deref())
}

#[utoipa::path(
    get,
    path = "/v1/ledger/receipt/alert/{id}",
    tag = "ledger",
    params(("id" = u64, Path, description = "Alert id"), ("format" = Option<String>, Query, description = "json or tlog-proof")),
    responses(
        (status = 200, description = "The receipt of the alert"),
        (status = 404, description = "No such alert, or not recorded in the log", body = ErrorBody),
    ),
    security(("bearer" = ["read"])),
)]
/// The receipt of an alert.
pub(crate) async fn alert_receipt(
    State(state): State<AppState>,
    _auth: Scoped<Read>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = params::id("id", &id, "an alert id")?;
    let page = state
        .platform
        .store()
        .list_alerts(
            AlertFilter::default(),
            PageRequest::new(1, id.checked_add(1)),
        )
        .await?;
    let alert = page
        .items
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("alert {id}")))?;
    let index = alert
        .ledger_index
        .ok_or_else(|| ApiError::NotFound(format!("alert {id} in the audit log")))?;
    let r = ledger(&state)?.receipt(index).await.map_err(map)?;
    receipt_response(&r, query.as_deref())
}
