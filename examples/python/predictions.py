"""A prediction-log event as driftwatch reads it (schemas/prediction-log.avsc; JSON uses the same names).

Your service builds one per prediction it serves; `fake_prediction` makes plausible ones for the examples.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any, Optional


def prediction_log(
    predictor: str,
    model: str,
    features: dict[str, Optional[float | str | bool]],
    prediction: Optional[float | str],
    *,
    prediction_id: Optional[str] = None,
    sent_at_ms: Optional[int] = None,
    role: str = "primary",
    prediction_scores: Optional[dict[str, float]] = None,
    default_values_used: Optional[list[str]] = None,
    latency_ms: Optional[float] = None,
    error: Optional[str] = None,
) -> dict[str, Any]:
    """One event. A feature set to None is missing; `error` set means the request failed (prediction None)."""
    return {
        "prediction_id": prediction_id or str(uuid.uuid4()),  # the join key for the label that comes later
        "predictor_name": predictor,  # the use case, e.g. "eta"
        "model_id": model,  # the model version that answered
        "role": role,  # primary, shadow or canary
        "sent_at": sent_at_ms if sent_at_ms is not None else int(time.time() * 1000),  # epoch milliseconds
        "features": features,
        "prediction": prediction,
        "prediction_scores": prediction_scores,
        "default_values_used": default_values_used or [],
        "latency_ms": latency_ms,
        "error": error,
    }


CITIES = ["paris", "lyon", "marseille", "lille"]


def fake_prediction(rng: random.Random, predictor: str, model: str) -> dict[str, Any]:
    """An ETA model's prediction: numeric, categorical and boolean features, sometimes one missing."""
    distance_km = max(0.1, rng.gauss(5.0, 2.0))
    hour = rng.randrange(24)
    rush = hour in (8, 9, 17, 18)
    features: dict[str, Optional[float | str | bool]] = {
        "distance_km": round(distance_km, 3),
        "hour": float(hour),
        "city": rng.choice(CITIES),
        "is_rush_hour": rush,
        "courier_rating": None if rng.random() < 0.05 else round(rng.uniform(3.0, 5.0), 2),
    }
    eta_minutes = 4.0 + 3.2 * distance_km + (6.0 if rush else 0.0) + rng.gauss(0, 1.5)
    return prediction_log(predictor, model, features, round(eta_minutes, 2), latency_ms=round(rng.lognormvariate(3.0, 0.3), 2))
