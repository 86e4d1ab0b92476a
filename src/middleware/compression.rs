//! gzip for answers worth it, when the client says it takes it (OkHttp, which the Android
//! app uses, sends `Accept-Encoding: gzip` on its own). A list of a large household shrinks
//! about tenfold; answers under a kilobyte go as they are, since gzip's framing would eat
//! most of the saving. The answer is compressed as it is written, so a streamed list is
//! never held whole, neither as text nor compressed.

use std::{io::Write, mem};

use flate2::{Compression, write::GzEncoder};
use futures_util::{Stream, StreamExt, stream};
use poem::{
    Body, Endpoint, IntoResponse, Request, Response,
    error::ReadBodyError,
    http::{HeaderValue, header},
};

/// Answers smaller than this are sent as they are.
const MIN_BYTES: usize = 1024;

type Chunk = std::io::Result<Vec<u8>>;

pub async fn layer<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let takes = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(takes_gzip);
    let mut response = next.call(req).await?.into_response();
    if !compressible(&response) {
        return Ok(response);
    }
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !takes {
        return Ok(response);
    }
    // Read until the answer is known to be worth compressing, or known whole and small.
    let mut rest = Box::pin(response.take_body().into_bytes_stream());
    let mut head = Vec::new();
    while head.len() < MIN_BYTES {
        match rest.next().await {
            Some(chunk) => head.extend_from_slice(&chunk.map_err(ReadBodyError::Io)?),
            None => {
                response.set_body(head);
                return Ok(response);
            }
        }
    }
    let body = stream::iter([Ok(head)]).chain(rest.map(|chunk| chunk.map(Vec::from)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.remove(header::CONTENT_LENGTH);
    response.set_body(Body::from_bytes_stream(gzip(body)));
    Ok(response)
}

/// `body` compressed chunk by chunk, at the fastest level: most of gzip's gain on JSON for
/// a fraction of the default's CPU.
fn gzip(body: impl Stream<Item = Chunk> + Send + Unpin + 'static) -> impl Stream<Item = Chunk> {
    let encoder = GzEncoder::new(Vec::new(), Compression::fast());
    stream::unfold(
        (body, Some(encoder)),
        |(mut body, mut encoder)| async move {
            let writing = encoder.as_mut()?;
            loop {
                match body.next().await {
                    Some(Ok(chunk)) => {
                        if let Err(err) = writing.write_all(&chunk) {
                            return Some((Err(err), (body, None)));
                        }
                        let compressed = mem::take(writing.get_mut());
                        if !compressed.is_empty() {
                            return Some((Ok(compressed), (body, encoder)));
                        }
                    }
                    Some(Err(err)) => return Some((Err(err), (body, None))),
                    None => {
                        let last = encoder.take().map(GzEncoder::finish)?;
                        return Some((last, (body, None)));
                    }
                }
            }
        },
    )
}

/// Whether an `Accept-Encoding` value takes gzip: listed (or `*`) with a weight above zero.
fn takes_gzip(accept: &str) -> bool {
    accept.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|param| {
            param
                .strip_prefix("q=")
                .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// JSON and text not already encoded: what gzip shrinks.
fn compressible(response: &Response) -> bool {
    let headers = response.headers();
    if headers.contains_key(header::CONTENT_ENCODING) {
        return false;
    }
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.starts_with("application/json") || kind.starts_with("text/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_taken_when_listed_with_a_weight_above_zero() {
        for accept in [
            "gzip",
            "deflate, gzip",
            "br;q=1.0, GZIP;q=0.5",
            "*",
            "gzip;q=0.001",
        ] {
            assert!(takes_gzip(accept), "{accept}");
        }
        for accept in [
            "",
            "identity",
            "br, deflate",
            "gzip;q=0",
            "gzip; q=0.0",
            "*;q=0",
        ] {
            assert!(!takes_gzip(accept), "{accept}");
        }
    }
}
