//! Outbound HTTP for plugins (`wasi:http`): only to granted origins, through one rate limit
//! shared by every plugin and worker, with timeouts and retries on 429 and 5xx.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use tokio::sync::Semaphore;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::limits::HostRefused;

/// Bytes one write to an outgoing body's stream may buffer on the host.
pub const BODY_CHUNK_BYTES: usize = 64 * 1024;

/// `[http]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Requests per second, across all plugins and workers.
    pub rate_per_second: f64,
    /// Requests that may go at once before the rate applies.
    pub burst: u32,
    /// Retries of a request answered 429 or 5xx.
    pub retries: u32,
    /// First retry delay; doubles each time.
    pub backoff_ms: u64,
    /// Time to connect, per attempt.
    pub connect_timeout_ms: u64,
    /// Time to the first byte of the response, per attempt.
    pub first_byte_timeout_ms: u64,
    /// Longest pause between two bytes of the response.
    pub between_bytes_timeout_ms: u64,
    /// Largest request body a plugin may send, in KiB (bodies are buffered for retries).
    pub max_request_kb: u64,
}

/// A token bucket: `burst` tokens, refilled at `rate` per second.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A full bucket.
    pub fn new(rate_per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            rate: rate_per_second.max(0.001),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token, waiting for one if the bucket is empty. A waiter dropped before its turn
    /// (its invocation ended) gives its token back.
    pub async fn acquire(&self) {
        let wait = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let (tokens, last) = *state;
            let tokens =
                (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
            // Taking the token now (possibly going negative) reserves our place in line.
            *state = (tokens - 1.0, now);
            if tokens >= 1.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((1.0 - tokens) / self.rate)
            }
        };
        if !wait.is_zero() {
            let refund = Refund(self);
            tokio::time::sleep(wait).await;
            std::mem::forget(refund);
        }
    }

    /// Gives a token back.
    fn refund(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = (state.0 + 1.0).min(self.burst);
    }
}

/// Gives a reserved token back unless forgotten.
struct Refund<'a>(&'a RateLimiter);

impl Drop for Refund<'_> {
    fn drop(&mut self) {
        self.0.refund();
    }
}

/// What the host shares between all invocations.
pub struct HttpShared {
    pub settings: HttpSettings,
    pub limiter: RateLimiter,
}

impl HttpShared {
    /// Shared HTTP state for `settings`.
    pub fn new(settings: HttpSettings) -> Arc<Self> {
        Arc::new(HttpShared {
            limiter: RateLimiter::new(settings.rate_per_second, settings.burst),
            settings,
        })
    }
}

/// The `wasi:http` hooks of one invocation.
pub struct HttpHooks {
    shared: Arc<HttpShared>,
    /// Origins granted, as `scheme://host[:port]` without a trailing slash.
    allowed: Vec<String>,
    /// Origins the plugin tried without a grant (distinct, capped: see [`crate::caps`]).
    pub denied: std::collections::BTreeSet<String>,
    /// Denied attempts at further origins, over the cap.
    pub denied_dropped: u32,
    /// This invocation's share of the shared bucket: one place in its line. One request at a
    /// time waits for a token (so the bucket owes at most one token per running invocation);
    /// the others wait here, without taking from the bucket. A request whose token is free at
    /// once passes at once, so a plugin alone still gets the whole rate and burst. Closed when
    /// the invocation ends, so nothing of it is left in line.
    share: Arc<Semaphore>,
    /// Set (from a request's task) when a request body was over `max_request_kb`.
    pub refused: Arc<Mutex<Option<HostRefused>>>,
}

impl HttpHooks {
    /// Hooks allowing `allowed` origins.
    pub fn new(shared: Arc<HttpShared>, allowed: Vec<String>) -> Self {
        let share = Arc::new(Semaphore::new(1));
        HttpHooks {
            shared,
            allowed,
            denied: Default::default(),
            denied_dropped: 0,
            share,
            refused: Arc::default(),
        }
    }
}

impl Drop for HttpHooks {
    fn drop(&mut self) {
        // Requests still in flight are aborted with the store's resources; closing the share
        // also stops any that are waiting for their turn.
        self.share.close();
    }
}

