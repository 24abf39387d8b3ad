//! The signalling loop: server messages in, subscriber answers out.

use super::*;

// ---------------------------------------------------------------------------------------------
// Signalling loop
// ---------------------------------------------------------------------------------------------

pub(super) async fn signal_loop(
    inner: Arc<Inner>,
    mut rx: SignalReceiver,
    tx: SignalSender,
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
) {
    loop {
        let Some(msg) = rx.recv_message(Duration::from_secs(3600)).await else {
            continue;
        };
        inner.messages.lock().unwrap().push(msg.clone());
        let v = match msg {
            Message::Closed { code, reason } => {
                tracing::debug!("signalling closed: {code:?} {reason}");
                return;
            }
            Message::Json(v) => v,
            _ => continue,
        };
        match msg_type(&v) {
            Some("subscribe_offer") => {
                let Some(sdp) = v.get("sdp").and_then(Value::as_str) else {
                    inner.error(format!("subscribe_offer without sdp: {v}"));
                    continue;
                };
                match answer_subscribe_offer(&inner, subscriber.as_ref(), &tx, sdp).await {
                    Ok(()) => {
                        inner
                            .subscribe_offers_answered
                            .fetch_add(1, Ordering::AcqRel);
                    }
                    Err(e) => inner.error(format!("answering subscribe_offer: {e:#}")),
                }
            }
            Some("publish_answer") => {
                let Some(sdp) = v.get("sdp").and_then(Value::as_str) else {
                    inner.error(format!("publish_answer without sdp: {v}"));
                    continue;
                };
                match crate::local::apply_answer(publisher.as_ref(), sdp).await {
                    Ok(()) => {
                        inner.publish_answers_applied.fetch_add(1, Ordering::AcqRel);
                    }
                    Err(e) => inner.error(format!("applying publish_answer: {e}")),
                }
            }
            Some("error") => tracing::debug!("server error message: {v}"),
            _ => {}
        }
    }
}

pub(super) async fn answer_subscribe_offer(
    inner: &Inner,
    pc: &dyn PeerConnection,
    tx: &SignalSender,
    sdp: &str,
) -> Result<()> {
    inner.record_offer(sdp);
    let sdp = crate::local::answer_offer(pc, sdp).await?;
    tx.send(json!({"type": "subscribe_answer", "sdp": sdp}))
        .await?;
    Ok(())
}
