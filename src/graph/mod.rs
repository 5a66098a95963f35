//! The computational graph: variables and operators as nodes, forward propagation in
//! dependency order, backward propagation in reverse topological order.
//!
//! As in §4.7's figure (4.7.1), the graph has two kinds of nodes. A *variable* holds a tensor:
//! an input (`x`, the labels `y`), a parameter (`W1`, `W2`, biases) or an intermediate
//! (`z`, `h`, `o`, `L`, `s`, `J`). An *operator* reads variables and writes exactly one
//! variable. The graph is built once, then evaluated many times: [`Graph::forward`] runs the
//! operators in the order they were added (an operator can only read variables that exist,
//! so that order is a dependency order), [`Graph::backward`] walks from the objective back
//! to the parameters.
//!
//! Gradients live in a store apart from the values. A variable gets a gradient only if it
//! leads to a parameter ([`Graph::requires_grad`]): the input `x` and the labels never do,
//! and every branch that leads to no parameter is skipped.
//!
//! **What backward leaves.** After [`Graph::backward`] from `J`, the gradient store holds
//! `dJ/dv` for every variable `v` that leads to a parameter and that `J` depends on, whoever
//! reads it afterwards: [`Graph::grad`] gives it. For a weight this is the whole gradient
//! of the objective, the L2 term's `λ W` (4.7.10) included: the graph is the one place that
//! differentiates the decay term (the rule of [`Op::SquaredFrobenius`]), and an optimiser
//! uses the stored gradient as it is.
//!
//! **Moved, not copied.** A gradient that an operator passes on unchanged
//! ([`Op::passes_gradient_through`]: the `Z` of `Z + b`, both terms of `A + B`) is moved to
//! that input instead of copied when the input has no other consumer: the output and the
//! input then share one buffer, and [`Graph::grad`] of either gives it (the two gradients
//! are equal by the operator's rule).
//!
//! **Added, not stored apart.** A gradient that is a multiple of the variable itself
//! ([`Op::gradient_as_multiple_of_input`]: the decay term's `λ W`, 4.7.10) is not stored in a
//! pass of its own when the variable's next rule can add it as it stores its own
//! ([`Op::vjp_plus_multiple_of_input`]): a weight's gradient `dZᵀ X + λ W` (4.7.11, 4.7.14)
//! is written once, by the product, with the bits the two passes would give.
//!
//! **Calling backward twice.** Like PyTorch, parameter gradients *accumulate*: each
//! [`Graph::backward`] adds its gradient to what the parameters already hold, until
//! [`Graph::zero_grad`]. The gradients of intermediates are scratch space that every
//! backward call recomputes from scratch.

pub mod ops;

use crate::tensor::{Element, Shape, Tensor, Write};
pub use ops::{Activation, Op, OpError, SavedTensor};

/// A variable of a [`Graph`]: an index into its variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub usize);

/// An operator of a [`Graph`]: an index into its operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub usize);

/// What role a variable plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VarKind {
    /// Data fed in from outside (`x`, `y`); never has a gradient.
    Input,
    /// A learnable parameter (`W_k`, `b_k`); always has a gradient.
    Parameter,
    /// The output of an operator.
    Intermediate,
}

/// The description of a variable node.
#[derive(Clone, Debug)]
pub struct Variable {
    /// Its name, as §4.7 writes it (`x`, `W1`, `z`, `h`, ...).
    pub name: String,
    /// Its role.
    pub kind: VarKind,
    /// The operator that writes it, for intermediates.
    pub producer: Option<OpId>,
    /// Whether it leads to a parameter, so that backward computes its gradient.
    pub requires_grad: bool,
}

/// An operator node: what it computes, what it reads and what it writes.
#[derive(Clone, Debug)]
pub struct Operator<T> {
    /// The computation, with its forward and backward rules.
    pub op: Op<T>,
    /// The variables it reads, in the order the operator defines.
    pub inputs: Vec<VarId>,
    /// The variable it writes.
    pub output: VarId,
}

