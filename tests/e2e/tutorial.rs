//! docs/tutorial.md followed literally: every command of its shell blocks run in order, as a
//! reader would type them, with `lore` the built binary; a command whose comment starts with
//! `fails` must fail. A step that stops working breaks this test, not a reader's afternoon.

use super::*;

/// The commands of the tutorial's shell blocks (fences with no language, or `sh`), continued
/// lines joined, each with whether it is expected to fail.
fn commands(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut runs = false;
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(language) = line.strip_prefix("```") {
            in_block = !in_block;
            runs = in_block && (language.is_empty() || language == "sh");
            continue;
        }
        if !(in_block && runs) {
            continue;
        }
        if let Some(start) = line.strip_suffix('\\') {
            pending.push_str(start);
            continue;
        }
        let line = format!("{pending}{line}");
        pending.clear();
        // A comment is two spaces and `#` after the command.
        let (command, comment) = match line.find("  #") {
            Some(at) => (
                line[..at].trim().to_string(),
                line[at + 3..].trim().to_string(),
            ),
            None => (line.trim().to_string(), String::new()),
        };
        if !command.is_empty() {
            out.push((command, comment.starts_with("fails")));
        }
    }
    out
}

#[test]
fn the_tutorial_works_as_written() {
    let tutorial = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/tutorial.md");
    let steps = commands(&std::fs::read_to_string(tutorial).unwrap());
    assert!(steps.len() > 15, "{steps:?}");
    let dir = workdir("tutorial");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_lore"), bin.join("lore")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cwd = dir.clone();
    let mut servers = Vec::new();
    for (command, fails) in steps {
        if let Some(folder) = command.strip_prefix("cd ") {
            cwd = cwd.join(folder.trim());
            continue;
        }
        // The newest fitting of the Rust model stands for the FITTING a reader copies.
        let command = match command.contains("FITTING") {
            true => command.replace("FITTING", &newest_fitting(&cwd.join("models/Subscribers"))),
            false => command,
        };
        if let Some(background) = command.strip_suffix('&') {
            let child = Command::new("bash")
                .args(["-c", &format!("exec {background}")])
                .current_dir(&cwd)
                .env("PATH", &path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            servers.push(Server(child));
            continue;
        }
        // A request to the server started just before waits until it listens.
        let tries = if command.starts_with("curl") { 60 } else { 1 };
        let mut out = None;
        for _ in 0..tries {
            let done = Command::new("bash")
                .args(["-c", &command])
                .current_dir(&cwd)
                .env("PATH", &path)
                .output()
                .unwrap();
            let succeeded = done.status.success();
            out = Some(done);
            if succeeded || fails {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let out = out.unwrap();
        assert_eq!(
            out.status.success(),
            !fails,
            "the tutorial's `{command}` {}:\nstdout: {}\nstderr: {}",
            if fails { "should fail" } else { "failed" },
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        if command.starts_with("curl") && command.contains("/predict") {
            holds(&stdout, &["predictions", "fitting"]);
        }
    }
    drop(servers);
}

/// The id of the newest fitting in `dir` (fitting ids sort by time).
fn newest_fitting(dir: &Path) -> String {
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids.pop()
        .unwrap_or_else(|| panic!("no fitting in {}", dir.display()))
}

#[test]
fn commands_are_read_from_shell_blocks_only() {
    let text = "```\nlore init x\ncd x\nlore fit A --p 1        # fails: no p\nlore b \\\n  --c d\n```\n\n```ini\nKEY=value\n```\n";
    assert_eq!(
        commands(text),
        [
            ("lore init x".to_string(), false),
            ("cd x".to_string(), false),
            ("lore fit A --p 1".to_string(), true),
            ("lore b   --c d".to_string(), false),
        ]
    );
}
