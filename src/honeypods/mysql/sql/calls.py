"""The special syntaxes of MySQL calls and CASE, as a mixin of the expression parser.

CAST(x AS type), CONVERT(x, type) and CONVERT(x USING charset), SUBSTRING(x FROM p FOR n),
TRIM([LEADING|TRAILING|BOTH] [r] FROM x), POSITION(a IN b), EXTRACT(unit FROM x), the date
arithmetic (TIMESTAMPADD, DATE_ADD ... INTERVAL n unit) and CHAR(... USING charset): each becomes
a plain ``("call", name, args, extra)`` node, ``extra`` holding the type, charset or unit.
"""

from __future__ import annotations

from typing import Any

from honeypods.mysql.sql.lexer import SyntaxFault, Tok


class CallSyntax:
    """What ``expr._Parser`` provides and these methods use."""

    depth: int
    i: int

    def peek(self, ahead: int = 0) -> Tok:
        raise NotImplementedError

    def take(self) -> Tok:
        raise NotImplementedError

    def fault(self) -> SyntaxFault:
        raise NotImplementedError

    def is_word(self, *words: str, ahead: int = 0) -> bool:
        raise NotImplementedError

    def word(self, *words: str) -> str:
        raise NotImplementedError

    def is_op(self, *ops: str) -> bool:
        raise NotImplementedError

    def expect(self, op: str) -> None:
        raise NotImplementedError

    def expect_word(self, word: str) -> None:
        raise NotImplementedError

    def enter(self) -> None:
        raise NotImplementedError

    def expr(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def bits(self, level: int) -> tuple[Any, ...]:
        raise NotImplementedError

    def name(self) -> str:
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def case(self) -> tuple[Any, ...]:
        self.enter()
        base = None if self.is_word("when") else self.expr()
        whens = []
        while self.word("when"):
            cond = self.expr()
            self.expect_word("then")
            whens.append((cond, self.expr()))
        if not whens:
            raise self.fault()
        default = self.expr() if self.word("else") else None
        self.expect_word("end")
        self.depth -= 1
        return ("case", base, tuple(whens), default)

    def call(self, name: str) -> tuple[Any, ...]:
        """A call's arguments after its '(' through its ')'."""
        args: list[tuple[Any, ...]] = []
        extra = ""
        if name in ("cast", "convert"):
            args.append(self.expr())
            if name == "convert" and self.word("using"):
                extra = "char " + self.name()
            else:
                if name == "cast":
                    self.expect_word("as")
                else:
                    self.expect(",")
                extra = self.type_name()
        elif name in ("substring", "substr", "mid") and not self.is_op(")"):
            args.append(self.expr())
            if self.word("from"):
                args.append(self.expr())
                if self.word("for"):
                    args.append(self.expr())
            else:
                while self.is_op(","):
                    self.i += 1
                    args.append(self.expr())
        elif name == "trim":
            extra = self.word("leading", "trailing", "both") or "both"
            first = None if self.is_word("from") else self.expr()
            if self.word("from"):
                args = [self.expr(), first] if first is not None else [self.expr()]
            elif first is not None:
                args = [first]
        elif name == "position":
            needle = self.bits(0)
            self.expect_word("in")
            args = [needle, self.expr()]
            name = "locate"
        elif name == "extract":
            extra = self.name()
            self.expect_word("from")
            args.append(self.expr())
        elif name in (
            "timestampadd",
            "timestampdiff",
            "date_add",
            "date_sub",
            "adddate",
            "subdate",
        ):
            return self.temporal(name)
        elif not self.is_op(")"):
            if name in ("count", "group_concat", "sum", "min", "max", "avg"):
                self.word("distinct")
            if name == "count" and self.is_op("*"):
                self.i += 1
                args.append(("lit", 1, "int", ""))
            else:
                args.append(self.expr())
            while self.is_op(","):
                self.i += 1
                args.append(self.expr())
            if name == "char" and self.word("using"):
                extra = self.name()
        self.expect(")")
        return ("call", name, tuple(args), extra)

    def type_name(self) -> str:
        parts = [self.name()]
        if parts[0] in ("signed", "unsigned"):
            self.word("integer", "int")
        if self.is_op("("):
            self.i += 1
            parts.append(str(self.count()))
            if self.is_op(","):
                self.i += 1
                parts.append(str(self.count()))
            self.expect(")")
        if self.word("character", "charset"):
            self.word("set")
            self.name()
        return " ".join(parts)

    def temporal(self, name: str) -> tuple[Any, ...]:
        if name in ("timestampadd", "timestampdiff"):
            unit = self.name()
            self.expect(",")
            args = [self.expr()]
            self.expect(",")
            args.append(self.expr())
        else:
            args = [self.expr()]
            self.expect(",")
            if self.word("interval"):
                args.append(self.expr())
                unit = self.name()
            else:
                args.append(self.expr())
                unit = "day"
        self.expect(")")
        return ("call", name, tuple(args), unit)
