"""MySQL expressions read into a tree: a precedence-climbing parser over ``lexer``'s tokens.

What it reads is the table-less SELECT the persona answers: ``select_list [FROM DUAL | FROM
(subquery) alias] [WHERE expr] [LIMIT n [, m]]``, with MySQL 8.0's operators at MySQL's
precedence (OR ``||`` < XOR < AND ``&&`` < NOT < comparisons, IS, LIKE, IN, BETWEEN < ``|`` <
``&`` < shifts < ``+ -`` < ``* / DIV % MOD`` < ``^`` < unary ``- ~`` < ``!``), its literals
(``0x41``, ``X'41'``, ``b'1'``, ``_utf8mb4'a'``, ``N'a'``, adjacent strings concatenated, backslash
escapes), variables, CASE, scalar subqueries and the special call syntaxes (CAST, CONVERT,
SUBSTRING ... FROM ... FOR, TRIM, POSITION, EXTRACT, TIMESTAMPADD).

Rules this module keeps: one regular-expression pass makes the tokens, and the parser never
backtracks, so the cost is linear in the statement (at most ``text.MAX_ANALYSED`` characters);
nesting deeper than ``MAX_DEPTH`` is a syntax error rather than a recursion error. A syntax error
raises ``SyntaxFault`` with the offset MySQL's 1064 message quotes from. Nodes are plain tuples
whose first item names them; ``evaluate`` gives them meaning.
"""

from __future__ import annotations

import functools
from typing import Any, Final, NamedTuple

from honeypods.mysql.sql.calls import CallSyntax
from honeypods.mysql.sql.lexer import (
    BARE_CALLS,
    COMPARISONS,
    RESERVED,
    SyntaxFault,
    Tok,
    tokenize,
    unescape,
)

# Parentheses, CASEs and calls one expression may nest; MySQL's own limit is its thread stack.
MAX_DEPTH: Final = 48


class Item(NamedTuple):
    """One select-list entry: its tree, and the column name MySQL gives it."""

    node: tuple[Any, ...]
    name: str


class Query(NamedTuple):
    items: tuple[Item, ...]
    source: Query | None  # FROM (subquery) alias
    where: tuple[Any, ...] | None
    limit: int | None
    offset: int


