//! What an SDK error means to the store: a summary in the tool's words, the S3 error
//! code, whether asking again can help.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::store::{StoreError, is_permanent_answer};

/// Judges an SDK error: a summary in our words, the S3 error code, and whether it is
/// permanent (see [`is_permanent_answer`]; transport failures and timeouts are not,
/// a request that could not even be built is).
pub(super) fn classify<E>(
    err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> (String, Option<Box<str>>, bool)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code: Option<Box<str>> = se.err().code().map(Into::into);
            let summary = match (&code, se.err().message()) {
                (Some(c), Some(m)) => format!("{c}: {m} (HTTP {status})"),
                (Some(c), None) => format!("{c} (HTTP {status})"),
                (None, _) => format!("HTTP {status}"),
            };
            let permanent = is_permanent_answer(Some(status), code.as_deref());
            (summary, code, permanent)
        }
        SdkError::TimeoutError(_) => ("the attempt timed out".into(), None, false),
        SdkError::DispatchFailure(d) if d.is_user() => {
            ("the request could not be sent".into(), None, true)
        }
        // No credentials is not cured by asking again (environment, profile, IMDS all tried).
        SdkError::DispatchFailure(_) if mentions(err, "loading credentials") => {
            ("no usable credentials".into(), None, true)
        }
        SdkError::DispatchFailure(_) => ("the connection failed".into(), None, false),
        SdkError::ResponseError(_) => (
            "the connection broke while reading the answer".into(),
            None,
            false,
        ),
        SdkError::ConstructionFailure(_) => ("the request could not be built".into(), None, true),
        _ => ("the request failed".into(), None, false),
    }
}

/// A [`StoreError::Request`] for an SDK error, the error kept as its source.
pub(super) fn request_error<E>(
    op: &'static str,
    bucket: &str,
    key: &str,
    err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (summary, code, permanent) = classify(&err);
    StoreError::Request {
        op,
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        summary,
        code,
        permanent,
        source: Some(Box::new(err)),
    }
}

/// Whether the ETag of a PutObject answer can be the MD5 of the body: not when the
/// object is encrypted with SSE-KMS or DSSE-KMS (`x-amz-server-side-encryption:
/// aws:kms`, `aws:kms:dsse`, or any other kind but `AES256`) or with a customer key
/// (SSE-C: `x-amz-server-side-encryption-customer-algorithm`). There the server checked
/// the Content-MD5 the PUT carried.
pub fn etag_can_be_md5(server_side_encryption: Option<&str>, sse_customer: Option<&str>) -> bool {
    sse_customer.is_none() && server_side_encryption.is_none_or(|s| s == "AES256")
}

/// True when `err` or one of its sources says `text`.
fn mentions(err: &(dyn std::error::Error + 'static), text: &str) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.to_string().contains(text) {
            return true;
        }
        next = e.source();
    }
    false
}

/// True for the answer "NoSuchBucket": nothing there can be deleted or found.
pub(super) fn no_such_bucket<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("NoSuchBucket")
}

pub(super) fn status<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_an_md5_only_without_kms_or_customer_keys() {
        assert!(etag_can_be_md5(None, None));
        assert!(etag_can_be_md5(Some("AES256"), None));
        assert!(!etag_can_be_md5(Some("aws:kms"), None));
        assert!(!etag_can_be_md5(Some("aws:kms:dsse"), None));
        assert!(!etag_can_be_md5(None, Some("AES256")), "SSE-C");
        assert!(!etag_can_be_md5(Some("AES256"), Some("AES256")));
    }
}
