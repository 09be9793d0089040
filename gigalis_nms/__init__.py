"""Gigalis NMS: inventory, ordering, provisioning, SLA and billing for an operator of operators."""

__version__ = "0.1.0"
