# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes label and field selectors, parsed and matched locally.

Parsing locally lets a syntax error fail before anything is listed or changed, and lets
the engine re-check pods it got from anywhere (a list, a re-GET, a test fixture).
The grammar follows apimachinery's ``labels.Parse`` and ``fields.ParseSelector``.
"""
from __future__ import annotations

import re

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import ChaosInputError

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_NAME_RE = re.compile(r"^%s$" % _NAME)
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_TOKEN_RE = re.compile(r"\s*(==|!=|=|\(|\)|,|!|>|<|[^\s=!(),<>]+)")
_SET_OPS = ("in", "notin")


class Requirement(object):
    """One label requirement: ``key``, ``op`` (=, !=, in, notin, exists, !, gt, lt), ``values``."""

    def __init__(self, key, op, values=()):
        self.key = key
        self.op = op
        self.values = tuple(values)

    def matches(self, labels):
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if not present:
            return False
        try:
            number = int(value)
        except (TypeError, ValueError):
            return False
        limit = int(self.values[0])
        return number > limit if self.op == "gt" else number < limit

    def __str__(self):
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return "!" + self.key
        if self.op in _SET_OPS:
            return "%s %s (%s)" % (self.key, self.op, ",".join(sorted(self.values)))
        symbol = {"gt": ">", "lt": "<"}.get(self.op, self.op)
        return "%s%s%s" % (self.key, symbol, self.values[0])


class LabelSelector(object):
    """A parsed label selector string; an empty string matches every pod."""

    def __init__(self, requirements):
        self.requirements = list(requirements)

    def matches(self, labels):
        labels = labels or {}
        return all(req.matches(labels) for req in self.requirements)

    def __str__(self):
        return ",".join(str(req) for req in self.requirements)


def _check_key(key, param):
    prefix, _sep, name = key.rpartition("/")
    if _sep and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix)):
        raise ChaosInputError(param, "label key %r has an invalid prefix (a DNS subdomain such as example.com/)" % key)
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        raise ChaosInputError(param, "label key %r is invalid (1-63 characters: letters, digits, '-', '_', '.')" % key)


def _check_value(value, param):
    if value and (len(value) > 63 or not _NAME_RE.match(value)):
        raise ChaosInputError(param, "label value %r is invalid (0-63 characters: letters, digits, '-', '_', '.')" % value)


def _tokenize(text, param):
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise ChaosInputError(param, "cannot read %r at position %d" % (text[pos:], pos))
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


class _Parser(object):
    def __init__(self, text, param):
        self.param = param
        self.text = text
        self.tokens = _tokenize(text, param)
        self.pos = 0

    def fail(self, expected):
        found = self.tokens[self.pos] if self.pos < len(self.tokens) else "end of selector"
        raise ChaosInputError(self.param, "syntax error in %r: expected %s, found %r" % (self.text, expected, found))

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.pos += 1
        return token

    def parse(self):
        requirements = []
        if not self.tokens:
            return LabelSelector(requirements)
        while True:
            requirements.append(self.requirement())
            token = self.take()
            if token is None:
                return LabelSelector(requirements)
            if token != ",":
                self.pos -= 1
                self.fail("',' between requirements")

    def requirement(self):
        if self.peek() == "!":
            self.take()
            key = self.identifier("a label key after '!'")
            return Requirement(key, "!")
        key = self.identifier("a label key")
        op = self.peek()
        if op in (None, ","):
            return Requirement(key, "exists")
        self.take()
        if op in ("=", "==", "!="):
            value = self.peek()
            if value in (None, ","):
                value = ""
            else:
                value = self.identifier("a label value")
            _check_value(value, self.param)
            return Requirement(key, "!=" if op == "!=" else "=", [value])
        if op in (">", "<"):
            value = self.identifier("an integer")
            if not re.match(r"^-?\d+$", value):
                self.pos -= 1
                self.fail("an integer after %r" % op)
            return Requirement(key, "gt" if op == ">" else "lt", [value])
        if op in _SET_OPS:
            return Requirement(key, op, self.value_set())
        self.pos -= 1
        self.fail("an operator (=, ==, !=, in, notin, >, <) or ','")

    def identifier(self, expected):
        token = self.peek()
        # "in"/"notin" are operators where a key is expected, but plain words as values
        is_set_op = token in _SET_OPS and expected != "a label value"
        if token is None or token in ("=", "==", "!=", "(", ")", ",", "!", ">", "<") or is_set_op:
            self.fail(expected)
        self.take()
        if expected.startswith("a label key"):
            _check_key(token, self.param)
        return token

    def value_set(self):
        if self.take() != "(":
            self.pos -= 1
            self.fail("'(' to open a set of values")
        values = []
        while True:
            token = self.peek()
            if token == ")" and not values:
                self.fail("at least one value")
            if token in (",", ")"):
                values.append("")
            else:
                values.append(self.identifier("a label value"))
            _check_value(values[-1], self.param)
            token = self.take()
            if token == ")":
                return values
            if token != ",":
                self.pos -= 1
                self.fail("',' or ')' in a set of values")


def parse_label_selector(text, param="label_selector"):
    """Parse ``text`` (``app=web,tier in (a,b),!canary``); raise ChaosInputError naming ``param``."""
    if text is None:
        return LabelSelector([])
    if not isinstance(text, str):
        raise ChaosInputError(param, "must be a string such as 'app=web,tier!=db'")
    return _Parser(text, param).parse()


class FieldRequirement(object):
    def __init__(self, path, op, value):
        self.path = path
        self.op = op
        self.value = value

    def matches(self, obj):
        actual = field_value(obj, self.path)
        return (actual == self.value) if self.op == "=" else (actual != self.value)

    def __str__(self):
        return "%s%s%s" % (self.path, self.op, self.value)


class FieldSelector(object):
    def __init__(self, requirements):
        self.requirements = list(requirements)

    def matches(self, obj):
        return all(req.matches(obj) for req in self.requirements)

    def __str__(self):
        return ",".join(str(req) for req in self.requirements)


def field_value(obj, path):
    """The string form of a dotted path in ``obj``; a missing field reads as ''."""
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return node if isinstance(node, str) else str(node)


def _split_unescaped(text, sep):
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


_FIELD_PATH_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)*$")


def parse_field_selector(text, param="field_selector"):
    """Parse ``status.phase=Running,spec.nodeName!=node-1`` (``\\`` escapes ``,``, ``=``, ``!``)."""
    if text is None or not text.strip():
        return FieldSelector([])
    if not isinstance(text, str):
        raise ChaosInputError(param, "must be a string such as 'spec.nodeName=node-1'")
    requirements = []
    for raw in _split_unescaped(text, ","):
        part = raw.strip()
        match = re.match(r"^((?:[^\\=!]|\\.)+?)\s*(==|!=|=)\s*((?:[^\\]|\\.)*)$", part)
        if not match:
            raise ChaosInputError(param, "syntax error in %r: each requirement is path=value, path==value or path!=value" % raw)
        path, op, value = match.group(1).strip(), match.group(2), match.group(3)
        if not _FIELD_PATH_RE.match(path):
            raise ChaosInputError(param, "field path %r is invalid (a dotted path such as status.phase)" % path)
        if re.search(r"(?<!\\)[=!]", value):
            raise ChaosInputError(param, "syntax error in %r: escape '=' and '!' in values with a backslash" % raw)
        requirements.append(FieldRequirement(path, "!=" if op == "!=" else "=", _unescape(value)))
    return FieldSelector(requirements)
