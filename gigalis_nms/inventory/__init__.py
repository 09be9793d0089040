"""Inventory: organisations, sites, devices, fibre, backbone links, circuits and holdings."""