/// Why the graph could not be built or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphError {
    /// An operator rejected its inputs.
    #[error("operator producing '{output}': {source}")]
    Op {
        /// The name of the variable the operator writes.
        output: String,
        /// What the operator said.
        source: OpError,
    },
    /// The objective of backward is not a `1 x 1` variable.
    #[error("backward needs a scalar objective, but '{name}' is {shape}")]
    NotScalar {
        /// Its name.
        name: String,
        /// Its shape.
        shape: Shape,
    },
    /// A value given for an input has the wrong number of columns or elements.
    #[error("input '{name}' is {expected} per batch, got {got}")]
    InputShape {
        /// The input's name.
        name: String,
        /// What it expects (the column count is fixed when the graph is built).
        expected: String,
        /// What was given.
        got: String,
    },
    /// Only inputs can be set from outside.
    #[error("'{name}' is not an input of the graph")]
    NotAnInput {
        /// Its name.
        name: String,
    },
}

/// A computational graph over tensors of `T` (`f32` to train, `f64` to check).
#[derive(Clone, Debug)]
pub struct Graph<T> {
    variables: Vec<Variable>,
    values: Vec<Tensor<T>>,
    /// The gradient store: `grads[v]` is `dJ/dv` for variables that require a gradient.
    grads: Vec<Tensor<T>>,
    /// Whether `grads[v]` holds a gradient (since the start of this backward pass for
    /// intermediates, since the last `zero_grad` for parameters).
    grad_written: Vec<bool>,
    /// `Some(u)` when this backward pass moved `v`'s gradient to its input `u` (so
    /// `dJ/dv = dJ/du`, held by `u`, or by whichever variable `u`'s was moved on to).
    grad_moved_to: Vec<Option<VarId>>,
    /// `Some(c)` while this backward pass owes `v`'s gradient the term `c · v` (an operator's
    /// [`Op::gradient_as_multiple_of_input`]), to be added by the next rule that writes it.
    pending_multiple: Vec<Option<T>>,
    /// How many times each variable is read by an operator as an input that may carry a
    /// gradient: a gradient is moved only into a variable read once.
    consumers: Vec<usize>,
    operators: Vec<Operator<T>>,
    /// Cached reverse topological order of the operators that the last objective depends on.
    backward_order: Option<(VarId, Vec<OpId>)>,
}

impl<T: Element> Default for Graph<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Graph<T> {
    /// An empty graph.
    pub fn new() -> Self {
        Graph {
            variables: Vec::new(),
            values: Vec::new(),
            grads: Vec::new(),
            grad_written: Vec::new(),
            grad_moved_to: Vec::new(),
            pending_multiple: Vec::new(),
            consumers: Vec::new(),
            operators: Vec::new(),
            backward_order: None,
        }
    }

    fn add_variable(&mut self, name: &str, kind: VarKind, value: Tensor<T>) -> VarId {
        let id = VarId(self.variables.len());
        self.variables.push(Variable {
            name: name.to_string(),
            kind,
            producer: None,
            requires_grad: kind == VarKind::Parameter,
        });
        self.values.push(value);
        self.grads.push(Tensor::default());
        self.grad_written.push(false);
        self.grad_moved_to.push(None);
        self.pending_multiple.push(None);
        self.consumers.push(0);
        id
    }

    /// Adds an input variable of shape `rows x cols`. The number of rows (the batch size) may
    /// change at every [`Graph::set_input`]; the number of columns is fixed.
    pub fn input(&mut self, name: &str, rows: usize, cols: usize) -> VarId {
        self.add_variable(name, VarKind::Input, Tensor::zeros(rows, cols))
    }

    /// Adds a parameter with its initial value.
    pub fn parameter(&mut self, name: &str, value: Tensor<T>) -> VarId {
        self.add_variable(name, VarKind::Parameter, value)
    }

