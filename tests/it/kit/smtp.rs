//! A tiny SMTP sink on 127.0.0.1 for the mail tests: it speaks just enough SMTP for an
//! SMTP client (220, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps every message.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One message as received.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// The `MAIL FROM` address.
    pub from: String,
    /// Every `RCPT TO` address.
    pub to: Vec<String>,
    /// The header lines (`Name: value`), unfolded, line ends as `\n`.
    pub headers: String,
    /// The body, dot-stuffing removed, line ends as `\n`.
    pub body: String,
}

/// A listening sink; the accept thread ends with the test process.
pub struct SmtpSink {
    /// The port it listens on.
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&mails);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &kept);
            }
        });
        SmtpSink { port, mails }
    }

    /// Every message received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(stream: TcpStream, mails: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    let mut mail = Mail::default();
    out.write_all(b"220 sink ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 sink\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = address(&command["MAIL FROM:".len()..]);
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&command["RCPT TO:".len()..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let data = read_data(&mut input)?;
            let (headers, body) = data.split_once("\n\n").unwrap_or((&data, ""));
            mail.headers = headers.replace("\n ", " ").replace("\n\t", " ");
            mail.body = body.to_string();
            mails.lock().unwrap().push(std::mem::take(&mut mail));
            b"250 OK queued\r\n"
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            b"500 unknown command\r\n"
        };
        out.write_all(reply)?;
    }
}

/// `<a@b>` (with optional parameters after it) -> `a@b`.
fn address(text: &str) -> String {
    let text = text.trim();
    let end = text.find('>').map_or(text.len(), |i| i + 1);
    text[..end]
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// The DATA lines up to the lone `.`, unstuffed, joined with `\n` (the line end before
/// the `.` belongs to the terminator).
fn read_data(input: &mut impl BufRead) -> std::io::Result<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(data);
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text == "." {
            data.pop();
            return Ok(data);
        }
        data.push_str(text.strip_prefix('.').unwrap_or(text));
        data.push('\n');
    }
}
