//! The listener: HTTP/1.1 connections served by hyper with a timeout for each way a client can
//! hold a connection (sending headers, sending the body, idling between requests, the whole
//! request) and a deadline on shutting down, so a slow or idle client costs a connection for a
//! bounded time and Ctrl-C never waits on one forever.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower::ServiceExt;

use super::auth::Auth;
use super::records::Limits;
use super::{router, ApiState, MAX_HEADERS};
use crate::error::{Error, Result};
use std::sync::atomic::AtomicBool;

/// How `lore api` takes requests: the limits on what one may hold, and how long a client may
/// take over each part of it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What the records of one request may hold.
    pub limits: Limits,
    /// The largest body taken, in bytes.
    pub max_body: usize,
    /// The time a client has to send a request's headers, counted from when the connection
    /// is ready for them.
    pub header_timeout: Duration,
    /// The time a client has to send a request's body.
    pub body_timeout: Duration,
    /// How long a connection may wait for its next request before it is closed.
    pub idle_timeout: Duration,
    /// The time the server takes over a whole request before answering 503.
    pub request_timeout: Duration,
    /// How long Ctrl-C (or SIGTERM) waits for open requests before closing their connections.
    pub shutdown_timeout: Duration,
    /// The most predictions answered at once; more get 503 with `Retry-After` at once, so a
    /// burst is shed instead of queued.
    pub max_concurrency: usize,
    /// Write an access line for every request (else only for those that failed).
    pub access_log: bool,
    /// Who may call the API.
    pub auth: Auth,
    /// Log every prediction, with room for this many entries waiting to be written
    /// (`log_predictions` in `config/api.toml`); `None`: no log.
    pub log_predictions: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: Limits::default(),
            max_body: 16 << 20,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(10),
            max_concurrency: 1024,
            access_log: false,
            auth: Auth {
                open_probes: true,
                ..Auth::default()
            },
            log_predictions: None,
        }
    }
}

/// Serves `state` on `addr` until Ctrl-C or SIGTERM; `on_ready` gets the bound address (port 0
/// picks one). On the signal it stops accepting, lets open requests finish for at most
/// `shutdown_timeout`, then closes what is left.
pub async fn serve(
    state: ApiState,
    addr: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        Error::Input(format!(
            "cannot listen on {addr}: {e}; choose another --port or --host"
        ))
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Input(format!("cannot read the address listened on: {e}")))?;
    on_ready(bound);
    let settings = Arc::clone(&state.settings);
    let ready: Arc<AtomicBool> = Arc::clone(&state.ready);
    let log = state.log.clone();
    let app = router(state);
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop_signal());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!("cannot accept a connection on {bound}: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            stream,
            activity: Arc::clone(&activity),
        });
        let service = hyper::service::service_fn({
            let app = app.clone();
            let activity = Arc::clone(&activity);
            move |request: hyper::Request<Incoming>| {
                let busy = activity.begin();
                let app = app.clone();
                async move {
                    let response = app.oneshot(request.map(Body::new)).await;
                    drop(busy);
                    response
                }
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(settings.header_timeout)
            // Above Lore's own limits (see `head_limits`), so those answer first, in JSON.
            .max_headers(MAX_HEADERS * 10)
            .max_buf_size(1 << 20)
            .serve_connection(io, service);
        let connection = graceful.watch(connection);
        let idle = settings.idle_timeout;
        tokio::spawn(async move {
            tokio::select! {
                closed = connection => {
                    if let Err(e) = closed {
                        tracing::debug!(%peer, "connection closed: {e}");
                    }
                }
                () = activity.idle_for(idle) => {
                    tracing::debug!(%peer, "closed a connection idle for {idle:?}");
                }
            }
        });
    }
    drop(listener);
    ready.store(false, Ordering::SeqCst);
    tracing::info!("stopping: no new connections; finishing the requests in flight");
    let deadline = settings.shutdown_timeout;
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(deadline) => {
            tracing::warn!("connections still open {deadline:?} after the signal were closed");
        }
    }
    if let Some(log) = log {
        log.finish(deadline).await;
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM where there is one (as a container runtime or systemd stops a service).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// What a connection is doing: requests in flight, and when bytes last came in or a request
/// last finished.
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds from `started` to the last activity.
    last: AtomicU64,
}

/// A request in flight; its end counts as activity.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last.store(now, Ordering::SeqCst);
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.touch();
        Busy(Arc::clone(self))
    }

    /// Returns once the connection has had no request in flight and no bytes in for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let since = self
                .started
                .elapsed()
                .saturating_sub(Duration::from_millis(self.last.load(Ordering::SeqCst)));
            if self.in_flight.load(Ordering::SeqCst) == 0 && since >= idle {
                return;
            }
            let wait = match self.in_flight.load(Ordering::SeqCst) {
                0 => idle.saturating_sub(since),
                _ => idle,
            };
            tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
        }
    }
}

/// A connection's stream that counts bytes coming in as activity.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
