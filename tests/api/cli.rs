//! The command line: configuration errors name their key; secrets are never printed.

use std::process::Command;

fn tracegate(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracegate"));
    command.args(args).current_dir(dir.path());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run tracegate")
}

#[test]
fn bad_config_value_exits_non_zero_naming_the_key() {
    let output = tracegate(
        &["config", "check"],
        &[("TRACEGATE_SERVER_WORKERS", "lots")],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.workers"), "{stderr}");
    assert!(stderr.contains("TRACEGATE_SERVER_WORKERS"), "{stderr}");
}

#[test]
fn bad_database_url_is_refused_before_anything_starts() {
    let output = tracegate(
        &["serve"],
        &[("TRACEGATE_DATABASE_URL", "mysql://db/tracegate")],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database.url"), "{stderr}");
}

#[test]
fn unknown_key_in_config_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "[database]\nmax_conections = 3\n").expect("write");
    let output = tracegate(
        &["--config", file.to_str().expect("utf-8"), "config", "check"],
        &[],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database.max_conections"), "{stderr}");
    assert!(stderr.contains("custom.toml"), "{stderr}");
}

#[test]
fn config_check_prints_effective_values_without_secrets() {
    let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
    let output = tracegate(
        &["config", "check"],
        &[
            ("TRACEGATE_KEYS_SIGNING_SECRET", secret),
            ("TRACEGATE_KEYS_ENCRYPTION_SECRET", secret),
            ("TRACEGATE_KEYS_BLIND_INDEX_SECRET", secret),
            (
                "TRACEGATE_DATABASE_URL",
                "postgres://app:pa55word@db/tracegate",
            ),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains(secret), "{stdout}");
    assert!(!stdout.contains("pa55word"), "{stdout}");
    assert!(stdout.contains("bind = \"127.0.0.1:8080\""), "{stdout}");
    assert!(
        stdout.contains("# environment TRACEGATE_DATABASE_URL"),
        "{stdout}"
    );
}

#[test]
fn help_describes_every_command() {
    let output = tracegate(&["--help"], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for command in ["serve", "migrate", "config", "audit"] {
        assert!(stdout.contains(command), "{command} in {stdout}");
    }
}
