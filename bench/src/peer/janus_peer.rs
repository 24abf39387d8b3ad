//! Joining and subscribing through Janus VideoRoom instead of switchboard's signalling.

use super::*;

impl BenchPeer {
    /// Janus: creates a session, attaches a VideoRoom handle and joins `room` as a publisher.
    pub async fn join_janus(
        api: &crate::janus::JanusApi,
        room: u64,
        identity: &str,
        window: Arc<Window>,
        local_ip: &str,
    ) -> Result<BenchPeer> {
        let started = Instant::now();
        let shared = new_shared(identity, window);
        let session = JanusSession::create(api.clone(), {
            let shared = Arc::clone(&shared);
            move |e| shared.error(e)
        })
        .await?;
        let publisher_handle = session.attach().await?;
        let (joined, _) = session
            .message(
                publisher_handle,
                json!({"request": "join", "ptype": "publisher", "room": room, "display": identity}),
                None,
            )
            .await?;
        let feed = joined
            .get("id")
            .map(|v| v.to_string())
            .with_context(|| format!("join: no publisher id in {joined}"))?;
        let join = started.elapsed();
        let publisher = build_pc(&shared, true, local_ip).await?;
        let subscriber = build_pc(&shared, false, local_ip).await?;
        Ok(BenchPeer {
            identity: identity.to_owned(),
            sid: feed,
            started,
            join,
            publish: None,
            published_at: None,
            signal: Signal::Janus {
                session: Arc::new(session),
                room,
                publisher_handle,
            },
            publisher,
            subscriber,
            shared,
            tracks: vec![],
        })
    }

    /// Janus: attaches a subscriber handle for `feeds` (publisher ids), answers the offer and
    /// starts. Retries "no such feed" (a publisher that is not configured yet) for a while.
    pub async fn subscribe_janus(&self, feeds: &[String]) -> Result<()> {
        let Signal::Janus { session, room, .. } = &self.signal else {
            bail!("not a Janus participant");
        };
        if feeds.is_empty() {
            return Ok(());
        }
        let streams: Vec<Value> = feeds
            .iter()
            .map(|f| json!({"feed": f.parse::<u64>().map(Value::from).unwrap_or(Value::from(f.clone()))}))
            .collect();
        *self.shared.subscribe_started.lock().unwrap() = Some(Instant::now());
        let handle = session.attach().await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let offer = loop {
            match session
                .message(
                    handle,
                    json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams}),
                    None,
                )
                .await
            {
                Ok((_, Some(jsep))) => break jsep,
                Ok((data, None)) => bail!("subscriber join: no offer in {data}"),
                Err(e) if Instant::now() < deadline && format!("{e:#}").contains("428") => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let sdp = offer
            .get("sdp")
            .and_then(Value::as_str)
            .context("offer without sdp")?;
        let pc = self.subscriber.as_ref();
        // Janus is full ICE: answer, then wait for our candidates to be gathered into the SDP.
        switchboard_tests::local::answer_offer(pc, sdp).await?;
        let sdp = gathered_sdp(&self.shared, pc, false).await?;
        session
            .message(
                handle,
                json!({"request": "start"}),
                Some(json!({"type": "answer", "sdp": sdp})),
            )
            .await
            .context("subscriber start")?;
        Ok(())
    }

}
