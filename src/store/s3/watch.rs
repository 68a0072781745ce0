//! Every request under two clocks: a stall timeout (`S3Timeout` without a byte sent or
//! received aborts the attempt) and a total that follows the bytes the request carries
//! (`S3Timeout + bytes / 128 KiB/s`: a part, not the whole chunk).
//!
//! The SDK's own attempt timeout cannot see a stall, and it is one value for every
//! operation of a client, so it had to fit a whole chunk: a 16 MiB part of a 1 GB chunk
//! the server never answered waited 2.1 hours (issue 27). Here each store call runs under
//! an [`Activity`] that a client interceptor ([`WatchInterceptor`]) hands to the request
//! body (bytes as the HTTP client takes them, in frames of at most [`FRAME`] bytes) and
//! to the answer's body (bytes as they arrive); [`watch`] ends the call once the activity
//! has been quiet for the stall timeout or the total has passed. Dropping the request's
//! future closes its connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The largest frame a request body is handed to the HTTP client in, so that the bytes
/// taken follow the bytes sent (a part is one 16 MiB buffer otherwise).
pub(super) const FRAME: usize = 64 * 1024;

tokio::task_local! {
    /// The activity of the store call running on this task.
    static ACTIVITY: Activity;
}

/// When a call last sent or received a byte.
#[derive(Debug, Clone)]
pub(super) struct Activity(Arc<ActivityState>);

#[derive(Debug)]
struct ActivityState {
    origin: Instant,
    /// Nanoseconds from `origin` to the last byte.
    last: AtomicU64,
    /// Bytes sent and received.
    bytes: AtomicU64,
    /// The answer's head arrived and the caller reads its body under its own stall
    /// timeout (a GET body).
    answered: AtomicBool,
}

impl Activity {
    fn new() -> Activity {
        Activity(Arc::new(ActivityState {
            origin: Instant::now(),
            last: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            answered: AtomicBool::new(false),
        }))
    }

    fn touch(&self, bytes: usize) {
        let s = &self.0;
        let now = u64::try_from(s.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        s.last.store(now, Ordering::SeqCst);
        s.bytes.fetch_add(bytes as u64, Ordering::SeqCst);
    }

    /// How long ago the last byte moved (or the call began).
    fn quiet_for(&self) -> Duration {
        let last = Duration::from_nanos(self.0.last.load(Ordering::SeqCst));
        self.0.origin.elapsed().saturating_sub(last)
    }

    fn bytes(&self) -> u64 {
        self.0.bytes.load(Ordering::SeqCst)
    }
}

/// What the stall timeout covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stall {
    /// The whole call: request, answer and the answer's body.
    Throughout,
    /// Until the answer's head arrives; the caller reads the body under its own stall
    /// timeout (GetObject, which names the bytes received when a body stalls), and the
    /// total no longer applies.
    UntilAnswer,
}

/// Why a watched call was ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expired {
    /// Nothing sent or received for the stall timeout.
    Stalled { quiet: Duration, bytes: u64 },
    /// The total for the call passed.
    Total(Duration),
    /// The cancel check said why the call must end.
    Cancelled(String),
}

impl std::fmt::Display for Expired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expired::Stalled { quiet, bytes } => write!(
                f,
                "the attempt timed out: nothing sent or received for {quiet:?} (after {bytes} bytes)"
            ),
            Expired::Total(total) => write!(f, "the attempt timed out after {total:?}"),
            Expired::Cancelled(why) => write!(f, "ended: {why}"),
        }
    }
}

/// How often the cancel check is asked.
const CANCEL_POLL: Duration = Duration::from_millis(250);

/// Runs `call` until it ends, or until it was quiet for `stall` (as `mode` says),
/// `total` has passed, or `cancel` says why it must end.
pub(super) async fn watch<T>(
    stall: Duration,
    total: Duration,
    mode: Stall,
    cancel: Option<super::super::retry::StopCheck>,
    call: impl Future<Output = T>,
) -> Result<T, Expired> {
    let activity = Activity::new();
    let watchdog = async {
        let started = Instant::now();
        loop {
            if let Some(why) = cancel.and_then(|check| check()) {
                return Expired::Cancelled(why);
            }
            let stalls = mode == Stall::Throughout || !activity.0.answered.load(Ordering::SeqCst);
            if !stalls {
                // an answered GET: its body is read under the caller's stall timeout,
                // with no total (as the SDK's attempt timeout never covered it)
                if cancel.is_none() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(CANCEL_POLL).await;
                continue;
            }
            let quiet = activity.quiet_for();
            if quiet >= stall {
                return Expired::Stalled {
                    quiet,
                    bytes: activity.bytes(),
                };
            }
            let elapsed = started.elapsed();
            if elapsed >= total {
                return Expired::Total(total);
            }
            let mut next = stall.saturating_sub(quiet);
            if cancel.is_some() {
                next = next.min(CANCEL_POLL);
            }
            tokio::time::sleep(next.min(total - elapsed)).await;
        }
    };
    let call = ACTIVITY.scope(activity.clone(), call);
    tokio::select! {
        out = call => Ok(out),
        why = watchdog => Err(why),
    }
}