    /// Adds an operator reading `inputs` and returns the variable it writes, named `name`.
    /// Shapes are checked now, with the inputs' current shapes.
    pub fn apply(&mut self, op: Op<T>, inputs: &[VarId], name: &str) -> Result<VarId, GraphError> {
        let shapes: Vec<Shape> = inputs.iter().map(|v| self.values[v.0].shape()).collect();
        let shape = op.output_shape(&shapes).map_err(|source| GraphError::Op {
            output: name.to_string(),
            source,
        })?;
        let requires_grad = inputs
            .iter()
            .enumerate()
            .any(|(i, v)| op.is_differentiable_input(i) && self.variables[v.0].requires_grad);
        let output = self.add_variable(
            name,
            VarKind::Intermediate,
            Tensor::zeros(shape.rows, shape.cols),
        );
        for (i, v) in inputs.iter().enumerate() {
            if op.is_differentiable_input(i) {
                self.consumers[v.0] += 1;
            }
        }
        let op_id = OpId(self.operators.len());
        self.variables[output.0].producer = Some(op_id);
        self.variables[output.0].requires_grad = requires_grad;
        self.operators.push(Operator {
            op,
            inputs: inputs.to_vec(),
            output,
        });
        self.backward_order = None;
        Ok(output)
    }

    /// 4.7.1 / 4.7.3 in batch form: `Z = X Wᵀ`.
    pub fn matmul(&mut self, x: VarId, w: VarId, name: &str) -> Result<VarId, GraphError> {
        self.apply(Op::MatMul, &[x, w], name)
    }

    /// `Z + b`, with the `1 x n` bias added to every row.
    pub fn add_bias(&mut self, z: VarId, b: VarId, name: &str) -> Result<VarId, GraphError> {
        self.apply(Op::AddBias, &[z, b], name)
    }

    /// 4.7.2: `H = phi(Z)`.
    pub fn activation(
        &mut self,
        phi: Activation,
        z: VarId,
        name: &str,
    ) -> Result<VarId, GraphError> {
        self.apply(Op::Activation(phi), &[z], name)
    }

    /// 4.7.4 with cross-entropy: per-sample losses `-log softmax(o_i)_{y_i}`.
    pub fn softmax_cross_entropy(
        &mut self,
        o: VarId,
        y: VarId,
        name: &str,
    ) -> Result<VarId, GraphError> {
        self.apply(Op::softmax_cross_entropy(), &[o, y], name)
    }

    /// 4.7.4 with squared loss: per-sample losses `1/2 ||o_i - onehot(y_i)||²`.
    pub fn squared_loss(&mut self, o: VarId, y: VarId, name: &str) -> Result<VarId, GraphError> {
        self.apply(Op::SquaredLoss, &[o, y], name)
    }

    /// `||W||_F²`.
    pub fn squared_frobenius(&mut self, w: VarId, name: &str) -> Result<VarId, GraphError> {
        self.apply(Op::SquaredFrobenius, &[w], name)
    }

    /// `A + B`.
    pub fn add(&mut self, a: VarId, b: VarId, name: &str) -> Result<VarId, GraphError> {
        self.apply(Op::Add, &[a, b], name)
    }

    /// `c A`.
    pub fn scale(&mut self, a: VarId, c: T, name: &str) -> Result<VarId, GraphError> {
        self.apply(Op::Scale(c), &[a], name)
    }

    /// The mean of all elements of `A`.
    pub fn mean(&mut self, a: VarId, name: &str) -> Result<VarId, GraphError> {
        self.apply(Op::Mean, &[a], name)
    }

    /// Resizes input `id` to `rows` rows and returns its elements to be filled in place
    /// (row-major, `rows x cols`). No allocation once the graph has seen that many rows.
    pub fn input_mut(&mut self, id: VarId, rows: usize) -> Result<&mut [T], GraphError> {
        let var = &self.variables[id.0];
        if var.kind != VarKind::Input {
            return Err(GraphError::NotAnInput {
                name: var.name.clone(),
            });
        }
        let cols = self.values[id.0].cols();
        self.values[id.0].reshape_in_place(Shape::new(rows, cols));
        Ok(self.values[id.0].as_mut_slice())
    }

