"""NAPALM's name for the FRR driver: ``napalm.get_network_driver("frr")`` imports this package
and takes the first NetworkDriver subclass in it. The driver itself lives in
:mod:`gigalis_nms.devices.frr`."""

from gigalis_nms.devices.frr.driver import FrrDriver

__all__ = ["FrrDriver"]
