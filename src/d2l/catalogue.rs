//! The catalogue of D2L §4.7's equations: for each of 4.7.1 – 4.7.6 (forward) and 4.7.9 –
//! 4.7.14 (backward) its number, its formula and the node it computes, and the same
//! formulas written with a given model's names ([`Formulas`]), each rendered in one of three
//! [`Notation`]s.
//!
//! Every place that shows an equation takes it from here: `backprop explain` (Unicode in
//! text, Markdown in notes), the playground's node panel (Unicode, through
//! `crate::playground::equations`), the graph drawing's `l2` label and `docs/equations.md`
//! (its catalogue table is [`markdown_table`], checked by `tests/d2l_equations.rs`).
//!
//! Formulas are composed once, in Unicode; [`Notation::render`] turns them into plain ASCII
//! (`∂J/∂z` becomes `dJ/dz`, `⊙` becomes `*`, `ᵀ` becomes `^T`) or into a Markdown code span.

use crate::graph::Activation;
use crate::nn::{Loss, Mlp};
use crate::tensor::Element;

/// How a formula is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notation {
    /// ASCII only: `dJ/dz = dJ/dh * phi'(z)`, `W2^T`, `lambda`, `||W1||_F^2`.
    Plain,
    /// Mathematical Unicode: `∂J/∂z = ∂J/∂h ⊙ φ'(z)`, `W2ᵀ`, `λ`, `‖W1‖_F²`.
    Unicode,
    /// Unicode in a Markdown code span, with `|` escaped for tables: `` `∂J/∂z = …` ``.
    Markdown,
}

/// Unicode symbols and their ASCII spellings, in the order they are replaced.
const ASCII_SPELLINGS: [(&str, &str); 12] = [
    ("∂", "d"),
    ("⊙", "*"),
    ("ᵀ", "^T"),
    ("λ", "lambda"),
    ("φ", "phi"),
    ("σ", "sigma"),
    ("‖", "||"),
    ("²", "^2"),
    ("Σ", "sum"),
    ("·", "*"),
    ("…", "..."),
    ("≥", ">="),
];

impl Notation {
    /// `unicode` (a formula as this module composes it) in this notation.
    pub fn render(self, unicode: &str) -> String {
        match self {
            Notation::Unicode => unicode.to_string(),
            Notation::Plain => ASCII_SPELLINGS
                .iter()
                .fold(unicode.to_string(), |text, (symbol, ascii)| {
                    text.replace(symbol, ascii)
                }),
            Notation::Markdown => format!("`{}`", unicode.replace('|', "\\|")),
        }
    }
}

/// Forward or backward propagation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// 4.7.1 – 4.7.6.
    Forward,
    /// 4.7.9 – 4.7.14.
    Backward,
}

/// One equation of §4.7 as the section writes it for the D2L network (one hidden layer, no
/// bias).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// Its number in §4.7, e.g. `4.7.13`.
    pub number: &'static str,
    /// Forward or backward.
    pub phase: Phase,
    /// The node it computes, e.g. `∂J/∂z` (Unicode).
    pub node: &'static str,
    /// The formula (Unicode).
    pub formula: &'static str,
    /// What the node is.
    pub meaning: &'static str,
}

