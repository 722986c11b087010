"""Assessments: the credit engine's inputs read from the database, its answers stored, queued.

The pure engine (``service.credit``) knows no database; this package is its loader and writer:

- ``reassess`` — the one way to re-assess customers, inside the caller's transaction;
  ``Reassessor`` binds it to a policy and a time zone for the worker's parts.
- ``loading``, ``storing`` — bulk reads of a chunk's inputs and one upsert of its results.
- ``queue`` — the durable ``assessment_requests`` queue that feeds and events fill in their own
  transactions; ``assessor`` drains it in the worker; ``daily`` re-ages the book once a day.
- ``book`` — every customer, in one process or one per CPU; ``shadow`` — a dry run.
- ``portfolio`` — the book's figures for the API and ``/metrics``.
- ``policy_file`` — ``CREDIT_POLICY_FILE``; ``commands`` — ``credit-control assess``.
"""

from service.assessments.policy_file import load_policy_file, read_policy
from service.assessments.reassess import Reassessor, reassess
from service.assessments.storing import ReassessReport

__all__ = ["ReassessReport", "Reassessor", "load_policy_file", "read_policy", "reassess"]
