"""Operating the service: health and readiness, Prometheus metrics, the request log, the
OpenAPI document of the JSON API, and the signup-spike alarm.

The top layer: it may read every feature's figures; no feature imports it. app.py wires it.
"""
