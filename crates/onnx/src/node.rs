//! A view of one ONNX node with typed, error-reporting attribute access.

use crate::error::OnnxError;
use crate::proto::{attribute_proto::AttributeType, AttributeProto, NodeProto, TensorProto};

/// The node being converted: its proto, display name and op type.
pub(crate) struct NodeView<'a> {
    pub proto: &'a NodeProto,
    /// The node's name, or `<op_type>_<index>` when it has none.
    pub name: String,
    pub op: String,
    /// Opset version of the default domain.
    pub opset: i64,
}

impl<'a> NodeView<'a> {
    /// Wraps node number `index` of the graph.
    pub fn new(proto: &'a NodeProto, index: usize, opset: i64) -> Self {
        let op = proto.op_type.clone().unwrap_or_default();
        let name = match proto.name.as_deref() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => format!("{op}_{index}"),
        };
        NodeView {
            proto,
            name,
            op,
            opset,
        }
    }

    /// A node error.
    pub fn err(&self, reason: impl Into<String>) -> OnnxError {
        OnnxError::Node {
            node: self.name.clone(),
            op: self.op.clone(),
            reason: reason.into(),
        }
    }

    /// An attribute error.
    pub fn attr_err(&self, attribute: &str, reason: impl Into<String>) -> OnnxError {
        OnnxError::Attribute {
            node: self.name.clone(),
            op: self.op.clone(),
            attribute: attribute.to_string(),
            reason: reason.into(),
        }
    }

    /// Input names (empty string = omitted optional input).
    pub fn inputs(&self) -> &[String] {
        &self.proto.input
    }

    /// Output names.
    pub fn outputs(&self) -> &[String] {
        &self.proto.output
    }

    /// Name of input `i`, `None` when absent or empty.
    pub fn input_name(&self, i: usize) -> Option<&str> {
        self.proto
            .input
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Name of output `i` (empty when absent).
    pub fn output_name(&self, i: usize) -> &str {
        self.proto.output.get(i).map(String::as_str).unwrap_or("")
    }

    fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.proto
            .attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
    }

    /// True when the attribute is present.
    pub fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    fn typed(
        &self,
        name: &str,
        want: AttributeType,
    ) -> Result<Option<&'a AttributeProto>, OnnxError> {
        let Some(a) = self.attr(name) else {
            return Ok(None);
        };
        if a.ref_attr_name.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(self.attr_err(name, "attribute references are only valid inside functions"));
        }
        let ty = match a.r#type {
            Some(t) => AttributeType::try_from(t).unwrap_or(AttributeType::Undefined),
            // IR < 2: no discriminator; guess from the populated field.
            None => {
                if a.f.is_some() {
                    AttributeType::Float
                } else if a.i.is_some() {
                    AttributeType::Int
                } else if a.s.is_some() {
                    AttributeType::String
                } else if a.t.is_some() {
                    AttributeType::Tensor
                } else if !a.floats.is_empty() {
                    AttributeType::Floats
                } else if !a.ints.is_empty() {
                    AttributeType::Ints
                } else {
                    AttributeType::Undefined
                }
            }
        };
        if ty != want {
            return Err(self.attr_err(
                name,
                format!(
                    "expected type {}, got {}",
                    want.as_str_name(),
                    ty.as_str_name()
                ),
            ));
        }
        Ok(Some(a))
    }

    /// An INT attribute, `None` when absent.
    pub fn int_opt(&self, name: &str) -> Result<Option<i64>, OnnxError> {
        Ok(self
            .typed(name, AttributeType::Int)?
            .map(|a| a.i.unwrap_or(0)))
    }

    /// An INT attribute with a default.
    pub fn int(&self, name: &str, default: i64) -> Result<i64, OnnxError> {
        Ok(self.int_opt(name)?.unwrap_or(default))
    }

    /// A FLOAT attribute, `None` when absent.
    pub fn float_opt(&self, name: &str) -> Result<Option<f32>, OnnxError> {
        Ok(self
            .typed(name, AttributeType::Float)?
            .map(|a| a.f.unwrap_or(0.0)))
    }

    /// A FLOAT attribute with a default.
    pub fn float(&self, name: &str, default: f32) -> Result<f32, OnnxError> {
        Ok(self.float_opt(name)?.unwrap_or(default))
    }

    /// A STRING attribute, `None` when absent.
    pub fn string_opt(&self, name: &str) -> Result<Option<String>, OnnxError> {
        match self.typed(name, AttributeType::String)? {
            None => Ok(None),
            Some(a) => String::from_utf8(a.s.clone().unwrap_or_default())
                .map(Some)
                .map_err(|_| self.attr_err(name, "not valid UTF-8")),
        }
    }

    /// A STRING attribute with a default.
    pub fn string(&self, name: &str, default: &str) -> Result<String, OnnxError> {
        Ok(self
            .string_opt(name)?
            .unwrap_or_else(|| default.to_string()))
    }

    /// An INTS attribute, `None` when absent.
    pub fn ints_opt(&self, name: &str) -> Result<Option<Vec<i64>>, OnnxError> {
        Ok(self
            .typed(name, AttributeType::Ints)?
            .map(|a| a.ints.clone()))
    }

    /// A FLOATS attribute, `None` when absent.
    pub fn floats_opt(&self, name: &str) -> Result<Option<Vec<f32>>, OnnxError> {
        Ok(self
            .typed(name, AttributeType::Floats)?
            .map(|a| a.floats.clone()))
    }

    /// A TENSOR attribute, `None` when absent.
    pub fn tensor_opt(&self, name: &str) -> Result<Option<&'a TensorProto>, OnnxError> {
        Ok(self
            .typed(name, AttributeType::Tensor)?
            .and_then(|a| a.t.as_ref()))
    }

    /// An INTS attribute converted to non-negative sizes, with a default.
    pub fn usizes(&self, name: &str, default: Vec<usize>) -> Result<Vec<usize>, OnnxError> {
        match self.ints_opt(name)? {
            None => Ok(default),
            Some(v) => v
                .iter()
                .map(|&x| {
                    usize::try_from(x)
                        .map_err(|_| self.attr_err(name, format!("negative value in {v:?}")))
                })
                .collect(),
        }
    }
}
