//! `lore api` over real HTTP: predictions, and what it does with oversized, slow, idle and malformed requests.

use super::*;

#[test]
fn api_predicts_over_http_and_survives_bad_requests() {
    let d = demo();
    let (server, port) = api(&d.root, &[]);

    assert_eq!(http(port, "GET", "/health", "").0, 200);
    let (status, models) = http(port, "GET", "/models", "");
    assert_eq!(status, 200);
    let names: Vec<&str> = items(&models["models"])
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Subscribers") && names.contains(&"SubscribersDeclared"),
        "{models}"
    );

    let good = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4},
                   {"first_name":null,"email":"ann@icloud.com","signup_date":"2017-11-20 08:00:00","last_order_at":"2017-12-01 10:00:00","orders":0,"basket_value":null,"sessions_30d":1}]"#;
    let (status, body) = http(port, "POST", "/models/Subscribers/predict", good);
    assert_eq!(status, 200, "{body}");
    let probabilities = body["probabilities"].as_array().unwrap();
    assert_eq!(probabilities.len(), 2);
    assert!(
        probabilities
            .iter()
            .all(|p| (0.0..=1.0).contains(&p.as_f64().unwrap())),
        "{body}"
    );
    assert_eq!(body["fitting_id"], d.rust["fitting_id"], "{body}");
    assert_eq!(body["predictions"].as_array().unwrap().len(), 2);

    let (status, body) = http(
        port,
        "POST",
        "/models/Subscribers/predict",
        "[{\"first_name\": ",
    );
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("malformed JSON"),
        "{body}"
    );

    let (status, body) = http(
        port,
        "POST",
        "/models/Subscribers/predict",
        r#"[{"first_name":"John"}]"#,
    );
    assert_eq!(status, 400);
    assert!(body["field"].is_string(), "{body}");

    let wrong = good.replace("\"orders\":12", "\"orders\":\"twelve\"");
    let (status, body) = http(port, "POST", "/models/Subscribers/predict", &wrong);
    assert_eq!(status, 400);
    assert_eq!(body["field"], "orders", "{body}");

    let (status, body) = http(port, "POST", "/models/Subscribers/predict", good);
    assert_eq!(
        status, 200,
        "the server keeps serving after bad requests: {body}"
    );
    assert_eq!(http(port, "POST", "/models/Nope/predict", good).0, 404);
    let (status, spec) = http(port, "GET", "/openapi.json", "");
    assert_eq!(status, 200);
    assert!(
        spec["paths"]["/models/Subscribers/predict"].is_object(),
        "{spec}"
    );
    drop(server);
}

#[test]
fn oversized_requests_are_refused_cheaply_and_the_server_keeps_answering() {
    let d = demo();
    let (server, port) = api(&d.root, &[]);
    let pid = server.0.id();
    let good = r#"[{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}]"#;
    for _ in 0..20 {
        assert_eq!(
            http(port, "POST", "/models/Subscribers/predict", good).0,
            200
        );
    }
    let before = resident_bytes(pid);

    let health = std::thread::spawn(move || {
        let mut slowest = std::time::Duration::ZERO;
        for _ in 0..100 {
            let t = std::time::Instant::now();
            assert_eq!(http(port, "GET", "/health", "").0, 200);
            slowest = slowest.max(t.elapsed());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        slowest
    });
    let spread: Vec<String> = (0..1000)
        .map(|r| {
            let fields: Vec<String> = (0..200).map(|k| format!("\"f{r}_{k}\":{k}")).collect();
            format!("{{{}}}", fields.join(","))
        })
        .collect();
    let spread = format!("[{}]", spread.join(","));
    let wide: Vec<String> = (0..100_000).map(|k| format!("\"k{k}\":1")).collect();
    let wide = format!("[{{{}}}]", wide.join(","));
    for round in 0..3 {
        for (what, body) in [
            ("1,000 records of 200 fields", &spread),
            ("100,000 fields", &wide),
        ] {
            let t = std::time::Instant::now();
            let (status, answer) = http(port, "POST", "/models/Subscribers/predict", body);
            eprintln!("round {round}: {what}: {status} in {:?}", t.elapsed());
            assert!(status == 400 || status == 413, "{what}: {status} {answer}");
            assert!(
                answer["error"].as_str().unwrap().contains("fields"),
                "{answer}"
            );
        }
    }
    let slowest = health.join().unwrap();
    let after = resident_bytes(pid);
    eprintln!(
        "resident memory {} MB -> {} MB; slowest /health {slowest:?}",
        before >> 20,
        after >> 20
    );
    assert!(
        after < before + (50 << 20),
        "memory grew by {} MB",
        (after.saturating_sub(before)) >> 20
    );
    assert_eq!(
        http(port, "POST", "/models/Subscribers/predict", good).0,
        200
    );
}

/// Bytes read from `stream` until the server closes it, or `None` if it is still open after
/// `wait`.
fn read_until_closed(stream: &mut TcpStream, wait: std::time::Duration) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(got),
            Err(_) => return None,
        }
    }
}

