//! Reading a script's rows for the copy pipeline and for verification: the shared
//! [`lightning_core::sql_script::ScriptSource`], with T-SQL's literals.

use lightning_core::cast::{Resolved, SourceType};
use lightning_core::sql_script::{self, ScriptValues};
use lightning_core::Value;

use crate::mapping;
use crate::script::lex::Tsql;
use crate::script::Literal;

pub type ScriptSource = sql_script::ScriptSource<Tsql>;

impl ScriptValues for Tsql {
    fn convert(value: &Literal, ty: &SourceType, r: &Resolved) -> Result<Value, String> {
        mapping::convert(value, ty, r)
    }

    fn as_text(value: &Literal) -> Value {
        match value {
            Literal::Null => Value::Null,
            Literal::Num(n) => Value::Text(n.clone()),
            Literal::Str(s) => Value::Text(s.clone()),
            Literal::Bin(b) => Value::Blob(b.clone()),
        }
    }
}
