//! A fault-injecting HTTP proxy for the S3 tests: a small threaded TCP/HTTP/1.1 proxy on
//! 127.0.0.1 in front of a real S3 server (moto). Each connection carries one request
//! (every answer says `Connection: close`), so faults never leak into the next request.
//!
//! Rules say which requests get which [`Fault`]: the method, a text the path must hold,
//! how many matching requests pass first and how many then get the fault. A delay can be
//! added to every answer. In SSE-KMS mode ([`FaultProxy::sse_kms`]) the answers are
//! rewritten as an SSE-KMS bucket gives them (see [`super::kms`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What happens to a matching request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and S3 error code; the request is not forwarded.
    Status(u16, &'static str),
    /// Read this many bytes of the request body, then drop the connection.
    DropRequestAfter(usize),
    /// Forward the request, send the answer's head and this many bytes of its body, then
    /// drop the connection.
    DropResponseAfter(usize),
    /// Forward the request and append this many bytes to the answer's body (and to its
    /// Content-Length): a server sending more than the listing says.
    InflateResponse(usize),
    /// Forward the request, then replace the answer's ETag by one that is no MD5 of the
    /// body, and add `x-amz-server-side-encryption: SSE` when given (as SSE-KMS buckets
    /// answer).
    ForgeEtag(Option<&'static str>),
    /// Forward the request and flip the bits of the answer body's first byte.
    CorruptResponse,
    /// Forward the request, wait this long, then answer.
    Delay(Duration),
    /// Hold the request (its body read, nothing forwarded) until the gate is opened,
    /// then forward it.
    Hold(Gate),
    /// Forward the request, send the answer's head and this many bytes of its body,
    /// wait, then send the rest.
    StallBody(usize, Duration),
    /// Read the whole request, never answer: the connection stays open until the client
    /// closes it (or the proxy is dropped). Nothing is forwarded.
    NeverAnswer,
    /// Read this many bytes of the request body, then stop reading (the client's send
    /// stalls once the socket buffers are full) and never answer. Nothing is forwarded.
    StopReadingAfter(usize),
}

/// Where [`Fault::Hold`] requests wait: the test sees how many wait and opens it.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<(bool, usize)>, std::sync::Condvar)>);

impl PartialEq for Gate {
    fn eq(&self, other: &Gate) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Gate {
    /// Lets every held request (and every later one) through.
    pub fn open(&self) {
        let (state, opened) = &*self.0;
        state.lock().unwrap().0 = true;
        opened.notify_all();
    }

    /// How many requests wait at the gate now.
    pub fn waiting(&self) -> usize {
        self.0.0.lock().unwrap().1
    }

    fn pass(&self) {
        let (state, opened) = &*self.0;
        let mut s = state.lock().unwrap();
        s.1 += 1;
        while !s.0 {
            s = opened.wait(s).unwrap();
        }
        s.1 -= 1;
    }
}

/// Which requests get a fault.
#[derive(Debug, Clone)]
pub struct Rule {
    method: String,
    path_contains: String,
    /// A text the path must not hold (empty: no such condition).
    path_lacks: String,
    /// A second text the path must hold (empty: no such condition).
    path_also: String,
    pass_first: u32,
    times: u32,
    fault: Fault,
    matched: u32,
}

impl Rule {
    /// Every `method` request of a chunk object (a path with a 20-digit chunk index).
    pub fn chunks(method: &str, fault: Fault) -> Rule {
        Rule {
            method: method.to_owned(),
            path_contains: "0000000000000000".to_owned(),
            path_lacks: String::new(),
            path_also: String::new(),
            pass_first: 0,
            times: u32::MAX,
            fault,
            matched: 0,
        }
    }

    /// Every `method` request of chunk `index` (of any slot).
    pub fn chunk(method: &str, index: u64, fault: Fault) -> Rule {
        Rule {
            path_contains: format!("{index:020}"),
            ..Rule::chunks(method, fault)
        }
    }

    /// Every UploadPart of part `number` of chunk `index` (of any slot).
    pub fn part(index: u64, number: u32, fault: Fault) -> Rule {
        Rule {
            path_also: format!("partNumber={number}"),
            ..Rule::chunk("PUT", index, fault)
        }
    }

    /// Every CopyObject into a slot's own chunk key (a PUT of a chunk key outside the
    /// reserved `.s3napback/` namespace: the tool writes those only by copying).
    pub fn copies(fault: Fault) -> Rule {
        Rule {
            path_lacks: ".s3napback".to_owned(),
            ..Rule::chunks("PUT", fault)
        }
    }

    /// Every ListObjectsV2 request (`GET /BUCKET?list-type=2...`).
    pub fn listings(fault: Fault) -> Rule {
        Rule {
            path_contains: "list-type=2".to_owned(),
            ..Rule::chunks("GET", fault)
        }
    }

    /// Every `method` request whose path (with its query) holds `text`.
    pub fn path(method: &str, text: &str, fault: Fault) -> Rule {
        Rule {
            path_contains: text.to_owned(),
            ..Rule::chunks(method, fault)
        }
    }

    /// Lets the first `n` matching requests through untouched.
    pub fn after(mut self, n: u32) -> Rule {
        self.pass_first = n;
        self
    }

    /// Applies the fault to `n` requests (after those let through), then no more.
    pub fn times(mut self, n: u32) -> Rule {
        self.times = n;
        self
    }

    fn applies(&mut self, method: &str, path: &str) -> Option<Fault> {
        let lacking = !self.path_lacks.is_empty() && path.contains(&self.path_lacks);
        let also = path.contains(&self.path_also);
        if method != self.method || !path.contains(&self.path_contains) || lacking || !also {
            return None;
        }
        self.matched += 1;
        let first = self.pass_first.saturating_add(1);
        let last = self.pass_first.saturating_add(self.times);
        (first..=last)
            .contains(&self.matched)
            .then(|| self.fault.clone())
    }
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The path with its query string, as sent.
    pub path: String,
    pub fault: Option<Fault>,
    /// The request's headers, as sent.
    pub headers: Vec<(String, String)>,
    /// The body of a POST (a DeleteObjects list, a multipart upload's parts), once it was
    /// read whole; other bodies (chunks) are not kept.
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    rules: Mutex<Vec<Rule>>,
    delay: Mutex<Duration>,
    seen: Mutex<Vec<Seen>>,
    sse_kms: AtomicBool,
    /// Connections accepted and not yet served to the end.
    in_flight: AtomicUsize,
    /// Set when the proxy is dropped: silent connections let go.
    closed: AtomicBool,
}

/// Keeps a connection open without reading or answering until the client closes it
/// (a zero-length peek) or the proxy is dropped.
fn stay_silent(client: &TcpStream, shared: &Shared, reads: bool) {
    let _ = client.set_read_timeout(Some(Duration::from_millis(200)));
    let mut probe = [0u8; 1];
    while !shared.closed.load(Ordering::SeqCst) {
        if reads {
            match client.peek(&mut probe) {
                Ok(0) => return,
                Ok(_) => {
                    // bytes after the request: read and drop them
                    let mut sink = [0u8; 4096];
                    if matches!((&*client).read(&mut sink), Ok(0) | Err(_)) {
                        return;
                    }
                }
                Err(_) => {}
            }
        } else {
            thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A running proxy; stops accepting when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to use as the S3 endpoint.
    pub endpoint: String,
    port: u16,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (s, up) = (s.clone(), upstream.clone());
                s.in_flight.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let _ = serve(conn, &up, &s);
                    s.in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            shared,
            stop,
        }
    }

    /// Adds a rule (rules are tried in the order added; the first that applies wins).
    pub fn add(&self, rule: Rule) {
        self.shared.rules.lock().unwrap().push(rule);
    }

    /// Removes every rule and the delay.
    pub fn clear(&self) {
        self.shared.rules.lock().unwrap().clear();
        *self.shared.delay.lock().unwrap() = Duration::ZERO;
    }

    /// Delays every answer by `delay`.
    pub fn delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    /// Answers as an SSE-KMS bucket from now on: ETags that are not MD5s, and
    /// `x-amz-server-side-encryption: aws:kms` on object answers.
    pub fn sse_kms(&self) {
        self.shared.sse_kms.store(true, Ordering::SeqCst);
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// How many requests the proxy is serving now (a held one, one forwarded after its
    /// gate opened and not yet answered): 0 once every request it took has had its
    /// effect on the server.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// How many requests got a fault so far.
    pub fn faults(&self) -> usize {
        self.seen().iter().filter(|s| s.fault.is_some()).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.shared.closed.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// An HTTP message head: the first line and the header lines.
struct Head {
    first: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn read(r: &mut impl BufRead) -> std::io::Result<Option<Head>> {
        let mut first = String::new();
        if r.read_line(&mut first)? == 0 {
            return Ok(None);
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Ok(Some(Head {
            first: first.trim_end().to_owned(),
            headers,
        }))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn content_length(&self) -> Option<usize> {
        self.get("content-length").and_then(|v| v.parse().ok())
    }

    /// The head as bytes, without `drop` headers, with `Connection: close` and the
    /// given Content-Length.
    fn bytes(&self, drop: &[&str], content_length: Option<usize>) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.first);
        for (n, v) in &self.headers {
            let skip = drop.iter().any(|d| n.eq_ignore_ascii_case(d))
                || n.eq_ignore_ascii_case("connection")
                || n.eq_ignore_ascii_case("content-length");
            if !skip {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        if let Some(len) = content_length {
            out.push_str(&format!("Content-Length: {len}\r\n"));
        }
        out.push_str("Connection: close\r\n\r\n");
        out.into_bytes()
    }
}

fn serve(client: TcpStream, upstream: &str, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    let Some(head) = Head::read(&mut reader)? else {
        return Ok(());
    };
    let mut parts = head.first.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    assert!(
        head.get("transfer-encoding").is_none(),
        "the proxy does not take chunked request bodies: {}",
        head.first
    );
    let fault = shared
        .rules
        .lock()
        .unwrap()
        .iter_mut()
        .find_map(|r| r.applies(&method, &path));
    let index = {
        let mut seen = shared.seen.lock().unwrap();
        seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            fault: fault.clone(),
            headers: head.headers.clone(),
            body: Vec::new(),
        });
        seen.len() - 1
    };
    if head
        .get("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let length = head.content_length().unwrap_or(0);
    if let Some(Fault::DropRequestAfter(k)) = fault {
        let mut part = vec![0; k.min(length)];
        reader.read_exact(&mut part)?;
        return client.shutdown(Shutdown::Both);
    }
    if let Some(Fault::StopReadingAfter(k)) = fault {
        let mut part = vec![0; k.min(length)];
        reader.read_exact(&mut part)?;
        stay_silent(&client, shared, false);
        return Ok(());
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if let Some(Fault::NeverAnswer) = fault {
        stay_silent(&client, shared, true);
        return Ok(());
    }
    if method == "POST" {
        shared.seen.lock().unwrap()[index].body = body.clone();
    }
    if let Some(Fault::Hold(gate)) = &fault {
        gate.pass();
    }
    let delay = *shared.delay.lock().unwrap();
    if let Some(Fault::Status(status, code)) = fault {
        thread::sleep(delay);
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>injected by the test proxy</Message><RequestId>proxy</RequestId></Error>"
        );
        let text = format!(
            "HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        );
        client.write_all(text.as_bytes())?;
        return client.shutdown(Shutdown::Both);
    }

    let mut up = TcpStream::connect(upstream)?;
    up.write_all(&head.bytes(&["expect"], head.content_length()))?;
    up.write_all(&body)?;
    let mut up_reader = BufReader::new(up);
    let answer = Head::read(&mut up_reader)?.expect("an answer from upstream");
    let status: u16 = answer
        .first
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut answer_body = Vec::new();
    if method != "HEAD" && status != 204 && status != 304 {
        match answer.content_length() {
            Some(n) => {
                answer_body.resize(n, 0);
                up_reader.read_exact(&mut answer_body)?;
            }
            None => {
                up_reader.read_to_end(&mut answer_body)?;
            }
        }
    }
    thread::sleep(delay);
    if let Some(Fault::Delay(extra)) = fault {
        thread::sleep(extra);
    }
    // A HEAD answer keeps the length it announced; others announce what they carry.
    let announced = answer.content_length();
    let keeps_length = |len| if method == "HEAD" { announced } else { len };
    match fault {
        Some(Fault::DropResponseAfter(k)) => {
            client.write_all(&answer.bytes(&[], keeps_length(Some(answer_body.len()))))?;
            client.write_all(&answer_body[..k.min(answer_body.len())])?;
            client.flush()?;
            return client.shutdown(Shutdown::Both);
        }
        Some(Fault::StallBody(k, pause)) => {
            let k = k.min(answer_body.len());
            client.write_all(&answer.bytes(&[], keeps_length(Some(answer_body.len()))))?;
            client.write_all(&answer_body[..k])?;
            client.flush()?;
            thread::sleep(pause);
            client.write_all(&answer_body[k..])?;
            client.flush()?;
            return client.shutdown(Shutdown::Both);
        }
        Some(Fault::InflateResponse(k)) => answer_body.extend(std::iter::repeat_n(b'X', k)),
        Some(Fault::CorruptResponse) if !answer_body.is_empty() => answer_body[0] ^= 0xff,
        _ => {}
    }
    let mut answer = answer;
    if let Some(Fault::ForgeEtag(sse)) = &fault {
        answer
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("etag"));
        answer
            .headers
            .push(("ETag".into(), "\"0123456789abcdef0123456789abcdef\"".into()));
        if let Some(sse) = sse {
            answer
                .headers
                .push(("x-amz-server-side-encryption".into(), sse.to_string()));
        }
    }
    if shared.sse_kms.load(Ordering::SeqCst) {
        as_sse_kms(&method, &path, status, &mut answer, &mut answer_body);
    }
    client.write_all(&answer.bytes(&[], keeps_length(Some(answer_body.len()))))?;
    client.write_all(&answer_body)?;
    client.flush()?;
    client.shutdown(Shutdown::Both)
}

/// Rewrites an answer as an SSE-KMS bucket gives it.
fn as_sse_kms(method: &str, path: &str, status: u16, answer: &mut Head, body: &mut Vec<u8>) {
    for (name, value) in answer.headers.iter_mut() {
        if name.eq_ignore_ascii_case("etag") {
            *value = super::kms::rewrite_header(value);
        }
    }
    if !body.is_empty() {
        *body = super::kms::rewrite_xml(body);
    }
    // path-style: /BUCKET/KEY is an object, /BUCKET?... the bucket
    let object = path
        .split('?')
        .next()
        .and_then(|p| p.strip_prefix('/'))
        .is_some_and(|p| p.contains('/'));
    if object && (200..300).contains(&status) && ["GET", "HEAD", "PUT"].contains(&method) {
        let (name, value) = super::kms::SSE_HEADER;
        answer.headers.push((name.into(), value.into()));
    }
}
