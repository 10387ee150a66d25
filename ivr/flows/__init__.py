"""Call flows as data: schema, prompts, condition language, loading and checking."""

from ivr.flows.compiled import CompiledFlow
from ivr.flows.loader import check_flow, compile_flow, load_catalog
from ivr.flows.problems import FlowError, FlowProblem

__all__ = ["CompiledFlow", "FlowError", "FlowProblem", "check_flow", "compile_flow", "load_catalog"]
