//! The S3 server's clock, as the `Date` header of its answer to a HeadBucket says it
//! (every S3 answer carries one, an error's too). Object Lock dates are the server's
//! business: a lock runs until a date on its clock, not on the host's
//! (`backup::server_clock`).

use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::date_time::Format;
use time::OffsetDateTime;

use super::S3Store;
use crate::store::StoreError;

/// Keeps the `Date` header of the answer to the one request it is attached to.
#[derive(Debug, Clone, Default)]
struct DateSeen(Arc<Mutex<Option<String>>>);

impl Intercept for DateSeen {
    fn name(&self) -> &'static str {
        "S3napbackDateSeen"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(date.to_owned());
        }
        Ok(())
    }
}

/// Reads an HTTP date (`Tue, 08 Dec 2026 01:04:10 GMT`).
pub(super) fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    let date = aws_smithy_types::DateTime::from_str(text.trim(), Format::HttpDate).ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(date.as_nanos()).ok()
}

impl S3Store {
    /// The server's time now: the `Date` of its answer to a HeadBucket (whatever the
    /// answer: a refusal is dated too). An error when no answer came, or it had no
    /// readable `Date`.
    pub fn server_time(&self) -> Result<OffsetDateTime, StoreError> {
        let seen = DateSeen::default();
        let attached = seen.clone();
        self.watched("HeadBucket", "", async {
            // the answer's status does not matter here, only its date
            let _ = self
                .client
                .head_bucket()
                .bucket(&self.bucket)
                .customize()
                .interceptor(attached)
                .send()
                .await;
            Ok(())
        })?;
        let date = seen.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match date {
            None => Err(self.err(
                "HeadBucket",
                "",
                "no answer with a Date header: the server's clock cannot be read".into(),
            )),
            Some(text) => parse_http_date(&text).ok_or_else(|| {
                self.err(
                    "HeadBucket",
                    "",
                    format!("the answer's Date header {text:?} is not an HTTP date"),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_read_and_nonsense_is_not() {
        let date = parse_http_date("Thu, 12 Nov 2026 03:00:00 GMT").unwrap();
        assert_eq!(date.unix_timestamp(), 1_794_452_400);
        assert!(parse_http_date("yesterday").is_none());
        assert!(parse_http_date("").is_none());
    }
}
