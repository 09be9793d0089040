"""Provisioning: circuits designed over the backbone, rendered per device from templates,
diffed, and committed or rolled back on every router through Nornir and NAPALM."""