    /// Sets input `id` to `value`; its number of columns must be the input's.
    pub fn set_input(&mut self, id: VarId, value: &Tensor<T>) -> Result<(), GraphError> {
        let cols = self.values[id.0].cols();
        if value.cols() != cols {
            return Err(GraphError::InputShape {
                name: self.variables[id.0].name.clone(),
                expected: format!("B x {cols}"),
                got: value.shape().to_string(),
            });
        }
        self.input_mut(id, value.rows())?
            .copy_from_slice(value.as_slice());
        Ok(())
    }

    /// Forward propagation: evaluates every operator in dependency order, re-deriving the
    /// intermediates' shapes from the inputs' current batch size.
    pub fn forward(&mut self) -> Result<(), GraphError> {
        for node in &mut self.operators {
            let mut out = std::mem::take(&mut self.values[node.output.0]);
            let result = (|| {
                let inputs = input_values(&self.values, &node.inputs);
                let inputs = &inputs[..node.inputs.len()];
                let shapes = [inputs[0].shape(), inputs[inputs.len() - 1].shape()];
                let shape = node.op.output_shape(&shapes[..inputs.len()])?;
                out.reshape_in_place(shape);
                node.op.forward(inputs, &mut out)
            })();
            self.values[node.output.0] = out;
            result.map_err(|source| GraphError::Op {
                output: self.variables[node.output.0].name.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// The operators that `target` depends on, in reverse topological order (the target's
    /// producer first), found by an iterative depth-first search (no recursion, so no depth
    /// limit).
    pub fn reverse_topological_order(&self, target: VarId) -> Vec<OpId> {
        let mut visited = vec![false; self.operators.len()];
        let mut post_order = Vec::new();
        // Each stack entry is an operator and how many of its inputs were explored.
        let mut stack: Vec<(OpId, usize)> = Vec::new();
        if let Some(op) = self.variables[target.0].producer {
            visited[op.0] = true;
            stack.push((op, 0));
        }
        while let Some((op, next_input)) = stack.pop() {
            let inputs = &self.operators[op.0].inputs;
            if next_input < inputs.len() {
                stack.push((op, next_input + 1));
                if let Some(producer) = self.variables[inputs[next_input].0].producer {
                    if !visited[producer.0] {
                        visited[producer.0] = true;
                        stack.push((producer, 0));
                    }
                }
            } else {
                post_order.push(op);
            }
        }
        post_order.reverse();
        post_order
    }

    /// Backward propagation from the scalar `target` (the objective `J`): `dJ/dJ = 1`, then
    /// each operator, in reverse topological order, turns the gradient of its output into
    /// gradients of its inputs ([`Op::vjp`]). A variable that feeds several operators sums
    /// their contributions. Operators whose output leads to no parameter are skipped.
    ///
    /// Afterwards [`Graph::grad`] gives `dJ/dv` for every variable that leads to a parameter
    /// (weights: `λ W` included), however the result is read; a gradient passed on unchanged
    /// is moved rather than copied (see the module documentation). Parameter gradients
    /// accumulate across calls until [`Graph::zero_grad`]. Call [`Graph::forward`] first.
    pub fn backward(&mut self, target: VarId) -> Result<(), GraphError> {
        let shape = self.values[target.0].shape();
        if shape != Shape::SCALAR {
            return Err(GraphError::NotScalar {
                name: self.variables[target.0].name.clone(),
                shape,
            });
        }
        if self.backward_order.as_ref().map(|(t, _)| *t) != Some(target) {
            self.backward_order = Some((target, self.reverse_topological_order(target)));
        }
        for (v, var) in self.variables.iter().enumerate() {
            if var.kind != VarKind::Parameter {
                self.grad_written[v] = false;
            }
        }
        self.grad_moved_to.fill(None);
        self.pending_multiple.fill(None);
        if !self.variables[target.0].requires_grad {
            return Ok(());
        }
        self.grads[target.0].reshape_in_place(Shape::SCALAR);
        self.grads[target.0].as_mut_slice()[0] = T::ONE;
        self.grad_written[target.0] = true;

        let order = self.backward_order.take().expect("order computed above");
        for &op_id in &order.1 {
            let out = self.operators[op_id.0].output.0;
            // The output's gradient may still be owed as a multiple of itself: stored now.
            self.store_pending_multiple(out);
            let node = &self.operators[op_id.0];
            if !self.variables[out].requires_grad || !self.grad_written[out] {
                continue;
            }
            // The input that takes the output's gradient buffer itself, after every other
            // input has read it: the first one that passes it through, has no gradient yet
            // and no other consumer (so its gradient stays equal to the output's).
            let moved = node.inputs.iter().enumerate().position(|(i, input)| {
                node.op.passes_gradient_through(i)
                    && self.variables[input.0].requires_grad
                    && !self.grad_written[input.0]
                    && self.pending_multiple[input.0].is_none()
                    && input.0 != out
                    && self.consumers[input.0] == 1
            });
            for (i, &input) in node.inputs.iter().enumerate() {
                let v = input.0;
                if !node.op.is_differentiable_input(i)
                    || !self.variables[v].requires_grad
                    || moved == Some(i)
                {
                    continue;
                }
                // A first gradient that is a multiple of the input itself (the decay term's
                // `λ W`) waits for the input's next rule, which adds it as it stores its own.
                if !self.grad_written[v] && self.pending_multiple[v].is_none() {
                    let multiple = node.op.gradient_as_multiple_of_input(i, &self.grads[out]);
                    if multiple.is_some() {
                        self.pending_multiple[v] = multiple;
                        continue;
                    }
                }
                let mut grad = std::mem::take(&mut self.grads[v]);
                grad.reshape_in_place(self.values[v].shape());
                let inputs = input_values(&self.values, &node.inputs);
                let inputs = &inputs[..node.inputs.len()];
                let (out_value, out_grad) = (&self.values[out], &self.grads[out]);
                let write = match self.pending_multiple[v].take() {
                    None if self.grad_written[v] => Some(Write::Accumulate),
                    None => Some(Write::Overwrite),
                    Some(multiple) => {
                        let (op, grad) = (&node.op, &mut grad);
                        if op.vjp_plus_multiple_of_input(i, inputs, out_grad, grad, multiple) {
                            None
                        } else {
                            // This rule cannot add the term: it is stored first, the rule
                            // adds to it.
                            ops::store_multiple_of_input(
                                grad,
                                &self.values[v],
                                multiple,
                                Write::Overwrite,
                            );
                            Some(Write::Accumulate)
                        }
                    }
                };
                if let Some(write) = write {
                    node.op
                        .vjp(i, inputs, out_value, out_grad, &mut grad, write);
                }
                self.grads[v] = grad;
                self.grad_written[v] = true;
            }
            if let Some(i) = moved {
                let v = node.inputs[i];
                self.grads.swap(v.0, out);
                self.grad_written[v.0] = true;
                self.grad_written[out] = false;
                self.grad_moved_to[out] = Some(v);
            }
        }
        self.backward_order = Some(order);
        // Terms that no later rule took: stored on their own.
        for v in 0..self.variables.len() {
            self.store_pending_multiple(v);
        }
        Ok(())
    }

    /// Stores the gradient term `v` is owed as a multiple of itself, if any, on its own.
    fn store_pending_multiple(&mut self, v: usize) {
        if let Some(multiple) = self.pending_multiple[v].take() {
            self.grads[v].reshape_in_place(self.values[v].shape());
            ops::store_multiple_of_input(
                &mut self.grads[v],
                &self.values[v],
                multiple,
                Write::Overwrite,
            );
            self.grad_written[v] = true;
        }
    }

    /// The variable whose buffer holds `dJ/d(id)`: `id` itself, or where backward moved it.
    fn gradient_holder(&self, id: VarId) -> usize {
        let mut holder = id;
        while let Some(next) = self.grad_moved_to[holder.0] {
            holder = next;
        }
        holder.0
    }

    /// Forgets all parameter gradients (the next backward overwrites instead of adding).
    pub fn zero_grad(&mut self) {
        self.grad_written.fill(false);
        self.grad_moved_to.fill(None);
    }

    /// The value of a variable.
    pub fn value(&self, id: VarId) -> &Tensor<T> {
        &self.values[id.0]
    }

    /// The value of a parameter, to change it (an optimiser's update, loading weights).
    /// Its shape must be kept.
    pub fn parameter_mut(&mut self, id: VarId) -> &mut Tensor<T> {
        assert_eq!(self.variables[id.0].kind, VarKind::Parameter);
        &mut self.values[id.0]
    }

    /// `dJ/dv` from the last backward pass (accumulated, for parameters), or `None` when
    /// no gradient was computed for the variable (it leads to no parameter, or backward
    /// did not reach it). A gradient that backward moved to an input is read from there.
    pub fn grad(&self, id: VarId) -> Option<&Tensor<T>> {
        let holder = self.gradient_holder(id);
        self.grad_written[holder].then(|| &self.grads[holder])
    }

    /// A parameter's value, to update, together with its gradient (`None` if none was
    /// computed since the last `zero_grad`).
    pub fn parameter_and_grad_mut(&mut self, id: VarId) -> (&mut Tensor<T>, Option<&Tensor<T>>) {
        assert_eq!(self.variables[id.0].kind, VarKind::Parameter);
        let grad = self.grad_written[id.0].then(|| &self.grads[id.0]);
        (&mut self.values[id.0], grad)
    }

    /// Whether backward computes a gradient for `id` (it leads to a parameter).
    pub fn requires_grad(&self, id: VarId) -> bool {
        self.variables[id.0].requires_grad
    }

    /// The variable nodes, indexed by [`VarId`].
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The operator nodes, indexed by [`OpId`], in the order forward evaluates them.
    pub fn operators(&self) -> &[Operator<T>] {
        &self.operators
    }

    /// The parameters, in the order they were added.
    pub fn parameters(&self) -> impl Iterator<Item = VarId> + '_ {
        self.variables
            .iter()
            .enumerate()
            .filter(|(_, v)| v.kind == VarKind::Parameter)
            .map(|(i, _)| VarId(i))
    }

    /// Finds a variable by name.
    pub fn find(&self, name: &str) -> Option<VarId> {
        self.variables
            .iter()
            .position(|v| v.name == name)
            .map(VarId)
    }

    /// The tensors that forward propagation keeps because backward reads them: for each,
    /// the variable it belongs to (or the operator that owns it) and its size in elements at
    /// the current batch size. Parameters are not listed: the model holds them anyway.
    pub fn saved_for_backward(&self) -> Vec<SavedForBackward> {
        let mut saved: Vec<SavedForBackward> = Vec::new();
        for (op_index, node) in self.operators.iter().enumerate() {
            let needs: Vec<bool> = node
                .inputs
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    node.op.is_differentiable_input(i) && self.variables[v.0].requires_grad
                })
                .collect();
            for tensor in node.op.saved_for_backward(&needs) {
                let entry = match tensor {
                    SavedTensor::Input(i) => SavedForBackward::Variable(node.inputs[i]),
                    SavedTensor::Output => SavedForBackward::Variable(node.output),
                    SavedTensor::Internal { elements } => SavedForBackward::OperatorBuffer {
                        op: OpId(op_index),
                        elements,
                    },
                };
                if let SavedForBackward::Variable(v) = entry {
                    if self.variables[v.0].kind == VarKind::Parameter {
                        continue;
                    }
                }
                if !saved.contains(&entry) {
                    saved.push(entry);
                }
            }
        }
        saved
    }
}

/// The values of an operator's inputs (at most two), without allocating: slice the result to
/// the operator's arity.
fn input_values<'a, T>(values: &'a [Tensor<T>], inputs: &[VarId]) -> [&'a Tensor<T>; 2] {
    let first = &values[inputs[0].0];
    let second = inputs.get(1).map_or(first, |v| &values[v.0]);
    [first, second]
}

/// One tensor kept by forward propagation for backward (see [`Graph::saved_for_backward`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavedForBackward {
    /// The value of a variable.
    Variable(VarId),
    /// A buffer owned by an operator (softmax probabilities), with its size in elements.
    OperatorBuffer {
        /// The operator.
        op: OpId,
        /// Its size in elements.
        elements: usize,
    },
}
