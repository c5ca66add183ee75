"""Where `PlanService` lived before the plan service became the `api.plans` package."""

from api.plans.service import Answered, PlanService

__all__ = ["Answered", "PlanService"]