/// The twelve equations of §4.7, in the section's order.
pub const CATALOGUE: [CatalogueEntry; 12] = [
    CatalogueEntry {
        number: "4.7.1",
        phase: Phase::Forward,
        node: "z",
        formula: "z = W1 x",
        meaning: "the hidden layer's pre-activation (h x 1)",
    },
    CatalogueEntry {
        number: "4.7.2",
        phase: Phase::Forward,
        node: "h",
        formula: "h = φ(z)",
        meaning: "the hidden layer's output, the activation φ applied elementwise (h x 1)",
    },
    CatalogueEntry {
        number: "4.7.3",
        phase: Phase::Forward,
        node: "o",
        formula: "o = W2 h",
        meaning: "the output layer's scores (q x 1)",
    },
    CatalogueEntry {
        number: "4.7.4",
        phase: Phase::Forward,
        node: "L",
        formula: "L = l(o, y)",
        meaning: "the loss term (for a batch, the mean of l over its samples)",
    },
    CatalogueEntry {
        number: "4.7.5",
        phase: Phase::Forward,
        node: "s",
        formula: "s = λ/2 (‖W1‖_F² + ‖W2‖_F²)",
        meaning: "the L2 regularisation term",
    },
    CatalogueEntry {
        number: "4.7.6",
        phase: Phase::Forward,
        node: "J",
        formula: "J = L + s",
        meaning: "the objective that training minimises",
    },
    CatalogueEntry {
        number: "4.7.9",
        phase: Phase::Backward,
        node: "∂J/∂o",
        formula: "∂J/∂o = ∂L/∂o",
        meaning: "the objective's gradient at the output (q x 1)",
    },
    CatalogueEntry {
        number: "4.7.10",
        phase: Phase::Backward,
        node: "∂s/∂W",
        formula: "∂s/∂W1 = λ W1, ∂s/∂W2 = λ W2",
        meaning: "the regularisation term's gradient at each weight",
    },
    CatalogueEntry {
        number: "4.7.11",
        phase: Phase::Backward,
        node: "∂J/∂W2",
        formula: "∂J/∂W2 = ∂J/∂o hᵀ + λ W2",
        meaning: "the objective's gradient at the output layer's weights (q x h)",
    },
    CatalogueEntry {
        number: "4.7.12",
        phase: Phase::Backward,
        node: "∂J/∂h",
        formula: "∂J/∂h = W2ᵀ ∂J/∂o",
        meaning: "the objective's gradient at the hidden layer's output (h x 1)",
    },
    CatalogueEntry {
        number: "4.7.13",
        phase: Phase::Backward,
        node: "∂J/∂z",
        formula: "∂J/∂z = ∂J/∂h ⊙ φ'(z)",
        meaning: "the objective's gradient at the pre-activation (h x 1)",
    },
    CatalogueEntry {
        number: "4.7.14",
        phase: Phase::Backward,
        node: "∂J/∂W1",
        formula: "∂J/∂W1 = ∂J/∂z xᵀ + λ W1",
        meaning: "the objective's gradient at the hidden layer's weights (h x d)",
    },
];

/// The catalogue entry numbered `number`, if §4.7 has one.
pub fn entry(number: &str) -> Option<&'static CatalogueEntry> {
    CATALOGUE.iter().find(|e| e.number == number)
}

/// The catalogue as a Markdown table: number, node, formula (Unicode and plain text) and
/// what the node is. `docs/equations.md` holds exactly this table.
pub fn markdown_table() -> String {
    let mut table = String::from(
        "| eq. | node | formula | plain text | what the node is |\n|---|---|---|---|---|\n",
    );
    for e in &CATALOGUE {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            e.number,
            Notation::Markdown.render(e.node),
            Notation::Markdown.render(e.formula),
            Notation::Markdown.render(&Notation::Plain.render(e.formula)),
            e.meaning.replace('|', "\\|")
        ));
    }
    table
}

/// The label of the drawing's `l2` group: 4.7.5 for any depth.
pub fn l2_group_label(notation: Notation) -> String {
    notation.render("l2: s = λ/2 Σ_k ‖W_k‖_F²")
}

/// `∂J/∂{name}` (Unicode): the objective's gradient at a node.
pub fn gradient(name: &str) -> String {
    format!("∂J/∂{name}")
}

/// One equation written with a model's names: its number, the layer (for models with more
/// than one hidden layer), the equation and what it depends on in this model
/// (`φ = relu`, `λ = 0.01`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formula {
    /// The number in §4.7 (`4.7.13`), or `bias` for a bias gradient (beyond the D2L
    /// network).
    pub number: &'static str,
    /// The layer, for models with more than one hidden layer (and for 4.7.10, per weight).
    pub layer: Option<usize>,
    /// The equation (Unicode), e.g. `∂J/∂z = ∂J/∂h ⊙ φ'(z)`.
    pub equation: String,
    /// This model's choices the equation depends on (Unicode), e.g. `φ'(z) = [z > 0]`.
    pub details: Vec<String>,
}

impl Formula {
    fn new(number: &'static str, layer: Option<usize>, equation: String) -> Self {
        Formula {
            number,
            layer,
            equation,
            details: Vec::new(),
        }
    }

    fn with(mut self, detail: String) -> Self {
        self.details.push(detail);
        self
    }

    /// `4.7.13`, or `4.7.13 (layer 2)` for deeper models.
    pub fn label(&self) -> String {
        equation_label(self.number, self.layer)
    }

