//! The SIP core: one task that owns the transaction layer (sans-IO,
//! `outpost-txn`) and the transaction users, fed by the transport drivers
//! through a bounded queue and sending through [`Sender`].
//!
//! A request's path: transport driver → ingress (parse, validate) → here:
//! transaction layer → transaction user (today Outpost's own UAS; the
//! B2BUA next) → transaction layer → [`Sender`] → transport driver.
//! Keeping the protocol state in one task means no locks on it; the
//! drivers do the parallel work (I/O, TLS, parsing).

pub mod uas;

use std::time::{Duration, Instant};

use outpost_sip::{Method, Request};
use outpost_txn::{Event, RequestOutcome, TransactionLayer};
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};

use crate::transport::ingress::{Inbound, service_unavailable};
use crate::transport::{Flow, Sender};
use uas::LocalUas;

/// The SIP core task.
pub struct Core {
    txn: TransactionLayer<Flow>,
    sender: Sender,
    uas: LocalUas,
    retry_after_secs: u32,
}

/// Longest sleep when no timer is armed, so the transaction gauge stays
/// fresh; waking costs nothing measurable.
const IDLE_WAKE: Duration = Duration::from_secs(1);

impl Core {
    /// A core with the given transaction settings.
    pub fn new(
        config: outpost_txn::Config,
        sender: Sender,
        random: u64,
        retry_after_secs: u32,
    ) -> Self {
        Self {
            txn: TransactionLayer::new(config),
            sender,
            uas: LocalUas::new(random),
            retry_after_secs,
        }
    }

    /// Runs until `shutdown` turns true or every ingress is gone.
    pub async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let wake = self
                .txn
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + IDLE_WAKE);
            tokio::select! {
                _ = shutdown.changed() => return,
                received = inbound.recv() => {
                    let Some(inbound) = received else { return };
                    self.handle_inbound(Instant::now(), inbound);
                }
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                    self.txn.handle_timeout(Instant::now());
                }
            }
            self.drive().await;
            metrics::gauge!("outpost_sip_transactions").set(self.txn.len() as f64);
        }
    }

    fn handle_inbound(&mut self, now: Instant, Inbound { flow, message }: Inbound) {
        if message.is_request() {
            let reliable = flow.transport.is_reliable();
            match self.txn.handle_request(now, message, flow, reliable) {
                Ok(
                    RequestOutcome::New(_)
                    | RequestOutcome::Absorbed(_)
                    | RequestOutcome::Ack(_)
                    | RequestOutcome::Refused,
                ) => {}
                Ok(other) => debug!(?other, "request outcome"),
                // Validated by ingress, so this is rare: a request the
                // transaction layer cannot key. It was answered or dropped
                // by the layer's rules; nothing more to do.
                Err(error) => {
                    debug!(peer = %flow.peer, %error, "request not accepted by the transaction layer")
                }
            }
        } else if let Err(error) = self.txn.handle_response(now, message) {
            debug!(peer = %flow.peer, %error, "response not matched");
        }
    }

    /// Sends what the layer queued and hands its events to the users,
    /// until both queues are empty.
    async fn drive(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = self.txn.poll_transmit() {
                progressed = true;
                if let Err(error) = self
                    .sender
                    .send(&transmit.destination, transmit.bytes)
                    .await
                {
                    debug!(peer = %transmit.destination.peer, %error, "send failed");
                    if let Some(id) = transmit.transaction {
                        self.txn.handle_transport_error(Instant::now(), id);
                    }
                }
            }
            while let Some(event) = self.txn.poll_event() {
                progressed = true;
                self.handle_event(Instant::now(), event).await;
            }
            if !progressed {
                return;
            }
        }
    }

    async fn handle_event(&mut self, now: Instant, event: Event<Flow>) {
        match event {
            Event::RequestReceived {
                transaction,
                request,
                source,
                cancels,
            } => {
                let Ok(request) = request.into_request() else {
                    return;
                };
                let response = self.uas.respond(&request, cancels.is_some());
                if let Err(error) = self.txn.send_response(now, transaction, response) {
                    warn!(peer = %source.peer, %error, "could not answer a request");
                }
            }
            Event::Refused { request, source } => {
                metrics::counter!("outpost_sip_rejected_total", "side" => source.side.as_str(), "transport" => source.transport.as_str(), "reason" => "transactions").increment(1);
                if let Ok(request) = request.into_request() {
                    self.refuse(&request, &source).await;
                }
            }
            Event::AckReceived { source, .. } => {
                debug!(peer = %source.peer, "ACK for a 2xx with no dialog ignored")
            }
            Event::Timeout { transaction, timer } => {
                debug!(%transaction, ?timer, "transaction timed out")
            }
            Event::TransportError { transaction } => debug!(%transaction, "transport error"),
            _ => {}
        }
    }

    /// SIG-10: too many transactions; answer 503 statelessly.
    async fn refuse(&self, request: &Request, source: &Flow) {
        if request.method() == &Method::Ack {
            return;
        }
        let bytes = service_unavailable(request, self.retry_after_secs);
        if let Err(error) = self.sender.send(source, bytes).await {
            debug!(peer = %source.peer, %error, "send of 503 failed");
        }
    }
}