class _Parser(CallSyntax):
    __slots__ = ("depth", "i", "text", "toks")

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Tok:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def fault(self) -> SyntaxFault:
        return SyntaxFault(self.peek().pos)

    def is_word(self, *words: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "name" and tok.text.lower() in words

    def word(self, *words: str) -> str:
        """The next word if it is one of ``words`` (taken), else ""."""
        if self.is_word(*words):
            return self.take().text.lower()
        return ""

    def is_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.text in ops

    def expect(self, op: str) -> None:
        if not self.is_op(op):
            raise self.fault()
        self.i += 1

    def expect_word(self, word: str) -> None:
        if not self.word(word):
            raise self.fault()

    # -- statements ---------------------------------------------------------------------------------

    def query(self) -> Query:
        items = [self.item()]
        while self.is_op(","):
            self.i += 1
            items.append(self.item())
        source = None
        if self.word("from"):
            if self.word("dual"):
                pass
            elif self.is_op("(") and self.is_word("select", ahead=1):
                self.i += 2
                source = self.subquery()
                self.word("as")
                if self.peek().kind != "name" or self.is_word(*RESERVED):
                    raise self.fault()  # every derived table must have its own alias
                self.i += 1
            else:
                raise self.fault()
        where = self.expr() if self.word("where") else None
        limit, offset = None, 0
        if self.word("limit"):
            limit = self.count()
            if self.is_op(","):
                self.i += 1
                offset, limit = limit, self.count()
            elif self.word("offset"):
                offset = self.count()
        return Query(tuple(items), source, where, limit, offset)

    def subquery(self) -> Query:
        """The rest of ``(SELECT ...)`` after its SELECT, through its closing parenthesis."""
        self.enter()
        inner = self.query()
        self.expect(")")
        self.depth -= 1
        return inner

    def count(self) -> int:
        tok = self.take()
        if tok.kind != "num" or not tok.text.isdigit():
            raise SyntaxFault(tok.pos)
        return int(tok.text)

    def item(self) -> Item:
        start = self.peek().pos
        if self.is_op("*"):
            raise self.fault()  # SELECT * without tables: 1096, close enough as a syntax error
        node = self.expr()
        name = self.text[start : self.toks[self.i - 1].end].strip()
        if node[0] == "lit" and node[2] in ("str", "bin") and node[3]:
            name = node[3]  # a string literal's column is named by its (first) value
        if self.word("as") or (self.peek().kind in ("name", "str") and not self.is_word(*RESERVED)):
            tok = self.take()
            if tok.kind not in ("name", "str"):
                raise SyntaxFault(tok.pos)
            name = tok.text[1:-1] if tok.text[:1] in "`'\"" else tok.text
        return Item(node, name)

    # -- expressions, lowest precedence first -------------------------------------------------------

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fault()

    def expr(self) -> tuple[Any, ...]:
        self.enter()
        node = self.xor()
        while self.is_word("or") or self.is_op("||"):
            self.i += 1
            node = ("or", node, self.xor())
        self.depth -= 1
        return node

    def xor(self) -> tuple[Any, ...]:
        node = self.conj()
        while self.word("xor"):
            node = ("xor", node, self.conj())
        return node

    def conj(self) -> tuple[Any, ...]:
        node = self.negation()
        while self.is_word("and") or self.is_op("&&"):
            self.i += 1
            node = ("and", node, self.negation())
        return node

    def negation(self) -> tuple[Any, ...]:
        if self.word("not"):
            self.enter()
            node = ("not", self.negation())
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self) -> tuple[Any, ...]:
        node = self.bits(0)
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.text in COMPARISONS:
                self.i += 1
                if self.is_word("any", "some", "all"):
                    raise self.fault()
                node = ("cmp", tok.text, node, self.bits(0))
                continue
            if self.word("is"):
                negated = bool(self.word("not"))
                what = self.word("null", "true", "false", "unknown")
                if not what:
                    raise self.fault()
                node = ("is", node, what, negated)
                continue
            negated = self.is_word("not") and self.is_word(
                "in", "like", "between", "regexp", "rlike", ahead=1
            )
            if negated:
                self.i += 1
            if self.word("in"):
                self.expect("(")
                values = [self.expr()]
                while self.is_op(","):
                    self.i += 1
                    values.append(self.expr())
                self.expect(")")
                node = ("in", node, tuple(values), negated)
            elif self.word("like"):
                pattern = self.bits(0)
                escape = self.bits(0) if self.word("escape") else None
                node = ("like", node, pattern, escape, negated)
            elif self.word("between"):
                low = self.bits(0)
                self.expect_word("and")
                node = ("between", node, low, self.bits(0), negated)
            elif self.word("regexp", "rlike"):
                node = ("regexp", node, self.bits(0), negated)
            elif negated:
                raise self.fault()
            else:
                return node

    # Binary operators from | to ^, each level binding tighter than the one before.
    _LEVELS: Final = (
        ("|",),
        ("&",),
        ("<<", ">>"),
        ("+", "-"),
        ("*", "/", "%", "div", "mod"),
        ("^",),
    )

    def bits(self, level: int) -> tuple[Any, ...]:
        if level == len(self._LEVELS):
            return self.unary()
        ops = self._LEVELS[level]
        node = self.bits(level + 1)
        while True:
            tok = self.peek()
            op = tok.text.lower()
            if op not in ops or tok.kind not in ("op", "name"):
                return node
            self.i += 1
            node = ("op", "%" if op == "mod" else op, node, self.bits(level + 1))

    def unary(self) -> tuple[Any, ...]:
        tok = self.peek()
        if (tok.kind == "op" and tok.text in ("-", "+", "~", "!")) or self.is_word("binary"):
            self.i += 1
            self.enter()
            operand = self.unary()
            self.depth -= 1
            op = tok.text.lower()
            if op == "-" and operand[0] == "lit" and operand[2] in ("int", "dec", "real"):
                return ("lit", -operand[1], operand[2], "")
            return operand if op == "+" else ("unary", op, operand)
        node = self.primary()
        if self.word("collate"):
            self.name()
        return node

    def name(self) -> str:
        tok = self.take()
        if tok.kind not in ("name", "str"):
            raise SyntaxFault(tok.pos)
        return tok.text.strip("`'\"").lower()

    def primary(self) -> tuple[Any, ...]:
        tok = self.take()
        kind = tok.kind
        if kind == "num":
            text = tok.text
            if "e" in text or "E" in text:
                return ("lit", float(text), "real", "")
            if "." in text:
                return ("lit", text, "dec", "")
            return ("lit", int(text), "int", "")
        if kind == "str":
            value = unescape(tok.text[1:-1], tok.text[0])
            while self.peek().kind == "str":  # 'a' 'b' is 'ab'
                more = self.take().text
                value += unescape(more[1:-1], more[0])
            return ("lit", value, "str", unescape(tok.text[1:-1], tok.text[0]))
        if kind == "hex":
            digits = tok.text[2:].rstrip("'")
            if len(digits) % 2:
                digits = "0" + digits
            return ("lit", bytes.fromhex(digits), "bin", "")
        if kind == "bits":
            digits = tok.text[2:].rstrip("'") or "0"
            bits = int(digits, 2)
            return ("lit", bits.to_bytes((len(digits) + 7) // 8, "big"), "bin", "")
        if kind == "sys":
            scope, _, name = tok.text[2:].lower().rpartition(".")
            return ("sysvar", name, scope)
        if kind == "user":
            return ("uservar", tok.text[1:].strip("`'").lower())
        if kind == "op" and tok.text == "(":
            if self.word("select"):
                return ("subquery", self.subquery())
            self.enter()
            node = self.expr()
            if self.is_op(","):
                raise self.fault()  # row constructors: MySQL's 1241, rarely sent
            self.expect(")")
            self.depth -= 1
            return node
        if kind != "name":
            raise SyntaxFault(tok.pos)
        word = tok.text.lower()
        if tok.text[0] == "`":
            return ("column", tok.text[1:-1])
        if word == "null":
            return ("lit", None, "null", "")
        if word in ("true", "false"):
            return ("lit", int(word == "true"), "int", "")
        following = self.peek().kind
        if (word[:1] == "_" and following in ("str", "hex")) or (
            word == "n" and following == "str"
        ):
            # A character set introducer: _binary makes a binary string, the others text.
            literal = self.primary()
            value = literal[1]
            if word == "_binary":
                data = value.encode() if isinstance(value, str) else value
                return ("lit", data, "bin", literal[3])
            if isinstance(value, bytes):
                return ("lit", value.decode("utf-8", "replace"), "str", "")
            return literal
        if word == "case":
            return self.case()
        if word == "exists" and self.is_op("("):
            self.i += 1
            self.expect_word("select")
            return ("exists", self.subquery())
        if word == "interval":
            raise SyntaxFault(tok.pos)  # INTERVAL outside DATE_ADD: not a value of its own
        if self.is_op("("):
            self.i += 1
            self.enter()
            node = (*self.call(word), tok.text)
            self.depth -= 1
            return node
        if word in BARE_CALLS:
            return ("call", word, (), "", tok.text)
        if word in RESERVED:
            raise SyntaxFault(tok.pos)
        return ("column", tok.text)


@functools.lru_cache(maxsize=512)
def parse_query(text: str) -> Query:
    """The table-less SELECT after its SELECT word; cached, as clients repeat their queries.

    Raises:
        SyntaxFault: the text is not one.
    """
    parser = _Parser(text)
    query = parser.query()
    if parser.peek().kind != "end":
        raise parser.fault()
    return query