    /// The equation and its details, `equation, detail, ...`, in `notation`.
    pub fn render(&self, notation: Notation) -> String {
        let mut text = self.equation.clone();
        for detail in &self.details {
            text.push_str(", ");
            text.push_str(detail);
        }
        notation.render(&text)
    }
}

/// The equation label: `4.7.13`, or `4.7.13 (layer 2)` for deeper models.
pub fn equation_label(number: &str, layer: Option<usize>) -> String {
    match layer {
        Some(k) => format!("{number} (layer {k})"),
        None => number.to_string(),
    }
}

/// The equations of §4.7 with one model's names, as its graph names its nodes (`z`, `h` for
/// the D2L network's single hidden layer; `z1`, `h1`, `z2`, ... for deeper models). For the
/// D2L network the equations are exactly the [`CATALOGUE`]'s.
#[derive(Clone, Debug, PartialEq)]
pub struct Formulas {
    /// `W1 .. WK`.
    pub weights: Vec<String>,
    /// `b1 .. bK`, where the model has them.
    pub biases: Vec<Option<String>>,
    /// The pre-activations of the hidden layers.
    pub pre_activations: Vec<String>,
    /// The hidden layers' outputs.
    pub hidden: Vec<String>,
    /// `φ`.
    pub activation: Activation,
    /// `l`.
    pub loss: Loss,
    /// `λ`.
    pub lambda: f64,
}

impl Formulas {
    /// The names of `mlp`'s graph.
    pub fn of<T: Element>(mlp: &Mlp<T>) -> Self {
        let graph = mlp.graph();
        let name = |v: crate::graph::VarId| graph.variables()[v.0].name.clone();
        let nodes = mlp.nodes();
        let config = mlp.config();
        Formulas {
            weights: nodes.weights.iter().map(|&v| name(v)).collect(),
            biases: nodes.biases.iter().map(|b| b.map(name)).collect(),
            pre_activations: nodes.pre_activations.iter().map(|&v| name(v)).collect(),
            hidden: nodes.hidden.iter().map(|&v| name(v)).collect(),
            activation: config.activation,
            loss: config.loss,
            lambda: config.weight_decay,
        }
    }

    /// `K`, the number of weight matrices.
    pub fn depth(&self) -> usize {
        self.weights.len()
    }

    /// Whether equations carry a layer (more than one hidden layer).
    pub fn layered(&self) -> bool {
        self.depth() > 2
    }

    fn layer(&self, k: usize) -> Option<usize> {
        self.layered().then_some(k)
    }

    /// The input of layer `k` (from 1): `x`, then the hidden layers' outputs.
    pub fn layer_input(&self, k: usize) -> &str {
        if k == 1 {
            "x"
        } else {
            &self.hidden[k - 2]
        }
    }

    /// What layer `k`'s affine map produces: its pre-activation, `o` for the last layer.
    pub fn layer_output(&self, k: usize) -> &str {
        if k == self.depth() {
            "o"
        } else {
            &self.pre_activations[k - 1]
        }
    }

    /// `W_k h_{k-1}`, with `+ b_k` when `with_bias` and the layer has one.
    pub fn affine(&self, k: usize, with_bias: bool) -> String {
        let product = format!("{} {}", self.weights[k - 1], self.layer_input(k));
        match &self.biases[k - 1] {
            Some(b) if with_bias => format!("{product} + {b}"),
            _ => product,
        }
    }

    /// 4.7.1: `z_k = W_k h_{k-1} (+ b_k)` for hidden layer `k`.
    pub fn pre_activation(&self, k: usize) -> Formula {
        Formula::new(
            "4.7.1",
            self.layer(k),
            format!("{} = {}", self.pre_activations[k - 1], self.affine(k, true)),
        )
    }

    /// 4.7.2: `h_k = φ(z_k)`.
    pub fn hidden_output(&self, k: usize) -> Formula {
        Formula::new(
            "4.7.2",
            self.layer(k),
            format!(
                "{} = φ({})",
                self.hidden[k - 1],
                self.pre_activations[k - 1]
            ),
        )
        .with(format!("φ = {}", self.activation))
    }

    /// 4.7.3: `o = W_K h_{K-1} (+ b_K)`.
    pub fn output(&self) -> Formula {
        let depth = self.depth();
        Formula::new(
            "4.7.3",
            self.layer(depth),
            format!("o = {}", self.affine(depth, true)),
        )
    }