/// `scheme://authority` of a URI, with the scheme's default port left out.
fn origin(uri: &http::Uri) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?;
    let default_port = match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let host = authority.host();
    Some(match authority.port_u16() {
        Some(port) if Some(port) != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Normalises a granted origin the same way as [`origin`].
pub fn normalise_origin(granted: &str) -> Option<String> {
    origin(&granted.parse().ok()?)
}

type Pending = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendResult = Result<(http::Response<WasiBody>, Pending), HttpError>;

impl WasiHttpHooks for HttpHooks {
    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        BODY_CHUNK_BYTES
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Pending,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        let asked = origin(request.uri());
        if !asked.as_ref().is_some_and(|o| self.allowed.contains(o)) {
            let asked = asked.unwrap_or_else(|| request.uri().to_string());
            if !crate::caps::record_denied(&mut self.denied, format!("http={asked}")) {
                self.denied_dropped = self.denied_dropped.saturating_add(1);
            }
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let shared = self.shared.clone();
        let share = self.share.clone();
        let refused = self.refused.clone();
        let s = shared.settings;
        // The host's timeouts, not the guest's: a plugin cannot ask to wait longer.
        let _ = options;
        let timeouts = RequestOptions {
            connect_timeout: Some(Duration::from_millis(s.connect_timeout_ms)),
            first_byte_timeout: Some(Duration::from_millis(s.first_byte_timeout_ms)),
            between_bytes_timeout: Some(Duration::from_millis(s.between_bytes_timeout_ms)),
        };
        Box::new(async move {
            let (parts, body) = request.into_parts();
            // Buffered so that a retry can send it again; refused as soon as it is too large.
            let limit = s.max_request_kb.saturating_mul(1024);
            let body = match collect_at_most(&parts.headers, body, limit).await? {
                Ok(body) => body,
                Err(size) => {
                    refused
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(HostRefused {
                            resource: "request-body",
                            limit,
                            requested: size,
                        });
                    return Err(HttpError::HttpRequestBodySize(Some(size)));
                }
            };
            let mut attempt = 0;
            loop {
                {
                    let _turn = share.acquire().await.map_err(|_| {
                        HttpError::InternalError(Some("the invocation ended".into()))
                    })?;
                    shared.limiter.acquire().await;
                }
                let request = rebuild(&parts, body.clone())?;
                let (response, io) =
                    wasmtime_wasi_http::default_send_request(request, Some(timeouts)).await?;
                let status = response.status();
                let retryable = status.as_u16() == 429 || status.is_server_error();
                if retryable && attempt < s.retries {
                    drop((response, io));
                    let delay = s.backoff_ms.saturating_mul(1 << attempt.min(16));
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    attempt += 1;
                    continue;
                }
                return Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Pending));
            }
        })
    }
}

/// The body, read until it ends or passes `limit` bytes (a `Content-Length` over it is
/// refused before reading): `Err(size)` with the declared size, or the bytes read so far.
async fn collect_at_most(
    headers: &http::HeaderMap,
    mut body: WasiBody,
    limit: u64,
) -> Result<Result<Bytes, u64>, HttpError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|&n| n > limit) {
        return Ok(Err(size));
    }
    let mut bytes = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            let size = bytes.len() as u64 + data.len() as u64;
            if size > limit {
                return Ok(Err(size));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(Ok(bytes.freeze()))
}

/// A fresh request with the same method, URI, version and headers, and `body`.
fn rebuild(
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<http::Request<WasiBody>, HttpError> {
    let mut builder = http::Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone())
        .version(parts.version);
    if let Some(headers) = builder.headers_mut() {
        headers.extend(parts.headers.clone());
    }
    builder
        .body(
            Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .map_err(|e| HttpError::InternalError(Some(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_waiter_gives_its_token_back() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let bucket = RateLimiter::new(1.0, 1);
        runtime.block_on(async {
            bucket.acquire().await;
            // Waits a second for its token, but its invocation ends first.
            let cancelled = tokio::time::timeout(Duration::from_millis(50), bucket.acquire()).await;
            assert!(cancelled.is_err());
            // The next one waits for one token, not two.
            let started = Instant::now();
            bucket.acquire().await;
            let waited = started.elapsed();
            assert!(waited < Duration::from_millis(1500), "waited {waited:?}");
        });
    }

    #[test]
    fn origins_ignore_paths_and_default_ports() {
        let o = |s: &str| origin(&s.parse().unwrap());
        assert_eq!(
            o("https://api.example.com/v1/x?q=1").as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            o("https://api.example.com:443/").as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            o("http://127.0.0.1:8080/a").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_ne!(o("http://127.0.0.1:8081/"), o("http://127.0.0.1:8080/"));
        assert_eq!(
            normalise_origin("https://api.example.com/").as_deref(),
            Some("https://api.example.com")
        );
    }
}
