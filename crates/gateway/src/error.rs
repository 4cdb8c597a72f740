//! Why the gateway could not start: configuration, certificates, the listening socket.

use std::path::PathBuf;

/// Everything that stops the gateway from starting (request-time failures become HTTP answers,
/// never errors).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML or has a bad key.
    #[error("{path}: line {line}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A value parses but makes no sense.
    #[error("{key}: {message}")]
    Config {
        /// The key, as `gateway.section.key`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The certificate or key was refused.
    #[error("TLS: {0}")]
    Tls(String),
    /// The web-attack engine could not be built.
    #[error("inspection engine: {0}")]
    Engine(#[from] ensuresec_webattack::EngineError),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The failure.
        source: std::io::Error,
    },
    /// The HTTP client for the serve could not be built.
    #[error("client for the serve: {0}")]
    Client(String),
}
