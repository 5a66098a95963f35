//! The computational graph's contract: dependency order, gradient accumulation, skipped
//! branches, what forward keeps for backward, and errors instead of panics.

use backprop::graph::{Graph, GraphError, SavedForBackward};
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::tensor::Tensor;

fn d2l_mlp(loss: Loss) -> Mlp<f64> {
    let config = MlpConfig::d2l(3, 4, 2, Activation::Relu, loss, 0.1);
    let mut mlp = Mlp::<f64>::new(config, 3).unwrap();
    let x = Tensor::from_vec(2, 3, vec![1.0, -2.0, 0.5, 0.3, 0.8, -1.0]).unwrap();
    mlp.set_batch(&x, &[1, 0]).unwrap();
    mlp
}

#[test]
fn the_input_never_gets_a_gradient() {
    let mut mlp = d2l_mlp(Loss::CrossEntropy);
    mlp.forward().unwrap();
    mlp.backward().unwrap();
    let nodes = mlp.nodes().clone();
    assert!(!mlp.graph().requires_grad(nodes.x));
    assert!(!mlp.graph().requires_grad(nodes.y));
    assert!(mlp.graph().grad(nodes.x).is_none());
    assert!(mlp.graph().grad(nodes.y).is_none());
    assert!(mlp.graph().grad(nodes.weights[0]).is_some());
}

#[test]
fn backward_twice_accumulates_parameter_gradients_until_zero_grad() {
    let mut mlp = d2l_mlp(Loss::Squared);
    mlp.forward().unwrap();
    mlp.backward().unwrap();
    let once = mlp.weight_grad(1).unwrap().clone();
    mlp.backward().unwrap();
    let twice = mlp.weight_grad(1).unwrap().clone();
    for (a, b) in once.as_slice().iter().zip(twice.as_slice()) {
        assert!(
            (2.0 * a - b).abs() <= 1e-15 * a.abs().max(1.0),
            "{a} then {b}"
        );
    }
    // Intermediate gradients are recomputed, not accumulated.
    let o = mlp.nodes().output;
    let first_do = mlp.graph().grad(o).unwrap().clone();
    mlp.zero_grad();
    mlp.backward().unwrap();
    assert_eq!(mlp.weight_grad(1).unwrap(), &once);
    assert_eq!(mlp.graph().grad(o).unwrap(), &first_do);
}

#[test]
fn a_variable_feeding_several_operators_sums_their_gradients() {
    // J = mean(w) + mean(w) + mean(w ⊙ ... ) : here J = 3 * mean(W) through two paths.
    let mut g = Graph::<f64>::new();
    let w = g.parameter(
        "w",
        Tensor::from_vec(1, 4, vec![1.0, 2.0, 3.0, 4.0]).unwrap(),
    );
    let twice = g.add(w, w, "w+w").unwrap();
    let scaled = g.scale(w, 1.0, "1w").unwrap();
    let sum = g.add(twice, scaled, "3w").unwrap();
    let j = g.mean(sum, "J").unwrap();
    g.forward().unwrap();
    assert_eq!(g.value(j).item(), 7.5);
    g.backward(j).unwrap();
    assert_eq!(g.grad(w).unwrap().as_slice(), &[0.75; 4]);
}

#[test]
fn branches_that_lead_to_no_parameter_are_skipped() {
    let mut g = Graph::<f64>::new();
    let x = g.input("x", 1, 2);
    let w = g.parameter("w", Tensor::from_vec(1, 2, vec![0.5, -0.5]).unwrap());
    let data_only = g.scale(x, 2.0, "2x").unwrap();
    let data_sum = g.mean(data_only, "mean 2x").unwrap();
    let model = g.matmul(x, w, "xwᵀ").unwrap();
    let j = g.add(model, data_sum, "J").unwrap();
    g.set_input(x, &Tensor::from_vec(1, 2, vec![1.0, 3.0]).unwrap())
        .unwrap();
    g.forward().unwrap();
    g.backward(j).unwrap();
    assert!(!g.requires_grad(data_only) && !g.requires_grad(data_sum));
    assert!(g.grad(data_only).is_none() && g.grad(data_sum).is_none());
    assert!(g.grad(x).is_none());
    assert_eq!(g.grad(w).unwrap().as_slice(), &[1.0, 3.0]);
    // Only the operators J depends on are visited, the objective's producer first.
    let order = g.reverse_topological_order(j);
    assert_eq!(order.len(), 4);
    assert_eq!(g.operators()[order[0].0].output, j);
}

