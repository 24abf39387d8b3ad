//! Parsing and serialisation of the protocol messages.

use super::*;

#[test]
fn parses_every_client_type() {
    assert_eq!(parse_client_message(r#"{"type":"leave"}"#), Ok(ClientMessage::Leave));
    assert_eq!(parse_client_message(r#"{"type":"ping","ts":5}"#), Ok(ClientMessage::Ping { ts: Some(5.0) }));
    assert!(matches!(
        parse_client_message(r#"{"type":"publish_offer","sdp":"v=0","sources":{"a":"camera"}}"#),
        Ok(ClientMessage::PublishOffer { .. })
    ));
    assert!(matches!(
        parse_client_message(r#"{"type":"ice_candidate","target":"subscriber","candidate":{"candidate":"c","sdpMid":"0"}}"#),
        Ok(ClientMessage::IceCandidate { target: IceTarget::Subscriber, .. })
    ));
}

#[test]
fn tells_errors_apart() {
    let code = |s: &str| parse_client_message(s).unwrap_err().code;
    assert_eq!(code("{"), ErrorCode::InvalidJson);
    assert_eq!(code("[1,2]"), ErrorCode::InvalidJson);
    assert_eq!(code(r#"{"type":7}"#), ErrorCode::InvalidJson);
    assert_eq!(code(r#"{"type":"teleport"}"#), ErrorCode::UnknownType);
    assert_eq!(code(r#"{"type":"subscribe_answer"}"#), ErrorCode::InvalidMessage);
    assert_eq!(code(r#"{"type":"subscribe_answer","sdp":5}"#), ErrorCode::InvalidMessage);
    assert_eq!(code(&format!(r#"{{"type":"ping","x":"{}"}}"#, "a".repeat(MAX_FRAME_BYTES))), ErrorCode::MessageTooLarge);
}

#[test]
fn kind_matches_the_serialized_type() {
    let msgs = [ServerMessage::error(ErrorCode::Internal, "x"), ServerMessage::Admitted, ServerMessage::Pong { ts: None }];
    for m in msgs {
        assert_eq!(serde_json::to_value(&m).unwrap()["type"], m.kind());
    }
    assert_eq!(parse_client_message(r#"{"type":"leave"}"#).unwrap().kind(), "leave");
}

#[test]
fn server_messages_serialize_with_snake_case_type() {
    let v = serde_json::to_value(ServerMessage::error(ErrorCode::OutOfOrder, "x")).unwrap();
    assert_eq!(v, serde_json::json!({"type":"error","code":"out_of_order","message":"x"}));
    let v = serde_json::to_value(ServerMessage::Pong { ts: None }).unwrap();
    assert_eq!(v["type"], "pong");
}
