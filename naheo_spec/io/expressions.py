"""A small, safe evaluator for column expressions such as ``ln(i0/it)``.

Users name the signal of a column file with an arithmetic expression over its
column labels (``mu="ln(i0/it)"``, ``mu="if/i0"``, ``ref="ln(it/ir)"``). The
expression is parsed with :mod:`ast` and only a whitelist of node types is
walked: column names, numbers, ``+ - * / **``, unary minus, parentheses and the
functions in :data:`FUNCTIONS`. Nothing is ever passed to :func:`eval`, so an
input such as ``__import__('os')`` is rejected, not run.
"""
from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from naheo_spec.errors import ReadError
from naheo_spec.model.collection import listing

#: Functions allowed in expressions (``log`` is the natural logarithm, as in numpy
#: and Athena; use ``log10`` for the decimal one).
FUNCTIONS = {
    "ln": np.log,
    "log": np.log,
    "log10": np.log10,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
}

MAX_LENGTH = 400

_BINOPS = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}
_IDENT = re.compile(r"(?<![\w.])([A-Za-z_]\w*)")
_KW_PREFIX = "__kw_"


@dataclass(frozen=True)
class ParsedExpression:
    """A checked expression.

    Attributes
    ----------
    text : str
        The expression as given (a leading ``mu=``/``ref=`` removed).
    names : tuple of str
        Lower-cased column names it uses, in order of first appearance.
    """

    text: str
    names: tuple[str, ...]
    tree: ast.Expression


def normalize_name(label: str) -> str:
    """Turn a column label into the lower-case identifier used in expressions.

    ``"I0"`` -> ``"i0"``, ``"Energy(eV)"`` -> ``"energy_ev"``, ``"2theta"`` -> ``"_2theta"``.
    """
    name = re.sub(r"\W+", "_", label.strip().lower()).strip("_")
    if not name:
        name = "col"
    if name[0].isdigit():
        name = "_" + name
    return name


def _protect_keywords(text: str) -> str:
    # Column labels such as "if" (fluorescence) are Python keywords; rename them so
    # ast can parse "if/i0". _name_of() undoes the renaming.
    return _IDENT.sub(lambda m: (_KW_PREFIX + m.group(1)) if keyword.iskeyword(m.group(1).lower())
                      else m.group(1), text)


def _fail(path, expr: str, role: str | None, problem: str, column: str | None = None):
    what = f"{role}={expr!r}" if role else repr(expr)
    raise ReadError(path, f"expression {what}: {problem}", column=column)


def parse_expression(text: str, *, role: str | None = None,
                     path: str | Path | None = None) -> ParsedExpression:
    """Parse and check an expression without evaluating it.

    Parameters
    ----------
    text : str
        Expression such as ``"ln(i0/it)"``; a leading ``"mu="``/``"ref="`` is allowed.
    role : str, optional
        ``"mu"`` or ``"ref"``, used in messages.
    path : str or Path, optional
        File the expression will be applied to, used in messages.

    Returns
    -------
    ParsedExpression

    Raises
    ------
    ReadError
        Syntax error, or a construct other than names, numbers, ``+ - * / **``,
        parentheses and the functions in :data:`FUNCTIONS` (attribute access,
        subscripts, keyword arguments, strings, lambdas, imports...).
    """
    if not isinstance(text, str):
        _fail(path, str(text), role, f"expected a string, got {type(text).__name__}")
    expr = text.strip()
    m = re.match(r"^\s*([A-Za-z_]\w*)\s*=(?!=)\s*(.*)$", expr, re.S)
    if m and m.group(1).lower() in ("mu", "ref", "reference", "signal"):
        expr = m.group(2).strip()
    if not expr:
        _fail(path, text, role, "is empty")
    if len(expr) > MAX_LENGTH:
        _fail(path, expr[:40] + "...", role, f"longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(_protect_keywords(expr), mode="eval")
    except SyntaxError as exc:
        _fail(path, expr, role, f"invalid syntax ({exc.msg}); expected e.g. 'ln(i0/it)' or 'if/i0'")
    names: list[str] = []
    _check(tree.body, expr, role, path, names)
    return ParsedExpression(text=expr, names=tuple(dict.fromkeys(names)), tree=tree)


def _name_of(node: ast.Name) -> str:
    n = node.id
    return n[len(_KW_PREFIX):].lower() if n.startswith(_KW_PREFIX) else n.lower()


def _check(node, expr, role, path, names: list[str]) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _check(node.left, expr, role, path, names)
        _check(node.right, expr, role, path, names)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, expr, role, path, names)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            _fail(path, expr, role, f"only numbers are allowed as constants, got {node.value!r}")
    elif isinstance(node, ast.Name):
        names.append(_name_of(node))
    elif isinstance(node, ast.Call):
        fname = node.func.id.lower() if isinstance(node.func, ast.Name) else None
        if fname not in FUNCTIONS:
            shown = ast.unparse(node.func) if hasattr(ast, "unparse") else "?"
            _fail(path, expr, role, f"function {shown!r} is not allowed; allowed: "
                                    f"{', '.join(sorted(FUNCTIONS))}")
        if node.keywords or len(node.args) != 1:
            _fail(path, expr, role, f"{fname}() takes exactly one argument")
        _check(node.args[0], expr, role, path, names)
    else:
        _fail(path, expr, role, f"{type(node).__name__} is not allowed; use column names, numbers, "
                                f"+ - * / **, parentheses and {', '.join(sorted(FUNCTIONS))}()")


def evaluate_expression(text: str | ParsedExpression, columns: Mapping[str, np.ndarray], *,
                        role: str | None = None, path: str | Path | None = None) -> np.ndarray:
    """Evaluate an expression over named columns.

    Parameters
    ----------
    text : str or ParsedExpression
        The expression, e.g. ``"ln(i0/it)"``.
    columns : mapping of str to ndarray of shape (M,)
        Column arrays keyed by name; names are matched case-insensitively.
    role : str, optional
        ``"mu"`` or ``"ref"``, used in messages.
    path : str or Path, optional
        File name, used in messages.

    Returns
    -------
    ndarray of shape (M,)
        The value; log of non-positive numbers and division by zero give NaN/inf
        silently (the caller drops and reports such rows).

    Raises
    ------
    ReadError
        Invalid expression, or a name that is not a column (the message lists the
        available columns).

    Examples
    --------
    >>> import numpy as np
    >>> cols = {"i0": np.array([10.0, 20.0]), "it": np.array([5.0, 5.0])}
    >>> np.round(evaluate_expression("ln(i0/it)", cols), 4).tolist()
    [0.6931, 1.3863]
    """
    parsed = text if isinstance(text, ParsedExpression) else parse_expression(text, role=role,
                                                                                path=path)
    lookup = {k.lower(): v for k, v in columns.items()}
    for name in parsed.names:
        if name not in lookup:
            _fail(path, parsed.text, role, f"unknown name {name!r}; available columns: "
                                           f"{listing(list(columns)) or '(none)'}", column=name)
    with np.errstate(all="ignore"):
        value = _eval(parsed.tree.body, lookup)
    size = len(next(iter(lookup.values()))) if lookup else 1
    return np.broadcast_to(np.asarray(value, dtype=float), (size,)).copy()


def _eval(node, cols: Mapping[str, np.ndarray]):
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, cols), _eval(node.right, cols))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, cols))
    if isinstance(node, ast.Constant):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        return np.asarray(cols[_name_of(node)], dtype=float)
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id.lower()](_eval(node.args[0], cols))
    raise AssertionError(f"unchecked node {type(node).__name__}")  # _check rejects these first
