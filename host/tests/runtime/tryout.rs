//! `postd-host try`: one export called by hand under a plugin entry.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;

use postd_test_artifacts::EXAMPLE;

fn try_export(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_postd-host"))
        .arg("try")
        .args(args)
        .env("POSTD_LOG", "error")
        .output()
        .expect("running postd-host try");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Answers one request with `answer` and hands back what was sent (request line, headers and
/// body as text).
fn answer_once(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = reader.into_inner();
        write!(
            stream,
            "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        head + &String::from_utf8_lossy(&body)
    });
    (url, server)
}

#[test]
fn try_publishes_through_the_entrys_grants_and_prints_the_answer() {
    let (url, server) = answer_once(r#"{"id": "p-9", "url": "https://example.test/p-9"}"#);
    let dir = tempfile::tempdir().unwrap();
    let entry = dir.path().join("entry.toml");
    std::fs::write(
        &entry,
        format!(
            "allowed_hosts = [\"{url}\"]\nallowed_ranges = [\"127.0.0.0/8\"]\nsettings = {{ base-url = \"{url}\" }}\n"
        ),
    )
    .unwrap();
    let (code, out, err) = try_export(&[
        EXAMPLE,
        "--plugin-config",
        entry.to_str().unwrap(),
        "--secret",
        "api-key=key-9",
        "publish",
        r#"{"account-id": "acct-9", "text": "by hand"}"#,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("publish answered"), "{out}");
    assert!(out.contains("post-id: \"p-9\""), "{out}");
    assert!(
        out.contains("connection secrets: api-key (new: none)"),
        "{out}"
    );
    let sent = server.join().unwrap();
    assert!(sent.starts_with("POST /posts "), "{sent}");
    assert!(
        sent.to_ascii_lowercase()
            .contains("authorization: bearer key-9"),
        "{sent}"
    );
    assert!(sent.contains(r#""text":"by hand""#), "{sent}");
}

#[test]
fn try_names_each_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let entry = dir.path().join("entry.toml");
    std::fs::write(
        &entry,
        "settings = { base-url = \"https://api.example.invalid\" }\n",
    )
    .unwrap();
    let entry = entry.to_str().unwrap();

    let (code, _, err) = try_export(&[EXAMPLE, "--plugin-config", entry, "post"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`post` is not an export of the contract; one of: manifest,"),
        "{err}"
    );

    let (code, _, err) = try_export(&[
        EXAMPLE,
        "--plugin-config",
        entry,
        "publish",
        r#"{"acount-id": "a"}"#,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown field `acount-id`"), "{err}");

    // A connector error is the call's answer: printed, exit status 1.
    let (code, out, _) = try_export(&[EXAMPLE, "--plugin-config", entry, "health"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("health answered"), "{out}");
    assert!(out.contains("Err("), "{out}");
}
