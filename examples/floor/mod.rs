//! The protocol work both OneBot floors do per frame (`onebot_floor`, `onebot_floor_blocking`),
//! so that they differ only in how a frame reaches it.

use serde_json::{json, Value};

/// The `send_group_msg` action answering `frame` (numbered `echo`): `/echo X` gets X, anything
/// else a fixed line, with a reply segment. `None` for frames that are not message events (meta
/// events, action responses) or not JSON.
pub fn reply(frame: &str, echo: u64) -> Option<String> {
    let event = serde_json::from_str::<Value>(frame).ok()?;
    if event.get("post_type").and_then(Value::as_str) != Some("message") {
        return None;
    }
    let said: String = match &event["message"] {
        Value::String(s) => s.clone(),
        Value::Array(segments) => segments.iter().filter_map(|s| s["data"]["text"].as_str()).collect(),
        _ => String::new(),
    };
    let reply = said.strip_prefix("/echo ").unwrap_or("不知道");
    let action = json!({
        "action": "send_group_msg",
        "params": {
            "group_id": event["group_id"],
            "message": [
                {"type": "reply", "data": {"id": event["message_id"].to_string()}},
                {"type": "text", "data": {"text": reply}},
            ],
        },
        "echo": echo,
    });
    Some(action.to_string())
}
