//! `cirl serve`'s HTTP server: the page's files at `GET /`, the [`api`] at `POST /api/<name>`.
//!
//! Bound to 127.0.0.1 unless told otherwise; a fixed number of worker threads answer requests (a burst queues,
//! it does not spawn threads); a body is read up to [`api::MAX_BODY`] bytes and refused past it; every error is
//! one line of JSON, `{"error": "…"}`, with status 400, 404, 405 or 413. Every response forbids the page to load
//! anything from elsewhere (`Content-Security-Policy: default-src 'self'`), so the page works offline.
//!
//! ```
//! use std::io::{Read, Write};
//! let h = cirl::web::server::start(&cirl::web::server::Options::loopback(0)).unwrap();
//! let mut s = std::net::TcpStream::connect(h.addr()).unwrap();
//! let body = r#"{"prior":"normal:0,1","human":"rational"}"#;
//! write!(s, "POST /api/offswitch HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
//! let mut out = String::new();
//! s.read_to_string(&mut out).unwrap();
//! assert!(out.starts_with("HTTP/1.1 200") && out.contains(r#""decision":"wait""#));
//! h.stop();
//! ```

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use tiny_http::{Header, ListenAddr, Method, Request, Response, Server};

use super::api;
use crate::error::{Error, Result};

/// The page's files, compiled into the binary (from `web/` in the repository).
pub const FILES: [(&str, &str, &str); 4] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("../../web/style.css"),
    ),
    (
        "/icon.svg",
        "image/svg+xml",
        include_str!("../../web/icon.svg"),
    ),
];

/// The most worker threads.
pub const MAX_THREADS: usize = 64;

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// The address to bind (port 0: any free port).
    pub addr: SocketAddr,
    /// Worker threads answering requests (1 to [`MAX_THREADS`]).
    pub threads: usize,
}

impl Options {
    /// 127.0.0.1:`port` with four workers.
    pub fn loopback(port: u16) -> Options {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            threads: 4,
        }
    }
}

/// A running server.
pub struct Handle {
    server: Arc<Server>,
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl Handle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's address.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops the workers (after the requests they are answering) and closes the socket.
    pub fn stop(self) {
        self.stopping.store(true, Ordering::SeqCst);
        for _ in &self.workers {
            self.server.unblock();
        }
        for w in self.workers {
            let _ = w.join();
        }
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        for w in self.workers {
            let _ = w.join();
        }
    }
}

/// Binds and starts the workers.
pub fn start(opts: &Options) -> Result<Handle> {
    if !(1..=MAX_THREADS).contains(&opts.threads) {
        return Err(Error::invalid(
            "--threads",
            format!("between 1 and {MAX_THREADS}, got {}", opts.threads),
        ));
    }
    let listener = listen(opts.addr).map_err(|e| {
        Error::invalid(
            "--port",
            format!("cannot listen on {}: {e}; choose another port", opts.addr),
        )
    })?;
    let server = Server::from_listener(listener, None)
        .map_err(|e| Error::invalid("--port", format!("cannot serve on {}: {e}", opts.addr)))?;
    let addr = match server.server_addr() {
        ListenAddr::IP(a) => a,
        #[allow(unreachable_patterns)]
        _ => opts.addr,
    };
    let server = Arc::new(server);
    let stopping = Arc::new(AtomicBool::new(false));
    let workers = (0..opts.threads)
        .map(|_| {
            let (server, stopping) = (server.clone(), stopping.clone());
            std::thread::spawn(move || {
                loop {
                    match server.recv() {
                        // A panic answering one request (a bug) must not take the worker with it: the request is
                        // dropped (tiny_http answers 500) and the worker serves on.
                        Ok(rq) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                answer(rq)
                            }));
                        }
                        Err(_) if stopping.load(Ordering::SeqCst) => break,
                        Err(_) => continue,
                    }
                }
            })
        })
        .collect();
    Ok(Handle {
        server,
        addr,
        stopping,
        workers,
    })
}

/// A listening socket whose connections send at once (TCP_NODELAY, which accepted sockets inherit). The server
/// writes a response in pieces (its buffer is 1 KiB), and with Nagle's algorithm the last piece of a larger answer
/// waited for the browser's delayed acknowledgement: about 40 ms a request, measured in the browser test.
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_tcp_nodelay(true)?;
    s.bind(&addr.into())?;
    s.listen(128)?;
    Ok(s.into())
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

/// The headers every response carries.
fn common(
    r: Response<std::io::Cursor<Vec<u8>>>,
    content_type: &str,
) -> Response<std::io::Cursor<Vec<u8>>> {
    r.with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
        ))
}

/// A JSON error body: `{"error": "…"}`.
fn error_body(message: impl Into<String>) -> String {
    serde_json::json!({ "error": message.into() }).to_string()
}

const JSON: &str = "application/json";

/// The answer to one request: (status, content type, body). `body` is `None` when it was larger than
/// [`api::MAX_BODY`].
pub fn respond(method: &Method, url: &str, body: Option<&[u8]>) -> (u16, &'static str, String) {
    let path = url.split('?').next().unwrap_or("");
    let shown: String = path.chars().take(64).collect();
    if let Some(name) = path.strip_prefix("/api/") {
        if *method != Method::Post {
            return (
                405,
                JSON,
                error_body(format!(
                    "{method} {shown}: the API takes POST with a JSON body"
                )),
            );
        }
        let Some(body) = body else {
            return (
                413,
                JSON,
                error_body(format!(
                    "request: the body is larger than {} bytes",
                    api::MAX_BODY
                )),
            );
        };
        return match api::handle(name, body) {
            Ok(v) => (200, JSON, v.to_string()),
            Err(e) if api::ENDPOINTS.contains(&name) => (400, JSON, error_body(e.to_string())),
            Err(e) => (404, JSON, error_body(e.to_string())),
        };
    }
    match FILES.iter().find(|f| f.0 == path) {
        Some(&(_, kind, text)) if matches!(method, Method::Get | Method::Head) => {
            (200, kind, text.to_string())
        }
        Some(_) => (
            405,
            JSON,
            error_body(format!("{method} {shown}: the page's files take GET")),
        ),
        None => (404, JSON, error_body(format!("no such page: {shown}"))),
    }
}

fn answer(mut rq: Request) {
    let mut buf = Vec::new();
    let read = rq
        .as_reader()
        .take(api::MAX_BODY as u64 + 1)
        .read_to_end(&mut buf);
    let body = match read {
        Ok(_) if buf.len() <= api::MAX_BODY => Some(buf),
        Ok(_) => {
            // Read on (up to 1 MiB) so that the client gets the answer rather than a reset connection.
            let _ = std::io::copy(&mut rq.as_reader().take(1 << 20), &mut std::io::sink());
            None
        }
        Err(e) => {
            let r = Response::from_string(error_body(format!(
                "request: the body could not be read: {e}"
            )))
            .with_status_code(400);
            let _ = rq.respond(common(r, JSON));
            return;
        }
    };
    let (status, kind, text) = respond(rq.method(), rq.url(), body.as_deref());
    let _ = rq.respond(common(
        Response::from_string(text).with_status_code(status),
        kind,
    ));
}