/// The client interceptor that hands the running call's [`Activity`] to the bodies.
#[derive(Debug, Default)]
pub(super) struct WatchInterceptor;

fn current() -> Option<Activity> {
    ACTIVITY.try_with(Activity::clone).ok()
}

fn wrap(body: &mut SdkBody, activity: Activity) {
    let taken = std::mem::replace(body, SdkBody::taken());
    let wrapped = taken.map_preserve_contents(move |inner| {
        SdkBody::from_body_1_x(Watched {
            inner,
            activity: activity.clone(),
            pending: Bytes::new(),
        })
    });
    *body = wrapped;
}

impl Intercept for WatchInterceptor {
    fn name(&self) -> &'static str {
        "S3napbackWatchInterceptor"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        if let Some(activity) = current() {
            // the request is about to go: the clock starts from here
            activity.touch(0);
            wrap(context.request_mut().body_mut(), activity);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        if let Some(activity) = current() {
            activity.touch(0);
            activity.0.answered.store(true, Ordering::SeqCst);
            wrap(context.response_mut().body_mut(), activity);
        }
        Ok(())
    }
}

/// A body whose every frame counts as activity; large data frames are handed on in
/// pieces of at most [`FRAME`] bytes.
struct Watched {
    inner: SdkBody,
    activity: Activity,
    pending: Bytes,
}

impl Body for Watched {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.pending.is_empty() {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => this.pending = data,
                    Err(other) => {
                        this.activity.touch(0);
                        return Poll::Ready(Some(Ok(other)));
                    }
                },
                other => return other,
            }
        }
        let piece = this.pending.split_to(this.pending.len().min(FRAME));
        this.activity.touch(piece.len());
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        let pending = self.pending.len() as u64;
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + pending);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + pending);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_quiet_call_ends_after_the_stall_timeout() {
        let stall = Duration::from_secs(5);
        let never = std::future::pending::<()>();
        let why = watch(
            stall,
            Duration::from_secs(3600),
            Stall::Throughout,
            None,
            never,
        )
        .await
        .unwrap_err();
        assert!(matches!(why, Expired::Stalled { quiet, bytes: 0 } if quiet >= stall));
        assert!(
            why.to_string()
                .starts_with("the attempt timed out: nothing sent")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_call_ends_at_its_total() {
        let busy = async {
            loop {
                ACTIVITY.with(|a| a.touch(1));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        };
        let total = Duration::from_secs(30);
        let why = watch(Duration::from_secs(5), total, Stall::Throughout, None, busy)
            .await
            .unwrap_err();
        assert_eq!(why, Expired::Total(total));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answered_get_is_left_to_its_own_stall_timeout() {
        let answered = async {
            ACTIVITY.with(|a| a.0.answered.store(true, Ordering::SeqCst));
            tokio::time::sleep(Duration::from_secs(20)).await;
            7
        };
        let out = watch(
            Duration::from_secs(5),
            Duration::from_secs(60),
            Stall::UntilAnswer,
            None,
            answered,
        )
        .await;
        assert_eq!(out, Ok(7));
    }

    #[tokio::test]
    async fn bodies_are_handed_on_in_frames_and_counted() {
        let activity = Activity::new();
        let mut body = Watched {
            inner: SdkBody::from(vec![1u8; 3 * FRAME + 5]),
            activity: activity.clone(),
            pending: Bytes::new(),
        };
        let mut sizes = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            sizes.push(frame.unwrap().into_data().unwrap().len());
        }
        assert_eq!(sizes, [FRAME, FRAME, FRAME, 5]);
        assert_eq!(activity.bytes(), 3 * FRAME as u64 + 5);
        assert!(body.is_end_stream());
    }
}