#[test]
fn slow_and_idle_clients_are_cut_off_and_ctrl_c_does_not_wait_for_them() {
    let d = demo();
    let timeouts = [
        "--header-timeout",
        "2",
        "--idle-timeout",
        "1.5",
        "--shutdown-timeout",
        "2",
    ];
    let (mut server, port) = api(&d.root, &timeouts);

    // Headers one byte a second, never idle for the idle timeout: closed at the header timeout,
    // long before they are done.
    let mut loris = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let started = std::time::Instant::now();
    let request =
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut closed = false;
    for byte in request {
        if loris.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        loris
            .set_read_timeout(Some(std::time::Duration::from_secs(1)))
            .unwrap();
        let mut buf = [0u8; 256];
        match loris.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => panic!("an answer to half a request"),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    eprintln!("slow headers closed after {:?}", started.elapsed());
    assert!(
        closed,
        "a client sending its headers at 1 byte/s is cut off"
    );

    // An idle keep-alive connection is closed after its answer.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    let got = read_until_closed(&mut idle, std::time::Duration::from_secs(8))
        .expect("the idle connection is closed by the server");
    eprintln!("idle keep-alive closed after {:?}", started.elapsed());
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));

    // A client in the middle of a body when Ctrl-C comes: the server still exits.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"POST /models/Subscribers/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let exited = loop {
        if let Some(code) = server.0.try_wait().unwrap() {
            break Some(code);
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    eprintln!("exited {:?} after Ctrl-C", started.elapsed());
    let code = exited.expect("lore api exits after Ctrl-C with a slow client connected");
    assert!(code.success(), "{code}");
    drop(slow);
}

