//! Training on a small generated CSV, saving and loading the model file, and scoring payments
//! with it: the risky payment must score above the ordinary one, with reasons.

use ensuresec_fraud::dataset::{Columns, Dataset};
use ensuresec_fraud::fixtures::Uniform;
use ensuresec_fraud::metrics::ranking;
use ensuresec_fraud::{
    Decision, Model, PaymentRequest, RuleSet, Scorer, StateLimits, TrainOptions, train,
};

/// Rows of online features where fraud follows card velocity and failed 3-D Secure.
fn csv(rows: usize) -> String {
    let mut r = Uniform::new(7);
    let mut out =
        String::from("time,amount,card_count_1h,three_ds_failed,account_age_days,label\n");
    for i in 0..rows {
        let count = (r.draw() * 10.0).floor();
        let failed = f64::from(u8::from(r.draw() < 0.1));
        let amount = 5.0 + r.draw() * 500.0;
        let age = (r.draw() * 1000.0).floor();
        let risk = -5.0 + 0.9 * count + 2.0 * failed;
        let fraud = r.draw() < 1.0 / (1.0 + (-risk).exp());
        out.push_str(&format!(
            "{i},{amount:.2},{count},{failed},{age},{}\n",
            u8::from(fraud)
        ));
    }
    out
}

fn columns() -> Columns {
    Columns {
        label: "label".into(),
        time: Some("time".into()),
    }
}

fn request(id: &str, card: &str, second: i64) -> PaymentRequest {
    let time = chrono::DateTime::from_timestamp(1_770_000_000 + second, 0).expect("time");
    let json = serde_json::json!({
        "payment_id": id,
        "time": time.to_rfc3339(),
        "amount": {"minor": 4_999, "currency": "EUR"},
        "merchant": "shop",
        "card": {"fingerprint": card, "bin": "424242", "country": "DE"},
        "billing": {"country": "DE"},
        "account": {"id": format!("acc-{card}"), "age_days": 300}
    });
    PaymentRequest::from_json(json.to_string().as_bytes()).expect("valid request")
}