#[test]
fn a_very_deep_graph_needs_no_recursion() {
    let mut g = Graph::<f64>::new();
    let w = g.parameter("w", Tensor::scalar(1.0));
    let mut v = w;
    for i in 0..200_000 {
        v = g.scale(v, 1.0, &format!("v{i}")).unwrap();
    }
    g.forward().unwrap();
    g.backward(v).unwrap();
    assert_eq!(g.grad(w).unwrap().item(), 1.0);
}

#[test]
fn forward_keeps_exactly_what_backward_reads() {
    let mlp = d2l_mlp(Loss::CrossEntropy);
    let graph = mlp.graph();
    let mut kept: Vec<String> = Vec::new();
    for saved in graph.saved_for_backward() {
        match saved {
            SavedForBackward::Variable(v) => kept.push(graph.variables()[v.0].name.clone()),
            SavedForBackward::OperatorBuffer { op, .. } => kept.push(format!(
                "{} of {}",
                graph.operators()[op.0].op.name(),
                graph.variables()[graph.operators()[op.0].output.0].name
            )),
        }
    }
    // x for dW1 = dzᵀ x; h for phi'(z) and dW2 = doᵀ h; softmax(o) and y for dL/do.
    // Not z (relu's derivative is read from h), not o (the probabilities replace it).
    assert_eq!(kept, ["x", "h", "softmax cross-entropy of l", "y"]);
}

#[test]
fn errors_instead_of_panics() {
    let mut mlp = d2l_mlp(Loss::CrossEntropy);
    mlp.set_batch(&Tensor::zeros(2, 3), &[0, 7]).unwrap();
    let err = mlp.forward().unwrap_err().to_string();
    assert!(err.contains("label 7 of sample 1"), "{err}");
    assert!(mlp.set_batch(&Tensor::zeros(2, 5), &[0, 1]).is_err());
    assert!(mlp.set_batch(&Tensor::zeros(2, 3), &[0]).is_err());

    let mut g = Graph::<f64>::new();
    let a = g.parameter("a", Tensor::zeros(2, 3));
    let b = g.parameter("b", Tensor::zeros(3, 2));
    assert!(matches!(g.add(a, b, "a+b"), Err(GraphError::Op { .. })));
    let m = g.matmul(a, b, "abᵀ");
    assert!(m.unwrap_err().to_string().contains("X is 2x3 and W is 3x2"));
    g.forward().unwrap();
    assert!(matches!(g.backward(a), Err(GraphError::NotScalar { .. })));
}

#[test]
fn f32_and_f64_models_from_one_seed_agree() {
    let config = MlpConfig::d2l(5, 8, 3, Activation::Sigmoid, Loss::CrossEntropy, 0.01);
    let a = Mlp::<f32>::new(config.clone(), 4).unwrap();
    let b = Mlp::<f64>::new(config, 4).unwrap();
    for (x, y) in a.weight(1).as_slice().iter().zip(b.weight(1).as_slice()) {
        assert_eq!(*x, *y as f32);
    }
}

#[test]
fn prediction_equals_the_graphs_outputs() {
    let config = MlpConfig {
        inputs: 3,
        hidden: vec![5, 4],
        outputs: 3,
        activation: Activation::Tanh,
        loss: Loss::CrossEntropy,
        bias: true,
        weight_decay: 0.0,
    };
    let mut mlp = Mlp::<f64>::new(config, 8).unwrap();
    let x = Tensor::from_fn(4, 3, |r, c| (r as f64 - c as f64) * 0.3);
    mlp.set_batch(&x, &[0, 1, 2, 0]).unwrap();
    mlp.forward().unwrap();
    assert_eq!(&mlp.predict(&x).unwrap(), mlp.outputs());
}

