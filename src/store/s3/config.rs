//! How to reach one bucket: endpoint, region, credentials (the legacy S3Keyfile) and
//! the timeouts that let a whole chunk through a slow uplink.

use std::path::Path;
use std::time::Duration;

use super::PayloadSigning;
use crate::store::StoreError;
use crate::store::keys::KeyStyle;

/// The region used when nothing else names one (and the one AWS calls the default).
pub const DEFAULT_REGION: &str = "us-east-1";

/// The base of every attempt timeout and the GET stall timeout (`S3Timeout`).
pub const DEFAULT_BASE_TIMEOUT: Duration = Duration::from_secs(60);

/// The slowest transfer rate one request is assumed to get (bytes per second): 128 KiB/s,
/// a quarter of a 4-5 Mbit/s uplink shared by the parallel uploads.
pub const MIN_THROUGHPUT: u64 = 128 * 1024;

/// The per-attempt timeout for requests carrying up to `size` bytes:
/// `base + size / MIN_THROUGHPUT`.
pub fn attempt_timeout_for(base: Duration, size: u64) -> Duration {
    base + Duration::from_secs(size / MIN_THROUGHPUT)
}

/// A secret that never shows in a `Debug` print (or anywhere else unless asked for).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself, for the credential provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How to reach one bucket. Build with [`S3Config::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Config {
    /// The bucket name.
    pub bucket: String,
    /// A custom endpoint URL (Garage, MinIO, moto); `None`: `AWS_ENDPOINT_URL_S3`, then
    /// `AWS_ENDPOINT_URL`, else AWS itself.
    pub endpoint: Option<String>,
    /// The signing region; `None`: `AWS_REGION`, `AWS_DEFAULT_REGION`, the AWS profile,
    /// the bucket's own region (`x-amz-bucket-region`), else `us-east-1`.
    pub region: Option<String>,
    /// Access key id and secret (from the legacy S3Keyfile); `None`: the standard AWS
    /// credential chain (environment, profile, web identity, instance metadata).
    pub credentials: Option<(String, Secret)>,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// Timeout for one attempt of one request until its answer arrives (a whole chunk
    /// PUT must fit in it; see [`attempt_timeout_for`]).
    pub attempt_timeout: Duration,
    /// How long a GET body may stall (no byte arriving) before the attempt is abandoned.
    pub stall_timeout: Duration,
    /// Optional user metadata `tag` stored with every object (js3tream's `-t`).
    pub tag: Option<String>,
    /// How the server spells keys; `None`: detect on first need.
    pub key_style: Option<KeyStyle>,
    /// Whether upload bodies are signed (`S3PayloadSigning`).
    pub payload_signing: PayloadSigning,
}

impl S3Config {
    /// Defaults for `bucket`: environment endpoint/region/credentials, 10 s connect
    /// timeout, 60 s per attempt and GET stall, no tag, key style detected.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            endpoint: None,
            region: None,
            credentials: None,
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: DEFAULT_BASE_TIMEOUT,
            stall_timeout: DEFAULT_BASE_TIMEOUT,
            tag: None,
            key_style: None,
            payload_signing: PayloadSigning::Auto,
        }
    }

    /// Sets a custom endpoint URL.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets whether upload bodies are signed.
    pub fn with_payload_signing(mut self, signing: PayloadSigning) -> Self {
        self.payload_signing = signing;
        self
    }

    /// Sets the signing region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets static credentials.
    pub fn with_credentials(mut self, key: impl Into<String>, secret: impl Into<String>) -> Self {
        self.credentials = Some((key.into(), Secret::new(secret)));
        self
    }

    /// Sets the timeouts for objects of up to `chunk_size` bytes: the GET stall timeout
    /// is `base`, the attempt timeout [`attempt_timeout_for`]`(base, chunk_size)`.
    pub fn with_timeouts(mut self, base: Duration, chunk_size: u64) -> Self {
        self.stall_timeout = base;
        self.attempt_timeout = attempt_timeout_for(base, chunk_size);
        self
    }

    /// Reads static credentials from a legacy S3Keyfile (see [`read_keyfile`]).
    pub fn with_keyfile(mut self, path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let (key, secret) = read_keyfile(path)?;
        self.credentials = Some((key, Secret::new(secret)));
        Ok(self)
    }
}

/// Reads a legacy S3Keyfile: a Java properties file with `key=` and `secret=` lines
/// (`:` also separates, `#`/`!` start comments, blanks around the separator are ignored).
/// Errors name the file.
pub fn read_keyfile(path: impl AsRef<Path>) -> Result<(String, String), StoreError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .map_err(|e| StoreError::Setup(format!("S3Keyfile {}: {e}", path.display())))?;
    let (mut key, mut secret) = (None, None);
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(sep) = line.find(['=', ':']) else {
            continue;
        };
        let name = line[..sep].trim();
        let value = line[sep + 1..].trim().to_owned();
        match name {
            "key" => key = Some(value),
            "secret" => secret = Some(value),
            _ => {}
        }
    }
    match (key, secret) {
        (Some(k), Some(s)) if !k.is_empty() && !s.is_empty() => Ok((k, s)),
        (k, _) => {
            let missing = if k.as_deref().is_none_or(str::is_empty) {
                "key"
            } else {
                "secret"
            };
            Err(StoreError::Setup(format!(
                "S3Keyfile {}: no `{missing}=` line",
                path.display()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_timeouts_grow_with_the_chunk_size() {
        let base = DEFAULT_BASE_TIMEOUT;
        assert_eq!(attempt_timeout_for(base, 1000), base);
        // 4 parallel 25 MB PUTs on a 5 Mbit/s uplink need about 160 s each
        assert!(attempt_timeout_for(base, 25_000_000) > Duration::from_secs(200));
        // a 5 GiB chunk at 128 KiB/s
        assert_eq!(
            attempt_timeout_for(base, 5 << 30),
            base + Duration::from_secs(40960)
        );
        let cfg = S3Config::new("b").with_timeouts(Duration::from_secs(5), 25_000_000);
        assert_eq!(cfg.stall_timeout, Duration::from_secs(5));
        assert_eq!(cfg.attempt_timeout, Duration::from_secs(5 + 190));
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let cfg = S3Config::new("b").with_credentials("AKIAKEY", "very-secret-value");
        let text = format!("{cfg:?} {cfg:#?}");
        assert!(!text.contains("very-secret-value"), "{text}");
        assert!(
            text.contains("AKIAKEY") && text.contains("redacted"),
            "{text}"
        );
    }

    #[test]
    fn keyfile() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys");
        std::fs::write(&p, "# comment\nkey = AKIA123\nsecret=abc/def=\n").unwrap();
        assert_eq!(
            read_keyfile(&p).unwrap(),
            ("AKIA123".to_owned(), "abc/def=".to_owned())
        );
        std::fs::write(&p, "key=AKIA123\n").unwrap();
        let e = read_keyfile(&p).unwrap_err().to_string();
        assert!(e.contains("no `secret=` line") && e.contains("keys"), "{e}");
        let e = read_keyfile(dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope"), "{e}");
    }
}
