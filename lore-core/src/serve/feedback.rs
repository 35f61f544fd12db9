//! `POST /models/{name}/feedback`: the true labels of served predictions (by the prediction ids
//! the API answered with) or of records, stored by [`crate::feedback`].

use super::*;
use crate::feedback::{self, Feedback};

/// Who feedback is from when the body does not say.
const SENT_BY: &str = "api";

/// Stores the feedback in the body: one item (`{"prediction_id": …, "label": …}` or
/// `{"record": {…}, "label": …}`), or many as `{"feedback": [items]}`; either may name who sends
/// it with `"by"`. Answers how many were stored.
pub(super) async fn feedback(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    request: Request,
) -> std::result::Result<Response, ApiError> {
    state.model(&name)?;
    json_only(request.headers())?;
    let body = body(&state, request).await?;
    let (items, by) = parse(&body)?;
    let stored = feedback::add(&state.project, &name, &items, &by).await?;
    Ok(Json(json!({"model": name, "stored": stored})).into_response())
}

/// The items of a feedback body and who sends them.
fn parse(body: &[u8]) -> std::result::Result<(Vec<Feedback>, String), ApiError> {
    let refuse = |why: String| ApiError::new(StatusCode::BAD_REQUEST, why);
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body) else {
        return Err(refuse(
            "the body must be one JSON object: {\"prediction_id\": …, \"label\": …}, \
             {\"record\": {…}, \"label\": …}, or {\"feedback\": [those]}"
                .into(),
        ));
    };
    let by = match object.remove("by") {
        None => SENT_BY.to_string(),
        Some(Value::String(by)) => by,
        Some(_) => return Err(refuse("`by` must be a text: who sends the feedback".into())),
    };
    let items = match object.remove("feedback") {
        Some(list) if object.is_empty() => serde_json::from_value::<Vec<Feedback>>(list),
        Some(_) => {
            return Err(refuse(
                "with `feedback`, the body has only `by` besides".into(),
            ))
        }
        None => serde_json::from_value::<Feedback>(Value::Object(object)).map(|f| vec![f]),
    }
    .map_err(|e| refuse(format!("feedback: {e}")))?;
    Ok((items, by))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_item_or_many_and_who_sent_them() {
        let (items, by) = parse(br#"{"prediction_id": "p1", "label": 1}"#)
            .ok()
            .unwrap();
        assert_eq!((items.len(), by.as_str()), (1, SENT_BY));
        assert_eq!(items[0].prediction_id.as_deref(), Some("p1"));
        let many = br#"{"by": "ana", "feedback": [{"prediction_id": "p1", "label": true},
                       {"record": {"orders": 3}, "label": "yes"}]}"#;
        let (items, by) = parse(many).ok().unwrap();
        assert_eq!((items.len(), by.as_str()), (2, "ana"));
        assert!(items[1].record.is_some());
        for bad in [
            &b"[1]"[..],
            br#"{"prediction_id": "p1"}"#,
            br#"{"prediction_id": "p1", "label": 1, "extra": 2}"#,
            br#"{"feedback": [], "other": 1}"#,
            br#"{"by": 3, "prediction_id": "p1", "label": 1}"#,
        ] {
            let e = parse(bad).err().unwrap();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{}", e.message);
        }
    }
}