#[test]
fn every_error_answer_is_json_and_client_mistakes_are_never_500() {
    let d = demo();
    let (_server, port) = api(&d.root, &["--max-body", "100000"]);
    let raw = |request: &[u8]| -> (u16, Value) {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // The server may answer a body that is too large before it has all of it.
        let _ = stream.write_all(request);
        let got = read_until_closed(&mut stream, std::time::Duration::from_secs(10)).unwrap();
        let text = String::from_utf8_lossy(&got).into_owned();
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    };
    let predict = "/models/Subscribers/predict";
    let big = format!("[{}]", vec!["{}"; 60_000].join(","));
    let cases: Vec<(u16, Vec<u8>)> = vec![
        (404, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        (405, format!("GET {predict} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()),
        (
            415,
            format!("POST {predict} HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]").into_bytes(),
        ),
        (
            413,
            format!("POST {predict} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}", big.len()).into_bytes(),
        ),
        (
            414,
            format!("GET /health?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "a".repeat(10_000)).into_bytes(),
        ),
        (
            431,
            format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "a".repeat(40_000)).into_bytes(),
        ),
        (
            400,
            format!("POST {predict}?explain=maybe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]").into_bytes(),
        ),
    ];
    for (want, request) in cases {
        let (status, body) = raw(&request);
        assert_eq!(
            status,
            want,
            "{}: {body}",
            String::from_utf8_lossy(&request[..40])
        );
        assert!(
            body["error"].is_string(),
            "{want}: JSON with an error: {body}"
        );
    }
}

#[test]
fn values_of_the_wrong_kind_get_400_naming_field_record_and_kind() {
    let root = project("kinds", "kinds", 2000);
    ok(&lore(
        &root,
        &["sql", "CREATE TABLE kinds (name TEXT, orders INTEGER, active BOOLEAN, born DATE, seen DATETIME, label BOOLEAN)"],
    ));
    ok(&lore(
        &root,
        &["sql", "INSERT INTO kinds SELECT first_name, orders, sessions_30d > 3, date(signup_date), signup_date, has_subscription FROM users"],
    ));
    put(
        &root,
        "src/extracts/kinds.sql",
        "SELECT name, orders, active, born, seen, label FROM kinds\n",
    );
    put(
        &root,
        "src/models/kinds.toml",
        "[pipeline.extract]\nsql = \"kinds\"\n\n\
         [[pipeline.transformers]]\ntype = \"DateTime\"\ncolumn = \"born\"\npart = \"month\"\n\n\
         [[pipeline.transformers]]\ntype = \"DateTime\"\ncolumn = \"seen\"\npart = \"hour\"\n\n\
         [pipeline.split]\ntype = \"Holdout\"\n\n\
         [[pipeline.encoders]]\ntype = \"Unique\"\ncolumn = \"name\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"orders\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"active\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"DateTime(born, month)\"\n\n\
         [[pipeline.encoders]]\ntype = \"Norm\"\ncolumn = \"DateTime(seen, hour)\"\n\n\
         [pipeline.output]\ntype = \"Boolean\"\ncolumn = \"label\"\n\n\
         [estimator]\ntype = \"XGBoost\"\nn_estimators = 5\n",
    );
    ok(&lore(&root, &["fit", "Kinds", "--json"]));
    let (_server, port) = api(&root, &[]);
    let (_, models) = http(port, "GET", "/models", "");
    assert_eq!(
        models["models"][0]["input_kinds"],
        serde_json::json!({"name": "text", "orders": "number", "active": "boolean", "born": "date", "seen": "timestamp"}),
        "{models}"
    );
    let good = r#"{"name":"Ann","orders":3,"active":true,"born":"1990-01-02","seen":"2018-01-02 10:00:00"}"#;
    let (status, answer) = http(port, "POST", "/models/Kinds/predict", &format!("[{good}]"));
    assert_eq!(status, 200, "{answer}");
    let wrong = [
        ("name", "5", "text"),
        ("name", "[\"Ann\"]", "text"),
        ("orders", "\"3\"", "number"),
        ("orders", "\"NaN\"", "number"),
        ("orders", "true", "number"),
        ("active", "\"yes\"", "true/false"),
        ("active", "1", "true/false"),
        ("born", "\"02/01/1990\"", "date"),
        ("born", "19900102", "date"),
        ("seen", "\"yesterday\"", "timestamp"),
        ("seen", "{\"at\": 1}", "timestamp"),
    ];
    for (field, value, kind) in wrong {
        let bad = good.replace(
            &format!(
                "\"{field}\":{}",
                serde_json::from_str::<Value>(&format!("[{good}]")).unwrap()[0][field]
            ),
            &format!("\"{field}\":{value}"),
        );
        let body = format!("[{good},{good},{bad}]");
        let (status, answer) = http(port, "POST", "/models/Kinds/predict", &body);
        assert_eq!(status, 400, "{field}={value}: {answer}");
        assert_eq!(answer["field"], field, "{answer}");
        assert_eq!(answer["row"], 3, "{answer}");
        assert!(
            answer["expected"].as_str().unwrap().starts_with(kind),
            "{answer}"
        );
        assert!(
            answer["error"].as_str().unwrap().contains("record 3"),
            "{answer}"
        );
    }
}
