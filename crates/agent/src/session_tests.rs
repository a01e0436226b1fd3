use super::*;
use std::os::unix::fs::PermissionsExt;
use sxnet::model::ToolCall;

fn assistant_calling(ids: &[&str]) -> Message {
    Message {
        role: Role::Assistant,
        content: ids
            .iter()
            .map(|id| Block::ToolCall(ToolCall::function(*id, "bash", "{}")))
            .collect(),
        usage: None,
    }
}

fn result(id: &str) -> Block {
    Block::ToolResult(ToolResult {
        call_id: id.into(),
        name: "bash".into(),
        output: "ok".into(),
        is_error: false,
        images: vec![],
    })
}

fn new_session(root: &Path, git: Option<&Path>, id: &str, secrets: Arc<Secrets>) -> Session {
    Session::create(
        root, git, id, "codex", "gpt-5.5", root, "SYSTEM", true, secrets,
    )
    .unwrap()
}

#[test]
fn create_save_open_roundtrip_with_private_modes() {
    let d = tempfile::tempdir().unwrap();
    let secrets = Arc::new(Secrets::default());
    let mut s = new_session(d.path(), None, "0001", secrets.clone());
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.dir), 0o700);
    assert_eq!(mode(&Session::sessions_dir(d.path())), 0o700);
    let msgs = vec![Message::user_text("hello")];
    s.save(
        &msgs,
        &Usage {
            input_tokens: 5,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(mode(&s.dir.join("conversation.json")), 0o600);
    let (s2, back) = Session::open(&s.dir, false, secrets).unwrap();
    assert_eq!(back, msgs);
    assert_eq!(s2.meta.system, "SYSTEM");
    assert_eq!(s2.meta.usage.input_tokens, 5);
    assert_eq!(s2.meta.messages, 1);
    let leftovers: Vec<_> = fs::read_dir(&s.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn secrets_never_reach_the_disk() {
    let d = tempfile::tempdir().unwrap();
    let secrets = Arc::new(Secrets::default());
    secrets.add("sk-planted-secret-value-123");
    secrets.add("short");
    let mut s = new_session(d.path(), None, "0002", secrets);
    s.save(
        &[Message::user_text(
            "my key is sk-planted-secret-value-123, short",
        )],
        &Usage::default(),
    )
    .unwrap();
    let conv = fs::read_to_string(s.dir.join("conversation.json")).unwrap();
    assert!(!conv.contains("sk-planted-secret-value-123"));
    assert!(conv.contains("my key is ***, short"), "{conv}");
    let log = s.traffic_log().unwrap();
    let id = log.request(
        "POST",
        "http://x/responses",
        &[("authorization".into(), "***".into())],
        br#"{"input":"sk-planted-secret-value-123"}"#,
    );
    log.response_head(
        id,
        200,
        &[("content-type".into(), "text/event-stream".into())],
    );
    log.response_chunk(id, b"data: {\"delta\":\"sk-planted-");
    log.response_chunk(id, b"secret-value-123\"}\n\n");
    log.response_end(id, None);
    for f in fs::read_dir(s.dir.join("traffic")).unwrap() {
        let text = fs::read_to_string(f.unwrap().path()).unwrap();
        assert!(!text.contains("sk-planted"), "{text}");
    }
    let resp = fs::read_to_string(s.dir.join("traffic/0001-response.txt")).unwrap();
    assert!(
        resp.starts_with("HTTP 200\ncontent-type: text/event-stream\n\ndata: {\"delta\":\"***\"}"),
        "{resp}"
    );
}

#[test]
fn find_latest_by_prefix_and_name() {
    let d = tempfile::tempdir().unwrap();
    let secrets = Arc::new(Secrets::default());
    assert!(matches!(
        Session::find(d.path(), None),
        Err(SessionError::NoneSaved { .. })
    ));
    let mut a = new_session(d.path(), None, "019a-aaaa", secrets.clone());
    let mut b = new_session(d.path(), None, "019a-bbbb", secrets.clone());
    b.save(&[], &Usage::default()).unwrap();
    // `a` is saved after `b`: wait until the stamp (milliseconds) can tell them apart, not a
    // guessed sleep (a tie would pick `b`, the larger id).
    while now() <= b.meta.updated_at {
        std::thread::yield_now();
    }
    a.meta.name = Some("refactor".into());
    a.save(&[], &Usage::default()).unwrap();
    assert_eq!(
        Session::find(d.path(), None).unwrap(),
        a.dir,
        "latest updated"
    );
    assert_eq!(Session::find(d.path(), Some("019a-b")).unwrap(), b.dir);
    assert_eq!(Session::find(d.path(), Some("refactor")).unwrap(), a.dir);
    assert!(matches!(
        Session::find(d.path(), Some("019a")),
        Err(SessionError::Ambiguous { .. })
    ));
    assert!(matches!(
        Session::find(d.path(), Some("zzz")),
        Err(SessionError::NotFound { .. })
    ));
}

#[test]
fn repair_pairs_every_call() {
    let msgs = vec![
        Message::user_text("go"),
        assistant_calling(&["a", "b"]),
        Message {
            role: Role::User,
            content: vec![result("a")],
            usage: None,
        },
        assistant_calling(&["c"]),
    ];
    let fixed = repair_pairing(msgs);
    assert_eq!(fixed.len(), 5);
    let ids = |m: &Message| -> Vec<String> {
        m.content
            .iter()
            .filter_map(|b| {
                if let Block::ToolResult(r) = b {
                    Some(r.call_id.clone())
                } else {
                    None
                }
            })
            .collect()
    };
    assert_eq!(ids(&fixed[2]), ["b", "a"]);
    assert_eq!(ids(&fixed[4]), ["c"]);
    assert_eq!(repair_pairing(fixed.clone()), fixed, "idempotent");
}