#[test]
fn backward_leaves_dj_of_every_variable_and_moves_pass_through_gradients() {
    // Two hidden layers with biases and a weight decay: every kind of node the trainer uses.
    let config = MlpConfig {
        inputs: 3,
        hidden: vec![4, 5],
        outputs: 2,
        activation: Activation::Relu,
        loss: Loss::CrossEntropy,
        bias: true,
        weight_decay: 0.3,
    };
    let x = Tensor::from_vec(2, 3, vec![1.0, -2.0, 0.5, 0.3, 0.8, -1.0]).unwrap();
    let run = |config: MlpConfig| {
        let mut mlp = Mlp::<f64>::new(config, 11).unwrap();
        mlp.set_batch(&x, &[1, 0]).unwrap();
        mlp.forward().unwrap();
        mlp.backward().unwrap();
        mlp
    };
    let decayed = run(config.clone());
    let undecayed = run(MlpConfig {
        weight_decay: 0.0,
        ..config
    });
    // Weights hold dJ/dW = dL/dW + λW (4.7.10 in the graph, once); biases dL/db.
    for (name, id) in decayed.named_parameters().to_vec() {
        let full = decayed.graph().grad(id).unwrap();
        let loss_only = undecayed.graph().grad(id).unwrap();
        let is_weight = decayed.nodes().weights.contains(&id);
        let value = decayed.graph().value(id);
        for ((f, l), w) in full
            .as_slice()
            .iter()
            .zip(loss_only.as_slice())
            .zip(value.as_slice())
        {
            let expected = if is_weight { l + 0.3 * w } else { *l };
            assert!(
                (expected - f).abs() < 1e-12,
                "{name}: {expected} against {f}"
            );
        }
    }
    // Every variable that leads to a parameter has its gradient, including each `z = u + b`
    // whose gradient was moved (not copied) to `u`: the two share one buffer.
    let graph = decayed.graph();
    for (i, variable) in graph.variables().iter().enumerate() {
        let id = backprop::graph::VarId(i);
        assert_eq!(
            graph.grad(id).is_some(),
            graph.requires_grad(id),
            "{}",
            variable.name
        );
    }
    let nodes = decayed.nodes();
    for (z, u) in nodes.pre_activations.iter().zip(&nodes.products) {
        let u = u.expect("biased layers have a product");
        assert!(std::ptr::eq(
            graph.grad(*z).unwrap(),
            graph.grad(u).unwrap()
        ));
    }
    let u_o = nodes.products.last().unwrap().unwrap();
    assert!(std::ptr::eq(
        graph.grad(nodes.output).unwrap(),
        graph.grad(u_o).unwrap()
    ));
}

#[test]
fn a_gradient_is_not_moved_into_a_variable_that_other_operators_read() {
    // u feeds both `u + b` and `‖u‖²`: its gradient is the sum of both, so it cannot share
    // the sum's buffer, and the sum keeps its own gradient.
    let mut g = Graph::<f64>::new();
    let x = g.input("x", 1, 2);
    let w = g.parameter("w", Tensor::from_vec(1, 2, vec![0.5, -1.0]).unwrap());
    let b = g.parameter("b", Tensor::from_vec(1, 1, vec![0.25]).unwrap());
    let u = g.matmul(x, w, "u").unwrap();
    let z = g.add_bias(u, b, "z").unwrap();
    let norm = g.squared_frobenius(u, "‖u‖²").unwrap();
    let zz = g.squared_frobenius(z, "‖z‖²").unwrap();
    let j = g.add(zz, norm, "J").unwrap();
    g.set_input(x, &Tensor::from_vec(1, 2, vec![1.0, 3.0]).unwrap())
        .unwrap();
    g.forward().unwrap();
    g.backward(j).unwrap();
    // u = 0.5 - 3 = -2.5, z = -2.25: dJ/dz = 2z = -4.5, dJ/du = 2z + 2u = -9.5.
    assert_eq!(g.grad(z).unwrap().item(), -4.5);
    assert_eq!(g.grad(u).unwrap().item(), -9.5);
    assert_eq!(g.grad(w).unwrap().as_slice(), &[-9.5, -28.5]);
    assert_eq!(g.grad(b).unwrap().item(), -4.5);
}