    /// The per-sample loss `l(o, y)` of this model (Unicode).
    pub fn loss_rule(&self) -> &'static str {
        match self.loss {
            Loss::CrossEntropy => "l(o, y) = -log softmax(o)_y",
            Loss::Squared => "l(o, y) = 1/2 ‖o - onehot(y)‖²",
        }
    }

    /// 4.7.4: `L = l(o, y)`, with this model's `l`.
    pub fn loss(&self) -> Formula {
        Formula::new("4.7.4", None, "L = l(o, y)".to_string()).with(self.loss_rule().to_string())
    }

    /// 4.7.5: `s = λ/2 (‖W1‖_F² + ‖W2‖_F² + …)`, with this model's `λ`.
    pub fn penalty(&self) -> Formula {
        let norms: Vec<String> = self.weights.iter().map(|w| format!("‖{w}‖_F²")).collect();
        Formula::new("4.7.5", None, format!("s = λ/2 ({})", norms.join(" + ")))
            .with(format!("λ = {}", self.lambda))
    }

    /// 4.7.6: `J = L + s`.
    pub fn objective(&self) -> Formula {
        Formula::new("4.7.6", None, "J = L + s".to_string())
    }

    /// `∂l/∂o` of this model's loss (Unicode).
    pub fn loss_gradient_rule(&self) -> &'static str {
        match self.loss {
            Loss::CrossEntropy => "∂l/∂o = softmax(o) - onehot(y)",
            Loss::Squared => "∂l/∂o = o - onehot(y)",
        }
    }

    /// 4.7.9: `∂J/∂o = ∂L/∂o`, with this model's `∂l/∂o`.
    pub fn output_gradient(&self) -> Formula {
        Formula::new("4.7.9", None, format!("{} = ∂L/∂o", gradient("o")))
            .with(self.loss_gradient_rule().to_string())
    }

    /// 4.7.10: `∂s/∂W_k = λ W_k`, for weight `k`.
    pub fn penalty_gradient(&self, k: usize) -> Formula {
        let w = &self.weights[k - 1];
        Formula::new("4.7.10", Some(k), format!("∂s/∂{w} = λ {w}"))
    }

    /// The gradient flowing into layer `k`'s product: `∂J/∂o` for the last, `∂J/∂z_k` else.
    pub fn upstream_gradient(&self, k: usize) -> String {
        gradient(self.layer_output(k))
    }

    /// 4.7.11 (the last layer) and 4.7.14 (the others): `∂J/∂W_k = ∂J/∂z_k h_{k-1}ᵀ + λ W_k`.
    pub fn weight_gradient(&self, k: usize) -> Formula {
        let w = &self.weights[k - 1];
        let number = if k == self.depth() {
            "4.7.11"
        } else {
            "4.7.14"
        };
        Formula::new(
            number,
            self.layer(k),
            format!(
                "{} = {} {}ᵀ + λ {w}",
                gradient(w),
                self.upstream_gradient(k),
                self.layer_input(k)
            ),
        )
    }

    /// 4.7.12: `∂J/∂h_k = W_{k+1}ᵀ ∂J/∂z_{k+1}` (`∂J/∂o` after the last hidden layer).
    pub fn hidden_gradient(&self, k: usize) -> Formula {
        Formula::new(
            "4.7.12",
            self.layer(k),
            format!(
                "{} = {}ᵀ {}",
                gradient(&self.hidden[k - 1]),
                self.weights[k],
                self.upstream_gradient(k + 1)
            ),
        )
    }

    /// `φ'(z)` of this model's activation (Unicode), computed from `z`.
    pub fn activation_derivative_rule(&self) -> &'static str {
        match self.activation {
            Activation::Relu => "φ'(z) = [z > 0]",
            Activation::Sigmoid => "φ'(z) = σ(z)(1 - σ(z))",
            Activation::Tanh => "φ'(z) = 1 - tanh²(z)",
        }
    }

    /// 4.7.13: `∂J/∂z_k = ∂J/∂h_k ⊙ φ'(z_k)`, with this model's `φ'`.
    pub fn pre_activation_gradient(&self, k: usize) -> Formula {
        let z = &self.pre_activations[k - 1];
        Formula::new(
            "4.7.13",
            self.layer(k),
            format!(
                "{} = {} ⊙ φ'({z})",
                gradient(z),
                gradient(&self.hidden[k - 1])
            ),
        )
        .with(self.activation_derivative_rule().to_string())
    }

    /// Beyond the D2L network: `∂J/∂b_k = ∂J/∂z_k` (`∂J/∂o` for the last layer), when layer
    /// `k` has a bias.
    pub fn bias_gradient(&self, k: usize) -> Option<Formula> {
        let b = self.biases[k - 1].as_ref()?;
        Some(Formula::new(
            "bias",
            self.layer(k),
            format!("{} = {}", gradient(b), self.upstream_gradient(k)),
        ))
    }

    /// The forward equations in §4.7's order, layer by layer.
    pub fn forward(&self) -> Vec<Formula> {
        let mut formulas = Vec::new();
        for k in 1..self.depth() {
            formulas.push(self.pre_activation(k));
            formulas.push(self.hidden_output(k));
        }
        formulas.extend([self.output(), self.loss(), self.penalty(), self.objective()]);
        formulas
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::MlpConfig;

    fn d2l_network(bias: bool, hidden: Vec<usize>) -> Mlp<f64> {
        let config = MlpConfig {
            inputs: 4,
            hidden,
            outputs: 3,
            activation: Activation::Relu,
            loss: Loss::CrossEntropy,
            bias,
            weight_decay: 0.01,
        };
        Mlp::new(config, 0).unwrap()
    }

    #[test]
    fn the_d2l_networks_formulas_are_the_catalogues() {
        let f = Formulas::of(&d2l_network(false, vec![5]));
        let written = [
            f.pre_activation(1),
            f.hidden_output(1),
            f.output(),
            f.loss(),
            f.penalty(),
            f.objective(),
            f.output_gradient(),
        ];
        for (formula, entry) in written.iter().zip(&CATALOGUE) {
            assert_eq!(formula.number, entry.number);
            assert_eq!(formula.equation, entry.formula, "{}", entry.number);
        }
        let penalty = format!(
            "{}, {}",
            f.penalty_gradient(1).equation,
            f.penalty_gradient(2).equation
        );
        assert_eq!(penalty, entry("4.7.10").unwrap().formula);
        for (formula, number) in [
            (f.weight_gradient(2), "4.7.11"),
            (f.hidden_gradient(1), "4.7.12"),
            (f.pre_activation_gradient(1), "4.7.13"),
            (f.weight_gradient(1), "4.7.14"),
        ] {
            assert_eq!(formula.number, number);
            assert_eq!(formula.equation, entry(number).unwrap().formula);
        }
        assert_eq!(f.bias_gradient(1), None);
    }

    #[test]
    fn three_notations() {
        let f = Formulas::of(&d2l_network(false, vec![5]));
        let dz = f.pre_activation_gradient(1);
        assert_eq!(
            dz.render(Notation::Unicode),
            "∂J/∂z = ∂J/∂h ⊙ φ'(z), φ'(z) = [z > 0]"
        );
        assert_eq!(
            dz.render(Notation::Plain),
            "dJ/dz = dJ/dh * phi'(z), phi'(z) = [z > 0]"
        );
        assert_eq!(
            f.penalty().render(Notation::Plain),
            "s = lambda/2 (||W1||_F^2 + ||W2||_F^2), lambda = 0.01"
        );
        assert_eq!(
            f.weight_gradient(2).render(Notation::Plain),
            "dJ/dW2 = dJ/do h^T + lambda W2"
        );
        assert!(Notation::Plain.render(&markdown_table()).is_ascii());
        assert_eq!(Notation::Markdown.render("‖a | b‖"), "`‖a \\| b‖`");
    }

    #[test]
    fn deeper_models_are_named_per_layer() {
        let f = Formulas::of(&d2l_network(true, vec![5, 6]));
        assert_eq!(f.pre_activation(2).label(), "4.7.1 (layer 2)");
        assert_eq!(f.pre_activation(2).equation, "z2 = W2 h1 + b2");
        assert_eq!(f.hidden_gradient(1).equation, "∂J/∂h1 = W2ᵀ ∂J/∂z2");
        assert_eq!(f.weight_gradient(3).equation, "∂J/∂W3 = ∂J/∂o h2ᵀ + λ W3");
        assert_eq!(f.bias_gradient(1).unwrap().equation, "∂J/∂b1 = ∂J/∂z1");
        assert_eq!(f.forward().len(), 8);
    }
}
