//! Opening the configured bucket: the one place a [`Settings`] becomes an S3 connection,
//! so every command (backup, the read-only inspections, prepare-bucket) reaches the store
//! the same way.

use anyhow::Result;

use crate::config::Settings;
use crate::store::Store;
use crate::store::retry::{RetryPolicy, RetryStore};
use crate::store::s3::{DEFAULT_BASE_TIMEOUT, S3Config, S3Store};

/// How to reach the configured bucket: S3Keyfile / S3Endpoint / S3Region (else the
/// standard AWS chain and environment), timed out by the rule of
/// [`S3Config::with_timeouts`] (S3Timeout, ChunkSize), upload bodies signed as
/// S3PayloadSigning says.
pub fn s3_config(settings: &Settings) -> Result<S3Config> {
    let base = settings
        .s3_timeout
        .map_or(DEFAULT_BASE_TIMEOUT, std::time::Duration::from_secs);
    let mut cfg = S3Config::new(settings.bucket.clone())
        .with_timeouts(base, settings.chunk_size)
        .with_payload_signing(settings.s3_payload_signing);
    if let Some(endpoint) = &settings.s3_endpoint {
        cfg = cfg.with_endpoint(endpoint.clone());
    }
    if let Some(region) = &settings.s3_region {
        cfg = cfg.with_region(region.clone());
    }
    if let Some(keyfile) = &settings.s3_keyfile {
        cfg = cfg.with_keyfile(keyfile)?;
    }
    Ok(cfg)
}

/// Connects to the configured bucket ([`s3_config`]), every request retried (S3Retries).
pub fn open_store(settings: &Settings) -> Result<Box<dyn Store>> {
    let cfg = s3_config(settings)?;
    let policy = settings
        .s3_retries
        .map_or_else(RetryPolicy::default, RetryPolicy::with_retries);
    Ok(Box::new(
        RetryStore::new(
            S3Store::connect(cfg)?.with_cancel(crate::process::interrupt::expired),
            policy,
        )
        .with_stop(crate::process::interrupt::reason),
    ))
}
