//! Model description parsing: the tutorial spec builds the tutorial CNN, and bad specs get
//! one error naming the file, line and layer.

use edgequant_qat::{Kind, QatError, Spec};

fn repo_file(rel: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn err(text: &str) -> String {
    match Spec::parse(text, "bad.spec") {
        Ok(s) => panic!("expected an error, parsed {} layers", s.layers.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tutorial_spec_is_the_tutorial_cnn() {
    let spec = Spec::parse(&repo_file("specs/tutorial_cnn.spec"), "tutorial_cnn.spec")
        .expect("tutorial spec parses");
    let shapes: Vec<Vec<usize>> = spec.layers.iter().map(|l| l.shape.clone()).collect();
    assert_eq!(
        shapes,
        vec![
            vec![28, 28, 1],
            vec![28, 28, 32],
            vec![28, 28, 32],
            vec![14, 14, 32],
            vec![14, 14, 64],
            vec![14, 14, 64],
            vec![7, 7, 64],
            vec![7, 7, 64],
            vec![7, 7, 64],
            vec![3136],
            vec![64],
            vec![10],
        ]
    );
    let m = spec.build(1).expect("build");
    // Keras's parameter count of the tutorial model (BN moving statistics excluded).
    assert_eq!(
        m.param_count(),
        320 + 64 + 18496 + 128 + 36928 + 128 + 200768 + 650
    );
    // conv -> relu -> BN: the BN stays standalone (after the ReLU), nothing is folded.
    let kinds: Vec<&str> = m.nodes.iter().map(|n| n.kind.type_name()).collect();
    assert_eq!(
        kinds,
        [
            "Conv2D",
            "BatchNormalization",
            "MaxPool2D",
            "Conv2D",
            "BatchNormalization",
            "MaxPool2D",
            "Conv2D",
            "BatchNormalization",
            "Reshape",
            "Dense",
            "Dense",
            "Softmax"
        ]
    );
}

#[test]
fn conv_bn_relu_folds_and_residual_relu_fuses() {
    let m = Spec::parse(&repo_file("specs/conv_bn_relu.spec"), "conv_bn_relu.spec")
        .expect("parse")
        .build(0)
        .expect("build");
    let convs: Vec<bool> = m
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            Kind::Conv { bn, .. } => Some(bn.is_some()),
            _ => None,
        })
        .collect();
    assert_eq!(convs, [true, true, true], "every BN folds into its conv");
    assert!(!m
        .nodes
        .iter()
        .any(|n| matches!(n.kind, Kind::Relu | Kind::Relu6 | Kind::BatchNorm(_))));

    let r = Spec::parse(&repo_file("specs/residual.spec"), "residual.spec")
        .expect("parse")
        .build(0)
        .expect("build");
    let add = r
        .nodes
        .iter()
        .find(|n| n.name == "residual_add")
        .expect("add node");
    assert!(matches!(
        add.kind,
        Kind::Add {
            act: edgequant_qat::Act::Relu
        }
    ));
}

#[test]
fn unknown_layer_names_line() {
    let e = err("Input shape=28,28,1\n\n# c\nConv3D filters=3\n");
    assert!(e.starts_with("bad.spec:4: "), "{e}");
    assert!(e.contains("unknown layer 'Conv3D'"), "{e}");
}

#[test]
fn inconsistent_shapes_name_line_and_layer() {
    let e = err("Input shape=28,28,1\nConv2D filters=8 kernel=3\nDense units=10\n");
    assert!(e.starts_with("bad.spec:3: layer 'dense' (Dense)"), "{e}");
    assert!(e.contains("[26, 26, 8]"), "{e}");

    let e = err(
        "Input shape=8,8,1\nConv2D name=a filters=4 kernel=3 padding=same\nConv2D name=b filters=4 kernel=3 strides=2 padding=same\nAdd inputs=a,b\n",
    );
    assert!(e.starts_with("bad.spec:4: layer 'add' (Add)"), "{e}");
    assert!(e.contains("different shapes"), "{e}");

    let e = err("Input shape=4,4,1\nMaxPool2D pool=5\n");
    assert!(
        e.starts_with("bad.spec:2: layer 'max_pooling2d' (MaxPool2D)"),
        "{e}"
    );
}

#[test]
fn bad_attributes_and_structure() {
    for (text, line, needle) in [
        ("Input shape=28,28,1\nConv2D kernel=3\n", 2, "needs filters"),
        (
            "Input shape=28,28,1\nConv2D filters=0 kernel=3\n",
            2,
            "positive integer",
        ),
        (
            "Input shape=28,28,1\nConv2D filters=2 kernel=3 colour=red\n",
            2,
            "no attribute 'colour'",
        ),
        (
            "Input shape=28,28,1\nConv2D filters=2 kernel=3 activation=gelu\n",
            2,
            "activation=gelu",
        ),
        (
            "Conv2D filters=2 kernel=3\n",
            1,
            "first layer must be Input",
        ),
        (
            "Input shape=4\nDense units=2 inputs=nowhere\n",
            2,
            "'nowhere' is not an earlier layer",
        ),
        ("Input shape=4\n", 1, "at least one layer"),
    ] {
        let e = err(text);
        assert!(e.starts_with(&format!("bad.spec:{line}:")), "{e}");
        assert!(e.contains(needle), "{e} should mention {needle}");
    }
    assert!(matches!(
        Spec::parse("Input shape=4\nFoo\n", "x"),
        Err(QatError::Spec { line: 2, .. })
    ));
}
