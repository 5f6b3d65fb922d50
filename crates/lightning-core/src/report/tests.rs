use super::*;

fn conversion_with(findings: Vec<Finding>) -> ConversionReport {
    let mut c = ConversionReport::new("sqlite2lightning", "shop.sqlite");
    c.findings = findings;
    c
}

#[test]
fn counts_are_grouped_by_thousands() {
    assert_eq!(count(0), "0");
    assert_eq!(count(999), "999");
    assert_eq!(count(1_000), "1,000");
    assert_eq!(count(1_234_567), "1,234,567");
    assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    assert_eq!(rate(2_500_000, 2.0), "1,250,000 rows/s");
    assert_eq!(Cell::Count(12_345).text(), "12,345");
}

#[test]
fn long_text_wraps_at_word_boundaries() {
    let lines = terminal::wrap("the quick brown fox jumps over the lazy dog", 10);
    assert_eq!(
        lines,
        ["the quick", "brown fox", "jumps over", "the lazy", "dog"]
    );
    // A word longer than a line is cut, nothing is lost.
    assert_eq!(
        terminal::wrap("abcdefghij xy", 4),
        ["abcd", "efgh", "ij", "xy"]
    );
    assert_eq!(terminal::wrap("", 10), [""]);
}

#[test]
fn the_terminal_summary_wraps_long_findings_instead_of_cutting_them() {
    let message = "values stored by SQLite as REAL are carried as DOUBLE; \
                   their decimal digits beyond the seventeenth are not kept, \
                   check the totals after the migration (the end of the message)";
    let c = conversion_with(vec![Finding::new(Severity::Loss, "orders.total", message)]);
    let text = to_terminal(&c);
    for line in text.lines() {
        assert!(
            line.chars().count() <= terminal::WIDTH,
            "too wide: {line:?}"
        );
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    for w in message.split_whitespace() {
        assert!(words.contains(&w), "`{w}` missing from:\n{text}");
    }
    assert!(text.contains("(the end of the message)"), "{text}");
}

#[test]
fn the_terminal_summary_escapes_control_characters() {
    let c = conversion_with(vec![Finding::new(
        Severity::Warning,
        "t.\u{1b}[31mred",
        "a\u{7}bell",
    )]);
    let text = to_terminal(&c);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
}

#[test]
fn verdicts_and_severities_get_their_colour() {
    let c = conversion_with(vec![
        Finding::new(Severity::Loss, "a.b", "lossy"),
        Finding::new(Severity::Manual, "view v", "by hand"),
        Finding::new(Severity::Warning, "a.c", "check"),
    ]);
    let page = to_html(&c);
    assert!(
        page.contains("<span class=\"badge loss\">loss</span>"),
        "{page}"
    );
    assert!(page.contains("<span class=\"badge manual\">manual work</span>"));
    assert!(page.contains(&format!(".loss{{background:{}", Tone::Loss.colour())));
    // Findings by severity, as a chart with a bar of each severity's colour.
    assert!(page.contains("<svg") && page.contains(Tone::Manual.colour()));

    let mut t = TableVerification {
        table: "items".into(),
        source_rows: 1_234_567,
        target_rows: 1_234_566,
        schema_differences: vec![],
        sampled_rows: 1000,
        sample_mismatches: vec!["id=7: name: source \"a\" / target \"b\"".into()],
        differing_columns: vec!["name".into()],
        source_checksum: Default::default(),
        target_checksum: Default::default(),
        differing_keys: vec![],
        differing_keys_truncated: false,
        equal: false,
    };
    let v = VerificationReport::new("sqlite2lightning", "a.sqlite", "a.ldb", vec![t.clone()]);
    let page = to_html(&v);
    assert!(
        page.contains("<span class=\"badge bad\">DIFFERENT</span>"),
        "{page}"
    );
    assert!(page.contains(&format!(".bad{{background:{}", Tone::Bad.colour())));
    assert!(page.contains("<td class=\"num\">1,234,567</td>"), "{page}");
    assert!(
        page.contains("<td>name</td>"),
        "the differing column: {page}"
    );
    assert!(page.contains("<th class=\"num\">source rows</th>"));
    t.equal = true;
    let v = VerificationReport::new("sqlite2lightning", "a.sqlite", "a.ldb", vec![t]);
    assert!(to_html(&v).contains("<span class=\"badge good\">EQUAL</span>"));
}

#[test]
fn chart_labels_are_escaped() {
    let chart = Chart {
        title: "Sizes <of> \"tables\"".into(),
        bars: vec![
            Bar {
                label: "<script>alert(1)</script>".into(),
                value: 10.0,
                shown: "10 & more".into(),
                tone: None,
            },
            Bar {
                label: "b".into(),
                value: 0.0,
                shown: "0".into(),
                tone: Some(Tone::Bad),
            },
        ],
    };
    let s = svg::bar_chart(&chart);
    assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
    assert!(
        !s.contains("<script") && s.contains("&lt;script&gt;"),
        "{s}"
    );
    assert!(s.contains("10 &amp; more") && s.contains("Sizes &lt;of&gt; &quot;tables&quot;"));
    assert!(
        s.contains("width=\"0.0\""),
        "an empty bar has no length: {s}"
    );
}

#[test]
fn the_page_says_when_by_what_and_how_with_credentials_hidden() {
    let inv = Invocation::of(
        [
            "/usr/local/bin/pg2lightning",
            "migrate",
            "--source",
            "postgres://app:s3cret@db/shop",
            "--db-password",
            "hunter2",
            "--password=hunter3",
            "--where",
            "name = 'x'",
        ]
        .map(String::from),
    );
    assert_eq!(inv.tool_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        inv.command,
        "pg2lightning migrate --source postgres://app:***@db/shop --db-password *** \
         --password=*** --where 'name = '\\''x'\\'''"
    );
    let mut c = conversion_with(vec![]);
    c.invocation = inv;
    let page = to_html(&c);
    assert!(
        !page.contains("s3cret") && !page.contains("hunter"),
        "{page}"
    );
    assert!(page.contains(&c.generated_at));
    assert!(page.contains(&format!("sqlite2lightning {}", env!("CARGO_PKG_VERSION"))));
    assert!(page.contains("<code>pg2lightning migrate"));
    let json = to_json(&c);
    assert!(
        json.contains("\"tool_version\"") && json.contains("\"command\""),
        "{json}"
    );
}

#[test]
fn a_sync_report_renders_as_a_page_and_a_summary() {
    let mut r = crate::sync::SyncReport {
        tool: "pg2lightning".into(),
        target: "shop.ldb".into(),
        generated_at: "2026-01-02T03:04:05Z".into(),
        invocation: Invocation::of(["pg2lightning", "sync"].map(String::from)),
        status: "caught up".into(),
        start_position: "0/15FE3A8".into(),
        position: "0/16A0000".into(),
        transactions: 1_200,
        changes: 34_567,
        bytes_behind: Some(0),
        warnings: vec!["the replication slot <s> holds 2 GiB".into()],
        ..Default::default()
    };
    r.tables.insert(
        "orders".into(),
        crate::store::RepairCounts {
            inserted: 30_000,
            updated: 4_000,
            deleted: 567,
        },
    );
    r.tables.insert("customers".into(), Default::default());
    let page = to_html(&r);
    assert!(page.contains("<title>Sync: shop.ldb</title>"));
    assert!(
        page.contains("<span class=\"badge good\">caught up</span>"),
        "{page}"
    );
    assert!(page.contains("<td class=\"num\">34,567</td>"));
    assert!(page.contains("Row changes per table") && page.contains("<svg"));
    assert!(page.contains("the replication slot &lt;s&gt;"));
    assert!(page.contains("2026-01-02T03:04:05Z"));
    let text = to_terminal(&r);
    assert!(
        text.contains("caught up") && text.contains("30,000"),
        "{text}"
    );
    let json = to_json(&r);
    assert!(json.contains("\"changes\": 34567") && json.contains("\"tool_version\""));
}

#[test]
fn a_directory_size_adds_up_its_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), [0u8; 1000]).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/b"), [0u8; 234]).unwrap();
    assert_eq!(dir_size(dir.path()).unwrap(), 1234);
    assert_eq!(dir_size(&dir.path().join("missing")).unwrap(), 0);
}
