use super::*;

#[test]
fn registered_values_are_masked_and_others_left_alone() {
    register("rt_registry_test_refresh_token_0123456789");
    register("short");
    let text = "HTTP 400: invalid refresh_token rt_registry_test_refresh_token_0123456789 (short)";
    assert_eq!(
        mask(text),
        "HTTP 400: invalid refresh_token *** (short)",
        "the short value is not a secret"
    );
    assert!(matches!(mask("nothing here"), Cow::Borrowed(_)));
    assert_eq!(count(text), 1);
    assert_eq!(count("nothing here"), 0);
}

#[test]
fn a_secret_containing_another_is_masked_whole() {
    register("inner_secret_value");
    register("outer-inner_secret_value-outer");
    assert_eq!(mask("[outer-inner_secret_value-outer]"), "[***]");
    assert_eq!(mask("[inner_secret_value]"), "[***]");
}

#[test]
fn a_value_registered_later_is_masked_too() {
    assert_eq!(
        mask("late_registered_secret_1"),
        "late_registered_secret_1",
        "not known yet"
    );
    register("late_registered_secret_1");
    assert_eq!(mask("late_registered_secret_1"), "***");
}

#[test]
fn the_payload_and_signature_of_a_jwt_are_masked_on_their_own() {
    let header = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";
    let payload = "eyJzdWIiOiJqd3QtcGFydHMtdGVzdCIsImV4cCI6MX0";
    let signature = "c2lnbmF0dXJlLW9mLXRoZS10ZXN0LXRva2Vu";
    register(&format!("{header}.{payload}.{signature}"));
    assert_eq!(
        mask(&format!("t={header}.{payload}.{signature};")),
        "t=***;"
    );
    assert_eq!(mask(&format!("[{payload}]")), "[***]");
    assert_eq!(mask(&format!("[{signature}]")), "[***]");
    assert_eq!(
        mask(&format!("[{header}]")),
        format!("[{header}]"),
        "the header is not secret (every such token has one like it)"
    );
}

#[test]
fn credential_files_their_links_temps_and_folders_are_protected() {
    let d = tempfile::tempdir().unwrap();
    let codex = d.path().join("codex-test-home");
    std::fs::create_dir_all(codex.join("accounts-test")).unwrap();
    let auth = codex.join("auth-test.json");
    std::fs::write(&auth, "{}").unwrap();
    protect_file(&auth);
    protect_folder(&codex.join("accounts-test"));
    assert!(is_protected(&auth));
    assert!(is_protected(&codex.join(".auth-test.json.sx-1-0.tmp")));
    assert!(is_protected(&codex.join("accounts-test/alice.json")));
    assert!(is_protected(
        &codex.join("./accounts-test/../auth-test.json")
    ));
    assert!(!is_protected(&codex.join("other.json")));
    assert!(
        !is_protected(&d.path().join("auth-test.json")),
        "same name elsewhere"
    );
    // A link to it, by any name; a hard link by its inode.
    let link = d.path().join("innocent.txt");
    std::os::unix::fs::symlink(&auth, &link).unwrap();
    assert!(is_protected(&link));
    let hard = d.path().join("hard.txt");
    std::fs::hard_link(&auth, &hard).unwrap();
    assert!(is_protected_file(&std::fs::metadata(&hard).unwrap()));
    assert!(!is_protected_file(&std::fs::metadata(d.path()).unwrap()));
}
