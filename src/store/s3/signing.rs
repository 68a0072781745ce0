//! Whether upload bodies are part of the SigV4 signature (`S3PayloadSigning`).
//!
//! A signed payload costs a SHA-256 of every byte on each side (the tool computes it for
//! the signature, the server again to check it). Without it the request says
//! `UNSIGNED-PAYLOAD`; the body stays bound to the signature through its Content-MD5,
//! which every upload carries, which is a signed header, and which the server checks.
//! Over HTTPS TLS protects the body as well, so, as the AWS SDKs and rclone do, bodies
//! are signed only over plain HTTP unless the configuration says otherwise.

use std::fmt;

/// `S3PayloadSigning`: `auto` (the default), `yes` or `no`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadSigning {
    /// Sign over plain HTTP, not over HTTPS.
    #[default]
    Auto,
    /// Sign every upload body (SHA-256 of each).
    Always,
    /// Never sign upload bodies: `UNSIGNED-PAYLOAD`, the body bound by its Content-MD5.
    Never,
}

impl PayloadSigning {
    /// Whether upload bodies are signed on `endpoint` (`None`: AWS itself, HTTPS).
    pub fn signs(self, endpoint: Option<&str>) -> bool {
        match self {
            PayloadSigning::Always => true,
            PayloadSigning::Never => false,
            PayloadSigning::Auto => endpoint.is_some_and(is_plain_http),
        }
    }
}

impl fmt::Display for PayloadSigning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PayloadSigning::Auto => "auto",
            PayloadSigning::Always => "yes",
            PayloadSigning::Never => "no",
        })
    }
}

/// Whether `endpoint` is a plain-HTTP URL.
fn is_plain_http(endpoint: &str) -> bool {
    endpoint
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

#[cfg(test)]
mod tests {
    use super::PayloadSigning::{Always, Auto, Never};

    #[test]
    fn auto_signs_over_plain_http_only() {
        assert!(Auto.signs(Some("http://127.0.0.1:3900")));
        assert!(Auto.signs(Some("HTTP://garage.lan:3900")));
        assert!(!Auto.signs(Some("https://s3.eu-west-1.amazonaws.com")));
        assert!(!Auto.signs(None), "AWS itself is reached over HTTPS");
    }

    #[test]
    fn yes_and_no_decide_whatever_the_endpoint() {
        for endpoint in [
            None,
            Some("http://127.0.0.1:9000"),
            Some("https://minio.lan"),
        ] {
            assert!(Always.signs(endpoint));
            assert!(!Never.signs(endpoint));
        }
    }
}
