//! Outbound HTTP through `wasi:http`. The host sends only to origins the user granted
//! (`http=https://api.example.com`); anything else fails with `HttpRequestDenied`.

use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

/// A response: status and the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code, e.g. 200.
    pub status: u16,
    /// The whole body, at most the `max_bytes` the request gave.
    pub body: Vec<u8>,
}

/// `GET url`, reading at most `max_bytes` of body.
pub fn get(url: &str, max_bytes: usize) -> Result<Response, String> {
    send(Method::Get, url, &[], None, max_bytes)
}

/// `POST url` with a JSON `body` and extra `headers` (name, value), reading at most
/// `max_bytes` of the response's body.
pub fn post_json(
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    max_bytes: usize,
) -> Result<Response, String> {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    send(Method::Post, url, &all, Some(body), max_bytes)
}

/// Sends a request and reads the whole response, at most `max_bytes` of body.
fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    max_bytes: usize,
) -> Result<Response, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` has no scheme"))?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(format!("unsupported scheme `{other}`")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let fields: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&fields).map_err(|e| format!("invalid header: {e:?}"))?;
    let request = OutgoingRequest::new(fields);
    let invalid = |what: &str| format!("invalid {what} in `{url}`");
    request
        .set_method(&method)
        .map_err(|()| invalid("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| invalid("authority"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| invalid("path"))?;
    let outgoing = request
        .body()
        .map_err(|()| "the request body was already taken".to_string())?;

    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    {
        let stream = outgoing
            .write()
            .map_err(|()| "the request body stream was already taken".to_string())?;
        // `blocking-write-and-flush` takes at most 4096 bytes at a time.
        for chunk in body.unwrap_or_default().chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| format!("writing the body: {e:?}"))?;
        }
    }
    OutgoingBody::finish(outgoing, None).map_err(|e| format!("finishing the body: {e:?}"))?;
    let response = loop {
        match pending.get() {
            Some(result) => break result,
            None => pending.subscribe().block(),
        }
    };
    let response = response
        .map_err(|()| "the response was already taken".to_string())?
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let body = response
        .consume()
        .map_err(|()| "the body was already taken".to_string())?;
    let mut out = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| "the body stream was already taken".to_string())?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    out.extend_from_slice(&chunk);
                    if out.len() > max_bytes {
                        return Err(format!("body larger than {max_bytes} bytes"));
                    }
                }
                Err(StreamError::Closed) => break,
                Err(e) => return Err(format!("reading the body: {e:?}")),
            }
        }
    }
    let _ = IncomingBody::finish(body);
    Ok(Response { status, body: out })
}
