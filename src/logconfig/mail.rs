//! `Log::Dispatch::Email::MailSender` (LEGACY.md §11): the appender keeps the run's lines
//! (after its `min_level`/`Threshold` and through its layout) and [`send_all`] mails them as
//! one message at the end of the run, over plain SMTP (`smtp = HOST[:PORT]`, default
//! `localhost:25`), as log4perl's buffered e-mail appender did.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lettre::message::Body;
use lettre::message::Mailbox;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::{Message, SmtpTransport, Transport};
use log4rs::append::Append;
use log4rs::encode::Encode;
use log4rs::encode::writer::simple::SimpleWriter;

use super::{AppenderSpec, LogConfigError, LogSpec};

/// How long one SMTP conversation may stall before the mail is given up.
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

/// The subject when the appender sets none.
const DEFAULT_SUBJECT: &str = "s3napback log";

/// Where and how one e-mail appender sends.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `to`: one or more addresses, comma-separated in the file.
    pub to: Vec<Mailbox>,
    /// `from` (default `s3napback@localhost`).
    pub from: Mailbox,
    /// `subject`.
    pub subject: String,
    /// SMTP relay host (`smtp`, default `localhost`).
    pub host: String,
    /// SMTP port (`smtp = HOST:PORT`, default 25).
    pub port: u16,
}

impl MailSettings {
    /// Reads `to`, `from`, `subject` and `smtp` of an appender; errors name file and line.
    pub fn from_spec(a: &AppenderSpec, spec: &LogSpec) -> Result<MailSettings, LogConfigError> {
        let invalid = |line: usize, msg: String| LogConfigError::Invalid {
            path: spec.path.clone(),
            line,
            msg,
        };
        let mailbox = |key: &str, text: &str, line: usize| {
            text.trim().parse::<Mailbox>().map_err(|e| {
                invalid(
                    line,
                    format!(
                        "{key} `{text}` of appender {} is not an address: {e}",
                        a.name
                    ),
                )
            })
        };
        let to = match a.get("to") {
            Some(s) if !s.value.trim().is_empty() => s
                .value
                .split(',')
                .map(|addr| mailbox("to", addr, s.line))
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(invalid(
                    a.line,
                    format!("appender {} ({}) needs `to`", a.name, a.class),
                ));
            }
        };
        let from = match a.get("from") {
            Some(s) => mailbox("from", &s.value, s.line)?,
            None => mailbox("from", "s3napback@localhost", a.line)?,
        };
        let subject = a
            .get("subject")
            .map_or(DEFAULT_SUBJECT.to_string(), |s| s.value.clone());
        let (host, port) = match a.get("smtp") {
            None => ("localhost".to_string(), 25),
            Some(s) => match s.value.trim().rsplit_once(':') {
                None => (s.value.trim().to_string(), 25),
                Some((host, port)) => {
                    let port = port.parse::<u16>().map_err(|_| {
                        invalid(
                            s.line,
                            format!("smtp `{}` of appender {}: bad port", s.value, a.name),
                        )
                    })?;
                    (host.to_string(), port)
                }
            },
        };
        Ok(MailSettings {
            to,
            from,
            subject,
            host,
            port,
        })
    }
}

/// The lines one e-mail appender has kept so far, and where they go.
#[derive(Debug)]
pub struct Outbox {
    name: String,
    settings: MailSettings,
    lines: Mutex<Vec<u8>>,
}

impl Outbox {
    /// Sends what was kept as one message and empties the buffer. `Ok(false)`: nothing kept.
    /// The error says which appender, to whom and through which server.
    pub fn send(&self) -> Result<bool, String> {
        let body = std::mem::take(&mut *self.lines.lock().unwrap_or_else(PoisonError::into_inner));
        if body.is_empty() {
            return Ok(false);
        }
        let s = &self.settings;
        let failed = |e: &dyn std::fmt::Display| {
            let to: Vec<String> = s.to.iter().map(ToString::to_string).collect();
            format!(
                "cannot send the log mail of appender {} to {} through {}:{}: {e}",
                self.name,
                to.join(", "),
                s.host,
                s.port
            )
        };
        let mut message = Message::builder()
            .from(s.from.clone())
            .subject(s.subject.clone())
            .header(ContentType::TEXT_PLAIN);
        for to in &s.to {
            message = message.to(to.clone());
        }
        // Plain 8bit text as the log has it; quoted-printable only for lines too long for
        // SMTP (998 bytes) or NUL bytes.
        let text = String::from_utf8_lossy(&body).replace("\r\n", "\n");
        let plain = text.lines().all(|l| l.len() <= 998) && !text.contains('\0');
        let body = if plain {
            let crlf = text.replace('\n', "\r\n");
            Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
        } else {
            Body::new(text)
        };
        let message = message.body(body).map_err(|e| failed(&e))?;
        SmtpTransport::builder_dangerous(&s.host)
            .port(s.port)
            .timeout(Some(SMTP_TIMEOUT))
            .build()
            .send(&message)
            .map_err(|e| failed(&e))?;
        Ok(true)
    }
}

/// The log4rs appender: encodes each record into its [`Outbox`].
#[derive(Debug)]
pub struct MailAppender {
    outbox: Arc<Outbox>,
    encoder: Box<dyn Encode>,
}

impl MailAppender {
    /// An appender named `name` that keeps records laid out by `encoder`.
    pub fn new(name: &str, settings: MailSettings, encoder: Box<dyn Encode>) -> MailAppender {
        let outbox = Arc::new(Outbox {
            name: name.to_string(),
            settings,
            lines: Mutex::new(Vec::new()),
        });
        MailAppender { outbox, encoder }
    }

    /// The outbox to send at the end of the run.
    pub fn outbox(&self) -> Arc<Outbox> {
        Arc::clone(&self.outbox)
    }
}

impl Append for MailAppender {
    fn append(&self, record: &log::Record) -> anyhow::Result<()> {
        let mut lines = self
            .outbox
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.encoder.encode(&mut SimpleWriter(&mut *lines), record)
    }

    fn flush(&self) {}
}

/// The outboxes of the installed logger (set once by `logconfig::init`).
static INSTALLED: Mutex<Vec<Arc<Outbox>>> = Mutex::new(Vec::new());

/// Remembers the installed logger's outboxes for [`send_all`].
pub fn install(outboxes: Vec<Arc<Outbox>>) {
    *INSTALLED.lock().unwrap_or_else(PoisonError::into_inner) = outboxes;
}

/// Sends every installed e-mail appender's lines (one message each, none when it kept
/// nothing). Returns one message per mail that could not be sent.
pub fn send_all() -> Vec<String> {
    let outboxes = INSTALLED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    outboxes.iter().filter_map(|o| o.send().err()).collect()
}
