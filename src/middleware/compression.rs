//! gzip for answers worth it, when the client says it takes it (OkHttp, which the Android
//! app uses, sends `Accept-Encoding: gzip` on its own). A list of a large household shrinks
//! about tenfold; answers under a kilobyte go as they are, since gzip's framing would eat
//! most of the saving.

use std::io::Write;

use flate2::{Compression, write::GzEncoder};
use poem::{
    Body, Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, header},
};

/// Answers smaller than this are sent as they are.
const MIN_BYTES: usize = 1024;

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
    let body = response.take_body().into_bytes().await?;
    if body.len() < MIN_BYTES {
        response.set_body(body);
        return Ok(response);
    }
    let compressed = match gzip(&body) {
        Ok(compressed) => compressed,
        Err(err) => {
            tracing::warn!(error = %err, "gzip failed; answering uncompressed");
            response.set_body(body);
            return Ok(response);
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.remove(header::CONTENT_LENGTH);
    response.set_body(Body::from(compressed));
    Ok(response)
}

/// At the fastest level: most of gzip's gain on JSON for a fraction of the default's CPU.
fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
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