#[test]
fn a_weights_gradient_is_the_product_plus_its_decay_term_bit_for_bit() {
    // 4.7.14: dJ/dW1 = dJ/dz xᵀ + λ W1, summed over the batch: the graph adds λ W1 while the
    // product stores dzᵀ x, and must give the bits of storing λ W1 and accumulating onto it.
    use backprop::tensor::matmul::matmul_at_b;
    use backprop::tensor::{Element, Write};
    fn check<T: Element>(loss: Loss, (batch, d, h, q): (usize, usize, usize, usize)) {
        let config = MlpConfig::d2l(d, h, q, Activation::Relu, loss, 0.1);
        let mut mlp = Mlp::<T>::new(config, 3).unwrap();
        let x = Tensor::from_fn(batch, d, |r, c| T::from_f64(((r * 7 + c * 3) as f64).sin()));
        let labels: Vec<usize> = (0..batch).map(|i| i % q).collect();
        mlp.set_batch(&x, &labels).unwrap();
        mlp.forward().unwrap();
        mlp.backward().unwrap();
        let nodes = mlp.nodes().clone();
        let graph = mlp.graph();
        let lambda = T::from_f64(0.1);
        for (k, input) in [(0, nodes.x), (1, nodes.hidden[0])] {
            let (input, w) = (graph.value(input), graph.value(nodes.weights[k]));
            let dz = graph.grad(
                nodes
                    .pre_activations
                    .get(k)
                    .copied()
                    .unwrap_or(nodes.output),
            );
            let mut want = Tensor::from_fn(w.rows(), w.cols(), |r, c| lambda * w.get(r, c));
            matmul_at_b(&mut want, dz.unwrap(), input, Write::Accumulate);
            assert_eq!(graph.grad(nodes.weights[k]).unwrap(), &want, "W{}", k + 1);
        }
    }
    for loss in [Loss::CrossEntropy, Loss::Squared] {
        check::<f64>(loss, (2, 3, 4, 2));
        check::<f32>(loss, (20, 40, 37, 5));
        check::<f32>(loss, (300, 100, 64, 10));
    }
}

#[test]
fn a_decay_term_that_no_product_takes_is_stored_on_its_own() {
    // J = 0.05 ‖w‖²: the only rule that writes dJ/dw is the norm's, 0.1 w.
    let mut g = Graph::<f64>::new();
    let w = g.parameter("w", Tensor::from_vec(1, 3, vec![1.0, -2.0, 4.0]).unwrap());
    let norm = g.squared_frobenius(w, "‖w‖²").unwrap();
    let j = g.scale(norm, 0.05, "J").unwrap();
    g.forward().unwrap();
    g.backward(j).unwrap();
    assert_eq!(g.grad(w).unwrap().as_slice(), &[0.1, -0.2, 0.4]);
    // And a rule that cannot add it (the mean of w) adds its own onto it.
    let mut g = Graph::<f64>::new();
    let w = g.parameter("w", Tensor::from_vec(1, 2, vec![1.0, -2.0]).unwrap());
    let norm = g.squared_frobenius(w, "‖w‖²").unwrap();
    let mean = g.mean(w, "mean w").unwrap();
    let j = g.add(mean, norm, "J").unwrap();
    g.forward().unwrap();
    g.backward(j).unwrap();
    assert_eq!(g.grad(w).unwrap().as_slice(), &[2.5, -3.5]);
    // Twice without zero_grad: the term is added again, as every gradient is.
    g.backward(j).unwrap();
    assert_eq!(g.grad(w).unwrap().as_slice(), &[5.0, -7.0]);
}