#[test]
fn trains_saves_loads_and_scores() {
    let data = Dataset::read_csv("gen.csv", csv(4000).as_bytes(), &columns()).expect("csv");
    let options = TrainOptions {
        threads: Some(1),
        leaves: vec![7, 15],
        max_trees: 300,
        ..TrainOptions::default()
    };
    let model = train(&data, &options).expect("training");
    assert!(
        model.training.validation_pr_auc > 0.5,
        "{:?}",
        model.training
    );
    // Every member tried both candidates on the validation rows with its own sampling;
    // its best one was fitted again on every row, with the number of trees chosen on
    // validation, and the model holds every member's trees.
    let t = &model.training;
    assert_eq!(t.members.len(), 3, "{t:?}");
    for (seed, member) in t.members.iter().enumerate() {
        assert_eq!(member.seed, seed as u64);
        assert_eq!(member.candidates.len(), 2, "{member:?}");
        let best = member
            .candidates
            .iter()
            .max_by(|a, b| a.validation_pr_auc.total_cmp(&b.validation_pr_auc))
            .expect("candidates");
        assert_eq!(
            (member.leaves, member.trees, member.validation_pr_auc),
            (best.leaves, best.trees, best.validation_pr_auc)
        );
        assert!((1..=300).contains(&member.trees), "{member:?}");
    }
    assert!(t.refit && t.fit_rows == data.rows, "{t:?}");
    let member_trees: usize = t.members.iter().map(|m| m.trees).sum();
    assert_eq!(
        (t.trees, model.trees.trees.len()),
        (member_trees, member_trees)
    );
    let most_leaves = model
        .trees
        .trees
        .iter()
        .map(|tree| tree.iter().filter(|n| n.s.is_none()).count())
        .max();
    assert!(
        most_leaves.is_some_and(|l| (2..=15).contains(&l)),
        "{most_leaves:?}"
    );
    let kept = train(
        &data,
        &TrainOptions {
            refit: false,
            ..options.clone()
        },
    )
    .expect("training without refit");
    assert!(!kept.training.refit && kept.training.fit_rows < data.rows);
    assert_eq!(
        kept.calibration, model.calibration,
        "calibrated on the same held-out rows"
    );

    // The file round-trips and scores the same.
    let json = model.to_json().expect("serialise");
    let loaded = Model::from_json("model.json", &json).expect("load");
    let probe = data.row(10);
    let a = model.predict(&probe);
    let b = loaded.predict(&probe);
    assert!((a.probability - b.probability).abs() < 1e-12);
    // Contributions and bias add up to the log-odds.
    let sum: f64 = a.contributions.iter().sum::<f64>() + a.bias;
    assert!((sum - a.log_odds).abs() < 1e-6, "{sum} vs {}", a.log_odds);
    // The batch path agrees with the single-row path.
    let batch = loaded.probabilities(&data.x, data.rows);
    assert!((batch[10] - a.probability).abs() < 1e-9);
    assert!(ranking(&batch, &data.y).roc_auc > 0.8);

    let mut scorer = Scorer::new(RuleSet::builtin().expect("rules"), StateLimits::default());
    scorer
        .set_model("model.json", loaded)
        .expect("features are online ones");
    let calm = scorer.score(&request("p0", "calm-card", 0)).expect("score");
    let mut last = None;
    for i in 0..8 {
        last = Some(
            scorer
                .score(&request(&format!("b{i}"), "busy-card", 10 + i))
                .expect("score"),
        );
    }
    let busy = last.expect("scored");
    assert!(busy.probability > calm.probability, "{busy:?} vs {calm:?}");
    assert!(
        busy.reasons
            .iter()
            .any(|r| r.code == "card_count_1h" || r.code == "card-testing"),
        "{busy:?}"
    );
    assert_ne!(busy.decision, Decision::Approve, "{busy:?}");
}

#[test]
fn members_differ_in_their_rows_not_only_their_columns() {
    // One feature column: column sampling has nothing to choose from, so only the sampling of
    // rows can make two seeds fit different trees.
    let text: String = csv(2000)
        .lines()
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            format!("{},{},{}\n", cells[0], cells[2], cells[5])
        })
        .collect();
    let data = Dataset::read_csv("one.csv", text.as_bytes(), &columns()).expect("csv");
    assert_eq!(data.names, ["card_count_1h"]);
    let margins = |seed: u64| {
        let model = train(
            &data,
            &TrainOptions {
                threads: Some(1),
                leaves: vec![7],
                max_trees: 50,
                members: 1,
                seed,
                ..TrainOptions::default()
            },
        )
        .expect("training");
        model.margins(&data.x, data.rows)
    };
    let first = margins(0);
    assert_eq!(first, margins(0), "the same seed fits the same model");
    assert_ne!(first, margins(1), "another seed samples other rows");
}

#[test]
fn options_out_of_range_are_refused_by_name() {
    let data = Dataset::read_csv("gen.csv", csv(500).as_bytes(), &columns()).expect("csv");
    let refused = |options: TrainOptions| match train(&data, &options) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("trained with {options:?}"),
    };
    let cases = [
        (
            TrainOptions {
                members: 0,
                ..TrainOptions::default()
            },
            "members",
        ),
        (
            TrainOptions {
                leaves: vec![],
                ..TrainOptions::default()
            },
            "leaves",
        ),
        (
            TrainOptions {
                learning_rate: 0.0,
                ..TrainOptions::default()
            },
            "learning_rate",
        ),
        // Two members take seeds u64::MAX and one past it.
        (
            TrainOptions {
                seed: u64::MAX,
                members: 2,
                ..TrainOptions::default()
            },
            "seed",
        ),
    ];
    for (options, name) in cases {
        let error = refused(options);
        assert!(
            error.starts_with(&format!("option `{name}` must be ")),
            "{error}"
        );
    }
    // The largest seed is fine for one member.
    let one = TrainOptions {
        seed: u64::MAX,
        members: 1,
        leaves: vec![7],
        max_trees: 20,
        threads: Some(1),
        ..TrainOptions::default()
    };
    assert_eq!(
        train(&data, &one).expect("training").training.members[0].seed,
        u64::MAX
    );
}

