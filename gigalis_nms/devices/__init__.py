"""Drivers for the devices Gigalis NMS configures, behind NAPALM's interface."""
