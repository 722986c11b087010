"""A SOQL subset: lexer, recursive-descent parser and evaluator over the devorg store.

No maintained Python SOQL parser exists (the published ones are abandoned or JavaScript), so
this is hand-written. It covers what the service and an admin commonly write; anything beyond
is refused with ``MALFORMED_QUERY`` at the exact row and column, as Salesforce refuses it.
"""

from .evaluator import QueryPlan, compile_query, run_plan
from .parser import parse

__all__ = ["QueryPlan", "compile_query", "parse", "run_plan"]