#[test]
fn a_model_of_foreign_features_cannot_score_payments() {
    // A small model of the rows in `text`.
    let small_model = |text: String| {
        let data = Dataset::read_csv("gen.csv", text.as_bytes(), &columns()).expect("csv");
        let options = TrainOptions {
            threads: Some(1),
            leaves: vec![7],
            max_trees: 100,
            ..TrainOptions::default()
        };
        train(&data, &options).expect("training")
    };
    let mut scorer = Scorer::new(RuleSet::builtin().expect("rules"), StateLimits::default());
    let e = scorer
        .set_model(
            "m.json",
            small_model(csv(2000).replace("card_count_1h", "V1")),
        )
        .expect_err("V1 is not online")
        .to_string();
    assert!(e.contains("`V1`"), "{e}");
    // A model made in code (files with a name twice are refused on loading) that lists more
    // columns than there are online features is refused, not walked past its row.
    let mut model = small_model(csv(2000));
    let first = model.features[0].clone();
    model.features.resize(200, first);
    let e = scorer
        .set_model("m.json", model)
        .expect_err("200 columns")
        .to_string();
    assert!(e.contains("lists 200 features, more than the"), "{e}");
}

#[test]
fn bad_model_files_are_refused() {
    let e = Model::from_json("m.json", "{\"format\": \"other\"}")
        .expect_err("bad")
        .to_string();
    assert!(e.starts_with("m.json:"), "{e}");
    // A file of an earlier layout is refused by its version, not by a field it has.
    let old = r#"{"format": "ensuresec-fraud-model", "version": 2, "booster": {}}"#;
    let e = Model::from_json("old.json", old)
        .expect_err("version 2")
        .to_string();
    assert!(
        e.contains("`version`: 2") && e.contains("train the model again"),
        "{e}"
    );
    // Trees that would walk forever are refused, naming the node.
    let looping = r#"{"format": "ensuresec-fraud-model", "version": 3, "features": ["a"],
        "calibration": {"a": 1.0, "b": 0.0},
        "training": {"fit_rows": 1, "fit_positives": 1, "validation_rows": 1,
            "validation_positives": 1, "validation_pr_auc": 1.0, "learning_rate": 0.1,
            "trees": 1, "refit": false, "members": []},
        "trees": {"base_score": 0.0, "trees": [[{"w": 0.0, "s": {"f": 0, "v": 1.0, "l": 0, "r": 1, "m": 1}}, {"w": 1.0}]]}}"#;
    let e = Model::from_json("loop.json", looping)
        .expect_err("a cycle")
        .to_string();
    assert!(e.contains("`trees`: tree 0, node 0: child 0"), "{e}");
    let fixed = looping.replace("\"l\": 0", "\"l\": 1");
    let model = Model::from_json("fixed.json", &fixed).expect("the same file without the cycle");
    assert_eq!(model.predict(&[0.5]).log_odds, 1.0);
    // A feature named twice (training refuses such a data set) is refused by name.
    let twice = fixed.replace("[\"a\"]", "[\"a\", \"b\", \"a\"]");
    let e = Model::from_json("twice.json", &twice)
        .expect_err("`a` twice")
        .to_string();
    assert!(e.contains("`features`: `a` is listed twice"), "{e}");
    let too_few = "time,a,label\n1,1,0\n2,2,1\n3,3,0\n";
    let data = Dataset::read_csv("t.csv", too_few.as_bytes(), &columns()).expect("csv");
    let e = train(&data, &TrainOptions::default())
        .expect_err("too few")
        .to_string();
    assert!(e.contains("need at least"), "{e}");
}
